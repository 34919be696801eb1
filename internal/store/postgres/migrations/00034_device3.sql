-- Device O&M, third part: SNMPv3 protocols and a separate privacy
-- passphrase (a vault secret), and configuration backups over a vendor's
-- HTTPS API with an API token (a vault secret) and an optional pinned
-- certificate fingerprint.

-- +goose Up
ALTER TABLE devices ADD COLUMN snmp_auth_proto TEXT NOT NULL DEFAULT '';
ALTER TABLE devices ADD COLUMN snmp_priv_proto TEXT NOT NULL DEFAULT '';
ALTER TABLE devices ADD COLUMN snmp_priv_secret_id TEXT NOT NULL DEFAULT '';
ALTER TABLE devices ADD COLUMN backup_method TEXT NOT NULL DEFAULT '';
ALTER TABLE devices ADD COLUMN api_port INTEGER NOT NULL DEFAULT 0;
ALTER TABLE devices ADD COLUMN api_secret_id TEXT NOT NULL DEFAULT '';
ALTER TABLE devices ADD COLUMN api_fingerprint TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE devices DROP COLUMN api_fingerprint;
ALTER TABLE devices DROP COLUMN api_secret_id;
ALTER TABLE devices DROP COLUMN api_port;
ALTER TABLE devices DROP COLUMN backup_method;
ALTER TABLE devices DROP COLUMN snmp_priv_secret_id;
ALTER TABLE devices DROP COLUMN snmp_priv_proto;
ALTER TABLE devices DROP COLUMN snmp_auth_proto;
