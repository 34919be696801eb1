package sqldb

import (
	"context"

	"github.com/vigil-sec/vigil/internal/store"
)

// Statement is a query as the driver receives it, with its arguments.
type Statement struct {
	SQL  string
	Args []any
}

// IncidentQueries returns the statements the case list of st (a store of
// this package) runs for f: the page (as when it is not walked) and the
// count.
func IncidentQueries(ctx context.Context, st store.Store, tenantID string, f store.IncidentFilter) (page, count Statement, err error) {
	x := st.Incidents().(incidents)
	s := x.s
	limit, offset := PageBounds(f.Page)
	q, args, err := x.listQuery(ctx, tenantID, f, limit, offset)
	if err != nil {
		return page, count, err
	}
	page = Statement{s.d.rebind(q), args}
	q, args, err = x.countQuery(ctx, tenantID, f)
	if err != nil {
		return page, count, err
	}
	return page, Statement{s.d.rebind(q), args}, nil
}
