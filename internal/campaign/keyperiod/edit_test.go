package keyperiod

import (
	"errors"
	"slices"
	"testing"
	"time"
)

// TestCalendarEdit adds, edits and removes periods and checks the
// calendar survives a write and a read unchanged.
func TestCalendarEdit(t *testing.T) {
	cal, err := DefaultCalendar()
	if err != nil {
		t.Fatal(err)
	}
	n := len(cal.Periods)
	expo := PeriodSpec{ID: "ciie-2027", Name: "China International Import Expo 2027", NameZh: "2027年进博会", Kind: KindEvent,
		Start: "2027-11-05", End: "2027-11-10", LeadTime: "21d"}
	added, err := cal.Put(expo)
	if err != nil {
		t.Fatal(err)
	}
	if len(cal.Periods) != n || len(added.Periods) != n+1 {
		t.Fatalf("periods before %d after %d; the original must not change", len(cal.Periods), len(added.Periods))
	}
	p, err := added.Period("ciie-2027")
	if err != nil {
		t.Fatal(err)
	}
	// Six days from 5 November 00:00 at +08:00, which is 4 November 16:00 UTC.
	if want := time.Date(2027, 11, 4, 16, 0, 0, 0, time.UTC); !p.Start.Equal(want) || p.End.Sub(p.Start) != 6*24*time.Hour || p.LeadTime != 21*24*time.Hour {
		t.Fatalf("period %+v", p)
	}
	if got := added.Spec(p); got != expo {
		t.Errorf("spec %+v, want %+v", got, expo)
	}
	// Editing keeps the id and moves the dates; the list stays by start.
	moved := expo
	moved.Start, moved.End, moved.LeadTime = "2027-01-20", "2027-01-21", "1d12h"
	edited, err := added.Put(moved)
	if err != nil {
		t.Fatal(err)
	}
	if len(edited.Periods) != n+1 || edited.Periods[0].ID != "ciie-2027" || edited.Periods[0].LeadTime != 36*time.Hour {
		t.Fatalf("edited: first %+v", edited.Periods[0])
	}
	// Written and read back, the calendar is the same.
	doc, err := edited.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	back, err := ParseCalendar(doc, "tenant.yaml")
	if err != nil {
		t.Fatalf("%v\n%s", err, doc)
	}
	if !slices.EqualFunc(back.Periods, edited.Periods, func(a, b Period) bool {
		return a.ID == b.ID && a.Name == b.Name && a.NameZh == b.NameZh && a.Kind == b.Kind && a.Start.Equal(b.Start) && a.End.Equal(b.End) && a.LeadTime == b.LeadTime
	}) {
		t.Errorf("round trip changed the periods:\n%s", doc)
	}
	removed, err := back.Remove("ciie-2027")
	if err != nil || len(removed.Periods) != n || len(back.Periods) != n+1 {
		t.Fatalf("remove: %v", err)
	}
	if _, err := removed.Remove("ciie-2027"); !errors.Is(err, ErrNoPeriod) {
		t.Errorf("removing twice: %v", err)
	}
}

func TestCalendarPutRefuses(t *testing.T) {
	cal, err := DefaultCalendar()
	if err != nil {
		t.Fatal(err)
	}
	ok := PeriodSpec{ID: "x", Name: "X", Kind: KindEvent, Start: "2027-06-01", End: "2027-06-02", LeadTime: "7d"}
	for field, mod := range map[string]func(*PeriodSpec){
		"id":        func(p *PeriodSpec) { p.ID = "Bad ID" },
		"name":      func(p *PeriodSpec) { p.Name = "two\nlines" },
		"kind":      func(p *PeriodSpec) { p.Kind = "party" },
		"start":     func(p *PeriodSpec) { p.Start = "2027-13-01" },
		"end":       func(p *PeriodSpec) { p.End = "2027-05-01" },
		"lead_time": func(p *PeriodSpec) { p.LeadTime = "400d" },
	} {
		p := ok
		mod(&p)
		var se *SpecError
		if _, err := cal.Put(p); !errors.As(err, &se) || se.Field != field {
			t.Errorf("%s: %v", field, err)
		}
	}
	if _, err := cal.Put(ok); err != nil {
		t.Errorf("a good spec: %v", err)
	}
}
