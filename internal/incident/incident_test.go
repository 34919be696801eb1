package incident_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/audit"
	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/incident"
	"github.com/vigil-sec/vigil/internal/incident/playbook"
	"github.com/vigil-sec/vigil/internal/report"
	"github.com/vigil-sec/vigil/internal/store"
	"github.com/vigil-sec/vigil/internal/store/sqlite"
)

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

type env struct {
	st       store.Store
	svc      *incident.Service
	clock    *clock
	a, b     store.Tenant
	analyst  store.User // analyst in A
	customer store.User // customer viewer in A
	ctx      context.Context
	asset    store.Asset
	dbPath   string
}

func newEnv(t *testing.T) *env {
	t.Helper()
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "vigil.db")
	st, err := sqlite.Open(ctx, path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	clk := &clock{t: time.Now().UTC().Truncate(time.Second)}
	svc, err := incident.NewService(st, audit.New(st.Audit(), audit.Options{Now: clk.now}), incident.Options{Now: clk.now})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{st: st, svc: svc, clock: clk, dbPath: path}
	e.a = store.Tenant{Slug: "acme", Name: "Acme"}
	e.b = store.Tenant{Slug: "globex", Name: "Globex"}
	must(t, st.Tenants().Create(ctx, &e.a))
	must(t, st.Tenants().Create(ctx, &e.b))
	e.analyst = store.User{Username: "ana", DisplayName: "Ana Analyst"}
	e.customer = store.User{Username: "cus"}
	must(t, st.Users().Create(ctx, &e.analyst))
	must(t, st.Users().Create(ctx, &e.customer))
	must(t, st.Users().SetMembership(ctx, store.Membership{UserID: e.analyst.ID, TenantID: e.a.ID, Role: auth.RoleAnalyst}))
	must(t, st.Users().SetMembership(ctx, store.Membership{UserID: e.customer.ID, TenantID: e.a.ID, Role: auth.RoleCustomer}))
	e.asset = store.Asset{TenantID: e.a.ID, Kind: "host", Name: "web01", Address: "10.0.0.5", Importance: 4}
	must(t, st.Assets().Create(ctx, &e.asset))
	e.ctx = e.as(ctx, e.analyst, auth.RoleAnalyst)
	return e
}

// as returns ctx acting as u with role in tenant A.
func (e *env) as(ctx context.Context, u store.User, role string) context.Context {
	return auth.WithPrincipal(ctx, &auth.Principal{UserID: u.ID, Username: u.Username, Roles: map[string]string{e.a.ID: role}})
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func wantErr(t *testing.T, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("error %v, want %v", err, target)
	}
}

func fieldCode(t *testing.T, err error, field, code string) {
	t.Helper()
	var fe *store.FieldError
	if !errors.As(err, &fe) || fe.Field != field || fe.Code != code {
		t.Fatalf("error %v, want field error %s/%s", err, field, code)
	}
}

// raise stores an alert of tenant A with events.
func (e *env) raise(t *testing.T, rule, host, level string, first, last time.Time, events ...store.Event) store.Alert {
	t.Helper()
	var ids []string
	for i := range events {
		events[i].TenantID = e.a.ID
		events[i].Received = events[i].Time
		if events[i].ID == "" {
			events[i].ID = rule + "-" + host + "-" + events[i].Time.Format("150405.000000")
		}
		ids = append(ids, events[i].ID)
	}
	if len(events) > 0 {
		_, err := e.st.Events().Append(t.Context(), events)
		must(t, err)
	}
	a := store.Alert{TenantID: e.a.ID, GroupKey: rule + "|" + host, RuleID: rule, RuleTitle: "Rule " + rule, Level: level,
		Host: host, EventIDs: ids, Status: "new", FirstSeen: first, LastSeen: last, Tags: []string{"attack.t1505.003", "attack.persistence"}}
	if host == e.asset.Name {
		a.AssetID = e.asset.ID
	}
	_, err := e.st.Alerts().Raise(t.Context(), &a, time.Minute, []string{"new"}, 10)
	must(t, err)
	return a
}

