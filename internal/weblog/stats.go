package weblog

import (
	"math"
	"slices"
	"strings"
)

// pathStat summarises the normal (non-suspicious) responses of one path.
type pathStat struct {
	n        int64
	mean, m2 float64 // Welford running mean and sum of squares
	sample   [32]int64
	seen     int64 // sizes offered to the reservoir
	clients  []string
	requests int64
}

// pathStats is the bounded first-pass table: at most max paths are tracked;
// later new paths are counted in dropped and get no baseline.
type pathStats struct {
	m       map[string]*pathStat
	max     int
	dropped int64
}

func newPathStats(max int) *pathStats {
	return &pathStats{m: map[string]*pathStat{}, max: max}
}

const maxClientsTracked = 6

func statKey(path string) string {
	if len(path) > 256 {
		path = path[:256]
	}
	return strings.ToLower(path)
}

// add records one request; normal says whether its size joins the baseline.
func (s *pathStats) add(rec *Record, normal bool) {
	k := statKey(rec.Path)
	st := s.m[k]
	if st == nil {
		if len(s.m) >= s.max {
			s.dropped++
			return
		}
		st = &pathStat{}
		s.m[k] = st
	}
	st.requests++
	if len(st.clients) < maxClientsTracked && !slices.Contains(st.clients, rec.ClientIP) {
		st.clients = append(st.clients, rec.ClientIP)
	}
	if !normal || rec.Status < 200 || rec.Status > 299 {
		return
	}
	x := float64(rec.Size)
	st.n++
	d := x - st.mean
	st.mean += d / float64(st.n)
	st.m2 += d * (x - st.mean)
	// Deterministic reservoir: slot chosen by a multiplicative hash of the
	// running count, so reruns give the same median.
	if st.seen < int64(len(st.sample)) {
		st.sample[st.seen] = rec.Size
	} else if j := (uint64(st.seen) * 0x9E3779B97F4A7C15 >> 32) % uint64(st.seen+1); j < uint64(len(st.sample)) {
		st.sample[j] = rec.Size
	}
	st.seen++
}

func (s *pathStats) get(path string) *pathStat { return s.m[statKey(path)] }

// rareClients reports a path reached by few distinct clients (unknown
// paths count as rare).
func (s *pathStats) rareClients(path string, limit int) bool {
	st := s.get(path)
	return st == nil || len(st.clients) <= limit
}

func (st *pathStat) median() float64 {
	n := min(st.seen, int64(len(st.sample)))
	if n == 0 {
		return 0
	}
	v := slices.Clone(st.sample[:n])
	slices.Sort(v)
	return float64(v[n/2])
}

func (st *pathStat) std() float64 {
	if st.n < 2 {
		return 0
	}
	return math.Sqrt(st.m2 / float64(st.n-1))
}
