package ops_test

import (
	"bytes"
	"database/sql"
	"errors"
	"strings"
	"testing"

	"github.com/vigil-sec/vigil/internal/attach"
	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/fixture"
	"github.com/vigil-sec/vigil/internal/ops"
	"github.com/vigil-sec/vigil/internal/store"
	"github.com/vigil-sec/vigil/internal/workorder"
)

// TestOrderFiles attaches files to a work order: the requester and an
// operator (executor permission) may, an auditor (read only) may list and
// download but not upload, the customer of another tenant sees nothing;
// a tampered content is refused; a closed order takes no new files and
// keeps the ones it has; every step is audited.
func TestOrderFiles(t *testing.T) {
	e := fixture.New(t)
	svc := e.Ops
	tn := e.TenantA.ID
	analyst := e.As(t.Context(), e.AnalystA)
	op := e.As(t.Context(), member(t, e, "operator", auth.RoleOperator))
	auditor := e.As(t.Context(), member(t, e, "auditor", auth.RoleAuditor))
	customer := e.As(t.Context(), e.CustomerB)
	admin := e.AdminCtx(t.Context())

	o, err := svc.Create(analyst, tn, ops.Input{Type: workorder.TypeChange, Title: "Rotate the TLS certificate", Hosts: []string{"web-01"}, Submit: true})
	if err != nil {
		t.Fatal(err)
	}
	plan := []byte("1. back up the key\n2. install the new chain\n")
	a, err := svc.AddFile(analyst, tn, o.ID, attach.Input{Name: "plan.txt", DeclaredType: "text/html", Content: bytes.NewReader(plan)})
	if err != nil {
		t.Fatal(err)
	}
	if a.OwnerKind != ops.FileKind || a.OwnerID != o.ID || a.SniffedType != "text/plain" || a.DeclaredType != "text/html" {
		t.Fatalf("attached %+v", a)
	}
	if _, err := svc.AddFile(op, tn, o.ID, attach.Input{Name: "out.log", Content: strings.NewReader("done")}); err != nil {
		t.Fatalf("operator attaches: %v", err)
	}
	if _, err := svc.AddFile(auditor, tn, o.ID, attach.Input{Name: "x", Content: strings.NewReader("x")}); !errors.Is(err, auth.ErrForbidden) {
		t.Fatalf("auditor attaches: %v", err)
	}
	if _, err := svc.AddFile(customer, tn, o.ID, attach.Input{Name: "x", Content: strings.NewReader("x")}); !errors.Is(err, auth.ErrForbidden) {
		t.Fatalf("customer of B attaches: %v", err)
	}
	if _, err := svc.Files(customer, tn, o.ID); !errors.Is(err, auth.ErrForbidden) {
		t.Fatalf("customer of B lists: %v", err)
	}
	files, err := svc.Files(auditor, tn, o.ID)
	if err != nil || len(files) != 2 || files[0].ID != a.ID {
		t.Fatalf("auditor lists %+v, %v", files, err)
	}
	_, data, err := svc.OpenFile(auditor, tn, o.ID, a.ID)
	if err != nil || !bytes.Equal(data, plan) {
		t.Fatalf("auditor downloads %q, %v", data, err)
	}

	// Another order's file is not reachable through this one.
	other, err := svc.Create(analyst, tn, ops.Input{Type: workorder.TypeInspection, Title: "Quarterly check"})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := svc.OpenFile(admin, tn, other.ID, a.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("file through another order: %v", err)
	}

	// Tamper with the stored content: the download is refused.
	raw, isSQL := e.Store.(interface{ DB() *sql.DB })
	if !isSQL {
		t.Fatalf("the fixture's store %T has no database handle", e.Store)
	}
	if _, err := raw.DB().ExecContext(t.Context(), `UPDATE attachment_blobs SET content = ? WHERE sha256 = ?`, []byte("rm -rf /"), a.SHA256); err != nil {
		t.Fatal(err)
	}
	var fe *store.FieldError
	if _, _, err := svc.OpenFile(admin, tn, o.ID, a.ID); !errors.As(err, &fe) || fe.Field != "file" {
		t.Fatalf("tampered download: %v", err)
	}

	// Cancelled: no new files, none removed.
	if o, err = svc.Act(analyst, tn, o.ID, 0, workorder.ActionCancel, "not needed"); err != nil || !o.Closed() {
		t.Fatalf("cancel: %v", err)
	}
	if svc.MayAttach(analyst, o) {
		t.Fatal("a closed order offers uploads")
	}
	if _, err := svc.AddFile(analyst, tn, o.ID, attach.Input{Name: "late.txt", Content: strings.NewReader("late")}); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("file on a closed order: %v", err)
	}
	if err := svc.DeleteFile(analyst, tn, o.ID, a.ID); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("delete on a closed order: %v", err)
	}
	if err := svc.DeleteFile(analyst, tn, other.ID, files[1].ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("delete through another order: %v", err)
	}

	var actions []string
	es, err := e.Store.Audit().List(t.Context(), store.AuditFilter{TenantID: tn, Page: store.Page{Limit: 100}})
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range es {
		if ev.Object == "work_order:"+o.ID && strings.HasPrefix(ev.Action, "attachment.") {
			actions = append(actions, ev.Action)
		}
	}
	for _, want := range []string{"attachment.add", "attachment.download", "attachment.verify_failed"} {
		if !strings.Contains(strings.Join(actions, " "), want) {
			t.Errorf("audit lacks %s: %v", want, actions)
		}
	}
}