func TestPromoteAndMerge(t *testing.T) {
	e := newEnv(t)
	now := e.clock.now()
	a1 := e.raise(t, "webshell", "web01", "high", now.Add(-2*time.Hour), now.Add(-time.Hour),
		store.Event{Time: now.Add(-2 * time.Hour), SourceIP: "203.0.113.7", User: "www-data", Message: "POST /up.php"})
	a2 := e.raise(t, "scan", "192.0.2.10", "critical", now.Add(-30*time.Minute), now.Add(-20*time.Minute))
	a3 := e.raise(t, "brute", "web01", "medium", now.Add(-10*time.Minute), now.Add(-5*time.Minute))

	c, err := e.svc.Promote(e.ctx, e.a.ID, []string{a1.ID, a2.ID}, incident.Input{Category: "intrusion"})
	must(t, err)
	if c.Title != "Rule webshell on web01" || c.Severity != incident.SeverityCritical || c.Phase != incident.PhaseDetect {
		t.Fatalf("promoted case %+v", c)
	}
	if !slices.Equal(c.AssetIDs, []string{e.asset.ID}) || !slices.Equal(c.Techniques, []string{"T1505.003"}) || c.GBClass != "attack" {
		t.Fatalf("derived fields %v %v %q", c.AssetIDs, c.Techniques, c.GBClass)
	}
	for _, id := range []string{a1.ID, a2.ID} {
		al, err := e.st.Alerts().Get(e.ctx, e.a.ID, id)
		must(t, err)
		if al.Status != "escalated" || !strings.Contains(al.Note, c.Ref) {
			t.Fatalf("alert after promotion %+v", al)
		}
	}
	obs, err := e.st.Incidents().Observables(e.ctx, e.a.ID, c.ID)
	must(t, err)
	var got []string
	for _, o := range obs {
		got = append(got, o.Type+":"+o.Value)
	}
	// The host address of the scan alert, and the source address and user of the webshell event.
	if !slices.Equal(got, []string{"ip:192.0.2.10", "ip:203.0.113.7", "user:www-data"}) {
		t.Fatalf("observables %v", got)
	}
	// An alert is in one case only.
	_, err = e.svc.Promote(e.ctx, e.a.ID, []string{a1.ID}, incident.Input{})
	wantErr(t, err, store.ErrConflict)

	// The third alert shares the host with the case: suggested for it.
	sg, err := e.svc.Suggest(e.ctx, e.a.ID, 24*time.Hour)
	must(t, err)
	if len(sg) != 1 || sg[0].CaseID != c.ID || !slices.Equal(sg[0].AlertIDs, []string{a3.ID}) {
		t.Fatalf("suggestions %+v", sg)
	}
	c, err = e.svc.Merge(e.ctx, e.a.ID, c.ID, []string{a3.ID})
	must(t, err)
	als, err := e.svc.Alerts(e.ctx, e.a.ID, c.ID)
	must(t, err)
	if len(als) != 3 || als[2].ID != a3.ID || als[2].Status != "escalated" {
		t.Fatalf("case alerts %+v", als)
	}
	of, err := e.svc.CaseOfAlert(e.ctx, e.a.ID, a3.ID)
	must(t, err)
	if of.ID != c.ID {
		t.Fatalf("case of alert %s", of.ID)
	}
	// Another tenant's alert cannot be promoted.
	_, err = e.svc.Merge(e.ctx, e.a.ID, c.ID, []string{"no-such-alert"})
	fieldCode(t, err, "alerts", store.CodeNotInTenant)
}

func TestSuggestGroupsAlertsWithoutCase(t *testing.T) {
	e := newEnv(t)
	now := e.clock.now()
	old := e.raise(t, "r1", "db01", "low", now.Add(-72*time.Hour), now.Add(-71*time.Hour))
	x := e.raise(t, "r1", "db01", "low", now.Add(-time.Hour), now.Add(-time.Hour))
	y := e.raise(t, "r2", "db01", "low", now.Add(-time.Hour), now.Add(-50*time.Minute))
	z := e.raise(t, "r2", "app02", "low", now.Add(-time.Hour), now.Add(-40*time.Minute))
	lone := e.raise(t, "r9", "mail", "low", now.Add(-time.Hour), now.Add(-time.Hour))
	sg, err := e.svc.Suggest(e.ctx, e.a.ID, 24*time.Hour)
	must(t, err)
	if len(sg) != 1 || sg[0].CaseID != "" {
		t.Fatalf("suggestions %+v", sg)
	}
	ids := slices.Sorted(slices.Values(sg[0].AlertIDs))
	want := slices.Sorted(slices.Values([]string{x.ID, y.ID, z.ID}))
	if !slices.Equal(ids, want) || slices.Contains(ids, old.ID) || slices.Contains(ids, lone.ID) {
		t.Fatalf("group %v, want %v (host db01 joins x and y, rule r2 joins y and z)", ids, want)
	}
	if !slices.Contains(sg[0].Reasons, "host db01") || !slices.Contains(sg[0].Reasons, "rule r2") {
		t.Fatalf("reasons %v", sg[0].Reasons)
	}
}

func TestCheckTransition(t *testing.T) {
	for _, tc := range []struct {
		from, to, reason string
		ok               bool
	}{
		{"detect", "contain", "", true},
		{"contain", "eradicate", "", true},
		{"recover", "summarise", "", true},
		{"detect", "eradicate", "", false}, // no skipping
		{"detect", "summarise", "x", false},
		{"eradicate", "contain", "", false}, // back needs a reason
		{"eradicate", "contain", "reinfected", true},
		{"summarise", "detect", "new evidence", true},
		{"contain", "contain", "", false},
		{"contain", "closed", "", false}, // Close, with a resolution
		{"closed", "detect", "x", false}, // Reopen
		{"detect", "triage", "", false},
	} {
		err := incident.CheckTransition(tc.from, tc.to, tc.reason)
		if (err == nil) != tc.ok {
			t.Errorf("%s → %s (%q): %v", tc.from, tc.to, tc.reason, err)
		}
		if err != nil && !errors.Is(err, store.ErrInvalid) {
			t.Errorf("%s → %s: %v is not ErrInvalid", tc.from, tc.to, err)
		}
	}
}

