package drill

import (
	"cmp"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/vigil-sec/vigil/internal/store"
)

// LinkOptions tunes how alerts are linked to attack records.
type LinkOptions struct {
	// After is how long after a record an alert still belongs to it
	// (default 2h); Before allows for clocks that run behind (default 5m).
	After, Before time.Duration
	// LayerOf names the defence layer an alert came from; nil treats every
	// alert as a SIEM rule (what Vigil's own detection raises).
	LayerOf func(a store.Alert) Layer
	// LevelOf says whether an alert reports a block; nil: LevelAlerted.
	LevelOf func(a store.Alert) Level
}

// Default link windows.
const (
	DefaultLinkAfter  = 2 * time.Hour
	DefaultLinkBefore = 5 * time.Minute
)

// Match strength of a suggestion's technique.
const (
	TechniqueExact   = "exact"   // the alert names the record's technique
	TechniqueRelated = "related" // parent or sub-technique of it
	TechniqueUnknown = "unknown" // the alert names no technique
)

// Suggestion proposes that an alert detected an attack record; the defender
// confirms it with Drill.Confirm.
type Suggestion struct {
	RecordID string `json:"record_id"`
	CaseID   string `json:"case_id,omitempty"`
	AlertID  string `json:"alert_id"`
	Rule     string `json:"rule"`
	Layer    Layer  `json:"layer"`
	Level    Level  `json:"level"`
	// At is when the alert was first seen; Delay is At minus the record's
	// time (negative when the alert's clock is behind).
	At    time.Time     `json:"at"`
	Delay time.Duration `json:"delay"`
	// Matched says how the target matched ("asset", "host" or "address")
	// and Technique how the technique did.
	Matched   string `json:"matched"`
	Technique string `json:"technique"`
	// IncidentID is set instead of AlertID for a suggestion from an
	// incident; RespondedAt is then when it was contained.
	IncidentID  string    `json:"incident_id,omitempty"`
	RespondedAt time.Time `json:"responded_at,omitzero"`
}

