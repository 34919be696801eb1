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
-- The triggers run once a statement over its transition tables, so a
-- multi-row import writes one change a tally, not one a finding. The
-- vulnerability triggers take a transaction lock per tenant first, so two
-- writers of one tenant never hold tally rows in opposite orders. A
-- delete only updates a totals row that exists: deleting a tenant deletes
-- its totals with its findings, in either order.

-- +goose Up
CREATE TABLE vuln_tallies (
    tenant_id     TEXT COLLATE "C" NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    state         TEXT COLLATE "C" NOT NULL,
    severity_rank INTEGER NOT NULL,
    kev           BOOLEAN NOT NULL,
    n             BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, state, severity_rank, kev)
);

CREATE TABLE vuln_due_tallies (
    tenant_id TEXT COLLATE "C" NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    state     TEXT COLLATE "C" NOT NULL,
    due_day   TEXT COLLATE "C" NOT NULL,
    n         BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, state, due_day)
);

CREATE TABLE baseline_totals (
    tenant_id TEXT COLLATE "C" PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
    assets    BIGINT NOT NULL,
    runs      BIGINT NOT NULL,
    passed    BIGINT NOT NULL,
    failed    BIGINT NOT NULL
);

INSERT INTO vuln_tallies (tenant_id, state, severity_rank, kev, n)
SELECT tenant_id, state, severity_rank, kev, COUNT(*) FROM vuln_findings GROUP BY tenant_id, state, severity_rank, kev;

INSERT INTO vuln_due_tallies (tenant_id, state, due_day, n)
SELECT tenant_id, state, to_char(due_at AT TIME ZONE 'UTC', 'YYYY-MM-DD'), COUNT(*) FROM vuln_findings
WHERE due_at IS NOT NULL GROUP BY 1, 2, 3;

INSERT INTO baseline_totals (tenant_id, assets, runs, passed, failed)
SELECT tenant_id, COUNT(DISTINCT asset_id), COUNT(*), SUM(passed), SUM(failed) FROM baseline_latest GROUP BY tenant_id;

