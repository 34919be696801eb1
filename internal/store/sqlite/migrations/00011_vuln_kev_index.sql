-- The dashboard counts a tenant's open KEV-listed findings on every load.

-- +goose Up
CREATE INDEX vuln_findings_kev ON vuln_findings (tenant_id, kev, state);

-- +goose Down
DROP INDEX vuln_findings_kev;
