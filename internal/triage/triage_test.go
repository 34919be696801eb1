package triage_test

import (
	"errors"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/fixture"
	"github.com/vigil-sec/vigil/internal/store"
	"github.com/vigil-sec/vigil/internal/triage"
)

func TestParseQuery(t *testing.T) {
	terms, text, err := triage.ParseQuery(`host.name:web-01 user.name:"John Smith" "Failed password" root`)
	if err != nil {
		t.Fatal(err)
	}
	if len(terms) != 2 || terms[1].Value != "John Smith" || text != "Failed password root" {
		t.Fatalf("terms %+v text %q", terms, text)
	}
	if _, _, err := triage.ParseQuery(`"unclosed`); err == nil {
		t.Fatal("unclosed quote accepted")
	}
	if _, text, _ := triage.ParseQuery(`http://x.example/a:b`); text != "http://x.example/a:b" {
		t.Fatalf("a URL is free text, got %q", text)
	}
}

func TestAlertsTriage(t *testing.T) {
	e := fixture.New(t)
	ctx := e.AdminCtx(t.Context())
	s := triage.NewService(e.Store, e.Audit, nil)
	now := time.Now()
	if _, err := e.Store.Events().Append(ctx, []store.Event{{ID: "e1", TenantID: e.TenantA.ID, Time: now, Received: now,
		Host: "web-01", Original: "Failed password for root"}}); err != nil {
		t.Fatal(err)
	}
	a := store.Alert{TenantID: e.TenantA.ID, GroupKey: "r|web-01", RuleID: "r", RuleTitle: "SSH brute force", Level: "high",
		Host: "web-01", EventIDs: []string{"e1"}, Status: triage.StatusNew, LastSeen: now}
	if _, err := e.Store.Alerts().Raise(ctx, &a, time.Minute, []string{"new"}, 10); err != nil {
		t.Fatal(err)
	}
	list, n, err := s.Alerts(ctx, e.TenantA.ID, store.AlertFilter{Statuses: []string{triage.StatusNew}})
	if err != nil || n != 1 || list[0].ID != a.ID {
		t.Fatalf("alerts %d, %v", n, err)
	}
	_, evs, err := s.Alert(ctx, e.TenantA.ID, a.ID)
	if err != nil || len(evs) != 1 {
		t.Fatalf("alert events %d, %v", len(evs), err)
	}
	analyst := e.As(t.Context(), e.AnalystA)
	if n, err := s.SetStatus(analyst, e.TenantA.ID, []string{a.ID, "missing"}, triage.StatusFalsePositive, "our scanner"); err != nil || n != 1 {
		t.Fatalf("set status %d, %v", n, err)
	}
	if _, err := s.SetStatus(analyst, e.TenantA.ID, []string{a.ID}, "ignored", ""); err == nil {
		t.Fatal("unknown status accepted")
	}
	cust := e.As(t.Context(), e.CustomerB)
	if _, err := s.SetStatus(cust, e.TenantB.ID, []string{a.ID}, triage.StatusClosed, ""); !errors.Is(err, auth.ErrForbidden) {
		t.Fatalf("customer triage: %v", err)
	}
	if _, _, err := s.Search(cust, e.TenantA.ID, "", time.Time{}, time.Time{}, store.Page{}); !errors.Is(err, auth.ErrForbidden) {
		t.Fatalf("customer B searching A: %v", err)
	}
	got, n2, err := s.Search(analyst, e.TenantA.ID, `host:web-01 "Failed password"`, now.Add(-time.Hour), now.Add(time.Hour), store.Page{})
	if err != nil || n2 != 1 || got[0].ID != "e1" {
		t.Fatalf("search %d, %v", n2, err)
	}
}
