-- How the tablet trusts its https server (issue 14): the certificate fingerprint pinned from the
-- enrollment QR and the bureau's CA (PEM), each optional; every sync client is made with them.
ALTER TABLE enrollment ADD COLUMN tls_pin TEXT;
ALTER TABLE enrollment ADD COLUMN tls_ca TEXT;
