package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/vigil-sec/vigil/internal/store"
)

// vulns implements store.VulnStore; every query is scoped by tenant.
type vulns struct{ s *Store }

const vulnCols = `id, tenant_id, fingerprint, asset_id, asset_key, scanner, rule_id, title, description, severity,
	layer, host, ip, port, protocol, url, target, package, version, cves, cwes, refs, cvss_vector, cvss_score,
	cvss4_vector, cvss4_score, fixed_in, remediation, evidence, kev, epss, priority, priority_reason, state, state_note,
	state_by, state_at, assignee, control, expires_at, due_at, first_seen, last_seen, occurrences, scan_id, updated_at`

// vulnColCount is the number of columns in vulnCols.
const vulnColCount = 46

func scanVuln(r rowScanner) (store.VulnFinding, error) {
	var v store.VulnFinding
	var cvss, cvss4, epss sql.NullFloat64
	err := r.Scan(&v.ID, &v.TenantID, &v.Fingerprint, &v.AssetID, &v.AssetKey, &v.Scanner, &v.RuleID, &v.Title,
		&v.Description, &v.Severity, &v.Layer, &v.Host, &v.IP, &v.Port, &v.Protocol, &v.URL, &v.Target, &v.Package,
		&v.Version, jsonDest{&v.CVEs}, jsonDest{&v.CWEs}, jsonDest{&v.References}, &v.CVSSVector, &cvss,
		&v.CVSS4Vector, &cvss4, &v.FixedIn, &v.Remediation, &v.Evidence, &v.KEV, &epss, &v.Priority, &v.PriorityReason,
		&v.State, &v.StateNote, &v.StateBy, timeDest{&v.StateAt}, &v.Assignee, &v.Control, timeDest{&v.ExpiresAt},
		timeDest{&v.DueAt}, timeDest{&v.FirstSeen}, timeDest{&v.LastSeen}, &v.Occurrences, &v.ScanID,
		timeDest{&v.UpdatedAt})
	if cvss.Valid {
		v.CVSSScore = &cvss.Float64
	}
	if cvss4.Valid {
		v.CVSS4Score = &cvss4.Float64
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

// Import applies one scan in one transaction. It reads the stored state
// of the scan's fingerprints importBatch at a time and writes findings and
// events importBatch rows a statement, so an import costs a few round
// trips per importBatch findings rather than two or three per finding.
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
	err := s.inCopyTx(ctx, func(c conn, cp copier) error {
		// Imports of a tenant take turns: each reads which of its
		// fingerprints are stored before writing them.
		if err := c.lock(ctx, "vuln-import:"+sc.TenantID); err != nil {
			return err
		}
		if err := importCache(ctx, c); err != nil {
			return err
		}
		im := &importer{x: x, c: c, in: in, sc: sc, atT: at, at: s.t(at), fps: map[string]bool{}}
		if cp != nil {
			im.bulk = &bulkWriter{cp: cp, c: c, queued: map[string]int{}}
		}
		defer im.close()
		if err := im.findings(ctx); err != nil {
			return err
		}
		if sc.Full && in.AbsentTo != "" && len(in.AbsentStates) > 0 {
			if err := im.absent(ctx); err != nil {
				return err
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

// importBatch is how many rows one statement of an import writes or looks
// up: at 47 parameters a finding a statement stays under SQLite's 32766 and
// PostgreSQL's 65535 parameters. Larger statements are cheaper on SQLite:
// its FTS5 index flushes its pending terms once a statement, and from 400
// rows a statement to 680 a first import's CPU time fell by some 9 %
// (bench/vuln).
const importBatch = 680

// upsertSQL writes n findings: new ones are inserted, known ones (the
// same tenant and fingerprint) updated as a reimport does. The state
// passed for a known finding is its state after the import; when it
// differs from the stored one (a reopen), state_at, state_note and
// state_by change with it.
func upsertSQL(n int) string {
	var b strings.Builder
	b.WriteString(`INSERT INTO vuln_findings (` + vulnCols + `, severity_rank) VALUES `)
	row := "(" + placeholders(vulnColCount+1) + ")"
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(row)
	}
	b.WriteString(upsertConflict)
	return b.String()
}

// upsertConflict is how a written finding merges with the stored one of
// the same tenant and fingerprint.
const upsertConflict = ` ON CONFLICT (tenant_id, fingerprint) DO UPDATE SET
		asset_id = CASE WHEN excluded.asset_id = '' THEN vuln_findings.asset_id ELSE excluded.asset_id END,
		asset_key = excluded.asset_key, rule_id = excluded.rule_id, title = excluded.title,
		description = excluded.description, severity = excluded.severity, severity_rank = excluded.severity_rank,
		layer = excluded.layer, host = excluded.host, ip = excluded.ip, port = excluded.port,
		protocol = excluded.protocol, url = excluded.url, target = excluded.target, package = excluded.package,
		version = excluded.version, cves = excluded.cves, cwes = excluded.cwes, refs = excluded.refs,
		cvss_vector = excluded.cvss_vector, cvss_score = excluded.cvss_score, cvss4_vector = excluded.cvss4_vector,
		cvss4_score = excluded.cvss4_score, fixed_in = excluded.fixed_in, remediation = excluded.remediation,
		evidence = excluded.evidence, kev = excluded.kev, epss = excluded.epss, priority = excluded.priority,
		priority_reason = excluded.priority_reason, last_seen = excluded.last_seen,
		occurrences = excluded.occurrences, scan_id = excluded.scan_id, updated_at = excluded.updated_at,
		state_at = CASE WHEN vuln_findings.state <> excluded.state THEN excluded.state_at ELSE vuln_findings.state_at END,
		state_note = CASE WHEN vuln_findings.state <> excluded.state THEN excluded.state_note ELSE vuln_findings.state_note END,
		state_by = CASE WHEN vuln_findings.state <> excluded.state THEN '' ELSE vuln_findings.state_by END,
		state = excluded.state`

// eventsSQL inserts n timeline events.
func eventsSQL(n int) string {
	row := "(" + placeholders(9) + ")"
	return `INSERT INTO vuln_events (id, tenant_id, finding_id, at, actor_id, kind, from_state, to_state, note) VALUES ` +
		strings.TrimSuffix(strings.Repeat(row+", ", n), ", ")
}

// known is a stored finding's ID and state.
type known struct{ id, state string }

// importer applies one import in a transaction: findings and events are
// written importBatch rows a statement, known fingerprints are looked up
// importBatch at a time.
type importer struct {
	x    vulns
	c    conn
	in   store.VulnImport
	sc   *store.VulnScan
	atT  time.Time
	at   any // atT as a query argument
	rows []any
	fps  map[string]bool // fingerprints in rows
	n    int             // findings in rows
	evs  []any
	nevs int
	// stmts are the statements of full batches, prepared once an import.
	stmts map[string]*sql.Stmt
	// bulk, when set, writes the findings and events instead, by COPY.
	bulk *bulkWriter
}

func (im *importer) close() {
	for _, st := range im.stmts {
		_ = st.Close()
	}
}

// exec runs query; full says it is a full batch's, worth preparing once
// for the import's other batches.
func (im *importer) exec(ctx context.Context, full bool, query string, args ...any) error {
	p, ok := im.c.q.(interface {
		PrepareContext(context.Context, string) (*sql.Stmt, error)
	})
	if !full || !ok {
		_, err := im.c.exec(ctx, query, args...)
		return err
	}
	st := im.stmts[query]
	if st == nil {
		var err error
		if st, err = p.PrepareContext(ctx, im.c.d.rebind(query)); err != nil {
			return err
		}
		if im.stmts == nil {
			im.stmts = map[string]*sql.Stmt{}
		}
		im.stmts[query] = st
	}
	_, err := st.ExecContext(ctx, args...)
	return err
}

// lookup returns the stored findings among fps.
func (im *importer) lookup(ctx context.Context, fps []string) (map[string]known, error) {
	if im.bulk != nil {
		return im.bulk.lookup(ctx, im.c, im.sc.TenantID, fps)
	}
	out := make(map[string]known, len(fps))
	for lo := 0; lo < len(fps); lo += importBatch {
		chunk := fps[lo:min(lo+importBatch, len(fps))]
		args := make([]any, 0, len(chunk)+1)
		args = append(args, im.sc.TenantID)
		for _, fp := range chunk {
			args = append(args, fp)
		}
		rows, err := im.c.query(ctx, `SELECT id, fingerprint, state FROM vuln_findings WHERE tenant_id = ? AND fingerprint IN (`+
			placeholders(len(chunk))+`)`, args...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var k known
			var fp string
			if err := rows.Scan(&k.id, &fp, &k.state); err != nil {
				_ = rows.Close()
				return nil, err
			}
			out[fp] = k
		}
		if err := errors.Join(rows.Err(), rows.Close()); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// add queues one finding, new or known, with its state after the import.
func (im *importer) add(ctx context.Context, f *store.VulnFinding, state, note string, occurrences int) error {
	if im.fps[f.Fingerprint] {
		// The same fingerprint twice in one import: the second is an
		// update of the first, which must be stored first.
		if err := im.flush(ctx); err != nil {
			return err
		}
	}
	s := im.x.s
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
	if im.bulk != nil {
		return im.bulk.add(ctx, f.Fingerprint, []any{f.ID, f.TenantID, f.Fingerprint, f.AssetID, f.AssetKey, f.Scanner,
			f.RuleID, f.Title, f.Description, f.Severity, f.Layer, f.Host, f.IP, f.Port, f.Protocol, f.URL, f.Target,
			f.Package, f.Version, cves, cwes, refs, f.CVSSVector, optFloat(f.CVSSScore), f.CVSS4Vector,
			optFloat(f.CVSS4Score), f.FixedIn, f.Remediation, f.Evidence, f.KEV, optFloat(f.EPSS), f.Priority,
			f.PriorityReason, state, note, "", im.at, "", "", nil, s.t(f.DueAt), im.at, im.at, occurrences, f.ScanID,
			im.at, store.SeverityRank(f.Severity)})
	}
	im.rows = append(im.rows, f.ID, f.TenantID, f.Fingerprint, f.AssetID, f.AssetKey, f.Scanner, f.RuleID, f.Title,
		f.Description, f.Severity, f.Layer, f.Host, f.IP, f.Port, f.Protocol, f.URL, f.Target, f.Package, f.Version, cves,
		cwes, refs, f.CVSSVector, optFloat(f.CVSSScore), f.CVSS4Vector, optFloat(f.CVSS4Score), f.FixedIn, f.Remediation,
		f.Evidence, f.KEV, optFloat(f.EPSS), f.Priority, f.PriorityReason, state, note, "", im.at, "", "", nil, s.t(f.DueAt),
		im.at, im.at, occurrences, f.ScanID, im.at, store.SeverityRank(f.Severity))
	im.fps[f.Fingerprint] = true
	im.n++
	if im.n == importBatch {
		return im.flush(ctx)
	}
	return nil
}

// event queues one timeline event; events are written after the
// findings they belong to.
func (im *importer) event(ctx context.Context, e store.VulnEvent) error {
	if err := ensureID(&e.ID); err != nil {
		return err
	}
	if im.bulk != nil {
		return im.bulk.event(ctx, []any{e.ID, e.TenantID, e.FindingID, im.at, e.ActorID, e.Kind, e.From, e.To, e.Note})
	}
	im.evs = append(im.evs, e.ID, e.TenantID, e.FindingID, im.at, e.ActorID, e.Kind, e.From, e.To, e.Note)
	im.nevs++
	if im.nevs < importBatch {
		return nil
	}
	if im.n > 0 {
		// An event is written after its finding.
		return im.flush(ctx)
	}
	return im.flushEvents(ctx, false)
}

// flush writes the queued findings, then the queued events. Events are
// written in full batches (one prepared statement) while the findings are
// still being queued; the rest waits for the next flush, or for the end
// of the import (last).
func (im *importer) flush(ctx context.Context) error {
	if im.n > 0 {
		if err := im.exec(ctx, im.n == importBatch, upsertSQL(im.n), im.rows...); err != nil {
			return err
		}
		im.rows, im.n = im.rows[:0], 0
		clear(im.fps)
	}
	return im.flushEvents(ctx, false)
}

// flushEvents writes the queued events whose findings are written: the
// full batches, and with last the rest too.
func (im *importer) flushEvents(ctx context.Context, last bool) error {
	const w = 9 // values an event
	for im.nevs >= importBatch || (last && im.nevs > 0) {
		n := min(im.nevs, importBatch)
		if err := im.exec(ctx, n == importBatch, eventsSQL(n), im.evs[:n*w]...); err != nil {
			return err
		}
		im.evs = append(im.evs[:0], im.evs[n*w:]...)
		im.nevs -= n
	}
	return nil
}

// done writes everything still queued.
func (im *importer) done(ctx context.Context) error {
	if im.bulk != nil {
		return im.bulk.flush(ctx)
	}
	if err := im.flush(ctx); err != nil {
		return err
	}
	return im.flushEvents(ctx, true)
}

// findings applies the scan's findings in order.
func (im *importer) findings(ctx context.Context) error {
	in, sc := im.in, im.sc
	fps := make([]string, 0, len(in.Findings))
	seen := make(map[string]bool, len(in.Findings))
	for i := range in.Findings {
		if fp := in.Findings[i].Fingerprint; !seen[fp] {
			seen[fp] = true
			fps = append(fps, fp)
		}
	}
	stored, err := im.lookup(ctx, fps)
	if err != nil {
		return err
	}
	for i := range in.Findings {
		f := &in.Findings[i]
		f.TenantID, f.ScanID = sc.TenantID, sc.ID
		k, ok := stored[f.Fingerprint]
		if !ok {
			if err := ensureID(&f.ID); err != nil {
				return err
			}
			f.State, f.StateAt, f.FirstSeen, f.LastSeen, f.UpdatedAt = in.Initial, im.atTime(), im.atTime(), im.atTime(), im.atTime()
			if f.Occurrences == 0 {
				f.Occurrences = 1
			}
			stored[f.Fingerprint] = known{id: f.ID, state: f.State}
			sc.Added++
			if err := im.add(ctx, f, f.State, "", f.Occurrences); err != nil {
				return err
			}
			if err := im.event(ctx, store.VulnEvent{TenantID: f.TenantID, FindingID: f.ID, ActorID: sc.CreatedBy,
				Kind: "imported", To: f.State, Note: sc.Scanner}); err != nil {
				return err
			}
			continue
		}
		f.ID = k.id
		newState, note := k.state, ""
		if containsStr(in.ReopenStates, k.state) {
			newState, note = in.Reopened, "seen again by "+sc.Scanner
			sc.Reopened++
		} else {
			sc.Updated++
		}
		stored[f.Fingerprint] = known{id: k.id, state: newState}
		if err := im.add(ctx, f, newState, note, max(f.Occurrences, 1)); err != nil {
			return err
		}
		if newState != k.state {
			if err := im.event(ctx, store.VulnEvent{TenantID: f.TenantID, FindingID: k.id, ActorID: sc.CreatedBy,
				Kind: "reopened", From: k.state, To: newState, Note: note}); err != nil {
				return err
			}
		}
	}
	return im.done(ctx)
}

func (im *importer) atTime() time.Time { return im.atT }

// absent moves the open findings of the scan's asset keys that it did not
// see to AbsentTo.
func (im *importer) absent(ctx context.Context) error {
	in, sc := im.in, im.sc
	seen := make(map[string]bool, len(in.Findings))
	var keys []string
	keySeen := map[string]bool{}
	for i := range in.Findings {
		f := &in.Findings[i]
		seen[f.Fingerprint] = true
		if f.AssetKey != "" && !keySeen[f.AssetKey] {
			keySeen[f.AssetKey] = true
			keys = append(keys, f.AssetKey)
		}
	}
	note := "absent from a full rescan by " + sc.Scanner
	var ids []any
	var froms []string
	for lo := 0; lo < len(keys); lo += importBatch {
		chunk := keys[lo:min(lo+importBatch, len(keys))]
		args := make([]any, 0, 2+len(chunk)+len(in.AbsentStates))
		args = append(args, sc.TenantID, sc.Scanner)
		for _, k := range chunk {
			args = append(args, k)
		}
		for _, st := range in.AbsentStates {
			args = append(args, st)
		}
		rows, err := im.c.query(ctx, `SELECT id, fingerprint, state FROM vuln_findings WHERE tenant_id = ? AND scanner = ?
			AND asset_key IN (`+placeholders(len(chunk))+`) AND state IN (`+placeholders(len(in.AbsentStates))+`)`, args...)
		if err != nil {
			return err
		}
		for rows.Next() {
			var id, fp, state string
			if err := rows.Scan(&id, &fp, &state); err != nil {
				_ = rows.Close()
				return err
			}
			if !seen[fp] {
				ids = append(ids, id)
				froms = append(froms, state)
			}
		}
		if err := errors.Join(rows.Err(), rows.Close()); err != nil {
			return err
		}
	}
	for lo := 0; lo < len(ids); lo += importBatch {
		chunk := ids[lo:min(lo+importBatch, len(ids))]
		args := append([]any{in.AbsentTo, im.at, note, im.at, sc.TenantID}, chunk...)
		if _, err := im.c.exec(ctx, `UPDATE vuln_findings SET state = ?, state_at = ?, state_note = ?, state_by = '', updated_at = ?
			WHERE tenant_id = ? AND id IN (`+placeholders(len(chunk))+`)`, args...); err != nil {
			return err
		}
	}
	for i, id := range ids {
		sc.Absent++
		if err := im.event(ctx, store.VulnEvent{TenantID: sc.TenantID, FindingID: id.(string), ActorID: sc.CreatedBy,
			Kind: "absent", From: froms[i], To: in.AbsentTo, Note: note}); err != nil {
			return err
		}
	}
	return im.done(ctx)
}

// Get returns one finding of a tenant.
func (x vulns) Get(ctx context.Context, tenantID, id string) (store.VulnFinding, error) {
	v, err := scanVuln(x.s.conn().queryRow(ctx, `SELECT `+vulnCols+` FROM vuln_findings WHERE tenant_id = ? AND id = ?`, tenantID, id))
	return v, x.s.wrap("get vulnerability", err)
}

func (x vulns) filter(tenantID string, f store.VulnFilter, textIndex bool) *where {
	s := x.s
	w := &where{}
	if textIndex && s.d.Name == "sqlite" {
		// The unary + keeps SQLite from reading all the tenant's findings
		// by a tenant index to test each against the text index's
		// candidates: the candidates, looked up by rowid, drive the query.
		w.add("+tenant_id = ?", tenantID)
	} else {
		w.add("tenant_id = ?", tenantID)
	}
	w.in("state", f.States)
	switch rank := store.SeverityRank(f.Severity); {
	case rank > 0:
		// The rank is stored with the severity and names it alone, and
		// the indexes have it.
		w.add("severity_rank = ?", rank)
	case f.Severity != "":
		w.add("severity_rank = 0 AND severity = ?", f.Severity)
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
		x.filterText(w, f.Query, textIndex)
	}
	return w
}

// filterText adds the text search of the findings list: q is a substring
// of the title, asset key, rule ID or CVE list (as JSON text), compared
// case-insensitively as lower(column) LIKE does.
//
// When q has a trigram (useTrigrams) an index answers it: on SQLite the
// FTS5 table of those four columns (migrations 00021 and 00065) yields
// candidate rows having q's trigrams and the LIKEs recheck them, since
// the index folds more than ASCII case and keeps no positions; on
// PostgreSQL the pg_trgm GIN index of migration 00065 on the four columns
// joined (pgTextExpr) serves the LIKE on that expression. Shorter
// text, and without textIndex any text, is a scan of the columns.
func (x vulns) filterText(w *where, q string, textIndex bool) {
	p := containsPattern(q)
	like := `(lower(title) LIKE ? ESCAPE '!' OR lower(asset_key) LIKE ? ESCAPE '!' OR lower(rule_id) LIKE ? ESCAPE '!'
		OR lower(` + x.s.d.jsonText("cves") + `) LIKE ? ESCAPE '!')`
	switch {
	case x.s.d.Name == "postgres" && textIndex:
		cond, args := textPredicatePG(q, p, like)
		w.add(cond, args...)
	case textIndex:
		w.add(`rowid IN (SELECT rowid FROM vuln_findings_fts WHERE vuln_findings_fts MATCH ?) AND `+like, ftsTrigrams(q), p, p, p, p)
	default:
		w.add(like, p, p, p, p)
	}
}

// indexedText reports whether f has a text search a trigram index answers.
func (x vulns) indexedText(f store.VulnFilter) bool { return f.Query != "" && useTrigrams(f.Query) }

// useTrigrams reports whether a text search for q can read a trigram
// index: q has at least three characters (a trigram; shorter text matches
// no trigram and is a scan) and is valid UTF-8 without NUL, which the
// index's tokenizer and query syntax take as they are.
func useTrigrams(q string) bool {
	return utf8.RuneCountInString(q) >= 3 && utf8.ValidString(q) && !strings.ContainsRune(q, 0)
}

// ftsPhrase quotes q as one FTS5 string, a phrase: with the trigram
// tokenizer it matches text having q as a substring, whatever characters
// q holds (a double quote is doubled, and nothing else is special).
func ftsPhrase(q string) string {
	return `"` + strings.ReplaceAll(strings.ToLower(q), `"`, `""`) + `"`
}

// List returns one page of a tenant's findings, highest priority first.
func (x vulns) List(ctx context.Context, tenantID string, f store.VulnFilter) ([]store.VulnFinding, error) {
	limit, offset := PageBounds(f.Page)
	walk, err := x.walks(ctx, f)
	if err != nil {
		return nil, x.s.wrap("list vulnerabilities", err)
	}
	if walk > 0 {
		vs, ok, err := x.listWalk(ctx, tenantID, f, walk, limit, offset)
		if err != nil || ok {
			return vs, x.s.wrap("list vulnerabilities", err)
		}
	}
	textIndex := x.indexedText(f)
	w := x.filter(tenantID, f, textIndex)
	order := ` ORDER BY priority DESC, severity_rank DESC, id`
	if textIndex {
		// The same order, but not one an index gives: a text search
		// reads its matches by the text index and sorts them, rather than
		// walk the list's index and test every row, which the planner
		// may choose on the guess that matches are spread evenly (when
		// they gather at the end, it reads most of the tenant's rows).
		order = ` ORDER BY priority + 0 DESC, severity_rank DESC, id`
	}
	vs, err := collect(ctx, x.s.conn(), scanVuln, `SELECT `+vulnCols+` FROM vuln_findings`+w.String()+
		order+` LIMIT ? OFFSET ?`, append(w.args, limit, offset)...)
	return vs, x.s.wrap("list vulnerabilities", err)
}

// Count returns how many findings match f (ignoring f.Page).
func (x vulns) Count(ctx context.Context, tenantID string, f store.VulnFilter) (int, error) {
	if n, ok, err := x.countTallied(ctx, tenantID, f); err != nil || ok {
		return n, x.s.wrap("count vulnerabilities", err)
	}
	var n int
	if f.CountLimit > 0 {
		// Common text is counted by testing findings in any order
		// until the limit is reached, rather than by reading all its
		// index matches.
		common, err := x.commonText(ctx, f)
		if err == nil && !common {
			common, err = x.commonTextPG(ctx, tenantID, f)
		}
		if err != nil {
			return 0, x.s.wrap("count vulnerabilities", err)
		}
		w := x.filter(tenantID, f, x.indexedText(f) && !common)
		err = x.s.conn().queryRow(ctx, `SELECT COUNT(*) FROM (SELECT 1 FROM vuln_findings`+w.String()+` LIMIT ?) AS capped`,
			append(w.args, f.CountLimit)...).Scan(&n)
		return n, x.s.wrap("count vulnerabilities", err)
	}
	w := x.filter(tenantID, f, x.indexedText(f))
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

// CountBy counts a tenant's findings by state and severity, from the
// running totals of migration 00056 (vuln_tallies, kept by triggers as
// findings are written): a few dozen rows instead of every finding.
func (x vulns) CountBy(ctx context.Context, tenantID string) (map[[2]string]int, error) {
	type row struct {
		state string
		rank  int
		n     int64
	}
	rows, err := collect(ctx, x.s.conn(), func(r rowScanner) (row, error) {
		var v row
		return v, r.Scan(&v.state, &v.rank, &v.n)
	}, `SELECT state, severity_rank, SUM(n) FROM vuln_tallies WHERE tenant_id = ? GROUP BY state, severity_rank
		HAVING SUM(n) <> 0`, tenantID)
	if err != nil {
		return nil, x.s.wrap("count vulnerabilities", err)
	}
	out := make(map[[2]string]int, len(rows))
	for _, r := range rows {
		out[[2]string{r.state, severityNames[r.rank]}] += int(r.n)
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