// alertTechniques returns the ATT&CK technique ids an alert's tags name
// (attack.t1110, attack.t1110.001).
func alertTechniques(tags []string) []string {
	var out []string
	for _, t := range tags {
		rest, ok := strings.CutPrefix(strings.ToLower(strings.TrimSpace(t)), "attack.")
		if !ok {
			continue
		}
		if id, ok := NormTechnique(rest); ok && !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	return out
}

// techniqueMatch compares a record's technique with an alert's.
func techniqueMatch(record string, alert []string) (string, bool) {
	if len(alert) == 0 {
		return TechniqueUnknown, true
	}
	best := ""
	for _, a := range alert {
		switch {
		case a == record:
			return TechniqueExact, true
		case ParentTechnique(a) == ParentTechnique(record) && (a == ParentTechnique(a) || record == ParentTechnique(record)):
			best = TechniqueRelated
		}
	}
	return best, best != ""
}

// linkTarget is a record's target prepared for matching.
type linkTarget struct {
	asset, host, short string
	hasDomain          bool
	prefix             netip.Prefix
	hasPrefix          bool
}

func prepareTarget(t Target) linkTarget {
	lt := linkTarget{asset: t.AssetID}
	if t.Host != "" {
		lt.host, lt.short = normHost(t.Host), shortHost(t.Host)
		lt.hasDomain = strings.Contains(t.Host, ".")
	}
	if t.Address != "" {
		if p, err := parsePrefix(t.Address); err == nil {
			lt.prefix, lt.hasPrefix = p, true
		}
	}
	return lt
}

// linkAlert is an alert's host prepared for matching.
type linkAlert struct {
	asset, host, short string
	hasDomain          bool
	ip                 netip.Addr
}

func prepareAlert(a store.Alert) linkAlert {
	la := linkAlert{asset: a.AssetID}
	if a.Host != "" {
		la.host, la.short = normHost(a.Host), shortHost(a.Host)
		la.hasDomain = strings.Contains(a.Host, ".")
		if ip, err := netip.ParseAddr(strings.TrimSpace(a.Host)); err == nil {
			la.ip = ip.Unmap()
		}
	}
	return la
}

// targetMatch reports how an alert's asset or host matches a record's
// target: same asset id, same host name (one side may omit the domain:
// web-01 and web-01.corp.example), or the alert's host is an address equal
// to or inside the target's address.
func targetMatch(t linkTarget, a linkAlert) string {
	switch {
	case t.asset != "" && a.asset == t.asset:
		return "asset"
	case t.host != "" && a.host != "" && a.host == t.host:
		return "host"
	case t.host != "" && a.host != "" && !a.ip.IsValid() && a.short == t.short && (!a.hasDomain || !t.hasDomain):
		return "host"
	case t.hasPrefix && a.ip.IsValid() && t.prefix.Contains(a.ip):
		return "address"
	}
	return ""
}

func shortHost(h string) string {
	n := normHost(h)
	if _, err := netip.ParseAddr(n); err == nil {
		return n
	}
	s, _, _ := strings.Cut(n, ".")
	return s
}

// Link proposes links between attack records and the alerts raised in the
// drill window: same asset, host or address; first seen from Before ahead
// of the record to After behind it; and a matching technique (the same, a
// parent or sub-technique, or none named by the alert). Suggestions are
// ordered by record, then technique strength, then delay. Alerts already
// linked by a confirmed observation are skipped.
func (d *Drill) Link(alerts []store.Alert, opts LinkOptions) []Suggestion {
	after, before := cmp.Or(opts.After, DefaultLinkAfter), cmp.Or(opts.Before, DefaultLinkBefore)
	layerOf := opts.LayerOf
	if layerOf == nil {
		layerOf = func(store.Alert) Layer { return LayerSIEMRule }
	}
	levelOf := opts.LevelOf
	if levelOf == nil {
		levelOf = func(store.Alert) Level { return LevelAlerted }
	}
	confirmed := map[[2]string]bool{}
	for _, o := range d.Observed {
		if o.AlertID != "" {
			confirmed[[2]string{o.RecordID, o.AlertID}] = true
		}
	}
	caseOf := d.recordCases()
	// Records by time: an alert seen at t belongs to records in
	// [t-after, t+before].
	records := sortRecords(d.Records)
	targets := make([]linkTarget, len(records))
	for i, r := range records {
		targets[i] = prepareTarget(r.Target)
	}
	var out []Suggestion
	for _, a := range alerts {
		if a.TenantID != "" && a.TenantID != d.TenantID {
			continue
		}
		seen := a.FirstSeen
		if seen.IsZero() {
			seen = a.LastSeen
		}
		if !d.Window.Contains(seen) && !d.Window.Contains(seen.Add(-after)) {
			continue
		}
		techs := alertTechniques(a.Tags)
		la := prepareAlert(a)
		lo, _ := slices.BinarySearchFunc(records, seen.Add(-after), func(r AttackRecord, t time.Time) int { return r.At.Compare(t) })
		for i, r := range records[lo:] {
			delay := seen.Sub(r.At)
			if delay < -before {
				break
			}
			if delay > after || confirmed[[2]string{r.ID, a.ID}] {
				continue
			}
			how := targetMatch(targets[lo+i], la)
			if how == "" {
				continue
			}
			tm, ok := techniqueMatch(r.Technique, techs)
			if !ok {
				continue
			}
			out = append(out, Suggestion{RecordID: r.ID, CaseID: caseOf[r.ID], AlertID: a.ID, Rule: a.RuleTitle,
				Layer: layerOf(a), Level: levelOf(a), At: seen.UTC(), Delay: delay, Matched: how, Technique: tm})
		}
	}
	strength := map[string]int{TechniqueExact: 0, TechniqueRelated: 1, TechniqueUnknown: 2}
	slices.SortFunc(out, func(x, y Suggestion) int {
		return cmp.Or(cmp.Compare(x.RecordID, y.RecordID), cmp.Compare(strength[x.Technique], strength[y.Technique]),
			cmp.Compare(max(x.Delay, 0), max(y.Delay, 0)), cmp.Compare(x.AlertID, y.AlertID))
	})
	return out
}

// LinkIncidents proposes links between attack records and the incidents
// opened in the drill window: an incident whose affected assets include the
// record's asset, opened from Before ahead of the record to After behind
// it, naming the record's technique (or a parent or sub-technique, or
// none). The suggestion's layer is manual monitoring (people opened the
// incident), its level alerted, and its response time the incident's
// containment. Incidents already linked are skipped.
func (d *Drill) LinkIncidents(incidents []store.Incident, opts LinkOptions) []Suggestion {
	after, before := cmp.Or(opts.After, DefaultLinkAfter), cmp.Or(opts.Before, DefaultLinkBefore)
	confirmed := map[[2]string]bool{}
	for _, o := range d.Observed {
		if o.AlertID != "" {
			confirmed[[2]string{o.RecordID, o.AlertID}] = true
		}
	}
	caseOf := d.recordCases()
	var out []Suggestion
	for _, in := range incidents {
		if (in.TenantID != "" && in.TenantID != d.TenantID) || in.CreatedAt.IsZero() {
			continue
		}
		var techs []string
		for _, t := range in.Techniques {
			if id, ok := NormTechnique(t); ok {
				techs = append(techs, id)
			}
		}
		ref := incidentRef(in.ID)
		for _, r := range d.Records {
			delay := in.CreatedAt.Sub(r.At)
			if delay < -before || delay > after || r.Target.AssetID == "" || !slices.Contains(in.AssetIDs, r.Target.AssetID) || confirmed[[2]string{r.ID, ref}] {
				continue
			}
			tm, ok := techniqueMatch(r.Technique, techs)
			if !ok {
				continue
			}
			s := Suggestion{RecordID: r.ID, CaseID: caseOf[r.ID], AlertID: ref, IncidentID: in.ID, Rule: in.Title, Layer: LayerManual,
				Level: LevelAlerted, At: in.CreatedAt.UTC(), Delay: delay, Matched: "asset", Technique: tm}
			if !in.ContainedAt.IsZero() && !in.ContainedAt.Before(in.CreatedAt) {
				s.RespondedAt = in.ContainedAt.UTC()
			}
			out = append(out, s)
		}
	}
	strength := map[string]int{TechniqueExact: 0, TechniqueRelated: 1, TechniqueUnknown: 2}
	slices.SortFunc(out, func(x, y Suggestion) int {
		return cmp.Or(cmp.Compare(x.RecordID, y.RecordID), cmp.Compare(strength[x.Technique], strength[y.Technique]),
			cmp.Compare(max(x.Delay, 0), max(y.Delay, 0)), cmp.Compare(x.AlertID, y.AlertID))
	})
	return out
}

// incidentRef is how an incident is named in an observation's AlertID.
func incidentRef(id string) string { return "incident:" + id }

// Confirm turns a suggestion the defender accepts into an observation.
// respondedAt is when the response began (zero if none yet; for an
// incident, zero takes its containment time).
func (d *Drill) Confirm(s Suggestion, by string, respondedAt time.Time) error {
	if respondedAt.IsZero() {
		respondedAt = s.RespondedAt
	}
	return d.Observe(Observation{RecordID: s.RecordID, Layer: s.Layer, Level: s.Level, At: s.At, RespondedAt: respondedAt,
		AlertID: s.AlertID, By: by, Note: cleanField(s.Rule, MaxText)})
}
