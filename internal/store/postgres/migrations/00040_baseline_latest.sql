-- The latest baseline run of each policy on each asset, kept by triggers
-- as runs are stored (and their counts corrected), so the dashboard sums
-- one row per asset and policy instead of finding the latest among every
-- run on each load. Deleting an asset deletes its rows with its runs.

-- +goose Up
CREATE TABLE baseline_latest (
    tenant_id   TEXT COLLATE "C" NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    asset_id    TEXT COLLATE "C" NOT NULL REFERENCES assets (id) ON DELETE CASCADE,
    policy_id   TEXT COLLATE "C" NOT NULL,
    run_id      TEXT COLLATE "C" NOT NULL,
    finished_at TIMESTAMPTZ NOT NULL,
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
CREATE FUNCTION baseline_latest_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO baseline_latest AS l (tenant_id, asset_id, policy_id, run_id, finished_at, passed, failed)
    VALUES (NEW.tenant_id, NEW.asset_id, NEW.policy_id, NEW.id, NEW.finished_at, NEW.passed, NEW.failed)
    ON CONFLICT (tenant_id, asset_id, policy_id) DO UPDATE SET run_id = excluded.run_id,
        finished_at = excluded.finished_at, passed = excluded.passed, failed = excluded.failed
    WHERE excluded.finished_at > l.finished_at
        OR (excluded.finished_at = l.finished_at AND excluded.run_id > l.run_id);
    RETURN NULL;
END
$$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION baseline_latest_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE baseline_latest SET passed = NEW.passed, failed = NEW.failed
    WHERE tenant_id = NEW.tenant_id AND asset_id = NEW.asset_id AND policy_id = NEW.policy_id AND run_id = NEW.id;
    RETURN NULL;
END
$$;
-- +goose StatementEnd

CREATE TRIGGER baseline_latest_insert AFTER INSERT ON baseline_runs
    FOR EACH ROW EXECUTE FUNCTION baseline_latest_insert();
CREATE TRIGGER baseline_latest_update AFTER UPDATE OF passed, failed ON baseline_runs
    FOR EACH ROW EXECUTE FUNCTION baseline_latest_update();

-- +goose Down
DROP TRIGGER baseline_latest_update ON baseline_runs;
DROP TRIGGER baseline_latest_insert ON baseline_runs;
DROP FUNCTION baseline_latest_update();
DROP FUNCTION baseline_latest_insert();
DROP TABLE baseline_latest;
