package keyperiod

import (
	"errors"
	"testing"

	"github.com/vigil-sec/vigil/internal/datafile"
)

// FuzzParseCalendar checks the calendar loader never panics, refuses with
// a *datafile.LineError, and keeps every accepted period well formed.
func FuzzParseCalendar(f *testing.F) {
	b, err := data.ReadFile("data/calendar.yaml")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Fuzz(func(t *testing.T, doc []byte) {
		c, err := ParseCalendar(doc, "fuzz.yaml")
		if err != nil {
			var le *datafile.LineError
			if !errors.As(err, &le) {
				t.Fatalf("error %v is not a *datafile.LineError", err)
			}
			return
		}
		for _, p := range c.Periods {
			if !p.End.After(p.Start) || p.LeadTime <= 0 || p.LeadTime > MaxLeadTime {
				t.Fatalf("accepted period %+v", p)
			}
		}
	})
}

// FuzzCalendarPut checks a period typed into a form never panics, is
// refused with a *SpecError, and once accepted survives a write and read.
func FuzzCalendarPut(f *testing.F) {
	f.Add("ciie-2027", "进博会", "event", "2027-11-05", "2027-11-10", "21d")
	f.Add("a", "A", "holiday", "2027-02-10", "2027-02-01", "7d")
	f.Add("b", "", "party", "x", "y", "-1d")
	cal, err := DefaultCalendar()
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, id, name, kind, start, end, lead string) {
		c, err := cal.Put(PeriodSpec{ID: id, Name: name, Kind: kind, Start: start, End: end, LeadTime: lead})
		if err != nil {
			var se *SpecError
			if !errors.As(err, &se) {
				t.Fatalf("error %v is not a *SpecError", err)
			}
			return
		}
		doc, err := c.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ParseCalendar(doc, "fuzz.yaml"); err != nil {
			t.Fatalf("accepted period does not read back: %v\n%s", err, doc)
		}
	})
}
