-- +goose Up
-- Files kept with an object of a tenant (work orders, drills, assessment
-- items, risks): records per upload, content once per tenant and SHA-256.
CREATE TABLE attachment_blobs (
    tenant_id  TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    sha256     TEXT NOT NULL,
    size       BIGINT NOT NULL,
    content    BLOB NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (tenant_id, sha256)
);

CREATE TABLE attachments (
    id            TEXT PRIMARY KEY,
    tenant_id     TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    owner_kind    TEXT NOT NULL,
    owner_id      TEXT NOT NULL,
    name          TEXT NOT NULL,
    sha256        TEXT NOT NULL,
    size          BIGINT NOT NULL,
    sniffed_type  TEXT NOT NULL DEFAULT '',
    declared_type TEXT NOT NULL DEFAULT '',
    note          TEXT NOT NULL DEFAULT '',
    created_by    TEXT NOT NULL DEFAULT '',
    created_at    TEXT NOT NULL,
    FOREIGN KEY (tenant_id, sha256) REFERENCES attachment_blobs (tenant_id, sha256)
);
CREATE INDEX attachments_owner ON attachments (tenant_id, owner_kind, owner_id, created_at);
CREATE INDEX attachments_blob ON attachments (tenant_id, sha256);

-- +goose Down
DROP TABLE attachments;
DROP TABLE attachment_blobs;
