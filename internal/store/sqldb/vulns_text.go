package sqldb

import (
	"context"

	"github.com/vigil-sec/vigil/internal/store"
)

// Text that many findings have ("injection", a product name) is slow to
// list from the trigram index on SQLite: every match is read and sorted
// for one page. Such text is first looked for in the list's own order:
// the first walkRows findings of the filter, in order, are tested; when
// they hold the whole page, it is the page. Otherwise (the matches gather
// further down the order) the index answers as for rarer text.
const (
	// commonTextRows is how many trigram-index matches (of any tenant)
	// make text common.
	commonTextRows = 5000
	// walkRows bounds the findings the walk tests.
	walkRows = 2000
)

// commonText reports whether f searches text common enough, on SQLite,
// to try the walk: counting the index's matches stops at commonTextRows.
// PostgreSQL's planner makes that choice itself from the pg_trgm
// statistics.
func (x vulns) commonText(ctx context.Context, f store.VulnFilter) (bool, error) {
	if !x.indexedText(f) || x.s.d.Name != "sqlite" {
		return false, nil
	}
	var n int
	err := x.s.conn().queryRow(ctx, `SELECT COUNT(*) FROM (SELECT rowid FROM vuln_findings_fts WHERE vuln_findings_fts MATCH ?
		LIMIT ?) AS common`, ftsPhrase(f.Query), commonTextRows).Scan(&n)
	return n >= commonTextRows, err
}

// listWalk lists a page of f by testing the first walkRows findings of
// f's other filters in the list's order. ok is false when they do not
// settle the page: fewer than offset+limit of them match and there are
// findings beyond them.
func (x vulns) listWalk(ctx context.Context, tenantID string, f store.VulnFilter, limit, offset int) ([]store.VulnFinding, bool, error) {
	if offset+limit > walkRows {
		return nil, false, nil
	}
	q := f.Query
	f.Query = ""
	w := x.filter(tenantID, f, false)
	text := &where{}
	x.filterText(text, q, false)
	const order = ` ORDER BY priority DESC, severity_rank DESC, id`
	args := append(append(append([]any{}, w.args...), walkRows), text.args...)
	vs, err := collect(ctx, x.s.conn(), scanVuln, `SELECT `+vulnCols+` FROM (SELECT * FROM vuln_findings`+w.String()+order+
		` LIMIT ?) AS walk`+text.String()+order+` LIMIT ?`, append(args, offset+limit)...)
	if err != nil {
		return nil, false, err
	}
	if len(vs) < offset+limit {
		// Too few matches: the page is settled only if the window
		// held every finding of the other filters.
		var n int
		if err := x.s.conn().queryRow(ctx, `SELECT COUNT(*) FROM (SELECT 1 FROM vuln_findings`+w.String()+` LIMIT ?) AS head`,
			append(w.args, walkRows+1)...).Scan(&n); err != nil {
			return nil, false, err
		}
		if n > walkRows {
			return nil, false, nil
		}
	}
	return vs[min(offset, len(vs)):], true, nil
}
