package sqldb

import (
	"context"
	"errors"
	"fmt"

	"github.com/vigil-sec/vigil/internal/store"
)

// workOrders implements store.WorkOrderStore.
type workOrders struct{ s *Store }

var _ store.WorkOrderStore = workOrders{}

const workOrderCols = `id, tenant_id, seq, ref, type, state, title, doc, due, created_at, updated_at, version`

func scanWorkOrder(r rowScanner) (store.WorkOrder, error) {
	var o store.WorkOrder
	var doc string
	err := r.Scan(&o.ID, &o.TenantID, &o.Seq, &o.Ref, &o.Type, &o.State, &o.Title, &doc, timeDest{&o.Due},
		timeDest{&o.CreatedAt}, timeDest{&o.UpdatedAt}, &o.Version)
	o.Doc = []byte(doc)
	return o, err
}

// Create stores a new order under the tenant's next number.
func (x workOrders) Create(ctx context.Context, o *store.WorkOrder) error {
	s := x.s
	if err := ensureID(&o.ID); err != nil {
		return err
	}
	now := s.stamp()
	var err error
	for attempt := 0; ; attempt++ {
		err = s.inTx(ctx, func(cn conn) error {
			var seq int
			if err := cn.queryRow(ctx, `SELECT COALESCE(MAX(seq), 0) + 1 FROM work_orders WHERE tenant_id = ?`, o.TenantID).Scan(&seq); err != nil {
				return err
			}
			ref := fmt.Sprintf("WO-%d-%04d", now.Year(), seq)
			if _, err := cn.exec(ctx, `INSERT INTO work_orders (`+workOrderCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1)`,
				o.ID, o.TenantID, seq, ref, o.Type, o.State, o.Title, string(o.Doc), s.t(o.Due), s.t(now), s.t(now)); err != nil {
				return err
			}
			o.Seq, o.Ref = seq, ref
			return nil
		})
		if err == nil || attempt == 4*maxSeqRetries || s.d.IsUniqueViolation == nil || !s.d.IsUniqueViolation(err) {
			break
		}
	}
	if err != nil {
		return s.wrap("create work order", err)
	}
	o.CreatedAt, o.UpdatedAt, o.Version, o.Due = now, now, 1, norm(o.Due)
	return nil
}

// Get returns one order.
func (x workOrders) Get(ctx context.Context, tenantID, id string) (store.WorkOrder, error) {
	o, err := scanWorkOrder(x.s.conn().queryRow(ctx, `SELECT `+workOrderCols+` FROM work_orders WHERE tenant_id = ? AND id = ?`, tenantID, id))
	return o, x.s.wrap("get work order", err)
}

func workOrderWhere(tenantID string, f store.WorkOrderFilter, s *Store) (string, []any) {
	q, args := `tenant_id = ?`, []any{tenantID}
	if f.State != "" {
		q, args = q+` AND state = ?`, append(args, f.State)
	}
	if f.Type != "" {
		q, args = q+` AND type = ?`, append(args, f.Type)
	}
	if !f.UpdatedSince.IsZero() {
		q, args = q+` AND updated_at >= ?`, append(args, s.t(norm(f.UpdatedSince)))
	}
	return q, args
}

// List returns a page of orders, most recently updated first.
func (x workOrders) List(ctx context.Context, tenantID string, f store.WorkOrderFilter) ([]store.WorkOrder, error) {
	limit, offset := PageBounds(f.Page)
	where, args := workOrderWhere(tenantID, f, x.s)
	os, err := collect(ctx, x.s.conn(), scanWorkOrder, `SELECT `+workOrderCols+` FROM work_orders WHERE `+where+`
		ORDER BY updated_at DESC, id DESC LIMIT ? OFFSET ?`, append(args, limit, offset)...)
	return os, x.s.wrap("list work orders", err)
}

// Count counts the orders a filter keeps.
func (x workOrders) Count(ctx context.Context, tenantID string, f store.WorkOrderFilter) (int, error) {
	where, args := workOrderWhere(tenantID, f, x.s)
	var n int
	err := x.s.conn().queryRow(ctx, `SELECT COUNT(*) FROM work_orders WHERE `+where, args...).Scan(&n)
	return n, x.s.wrap("count work orders", err)
}

// Update writes an order over the version it was read at.
func (x workOrders) Update(ctx context.Context, o *store.WorkOrder) error {
	s := x.s
	now := s.stamp()
	res, err := s.conn().exec(ctx, `UPDATE work_orders SET type = ?, state = ?, title = ?, doc = ?, due = ?, updated_at = ?,
		version = version + 1 WHERE tenant_id = ? AND id = ? AND version = ?`,
		o.Type, o.State, o.Title, string(o.Doc), s.t(o.Due), s.t(now), o.TenantID, o.ID, o.Version)
	if err := affected(res, err); err != nil {
		if !errors.Is(err, store.ErrNotFound) {
			return s.wrap("update work order", err)
		}
		if _, gerr := x.Get(ctx, o.TenantID, o.ID); gerr != nil {
			return gerr
		}
		return fmt.Errorf("update work order: %w: it was changed by someone else", store.ErrConflict)
	}
	o.UpdatedAt = now
	o.Version++
	return nil
}
