-- Running totals behind the dashboard's vulnerability and baseline tiles,
-- kept by triggers as findings and latest baseline runs change, so a
-- dashboard load reads a few dozen rows instead of counting every finding
-- and every latest run of the tenant.
--
-- vuln_tallies counts findings by state, severity rank and KEV flag;
-- vuln_due_tallies counts the findings with a due date by state and due
-- day (UTC), so overdue is the sum of the days before today plus a count
-- of today's due findings by index. baseline_totals sums baseline_latest
-- per tenant, with the number of assets that have a latest run.
--
-- A delete only updates a totals row that exists: deleting a tenant
-- deletes its totals with its findings, in either order.

-- +goose Up
CREATE TABLE vuln_tallies (
    tenant_id     TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    state         TEXT NOT NULL,
    severity_rank INTEGER NOT NULL,
    kev           INTEGER NOT NULL,
    n             INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, state, severity_rank, kev)
);

CREATE TABLE vuln_due_tallies (
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    state     TEXT NOT NULL,
    due_day   TEXT NOT NULL,
    n         INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, state, due_day)
);

CREATE TABLE baseline_totals (
    tenant_id TEXT PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
    assets    INTEGER NOT NULL,
    runs      INTEGER NOT NULL,
    passed    INTEGER NOT NULL,
    failed    INTEGER NOT NULL
);

INSERT INTO vuln_tallies (tenant_id, state, severity_rank, kev, n)
SELECT tenant_id, state, severity_rank, kev, COUNT(*) FROM vuln_findings GROUP BY tenant_id, state, severity_rank, kev;

INSERT INTO vuln_due_tallies (tenant_id, state, due_day, n)
SELECT tenant_id, state, substr(due_at, 1, 10), COUNT(*) FROM vuln_findings WHERE due_at IS NOT NULL
GROUP BY tenant_id, state, substr(due_at, 1, 10);

INSERT INTO baseline_totals (tenant_id, assets, runs, passed, failed)
SELECT tenant_id, COUNT(DISTINCT asset_id), COUNT(*), SUM(passed), SUM(failed) FROM baseline_latest GROUP BY tenant_id;

-- +goose StatementBegin
CREATE TRIGGER vuln_tallies_insert AFTER INSERT ON vuln_findings BEGIN
    INSERT INTO vuln_tallies (tenant_id, state, severity_rank, kev, n) VALUES (NEW.tenant_id, NEW.state, NEW.severity_rank, NEW.kev, 1)
    ON CONFLICT (tenant_id, state, severity_rank, kev) DO UPDATE SET n = n + 1;
    INSERT INTO vuln_due_tallies (tenant_id, state, due_day, n)
    SELECT NEW.tenant_id, NEW.state, substr(NEW.due_at, 1, 10), 1 WHERE NEW.due_at IS NOT NULL
    ON CONFLICT (tenant_id, state, due_day) DO UPDATE SET n = n + 1;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER vuln_tallies_update AFTER UPDATE OF state, severity_rank, kev ON vuln_findings
WHEN OLD.state <> NEW.state OR OLD.severity_rank <> NEW.severity_rank OR OLD.kev <> NEW.kev BEGIN
    UPDATE vuln_tallies SET n = n - 1 WHERE tenant_id = OLD.tenant_id AND state = OLD.state
        AND severity_rank = OLD.severity_rank AND kev = OLD.kev;
    INSERT INTO vuln_tallies (tenant_id, state, severity_rank, kev, n) VALUES (NEW.tenant_id, NEW.state, NEW.severity_rank, NEW.kev, 1)
    ON CONFLICT (tenant_id, state, severity_rank, kev) DO UPDATE SET n = n + 1;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER vuln_due_tallies_update AFTER UPDATE OF state, due_at ON vuln_findings
WHEN OLD.state <> NEW.state OR OLD.due_at IS NOT NEW.due_at BEGIN
    UPDATE vuln_due_tallies SET n = n - 1 WHERE OLD.due_at IS NOT NULL AND tenant_id = OLD.tenant_id
        AND state = OLD.state AND due_day = substr(OLD.due_at, 1, 10);
    INSERT INTO vuln_due_tallies (tenant_id, state, due_day, n)
    SELECT NEW.tenant_id, NEW.state, substr(NEW.due_at, 1, 10), 1 WHERE NEW.due_at IS NOT NULL
    ON CONFLICT (tenant_id, state, due_day) DO UPDATE SET n = n + 1;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER vuln_tallies_delete AFTER DELETE ON vuln_findings BEGIN
    UPDATE vuln_tallies SET n = n - 1 WHERE tenant_id = OLD.tenant_id AND state = OLD.state
        AND severity_rank = OLD.severity_rank AND kev = OLD.kev;
    UPDATE vuln_due_tallies SET n = n - 1 WHERE OLD.due_at IS NOT NULL AND tenant_id = OLD.tenant_id
        AND state = OLD.state AND due_day = substr(OLD.due_at, 1, 10);
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER baseline_totals_insert AFTER INSERT ON baseline_latest BEGIN
    INSERT INTO baseline_totals (tenant_id, assets, runs, passed, failed)
    VALUES (NEW.tenant_id, 1, 1, NEW.passed, NEW.failed)
    ON CONFLICT (tenant_id) DO UPDATE SET runs = runs + 1, passed = passed + excluded.passed, failed = failed + excluded.failed,
        assets = assets + (SELECT COUNT(*) = 1 FROM baseline_latest WHERE tenant_id = NEW.tenant_id AND asset_id = NEW.asset_id);
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER baseline_totals_update AFTER UPDATE OF passed, failed ON baseline_latest BEGIN
    UPDATE baseline_totals SET passed = passed + NEW.passed - OLD.passed, failed = failed + NEW.failed - OLD.failed
    WHERE tenant_id = NEW.tenant_id;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER baseline_totals_delete AFTER DELETE ON baseline_latest BEGIN
    UPDATE baseline_totals SET runs = runs - 1, passed = passed - OLD.passed, failed = failed - OLD.failed,
        assets = assets - NOT EXISTS (SELECT 1 FROM baseline_latest WHERE tenant_id = OLD.tenant_id AND asset_id = OLD.asset_id)
    WHERE tenant_id = OLD.tenant_id;
END;
-- +goose StatementEnd

-- +goose Down
DROP TRIGGER baseline_totals_delete;
DROP TRIGGER baseline_totals_update;
DROP TRIGGER baseline_totals_insert;
DROP TRIGGER vuln_tallies_delete;
DROP TRIGGER vuln_due_tallies_update;
DROP TRIGGER vuln_tallies_update;
DROP TRIGGER vuln_tallies_insert;
DROP TABLE baseline_totals;
DROP TABLE vuln_due_tallies;
DROP TABLE vuln_tallies;
