package drill

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	"go.yaml.in/yaml/v3"
)

// ReportKind is a kind of defender report the scheme scores.
type ReportKind string

// The defender report kinds.
const (
	ReportAnalysis     ReportKind = "analysis"     // 研判分析
	ReportResponse     ReportKind = "response"     // 处置
	ReportNotification ReportKind = "notification" // 通报
	ReportCoordination ReportKind = "coordination" // 协同
	ReportTracing      ReportKind = "tracing"      // 溯源
)

// ReportKinds returns the defender report kinds.
func ReportKinds() []ReportKind {
	return []ReportKind{ReportAnalysis, ReportResponse, ReportNotification, ReportCoordination, ReportTracing}
}

// DefenceReport is a report a defending team submits (an analysis, a
// response, a notification, a coordination note or a tracing report); it
// scores only once the director accepts it. RecordID is the attack record
// the report is scored on (repeat discounts count reports of one kind on
// one record); Related names further records it covers, for reading only.
type DefenceReport struct {
	ID       string     `json:"id" yaml:"id"`
	Team     string     `json:"team" yaml:"team"`
	Kind     ReportKind `json:"kind" yaml:"kind"`
	RecordID string     `json:"record_id,omitempty" yaml:"record_id,omitempty"`
	Related  []string   `json:"related_records,omitempty" yaml:"related_records,omitempty"`
	Title    string     `json:"title" yaml:"title"`
	Text     string     `json:"text,omitempty" yaml:"text,omitempty"`
	By       string     `json:"by,omitempty" yaml:"by,omitempty"`
	At       time.Time  `json:"at" yaml:"at"`
	Accepted bool       `json:"accepted" yaml:"accepted"`
	// TenantID is the tenant the report concerns: its team's (empty: the
	// drill's own tenant). SubmitReport sets it.
	TenantID string `json:"tenant_id,omitempty" yaml:"tenant_id,omitempty"`
}

// MaxRelated bounds the further records one report names.
const MaxRelated = 50

// Records returns every attack record the report covers, the scored one
// first.
func (r DefenceReport) Records() []string {
	if r.RecordID == "" {
		return slices.Clone(r.Related)
	}
	return append([]string{r.RecordID}, r.Related...)
}

// Report returns the defender report with id.
func (d *Drill) Report(id string) (DefenceReport, bool) {
	for _, r := range d.Reports {
		if r.ID == id {
			return r, true
		}
	}
	return DefenceReport{}, false
}

// DecideReport records the director's decision on a report: accepted
// reports score, others do not.
func (d *Drill) DecideReport(id string, accepted bool) error {
	for i := range d.Reports {
		if d.Reports[i].ID == id {
			d.Reports[i].Accepted = accepted
			return nil
		}
	}
	return fmt.Errorf("%w: report %q", ErrNotFound, id)
}

