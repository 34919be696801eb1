-- The latest baseline run of each policy on each asset, kept by triggers
-- as runs are stored (and their counts corrected), so the dashboard sums
-- one row per asset and policy instead of finding the latest among every
-- run on each load. Deleting an asset deletes its rows with its runs.

-- +goose Up
CREATE TABLE baseline_latest (
    tenant_id   TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    asset_id    TEXT NOT NULL REFERENCES assets (id) ON DELETE CASCADE,
    policy_id   TEXT NOT NULL,
    run_id      TEXT NOT NULL,
    finished_at TEXT NOT NULL,
    passed      INTEGER NOT NULL,
    failed      INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, asset_id, policy_id)
);

INSERT INTO baseline_latest (tenant_id, asset_id, policy_id, run_id, finished_at, passed, failed)
SELECT tenant_id, asset_id, policy_id, id, finished_at, passed, failed FROM baseline_runs r
WHERE NOT EXISTS (SELECT 1 FROM baseline_runs o WHERE o.tenant_id = r.tenant_id
    AND o.asset_id = r.asset_id AND o.policy_id = r.policy_id
    AND (o.finished_at > r.finished_at OR (o.finished_at = r.finished_at AND o.id > r.id)));

-- +goose StatementBegin
CREATE TRIGGER baseline_latest_insert AFTER INSERT ON baseline_runs BEGIN
    INSERT INTO baseline_latest (tenant_id, asset_id, policy_id, run_id, finished_at, passed, failed)
    VALUES (NEW.tenant_id, NEW.asset_id, NEW.policy_id, NEW.id, NEW.finished_at, NEW.passed, NEW.failed)
    ON CONFLICT (tenant_id, asset_id, policy_id) DO UPDATE SET run_id = excluded.run_id,
        finished_at = excluded.finished_at, passed = excluded.passed, failed = excluded.failed
    WHERE excluded.finished_at > baseline_latest.finished_at
        OR (excluded.finished_at = baseline_latest.finished_at AND excluded.run_id > baseline_latest.run_id);
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER baseline_latest_update AFTER UPDATE OF passed, failed ON baseline_runs BEGIN
    UPDATE baseline_latest SET passed = NEW.passed, failed = NEW.failed
    WHERE tenant_id = NEW.tenant_id AND asset_id = NEW.asset_id AND policy_id = NEW.policy_id AND run_id = NEW.id;
END;
-- +goose StatementEnd

-- +goose Down
DROP TRIGGER baseline_latest_update;
DROP TRIGGER baseline_latest_insert;
DROP TABLE baseline_latest;
