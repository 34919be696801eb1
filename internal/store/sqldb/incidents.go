package sqldb

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-sec/vigil/internal/store"
)

// incidents implements store.IncidentStore; every query is scoped by tenant.
type incidents struct{ s *Store }

const incidentCols = `id, tenant_id, seq, ref, title, description, severity, tlp, pap, category, gb_class, phase,
	resolution, assignee, tags, techniques, asset_ids, report_sections, report_final, created_by, created_at, updated_at,
	acknowledged_at, contained_at, closed_at, ack_due, contain_due, close_due, version`

func scanIncident(r rowScanner) (store.Incident, error) {
	var c store.Incident
	err := r.Scan(&c.ID, &c.TenantID, &c.Seq, &c.Ref, &c.Title, &c.Description, &c.Severity, &c.TLP, &c.PAP, &c.Category,
		&c.GBClass, &c.Phase, &c.Resolution, &c.Assignee, jsonDest{&c.Tags}, jsonDest{&c.Techniques}, jsonDest{&c.AssetIDs},
		jsonDest{&c.ReportSections}, &c.ReportFinal, &c.CreatedBy, timeDest{&c.CreatedAt}, timeDest{&c.UpdatedAt},
		timeDest{&c.AcknowledgedAt}, timeDest{&c.ContainedAt}, timeDest{&c.ClosedAt}, timeDest{&c.AckDue},
		timeDest{&c.ContainDue}, timeDest{&c.CloseDue}, &c.Version)
	return c, err
}

// incidentJSON encodes the JSON columns of a case.
func incidentJSON(c *store.Incident) (tags, techniques, assets, sections string, err error) {
	if tags, err = tagsArg(c.Tags); err != nil {
		return
	}
	if techniques, err = tagsArg(c.Techniques); err != nil {
		return
	}
	if assets, err = tagsArg(c.AssetIDs); err != nil {
		return
	}
	sections, err = attrsArg(c.ReportSections)
	return
}

// maxSeqRetries bounds the retries of Create when two writers took the
// same case number (PostgreSQL; SQLite serialises writers).
const maxSeqRetries = 5

