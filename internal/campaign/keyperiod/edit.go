package keyperiod

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Calendars are edited one period at a time: Put adds or replaces a
// period, Remove drops one, and Marshal writes the calendar in the file
// format ParseCalendar reads, which is how a tenant's own calendar is
// kept. Each returns a new calendar and leaves c as it was.

// ErrNoPeriod is wrapped by Remove for an id the calendar does not have.
var ErrNoPeriod = &SpecError{Field: "id", Msg: "the calendar has no such period"}

// Spec returns the spec of a period of c, as a form shows it.
func (c *Calendar) Spec(p Period) PeriodSpec {
	return PeriodSpec{ID: p.ID, Name: p.Name, NameZh: p.NameZh, Kind: p.Kind, Start: p.Start.In(c.Zone).Format(time.DateOnly),
		End: p.End.In(c.Zone).AddDate(0, 0, -1).Format(time.DateOnly), LeadTime: formatDuration(p.LeadTime)}
}

// Put returns c with the period of spec added, or replacing the period
// with the same id. A refused spec is a *SpecError.
func (c *Calendar) Put(spec PeriodSpec) (*Calendar, error) {
	spec.ID, spec.Name, spec.NameZh = strings.TrimSpace(spec.ID), strings.TrimSpace(spec.Name), strings.TrimSpace(spec.NameZh)
	spec.Start, spec.End, spec.LeadTime = strings.TrimSpace(spec.Start), strings.TrimSpace(spec.End), strings.TrimSpace(spec.LeadTime)
	p, err := spec.period(c.Zone)
	if err != nil {
		return nil, err
	}
	out := &Calendar{Zone: c.Zone, Periods: slices.Clone(c.Periods)}
	if i := slices.IndexFunc(out.Periods, func(q Period) bool { return q.ID == p.ID }); i >= 0 {
		out.Periods[i] = p
	} else {
		if len(out.Periods) >= MaxPeriods {
			return nil, &SpecError{Field: "id", Msg: fmt.Sprintf("the calendar has %d periods, the limit", MaxPeriods)}
		}
		out.Periods = append(out.Periods, p)
	}
	slices.SortStableFunc(out.Periods, func(a, b Period) int { return a.Start.Compare(b.Start) })
	return out, nil
}

// Remove returns c without the period id.
func (c *Calendar) Remove(id string) (*Calendar, error) {
	i := slices.IndexFunc(c.Periods, func(q Period) bool { return q.ID == id })
	if i < 0 {
		return nil, ErrNoPeriod
	}
	return &Calendar{Zone: c.Zone, Periods: slices.Delete(slices.Clone(c.Periods), i, i+1)}, nil
}

// Marshal writes c in the calendar file format.
func (c *Calendar) Marshal() ([]byte, error) {
	f := calFile{Zone: zoneText(c.Zone), Periods: []PeriodSpec{}}
	for _, p := range c.Periods {
		f.Periods = append(f.Periods, c.Spec(p))
	}
	var b bytes.Buffer
	b.WriteString("# Key periods (重点时期) of this organisation, edited in Vigil.\n")
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(f); err != nil {
		return nil, fmt.Errorf("key-period calendar: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("key-period calendar: %w", err)
	}
	return b.Bytes(), nil
}

// ZoneText is the UTC offset of the calendar's dates, such as "+08:00".
func (c *Calendar) ZoneText() string { return zoneText(c.Zone) }

// zoneText is the UTC offset of a fixed zone, such as "+08:00".
func zoneText(z *time.Location) string {
	_, off := time.Date(2000, 1, 1, 0, 0, 0, 0, z).Zone()
	sign := "+"
	if off < 0 {
		sign, off = "-", -off
	}
	return fmt.Sprintf("%s%02d:%02d", sign, off/3600, off%3600/60)
}

// formatDuration writes a lead time the way ParseDuration reads it: whole
// days as "30d", the rest in Go's notation ("1d12h0m0s").
func formatDuration(d time.Duration) string {
	const day = 24 * time.Hour
	s := ""
	if days := d / day; days > 0 {
		s = fmt.Sprintf("%dd", days)
	}
	if rest := d % day; rest > 0 || s == "" {
		s += rest.String()
	}
	return s
}
