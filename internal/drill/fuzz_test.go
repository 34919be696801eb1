package drill

import (
	"bytes"
	"errors"
	"testing"
	"time"
)

func FuzzParseScheme(f *testing.F) {
	f.Add(defaultScheme)
	f.Add([]byte("name: x\nattacker: {points: {target_system: 5}, repeat_percent: [100, 0]}\ndefender: {fast_within: 1h, repeat_percent: [100]}\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		s, err := ParseScheme(bytes.NewReader(in))
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error does not wrap ErrInvalid: %v", err)
			}
			return
		}
		if err := s.Validate(); err != nil {
			t.Fatalf("parsed scheme does not validate: %v", err)
		}
	})
}

func FuzzParseLibrary(f *testing.F) {
	data, err := libraryFS.ReadFile("library/techniques.yaml")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(data)
	f.Add([]byte("cases:\n  - {id: a, technique: T1001, tactic: impact, name: x, layers: [edr], commands: [{text: y}]}\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		lib, err := ParseLibrary(bytes.NewReader(in))
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error does not wrap ErrInvalid: %v", err)
			}
			return
		}
		for _, c := range lib.Cases() {
			if err := c.Validate(); err != nil {
				t.Fatalf("library case does not validate: %v", err)
			}
		}
	})
}

func FuzzParsePlan(f *testing.F) {
	lib, err := DefaultLibrary()
	if err != nil {
		f.Fatal(err)
	}
	f.Add([]byte("name: x\nwindow: {start: 2026-01-01T00:00:00Z, end: 2026-01-02T00:00:00Z}\nscope: {cidrs: [10.0.0.0/8]}\n" +
		"teams: [{name: a, role: attacker}, {name: b, role: defender}, {name: c, role: director}]\nlibrary_cases: [lib-t1046-service-scan]\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		d, err := ParsePlan(bytes.NewReader(in), lib)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error does not wrap ErrInvalid: %v", err)
			}
			return
		}
		if err := d.Validate(); err != nil {
			t.Fatalf("parsed plan does not validate: %v", err)
		}
	})
}

func FuzzApplyLog(f *testing.F) {
	f.Add([]byte(`{"records": [{"id": "A1", "team": "red", "what": "x", "at": "2026-11-30T02:00:00Z", "target": {"address": "10.20.1.1"}, "technique": "T1046"}],` +
		`"observed": [{"record_id": "A1", "layer": "waf", "level": "blocked", "at": "2026-11-30T02:01:00Z", "by": "b"}]}`))
	f.Fuzz(func(t *testing.T, in []byte) {
		d := &Drill{ID: "d", TenantID: "t", Name: "n", Scope: Scope{CIDRs: []string{"10.20.0.0/16"}}, State: StatePlanned,
			Window: Window{Start: time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC), End: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)},
			Teams:  []Team{{Name: "red", Role: RoleAttacker}, {Name: "blue", Role: RoleDefender}, {Name: "c", Role: RoleDirector}}}
		if err := d.ApplyLog(bytes.NewReader(in)); err != nil {
			if !errors.Is(err, ErrInvalid) && !errors.Is(err, ErrOutOfScope) && !errors.Is(err, ErrNotFound) {
				t.Fatalf("error does not wrap a drill sentinel: %v", err)
			}
			if len(d.Records)+len(d.Observed)+len(d.Reports) != 0 {
				t.Fatal("a refused log was partly kept")
			}
			return
		}
		if _, err := d.Score(); err != nil {
			t.Fatalf("score of an accepted log: %v", err)
		}
	})
}
