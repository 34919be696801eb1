package sqldb

import (
	"context"
	"strconv"
	"strings"

	"github.com/vigil-sec/vigil/internal/store"
)

// Text that many findings have ("injection", a product name) is slow to
// list from a trigram index: every match is read and sorted for one page.
// Overdue findings are the same on SQLite, whose planner reads them by the
// due-date index and sorts them. Such a list is first looked for in the
// list's own order: the first walkRows findings of the other filters, in
// order, are tested; when they hold the whole page, it is the page.
// Otherwise (the matches gather further down the order, or there are few)
// the indexes answer as before.
//
// On SQLite the walk is tried for text when the FTS5 index holds at least
// commonTextRows matches (commonText), on PostgreSQL for any indexed text
// (its planner reads every GIN match before a LIMIT can stop it), and on
// both for the overdue filter.
const (
	// commonTextRows is how many trigram-index matches (of any tenant)
	// make text common on SQLite.
	commonTextRows = 5000
	// walkRows bounds the findings the walk tests.
	walkRows = 2000
	// pgTextWalkRows bounds them for text on PostgreSQL, where the walk
	// is tried for rare text too: text in a tenth of the findings fills
	// a page of 50 from 500, and rare text costs 500 rows, not 2,000,
	// before the index answers.
	pgTextWalkRows = 500
)

// pgTextExpr is the text a finding's search looks in on PostgreSQL: the
// searched columns, lowered as the scan compares them, joined by U+001F.
// Migration 00065 indexes exactly this expression with one pg_trgm GIN
// index, instead of one index a column (a quarter of the import's server
// CPU went to the four). Text without U+001F that is a substring of the
// joined text lies between two separators, so within one column: the
// expression alone answers such a search exactly. Text holding the
// separator is rechecked column by column.
const pgTextExpr = `((lower(title) || chr(31) || lower(asset_key) || chr(31) || lower(rule_id) || chr(31) || lower(cves::text)) COLLATE "C")`

// textSep is the separator of pgTextExpr.
const textSep = "\x1f"

// commonText reports whether f searches text common enough, on SQLite,
// to try the walk: counting the index's matches stops at commonTextRows.
func (x vulns) commonText(ctx context.Context, f store.VulnFilter) (bool, error) {
	if !x.indexedText(f) || x.s.d.Name != "sqlite" {
		return false, nil
	}
	var n int
	err := x.s.conn().queryRow(ctx, `SELECT COUNT(*) FROM (SELECT rowid FROM vuln_findings_fts WHERE vuln_findings_fts MATCH ?
		LIMIT ?) AS common`, ftsTrigrams(f.Query), commonTextRows).Scan(&n)
	return n >= commonTextRows, err
}

// commonTextPG reports whether f searches text common enough, on
// PostgreSQL, to count it by testing findings until the count's limit
// rather than by the trigram index: at least a quarter of the first
// pgTextWalkRows findings of f's other filters, in the list's order, have
// it.
// PostgreSQL plans a statement the driver has prepared five times for any
// text (a generic plan), and that plan reads the index, which for text
// most findings have reads every match before the limit can stop it (a
// second and more at a million findings); the count of a scan of the
// columns stops after about CountLimit rows.
func (x vulns) commonTextPG(ctx context.Context, tenantID string, f store.VulnFilter) (bool, error) {
	if !x.indexedText(f) || x.s.d.Name != "postgres" {
		return false, nil
	}
	q := f.Query
	f.Query = ""
	w := x.filter(tenantID, f, false)
	text := &where{}
	x.filterText(text, q, false)
	var n, in int
	err := x.s.conn().queryRow(ctx, `SELECT COUNT(*), COUNT(*) FILTER (WHERE `+strings.Join(text.conds, " AND ")+`)
		FROM (SELECT * FROM vuln_findings`+w.String()+` ORDER BY priority DESC, severity_rank DESC, id LIMIT `+strconv.Itoa(pgTextWalkRows)+`) AS walk`,
		append(text.args, w.args...)...).Scan(&n, &in)
	return n > 0 && in*4 >= n, err
}

