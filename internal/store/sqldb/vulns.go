package sqldb

import (
	"context"
	"database/sql"
	"time"

	"github.com/vigil-sec/vigil/internal/store"
)

// vulns implements store.VulnStore; every query is scoped by tenant.
type vulns struct{ s *Store }

const vulnCols = `id, tenant_id, fingerprint, asset_id, asset_key, scanner, rule_id, title, description, severity,
	layer, host, ip, port, protocol, url, target, package, version, cves, cwes, refs, cvss_vector, cvss_score,
	cvss4_vector, fixed_in, remediation, evidence, kev, epss, priority, priority_reason, state, state_note, state_by,
	state_at, assignee, control, expires_at, due_at, first_seen, last_seen, occurrences, scan_id, updated_at`

func scanVuln(r rowScanner) (store.VulnFinding, error) {
	var v store.VulnFinding
	var cvss, epss sql.NullFloat64
	err := r.Scan(&v.ID, &v.TenantID, &v.Fingerprint, &v.AssetID, &v.AssetKey, &v.Scanner, &v.RuleID, &v.Title,
		&v.Description, &v.Severity, &v.Layer, &v.Host, &v.IP, &v.Port, &v.Protocol, &v.URL, &v.Target, &v.Package,
		&v.Version, jsonDest{&v.CVEs}, jsonDest{&v.CWEs}, jsonDest{&v.References}, &v.CVSSVector, &cvss,
		&v.CVSS4Vector, &v.FixedIn, &v.Remediation, &v.Evidence, &v.KEV, &epss, &v.Priority, &v.PriorityReason,
		&v.State, &v.StateNote, &v.StateBy, timeDest{&v.StateAt}, &v.Assignee, &v.Control, timeDest{&v.ExpiresAt},
		timeDest{&v.DueAt}, timeDest{&v.FirstSeen}, timeDest{&v.LastSeen}, &v.Occurrences, &v.ScanID,
		timeDest{&v.UpdatedAt})
	if cvss.Valid {
		v.CVSSScore = &cvss.Float64
	}
	if epss.Valid {
		v.EPSS = &epss.Float64
	}
	return v, err
}

func optFloat(p *float64) any {
	if p == nil {
		return nil
	}
	return *p
}

