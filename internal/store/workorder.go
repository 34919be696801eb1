package store

import (
	"context"
	"time"
)

// WorkOrder is a stored operations work order: Doc is the order as
// internal/workorder writes it in JSON; the other fields are copies kept
// for lists and filters.
type WorkOrder struct {
	ID        string
	TenantID  string
	Seq       int
	Ref       string // WO-YYYY-NNNN, given by Create
	Type      string
	State     string
	Title     string
	Doc       []byte
	Due       time.Time
	CreatedAt time.Time
	UpdatedAt time.Time
	Version   int
}

// WorkOrderFilter narrows a work order list.
type WorkOrderFilter struct {
	State string
	Type  string
	// UpdatedSince keeps orders changed at or after it.
	UpdatedSince time.Time
	Page
}

// WorkOrderStore persists work orders.
type WorkOrderStore interface {
	// Create stores a new order with the tenant's next reference.
	Create(ctx context.Context, o *WorkOrder) error
	Get(ctx context.Context, tenantID, id string) (WorkOrder, error)
	// List returns a page of orders, most recently updated first.
	List(ctx context.Context, tenantID string, f WorkOrderFilter) ([]WorkOrder, error)
	Count(ctx context.Context, tenantID string, f WorkOrderFilter) (int, error)
	// Update writes an order read at o.Version; ErrConflict when it
	// changed meanwhile.
	Update(ctx context.Context, o *WorkOrder) error
}
