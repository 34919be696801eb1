package versions

import (
	"fmt"
	"slices"
)

// Event is one event of an OSV range: exactly one field is set.
// Introduced "0" means "from the first version".
type Event struct {
	Introduced   string `json:"introduced,omitempty"`
	Fixed        string `json:"fixed,omitempty"`
	LastAffected string `json:"last_affected,omitempty"`
	Limit        string `json:"limit,omitempty"`
}

func (e Event) version() string {
	switch {
	case e.Introduced != "":
		return e.Introduced
	case e.Fixed != "":
		return e.Fixed
	case e.LastAffected != "":
		return e.LastAffected
	}
	return e.Limit
}

// compareEv orders two event versions; "0" is below every version.
func compareEv(s Scheme, a, b string) (int, error) {
	switch {
	case a == b:
		return 0, nil
	case a == "0":
		return -1, nil
	case b == "0":
		return 1, nil
	}
	return Compare(s, a, b)
}

// InEvents reports whether v is affected by an OSV range given by its
// events, with the evaluation of the OSV schema: events sorted by version,
// introduced starts an affected span, fixed (at or above) and
// last_affected (above) end it, and limit caps the range.
func InEvents(s Scheme, v string, events []Event) (bool, error) {
	if err := check(v); err != nil {
		return false, err
	}
	evs := slices.Clone(events)
	var sortErr error
	slices.SortStableFunc(evs, func(a, b Event) int {
		c, err := compareEv(s, a.version(), b.version())
		if err != nil && sortErr == nil {
			sortErr = err
		}
		return c
	})
	if sortErr != nil {
		return false, fmt.Errorf("range: %w", sortErr)
	}
	affected := false
	for _, e := range evs {
		c, err := compareEv(s, v, e.version())
		if err != nil {
			return false, fmt.Errorf("range: %w", err)
		}
		switch {
		case e.Introduced != "":
			if c >= 0 {
				affected = true
			}
		case e.Fixed != "":
			if c >= 0 {
				affected = false
			}
		case e.LastAffected != "":
			if c > 0 {
				affected = false
			}
		case e.Limit != "":
			if c >= 0 {
				return false, nil
			}
		}
	}
	return affected, nil
}

// Bounds is a version range as CPE match criteria write it (NVD's
// versionStartIncluding, ..., versionEndExcluding); empty bounds are open.
// Exact, when set, matches that version only.
type Bounds struct {
	Exact          string `json:"version,omitempty" yaml:"version,omitempty"`
	StartIncluding string `json:"start_including,omitempty" yaml:"start_including,omitempty"`
	StartExcluding string `json:"start_excluding,omitempty" yaml:"start_excluding,omitempty"`
	EndIncluding   string `json:"end_including,omitempty" yaml:"end_including,omitempty"`
	EndExcluding   string `json:"end_excluding,omitempty" yaml:"end_excluding,omitempty"`
}

// Contains reports whether v lies within the bounds under scheme s.
func (b Bounds) Contains(s Scheme, v string) (bool, error) {
	type bound struct {
		ver string
		ok  func(int) bool
	}
	for _, x := range []bound{
		{b.Exact, func(c int) bool { return c == 0 }},
		{b.StartIncluding, func(c int) bool { return c >= 0 }},
		{b.StartExcluding, func(c int) bool { return c > 0 }},
		{b.EndIncluding, func(c int) bool { return c <= 0 }},
		{b.EndExcluding, func(c int) bool { return c < 0 }},
	} {
		if x.ver == "" {
			continue
		}
		c, err := Compare(s, v, x.ver)
		if err != nil {
			return false, err
		}
		if !x.ok(c) {
			return false, nil
		}
	}
	return true, nil
}