func TestPhasesCloseReopen(t *testing.T) {
	e := newEnv(t)
	c, err := e.svc.Create(e.ctx, e.a.ID, incident.Input{Title: "Ransomware", Severity: "high", Category: "malware"})
	must(t, err)
	if !c.AcknowledgedAt.IsZero() {
		t.Fatal("acknowledged at creation without an assignee")
	}
	e.clock.advance(10 * time.Minute)
	c, err = e.svc.SetPhase(e.ctx, e.a.ID, c.ID, c.Version, incident.PhaseContain, "")
	must(t, err)
	if !c.AcknowledgedAt.Equal(e.clock.now()) || !c.ContainedAt.IsZero() {
		t.Fatalf("after contain: ack %v contained %v", c.AcknowledgedAt, c.ContainedAt)
	}
	_, err = e.svc.SetPhase(e.ctx, e.a.ID, c.ID, c.Version-1, incident.PhaseEradicate, "")
	wantErr(t, err, store.ErrConflict)
	_, err = e.svc.SetPhase(e.ctx, e.a.ID, c.ID, c.Version, incident.PhaseRecover, "")
	wantErr(t, err, incident.ErrTransition)
	e.clock.advance(time.Hour)
	c, err = e.svc.SetPhase(e.ctx, e.a.ID, c.ID, c.Version, incident.PhaseEradicate, "")
	must(t, err)
	if !c.ContainedAt.Equal(e.clock.now()) {
		t.Fatalf("contained at %v", c.ContainedAt)
	}
	_, err = e.svc.SetPhase(e.ctx, e.a.ID, c.ID, c.Version, incident.PhaseContain, "")
	fieldCode(t, err, "reason", store.CodeRequired)
	c, err = e.svc.SetPhase(e.ctx, e.a.ID, c.ID, c.Version, incident.PhaseContain, "second host encrypted")
	must(t, err)
	_, err = e.svc.Close(e.ctx, e.a.ID, c.ID, c.Version, "solved", "")
	fieldCode(t, err, "resolution", store.CodeOneOf)
	c, err = e.svc.Close(e.ctx, e.a.ID, c.ID, c.Version, incident.TruePositive, "restored from backup")
	must(t, err)
	if c.Phase != incident.PhaseClosed || c.ClosedAt.IsZero() {
		t.Fatalf("closed %+v", c)
	}
	_, err = e.svc.SetPhase(e.ctx, e.a.ID, c.ID, c.Version, incident.PhaseRecover, "x")
	wantErr(t, err, incident.ErrTransition)
	_, err = e.svc.CreateTask(e.ctx, e.a.ID, c.ID, incident.TaskInput{Title: "late", Phase: "recover"})
	wantErr(t, err, incident.ErrTransition)
	_, err = e.svc.Reopen(e.ctx, e.a.ID, c.ID, c.Version, incident.PhaseRecover, "")
	fieldCode(t, err, "reason", store.CodeRequired)
	c, err = e.svc.Reopen(e.ctx, e.a.ID, c.ID, c.Version, incident.PhaseRecover, "backup was infected")
	must(t, err)
	if c.Phase != incident.PhaseRecover || !c.ClosedAt.IsZero() || c.Resolution != "" {
		t.Fatalf("reopened %+v", c)
	}
	items, err := e.svc.Timeline(e.ctx, e.a.ID, c.ID)
	must(t, err)
	var phases []string
	for _, it := range items {
		if it.Kind == incident.ItemPhase {
			phases = append(phases, it.Text)
		}
	}
	want := []string{"detect → contain", "contain → eradicate", "eradicate → contain: second host encrypted",
		"contain → closed (true_positive): restored from backup", "closed → recover (reopened): backup was infected"}
	if !slices.Equal(phases, want) {
		t.Fatalf("phase entries\n%q\nwant\n%q", phases, want)
	}
	// Every change is audited.
	es, err := e.st.Audit().List(e.ctx, store.AuditFilter{TenantID: e.a.ID})
	must(t, err)
	var actions []string
	for _, a := range es {
		actions = append(actions, a.Action)
	}
	for _, a := range []string{"incident.create", "incident.phase", "incident.close", "incident.reopen"} {
		if !slices.Contains(actions, a) {
			t.Errorf("no %s audit entry in %v", a, actions)
		}
	}
}

