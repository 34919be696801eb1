package manager

import (
	"errors"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/store"
)

// FuzzParseRoster feeds roster text: it parses or gives an input error,
// never panics, and every shift it returns has a lead and times.
func FuzzParseRoster(f *testing.F) {
	f.Add("2027-10-01T00:00 2027-10-01T12:00 李四 13800000000 王五 赵六\n")
	f.Add("2027-10-01T12:00 2027-10-02T00:00 lead\n\n  \n")
	f.Add("tomorrow later 张三")
	loc := time.FixedZone("+08:00", 8*3600)
	f.Fuzz(func(t *testing.T, text string) {
		shifts, err := ParseRoster(text, loc)
		if err != nil {
			if !errors.Is(err, store.ErrInvalid) {
				t.Fatalf("error %v is not an input error", err)
			}
			return
		}
		for _, s := range shifts {
			if s.Lead.Name == "" || s.Start.IsZero() || s.End.IsZero() {
				t.Fatalf("shift %+v", s)
			}
		}
	})
}

// FuzzParsePorts feeds port lists: ports are 1 to 65535, at most MaxPorts.
func FuzzParsePorts(f *testing.F) {
	for _, s := range []string{"80, 443", "22 3389\n445", "0", "65536", "1,1,1", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		ps, err := ParsePorts("ports", text)
		if err != nil {
			if !errors.Is(err, store.ErrInvalid) {
				t.Fatalf("error %v is not an input error", err)
			}
			return
		}
		if len(ps) > MaxPorts {
			t.Fatalf("%d ports", len(ps))
		}
		for _, p := range ps {
			if p == 0 {
				t.Fatal("port 0 accepted")
			}
		}
	})
}
