package store

import (
	"context"
	"time"
)

// States of a compliance inspection.
const (
	InspectionOpen   = "open"
	InspectionClosed = "closed"
)

// Inspection is one compliance inspection (合规检查) of a tenant: a
// checklist (a framework of the standards library) run against assigned
// objects, with a result per item and object. Campaign groups the
// inspections of several tenants run together ("" when alone). Doc holds
// the objects and results as the inspection service's JSON. Version
// counts writes: UpdateInspection refuses a stale copy.
type Inspection struct {
	ID        string
	TenantID  string
	Name      string
	Campaign  string
	Framework string
	State     string
	Doc       []byte
	CreatedBy string
	CreatedAt time.Time
	UpdatedAt time.Time
	Version   int
}

// ComplianceInspectionStore persists compliance inspections. Every method
// is scoped by tenant; an inspection of another tenant is ErrNotFound.
type ComplianceInspectionStore interface {
	// CreateInspection stores a new inspection; the store sets ID (when
	// empty), the times and Version 1. A second one of the tenant with the
	// same name is ErrConflict.
	CreateInspection(ctx context.Context, in *Inspection) error
	GetInspection(ctx context.Context, tenantID, id string) (Inspection, error)
	// ListInspections returns a page, most recently updated first; Doc is
	// left empty.
	ListInspections(ctx context.Context, tenantID string, p Page) ([]Inspection, error)
	// UpdateInspection writes name, state and doc if the inspection was
	// not changed since it was read (ErrConflict otherwise).
	UpdateInspection(ctx context.Context, in *Inspection) error
}