// Create stores a new case with the tenant's next number.
func (x incidents) Create(ctx context.Context, c *store.Incident) error {
	s := x.s
	if err := ensureID(&c.ID); err != nil {
		return err
	}
	tags, techniques, assets, sections, err := incidentJSON(c)
	if err != nil {
		return err
	}
	now := s.stamp()
	for attempt := 0; ; attempt++ {
		err = s.inTx(ctx, func(cn conn) error {
			var seq int
			if err := cn.queryRow(ctx, `SELECT COALESCE(MAX(seq), 0) + 1 FROM incidents WHERE tenant_id = ?`, c.TenantID).Scan(&seq); err != nil {
				return err
			}
			ref := fmt.Sprintf("IR-%d-%04d", now.Year(), seq)
			_, err := cn.exec(ctx, `INSERT INTO incidents (`+incidentCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?,
				?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1)`,
				c.ID, c.TenantID, seq, ref, c.Title, c.Description, c.Severity, c.TLP, c.PAP, c.Category, c.GBClass, c.Phase,
				c.Resolution, c.Assignee, tags, techniques, assets, sections, c.ReportFinal, c.CreatedBy, s.t(now), s.t(now),
				s.t(c.AcknowledgedAt), s.t(c.ContainedAt), s.t(c.ClosedAt), s.t(c.AckDue), s.t(c.ContainDue), s.t(c.CloseDue))
			if err != nil {
				return err
			}
			c.Seq, c.Ref = seq, ref
			return setTags(ctx, cn, c)
		})
		if err == nil || attempt == maxSeqRetries || s.d.IsUniqueViolation == nil || !s.d.IsUniqueViolation(err) {
			break
		}
		var n int // a taken ID is a real conflict, not a lost race for the number
		if qerr := s.conn().queryRow(ctx, `SELECT COUNT(*) FROM incidents WHERE id = ?`, c.ID).Scan(&n); qerr != nil || n > 0 {
			break
		}
	}
	if err != nil {
		return s.wrap("create incident", err)
	}
	c.CreatedAt, c.UpdatedAt, c.Version = now, now, 1
	c.AcknowledgedAt, c.ContainedAt, c.ClosedAt = norm(c.AcknowledgedAt), norm(c.ContainedAt), norm(c.ClosedAt)
	c.AckDue, c.ContainDue, c.CloseDue = norm(c.AckDue), norm(c.ContainDue), norm(c.CloseDue)
	return nil
}

// Get returns one case.
func (x incidents) Get(ctx context.Context, tenantID, id string) (store.Incident, error) {
	c, err := scanIncident(x.s.conn().queryRow(ctx, `SELECT `+incidentCols+` FROM incidents WHERE tenant_id = ? AND id = ?`, tenantID, id))
	return c, x.s.wrap("get incident", err)
}

// GetByRef returns the case with a reference.
func (x incidents) GetByRef(ctx context.Context, tenantID, ref string) (store.Incident, error) {
	c, err := scanIncident(x.s.conn().queryRow(ctx, `SELECT `+incidentCols+` FROM incidents WHERE tenant_id = ? AND ref = ?`,
		tenantID, strings.ToUpper(strings.TrimSpace(ref))))
	return c, x.s.wrap("get incident by reference", err)
}

// where builds the conditions of f. count is true for Count, which on
// SQLite always reads indexed text by the trigram index (countText).
func (x incidents) where(ctx context.Context, tenantID string, f store.IncidentFilter, count bool) (*where, error) {
	s := x.s
	w := &where{}
	q := strings.TrimSpace(f.Query)
	isRef := refRE.MatchString(strings.ToUpper(q))
	indexed := useTrigrams(q) && !isRef
	if indexed && s.d.Name == "sqlite" && !count {
		common, err := x.commonText(ctx, q)
		if err != nil {
			return nil, err
		}
		indexed = !common
	}
	if s.d.Name == "sqlite" && (indexed || count && f.Tag != "") {
		// The unary + keeps SQLite from reading all the tenant's cases by
		// a tenant index to test each against the text search's matches:
		// the matches, looked up by ID, drive the query. So too for the
		// count of a tag, whose cases the tag index lists (at 100,000
		// cases, a tag on 2,000 of them took 90 ms of CPU to count by
		// the tenant's cases and 20 ms by its own). A page of a tag is
		// still read in the list's order, which finds 50 at once.
		w.add("+i.tenant_id = ?", tenantID)
	} else {
		w.add("i.tenant_id = ?", tenantID)
	}
	w.in("i.phase", f.Phases)
	if f.Severity != "" {
		w.add("i.severity = ?", f.Severity)
	}
	if f.Assignee != "" {
		w.add("i.assignee = ?", f.Assignee)
	}
	if f.Category != "" {
		w.add("i.category = ?", f.Category)
	}
	switch {
	case f.Tag != "" && count && s.d.Name == "postgres":
		// The tag's cases as an array computed once, so that "id = ANY"
		// is a primary key lookup of each: as an IN, PostgreSQL counted
		// by hashing the tag's cases and reading every case of the
		// tenant (65 ms of server CPU for a tag on 2,000 of 100,000
		// cases, 19 ms this way). A page keeps the IN, which the list's
		// order walks.
		w.add(`i.id = ANY (ARRAY(SELECT t.case_id FROM incident_tags t WHERE t.tenant_id = ? AND t.tag = ?))`, tenantID, f.Tag)
	case f.Tag != "":
		w.add(`i.id IN (SELECT t.case_id FROM incident_tags t WHERE t.tenant_id = ? AND t.tag = ?)`, tenantID, f.Tag)
	}
	switch {
	case isRef:
		w.add(`i.ref = ?`, strings.ToUpper(q))
	case indexed && count && s.d.Name == "sqlite":
		x.countText(w, tenantID, q)
	case q != "":
		x.whereText(w, tenantID, q, indexed)
	}
	if f.Breached {
		now := s.t(f.Now)
		w.add(`i.closed_at IS NULL AND ((i.acknowledged_at IS NULL AND i.ack_due < ?)
			OR (i.contained_at IS NULL AND i.contain_due < ?) OR i.close_due < ?)`, now, now, now)
	}
	return w, nil
}

// whereText adds the text search of the case list: a case whose title
// has q as a substring, case-insensitively as lower(title) LIKE compares,
// or that has an observable whose value is q exactly.
//
// When indexed, the title match reads the trigram index of migration
// 00021: on SQLite the FTS5 table yields candidate rows and the LIKE
// rechecks them, since the index folds more than ASCII case; on
// PostgreSQL the GIN index on lower(title) serves the LIKE itself. Each
// half of the match uses its own index (an OR with an IN subquery would
// read every case of the tenant): on SQLite they are a UNION of case IDs,
// on PostgreSQL an OR of two index conditions. Otherwise (text shorter than a trigram, or on SQLite text common enough
// that reading the tenant's cases in order is cheaper) it is a scan.
func (x incidents) whereText(w *where, tenantID, q string, indexed bool) {
	pattern := containsPattern(q)
	if !indexed {
		w.add(`(lower(i.title) LIKE ? ESCAPE '!' OR i.id IN (SELECT o.case_id FROM incident_observables o
			WHERE o.tenant_id = ? AND o.value = ?))`, pattern, tenantID, q)
		return
	}
	if x.s.d.Name == "sqlite" {
		// No tenant condition on t: SQLite would read the tenant's cases
		// by a tenant index to test each against the candidates, instead
		// of looking the candidates up by rowid. The outer query keeps
		// the tenant's.
		w.add(`i.id IN (SELECT t.id FROM incidents t WHERE t.rowid IN (SELECT rowid FROM incidents_fts WHERE incidents_fts MATCH ?)
			AND lower(t.title) LIKE ? ESCAPE '!'
			UNION ALL SELECT o.case_id FROM incident_observables o WHERE o.tenant_id = ? AND o.value = ?)`,
			ftsPhrase(q), pattern, tenantID, q)
		return
	}
	// PostgreSQL: the observables' case IDs are an array computed once,
	// so "id = ANY" is an index condition and the OR a BitmapOr of the
	// trigram and primary key indexes; for a common word the planner
	// reads the cases in the list's order instead, as it should. (An IN
	// over a UNION is planned with a guess of 200 rows and looks every
	// match up by ID: a second for a word in a quarter of 100,000 cases.)
	w.add(`(lower(i.title) LIKE ? ESCAPE '!' OR i.id = ANY (ARRAY(SELECT o.case_id FROM incident_observables o
		WHERE o.tenant_id = ? AND o.value = ?)))`, pattern, tenantID, q)
}

// countText adds the text search of a count on SQLite: the title half
// by the trigram index's candidates, rechecked, or the observables'
// cases, an OR that SQLite answers with two index lookups (a MULTI-INDEX
// OR of rowids and case IDs), each row read once. A count has no order to
// keep, so unlike a page it gains nothing from reading common text in the
// list's order: at 100,000 cases, counting Chinese text in a tenth of the
// titles by a scan tested every case of the tenant.
func (x incidents) countText(w *where, tenantID, q string) {
	w.add(`(i.rowid IN (SELECT rowid FROM incidents_fts WHERE incidents_fts MATCH ?) AND lower(i.title) LIKE ? ESCAPE '!'
		OR i.id IN (SELECT o.case_id FROM incident_observables o WHERE o.tenant_id = ? AND o.value = ?))`,
		ftsPhrase(q), containsPattern(q), tenantID, q)
}

// commonCaseText is how many candidates from SQLite's trigram index make
// a case search common: beyond it, looking every candidate up costs more
// than reading the tenant's cases in the list's order, where a page of a
// common word fills at once and a count reads a covering index (at 100,000
// cases a word in a quarter of the titles took 319 ms of CPU a list and
// count through the index, against some 70 ms of a scan).
const commonCaseText = 5000

// commonText reports whether SQLite's trigram index holds at least
// commonCaseText candidates for a case search of q; it stops counting
// there.
func (x incidents) commonText(ctx context.Context, q string) (bool, error) {
	var n int
	err := x.s.conn().queryRow(ctx, `SELECT COUNT(*) FROM (SELECT 1 FROM incidents_fts WHERE incidents_fts MATCH ? LIMIT ?) c`,
		ftsPhrase(q), commonCaseText).Scan(&n)
	return n >= commonCaseText, err
}

// List returns a page of cases, most recently updated first.
func (x incidents) List(ctx context.Context, tenantID string, f store.IncidentFilter) ([]store.Incident, error) {
	limit, offset := PageBounds(f.Page)
	if x.caseWalks(f.Query) {
		cs, ok, err := x.listWalk(ctx, tenantID, f, limit, offset)
		if err != nil || ok {
			return cs, x.s.wrap("list incidents", err)
		}
	}
	q, args, err := x.listQuery(ctx, tenantID, f, limit, offset)
	if err != nil {
		return nil, x.s.wrap("list incidents", err)
	}
	cs, err := collect(ctx, x.s.conn(), scanIncident, q, args...)
	return cs, x.s.wrap("list incidents", err)
}

// listQuery is the query of a page of f (when it is not walked) and its
// arguments.
func (x incidents) listQuery(ctx context.Context, tenantID string, f store.IncidentFilter, limit, offset int) (string, []any, error) {
	w, err := x.where(ctx, tenantID, f, false)
	if err != nil {
		return "", nil, err
	}
	order := ` ORDER BY i.updated_at DESC, i.id DESC`
	if q := strings.TrimSpace(f.Query); x.s.d.Name == "postgres" && useTrigrams(q) && !refRE.MatchString(strings.ToUpper(q)) {
		// The same order, but not one an index gives. The driver's
		// prepared statements get a generic plan after a few runs, which
		// guesses a LIKE's matches and would walk the list's index
		// testing every case (a scan, for rare text); this way the
		// matches are read by the trigram index and sorted.
		order = ` ORDER BY i.updated_at + interval '0' DESC, i.id DESC`
	}
	return `SELECT ` + prefixCols("i.", incidentCols) + ` FROM incidents i` + w.String() + order + ` LIMIT ? OFFSET ?`,
		append(w.args, limit, offset), nil
}

// Count counts matching cases.
func (x incidents) Count(ctx context.Context, tenantID string, f store.IncidentFilter) (int, error) {
	q, args, err := x.countQuery(ctx, tenantID, f)
	if err != nil {
		return 0, x.s.wrap("count incidents", err)
	}
	var n int
	err = x.s.conn().queryRow(ctx, q, args...).Scan(&n)
	return n, x.s.wrap("count incidents", err)
}

// countQuery is the query of Count and its arguments.
func (x incidents) countQuery(ctx context.Context, tenantID string, f store.IncidentFilter) (string, []any, error) {
	w, err := x.where(ctx, tenantID, f, true)
	if err != nil {
		return "", nil, err
	}
	if f.CountCap > 0 {
		// The cap is written into the query, an integer: as a parameter,
		// PostgreSQL's generic plan for the driver's prepared statement
		// guesses it small and scans the tenant's cases for a first few
		// matches, where the text index would read them all at once.
		return `SELECT COUNT(*) FROM (SELECT 1 FROM incidents i` + w.String() + ` LIMIT ` + strconv.Itoa(f.CountCap) + `) capped`, w.args, nil
	}
	return `SELECT COUNT(*) FROM incidents i` + w.String(), w.args, nil
}

// refRE matches a case reference; a query that is one finds that case only.
var refRE = regexp.MustCompile(`^IR-[0-9]{4}-[0-9]{4,}$`)

// setTags rewrites the tag rows of a case.
func setTags(ctx context.Context, c conn, inc *store.Incident) error {
	if _, err := c.exec(ctx, `DELETE FROM incident_tags WHERE case_id = ?`, inc.ID); err != nil {
		return err
	}
	seen := map[string]bool{}
	for _, t := range inc.Tags {
		if seen[t] {
			continue
		}
		seen[t] = true
		if _, err := c.exec(ctx, `INSERT INTO incident_tags (tenant_id, case_id, tag) VALUES (?, ?, ?)`, inc.TenantID, inc.ID, t); err != nil {
			return err
		}
	}
	return nil
}

// prefixCols qualifies every column of a list with a table alias.
func prefixCols(prefix, cols string) string {
	parts := strings.Split(cols, ",")
	for i, p := range parts {
		parts[i] = prefix + strings.TrimSpace(p)
	}
	return strings.Join(parts, ", ")
}

// Update writes a case if it was not changed since it was read.
func (x incidents) Update(ctx context.Context, c *store.Incident, entries []store.IncidentEntry) error {
	s := x.s
	tags, techniques, assets, sections, err := incidentJSON(c)
	if err != nil {
		return err
	}
	now := s.stamp()
	err = s.inTx(ctx, func(cn conn) error {
		res, err := cn.exec(ctx, `UPDATE incidents SET title = ?, description = ?, severity = ?, tlp = ?, pap = ?, category = ?,
			gb_class = ?, phase = ?, resolution = ?, assignee = ?, tags = ?, techniques = ?, asset_ids = ?, report_sections = ?,
			report_final = ?, updated_at = ?, acknowledged_at = ?, contained_at = ?, closed_at = ?, ack_due = ?, contain_due = ?,
			close_due = ?, version = version + 1 WHERE tenant_id = ? AND id = ? AND version = ?`,
			c.Title, c.Description, c.Severity, c.TLP, c.PAP, c.Category, c.GBClass, c.Phase, c.Resolution, c.Assignee, tags,
			techniques, assets, sections, c.ReportFinal, s.t(now), s.t(c.AcknowledgedAt), s.t(c.ContainedAt), s.t(c.ClosedAt),
			s.t(c.AckDue), s.t(c.ContainDue), s.t(c.CloseDue), c.TenantID, c.ID, c.Version)
		if err := affected(res, err); err != nil {
			if !errors.Is(err, store.ErrNotFound) {
				return err
			}
			var n int
			if err := cn.queryRow(ctx, `SELECT COUNT(*) FROM incidents WHERE tenant_id = ? AND id = ?`, c.TenantID, c.ID).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				return fmt.Errorf("%w: the case was changed by someone else", store.ErrConflict)
			}
			return store.ErrNotFound
		}
		if err := setTags(ctx, cn, c); err != nil {
			return err
		}
		for i := range entries {
			e := &entries[i]
			e.TenantID, e.CaseID = c.TenantID, c.ID
			if err := x.addEntry(ctx, cn, e, now); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return s.wrap("update incident", err)
	}
	c.UpdatedAt = now
	c.Version++
	c.AcknowledgedAt, c.ContainedAt, c.ClosedAt = norm(c.AcknowledgedAt), norm(c.ContainedAt), norm(c.ClosedAt)
	c.AckDue, c.ContainDue, c.CloseDue = norm(c.AckDue), norm(c.ContainDue), norm(c.CloseDue)
	return nil
}

// caseExists checks a case is the tenant's.
func caseExists(ctx context.Context, c conn, tenantID, caseID string) error {
	var n int
	if err := c.queryRow(ctx, `SELECT COUNT(*) FROM incidents WHERE tenant_id = ? AND id = ?`, tenantID, caseID).Scan(&n); err != nil {
		return err
	}
	if n == 0 {
		return store.ErrNotFound
	}
	return nil
}

// LinkAlerts links alerts to a case, all or none.
func (x incidents) LinkAlerts(ctx context.Context, tenantID, caseID string, alertIDs []string, by string, at time.Time) error {
	s := x.s
	at = norm(at)
	if at.IsZero() {
		at = s.stamp()
	}
	err := s.inTx(ctx, func(c conn) error {
		if err := caseExists(ctx, c, tenantID, caseID); err != nil {
			return err
		}
		for _, id := range alertIDs {
			if _, err := c.exec(ctx, `INSERT INTO incident_alerts (tenant_id, case_id, alert_id, added_by, added_at) VALUES (?, ?, ?, ?, ?)`,
				tenantID, caseID, id, by, s.t(at)); err != nil {
				return err
			}
		}
		return nil
	})
	return s.wrap("link alerts", err)
}

// CaseAlerts returns the alerts linked to a case.
func (x incidents) CaseAlerts(ctx context.Context, tenantID, caseID string) ([]store.IncidentAlert, error) {
	as, err := collect(ctx, x.s.conn(), func(r rowScanner) (store.IncidentAlert, error) {
		var a store.IncidentAlert
		return a, r.Scan(&a.TenantID, &a.CaseID, &a.AlertID, &a.AddedBy, timeDest{&a.AddedAt})
	}, `SELECT tenant_id, case_id, alert_id, added_by, added_at FROM incident_alerts WHERE tenant_id = ? AND case_id = ?
		ORDER BY added_at, alert_id`, tenantID, caseID)
	return as, x.s.wrap("list case alerts", err)
}

// CaseOfAlert returns the case an alert is linked to.
func (x incidents) CaseOfAlert(ctx context.Context, tenantID, alertID string) (string, error) {
	var id string
	err := x.s.conn().queryRow(ctx, `SELECT case_id FROM incident_alerts WHERE tenant_id = ? AND alert_id = ?`, tenantID, alertID).Scan(&id)
	if isNoRows(err) {
		return "", nil
	}
	return id, x.s.wrap("case of alert", err)
}

func (x incidents) addEntry(ctx context.Context, c conn, e *store.IncidentEntry, now time.Time) error {
	if err := ensureID(&e.ID); err != nil {
		return err
	}
	e.At, e.CreatedAt = norm(e.At), now
	if e.At.IsZero() {
		e.At = now
	}
	_, err := c.exec(ctx, `INSERT INTO incident_entries (id, tenant_id, case_id, at, kind, actor, body, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		e.ID, e.TenantID, e.CaseID, x.s.t(e.At), e.Kind, e.Actor, e.Text, x.s.t(now))
	return err
}

// AddEntry stores a timeline entry of a case.
func (x incidents) AddEntry(ctx context.Context, e *store.IncidentEntry) error {
	s := x.s
	err := s.inTx(ctx, func(c conn) error {
		if err := caseExists(ctx, c, e.TenantID, e.CaseID); err != nil {
			return err
		}
		return x.addEntry(ctx, c, e, s.stamp())
	})
	return s.wrap("add incident entry", err)
}

// Entries returns a case's stored timeline entries.
func (x incidents) Entries(ctx context.Context, tenantID, caseID string) ([]store.IncidentEntry, error) {
	es, err := collect(ctx, x.s.conn(), func(r rowScanner) (store.IncidentEntry, error) {
		var e store.IncidentEntry
		return e, r.Scan(&e.ID, &e.TenantID, &e.CaseID, timeDest{&e.At}, &e.Kind, &e.Actor, &e.Text, timeDest{&e.CreatedAt})
	}, `SELECT id, tenant_id, case_id, at, kind, actor, body, created_at FROM incident_entries WHERE tenant_id = ? AND case_id = ?
		ORDER BY at, created_at, id`, tenantID, caseID)
	return es, x.s.wrap("list incident entries", err)
}

const taskCols = `id, tenant_id, case_id, title, description, phase, owner, status, due_at, checklist, source, created_at, updated_at, done_at`

func scanTask(r rowScanner) (store.IncidentTask, error) {
	var t store.IncidentTask
	err := r.Scan(&t.ID, &t.TenantID, &t.CaseID, &t.Title, &t.Description, &t.Phase, &t.Owner, &t.Status, timeDest{&t.DueAt},
		jsonDest{&t.Checklist}, &t.Source, timeDest{&t.CreatedAt}, timeDest{&t.UpdatedAt}, timeDest{&t.DoneAt})
	if len(t.Checklist) == 0 {
		t.Checklist = nil
	}
	return t, err
}

func checklistArg(items []store.ChecklistItem) (string, error) {
	if items == nil {
		items = []store.ChecklistItem{}
	}
	return jsonArg(items)
}

// CreateTasks stores new tasks; they must all belong to existing cases of
// their tenants.
func (x incidents) CreateTasks(ctx context.Context, tasks []store.IncidentTask) error {
	s := x.s
	now := s.stamp()
	err := s.inTx(ctx, func(c conn) error {
		checked := map[[2]string]bool{}
		for i := range tasks {
			t := &tasks[i]
			key := [2]string{t.TenantID, t.CaseID}
			if !checked[key] {
				if err := caseExists(ctx, c, t.TenantID, t.CaseID); err != nil {
					return err
				}
				checked[key] = true
			}
			if err := ensureID(&t.ID); err != nil {
				return err
			}
			list, err := checklistArg(t.Checklist)
			if err != nil {
				return err
			}
			// Tasks of one call keep their order: each a microsecond after
			// the one before.
			created := now.Add(time.Duration(i) * time.Microsecond)
			if _, err := c.exec(ctx, `INSERT INTO incident_tasks (`+taskCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
				t.ID, t.TenantID, t.CaseID, t.Title, t.Description, t.Phase, t.Owner, t.Status, s.t(t.DueAt), list, t.Source,
				s.t(created), s.t(created), s.t(t.DoneAt)); err != nil {
				return err
			}
			t.CreatedAt, t.UpdatedAt, t.DueAt, t.DoneAt = created, created, norm(t.DueAt), norm(t.DoneAt)
		}
		return nil
	})
	return s.wrap("create incident tasks", err)
}

// GetTask returns one task.
func (x incidents) GetTask(ctx context.Context, tenantID, id string) (store.IncidentTask, error) {
	t, err := scanTask(x.s.conn().queryRow(ctx, `SELECT `+taskCols+` FROM incident_tasks WHERE tenant_id = ? AND id = ?`, tenantID, id))
	return t, x.s.wrap("get incident task", err)
}

// UpdateTask writes a task's editable fields.
func (x incidents) UpdateTask(ctx context.Context, t *store.IncidentTask) error {
	s := x.s
	list, err := checklistArg(t.Checklist)
	if err != nil {
		return err
	}
	now := s.stamp()
	err = affected(s.conn().exec(ctx, `UPDATE incident_tasks SET title = ?, description = ?, phase = ?, owner = ?, status = ?,
		due_at = ?, checklist = ?, updated_at = ?, done_at = ? WHERE tenant_id = ? AND id = ?`,
		t.Title, t.Description, t.Phase, t.Owner, t.Status, s.t(t.DueAt), list, s.t(now), s.t(t.DoneAt), t.TenantID, t.ID))
	if err != nil {
		return s.wrap("update incident task", err)
	}
	t.UpdatedAt, t.DueAt, t.DoneAt = now, norm(t.DueAt), norm(t.DoneAt)
	return nil
}

// Tasks returns a case's tasks.
func (x incidents) Tasks(ctx context.Context, tenantID, caseID string) ([]store.IncidentTask, error) {
	ts, err := collect(ctx, x.s.conn(), scanTask, `SELECT `+taskCols+` FROM incident_tasks WHERE tenant_id = ? AND case_id = ?
		ORDER BY created_at, id`, tenantID, caseID)
	return ts, x.s.wrap("list incident tasks", err)
}

// AddTaskLog appends to a task's log.
func (x incidents) AddTaskLog(ctx context.Context, l *store.IncidentTaskLog) error {
	s := x.s
	if err := ensureID(&l.ID); err != nil {
		return err
	}
	l.At = norm(l.At)
	if l.At.IsZero() {
		l.At = s.stamp()
	}
	err := s.inTx(ctx, func(c conn) error {
		if err := c.queryRow(ctx, `SELECT case_id FROM incident_tasks WHERE tenant_id = ? AND id = ?`, l.TenantID, l.TaskID).Scan(&l.CaseID); err != nil {
			return err
		}
		_, err := c.exec(ctx, `INSERT INTO incident_task_logs (id, tenant_id, case_id, task_id, author, at, body) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			l.ID, l.TenantID, l.CaseID, l.TaskID, l.Author, s.t(l.At), l.Text)
		return err
	})
	return s.wrap("add task log", err)
}

// TaskLogs returns every task log entry of a case.
func (x incidents) TaskLogs(ctx context.Context, tenantID, caseID string) ([]store.IncidentTaskLog, error) {
	ls, err := collect(ctx, x.s.conn(), func(r rowScanner) (store.IncidentTaskLog, error) {
		var l store.IncidentTaskLog
		return l, r.Scan(&l.ID, &l.TenantID, &l.CaseID, &l.TaskID, &l.Author, timeDest{&l.At}, &l.Text)
	}, `SELECT id, tenant_id, case_id, task_id, author, at, body FROM incident_task_logs WHERE tenant_id = ? AND case_id = ?
		ORDER BY at, id`, tenantID, caseID)
	return ls, x.s.wrap("list task logs", err)
}

const observableCols = `id, tenant_id, case_id, type, value, ioc, tags, description, first_seen, last_seen, created_by, created_at`

func scanObservable(r rowScanner) (store.IncidentObservable, error) {
	var o store.IncidentObservable
	err := r.Scan(&o.ID, &o.TenantID, &o.CaseID, &o.Type, &o.Value, &o.IOC, jsonDest{&o.Tags}, &o.Description,
		timeDest{&o.FirstSeen}, timeDest{&o.LastSeen}, &o.CreatedBy, timeDest{&o.CreatedAt})
	return o, err
}

// minTime and maxTime widen a seen range, ignoring zero times.
func minTime(a, b time.Time) time.Time {
	if a.IsZero() || (!b.IsZero() && b.Before(a)) {
		return b
	}
	return a
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// AddObservables adds or merges observables of a case.
func (x incidents) AddObservables(ctx context.Context, tenantID, caseID string, obs []store.IncidentObservable) error {
	s := x.s
	now := s.stamp()
	err := s.inTx(ctx, func(c conn) error {
		if err := caseExists(ctx, c, tenantID, caseID); err != nil {
			return err
		}
		for i := range obs {
			o := &obs[i]
			o.TenantID, o.CaseID = tenantID, caseID
			o.FirstSeen, o.LastSeen = norm(o.FirstSeen), norm(o.LastSeen)
			cur, err := scanObservable(c.queryRow(ctx, `SELECT `+observableCols+` FROM incident_observables
				WHERE case_id = ? AND type = ? AND value = ?`, caseID, o.Type, o.Value))
			switch {
			case err == nil:
				cur.IOC = cur.IOC || o.IOC
				for _, t := range o.Tags {
					if !slices.Contains(cur.Tags, t) {
						cur.Tags = append(cur.Tags, t)
					}
				}
				if cur.Description == "" {
					cur.Description = o.Description
				}
				cur.FirstSeen, cur.LastSeen = minTime(cur.FirstSeen, o.FirstSeen), maxTime(cur.LastSeen, o.LastSeen)
				if err := x.writeObservable(ctx, c, &cur); err != nil {
					return err
				}
				*o = cur
			case isNoRows(err):
				if err := ensureID(&o.ID); err != nil {
					return err
				}
				tags, err := tagsArg(o.Tags)
				if err != nil {
					return err
				}
				o.CreatedAt = now
				if _, err := c.exec(ctx, `INSERT INTO incident_observables (`+observableCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
					o.ID, tenantID, caseID, o.Type, o.Value, o.IOC, tags, o.Description, s.t(o.FirstSeen), s.t(o.LastSeen),
					o.CreatedBy, s.t(now)); err != nil {
					return err
				}
			default:
				return err
			}
		}
		return nil
	})
	return s.wrap("add observables", err)
}

func (x incidents) writeObservable(ctx context.Context, c conn, o *store.IncidentObservable) error {
	s := x.s
	tags, err := tagsArg(o.Tags)
	if err != nil {
		return err
	}
	o.FirstSeen, o.LastSeen = norm(o.FirstSeen), norm(o.LastSeen)
	return affected(c.exec(ctx, `UPDATE incident_observables SET ioc = ?, tags = ?, description = ?, first_seen = ?, last_seen = ?
		WHERE tenant_id = ? AND id = ?`, o.IOC, tags, o.Description, s.t(o.FirstSeen), s.t(o.LastSeen), o.TenantID, o.ID))
}

// UpdateObservable writes an observable's IOC flag, tags, description and
// seen range.
func (x incidents) UpdateObservable(ctx context.Context, o *store.IncidentObservable) error {
	return x.s.wrap("update observable", x.writeObservable(ctx, x.s.conn(), o))
}

// Observables returns a case's observables.
func (x incidents) Observables(ctx context.Context, tenantID, caseID string) ([]store.IncidentObservable, error) {
	list, err := collect(ctx, x.s.conn(), scanObservable, `SELECT `+observableCols+` FROM incident_observables
		WHERE tenant_id = ? AND case_id = ? ORDER BY type, value`, tenantID, caseID)
	return list, x.s.wrap("list observables", err)
}

// Sightings returns the same observable on the tenant's other cases.
func (x incidents) Sightings(ctx context.Context, tenantID, caseID, typ, value string, limit int) ([]store.IncidentObservable, error) {
	limit, _ = PageBounds(store.Page{Limit: limit})
	list, err := collect(ctx, x.s.conn(), scanObservable, `SELECT `+observableCols+` FROM incident_observables
		WHERE tenant_id = ? AND value = ? AND type = ? AND case_id <> ? ORDER BY created_at DESC, id DESC LIMIT ?`,
		tenantID, value, typ, caseID, limit)
	return list, x.s.wrap("list sightings", err)
}

const evidenceCols = `id, tenant_id, case_id, sha256, name, size, sniffed_type, declared_type, description, created_by, created_at`

func scanEvidence(r rowScanner) (store.IncidentEvidence, error) {
	var e store.IncidentEvidence
	err := r.Scan(&e.ID, &e.TenantID, &e.CaseID, &e.SHA256, &e.Name, &e.Size, &e.SniffedType, &e.DeclaredType, &e.Description,
		&e.CreatedBy, timeDest{&e.CreatedAt})
	return e, err
}

// AddEvidence stores an evidence file, its content once per hash, and the
// first custody link.
func (x incidents) AddEvidence(ctx context.Context, e *store.IncidentEvidence, content []byte, custody store.IncidentCustody) error {
	s := x.s
	if err := ensureID(&e.ID); err != nil {
		return err
	}
	now := s.stamp()
	err := s.inTx(ctx, func(c conn) error {
		if err := caseExists(ctx, c, e.TenantID, e.CaseID); err != nil {
			return err
		}
		var n int
		if err := c.queryRow(ctx, `SELECT COUNT(*) FROM incident_blobs WHERE tenant_id = ? AND sha256 = ?`, e.TenantID, e.SHA256).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			if _, err := c.exec(ctx, `INSERT INTO incident_blobs (tenant_id, sha256, size, content, created_at) VALUES (?, ?, ?, ?, ?)`,
				e.TenantID, e.SHA256, len(content), nonNil(content), s.t(now)); err != nil {
				return err
			}
		}
		if _, err := c.exec(ctx, `INSERT INTO incident_evidence (`+evidenceCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			e.ID, e.TenantID, e.CaseID, e.SHA256, e.Name, e.Size, e.SniffedType, e.DeclaredType, e.Description, e.CreatedBy,
			s.t(now)); err != nil {
			return err
		}
		custody.TenantID, custody.EvidenceID = e.TenantID, e.ID
		return x.addCustody(ctx, c, &custody)
	})
	if err != nil {
		return s.wrap("add evidence", err)
	}
	e.CreatedAt = now
	return nil
}

// GetEvidence returns one evidence file's record.
func (x incidents) GetEvidence(ctx context.Context, tenantID, id string) (store.IncidentEvidence, error) {
	e, err := scanEvidence(x.s.conn().queryRow(ctx, `SELECT `+evidenceCols+` FROM incident_evidence WHERE tenant_id = ? AND id = ?`, tenantID, id))
	return e, x.s.wrap("get evidence", err)
}

// EvidenceContent returns the stored bytes of an evidence file.
func (x incidents) EvidenceContent(ctx context.Context, tenantID, id string) ([]byte, error) {
	var b []byte
	err := x.s.conn().queryRow(ctx, `SELECT b.content FROM incident_evidence e JOIN incident_blobs b
		ON b.tenant_id = e.tenant_id AND b.sha256 = e.sha256 WHERE e.tenant_id = ? AND e.id = ?`, tenantID, id).Scan(&b)
	return b, x.s.wrap("read evidence", err)
}

// Evidence returns a case's evidence files.
func (x incidents) Evidence(ctx context.Context, tenantID, caseID string) ([]store.IncidentEvidence, error) {
	es, err := collect(ctx, x.s.conn(), scanEvidence, `SELECT `+evidenceCols+` FROM incident_evidence WHERE tenant_id = ? AND case_id = ?
		ORDER BY created_at, id`, tenantID, caseID)
	return es, x.s.wrap("list evidence", err)
}

func (x incidents) addCustody(ctx context.Context, c conn, k *store.IncidentCustody) error {
	if err := ensureID(&k.ID); err != nil {
		return err
	}
	k.At = norm(k.At)
	if k.At.IsZero() {
		k.At = x.s.stamp()
	}
	_, err := c.exec(ctx, `INSERT INTO incident_custody (id, tenant_id, evidence_id, at, actor, action, detail) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		k.ID, k.TenantID, k.EvidenceID, x.s.t(k.At), k.Actor, k.Action, k.Detail)
	return err
}

// AddCustody appends a custody link of an evidence file of the tenant.
func (x incidents) AddCustody(ctx context.Context, k *store.IncidentCustody) error {
	s := x.s
	err := s.inTx(ctx, func(c conn) error {
		var n int
		if err := c.queryRow(ctx, `SELECT COUNT(*) FROM incident_evidence WHERE tenant_id = ? AND id = ?`, k.TenantID, k.EvidenceID).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return store.ErrNotFound
		}
		return x.addCustody(ctx, c, k)
	})
	return s.wrap("add custody", err)
}

// Custody returns an evidence file's chain of custody.
func (x incidents) Custody(ctx context.Context, tenantID, evidenceID string) ([]store.IncidentCustody, error) {
	ks, err := collect(ctx, x.s.conn(), func(r rowScanner) (store.IncidentCustody, error) {
		var k store.IncidentCustody
		return k, r.Scan(&k.ID, &k.TenantID, &k.EvidenceID, timeDest{&k.At}, &k.Actor, &k.Action, &k.Detail)
	}, `SELECT id, tenant_id, evidence_id, at, actor, action, detail FROM incident_custody WHERE tenant_id = ? AND evidence_id = ?
		ORDER BY at, id`, tenantID, evidenceID)
	return ks, x.s.wrap("list custody", err)
}
