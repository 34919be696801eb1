package drill

import (
	"errors"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2025, 10, 24, 20, 0, 0, 0, time.UTC)

func testTeams() []Team {
	return []Team{
		{Name: "red-1", Role: RoleAttacker, Members: []string{"alice"}},
		{Name: "blue-hq", Role: RoleDefender, Unit: "HQ", Members: []string{"bob", "carol"}},
		{Name: "director", Role: RoleDirector, Members: []string{"dave"}},
	}
}

func testScope() Scope {
	return Scope{
		CIDRs:           []string{"10.20.0.0/16", "2001:db8:20::/48"},
		Hosts:           []string{"*.attackrange.local", "portal.example"},
		AssetIDs:        []string{"asset-dc", "asset-portal"},
		ExcludeCIDRs:    []string{"10.20.99.0/24"},
		ExcludeHosts:    []string{"backup.attackrange.local"},
		ExcludeAssetIDs: []string{"asset-billing"},
	}
}

func newTestDrill(t *testing.T) *Drill {
	t.Helper()
	d, err := New("d1", "tenant-a", "Key period drill", testScope(), Window{Start: t0, End: t0.Add(30 * time.Hour)}, testTeams())
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestNewValidates(t *testing.T) {
	cases := map[string]func(*Drill){
		"no name":        func(d *Drill) { d.Name = " " },
		"control char":   func(d *Drill) { d.Name = "x\x00y" },
		"window":         func(d *Drill) { d.Window.End = d.Window.Start },
		"too long":       func(d *Drill) { d.Window.End = d.Window.Start.Add(MaxDrillLength + time.Hour) },
		"empty scope":    func(d *Drill) { d.Scope = Scope{} },
		"bad cidr":       func(d *Drill) { d.Scope.CIDRs = []string{"10.0.0.0/33"} },
		"bad wildcard":   func(d *Drill) { d.Scope.Hosts = []string{"a.*.example"} },
		"bad role":       func(d *Drill) { d.Teams[0].Role = "red" },
		"no director":    func(d *Drill) { d.Teams = d.Teams[:2] },
		"duplicate team": func(d *Drill) { d.Teams[1].Name = d.Teams[0].Name },
	}
	for name, mutate := range cases {
		d := &Drill{ID: "d", TenantID: "t", Name: "n", Scope: testScope(), Window: Window{Start: t0, End: t0.Add(time.Hour)}, Teams: testTeams()}
		mutate(d)
		if err := d.Validate(); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: got %v, want ErrInvalid", name, err)
		}
	}
}

func TestStateMachine(t *testing.T) {
	d := newTestDrill(t)
	if err := d.Transition(StatePaused, "dave", "x", t0); !errors.Is(err, ErrState) {
		t.Fatalf("planned → paused: %v", err)
	}
	steps := []struct {
		to          State
		by, reason  string
		wantErr     error
		wantStateAt State
	}{
		{StateRunning, "dave", "", nil, StateRunning},
		{StatePaused, "dave", "", ErrInvalid, StateRunning}, // an emergency stop says why
		{StatePaused, "dave", "production database slowed down", nil, StatePaused},
		{StatePaused, "dave", "again", ErrState, StatePaused},
		{StateRunning, "", "", ErrInvalid, StatePaused}, // who is always logged
		{StateRunning, "dave", "", nil, StateRunning},
		{StateFinished, "dave", "", nil, StateFinished},
		{StateRunning, "dave", "", ErrState, StateFinished},
	}
	for i, s := range steps {
		err := d.Transition(s.to, s.by, s.reason, t0.Add(time.Duration(i)*time.Minute))
		if (s.wantErr == nil) != (err == nil) || (s.wantErr != nil && !errors.Is(err, s.wantErr)) {
			t.Fatalf("step %d (→%s): got %v, want %v", i, s.to, err, s.wantErr)
		}
		if d.State != s.wantStateAt {
			t.Fatalf("step %d: state %s, want %s", i, d.State, s.wantStateAt)
		}
	}
	if len(d.StateLog) != 4 {
		t.Fatalf("state log has %d entries, want 4: %+v", len(d.StateLog), d.StateLog)
	}
	stop := d.StateLog[1]
	if stop.From != StateRunning || stop.To != StatePaused || stop.By != "dave" || !strings.Contains(stop.Reason, "database") {
		t.Fatalf("emergency stop logged as %+v", stop)
	}
}

func TestAttacksOnlyWhileRunning(t *testing.T) {
	d := newTestDrill(t)
	rec := AttackRecord{ID: "r1", Team: "red-1", What: "scan", At: t0.Add(time.Hour), Target: Target{Address: "10.20.1.5"}, Technique: "T1046"}
	if err := d.RecordAttack(rec); !errors.Is(err, ErrState) {
		t.Fatalf("planned drill accepted an attack: %v", err)
	}
	must(t, d.Transition(StateRunning, "dave", "", t0))
	must(t, d.Transition(StatePaused, "dave", "emergency stop: outage", t0.Add(time.Minute)))
	if err := d.RecordAttack(rec); !errors.Is(err, ErrState) {
		t.Fatalf("paused drill accepted an attack: %v", err)
	}
	must(t, d.Transition(StateRunning, "dave", "", t0.Add(2*time.Minute)))
	must(t, d.RecordAttack(rec))
	if err := d.RecordAttack(rec); !errors.Is(err, ErrInvalid) {
		t.Fatalf("duplicate record id: %v", err)
	}
	bad := rec
	bad.ID, bad.Team = "r2", "blue-hq"
	if err := d.RecordAttack(bad); !errors.Is(err, ErrInvalid) {
		t.Fatalf("defender recorded an attack: %v", err)
	}
	bad.Team, bad.At = "red-1", t0.Add(-time.Hour)
	if err := d.RecordAttack(bad); !errors.Is(err, ErrInvalid) {
		t.Fatalf("record outside the window: %v", err)
	}
	bad.At, bad.Technique = t0.Add(time.Hour), "T12"
	if err := d.RecordAttack(bad); !errors.Is(err, ErrInvalid) {
		t.Fatalf("bad technique: %v", err)
	}
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
