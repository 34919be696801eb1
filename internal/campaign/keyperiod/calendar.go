// Package keyperiod owns key-period security campaigns (重点时期安全保障,
// 重保): a calendar of key periods with lead times, a campaign plan whose
// phases — plan, self-inspection, remediation, re-check, watch, summary —
// advance with a clock, a 7×24 duty roster, tightened alert
// acknowledgement SLAs during the watch, the daily watch report with its
// "nothing to report" (零报告) flag, and the summary report comparing
// exposure and findings before and after.
package keyperiod

import (
	"embed"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/vigil-sec/vigil/internal/campaign"
	"github.com/vigil-sec/vigil/internal/datafile"
)

//go:embed data/calendar.yaml
var data embed.FS

// Period kinds.
const (
	KindHoliday    = "holiday"
	KindConference = "conference"
	KindEvent      = "event"
)

// Bounds of a calendar.
const (
	MaxCalendarSize = 256 << 10
	MaxPeriods      = 500
	MaxPeriodDays   = 62
	MaxLeadTime     = 180 * 24 * time.Hour
)

// Period is one key period: from the start of its first day to the end of
// its last day in the calendar's zone.
type Period struct {
	ID     string
	Name   string
	NameZh string
	Kind   string
	// Start is the first moment of the period, End the first moment after
	// it.
	Start, End time.Time
	// LeadTime is how long before Start the campaign begins.
	LeadTime time.Duration
}

// Calendar is an editable list of key periods.
type Calendar struct {
	Zone    *time.Location
	Periods []Period
}

type calFile struct {
	Zone    string       `yaml:"zone"`
	Periods []PeriodSpec `yaml:"periods"`
}

// PeriodSpec is a period as written in a calendar file or a form: the
// first and last day (inclusive) as YYYY-MM-DD and the lead time as a
// duration such as "30d".
type PeriodSpec struct {
	ID       string `yaml:"id"`
	Name     string `yaml:"name"`
	NameZh   string `yaml:"name_zh,omitempty"`
	Kind     string `yaml:"kind"`
	Start    string `yaml:"start"`
	End      string `yaml:"end"`
	LeadTime string `yaml:"lead_time"`
}

// SpecError is a period spec refused: the field and why.
type SpecError struct {
	Field string // id, name, kind, start, end or lead_time
	Msg   string
}

func (e *SpecError) Error() string { return e.Msg }

// Kinds lists the kinds of key periods.
func Kinds() []string { return []string{KindHoliday, KindConference, KindEvent} }

// period checks a spec and returns its period in zone.
func (p PeriodSpec) period(zone *time.Location) (Period, error) {
	bad := func(field, format string, args ...any) error {
		return &SpecError{Field: field, Msg: fmt.Sprintf(format, args...)}
	}
	if !periodIDRE.MatchString(p.ID) {
		return Period{}, bad("id", "period id %q is not an identifier (lower-case letters, digits, '.', '_' and '-')", clipText(p.ID))
	}
	if strings.TrimSpace(p.Name) == "" || len(p.Name) > 200 || len(p.NameZh) > 200 || !utf8.ValidString(p.Name+p.NameZh) ||
		strings.ContainsFunc(p.Name+p.NameZh, unicode.IsControl) {
		return Period{}, bad("name", "period %s: name is empty, too long or not one line of text", p.ID)
	}
	if !slices.Contains(Kinds(), p.Kind) {
		return Period{}, bad("kind", "period %s: kind %q, want holiday, conference or event", p.ID, clipText(p.Kind))
	}
	start, err := time.ParseInLocation(time.DateOnly, p.Start, zone)
	if err != nil {
		return Period{}, bad("start", "period %s: start %q: want YYYY-MM-DD", p.ID, clipText(p.Start))
	}
	last, err := time.ParseInLocation(time.DateOnly, p.End, zone)
	if err != nil {
		return Period{}, bad("end", "period %s: end %q: want YYYY-MM-DD", p.ID, clipText(p.End))
	}
	end := last.AddDate(0, 0, 1)
	if !end.After(start) || end.Sub(start) > MaxPeriodDays*24*time.Hour {
		return Period{}, bad("end", "period %s: end must be on or after start and within %d days", p.ID, MaxPeriodDays)
	}
	lead, err := campaign.ParseDuration(p.LeadTime)
	if err != nil || lead > MaxLeadTime {
		return Period{}, bad("lead_time", "period %s: lead_time %q: want a duration up to %d days", p.ID, clipText(p.LeadTime), int(MaxLeadTime/(24*time.Hour)))
	}
	return Period{ID: p.ID, Name: p.Name, NameZh: p.NameZh, Kind: p.Kind, Start: start, End: end, LeadTime: lead}, nil
}

