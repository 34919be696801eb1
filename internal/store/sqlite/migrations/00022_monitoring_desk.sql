-- The 7×24 monitoring desk: the SOC's shift schedule and handover notes
-- (SOC-wide), each urgent notice a tenant received with its recipients'
-- read and acknowledgement state and reminder plan, and the sections
-- analysts write for a tenant's next weekly digest.

-- +goose Up
CREATE TABLE desk_shifts (
    id         TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    username   TEXT NOT NULL,
    starts_at  TEXT NOT NULL,
    ends_at    TEXT NOT NULL,
    note       TEXT NOT NULL DEFAULT '',
    created_by TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL
);
CREATE INDEX desk_shifts_time ON desk_shifts (starts_at, ends_at);

CREATE TABLE desk_handovers (
    id          TEXT PRIMARY KEY,
    shift_id    TEXT NOT NULL DEFAULT '',
    author_id   TEXT NOT NULL,
    author_name TEXT NOT NULL,
    open_items  TEXT NOT NULL,
    watch       TEXT NOT NULL,
    refs        TEXT NOT NULL, -- JSON array of {tenant_id, kind, id}
    created_at  TEXT NOT NULL,
    acked_by_id TEXT NOT NULL DEFAULT '',
    acked_by    TEXT NOT NULL DEFAULT '',
    acked_at    TEXT
);
CREATE INDEX desk_handovers_created ON desk_handovers (created_at);

CREATE TABLE desk_notices (
    id            TEXT NOT NULL,
    tenant_id     TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    title         TEXT NOT NULL,
    severity      TEXT NOT NULL,
    summary       TEXT NOT NULL DEFAULT '',
    remind_every  INTEGER NOT NULL, -- seconds; 0: no reminder
    max_reminders INTEGER NOT NULL,
    created_by    TEXT NOT NULL DEFAULT '',
    created_at    TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX desk_notices_created ON desk_notices (tenant_id, created_at);

CREATE TABLE desk_notice_recipients (
    id             TEXT PRIMARY KEY,
    notice_id      TEXT NOT NULL,
    tenant_id      TEXT NOT NULL,
    contact_id     TEXT NOT NULL DEFAULT '',
    name           TEXT NOT NULL,
    via            TEXT NOT NULL,
    address        TEXT NOT NULL,
    channel_id     TEXT NOT NULL DEFAULT '',
    status         TEXT NOT NULL,
    error          TEXT NOT NULL DEFAULT '',
    read_at        TEXT,
    acked_at       TEXT,
    acked_by       TEXT NOT NULL DEFAULT '',
    reminders      INTEGER NOT NULL DEFAULT 0,
    next_remind_at TEXT,
    created_at     TEXT NOT NULL,
    FOREIGN KEY (tenant_id, notice_id) REFERENCES desk_notices (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX desk_notice_recipients_notice ON desk_notice_recipients (tenant_id, notice_id);
CREATE INDEX desk_notice_recipients_due ON desk_notice_recipients (next_remind_at);

CREATE TABLE digest_sections (
    id              TEXT PRIMARY KEY,
    tenant_id       TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    title           TEXT NOT NULL,
    body            TEXT NOT NULL,
    created_by      TEXT NOT NULL DEFAULT '',
    created_by_name TEXT NOT NULL DEFAULT '',
    created_at      TEXT NOT NULL,
    sent_at         TEXT,
    sent_in         TEXT NOT NULL DEFAULT ''
);
CREATE INDEX digest_sections_tenant ON digest_sections (tenant_id, sent_at, created_at);

-- +goose Down
DROP TABLE digest_sections;
DROP TABLE desk_notice_recipients;
DROP TABLE desk_notices;
DROP TABLE desk_handovers;
DROP TABLE desk_shifts;
