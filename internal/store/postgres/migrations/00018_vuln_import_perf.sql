-- The CVSS v4.0 score Vigil computes becomes a column of the finding, and
-- the findings page's queries get the indexes they need at a million
-- findings: the list's full ORDER BY, counts by severity, and overdue
-- counts that need not read the rows.

-- +goose Up
ALTER TABLE vuln_findings ADD COLUMN cvss4_score DOUBLE PRECISION;
DROP INDEX vuln_findings_list;
CREATE INDEX vuln_findings_order ON vuln_findings (tenant_id, priority DESC, severity_rank DESC, id);
DROP INDEX vuln_findings_due;
CREATE INDEX vuln_findings_due ON vuln_findings (tenant_id, due_at, state);
CREATE INDEX vuln_findings_severity ON vuln_findings (tenant_id, severity_rank, state);

-- +goose Down
DROP INDEX vuln_findings_severity;
DROP INDEX vuln_findings_due;
CREATE INDEX vuln_findings_due ON vuln_findings (tenant_id, due_at);
DROP INDEX vuln_findings_order;
CREATE INDEX vuln_findings_list ON vuln_findings (tenant_id, priority DESC, id);
ALTER TABLE vuln_findings DROP COLUMN cvss4_score;
