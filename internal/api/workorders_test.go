package api

import (
	"net/http"
	"testing"

	"github.com/vigil-sec/vigil/internal/ops"
	"github.com/vigil-sec/vigil/internal/workorder"
)

// TestWorkOrders requests an order over the API, refuses the analyst's
// approval, the customer of another tenant and an approval by the
// order's own requester (API tokens act for the user who made them),
// lets another person approve, and refuses a stale version.
func TestWorkOrders(t *testing.T) {
	h := newHarness(t)
	base := "/api/v1/tenants/" + h.env.TenantA.Slug + "/work-orders"
	var o WorkOrder
	h.want(http.StatusCreated, http.MethodPost, base, h.analystA, map[string]any{"type": "change", "title": "Rotate the TLS certificate",
		"hosts": []string{"web-01"}, "submit": true}, &o)
	if o.State != "submitted" || o.Ref == "" || len(o.History) != 1 {
		t.Fatalf("created %+v", o)
	}
	h.want(http.StatusForbidden, http.MethodPost, base+"/"+o.ID+"/actions", h.analystA, map[string]any{"action": "approve", "version": o.Version}, nil)
	h.want(http.StatusNotFound, http.MethodGet, base+"/"+o.ID, h.customer, nil, nil)
	// The tokens here were all made by the seeded admin: the admin's token
	// may not approve the admin's own request.
	h.want(http.StatusUnprocessableEntity, http.MethodPost, base+"/"+o.ID+"/actions", h.admin, map[string]any{"action": "approve", "version": o.Version}, nil)
	req, err := ops.NewService(h.env.Store, h.env.Audit, ops.Options{}).Create(h.env.As(t.Context(), h.env.AnalystA), h.env.TenantA.ID,
		ops.Input{Type: workorder.TypeChange, Title: "Patch OpenSSL", Submit: true})
	if err != nil {
		t.Fatal(err)
	}
	o = workOrderDTO(req)
	var approved WorkOrder
	h.want(http.StatusOK, http.MethodPost, base+"/"+o.ID+"/actions", h.admin, map[string]any{"action": "approve", "version": o.Version, "comment": "go"}, &approved)
	if approved.State != "approved" || approved.Approver == "" || len(approved.Comments) != 1 {
		t.Fatalf("approved %+v", approved)
	}
	h.want(http.StatusConflict, http.MethodPost, base+"/"+o.ID+"/actions", h.admin, map[string]any{"action": "cancel", "version": o.Version}, nil)
	h.want(http.StatusUnprocessableEntity, http.MethodPost, base, h.analystA, map[string]any{"type": "access", "title": "no window", "hosts": []string{"db-01"}}, nil)
	var list WorkOrderList
	h.want(http.StatusOK, http.MethodGet, base+"?state=approved", h.analystA, nil, &list)
	if list.Total != 1 || list.Items[0].ID != req.ID {
		t.Fatalf("list %+v", list)
	}
}