// SubmitReport validates a defender report and appends it.
func (d *Drill) SubmitReport(r DefenceReport) error {
	if len(d.Reports) >= MaxReports {
		return invalid("reports", "the drill already has %d reports", MaxReports)
	}
	errs := []error{checkText("report.id", r.ID, MaxName, true), checkText("report.title", r.Title, MaxName, true),
		checkText("report.text", r.Text, MaxText, false), checkText("report.by", r.By, MaxName, false)}
	tenant := d.TenantID
	if t, ok := d.Team(r.Team); !ok || t.Role != RoleDefender {
		errs = append(errs, invalid("report.team", "%q is not a defending team of the drill", r.Team))
	} else {
		tenant = d.TeamTenant(t)
	}
	// A report concerns its team's tenant and names only records against
	// that tenant.
	for _, id := range r.Records() {
		if rec, ok := d.Record(id); ok && d.RecordTenant(rec) != tenant {
			errs = append(errs, invalid("report.records", "record %q concerns another organisation than team %q", id, r.Team))
		}
	}
	r.TenantID = ""
	if tenant != d.TenantID {
		r.TenantID = tenant
	}
	if !slices.Contains(ReportKinds(), r.Kind) {
		errs = append(errs, invalid("report.kind", "unknown kind %q", r.Kind))
	}
	if r.RecordID != "" {
		if _, ok := d.Record(r.RecordID); !ok {
			errs = append(errs, fmt.Errorf("%w: report.record_id %q", ErrNotFound, r.RecordID))
		}
	}
	if len(r.Related) > MaxRelated {
		errs = append(errs, invalid("report.related_records", "%d records, more than %d", len(r.Related), MaxRelated))
	} else {
		for i, id := range r.Related {
			if _, ok := d.Record(id); !ok {
				errs = append(errs, fmt.Errorf("%w: report.related_records %q", ErrNotFound, id))
			}
			if id == r.RecordID || slices.Contains(r.Related[:i], id) {
				errs = append(errs, invalid("report.related_records", "record %q is named twice", id))
			}
		}
	}
	if r.At.IsZero() {
		errs = append(errs, invalid("report.at", "missing"))
	}
	if slices.ContainsFunc(d.Reports, func(x DefenceReport) bool { return x.ID == r.ID }) {
		errs = append(errs, invalid("report.id", "report %q already exists", r.ID))
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	r.At = r.At.UTC()
	d.Reports = append(d.Reports, r)
	return nil
}

// Scheme is a scoring scheme, kept as data (YAML). Percentages are whole
// numbers and every product is rounded down, so a score is exact.
type Scheme struct {
	Name     string         `json:"name" yaml:"name"`
	Attacker AttackerScheme `json:"attacker" yaml:"attacker"`
	Defender DefenderScheme `json:"defender" yaml:"defender"`
}

// AttackerScheme scores achievements. The same achievement on the same
// target scores once; the n-th different target of one achievement against
// one defending unit scores RepeatPercent[n-1] percent (the last entry for
// all after it); an attacking team's points against one unit stop at
// CapPerUnit.
type AttackerScheme struct {
	Points        map[Achievement]int `json:"points" yaml:"points"`
	RepeatPercent []int               `json:"repeat_percent" yaml:"repeat_percent"`
	CapPerUnit    int                 `json:"cap_per_unit" yaml:"cap_per_unit"`
}

// DefenderScheme scores detection per attack record (the best level any
// layer reached, plus FastPoints when it was alerted or blocked within
// FastWithin) and accepted reports by kind; the n-th report of one kind on
// one record (or on no record) scores RepeatPercent[n-1] percent; a team's
// total stops at CapPerTeam.
type DefenderScheme struct {
	Detection     map[string]int     `json:"detection" yaml:"detection"`
	FastWithin    Duration           `json:"fast_within" yaml:"fast_within"`
	FastPoints    int                `json:"fast_points" yaml:"fast_points"`
	Reports       map[ReportKind]int `json:"reports" yaml:"reports"`
	RepeatPercent []int              `json:"repeat_percent" yaml:"repeat_percent"`
	CapPerTeam    int                `json:"cap_per_team" yaml:"cap_per_team"`
}

// Duration is a time.Duration written as text ("30m") in YAML and JSON.
type Duration time.Duration

// UnmarshalText reads "30m", "2h".
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("%w: duration %q: %v", ErrInvalid, b, err)
	}
	*d = Duration(v)
	return nil
}

// MarshalText writes the duration as text.
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// maxPoints bounds any points value in a scheme.
const maxPoints = 1_000_000

