package sqldb

import (
	"context"
	"strings"

	"github.com/vigil-sec/vigil/internal/store"
)

// Case search for text many cases have ("lateral", a product name) is
// slow to list from PostgreSQL's trigram index: every match is read and
// sorted for one page (at 100,000 cases a word in a quarter of the titles
// took some 300 ms a page, against well under a millisecond to walk the
// list's index). So, as for findings (vulns_text.go), such a search first
// tests the newest caseWalkRows cases of the other filters in the list's
// order: when they hold the page, it is the page. Otherwise (the matches
// gather further down, or there are few) the index answers as before.
// SQLite makes the same choice from the count of its FTS5 candidates
// (commonText): common text is read in the list's order there already.
const caseWalkRows = 1000

// caseWalks reports whether a case search for q tries the walk first:
// indexed text (not a reference, at least a trigram) on PostgreSQL.
func (x incidents) caseWalks(q string) bool {
	q = strings.TrimSpace(q)
	return x.s.d.Name == "postgres" && useTrigrams(q) && !refRE.MatchString(strings.ToUpper(q))
}

// listWalk lists a page of f by testing the newest caseWalkRows cases of
// f's other filters. ok is false when they do not settle the page: fewer
// than offset+limit of them match and there are cases beyond them.
func (x incidents) listWalk(ctx context.Context, tenantID string, f store.IncidentFilter, limit, offset int) ([]store.Incident, bool, error) {
	if offset+limit > caseWalkRows {
		return nil, false, nil
	}
	q := strings.TrimSpace(f.Query)
	f.Query = ""
	w, err := x.where(ctx, tenantID, f, false)
	if err != nil {
		return nil, false, err
	}
	text := &where{}
	x.whereText(text, tenantID, q, false)
	const order = ` ORDER BY i.updated_at DESC, i.id DESC`
	args := append(append(append([]any{}, w.args...), caseWalkRows), text.args...)
	cs, err := collect(ctx, x.s.conn(), scanIncident, `SELECT `+prefixCols("i.", incidentCols)+` FROM (SELECT * FROM incidents i`+
		w.String()+order+` LIMIT ?) AS i`+text.String()+order+` LIMIT ?`, append(args, offset+limit)...)
	if err != nil {
		return nil, false, err
	}
	if len(cs) < offset+limit {
		// Too few matches: the page is settled only if the window held
		// every case of the other filters.
		var n int
		if err := x.s.conn().queryRow(ctx, `SELECT COUNT(*) FROM (SELECT 1 FROM incidents i`+w.String()+` LIMIT ?) AS head`,
			append(w.args, caseWalkRows+1)...).Scan(&n); err != nil {
			return nil, false, err
		}
		if n > caseWalkRows {
			return nil, false, nil
		}
	}
	return cs[min(offset, len(cs)):], true, nil
}