func TestSLATimers(t *testing.T) {
	e := newEnv(t)
	targets := incident.DefaultSLA()[incident.SeverityCritical]
	c, err := e.svc.Create(e.ctx, e.a.ID, incident.Input{Title: "Critical", Severity: "critical"})
	must(t, err)
	start := e.clock.now()
	if !c.AckDue.Equal(start.Add(targets.Acknowledge)) || !c.CloseDue.Equal(start.Add(targets.Close)) {
		t.Fatalf("due %v %v from %v", c.AckDue, c.CloseDue, start)
	}
	state := func(c store.Incident, name string) incident.Timer {
		for _, tm := range incident.Timers(c, e.clock.now()) {
			if tm.Name == name {
				return tm
			}
		}
		t.Fatalf("no timer %s", name)
		return incident.Timer{}
	}
	e.clock.advance(5 * time.Minute)
	if tm := state(c, "acknowledge"); tm.State != incident.TimerRunning || tm.Remaining != targets.Acknowledge-5*time.Minute {
		t.Fatalf("at 5 min: %+v", tm)
	}
	e.clock.advance(15 * time.Minute)
	if tm := state(c, "acknowledge"); tm.State != incident.TimerBreached || tm.Overdue != 20*time.Minute-targets.Acknowledge {
		t.Fatalf("at 20 min: %+v", tm)
	}
	br, err := e.svc.Breaches(e.ctx, e.clock.now())
	must(t, err)
	if len(br) != 1 || br[0].Case.ID != c.ID || len(br[0].Breached) != 1 || br[0].Breached[0].Name != "acknowledge" {
		t.Fatalf("breaches %+v", br)
	}
	c, err = e.svc.Acknowledge(e.ctx, e.a.ID, c.ID)
	must(t, err)
	if tm := state(c, "acknowledge"); tm.State != incident.TimerBreached || tm.Overdue != 20*time.Minute-targets.Acknowledge {
		t.Fatalf("acknowledged late: %+v", tm)
	}
	// Contained in time.
	c, err = e.svc.SetPhase(e.ctx, e.a.ID, c.ID, 0, incident.PhaseContain, "")
	must(t, err)
	e.clock.advance(time.Hour)
	c, err = e.svc.SetPhase(e.ctx, e.a.ID, c.ID, 0, incident.PhaseEradicate, "")
	must(t, err)
	if tm := state(c, "contain"); tm.State != incident.TimerMet {
		t.Fatalf("contain: %+v", tm)
	}
	// The acknowledge timer stays breached, but the case needs no escalation for it any more.
	br, err = e.svc.Breaches(e.ctx, e.clock.now())
	must(t, err)
	if len(br) != 0 {
		t.Fatalf("breaches after acknowledgement and containment %+v", br)
	}
	// Past the close target the case is escalated again.
	e.clock.advance(targets.Close)
	br, err = e.svc.Breaches(e.ctx, e.clock.now())
	must(t, err)
	if len(br) != 1 || len(br[0].Breached) != 2 || br[0].Breached[1].Name != "close" {
		t.Fatalf("breaches past the close target %+v", br)
	}
	c, err = e.svc.Close(e.ctx, e.a.ID, c.ID, 0, incident.TruePositive, "")
	must(t, err)
	// Closed 5m+15m+1h after the close target.
	if tm := state(c, "close"); tm.State != incident.TimerBreached || tm.Overdue != 80*time.Minute {
		t.Fatalf("close: %+v", tm)
	}
	br, err = e.svc.Breaches(e.ctx, e.clock.now())
	must(t, err)
	if len(br) != 0 {
		t.Fatalf("closed case still escalated: %+v", br)
	}
	// A closed case whose contain timer never ran out is stopped, not breached.
	low, err := e.svc.Create(e.ctx, e.a.ID, incident.Input{Title: "FP", Severity: "low"})
	must(t, err)
	low, err = e.svc.Close(e.ctx, e.a.ID, low.ID, 0, incident.FalsePositive, "scanner")
	must(t, err)
	if tm := state(low, "contain"); tm.State != incident.TimerStopped {
		t.Fatalf("contain of a false positive: %+v", tm)
	}
	// A severity change recomputes the due times.
	high, err := e.svc.Create(e.ctx, e.a.ID, incident.Input{Title: "sev", Severity: "low"})
	must(t, err)
	in := incident.Input{Title: high.Title, Severity: "high"}
	high, err = e.svc.Update(e.ctx, e.a.ID, high.ID, high.Version, in)
	must(t, err)
	if d := high.AckDue.Sub(high.CreatedAt); d != incident.DefaultSLA()["high"].Acknowledge {
		t.Fatalf("ack target after severity change %v", d)
	}
}

func TestTenantSLAOverride(t *testing.T) {
	e := newEnv(t)
	svc, err := incident.NewService(e.st, audit.New(e.st.Audit(), audit.Options{}), incident.Options{Now: e.clock.now,
		TenantSLA: map[string]incident.SLAPolicy{e.a.ID: {"medium": {Acknowledge: time.Minute}}}})
	must(t, err)
	c, err := svc.Create(e.ctx, e.a.ID, incident.Input{Title: "x", Severity: "medium"})
	must(t, err)
	if c.AckDue.Sub(e.clock.now()) != time.Minute || !c.CloseDue.IsZero() {
		t.Fatalf("override: ack due %v close due %v", c.AckDue, c.CloseDue)
	}
}

