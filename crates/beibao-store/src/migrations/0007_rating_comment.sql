-- A resident may add a comment to a satisfaction rating (满意打卡).
ALTER TABLE ratings ADD COLUMN comment TEXT;
