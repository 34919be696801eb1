package ops_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/fixture"
	"github.com/vigil-sec/vigil/internal/ops"
	"github.com/vigil-sec/vigil/internal/store"
	"github.com/vigil-sec/vigil/internal/workorder"
)

// member adds a user with a role in tenant A.
func member(t *testing.T, e *fixture.Env, name, role string) store.User {
	t.Helper()
	u := store.User{Username: name, DisplayName: name}
	if err := e.Store.Users().Create(t.Context(), &u); err != nil {
		t.Fatal(err)
	}
	if err := e.Store.Users().SetMembership(t.Context(), store.Membership{UserID: u.ID, TenantID: e.TenantA.ID, Role: role}); err != nil {
		t.Fatal(err)
	}
	return u
}

// TestAccessOrderFlowAndAudit walks an access order through its flow
// with the roles the platform gives each person, then audits a day of
// SSH logins: the covered login raises nothing, a login no order covers
// is reported.
func TestAccessOrderFlowAndAudit(t *testing.T) {
	e := fixture.New(t)
	clock := time.Date(2026, 11, 29, 9, 0, 0, 0, time.UTC)
	var changes []string
	svc := ops.NewService(e.Store, e.Audit, ops.Options{Now: func() time.Time { return clock },
		OnChange: func(_ context.Context, o ops.Order, change string) error {
			changes = append(changes, o.Ref+":"+change+":"+string(o.State))
			return nil
		}})
	expert := member(t, e, "expert", auth.RoleExpert)
	operator := member(t, e, "operator", auth.RoleOperator)
	analyst := e.As(t.Context(), e.AnalystA)
	exp := e.As(t.Context(), expert)
	op := e.As(t.Context(), operator)

	o, err := svc.Create(analyst, e.TenantA.ID, ops.Input{Type: workorder.TypeAccess, Title: "Deploy release 4.2",
		Hosts: []string{"web-01"}, Accounts: []string{"deploy"}, WindowStart: clock.Add(time.Hour), WindowEnd: clock.Add(3 * time.Hour), Submit: true})
	if err != nil {
		t.Fatal(err)
	}
	if o.State != workorder.StateSubmitted || o.Ref == "" || o.Requester != e.AnalystA.ID {
		t.Fatalf("created %+v", o.Order)
	}
	// The analyst may request but not approve.
	if _, err := svc.Act(analyst, e.TenantA.ID, o.ID, o.Version, workorder.ActionApprove, ""); !errors.Is(err, auth.ErrForbidden) {
		t.Fatalf("analyst approves: %v", err)
	}
	if o, err = svc.Act(exp, e.TenantA.ID, o.ID, o.Version, workorder.ActionApprove, "ok for tonight"); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Act(exp, e.TenantA.ID, o.ID, o.Version-1, workorder.ActionCancel, ""); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("stale version: %v", err)
	}
	if o, err = svc.Assign(exp, e.TenantA.ID, o.ID, o.Version, operator.ID, e.AnalystA.ID); err != nil {
		t.Fatal(err)
	}
	// Work cannot start before the window opens.
	var fe *store.FieldError
	if _, err := svc.Act(op, e.TenantA.ID, o.ID, o.Version, workorder.ActionStart, ""); !errors.As(err, &fe) {
		t.Fatalf("start before the window: %v", err)
	}
	clock = clock.Add(90 * time.Minute)
	if o, err = svc.Act(op, e.TenantA.ID, o.ID, o.Version, workorder.ActionStart, ""); err != nil {
		t.Fatal(err)
	}
	if o, err = svc.Act(op, e.TenantA.ID, o.ID, o.Version, workorder.ActionComplete, "deployed"); err != nil {
		t.Fatal(err)
	}
	// The operator may not verify their own work; the named verifier does.
	if _, err := svc.Act(op, e.TenantA.ID, o.ID, o.Version, workorder.ActionVerify, ""); err == nil {
		t.Fatal("the executor verified their own work")
	}
	if o, err = svc.Act(analyst, e.TenantA.ID, o.ID, o.Version, workorder.ActionVerify, "checked the release"); err != nil {
		t.Fatal(err)
	}
	if o.State != workorder.StateVerified || len(o.History) != 6 || o.History[2].Action != "assign" || len(o.Comments) != 3 {
		t.Fatalf("verified order %+v", o.Order)
	}
	if want := []string{o.Ref + ":created:submitted", o.Ref + ":approve:approved", o.Ref + ":start:in_progress",
		o.Ref + ":complete:done", o.Ref + ":verify:verified"}; !slices.Equal(changes, want) {
		t.Errorf("announced %v, want %v", changes, want)
	}
	// An expert's own request is not theirs to approve.
	own, err := svc.Create(exp, e.TenantA.ID, ops.Input{Type: workorder.TypeChange, Title: "Rotate TLS certificate", Submit: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Act(exp, e.TenantA.ID, own.ID, own.Version, workorder.ActionApprove, ""); !errors.As(err, &fe) {
		t.Fatalf("self-approval: %v", err)
	}
	// Another tenant's customer sees nothing.
	if _, _, err := svc.List(e.As(t.Context(), e.CustomerB), e.TenantA.ID, store.WorkOrderFilter{}); !errors.Is(err, auth.ErrForbidden) {
		t.Fatalf("customer B lists A's orders: %v", err)
	}

	// The day's logins: deploy on web-01 inside the window, root on db-01 without an order.
	login := o.WindowStart.Add(40 * time.Minute)
	evs := []store.Event{
		{ID: "e1", TenantID: e.TenantA.ID, Time: login, Received: login, Source: "sshd", Host: "web-01", Fields: map[string]any{
			"host.name": "web-01", "event.action": "ssh_login", "event.outcome": "success", "user.name": "deploy", "source.ip": "192.0.2.10",
			"source.port": 50022, "process.pid": 4242, "process.name": "sshd"}},
		{ID: "e2", TenantID: e.TenantA.ID, Time: login.Add(20 * time.Minute), Received: login, Source: "sshd", Host: "web-01", Fields: map[string]any{
			"host.name": "web-01", "process.name": "sshd", "process.pid": 4242, "message": "Disconnected from user deploy 192.0.2.10 port 50022"}},
		{ID: "e3", TenantID: e.TenantA.ID, Time: login, Received: login, Source: "sshd", Host: "db-01", Fields: map[string]any{
			"host.name": "db-01", "event.action": "ssh_login", "event.outcome": "success", "user.name": "root", "source.ip": "198.51.100.7",
			"source.port": 40100, "process.pid": 777, "process.name": "sshd"}},
	}
	if _, err := e.Store.Events().Append(t.Context(), evs); err != nil {
		t.Fatal(err)
	}
	day := time.Date(2026, 11, 29, 0, 0, 0, 0, time.UTC)
	res, err := svc.Audit(analyst, e.TenantA.ID, day, day.Add(24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if res.Events != 3 || len(res.Sessions) != 2 {
		t.Fatalf("audit read %d events into %d sessions", res.Events, len(res.Sessions))
	}
	var unapproved []string
	for _, f := range res.Findings {
		if f.Kind == workorder.FindingUnapproved {
			unapproved = append(unapproved, f.User+"@"+f.Host)
		}
		if f.Host == "web-01" {
			t.Errorf("the approved login is reported: %+v", f)
		}
	}
	if len(unapproved) != 1 || unapproved[0] != "root@db-01" {
		t.Fatalf("unapproved %v (findings %+v)", unapproved, res.Findings)
	}
	doc, err := svc.ReportDocument(analyst, e.TenantA.ID, day, day.Add(24*time.Hour), "zh-CN")
	if err != nil || doc == nil {
		t.Fatalf("report %v", err)
	}
	if _, err := svc.Audit(analyst, e.TenantA.ID, day, day.Add(400*24*time.Hour)); !errors.As(err, &fe) {
		t.Fatalf("a 400-day audit: %v", err)
	}
}