func TestPlaybookApplied(t *testing.T) {
	e := newEnv(t)
	pbs, err := playbook.Builtin()
	must(t, err)
	var pb playbook.Playbook
	for _, p := range pbs {
		if p.ID == "webshell" {
			pb = p
		}
	}
	if len(pb.Tasks) == 0 {
		t.Fatal("no built-in webshell playbook")
	}
	c, err := e.svc.Create(e.ctx, e.a.ID, incident.Input{Title: "Webshell", Severity: "high", Category: "intrusion"})
	must(t, err)
	tasks, err := e.svc.ApplyPlaybook(e.ctx, e.a.ID, c.ID, pb.ID)
	must(t, err)
	got, err := e.svc.Tasks(e.ctx, e.a.ID, c.ID)
	must(t, err)
	if len(tasks) != len(pb.Tasks) || len(got) != len(pb.Tasks) {
		t.Fatalf("%d tasks created, %d stored, playbook has %d", len(tasks), len(got), len(pb.Tasks))
	}
	for i, pt := range pb.Tasks {
		g := got[i]
		if g.Title != pt.Title || g.Phase != pt.Phase || len(g.Checklist) != len(pt.Checklist) || g.Source != pb.ID || g.Status != incident.TaskTodo {
			t.Fatalf("task %d = %+v, playbook %+v", i, g, pt)
		}
		if pt.DueAfter > 0 && !g.DueAt.Equal(c.CreatedAt.Add(pt.DueAfter)) {
			t.Fatalf("task %d due %v, want creation + %v", i, g.DueAt, pt.DueAfter)
		}
	}
	_, err = e.svc.ApplyPlaybook(e.ctx, e.a.ID, c.ID, "no-such")
	fieldCode(t, err, "playbook", store.CodeOneOf)
	// Work a task: log, check, finish.
	tk := got[0]
	e.clock.advance(time.Minute)
	_, err = e.svc.AddTaskLog(e.ctx, e.a.ID, tk.ID, "isolated via EDR")
	must(t, err)
	in := incident.TaskInput{Title: tk.Title, Phase: tk.Phase, Status: incident.TaskDone, Owner: e.analyst.ID, Checklist: tk.Checklist}
	for i := range in.Checklist {
		in.Checklist[i].Done = true
	}
	e.clock.advance(time.Minute)
	done, err := e.svc.UpdateTask(e.ctx, e.a.ID, tk.ID, in)
	must(t, err)
	if !done.DoneAt.Equal(e.clock.now()) {
		t.Fatalf("done at %v", done.DoneAt)
	}
	in.Owner = e.customer.ID // a customer viewer does not work on incidents
	_, err = e.svc.UpdateTask(e.ctx, e.a.ID, tk.ID, in)
	fieldCode(t, err, "owner", store.CodeNotInTenant)
}

func TestObservablesAndSightings(t *testing.T) {
	e := newEnv(t)
	c1, err := e.svc.Create(e.ctx, e.a.ID, incident.Input{Title: "one", Severity: "low"})
	must(t, err)
	c2, err := e.svc.Create(e.ctx, e.a.ID, incident.Input{Title: "two", Severity: "low"})
	must(t, err)
	_, err = e.svc.AddObservables(e.ctx, e.a.ID, c1.ID, []incident.ObservableInput{
		{Type: "domain", Value: "Evil.Example.", IOC: true}, {Type: "hash", Value: strings.Repeat("AB", 32)}, {Type: "ip", Value: "::ffff:198.51.100.4"}})
	must(t, err)
	_, err = e.svc.AddObservables(e.ctx, e.a.ID, c2.ID, []incident.ObservableInput{{Type: "domain", Value: "evil.example"}, {Type: "ip", Value: "198.51.100.4"}})
	must(t, err)
	sg, err := e.svc.Sightings(e.ctx, e.a.ID, c1.ID)
	must(t, err)
	if len(sg) != 2 || sg[0].Observable.Value != "evil.example" || sg[0].Others[0].CaseID != c2.ID || sg[1].Observable.Value != "198.51.100.4" {
		t.Fatalf("sightings %+v", sg)
	}
	// Search finds the case by an observable written another way.
	list, n, err := e.svc.List(e.ctx, e.a.ID, incident.Filter{Query: "EVIL.example"})
	must(t, err)
	if n != 2 || len(list) != 2 {
		t.Fatalf("search by observable: %d", n)
	}
	_, err = e.svc.AddObservables(e.ctx, e.a.ID, c1.ID, []incident.ObservableInput{{Type: "ip", Value: "not-an-ip"}})
	fieldCode(t, err, "value", store.CodeInvalidIP)
	_, err = e.svc.AddObservables(e.ctx, e.a.ID, c1.ID, []incident.ObservableInput{{Type: "registry", Value: "x"}})
	fieldCode(t, err, "type", store.CodeOneOf)
	// Enrichment without an Enricher is empty; with one it is what it says.
	obs, err := e.st.Incidents().Observables(e.ctx, e.a.ID, c1.ID)
	must(t, err)
	got, err := e.svc.Enrich(e.ctx, e.a.ID, c1.ID, obs[0].ID)
	must(t, err)
	if got != nil {
		t.Fatalf("enrichment without an enricher %+v", got)
	}
	svc, err := incident.NewService(e.st, audit.New(e.st.Audit(), audit.Options{}), incident.Options{Enricher: fakeIntel{}})
	must(t, err)
	got, err = svc.Enrich(e.ctx, e.a.ID, c1.ID, obs[0].ID)
	must(t, err)
	if len(got) != 1 || got[0].Summary != obs[0].Type+" "+obs[0].Value {
		t.Fatalf("enrichment %+v", got)
	}
	_, err = svc.Enrich(e.ctx, e.b.ID, c1.ID, obs[0].ID)
	wantErr(t, err, auth.ErrForbidden)
}

type fakeIntel struct{}

func (fakeIntel) Enrich(_ context.Context, _ string, o store.IncidentObservable) ([]incident.Enrichment, error) {
	return []incident.Enrichment{{Source: "test", Verdict: "malicious", Summary: o.Type + " " + o.Value}}, nil
}