// clipText bounds a value quoted back in an error.
func clipText(v string) string {
	if len(v) > 64 {
		return v[:64] + "…"
	}
	return v
}

var (
	periodIDRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,63}$`)
	zoneRE     = regexp.MustCompile(`^([+-])(\d\d):(\d\d)$`)
)

// DefaultCalendar returns the embedded calendar.
func DefaultCalendar() (*Calendar, error) {
	b, err := data.ReadFile("data/calendar.yaml")
	if err != nil {
		return nil, fmt.Errorf("key-period calendar: %w", err)
	}
	return ParseCalendar(b, "calendar.yaml")
}

// ParseCalendar reads a calendar: a fixed UTC offset ("+08:00") and
// periods with unique ids, dates (YYYY-MM-DD, end on or after start, at
// most MaxPeriodDays days) and lead times. Errors carry the line.
func ParseCalendar(b []byte, name string) (*Calendar, error) {
	var f calFile
	root, err := datafile.Decode(b, name, MaxCalendarSize, &f)
	if err != nil {
		return nil, err
	}
	lerr := func(line int, format string, args ...any) error {
		return &datafile.LineError{Name: name, Line: line, Msg: fmt.Sprintf(format, args...)}
	}
	m := zoneRE.FindStringSubmatch(f.Zone)
	if m == nil {
		return nil, lerr(datafile.LineOf(root, "zone"), "zone %q: want a UTC offset such as +08:00", f.Zone)
	}
	hh, _ := strconv.Atoi(m[2])
	mm, _ := strconv.Atoi(m[3])
	if hh > 14 || mm > 59 {
		return nil, lerr(datafile.LineOf(root, "zone"), "zone %q is out of range", f.Zone)
	}
	off := hh*3600 + mm*60
	if m[1] == "-" {
		off = -off
	}
	c := &Calendar{Zone: time.FixedZone("UTC"+f.Zone, off)}
	if len(f.Periods) > MaxPeriods {
		return nil, lerr(datafile.LineOf(root, "periods"), "%d periods, limit %d", len(f.Periods), MaxPeriods)
	}
	seen := map[string]bool{}
	for i, ps := range f.Periods {
		p, err := ps.period(c.Zone)
		if err != nil {
			var se *SpecError
			errors.As(err, &se)
			return nil, lerr(datafile.LineOf(root, "periods", i, se.Field), "%s", se.Msg)
		}
		if seen[p.ID] {
			return nil, lerr(datafile.LineOf(root, "periods", i, "id"), "period id %q repeats", p.ID)
		}
		seen[p.ID] = true
		c.Periods = append(c.Periods, p)
	}
	slices.SortStableFunc(c.Periods, func(a, b Period) int { return a.Start.Compare(b.Start) })
	return c, nil
}

// Period returns the period with id.
func (c *Calendar) Period(id string) (Period, error) {
	for _, p := range c.Periods {
		if p.ID == id {
			return p, nil
		}
	}
	return Period{}, fmt.Errorf("no key period %q", id)
}

// Upcoming returns the periods whose campaign (start minus lead time) has
// begun or begins within horizon of now, and that have not ended.
func (c *Calendar) Upcoming(now time.Time, horizon time.Duration) []Period {
	var out []Period
	for _, p := range c.Periods {
		if p.End.After(now) && !p.Start.Add(-p.LeadTime).After(now.Add(horizon)) {
			out = append(out, p)
		}
	}
	return out
}

// errNoTime is returned when a plan does not fit into the lead time.
var errNoTime = errors.New("the lead time is too short for the campaign's phases")