// Import applies one scan in one transaction.
func (x vulns) Import(ctx context.Context, in store.VulnImport) error {
	s := x.s
	sc := in.Scan
	if err := ensureID(&sc.ID); err != nil {
		return err
	}
	at := norm(in.At)
	if at.IsZero() {
		at = s.stamp()
	}
	sc.CreatedAt = at
	sc.Total, sc.Added, sc.Updated, sc.Reopened, sc.Absent = len(in.Findings), 0, 0, 0, 0
	err := s.inTx(ctx, func(c conn) error {
		seen := make(map[string]bool, len(in.Findings))
		var keys []string
		for i := range in.Findings {
			f := &in.Findings[i]
			f.TenantID, f.ScanID = sc.TenantID, sc.ID
			if !seen[f.Fingerprint] {
				seen[f.Fingerprint] = true
			}
			if f.AssetKey != "" && !containsStr(keys, f.AssetKey) {
				keys = append(keys, f.AssetKey)
			}
			if err := x.upsert(ctx, c, f, in, at, sc); err != nil {
				return err
			}
		}
		if sc.Full && in.AbsentTo != "" && len(in.AbsentStates) > 0 {
			for _, key := range keys {
				if err := x.markAbsent(ctx, c, sc, key, seen, in, at); err != nil {
					return err
				}
			}
		}
		_, err := c.exec(ctx, `INSERT INTO vuln_scans (id, tenant_id, scanner, format, filename, sha256, full_scan, total,
			added, updated, reopened, absent, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			sc.ID, sc.TenantID, sc.Scanner, sc.Format, sc.Filename, sc.SHA256, sc.Full, sc.Total, sc.Added, sc.Updated,
			sc.Reopened, sc.Absent, sc.CreatedBy, s.t(at))
		return err
	})
	return s.wrap("import vulnerabilities", err)
}

func containsStr(v []string, s string) bool {
	for _, x := range v {
		if x == s {
			return true
		}
	}
	return false
}

func (x vulns) event(ctx context.Context, c conn, e store.VulnEvent) error {
	if err := ensureID(&e.ID); err != nil {
		return err
	}
	_, err := c.exec(ctx, `INSERT INTO vuln_events (id, tenant_id, finding_id, at, actor_id, kind, from_state, to_state, note)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, e.ID, e.TenantID, e.FindingID, x.s.t(e.At), e.ActorID, e.Kind, e.From, e.To, e.Note)
	return err
}

func (x vulns) upsert(ctx context.Context, c conn, f *store.VulnFinding, in store.VulnImport, at time.Time, sc *store.VulnScan) error {
	s := x.s
	cves, err := tagsArg(f.CVEs)
	if err != nil {
		return err
	}
	cwes, err := tagsArg(f.CWEs)
	if err != nil {
		return err
	}
	refs, err := tagsArg(f.References)
	if err != nil {
		return err
	}
	var id, state string
	err = c.queryRow(ctx, `SELECT id, state FROM vuln_findings WHERE tenant_id = ? AND fingerprint = ?`,
		f.TenantID, f.Fingerprint).Scan(&id, &state)
	if isNoRows(err) {
		if err := ensureID(&f.ID); err != nil {
			return err
		}
		f.State, f.StateAt, f.FirstSeen, f.LastSeen, f.UpdatedAt = in.Initial, at, at, at, at
		if f.Occurrences == 0 {
			f.Occurrences = 1
		}
		_, err = c.exec(ctx, `INSERT INTO vuln_findings (`+vulnCols+`, severity_rank) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?,
			?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			f.ID, f.TenantID, f.Fingerprint, f.AssetID, f.AssetKey, f.Scanner, f.RuleID, f.Title, f.Description, f.Severity,
			f.Layer, f.Host, f.IP, f.Port, f.Protocol, f.URL, f.Target, f.Package, f.Version, cves, cwes, refs,
			f.CVSSVector, optFloat(f.CVSSScore), f.CVSS4Vector, f.FixedIn, f.Remediation, f.Evidence, f.KEV,
			optFloat(f.EPSS), f.Priority, f.PriorityReason, f.State, "", "", s.t(at), "", "", nil, s.t(f.DueAt),
			s.t(at), s.t(at), f.Occurrences, f.ScanID, s.t(at), store.SeverityRank(f.Severity))
		if err != nil {
			return err
		}
		sc.Added++
		return x.event(ctx, c, store.VulnEvent{TenantID: f.TenantID, FindingID: f.ID, At: at, ActorID: sc.CreatedBy,
			Kind: "imported", To: f.State, Note: sc.Scanner})
	}
	if err != nil {
		return err
	}
	f.ID = id
	newState := state
	if containsStr(in.ReopenStates, state) {
		newState = in.Reopened
		sc.Reopened++
	} else {
		sc.Updated++
	}
	_, err = c.exec(ctx, `UPDATE vuln_findings SET asset_id = CASE WHEN ? = '' THEN asset_id ELSE ? END, asset_key = ?,
		rule_id = ?, title = ?, description = ?, severity = ?, severity_rank = ?, layer = ?, host = ?, ip = ?, port = ?,
		protocol = ?, url = ?, target = ?, package = ?, version = ?, cves = ?, cwes = ?, refs = ?, cvss_vector = ?,
		cvss_score = ?, cvss4_vector = ?, fixed_in = ?, remediation = ?, evidence = ?, kev = ?, epss = ?, priority = ?,
		priority_reason = ?, last_seen = ?, occurrences = ?, scan_id = ?, updated_at = ?,
		state = ?, state_at = CASE WHEN ? THEN ? ELSE state_at END, state_note = CASE WHEN ? THEN ? ELSE state_note END,
		state_by = CASE WHEN ? THEN '' ELSE state_by END
		WHERE id = ?`,
		f.AssetID, f.AssetID, f.AssetKey, f.RuleID, f.Title, f.Description, f.Severity, store.SeverityRank(f.Severity), f.Layer,
		f.Host, f.IP, f.Port, f.Protocol, f.URL, f.Target, f.Package, f.Version, cves, cwes, refs, f.CVSSVector,
		optFloat(f.CVSSScore), f.CVSS4Vector, f.FixedIn, f.Remediation, f.Evidence, f.KEV, optFloat(f.EPSS), f.Priority,
		f.PriorityReason, s.t(at), max(f.Occurrences, 1), f.ScanID, s.t(at),
		newState, newState != state, s.t(at), newState != state, "seen again by "+sc.Scanner, newState != state, id)
	if err != nil {
		return err
	}
	if newState != state {
		return x.event(ctx, c, store.VulnEvent{TenantID: f.TenantID, FindingID: id, At: at, ActorID: sc.CreatedBy,
			Kind: "reopened", From: state, To: newState, Note: "seen again by " + sc.Scanner})
	}
	return nil
}

func (x vulns) markAbsent(ctx context.Context, c conn, sc *store.VulnScan, key string, seen map[string]bool, in store.VulnImport, at time.Time) error {
	s := x.s
	args := []any{sc.TenantID, sc.Scanner, key}
	for _, st := range in.AbsentStates {
		args = append(args, st)
	}
	type row struct{ id, fp, state string }
	rows, err := collect(ctx, c, func(r rowScanner) (row, error) {
		var v row
		return v, r.Scan(&v.id, &v.fp, &v.state)
	}, `SELECT id, fingerprint, state FROM vuln_findings WHERE tenant_id = ? AND scanner = ? AND asset_key = ?
		AND state IN (`+placeholders(len(in.AbsentStates))+`)`, args...)
	if err != nil {
		return err
	}
	for _, r := range rows {
		if seen[r.fp] {
			continue
		}
		note := "absent from a full rescan by " + sc.Scanner
		if _, err := c.exec(ctx, `UPDATE vuln_findings SET state = ?, state_at = ?, state_note = ?, state_by = '', updated_at = ?
			WHERE id = ?`, in.AbsentTo, s.t(at), note, s.t(at), r.id); err != nil {
			return err
		}
		sc.Absent++
		if err := x.event(ctx, c, store.VulnEvent{TenantID: sc.TenantID, FindingID: r.id, At: at, ActorID: sc.CreatedBy,
			Kind: "absent", From: r.state, To: in.AbsentTo, Note: note}); err != nil {
			return err
		}
	}
	return nil
}

// Get returns one finding of a tenant.
func (x vulns) Get(ctx context.Context, tenantID, id string) (store.VulnFinding, error) {
	v, err := scanVuln(x.s.conn().queryRow(ctx, `SELECT `+vulnCols+` FROM vuln_findings WHERE tenant_id = ? AND id = ?`, tenantID, id))
	return v, x.s.wrap("get vulnerability", err)
}

func (x vulns) filter(tenantID string, f store.VulnFilter) *where {
	s := x.s
	w := &where{}
	w.add("tenant_id = ?", tenantID)
	w.in("state", f.States)
	if f.Severity != "" {
		w.add("severity = ?", f.Severity)
	}
	if f.KEV {
		w.add("kev = ?", true)
	}
	if f.Overdue && len(f.OpenStates) > 0 {
		args := []any{s.t(norm(f.Now))}
		for _, st := range f.OpenStates {
			args = append(args, st)
		}
		w.add("due_at IS NOT NULL AND due_at < ? AND state IN ("+placeholders(len(f.OpenStates))+")", args...)
	}
	if f.AssetID != "" {
		w.add("asset_id = ?", f.AssetID)
	}
	if f.Scanner != "" {
		w.add("scanner = ?", f.Scanner)
	}
	if f.Query != "" {
		p := containsPattern(f.Query)
		w.add(`(lower(title) LIKE ? ESCAPE '!' OR lower(asset_key) LIKE ? ESCAPE '!' OR lower(rule_id) LIKE ? ESCAPE '!'
			OR lower(`+s.d.jsonText("cves")+`) LIKE ? ESCAPE '!')`, p, p, p, p)
	}
	return w
}

// List returns one page of a tenant's findings, highest priority first.
func (x vulns) List(ctx context.Context, tenantID string, f store.VulnFilter) ([]store.VulnFinding, error) {
	w := x.filter(tenantID, f)
	limit, offset := PageBounds(f.Page)
	vs, err := collect(ctx, x.s.conn(), scanVuln, `SELECT `+vulnCols+` FROM vuln_findings`+w.String()+
		` ORDER BY priority DESC, severity_rank DESC, id LIMIT ? OFFSET ?`, append(w.args, limit, offset)...)
	return vs, x.s.wrap("list vulnerabilities", err)
}

// Count returns how many findings match f (ignoring f.Page).
func (x vulns) Count(ctx context.Context, tenantID string, f store.VulnFilter) (int, error) {
	w := x.filter(tenantID, f)
	var n int
	err := x.s.conn().queryRow(ctx, `SELECT COUNT(*) FROM vuln_findings`+w.String(), w.args...).Scan(&n)
	return n, x.s.wrap("count vulnerabilities", err)
}

// Change applies a state change if the finding is still in c.From.
func (x vulns) Change(ctx context.Context, tenantID, id string, c store.VulnChange) error {
	s := x.s
	at := norm(c.At)
	if at.IsZero() {
		at = s.stamp()
	}
	err := s.inTx(ctx, func(cn conn) error {
		var state, assignee, control string
		var expires time.Time
		err := cn.queryRow(ctx, `SELECT state, assignee, control, expires_at FROM vuln_findings WHERE tenant_id = ? AND id = ?`,
			tenantID, id).Scan(&state, &assignee, &control, timeDest{&expires})
		if err != nil {
			return err
		}
		if state != c.From {
			return store.ErrConflict
		}
		kind := "state"
		if c.Assignee != nil {
			assignee = *c.Assignee
			if c.From == c.To {
				kind = "assign"
			}
		}
		if c.Control != nil {
			control = *c.Control
		}
		if c.ExpiresAt != nil {
			expires = norm(*c.ExpiresAt)
		}
		if _, err := cn.exec(ctx, `UPDATE vuln_findings SET state = ?, state_at = ?, state_note = ?, state_by = ?, assignee = ?,
			control = ?, expires_at = ?, updated_at = ? WHERE tenant_id = ? AND id = ?`,
			c.To, s.t(at), c.Note, c.ActorID, assignee, control, s.t(expires), s.t(at), tenantID, id); err != nil {
			return err
		}
		return x.event(ctx, cn, store.VulnEvent{TenantID: tenantID, FindingID: id, At: at, ActorID: c.ActorID, Kind: kind,
			From: c.From, To: c.To, Note: c.Note})
	})
	return s.wrap("change vulnerability", err)
}

// Events returns a finding's timeline, oldest first.
func (x vulns) Events(ctx context.Context, tenantID, findingID string) ([]store.VulnEvent, error) {
	es, err := collect(ctx, x.s.conn(), func(r rowScanner) (store.VulnEvent, error) {
		var e store.VulnEvent
		return e, r.Scan(&e.ID, &e.TenantID, &e.FindingID, timeDest{&e.At}, &e.ActorID, &e.Kind, &e.From, &e.To, &e.Note)
	}, `SELECT id, tenant_id, finding_id, at, actor_id, kind, from_state, to_state, note FROM vuln_events
		WHERE tenant_id = ? AND finding_id = ? ORDER BY at, id`, tenantID, findingID)
	return es, x.s.wrap("list vulnerability events", err)
}

// Scans returns a page of a tenant's imports, newest first.
func (x vulns) Scans(ctx context.Context, tenantID string, p store.Page) ([]store.VulnScan, error) {
	limit, offset := PageBounds(p)
	ss, err := collect(ctx, x.s.conn(), func(r rowScanner) (store.VulnScan, error) {
		var v store.VulnScan
		return v, r.Scan(&v.ID, &v.TenantID, &v.Scanner, &v.Format, &v.Filename, &v.SHA256, &v.Full, &v.Total, &v.Added,
			&v.Updated, &v.Reopened, &v.Absent, &v.CreatedBy, timeDest{&v.CreatedAt})
	}, `SELECT id, tenant_id, scanner, format, filename, sha256, full_scan, total, added, updated, reopened, absent,
		created_by, created_at FROM vuln_scans WHERE tenant_id = ? ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?`,
		tenantID, limit, offset)
	return ss, x.s.wrap("list vulnerability scans", err)
}

// CountBy counts a tenant's findings by state and severity.
func (x vulns) CountBy(ctx context.Context, tenantID string) (map[[2]string]int, error) {
	type row struct {
		state string
		rank  int
		n     int
	}
	// Grouped by the indexed rank, not the severity text, so the count
	// reads the (tenant, state, rank) index alone.
	rows, err := collect(ctx, x.s.conn(), func(r rowScanner) (row, error) {
		var v row
		return v, r.Scan(&v.state, &v.rank, &v.n)
	}, `SELECT state, severity_rank, COUNT(*) FROM vuln_findings WHERE tenant_id = ? GROUP BY state, severity_rank`, tenantID)
	if err != nil {
		return nil, x.s.wrap("count vulnerabilities", err)
	}
	names := map[int]string{4: "critical", 3: "high", 2: "medium", 1: "low", 0: "info"}
	out := make(map[[2]string]int, len(rows))
	for _, r := range rows {
		out[[2]string{r.state, names[r.rank]}] += r.n
	}
	return out, nil
}

// jsonText is a JSON column as text, for LIKE searches.
func (d *Dialect) jsonText(col string) string {
	if d.Name == "postgres" {
		return col + "::text"
	}
	return col
}