func TestEvidenceTamper(t *testing.T) {
	e := newEnv(t)
	c, err := e.svc.Create(e.ctx, e.a.ID, incident.Input{Title: "evidence", Severity: "low"})
	must(t, err)
	content := []byte("<html><script>alert(1)</script></html>")
	ev, err := e.svc.AddEvidence(e.ctx, e.a.ID, c.ID, incident.EvidenceInput{Name: "../../etc/page.html", DeclaredType: "image/png",
		Content: bytes.NewReader(content)})
	must(t, err)
	sum := sha256.Sum256(content)
	if ev.SHA256 != hex.EncodeToString(sum[:]) || ev.Name != "page.html" || ev.SniffedType != "text/html" || ev.DeclaredType != "image/png" {
		t.Fatalf("evidence %+v", ev)
	}
	// The same content again is stored once.
	ev2, err := e.svc.AddEvidence(e.ctx, e.a.ID, c.ID, incident.EvidenceInput{Name: "copy.html", Content: bytes.NewReader(content)})
	must(t, err)
	_, _, err = e.svc.Download(e.ctx, e.a.ID, ev.ID, false)
	wantErr(t, err, auth.ErrForbidden)
	_, data, err := e.svc.Download(e.ctx, e.a.ID, ev.ID, true)
	must(t, err)
	if !bytes.Equal(data, content) {
		t.Fatal("downloaded content differs")
	}
	_, _, err = e.svc.Download(e.as(e.ctx, e.analyst, auth.RoleAnalyst), e.b.ID, ev.ID, true)
	wantErr(t, err, auth.ErrForbidden)

	// Change the stored blob behind the service's back.
	db := rawDB(t, e)
	res, err := db.ExecContext(e.ctx, `UPDATE incident_blobs SET content = ? WHERE sha256 = ?`, []byte("<html>clean</html>"), ev.SHA256)
	must(t, err)
	if n, _ := res.RowsAffected(); n != 1 {
		t.Fatalf("%d blobs changed", n)
	}
	_, data, err = e.svc.Download(e.ctx, e.a.ID, ev2.ID, true)
	wantErr(t, err, incident.ErrTampered)
	if data != nil || !strings.Contains(err.Error(), ev.SHA256) {
		t.Fatalf("tampered download: %v, %d bytes", err, len(data))
	}
	wantErr(t, e.svc.Verify(e.ctx, e.a.ID, ev.ID), incident.ErrTampered)
	ks, err := e.svc.Custody(e.ctx, e.a.ID, ev.ID)
	must(t, err)
	var actions []string
	for _, k := range ks {
		actions = append(actions, k.Action)
	}
	if !slices.Equal(actions, []string{"added", "downloaded", "verify_failed"}) {
		t.Fatalf("custody %v", actions)
	}
	ks, err = e.svc.Custody(e.ctx, e.a.ID, ev2.ID)
	must(t, err)
	if len(ks) != 2 || ks[1].Action != incident.CustodyVerifyFailed || ks[1].Actor != e.analyst.ID {
		t.Fatalf("custody of the copy %+v", ks)
	}
}

func TestEvidenceLimits(t *testing.T) {
	e := newEnv(t)
	svc, err := incident.NewService(e.st, audit.New(e.st.Audit(), audit.Options{}), incident.Options{MaxUpload: 16})
	must(t, err)
	c, err := svc.Create(e.ctx, e.a.ID, incident.Input{Title: "limits", Severity: "low"})
	must(t, err)
	_, err = svc.AddEvidence(e.ctx, e.a.ID, c.ID, incident.EvidenceInput{Name: "big", Content: bytes.NewReader(make([]byte, 17))})
	fieldCode(t, err, "file", store.CodeTooLarge)
	_, err = svc.AddEvidence(e.ctx, e.a.ID, c.ID, incident.EvidenceInput{Name: "empty", Content: bytes.NewReader(nil)})
	fieldCode(t, err, "file", store.CodeRequired)
	_, err = svc.AddEvidence(e.ctx, e.a.ID, c.ID, incident.EvidenceInput{Name: "x", DeclaredType: "not a type", Content: strings.NewReader("x")})
	fieldCode(t, err, "content_type", store.CodeInvalidAttribute)
}

func TestPermissionsAndTenants(t *testing.T) {
	e := newEnv(t)
	c, err := e.svc.Create(e.ctx, e.a.ID, incident.Input{Title: "mine", Severity: "low"})
	must(t, err)
	cust := e.as(t.Context(), e.customer, auth.RoleCustomer)
	_, err = e.svc.Get(cust, e.a.ID, c.ID)
	must(t, err)
	_, err = e.svc.Create(cust, e.a.ID, incident.Input{Title: "no", Severity: "low"})
	wantErr(t, err, auth.ErrForbidden)
	_, err = e.svc.Get(e.ctx, e.b.ID, c.ID)
	wantErr(t, err, auth.ErrForbidden)
	admin := auth.WithPrincipal(t.Context(), &auth.Principal{UserID: "root", Username: "root", GlobalRole: auth.RoleAdmin})
	_, err = e.svc.Get(admin, e.b.ID, c.ID)
	wantErr(t, err, store.ErrNotFound)
	_, err = e.svc.Create(t.Context(), e.a.ID, incident.Input{Title: "anon", Severity: "low"})
	wantErr(t, err, auth.ErrUnauthenticated)
	_, err = e.svc.Create(e.ctx, e.a.ID, incident.Input{Title: "x", Severity: "low", AssetIDs: []string{"other"}})
	fieldCode(t, err, "assets", store.CodeNotInTenant)
	_, err = e.svc.Create(e.ctx, e.a.ID, incident.Input{Title: strings.Repeat("x", incident.MaxTitle+1), Severity: "low"})
	fieldCode(t, err, "title", store.CodeTooLong)
	_, err = e.svc.Create(e.ctx, e.a.ID, incident.Input{Title: "x", Severity: "low", Tags: make([]string, incident.MaxTags+1)})
	fieldCode(t, err, "tags", store.CodeTooMany)
	_, err = e.svc.Create(e.ctx, e.a.ID, incident.Input{Title: "x", Severity: "low", Techniques: []string{"T59"}})
	fieldCode(t, err, "techniques", store.CodeOneOf)
	_, err = e.svc.Create(e.ctx, e.a.ID, incident.Input{Title: "x", Severity: "urgent"})
	fieldCode(t, err, "severity", store.CodeOneOf)
	_, err = e.svc.Create(e.ctx, e.a.ID, incident.Input{Title: "x", Severity: "low", GBClass: "nope"})
	fieldCode(t, err, "gb_class", store.CodeOneOf)
}

