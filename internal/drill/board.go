package drill

import (
	"slices"
	"time"
)

// MaxAnnouncements bounds the announcements of one drill.
const MaxAnnouncements = 5_000

// Announcement is a message of the directing team to the teams of one role
// (or to everyone when To is empty).
type Announcement struct {
	At   time.Time `json:"at"`
	By   string    `json:"by"`
	To   Role      `json:"to,omitempty"`
	Text string    `json:"text"`
}

// Announce validates and records an announcement.
func (d *Drill) Announce(a Announcement) error {
	if len(d.Announcements) >= MaxAnnouncements {
		return invalid("announcements", "the drill already has %d announcements", MaxAnnouncements)
	}
	if err := checkText("announcement.by", a.By, MaxName, true); err != nil {
		return err
	}
	if err := checkText("announcement.text", a.Text, MaxText, true); err != nil {
		return err
	}
	switch a.To {
	case "", RoleAttacker, RoleDefender, RoleDirector:
	default:
		return invalid("announcement.to", "unknown role %q", a.To)
	}
	if a.At.IsZero() {
		return invalid("announcement.at", "missing")
	}
	a.At = a.At.UTC()
	d.Announcements = append(d.Announcements, a)
	return nil
}

// Board is the director's live view of a drill: where it stands, how many
// cases ran and were caught, and a coverage heat map of the best defence
// level per tactic and layer over the executed cases.
type Board struct {
	State    State `json:"state"`
	Planned  int   `json:"planned"`
	Executed int   `json:"executed"`
	Alerted  int   `json:"alerted"` // alerted or blocked
	Blocked  int   `json:"blocked"`
	Records  int   `json:"records"`
	// Reports counts the defender reports, ReportsAccepted those the
	// directing team accepted (only they score).
	Reports         int `json:"reports"`
	ReportsAccepted int `json:"reports_accepted"`
	// HeatMap maps a tactic to the best level each layer reached over its
	// executed cases; layers no case of the tactic expects and that saw
	// nothing are left out.
	HeatMap map[string]map[Layer]Level `json:"heat_map"`
	// LastChange is the latest state change (an emergency stop shows who
	// and why), nil before the drill starts.
	LastChange *StateChange `json:"last_change,omitempty"`
	// Announcements are the latest ten, newest first.
	Announcements []Announcement `json:"announcements,omitempty"`
}

// Board returns the drill's live view.
func (d *Drill) Board() Board {
	b := Board{State: d.State, Planned: len(d.Cases), Records: len(d.Records), HeatMap: map[string]map[Layer]Level{}}
	for _, o := range d.Outcomes() {
		if !o.Executed {
			continue
		}
		b.Executed++
		if o.Level >= LevelAlerted {
			b.Alerted++
		}
		if o.Level == LevelBlocked {
			b.Blocked++
		}
		row := b.HeatMap[o.Case.Tactic]
		if row == nil {
			row = map[Layer]Level{}
			b.HeatMap[o.Case.Tactic] = row
		}
		for _, lo := range o.Layers {
			if lo.Expected || lo.Level > LevelNone {
				row[lo.Layer] = max(row[lo.Layer], lo.Level)
			}
		}
	}
	b.Reports = len(d.Reports)
	for _, r := range d.Reports {
		if r.Accepted {
			b.ReportsAccepted++
		}
	}
	if n := len(d.StateLog); n > 0 {
		c := d.StateLog[n-1]
		b.LastChange = &c
	}
	ann := slices.Clone(d.Announcements)
	slices.SortStableFunc(ann, func(x, y Announcement) int { return y.At.Compare(x.At) })
	b.Announcements = ann[:min(len(ann), 10)]
	return b
}
