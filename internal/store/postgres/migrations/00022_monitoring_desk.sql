-- The 7×24 monitoring desk: the SOC's shift schedule and handover notes
-- (SOC-wide), each urgent notice a tenant received with its recipients'
-- read and acknowledgement state and reminder plan, and the sections
-- analysts write for a tenant's next weekly digest.

-- +goose Up
CREATE TABLE desk_shifts (
    id         TEXT COLLATE "C" PRIMARY KEY,
    user_id    TEXT COLLATE "C" NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    username   TEXT COLLATE "C" NOT NULL,
    starts_at  TIMESTAMPTZ NOT NULL,
    ends_at    TIMESTAMPTZ NOT NULL,
    note       TEXT COLLATE "C" NOT NULL DEFAULT '',
    created_by TEXT COLLATE "C" NOT NULL DEFAULT '',
    created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX desk_shifts_time ON desk_shifts (starts_at, ends_at);

CREATE TABLE desk_handovers (
    id          TEXT COLLATE "C" PRIMARY KEY,
    shift_id    TEXT COLLATE "C" NOT NULL DEFAULT '',
    author_id   TEXT COLLATE "C" NOT NULL,
    author_name TEXT COLLATE "C" NOT NULL,
    open_items  TEXT COLLATE "C" NOT NULL,
    watch       TEXT COLLATE "C" NOT NULL,
    refs        TEXT COLLATE "C" NOT NULL, -- JSON array of {tenant_id, kind, id}
    created_at  TIMESTAMPTZ NOT NULL,
    acked_by_id TEXT COLLATE "C" NOT NULL DEFAULT '',
    acked_by    TEXT COLLATE "C" NOT NULL DEFAULT '',
    acked_at    TIMESTAMPTZ
);
CREATE INDEX desk_handovers_created ON desk_handovers (created_at);

CREATE TABLE desk_notices (
    id            TEXT COLLATE "C" NOT NULL,
    tenant_id     TEXT COLLATE "C" NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    title         TEXT COLLATE "C" NOT NULL,
    severity      TEXT COLLATE "C" NOT NULL,
    summary       TEXT COLLATE "C" NOT NULL DEFAULT '',
    remind_every  BIGINT NOT NULL, -- seconds; 0: no reminder
    max_reminders INTEGER NOT NULL,
    created_by    TEXT COLLATE "C" NOT NULL DEFAULT '',
    created_at    TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX desk_notices_created ON desk_notices (tenant_id, created_at);

CREATE TABLE desk_notice_recipients (
    id             TEXT COLLATE "C" PRIMARY KEY,
    notice_id      TEXT COLLATE "C" NOT NULL,
    tenant_id      TEXT COLLATE "C" NOT NULL,
    contact_id     TEXT COLLATE "C" NOT NULL DEFAULT '',
    name           TEXT COLLATE "C" NOT NULL,
    via            TEXT COLLATE "C" NOT NULL,
    address        TEXT COLLATE "C" NOT NULL,
    channel_id     TEXT COLLATE "C" NOT NULL DEFAULT '',
    status         TEXT COLLATE "C" NOT NULL,
    error          TEXT COLLATE "C" NOT NULL DEFAULT '',
    read_at        TIMESTAMPTZ,
    acked_at       TIMESTAMPTZ,
    acked_by       TEXT COLLATE "C" NOT NULL DEFAULT '',
    reminders      INTEGER NOT NULL DEFAULT 0,
    next_remind_at TIMESTAMPTZ,
    created_at     TIMESTAMPTZ NOT NULL,
    FOREIGN KEY (tenant_id, notice_id) REFERENCES desk_notices (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX desk_notice_recipients_notice ON desk_notice_recipients (tenant_id, notice_id);
CREATE INDEX desk_notice_recipients_due ON desk_notice_recipients (next_remind_at);

CREATE TABLE digest_sections (
    id              TEXT COLLATE "C" PRIMARY KEY,
    tenant_id       TEXT COLLATE "C" NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    title           TEXT COLLATE "C" NOT NULL,
    body            TEXT COLLATE "C" NOT NULL,
    created_by      TEXT COLLATE "C" NOT NULL DEFAULT '',
    created_by_name TEXT COLLATE "C" NOT NULL DEFAULT '',
    created_at      TIMESTAMPTZ NOT NULL,
    sent_at         TIMESTAMPTZ,
    sent_in         TEXT COLLATE "C" NOT NULL DEFAULT ''
);
CREATE INDEX digest_sections_tenant ON digest_sections (tenant_id, sent_at, created_at);

-- +goose Down
DROP TABLE digest_sections;
DROP TABLE desk_notice_recipients;
DROP TABLE desk_notices;
DROP TABLE desk_handovers;
DROP TABLE desk_shifts;
