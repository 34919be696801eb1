package workorder

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"
)

// FindingKind names what the ops audit found.
type FindingKind string

// Finding kinds.
const (
	// FindingUnapproved is access to a host by an account that no
	// approved order covers at all.
	FindingUnapproved FindingKind = "no_approved_order"
	// FindingOutsideWindow is access by an account an approved order
	// covers on that host, but not at that time: before the window opened
	// or running past its end.
	FindingOutsideWindow FindingKind = "outside_window"
	// FindingUnusedOrder is an approved access order whose window passed
	// without any access.
	FindingUnusedOrder FindingKind = "unused_order"
)

// Finding is one problem of the ops audit.
type Finding struct {
	Kind     FindingKind
	Severity string // critical, high, medium, low
	At       time.Time
	Host     string
	User     string
	// Session is the access concerned (FindingUnapproved and
	// FindingOutsideWindow).
	Session *Session
	// OrderID and OrderRef name the order concerned, when there is one.
	OrderID  string
	OrderRef string
	Detail   string
}

// MatchOptions tune Match.
type MatchOptions struct {
	// Now is the end of the audited period: open sessions count as
	// running until Now, and access orders whose window ended before Now
	// without use are reported. Zero skips both.
	Now time.Time
	// Grace is allowed clock skew and early or late access at each end
	// of a window.
	Grace time.Duration
}

// Match checks sessions against orders. A session is covered by an order
// that is approved (or later in its flow, not cancelled), names the
// session's host and account (no accounts: the executor's own) and whose
// window holds the whole session, with Grace at both ends. An order
// without a window runs from its approval until it is done or closed.
// Findings come sorted by time.
func Match(sessions []Session, orders []Order, opt MatchOptions) []Finding {
	used := make([]bool, len(orders))
	// Orders by host key, so each session looks only at orders that can
	// name its host.
	byHost := map[string][]int{}
	for j := range orders {
		seen := map[string]bool{}
		for _, h := range orders[j].Hosts {
			if k := hostKey(h); !seen[k] {
				seen[k] = true
				byHost[k] = append(byHost[k], j)
			}
		}
	}
	var out []Finding
	for i := range sessions {
		s := &sessions[i]
		end := s.End
		if end.IsZero() {
			end = s.Start
			if s.Open && opt.Now.After(s.Start) {
				end = opt.Now
			}
		}
		var authorising, pending []int
		for _, j := range byHost[hostKey(s.Host)] {
			o := &orders[j]
			if !hostMatch(o.Hosts, s.Host) || !accountMatch(o, s.User) {
				continue
			}
			if o.Authorising() {
				authorising = append(authorising, j)
			} else {
				pending = append(pending, j)
			}
		}
		covered := false
		for _, j := range authorising {
			from, to := window(&orders[j])
			if !s.Start.Before(from.Add(-opt.Grace)) && (to.IsZero() || !end.After(to.Add(opt.Grace))) {
				used[j], covered = true, true
			}
		}
		if covered {
			continue
		}
		sc := *s
		f := Finding{At: s.Start, Host: s.Host, User: s.User, Session: &sc}
		if len(authorising) > 0 {
			j := nearest(orders, authorising, s.Start)
			o := &orders[j]
			used[j] = true
			from, to := window(o)
			f.Kind, f.Severity, f.OrderID, f.OrderRef = FindingOutsideWindow, "medium", o.ID, ref(o)
			switch {
			case s.Start.Before(from.Add(-opt.Grace)) && end.Before(from):
				f.Detail = fmt.Sprintf("%s access %s before order %s's window opened at %s", s.Method, lateness(from.Sub(s.Start)), ref(o), stamp(from))
			case s.Start.Before(from.Add(-opt.Grace)):
				f.Detail = fmt.Sprintf("%s access began %s before order %s's window opened at %s", s.Method, lateness(from.Sub(s.Start)), ref(o), stamp(from))
			case !s.Start.Before(to):
				f.Detail = fmt.Sprintf("%s access %s after order %s's window closed at %s", s.Method, lateness(s.Start.Sub(to)), ref(o), stamp(to))
			default:
				f.Detail = fmt.Sprintf("%s access ran %s past the end of order %s's window at %s", s.Method, lateness(end.Sub(to)), ref(o), stamp(to))
			}
		} else {
			f.Kind, f.Severity = FindingUnapproved, "high"
			if ranPrivileged(s) {
				f.Severity = "critical"
			}
			f.Detail = fmt.Sprintf("%s access by %s from %s with no approved work order", s.Method, s.User, orDash(s.SourceIP))
			if len(pending) > 0 {
				o := &orders[pending[0]]
				f.OrderID, f.OrderRef = o.ID, ref(o)
				f.Detail += fmt.Sprintf("; order %s names this host and account but is %s", ref(o), o.State)
			}
		}
		if n := len(s.Commands); n > 0 {
			f.Detail += fmt.Sprintf("; %d sudo command(s)", n)
		}
		out = append(out, f)
	}
	if !opt.Now.IsZero() {
		for j := range orders {
			o := &orders[j]
			if used[j] || o.Type != TypeAccess || !o.Authorising() || o.WindowEnd.IsZero() || o.WindowEnd.Add(opt.Grace).After(opt.Now) {
				continue
			}
			out = append(out, Finding{Kind: FindingUnusedOrder, Severity: "low", At: o.WindowEnd, Host: strings.Join(o.Hosts, ", "),
				User: strings.Join(accounts(o), ", "), OrderID: o.ID, OrderRef: ref(o),
				Detail: fmt.Sprintf("order %s was approved for %s to %s but no access was seen; revoke what it granted", ref(o), stamp(o.WindowStart), stamp(o.WindowEnd))})
		}
	}
	slices.SortStableFunc(out, func(a, b Finding) int {
		if c := a.At.Compare(b.At); c != 0 {
			return c
		}
		return cmp.Compare(a.Kind, b.Kind)
	})
	return out
}