-- +goose StatementBegin
CREATE FUNCTION vuln_tallies_apply() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM pg_advisory_xact_lock(hashtextextended('vuln_tallies:' || t, 0))
        FROM (SELECT DISTINCT tenant_id AS t FROM new_rows ORDER BY 1) l;
        INSERT INTO vuln_tallies AS v (tenant_id, state, severity_rank, kev, n)
        SELECT tenant_id, state, severity_rank, kev, COUNT(*) FROM new_rows GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4
        ON CONFLICT (tenant_id, state, severity_rank, kev) DO UPDATE SET n = v.n + excluded.n;
        INSERT INTO vuln_due_tallies AS v (tenant_id, state, due_day, n)
        SELECT tenant_id, state, to_char(due_at AT TIME ZONE 'UTC', 'YYYY-MM-DD'), COUNT(*) FROM new_rows
        WHERE due_at IS NOT NULL GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
        ON CONFLICT (tenant_id, state, due_day) DO UPDATE SET n = v.n + excluded.n;
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM pg_advisory_xact_lock(hashtextextended('vuln_tallies:' || t, 0))
        FROM (SELECT DISTINCT tenant_id AS t FROM old_rows ORDER BY 1) l;
        UPDATE vuln_tallies v SET n = v.n - d.n
        FROM (SELECT tenant_id, state, severity_rank, kev, COUNT(*) AS n FROM old_rows GROUP BY 1, 2, 3, 4) d
        WHERE v.tenant_id = d.tenant_id AND v.state = d.state AND v.severity_rank = d.severity_rank AND v.kev = d.kev;
        UPDATE vuln_due_tallies v SET n = v.n - d.n
        FROM (SELECT tenant_id, state, to_char(due_at AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS due_day, COUNT(*) AS n
              FROM old_rows WHERE due_at IS NOT NULL GROUP BY 1, 2, 3) d
        WHERE v.tenant_id = d.tenant_id AND v.state = d.state AND v.due_day = d.due_day;
    ELSE
        -- An update: the net change of each tally, most often none (a
        -- reimport that changed no state), written in one statement.
        PERFORM pg_advisory_xact_lock(hashtextextended('vuln_tallies:' || t, 0))
        FROM (SELECT DISTINCT tenant_id AS t FROM new_rows ORDER BY 1) l;
        WITH x AS (
            SELECT tenant_id, state, severity_rank, kev, to_char(due_at AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS due_day, 1 AS n
            FROM new_rows
            UNION ALL
            SELECT tenant_id, state, severity_rank, kev, to_char(due_at AT TIME ZONE 'UTC', 'YYYY-MM-DD'), -1 FROM old_rows
        ), t AS (
            INSERT INTO vuln_tallies AS v (tenant_id, state, severity_rank, kev, n)
            SELECT tenant_id, state, severity_rank, kev, SUM(n) FROM x GROUP BY 1, 2, 3, 4 HAVING SUM(n) <> 0 ORDER BY 1, 2, 3, 4
            ON CONFLICT (tenant_id, state, severity_rank, kev) DO UPDATE SET n = v.n + excluded.n
        )
        INSERT INTO vuln_due_tallies AS v (tenant_id, state, due_day, n)
        SELECT tenant_id, state, due_day, SUM(n) FROM x WHERE due_day IS NOT NULL
        GROUP BY 1, 2, 3 HAVING SUM(n) <> 0 ORDER BY 1, 2, 3
        ON CONFLICT (tenant_id, state, due_day) DO UPDATE SET n = v.n + excluded.n;
    END IF;
    RETURN NULL;
END
$$;
-- +goose StatementEnd

CREATE TRIGGER vuln_tallies_insert AFTER INSERT ON vuln_findings REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION vuln_tallies_apply();
CREATE TRIGGER vuln_tallies_update AFTER UPDATE ON vuln_findings REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION vuln_tallies_apply();
CREATE TRIGGER vuln_tallies_delete AFTER DELETE ON vuln_findings REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION vuln_tallies_apply();

-- +goose StatementBegin
CREATE FUNCTION baseline_totals_apply() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        -- An asset is new to the totals when all its latest rows are
        -- this statement's.
        INSERT INTO baseline_totals AS b (tenant_id, assets, runs, passed, failed)
        SELECT r.tenant_id, COALESCE(a.n, 0), r.runs, r.passed, r.failed
        FROM (SELECT tenant_id, COUNT(*) AS runs, SUM(passed) AS passed, SUM(failed) AS failed FROM new_rows GROUP BY 1) r
        LEFT JOIN (SELECT g.tenant_id, COUNT(*) AS n FROM (SELECT tenant_id, asset_id, COUNT(*) AS c FROM new_rows GROUP BY 1, 2) g
                   WHERE g.c = (SELECT COUNT(*) FROM baseline_latest l WHERE l.tenant_id = g.tenant_id AND l.asset_id = g.asset_id)
                   GROUP BY 1) a ON a.tenant_id = r.tenant_id
        ORDER BY 1
        ON CONFLICT (tenant_id) DO UPDATE SET assets = b.assets + excluded.assets, runs = b.runs + excluded.runs,
            passed = b.passed + excluded.passed, failed = b.failed + excluded.failed;
    ELSIF TG_OP = 'DELETE' THEN
        UPDATE baseline_totals b SET runs = b.runs - r.runs, passed = b.passed - r.passed, failed = b.failed - r.failed,
            assets = b.assets - (SELECT COUNT(*) FROM (SELECT DISTINCT o.asset_id FROM old_rows o WHERE o.tenant_id = r.tenant_id
                AND NOT EXISTS (SELECT 1 FROM baseline_latest l WHERE l.tenant_id = o.tenant_id AND l.asset_id = o.asset_id)) g)
        FROM (SELECT tenant_id, COUNT(*) AS runs, SUM(passed) AS passed, SUM(failed) AS failed FROM old_rows GROUP BY 1) r
        WHERE b.tenant_id = r.tenant_id;
    ELSE
        UPDATE baseline_totals b SET passed = b.passed + d.passed, failed = b.failed + d.failed
        FROM (SELECT tenant_id, SUM(passed) AS passed, SUM(failed) AS failed FROM (
                SELECT tenant_id, passed, failed FROM new_rows
                UNION ALL SELECT tenant_id, -passed, -failed FROM old_rows) x
              GROUP BY 1 HAVING SUM(passed) <> 0 OR SUM(failed) <> 0) d
        WHERE b.tenant_id = d.tenant_id;
    END IF;
    RETURN NULL;
END
$$;
-- +goose StatementEnd

CREATE TRIGGER baseline_totals_insert AFTER INSERT ON baseline_latest REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION baseline_totals_apply();
CREATE TRIGGER baseline_totals_update AFTER UPDATE ON baseline_latest REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION baseline_totals_apply();
CREATE TRIGGER baseline_totals_delete AFTER DELETE ON baseline_latest REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION baseline_totals_apply();

-- +goose Down
DROP TRIGGER baseline_totals_delete ON baseline_latest;
DROP TRIGGER baseline_totals_update ON baseline_latest;
DROP TRIGGER baseline_totals_insert ON baseline_latest;
DROP FUNCTION baseline_totals_apply();
DROP TRIGGER vuln_tallies_delete ON vuln_findings;
DROP TRIGGER vuln_tallies_update ON vuln_findings;
DROP TRIGGER vuln_tallies_insert ON vuln_findings;
DROP FUNCTION vuln_tallies_apply();
DROP TABLE baseline_totals;
DROP TABLE vuln_due_tallies;
DROP TABLE vuln_tallies;
