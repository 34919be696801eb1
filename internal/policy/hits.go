package policy

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// Hit is a rule's use over the counting window.
type Hit struct {
	Packets uint64    `json:"packets"`
	Bytes   uint64    `json:"bytes,omitempty"`
	Last    time.Time `json:"last_hit,omitzero"` // zero when the source does not say
}

// Hits maps rules to their use. Keys are a rule's vendor ID or its line
// number in decimal; a rule is looked up by ID first, then by line.
type Hits struct {
	ByKey map[string]Hit
	// Source names where the counts come from, for the findings' reasons.
	Source string
	// Complete says every rule that can be hit was counted, so a rule with
	// no key has zero hits; otherwise a rule with no key is not judged.
	Complete bool
}

func (h *Hits) lookup(r *Rule) (Hit, bool) {
	if r.ID != "" {
		if v, ok := h.ByKey[r.ID]; ok {
			return v, true
		}
	}
	v, ok := h.ByKey[strconv.Itoa(r.Line)]
	return v, ok
}

// maxHitRecords bounds the records of a hits file.
const maxHitRecords = 4 * MaxRules

// ParseIptablesCounters reads the "[packets:bytes]" prefixes that
// iptables-save -c writes before each rule, keyed by line number, in a pass
// over the same input ParseIptablesSave reads. Lines without counters are
// not keyed. The counters cover the time since they were last reset.
func ParseIptablesCounters(r io.Reader) (*Hits, error) {
	h := &Hits{ByKey: map[string]Hit{}, Source: "iptables-save -c counters"}
	sc := bufio.NewScanner(io.LimitReader(r, MaxInputBytes+1))
	sc.Buffer(make([]byte, 64*1024), maxLine)
	n, size := 0, 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		size += len(line) + 1
		if size > MaxInputBytes+1 {
			return nil, fmt.Errorf("%w: more than %d bytes", ErrTooLarge, MaxInputBytes)
		}
		if !strings.HasPrefix(line, "[") {
			continue
		}
		end := strings.IndexByte(line, ']')
		if end < 0 {
			return nil, &ParseError{Line: n, Msg: "unterminated counters"}
		}
		pk, by, ok := strings.Cut(line[1:end], ":")
		if !ok {
			return nil, &ParseError{Line: n, Msg: fmt.Sprintf("counters %q are not [packets:bytes]", truncate(line[:end+1]))}
		}
		p, err1 := strconv.ParseUint(pk, 10, 64)
		b, err2 := strconv.ParseUint(by, 10, 64)
		if err1 != nil || err2 != nil {
			return nil, &ParseError{Line: n, Msg: fmt.Sprintf("counters %q are not [packets:bytes]", truncate(line[:end+1]))}
		}
		h.ByKey[strconv.Itoa(n)] = Hit{Packets: p, Bytes: b}
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, fmt.Errorf("%w: line %d longer than %d bytes", ErrTooLarge, n+1, maxLine)
		}
		return nil, fmt.Errorf("policy: read counters: %w", err)
	}
	return h, nil
}

// ParseHitsCSV reads hit counts exported from a device, one rule per
// record: "rule_id_or_line,hits,last_hit_rfc3339". The last field may be
// empty or absent; a first record whose hits field is not a number is a
// header. hits counts the packets (or sessions) over the window.
func ParseHitsCSV(r io.Reader) (*Hits, error) {
	h := &Hits{ByKey: map[string]Hit{}, Source: "hit counts"}
	cr := csv.NewReader(io.LimitReader(r, MaxInputBytes))
	cr.FieldsPerRecord = -1
	cr.Comment = '#'
	cr.TrimLeadingSpace = true
	for n := 0; ; n++ {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("policy: hits: %w", err)
		}
		line, _ := cr.FieldPos(0)
		if n >= maxHitRecords {
			return nil, fmt.Errorf("%w: more than %d hit records", ErrTooLarge, maxHitRecords)
		}
		if len(rec) < 2 || len(rec) > 3 {
			return nil, &ParseError{Line: line, Msg: fmt.Sprintf("want rule_id_or_line,hits[,last_hit], got %d fields", len(rec))}
		}
		key := strings.TrimSpace(rec[0])
		cnt, err := strconv.ParseUint(strings.TrimSpace(rec[1]), 10, 64)
		if err != nil {
			if n == 0 {
				continue // header
			}
			return nil, &ParseError{Line: line, Msg: fmt.Sprintf("hits %q is not a count", truncate(rec[1]))}
		}
		if key == "" {
			return nil, &ParseError{Line: line, Msg: "empty rule id"}
		}
		hit := Hit{Packets: cnt}
		if len(rec) == 3 && strings.TrimSpace(rec[2]) != "" {
			t, err := time.Parse(time.RFC3339, strings.TrimSpace(rec[2]))
			if err != nil {
				return nil, &ParseError{Line: line, Msg: fmt.Sprintf("last hit %q is not RFC 3339", truncate(rec[2]))}
			}
			hit.Last = t
		}
		if _, dup := h.ByKey[key]; dup {
			return nil, &ParseError{Line: line, Msg: fmt.Sprintf("rule %q listed twice", truncate(key))}
		}
		h.ByKey[key] = hit
	}
	return h, nil
}

// LoggedFlow is one flow from a firewall log: when it was seen and the
// built-in chain it traversed.
type LoggedFlow struct {
	Time  time.Time
	Chain string
	Flow  Flow
}