func TestTimelineOrder(t *testing.T) {
	e := newEnv(t)
	now := e.clock.now()
	t0 := now.Add(-3 * time.Hour)
	al := e.raise(t, "webshell", "web01", "high", t0, t0.Add(time.Hour),
		store.Event{Time: t0.Add(10 * time.Minute), Host: "web01", SourceIP: "198.51.100.23", Message: "POST /upload.php 200"})
	// An operator's action on the asset before the case (after the first alert) is in the timeline;
	// one on another asset is not.
	lg := audit.New(e.st.Audit(), audit.Options{Now: func() time.Time { return t0.Add(30 * time.Minute) }})
	must(t, lg.Record(e.ctx, audit.Event{TenantID: e.a.ID, Action: "asset.update", Object: "asset:" + e.asset.ID}))
	must(t, lg.Record(e.ctx, audit.Event{TenantID: e.a.ID, Action: "asset.update", Object: "asset:someone-else"}))
	c, err := e.svc.Promote(e.ctx, e.a.ID, []string{al.ID}, incident.Input{})
	must(t, err)
	_, err = e.svc.AddNote(e.ctx, e.a.ID, c.ID, t0.Add(5*time.Minute), "customer saw the defaced page")
	must(t, err)
	e.clock.advance(time.Minute)
	c, err = e.svc.SetPhase(e.ctx, e.a.ID, c.ID, 0, incident.PhaseContain, "")
	must(t, err)
	_, err = e.svc.AddNote(e.ctx, e.a.ID, c.ID, now.Add(24*time.Hour), "from the future")
	fieldCode(t, err, "at", store.CodeOutOfRange)
	items, err := e.svc.Timeline(e.ctx, e.a.ID, c.ID)
	must(t, err)
	var kinds []string
	for i, it := range items {
		if i > 0 && it.At.Before(items[i-1].At) {
			t.Fatalf("item %d at %v before %v", i, it.At, items[i-1].At)
		}
		kinds = append(kinds, it.Kind)
	}
	// By time of the fact: first alert (t0), note (t0+5m), event (t0+10m), operator
	// action (t0+30m), last alert (t0+1h), then the case's own writes.
	want := []string{incident.ItemAlertFirst, incident.ItemNote, incident.ItemEvent, incident.ItemOperator, incident.ItemAlertLast}
	if !slices.Equal(kinds[:len(want)], want) {
		t.Fatalf("timeline kinds %v", kinds)
	}
	for _, k := range []string{incident.ItemCreated, incident.ItemPhase, incident.ItemObservable} {
		if !slices.Contains(kinds, k) {
			t.Errorf("no %s in %v", k, kinds)
		}
	}
	if n := strings.Count(strings.Join(kinds, " "), incident.ItemOperator); n != 1 {
		t.Fatalf("%d operator actions", n)
	}
}

func TestReportFinal(t *testing.T) {
	e := newEnv(t)
	c, err := e.svc.Create(e.ctx, e.a.ID, incident.Input{Title: "report", Severity: "low"})
	must(t, err)
	c, err = e.svc.EditReport(e.ctx, e.a.ID, c.ID, c.Version, map[string]string{"summary": "All good.", "impact": "None."})
	must(t, err)
	_, err = e.svc.EditReport(e.ctx, e.a.ID, c.ID, c.Version, map[string]string{"lessons": "x"})
	fieldCode(t, err, "section", store.CodeOneOf)
	c, err = e.svc.FinaliseReport(e.ctx, e.a.ID, c.ID, c.Version)
	must(t, err)
	_, err = e.svc.EditReport(e.ctx, e.a.ID, c.ID, c.Version, map[string]string{"summary": "changed"})
	wantErr(t, err, incident.ErrReportFinal)
	doc, err := e.svc.Report(e.ctx, e.a.ID, c.ID, "zh-CN")
	must(t, err)
	if doc.Sections[0].Heading != "事件概述" || doc.Sections[0].Paragraphs[0] != "All good." {
		t.Fatalf("final zh-CN summary %+v", doc.Sections[0])
	}
}

// hostile is text that breaks naive renderers.
func hostile(n int) string {
	base := "<script>alert('x')</script> \u202Egnp.exe \x00\x07\x1b[31m \uFFFE {{.}} ${jndi:ldap://x} ' OR 1=1-- \n\n"
	return strings.Repeat(base, n/len(base)+1)[:n]
}

