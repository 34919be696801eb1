-- Vigil schema, PostgreSQL flavour. Keep the version numbers and the table
-- and column names in step with the SQLite migrations. Timestamps are
-- TIMESTAMPTZ (microseconds). NULL means zero. Every text column uses the
-- "C" collation so ordering, comparison and lower() behave byte-wise as in
-- SQLite, whatever the database's locale.

-- +goose Up
CREATE TABLE tenants (
    id          TEXT COLLATE "C" PRIMARY KEY,
    slug        TEXT COLLATE "C" NOT NULL UNIQUE,
    name        TEXT COLLATE "C" NOT NULL,
    description TEXT COLLATE "C" NOT NULL DEFAULT '',
    industry    TEXT COLLATE "C" NOT NULL DEFAULT '',
    disabled    BOOLEAN NOT NULL DEFAULT FALSE,
    created_at  TIMESTAMPTZ NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL
);

CREATE TABLE users (
    id                   TEXT COLLATE "C" PRIMARY KEY,
    username             TEXT COLLATE "C" NOT NULL,
    display_name         TEXT COLLATE "C" NOT NULL DEFAULT '',
    email                TEXT COLLATE "C" NOT NULL DEFAULT '',
    password_hash        TEXT COLLATE "C" NOT NULL DEFAULT '',
    locale               TEXT COLLATE "C" NOT NULL DEFAULT '',
    global_role          TEXT COLLATE "C" NOT NULL DEFAULT '',
    disabled             BOOLEAN NOT NULL DEFAULT FALSE,
    must_change_password BOOLEAN NOT NULL DEFAULT FALSE,
    created_at           TIMESTAMPTZ NOT NULL,
    updated_at           TIMESTAMPTZ NOT NULL,
    last_login_at        TIMESTAMPTZ
);
-- Usernames are unique regardless of case.
CREATE UNIQUE INDEX users_username ON users (lower(username));

CREATE TABLE memberships (
    user_id    TEXT COLLATE "C" NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    tenant_id  TEXT COLLATE "C" NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    role       TEXT COLLATE "C" NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (user_id, tenant_id)
);
CREATE INDEX memberships_tenant ON memberships (tenant_id, user_id);