// walks returns how many findings a list of f tests in the list's order
// before the index answers, 0 for none.
func (x vulns) walks(ctx context.Context, f store.VulnFilter) (int, error) {
	if f.Overdue && len(f.OpenStates) > 0 {
		return walkRows, nil
	}
	if x.s.d.Name == "postgres" {
		if x.indexedText(f) {
			return pgTextWalkRows, nil
		}
		return 0, nil
	}
	common, err := x.commonText(ctx, f)
	if common {
		return walkRows, err
	}
	return 0, err
}

// listWalk lists a page of f by testing the first rows findings of f's
// other filters in the list's order. ok is false when they do not settle
// the page: fewer than offset+limit of them match and there are findings
// beyond them.
func (x vulns) listWalk(ctx context.Context, tenantID string, f store.VulnFilter, rows, limit, offset int) ([]store.VulnFinding, bool, error) {
	if offset+limit > rows {
		return nil, false, nil
	}
	// The text and the overdue test are applied to the walked rows; the
	// other filters choose them.
	outer := x.filter(tenantID, store.VulnFilter{Overdue: f.Overdue, OpenStates: f.OpenStates, Now: f.Now, Query: f.Query}, false)
	outer.conds, outer.args = outer.conds[1:], outer.args[1:] // the tenant is the inner query's
	f.Query, f.Overdue = "", false
	w := x.filter(tenantID, f, false)
	const order = ` ORDER BY priority DESC, severity_rank DESC, id`
	// The limits are written into the statement: a plan PostgreSQL
	// makes for any limit (a generic plan, after the driver has run the
	// prepared statement five times) may sort every finding of the
	// tenant rather than read the first few by the list's index.
	args := append(append([]any{}, w.args...), outer.args...)
	vs, err := collect(ctx, x.s.conn(), scanVuln, `SELECT `+vulnCols+` FROM (SELECT * FROM vuln_findings`+w.String()+order+
		` LIMIT `+strconv.Itoa(rows)+`) AS walk`+outer.String()+order+` LIMIT `+strconv.Itoa(offset+limit), args...)
	if err != nil {
		return nil, false, err
	}
	if len(vs) < offset+limit {
		// Too few matches: the page is settled only if the window
		// held every finding of the other filters.
		var n int
		if err := x.s.conn().queryRow(ctx, `SELECT COUNT(*) FROM (SELECT 1 FROM vuln_findings`+w.String()+` LIMIT `+
			strconv.Itoa(rows+1)+`) AS head`, w.args...).Scan(&n); err != nil {
			return nil, false, err
		}
		if n > rows {
			return nil, false, nil
		}
	}
	return vs[min(offset, len(vs)):], true, nil
}

// textPredicate is the text search of the findings list on PostgreSQL
// (see pgTextExpr), for the pattern p of q.
func textPredicatePG(q, p string, like string) (string, []any) {
	if strings.Contains(q, textSep) {
		return pgTextExpr + ` LIKE ? ESCAPE '!' AND ` + like, []any{p, p, p, p, p}
	}
	return pgTextExpr + ` LIKE ? ESCAPE '!'`, []any{p}
}

// ftsTrigrams is an FTS5 query for the findings' trigram index (migration
// 00065: detail=none, which keeps no positions, so no phrase of several
// trigrams can be asked): q's lowered trigrams, every third one and the
// last, each a one-trigram string, all required. Every finding having q
// has them all; the LIKEs recheck the candidates, some of which have them
// in other places.
func ftsTrigrams(q string) string {
	r := []rune(strings.ToLower(q))
	var b strings.Builder
	add := func(i int) {
		if b.Len() > 0 {
			b.WriteString(" AND ")
		}
		b.WriteString(`"` + strings.ReplaceAll(string(r[i:i+3]), `"`, `""`) + `"`)
	}
	last := len(r) - 3
	for i := 0; i < last; i += 3 {
		add(i)
	}
	if last >= 0 {
		add(last)
	}
	return b.String()
}