// CountLogHits replays logged flows through rs with Decide and counts, per
// rule, the flows it decided (and the flows it logged, for LOG rules) that
// were seen in [from, to]; Last is the latest such flow of any time. Every
// rule that can decide or log is counted, so the result is Complete.
func CountLogHits(rs *RuleSet, flows []LoggedFlow, from, to time.Time) (*Hits, error) {
	h := &Hits{ByKey: map[string]Hit{}, Source: "log matches", Complete: true}
	bump := func(line int, t time.Time) {
		k := strconv.Itoa(line)
		v := h.ByKey[k]
		if !t.Before(from) && !t.After(to) {
			v.Packets++
		}
		if t.After(v.Last) {
			v.Last = t
		}
		h.ByKey[k] = v
	}
	for i, lf := range flows {
		d, err := rs.Decide(lf.Chain, lf.Flow)
		if err != nil {
			return nil, fmt.Errorf("policy: logged flow %d: %w", i+1, err)
		}
		if !d.Policy {
			bump(d.Line, lf.Time)
		}
		for _, l := range d.Logged {
			bump(l, lf.Time)
		}
	}
	return h, nil
}

// UsageOptions configures Usage.
type UsageOptions struct {
	Window time.Duration // the counting window; 0 means 90 days
	Now    time.Time     // the end of the window; zero means time.Now()
}

// DefaultWindow is the counting window when none is given.
const DefaultWindow = 90 * 24 * time.Hour

// ParseWindow parses a window such as "90d", "2w" or a Go duration ("36h").
func ParseWindow(s string) (time.Duration, error) {
	unit := map[byte]time.Duration{'d': 24 * time.Hour, 'w': 7 * 24 * time.Hour}
	if n := len(s); n > 1 {
		if u, ok := unit[s[n-1]]; ok {
			v, err := strconv.ParseUint(s[:n-1], 10, 16)
			if err != nil || v == 0 {
				return 0, fmt.Errorf("policy: bad window %q", s)
			}
			return time.Duration(v) * u, nil
		}
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("policy: bad window %q (want e.g. 90d, 2w, 36h)", s)
	}
	return d, nil
}

func windowText(w time.Duration) string {
	if w%(24*time.Hour) == 0 {
		return fmt.Sprintf("%d days", w/(24*time.Hour))
	}
	return w.String()
}

// Usage reports rules with no hits over the window (unused) and rules whose
// last hit is older than the window (stale). A rule the hits do not cover
// is not judged unless h is Complete; rules that can never decide or log a
// packet (jumps, returns) are not judged from log matches. A vendor rule
// split into parts is reported once.
func Usage(rs *RuleSet, h *Hits, opts UsageOptions) []Detail {
	w := opts.Window
	if w <= 0 {
		w = DefaultWindow
	}
	now := opts.Now
	if now.IsZero() {
		now = time.Now()
	}
	var out []Detail
	seen := map[[2]string]bool{}
	for _, c := range rs.Chains {
		for _, r := range c.Rules {
			key := [2]string{c.Name, strconv.Itoa(r.Line) + "/" + r.ID}
			if seen[key] {
				continue
			}
			seen[key] = true
			hit, ok := h.lookup(r)
			if !ok {
				if !h.Complete || !(r.Action.terminal() || r.Action == Log) {
					continue
				}
			}
			f := Finding{Chain: c.Name, Line: r.Line, Rule: r.Text}
			switch {
			case hit.Packets == 0:
				f.Kind = KindUnused
				f.Reason = fmt.Sprintf("no hits in the %s window (%s)", windowText(w), h.Source)
				if !hit.Last.IsZero() {
					f.Reason += "; last hit " + hit.Last.UTC().Format(time.RFC3339)
				}
			case !hit.Last.IsZero() && now.Sub(hit.Last) > w:
				f.Kind = KindStale
				f.Reason = fmt.Sprintf("last hit %s, %d days ago, before the %s window (%s)",
					hit.Last.UTC().Format(time.RFC3339), now.Sub(hit.Last)/(24*time.Hour), windowText(w), h.Source)
			default:
				continue
			}
			out = append(out, Detail{Finding: f})
		}
	}
	return out
}

// Hygiene reports accept rules that do not log (logging-disabled), accept
// rules without a security profile on devices that attach them
// (no-security-profile), and the parser's observations, whose kind becomes
// the finding's kind.
func Hygiene(rs *RuleSet) []Detail {
	var out []Detail
	seen := map[[2]string]bool{}
	for _, c := range rs.Chains {
		for _, r := range c.Rules {
			if r.Action != Accept {
				continue
			}
			key := [2]string{c.Name, strconv.Itoa(r.Line) + "/" + r.ID}
			if seen[key] {
				continue
			}
			seen[key] = true
			base := Finding{Chain: c.Name, Line: r.Line, Rule: r.Text}
			if r.Logging == LogOff {
				f := base
				f.Kind = KindLoggingDisabled
				f.Reason = "accepts traffic without logging it: accepted sessions leave no trace for investigation"
				out = append(out, Detail{Finding: f})
			}
			if rs.HasProfiles && len(r.Profiles) == 0 {
				f := base
				f.Kind = KindNoSecProfile
				f.Reason = "accepts traffic without a security profile (IPS, antivirus, URL filtering): allowed sessions are not inspected"
				out = append(out, Detail{Finding: f})
			}
		}
	}
	for _, o := range rs.Observations {
		out = append(out, Detail{Finding: Finding{Kind: o.Kind, Line: o.Line, Reason: o.Reason + " (severity " + o.Severity + ")"}})
	}
	return out
}
