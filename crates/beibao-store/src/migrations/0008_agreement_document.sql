-- The printed agreement (PDF blob) of a finalized mediation, by SHA-256.
ALTER TABLE mediations ADD COLUMN document TEXT;