// Validate checks a scheme's keys and numbers.
func (s *Scheme) Validate() error {
	errs := []error{checkText("scheme.name", s.Name, MaxName, true)}
	num := func(field string, v int) {
		if v < 0 || v > maxPoints {
			errs = append(errs, invalid(field, "%d is outside 0..%d", v, maxPoints))
		}
	}
	pct := func(field string, l []int) {
		if len(l) == 0 || len(l) > 20 {
			errs = append(errs, invalid(field, "give 1 to 20 percentages"))
		}
		for i, p := range l {
			if p < 0 || p > 100 {
				errs = append(errs, invalid(fmt.Sprintf("%s[%d]", field, i), "%d is outside 0..100", p))
			}
		}
	}
	for k, v := range s.Attacker.Points {
		if !slices.Contains(Achievements(), k) {
			errs = append(errs, invalid("scheme.attacker.points", "unknown achievement %q", k))
		}
		num("scheme.attacker.points."+string(k), v)
	}
	pct("scheme.attacker.repeat_percent", s.Attacker.RepeatPercent)
	num("scheme.attacker.cap_per_unit", s.Attacker.CapPerUnit)
	for k, v := range s.Defender.Detection {
		if l, err := ParseLevel(k); err != nil || l == LevelNone {
			errs = append(errs, invalid("scheme.defender.detection", "unknown level %q (logged, alerted, blocked)", k))
		}
		num("scheme.defender.detection."+k, v)
	}
	for k, v := range s.Defender.Reports {
		if !slices.Contains(ReportKinds(), k) {
			errs = append(errs, invalid("scheme.defender.reports", "unknown report kind %q", k))
		}
		num("scheme.defender.reports."+string(k), v)
	}
	num("scheme.defender.fast_points", s.Defender.FastPoints)
	if s.Defender.FastWithin < 0 || time.Duration(s.Defender.FastWithin) > MaxDrillLength {
		errs = append(errs, invalid("scheme.defender.fast_within", "out of range"))
	}
	pct("scheme.defender.repeat_percent", s.Defender.RepeatPercent)
	num("scheme.defender.cap_per_team", s.Defender.CapPerTeam)
	return errors.Join(errs...)
}

// MaxSchemeBytes bounds a scheme file.
const MaxSchemeBytes = 64 << 10

