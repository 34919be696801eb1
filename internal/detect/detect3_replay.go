package detect

import (
	"strconv"
	"time"
)

// idSet is the bounded set of event IDs a correlation group counted,
// oldest first, each with the time it was counted at.
type idSet struct {
	byID  map[string]struct{}
	order []idStamp
}

type idStamp struct {
	id string
	t  time.Time
}

// countedKey is what a group remembers for the i-th reference's match of
// an event: temporal types count one event once per rule it matches.
func countedKey(id string, i int) string { return id + "\x00" + strconv.Itoa(i) }

func (s *idSet) len() int { return len(s.order) }

// add records id at t and reports whether it was new. Beyond limit
// entries the oldest are forgotten.
func (s *idSet) add(id string, t time.Time, limit int) bool {
	if _, ok := s.byID[id]; ok {
		return false
	}
	if s.byID == nil {
		s.byID = make(map[string]struct{})
	}
	s.byID[id] = struct{}{}
	s.order = append(s.order, idStamp{id, t})
	if over := len(s.order) - max(limit, 1); over > 0 {
		s.drop(over)
	}
	return true
}

// expire forgets the IDs counted before horizon.
func (s *idSet) expire(horizon time.Time) {
	n := 0
	for n < len(s.order) && s.order[n].t.Before(horizon) {
		n++
	}
	s.drop(n)
}

func (s *idSet) drop(n int) {
	if n <= 0 {
		return
	}
	for _, x := range s.order[:n] {
		delete(s.byID, x.id)
	}
	// The array is reallocated, holding only live entries, when append
	// runs out of room.
	s.order = s.order[n:]
}

// reset empties a group's aggregates after it fired; the counted IDs
// stay.
func (g *group) reset() {
	g.entries = nil
	if g.distinct != nil {
		g.distinct = make(map[string]int)
	}
	g.sum = 0
	for i := range g.seen {
		g.seen[i] = time.Time{}
	}
}

// RefError is a correlation reference that does not resolve: Ref is the
// rule id or name as written.
type RefError struct {
	Ref string
	msg string
}

func (e *RefError) Error() string { return e.msg }
