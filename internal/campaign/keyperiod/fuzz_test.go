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