// ParseScheme reads a scheme from YAML (unknown fields, anchors and aliases
// refused) and validates it.
func ParseScheme(r io.Reader) (*Scheme, error) {
	data, err := readBounded(r, MaxSchemeBytes)
	if err != nil {
		return nil, err
	}
	if _, err := yamlRoot(data); err != nil {
		return nil, err
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var s Scheme
	if err := dec.Decode(&s); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if err := s.Validate(); err != nil {
		return nil, err
	}
	return &s, nil
}

//go:embed scoring/default.yaml
var defaultScheme []byte

// DefaultScheme returns the embedded default scoring scheme.
func DefaultScheme() (*Scheme, error) { return ParseScheme(bytes.NewReader(defaultScheme)) }

// ScoreLine is one step of a score: what earned points, the base points,
// the percentage applied and the points counted (after the cap).
type ScoreLine struct {
	Side    Role   `json:"side"`
	Team    string `json:"team"`
	Unit    string `json:"unit,omitempty"`
	Item    string `json:"item"`
	Ref     string `json:"ref"`
	Base    int    `json:"base"`
	Percent int    `json:"percent"`
	Points  int    `json:"points"`
	Note    string `json:"note,omitempty"`
}

// Scores are a drill's points per team, with every step that made them.
type Scores struct {
	Attackers map[string]int `json:"attackers"`
	Defenders map[string]int `json:"defenders"`
	Lines     []ScoreLine    `json:"lines"`
}

func repeatPct(l []int, n int) int {
	if len(l) == 0 {
		return 100
	}
	return l[min(n, len(l)-1)]
}

// Score computes the drill's scores with its scheme (DefaultScheme when it
// has none). Records and reports are taken in time order.
func (d *Drill) Score() (*Scores, error) {
	s := d.Scheme
	if s == nil {
		var err error
		if s, err = DefaultScheme(); err != nil {
			return nil, err
		}
	} else if err := s.Validate(); err != nil {
		return nil, err
	}
	sc := &Scores{Attackers: map[string]int{}, Defenders: map[string]int{}}
	for _, t := range d.Teams {
		switch t.Role {
		case RoleAttacker:
			sc.Attackers[t.Name] = 0
		case RoleDefender:
			sc.Defenders[t.Name] = 0
		}
	}
	records := sortRecords(d.Records)

	// Attackers.
	scoredTarget := map[string]bool{}
	repeats := map[string]int{}
	perUnit := map[string]int{}
	for _, r := range records {
		if r.Achievement == AchieveNone {
			continue
		}
		base := s.Attacker.Points[r.Achievement]
		line := ScoreLine{Side: RoleAttacker, Team: r.Team, Unit: r.Unit, Item: string(r.Achievement), Ref: r.ID, Base: base}
		tk := r.Team + "\x00" + r.Unit + "\x00" + string(r.Achievement) + "\x00" + normHost(r.Target.String())
		rk := r.Team + "\x00" + r.Unit + "\x00" + string(r.Achievement)
		uk := r.Team + "\x00" + r.Unit
		if scoredTarget[tk] {
			line.Note = "same target already scored"
			sc.Lines = append(sc.Lines, line)
			continue
		}
		scoredTarget[tk] = true
		line.Percent = repeatPct(s.Attacker.RepeatPercent, repeats[rk])
		repeats[rk]++
		pts := base * line.Percent / 100
		if room := s.Attacker.CapPerUnit - perUnit[uk]; pts > room {
			pts = max(room, 0)
			line.Note = "capped for the unit"
		}
		line.Points = pts
		perUnit[uk] += pts
		sc.Attackers[r.Team] += pts
		sc.Lines = append(sc.Lines, line)
	}

	// Defenders: detection per record.
	defenders := map[string]string{} // unit → team
	var onlyDefender string
	n := 0
	for _, t := range d.Teams {
		if t.Role == RoleDefender {
			n++
			onlyDefender = t.Name
			if t.Unit != "" {
				if _, ok := defenders[t.Unit]; !ok {
					defenders[t.Unit] = t.Name
				}
			}
		}
	}
	teamFor := func(unit string) string {
		if t, ok := defenders[unit]; ok {
			return t
		}
		if n == 1 {
			return onlyDefender
		}
		return ""
	}
	perTeam := map[string]int{}
	add := func(line ScoreLine) {
		if line.Team == "" {
			line.Note = "no defending team owns the unit"
			line.Points = 0
			sc.Lines = append(sc.Lines, line)
			return
		}
		if room := s.Defender.CapPerTeam - perTeam[line.Team]; line.Points > room {
			line.Points = max(room, 0)
			line.Note = "capped for the team"
		}
		perTeam[line.Team] += line.Points
		sc.Defenders[line.Team] += line.Points
		sc.Lines = append(sc.Lines, line)
	}
	for _, r := range records {
		best := LevelNone
		var first time.Time
		for _, o := range d.Observed {
			if o.RecordID != r.ID {
				continue
			}
			best = max(best, o.Level)
			if o.Level >= LevelAlerted && (first.IsZero() || o.At.Before(first)) {
				first = o.At
			}
		}
		if best == LevelNone {
			continue
		}
		team := teamFor(r.Unit)
		base := s.Defender.Detection[best.String()]
		add(ScoreLine{Side: RoleDefender, Team: team, Unit: r.Unit, Item: "detection_" + best.String(), Ref: r.ID, Base: base, Percent: 100, Points: base})
		if !first.IsZero() && s.Defender.FastPoints > 0 && first.Sub(r.At) <= time.Duration(s.Defender.FastWithin) {
			add(ScoreLine{Side: RoleDefender, Team: team, Unit: r.Unit, Item: "fast_detection", Ref: r.ID, Base: s.Defender.FastPoints, Percent: 100, Points: s.Defender.FastPoints})
		}
	}
	// Defenders: accepted reports.
	reports := slices.Clone(d.Reports)
	slices.SortStableFunc(reports, func(a, b DefenceReport) int { return a.At.Compare(b.At) })
	seen := map[string]int{}
	for _, rp := range reports {
		if !rp.Accepted {
			continue
		}
		k := rp.Team + "\x00" + string(rp.Kind) + "\x00" + rp.RecordID
		pct := repeatPct(s.Defender.RepeatPercent, seen[k])
		seen[k]++
		base := s.Defender.Reports[rp.Kind]
		add(ScoreLine{Side: RoleDefender, Team: rp.Team, Item: "report_" + string(rp.Kind), Ref: rp.ID, Base: base, Percent: pct, Points: base * pct / 100})
	}
	return sc, nil
}
