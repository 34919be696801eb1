package detect

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// DefaultMaxSnapshotEntries bounds the matches a Snapshot keeps over all
// correlations and groups.
const DefaultMaxSnapshotEntries = 200_000

// snapshotVersion is the format of Snapshot's JSON.
const snapshotVersion = 1

type snapshot struct {
	Version int        `json:"version"`
	Clock   time.Time  `json:"clock"`
	Corrs   []snapCorr `json:"correlations"`
	// Dropped counts groups left out to respect the entry bound.
	Dropped int `json:"dropped,omitempty"`
}

type snapCorr struct {
	// Key identifies the correlation across restarts: id, else name,
	// else path and title.
	Key    string          `json:"key"`
	Type   CorrelationType `json:"type"`
	Refs   int             `json:"refs"`
	Groups []snapGroup     `json:"groups"`
}

type snapGroup struct {
	Values  []string    `json:"values"`
	Last    time.Time   `json:"last"`
	Entries []snapEntry `json:"entries,omitempty"`
	Seen    []time.Time `json:"seen,omitempty"`
	// Counted are the event IDs the group counted (see
	// Correlator.ProcessEvent), oldest first.
	Counted []snapID `json:"counted,omitempty"`
}

type snapID struct {
	ID string    `json:"id"`
	T  time.Time `json:"t"`
}

type snapEntry struct {
	T time.Time `json:"t"`
	R int       `json:"r"`
	S string    `json:"s,omitempty"`
	F float64   `json:"f,omitempty"`
}

func (c *Correlation) stateKey() string {
	switch {
	case c.ID != "":
		return "id:" + c.ID
	case c.Name != "":
		return "name:" + c.Name
	}
	return "path:" + c.Path + "|" + c.Title
}

// Snapshot returns the Correlator's windows as JSON, for Restore after a
// restart. At most maxEntries matches (DefaultMaxSnapshotEntries when
// maxEntries <= 0) are kept, the groups that saw a match most recently
// first; groups left out are counted in the snapshot. Groups with nothing
// left inside their window are not written.
func (cr *Correlator) Snapshot(maxEntries int) ([]byte, error) {
	if maxEntries <= 0 {
		maxEntries = DefaultMaxSnapshotEntries
	}
	cr.mu.Lock()
	defer cr.mu.Unlock()
	type cand struct {
		corr int
		g    *group
	}
	snap := snapshot{Version: snapshotVersion, Clock: cr.clock}
	var cands []cand
	for i, c := range cr.corrs {
		snap.Corrs = append(snap.Corrs, snapCorr{Key: c.stateKey(), Type: c.Type, Refs: len(c.Rules)})
		horizon := cr.clock.Add(-c.Timespan)
		for _, g := range cr.state[c].groups {
			if !g.last.Before(horizon) {
				cands = append(cands, cand{i, g})
			}
		}
	}
	slices.SortStableFunc(cands, func(a, b cand) int { return b.g.last.Compare(a.g.last) })
	budget := maxEntries
	for _, x := range cands {
		n := max(len(x.g.entries), x.g.counted.len(), 1)
		if n > budget {
			snap.Dropped++
			continue
		}
		budget -= n
		sg := snapGroup{Values: x.g.values, Last: x.g.last, Seen: x.g.seen}
		for _, e := range x.g.entries {
			sg.Entries = append(sg.Entries, snapEntry{T: e.t, R: e.rule, S: e.s, F: e.f})
		}
		for _, c := range x.g.counted.order {
			sg.Counted = append(sg.Counted, snapID{ID: c.id, T: c.t})
		}
		snap.Corrs[x.corr].Groups = append(snap.Corrs[x.corr].Groups, sg)
	}
	// A stable order makes equal states give equal snapshots.
	for i := range snap.Corrs {
		slices.SortFunc(snap.Corrs[i].Groups, func(a, b snapGroup) int {
			return cmp.Compare(joinKey(a.Values), joinKey(b.Values))
		})
	}
	return json.Marshal(snap)
}

func joinKey(vals []string) string {
	b, _ := json.Marshal(vals)
	return string(b)
}

// RestoreStats says what Restore took from a snapshot.
type RestoreStats struct {
	// Groups restored.
	Groups int
	// Skipped groups of correlations that are no longer loaded or
	// changed type or references since the snapshot.
	Skipped int
}

// ErrSnapshot is a snapshot Restore cannot read.
var ErrSnapshot = errors.New("correlation snapshot unreadable")

// Restore loads a Snapshot into the Correlator, adding to the state it
// has (a group present in both keeps the live one). Groups of
// correlations that are gone, or whose type or number of references
// changed, are skipped; the Correlator's bounds still apply.
func (cr *Correlator) Restore(data []byte) (RestoreStats, error) {
	var st RestoreStats
	var snap snapshot
	if err := json.Unmarshal(data, &snap); err != nil {
		return st, fmt.Errorf("%w: %w", ErrSnapshot, err)
	}
	if snap.Version != snapshotVersion {
		return st, fmt.Errorf("%w: version %d", ErrSnapshot, snap.Version)
	}
	cr.mu.Lock()
	defer cr.mu.Unlock()
	byKey := make(map[string]*Correlation, len(cr.corrs))
	for _, c := range cr.corrs {
		byKey[c.stateKey()] = c
	}
	for _, sc := range snap.Corrs {
		c := byKey[sc.Key]
		if c == nil || c.Type != sc.Type || len(c.Rules) != sc.Refs {
			st.Skipped += len(sc.Groups)
			continue
		}
		cs := cr.state[c]
		for _, sg := range sc.Groups {
			if !validGroup(c, sg) {
				st.Skipped++
				continue
			}
			key := strings.Join(sg.Values, "\x00")
			if _, live := cs.groups[key]; live || len(cs.groups) >= cr.opts.MaxGroups {
				st.Skipped++
				continue
			}
			g := &group{values: sg.Values, last: sg.Last}
			switch c.Type {
			case Temporal, TemporalOrdered:
				g.seen = make([]time.Time, len(c.Rules))
				copy(g.seen, sg.Seen)
			case ValueCount:
				g.distinct = make(map[string]int)
			}
			if c.Type != Temporal && c.Type != TemporalOrdered {
				entries := sg.Entries
				if len(entries) > cr.opts.MaxEntries {
					entries = entries[len(entries)-cr.opts.MaxEntries:]
				}
				for _, se := range entries {
					e := entry{t: se.T, rule: se.R, s: se.S, f: se.F}
					g.entries = append(g.entries, e)
					g.add(e)
				}
			}
			for _, c := range sg.Counted {
				g.counted.add(c.ID, c.T, cr.opts.MaxEntries)
			}
			cs.groups[key] = g
			st.Groups++
		}
	}
	if snap.Clock.After(cr.clock) {
		cr.clock = snap.Clock
	}
	return st, nil
}

// validGroup checks a snapshot group fits its correlation.
func validGroup(c *Correlation, g snapGroup) bool {
	if len(g.Values) != len(c.GroupBy) {
		return false
	}
	if len(g.Seen) > len(c.Rules) {
		return false
	}
	for _, e := range g.Entries {
		if e.R < 0 || e.R >= len(c.Rules) {
			return false
		}
	}
	return true
}
