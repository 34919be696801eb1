package sqldb

import (
	"errors"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/store"
)

func TestRebind(t *testing.T) {
	pg := &Dialect{NumberedParams: true}
	lite := &Dialect{}
	for in, want := range map[string]string{
		"SELECT 1":        "SELECT 1",
		"a = ? AND b = ?": "a = $1 AND b = $2",
		`x LIKE ? ESCAPE '\' AND y = '?' AND z = ?`: `x LIKE $1 ESCAPE '\' AND y = '?' AND z = $2`,
		`"we?ird" = ? AND 'it''s?' = ?`:             `"we?ird" = $1 AND 'it''s?' = $2`,
		"VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)":  "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
	} {
		if got := pg.rebind(in); got != want {
			t.Errorf("rebind(%q) = %q, want %q", in, got, want)
		}
		if got := lite.rebind(in); got != in {
			t.Errorf("sqlite rebind changed %q to %q", in, got)
		}
	}
}

func TestPageBounds(t *testing.T) {
	for _, tc := range []struct {
		in            store.Page
		limit, offset int
	}{
		{store.Page{}, DefaultPageSize, 0},
		{store.Page{Limit: -5, Offset: -3}, DefaultPageSize, 0},
		{store.Page{Limit: 10, Offset: 20}, 10, 20},
		{store.Page{Limit: store.MaxPageSize}, store.MaxPageSize, 0},
		{store.Page{Limit: store.MaxPageSize + 1}, store.MaxPageSize, 0},
	} {
		limit, offset := PageBounds(tc.in)
		if limit != tc.limit || offset != tc.offset {
			t.Errorf("PageBounds(%+v) = %d, %d; want %d, %d", tc.in, limit, offset, tc.limit, tc.offset)
		}
	}
}

func TestContainsPattern(t *testing.T) {
	for in, want := range map[string]string{
		"Web":     "%web%",
		"100%":    `%100!%%`,
		"a_b":     `%a!_b%`,
		"wow!":    `%wow!!%`,
		`c:\temp`: `%c:\temp%`,
	} {
		if got := containsPattern(in); got != want {
			t.Errorf("containsPattern(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestTimeRoundTrip(t *testing.T) {
	lite := &Store{d: &Dialect{TimeAsText: true}}
	pg := &Store{d: &Dialect{}}
	in := time.Date(2030, 1, 2, 3, 4, 5, 678901234, time.FixedZone("CST", 8*3600))
	want := time.Date(2030, 1, 1, 19, 4, 5, 678901000, time.UTC)
	for _, s := range []*Store{lite, pg} {
		var got time.Time
		if err := (timeDest{&got}).Scan(s.t(in)); err != nil {
			t.Fatal(err)
		}
		if !got.Equal(want) || got.Location() != time.UTC {
			t.Errorf("round trip (text %v) = %v, want %v", s.d.TimeAsText, got, want)
		}
		if s.t(time.Time{}) != nil {
			t.Errorf("zero time is not NULL")
		}
	}
	// Text timestamps sort as times do.
	a, b := lite.t(in).(string), lite.t(in.Add(time.Microsecond)).(string)
	if !(a < b) || len(a) != len(b) {
		t.Errorf("text timestamps %q and %q do not sort", a, b)
	}
	got := in
	if err := (timeDest{&got}).Scan(nil); err != nil || !got.IsZero() {
		t.Errorf("NULL scanned to %v, %v", got, err)
	}
}

func TestWrap(t *testing.T) {
	boom := errors.New("boom")
	s := &Store{d: &Dialect{
		IsUniqueViolation:     func(err error) bool { return err.Error() == "dup" },
		IsForeignKeyViolation: func(err error) bool { return err.Error() == "fk" },
	}}
	if err := s.wrap("op", nil); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		in   error
		want error
	}{
		{errors.New("dup"), store.ErrConflict},
		{errors.New("fk"), store.ErrNotFound},
		{store.ErrNotFound, store.ErrNotFound},
		{boom, boom},
	} {
		if err := s.wrap("op", tc.in); !errors.Is(err, tc.want) {
			t.Errorf("wrap(%v) = %v, want %v", tc.in, err, tc.want)
		}
	}
}