func TestReportHostileStrings(t *testing.T) {
	e := newEnv(t)
	ctx := e.ctx
	name := hostile(300)
	asset := store.Asset{TenantID: e.a.ID, Kind: "host", Name: name, Address: hostile(200), Importance: 2}
	must(t, e.st.Assets().Create(ctx, &asset))
	now := e.clock.now()
	al := e.raise(t, "r<script>\x00\n\x1b[31m", "web01", "critical", now.Add(-time.Hour), now,
		store.Event{Time: now.Add(-time.Hour), Host: "web01", Message: hostile(9000), User: hostile(100), SourceIP: "203.0.113.9"})
	_, err := e.svc.Promote(ctx, e.a.ID, []string{al.ID}, incident.Input{Title: hostile(incident.MaxTitle)})
	fieldCode(t, err, "title", store.CodeInvalidAttribute)
	// The title derived from a hostile alert is made one line.
	_, err = e.svc.Promote(ctx, e.a.ID, []string{al.ID}, incident.Input{Tags: []string{"\u202Eevil"}})
	fieldCode(t, err, "tags", store.CodeInvalidTag)
	c, err := e.svc.Promote(ctx, e.a.ID, []string{al.ID}, incident.Input{Description: hostile(incident.MaxDescription),
		Tags: []string{"<b>", "'\"&"}, AssetIDs: []string{asset.ID}})
	must(t, err)
	if strings.ContainsAny(c.Title, "\x00\n\x1b") {
		t.Fatalf("derived title %q", c.Title)
	}
	_, err = e.svc.AddObservables(ctx, e.a.ID, c.ID, []incident.ObservableInput{{Type: "other", Value: "<img src=x onerror=alert(1)>" +
		strings.Repeat("A", 2000), IOC: true, Description: hostile(incident.MaxNote)}, {Type: "file", Value: "\u202Efdp.exe", IOC: true}})
	must(t, err)
	tasks, err := e.svc.ApplyPlaybook(ctx, e.a.ID, c.ID, "webshell")
	must(t, err)
	_, err = e.svc.AddTaskLog(ctx, e.a.ID, tasks[0].ID, hostile(incident.MaxNote))
	must(t, err)
	_, err = e.svc.UpdateTask(ctx, e.a.ID, tasks[0].ID, incident.TaskInput{Title: hostile(incident.MaxTitle), Phase: tasks[0].Phase,
		Status: incident.TaskDone, Description: hostile(incident.MaxTaskDesc)})
	must(t, err)
	_, err = e.svc.AddNote(ctx, e.a.ID, c.ID, time.Time{}, hostile(incident.MaxNote))
	must(t, err)
	_, err = e.svc.AddEvidence(ctx, e.a.ID, c.ID, incident.EvidenceInput{Name: hostile(400), Content: strings.NewReader(hostile(1000))})
	must(t, err)
	secs := map[string]string{}
	for _, k := range incident.ReportSections() {
		secs[k] = hostile(incident.MaxDescription)
	}
	_, err = e.svc.EditReport(ctx, e.a.ID, c.ID, 0, secs)
	must(t, err)
	for _, lang := range []string{"en", "zh-CN", "<script>"} {
		doc, err := e.svc.Report(ctx, e.a.ID, c.ID, lang)
		must(t, err)
		must(t, doc.Validate())
		if len(doc.Sections) < 8 {
			t.Fatalf("%s: %d sections", lang, len(doc.Sections))
		}
		var html bytes.Buffer
		must(t, report.RenderHTML(t.Context(), doc, &html, report.Options{}))
		if strings.Contains(html.String(), "<script>alert") || strings.Contains(html.String(), "<img src=x") {
			t.Fatalf("%s: analyst text reached the HTML unescaped", lang)
		}
	}
	// A customer viewer may read the report; another tenant's principal may not.
	_, err = e.svc.Report(e.as(t.Context(), e.customer, auth.RoleCustomer), e.a.ID, c.ID, "en")
	must(t, err)
	_, err = e.svc.Report(ctx, e.b.ID, c.ID, "en")
	wantErr(t, err, auth.ErrForbidden)
}

// TestOnChange: state changes are announced after they are stored, in
// order; a failing listener does not fail the change.
func TestOnChange(t *testing.T) {
	e := newEnv(t)
	var got []string
	svc, err := incident.NewService(e.st, audit.New(e.st.Audit(), audit.Options{}), incident.Options{
		OnChange: func(ctx context.Context, c store.Incident, change string) error {
			stored, err := e.st.Incidents().Get(ctx, c.TenantID, c.ID)
			if err != nil || stored.Phase != c.Phase {
				t.Errorf("announced before it was stored: %v", err)
			}
			got = append(got, change+":"+c.Phase)
			return errors.New("listener down")
		}})
	must(t, err)
	c, err := svc.Create(e.ctx, e.a.ID, incident.Input{Title: "announce", Severity: "high"})
	must(t, err)
	c, err = svc.SetPhase(e.ctx, e.a.ID, c.ID, c.Version, "contain", "isolated")
	must(t, err)
	_, err = svc.Close(e.ctx, e.a.ID, c.ID, c.Version, "true_positive", "done")
	must(t, err)
	if want := []string{"create:detect", "phase:contain", "close:closed"}; !slices.Equal(got, want) {
		t.Fatalf("announced %v, want %v", got, want)
	}
}