// window is an order's effective window; a zero end means open-ended.
func window(o *Order) (time.Time, time.Time) {
	if !o.WindowStart.IsZero() {
		return o.WindowStart, o.WindowEnd
	}
	from := o.DecidedAt
	var to time.Time
	for _, t := range []time.Time{o.DoneAt, o.ClosedAt} {
		if !t.IsZero() {
			to = t
			break
		}
	}
	return from, to
}

// nearest picks the order whose window is closest to t.
func nearest(orders []Order, idx []int, t time.Time) int {
	best, bestD := idx[0], time.Duration(1<<62)
	for _, j := range idx {
		from, to := window(&orders[j])
		var d time.Duration
		switch {
		case t.Before(from):
			d = from.Sub(t)
		case !to.IsZero() && t.After(to):
			d = t.Sub(to)
		}
		if d < bestD {
			best, bestD = j, d
		}
	}
	return best
}

func accounts(o *Order) []string {
	if len(o.Accounts) > 0 {
		return o.Accounts
	}
	if o.Executor != "" {
		return []string{o.Executor}
	}
	return nil
}

func accountMatch(o *Order, user string) bool {
	return user != "" && slices.Contains(accounts(o), user)
}

// hostKey is the index key of a host: an address in canonical form, or
// the first label of a name in lower case.
func hostKey(h string) string {
	h = strings.ToLower(strings.TrimSuffix(h, "."))
	if a, err := netip.ParseAddr(h); err == nil {
		return a.Unmap().String()
	}
	short, _, _ := strings.Cut(h, ".")
	return short
}

// hostMatch compares host names case-insensitively, a short name matching
// the first label of a full one, and addresses as addresses.
func hostMatch(hosts []string, h string) bool {
	h = strings.ToLower(strings.TrimSuffix(h, "."))
	ha, herr := netip.ParseAddr(h)
	for _, o := range hosts {
		o = strings.ToLower(strings.TrimSuffix(o, "."))
		if o == h {
			return true
		}
		if oa, err := netip.ParseAddr(o); err == nil || herr == nil {
			if err == nil && herr == nil && oa.Unmap() == ha.Unmap() {
				return true
			}
			continue
		}
		if short, _, ok := strings.Cut(o, "."); ok && !strings.Contains(h, ".") && short == h {
			return true
		}
		if short, _, ok := strings.Cut(h, "."); ok && !strings.Contains(o, ".") && short == o {
			return true
		}
	}
	return false
}

func ranPrivileged(s *Session) bool {
	for _, c := range s.Commands {
		if !c.Denied {
			return true
		}
	}
	return false
}

func ref(o *Order) string {
	if o.Ref != "" {
		return o.Ref
	}
	return o.ID
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format("2006-01-02 15:04 UTC")
}

func orDash(s string) string {
	if s == "" {
		return "an unknown address"
	}
	return s
}

// lateness writes a duration rounded to minutes ("3h05m", "12m", "<1m").
func lateness(d time.Duration) string {
	if d < time.Minute {
		return "<1m"
	}
	d = d.Round(time.Minute)
	h, m := d/time.Hour, (d%time.Hour)/time.Minute
	if h == 0 {
		return fmt.Sprintf("%dm", m)
	}
	return fmt.Sprintf("%dh%02dm", h, m)
}