CREATE TABLE api_tokens (
    id           TEXT COLLATE "C" PRIMARY KEY,
    name         TEXT COLLATE "C" NOT NULL,
    tenant_id    TEXT COLLATE "C" REFERENCES tenants (id) ON DELETE CASCADE, -- NULL for a global token
    role         TEXT COLLATE "C" NOT NULL,
    user_id      TEXT COLLATE "C" REFERENCES users (id) ON DELETE CASCADE,
    prefix       TEXT COLLATE "C" NOT NULL DEFAULT '',
    hash         TEXT COLLATE "C" NOT NULL UNIQUE,
    created_at   TIMESTAMPTZ NOT NULL,
    expires_at   TIMESTAMPTZ,
    last_used_at TIMESTAMPTZ,
    revoked      BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE INDEX api_tokens_tenant ON api_tokens (tenant_id, created_at);
CREATE INDEX api_tokens_user ON api_tokens (user_id);

CREATE TABLE sessions (
    id           TEXT COLLATE "C" PRIMARY KEY,
    user_id      TEXT COLLATE "C" NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    tenant_id    TEXT COLLATE "C" REFERENCES tenants (id) ON DELETE SET NULL,
    csrf_token   TEXT COLLATE "C" NOT NULL DEFAULT '',
    created_at   TIMESTAMPTZ NOT NULL,
    expires_at   TIMESTAMPTZ NOT NULL,
    last_seen_at TIMESTAMPTZ,
    ip           TEXT COLLATE "C" NOT NULL DEFAULT '',
    user_agent   TEXT COLLATE "C" NOT NULL DEFAULT ''
);
CREATE INDEX sessions_user ON sessions (user_id);
CREATE INDEX sessions_expires ON sessions (expires_at);
CREATE INDEX sessions_tenant ON sessions (tenant_id);

CREATE TABLE teams (
    id          TEXT COLLATE "C" PRIMARY KEY,
    name        TEXT COLLATE "C" NOT NULL,
    kind        TEXT COLLATE "C" NOT NULL DEFAULT '',
    description TEXT COLLATE "C" NOT NULL DEFAULT '',
    created_at  TIMESTAMPTZ NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL
);

CREATE TABLE team_members (
    team_id TEXT COLLATE "C" NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    user_id TEXT COLLATE "C" NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    lead    BOOLEAN NOT NULL DEFAULT FALSE,
    PRIMARY KEY (team_id, user_id)
);
CREATE INDEX team_members_user ON team_members (user_id);

CREATE TABLE assets (
    id           TEXT COLLATE "C" PRIMARY KEY,
    tenant_id    TEXT COLLATE "C" NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    kind         TEXT COLLATE "C" NOT NULL,
    name         TEXT COLLATE "C" NOT NULL,
    address      TEXT COLLATE "C" NOT NULL DEFAULT '',
    owner        TEXT COLLATE "C" NOT NULL DEFAULT '',
    importance   INTEGER NOT NULL DEFAULT 0,
    tags         JSONB NOT NULL DEFAULT '[]', -- array of strings
    description  TEXT COLLATE "C" NOT NULL DEFAULT '',
    attributes   JSONB NOT NULL DEFAULT '{}', -- object of strings
    created_at   TIMESTAMPTZ NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL,
    last_seen_at TIMESTAMPTZ
);
CREATE INDEX assets_tenant_name ON assets (tenant_id, lower(name), id);
CREATE INDEX assets_tenant_kind ON assets (tenant_id, kind);
CREATE INDEX assets_tags ON assets USING GIN (tags);

CREATE TABLE contacts (
    id         TEXT COLLATE "C" PRIMARY KEY,
    tenant_id  TEXT COLLATE "C" NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    kind       TEXT COLLATE "C" NOT NULL,
    name       TEXT COLLATE "C" NOT NULL,
    org        TEXT COLLATE "C" NOT NULL DEFAULT '',
    title      TEXT COLLATE "C" NOT NULL DEFAULT '',
    phone      TEXT COLLATE "C" NOT NULL DEFAULT '',
    email      TEXT COLLATE "C" NOT NULL DEFAULT '',
    im         TEXT COLLATE "C" NOT NULL DEFAULT '',
    asset_id   TEXT COLLATE "C" NOT NULL DEFAULT '', -- '' for none, cleared when the asset is deleted
    product    TEXT COLLATE "C" NOT NULL DEFAULT '',
    notes      TEXT COLLATE "C" NOT NULL DEFAULT '',
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX contacts_tenant_name ON contacts (tenant_id, lower(name), id);
CREATE INDEX contacts_tenant_asset ON contacts (tenant_id, asset_id);

CREATE TABLE subscriptions (
    tenant_id        TEXT COLLATE "C" NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    service          TEXT COLLATE "C" NOT NULL,
    enabled          BOOLEAN NOT NULL DEFAULT FALSE,
    level            TEXT COLLATE "C" NOT NULL DEFAULT '',
    response_minutes INTEGER NOT NULL DEFAULT 0,
    notify_minutes   INTEGER NOT NULL DEFAULT 0,
    report_frequency TEXT COLLATE "C" NOT NULL DEFAULT '',
    starts_on        TIMESTAMPTZ,
    ends_on          TIMESTAMPTZ,
    notes            TEXT COLLATE "C" NOT NULL DEFAULT '',
    updated_at       TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tenant_id, service)
);

-- Platform-wide secrets have tenant_id '', so it is no foreign key: the
-- store deletes a tenant's secrets with the tenant.
CREATE TABLE secrets (
    id         TEXT COLLATE "C" PRIMARY KEY,
    tenant_id  TEXT COLLATE "C" NOT NULL DEFAULT '',
    name       TEXT COLLATE "C" NOT NULL,
    kind       TEXT COLLATE "C" NOT NULL DEFAULT '',
    ciphertext BYTEA NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX secrets_tenant_name ON secrets (tenant_id, lower(name), id);

-- The audit chain. Rows are only ever inserted. tenant_id is not a foreign
-- key, so entries outlive their tenant. detail is TEXT, not JSONB, because
-- the hash covers its exact bytes.
CREATE TABLE audit_log (
    seq        BIGINT PRIMARY KEY,
    occurred_at TIMESTAMPTZ NOT NULL,
    actor_id   TEXT COLLATE "C" NOT NULL DEFAULT '',
    actor_name TEXT COLLATE "C" NOT NULL DEFAULT '',
    tenant_id  TEXT COLLATE "C" NOT NULL DEFAULT '',
    action     TEXT COLLATE "C" NOT NULL,
    object     TEXT COLLATE "C" NOT NULL DEFAULT '',
    detail     TEXT COLLATE "C" NOT NULL DEFAULT '',
    ip         TEXT COLLATE "C" NOT NULL DEFAULT '',
    prev_hash  TEXT COLLATE "C" NOT NULL,
    hash       TEXT COLLATE "C" NOT NULL
);
CREATE INDEX audit_log_tenant ON audit_log (tenant_id, seq);
CREATE INDEX audit_log_time ON audit_log (occurred_at);

-- The chain head: one row whose row lock serialises appends on every node.
CREATE TABLE audit_head (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    seq  BIGINT NOT NULL,
    hash TEXT COLLATE "C" NOT NULL
);
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '');

-- +goose Down
DROP TABLE audit_head;
DROP TABLE audit_log;
DROP TABLE secrets;
DROP TABLE subscriptions;
DROP TABLE contacts;
DROP TABLE assets;
DROP TABLE team_members;
DROP TABLE teams;
DROP TABLE sessions;
DROP TABLE api_tokens;
DROP TABLE memberships;
DROP TABLE users;
DROP TABLE tenants;
