package drill

import (
	"fmt"
	"slices"
	"strconv"

	"github.com/vigil-sec/vigil/internal/report"
)

// A drill may cover several organisations: a regulator-led drill over
// several customers, or a drill the SOC runs from its own tenant for a
// group of customers. The drill belongs to one tenant (its TenantID, the
// organiser); Participants lists the other tenants it covers, each with its
// own scope. Every attack record, defending team and defender report
// concerns one tenant (empty: the organiser), the scope guard checks a
// target against that tenant's scope only, and ForTenant cuts the part of
// the drill one participant may see.

// MaxParticipants bounds the tenants one drill covers besides its own.
const MaxParticipants = 100

// Participant is another tenant a drill covers, with the scope the
// attacking teams may touch there. Name is the tenant's display name,
// filled in by the caller for reports; it is not part of the plan.
type Participant struct {
	TenantID string `json:"tenant_id" yaml:"tenant_id"`
	Name     string `json:"name,omitempty" yaml:"-"`
	Scope    Scope  `json:"scope" yaml:"scope"`
}

// TakesPart reports whether the drill covers tenantID: its own tenant or a
// participant.
func (d *Drill) TakesPart(tenantID string) bool {
	if tenantID == d.TenantID {
		return true
	}
	_, ok := d.participant(tenantID)
	return ok
}

func (d *Drill) participant(tenantID string) (Participant, bool) {
	for _, p := range d.Participants {
		if p.TenantID == tenantID {
			return p, true
		}
	}
	return Participant{}, false
}

// Tenants returns the drill's own tenant followed by its participants.
func (d *Drill) Tenants() []string {
	out := []string{d.TenantID}
	for _, p := range d.Participants {
		out = append(out, p.TenantID)
	}
	return out
}

// TenantName is the display name of a tenant of the drill, its id when
// none is known.
func (d *Drill) TenantName(tenantID string) string {
	if p, ok := d.participant(tenantID); ok && p.Name != "" {
		return p.Name
	}
	if tenantID == d.TenantID && d.OwnerName != "" {
		return d.OwnerName
	}
	return tenantID
}

// scopeOf returns the scope of a tenant of the drill.
func (d *Drill) scopeOf(tenantID string) (Scope, bool) {
	if tenantID == "" || tenantID == d.TenantID {
		return d.Scope, true
	}
	p, ok := d.participant(tenantID)
	return p.Scope, ok
}

// emptyScope reports whether nothing is listed in scope.
func emptyScope(s Scope) bool { return len(s.CIDRs)+len(s.Hosts)+len(s.AssetIDs) == 0 }

// GuardFor returns the scope guard of one tenant of the drill ("" is the
// drill's own). A tenant that does not take part, or has nothing in scope,
// is refused with ErrOutOfScope.
func (d *Drill) GuardFor(tenantID string) (*Guard, error) {
	sc, ok := d.scopeOf(tenantID)
	if !ok {
		return nil, fmt.Errorf("%w: tenant %q does not take part in the drill", ErrOutOfScope, tenantID)
	}
	if emptyScope(sc) {
		return nil, fmt.Errorf("%w: nothing of tenant %q is in the drill's scope", ErrOutOfScope, d.TenantName(cmpOr(tenantID, d.TenantID)))
	}
	return NewGuard(sc)
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// validateParticipants checks the participants and the scopes: the drill's
// own scope is required unless participants are listed; every participant
// is listed once, is not the drill's tenant and has a scope.
func (d *Drill) validateParticipants() error {
	if len(d.Participants) == 0 || !emptyScope(d.Scope) {
		if _, err := NewGuard(d.Scope); err != nil {
			return err
		}
	}
	if len(d.Participants) > MaxParticipants {
		return invalid("participants", "%d tenants, more than %d", len(d.Participants), MaxParticipants)
	}
	seen := map[string]bool{}
	for i, p := range d.Participants {
		f := fmt.Sprintf("participants[%d]", i)
		if err := checkText(f+".tenant_id", p.TenantID, MaxName, true); err != nil {
			return err
		}
		if p.TenantID == d.TenantID {
			return invalid(f+".tenant_id", "the drill's own tenant is not a participant")
		}
		if seen[p.TenantID] {
			return invalid(f+".tenant_id", "tenant %q appears twice", p.TenantID)
		}
		seen[p.TenantID] = true
		if _, err := NewGuard(p.Scope); err != nil {
			return fmt.Errorf("%s: %w", f, err)
		}
	}
	return nil
}

// RecordTenant is the tenant an attack record concerns.
func (d *Drill) RecordTenant(r AttackRecord) string { return cmpOr(r.TenantID, d.TenantID) }

// ReportTenant is the tenant a defender report concerns.
func (d *Drill) ReportTenant(r DefenceReport) string { return cmpOr(r.TenantID, d.TenantID) }

// TeamTenant is the tenant a team acts for: a defending team's own, the
// drill's tenant for the others.
func (d *Drill) TeamTenant(t Team) string { return cmpOr(t.TenantID, d.TenantID) }

// ForTenant returns the part of the drill a participant tenant may see:
// its scope, its defending teams, the attack records against it with their
// observations, and its defender reports. The plan (cases, schedule, rules
// of engagement), the attacking and directing teams, the state history
// and announcements are shared. The result is a copy for reading; the
// drill's own tenant gets the whole drill.
func (d *Drill) ForTenant(tenantID string) *Drill {
	if tenantID == d.TenantID {
		return d
	}
	return d.Part(tenantID)
}

// Part cuts one tenant's part of the drill (see ForTenant), also of the
// drill's own tenant: only the records, observations and reports that
// concern it.
func (d *Drill) Part(tenantID string) *Drill {
	out := *d
	if p, ok := d.participant(tenantID); ok {
		out.Scope, out.Participants = p.Scope, []Participant{p}
	} else {
		out.Participants = nil
	}
	out.Teams = slices.DeleteFunc(slices.Clone(d.Teams), func(t Team) bool {
		return t.Role == RoleDefender && d.TeamTenant(t) != tenantID
	})
	keep := map[string]bool{}
	out.Records = nil
	for _, r := range d.Records {
		if d.RecordTenant(r) == tenantID {
			out.Records = append(out.Records, r)
			keep[r.ID] = true
		}
	}
	out.Observed = nil
	for _, o := range d.Observed {
		if keep[o.RecordID] {
			out.Observed = append(out.Observed, o)
		}
	}
	out.Reports = nil
	for _, r := range d.Reports {
		if d.ReportTenant(r) == tenantID {
			out.Reports = append(out.Reports, r)
		}
	}
	return &out
}

// DeleteRecord removes an attack record and the defence observations made
// on it. A finished drill keeps its records. Defender reports that name
// the record keep the name as written.
func (d *Drill) DeleteRecord(id string) error {
	if d.State == StateFinished {
		return fmt.Errorf("%w: the drill is finished; its records are kept", ErrState)
	}
	i := slices.IndexFunc(d.Records, func(r AttackRecord) bool { return r.ID == id })
	if i < 0 {
		return fmt.Errorf("%w: record %q", ErrNotFound, id)
	}
	d.Records = slices.Delete(d.Records, i, i+1)
	d.Observed = slices.DeleteFunc(d.Observed, func(o Observation) bool { return o.RecordID == id })
	return nil
}

// TenantPart is one tenant's line of the per-tenant breakdown.
type TenantPart struct {
	TenantID string
	Name     string
	Records  int
	// Executed counts the planned cases run against the tenant; Detected
	// those alerted or blocked there; Blocked those blocked.
	Executed, Detected, Blocked int
	// AttackPoints are the attackers' points against the tenant;
	// DefencePoints its defending teams' points.
	AttackPoints, DefencePoints int
}

// TenantBreakdown computes each tenant's part of the drill: its own tenant
// first, then the participants in their order.
func (d *Drill) TenantBreakdown() ([]TenantPart, error) {
	var out []TenantPart
	for _, tid := range d.Tenants() {
		part := d.Part(tid)
		tp := TenantPart{TenantID: tid, Name: d.TenantName(tid), Records: len(part.Records)}
		for _, o := range part.Outcomes() {
			if !o.Executed {
				continue
			}
			tp.Executed++
			if o.Level >= LevelAlerted {
				tp.Detected++
			}
			if o.Level == LevelBlocked {
				tp.Blocked++
			}
		}
		sc, err := part.Score()
		if err != nil {
			return nil, err
		}
		for _, v := range sc.Attackers {
			tp.AttackPoints += v
		}
		for _, v := range sc.Defenders {
			tp.DefencePoints += v
		}
		out = append(out, tp)
	}
	return out, nil
}

// tenantsSection is the summary's per-organisation breakdown.
func (d *Drill) tenantsSection(w words) (report.Section, error) {
	parts, err := d.TenantBreakdown()
	if err != nil {
		return report.Section{}, err
	}
	sec := report.Section{Heading: w["tenants"], Paragraphs: []string{fmt.Sprintf(w["tenants_text"], len(parts))}}
	t := report.Table{Columns: []string{w["org"], w["t_records"], w["f_executed"], w["f_detected"], w["f_attack"], w["f_defence"]}}
	for i, p := range parts {
		name := p.Name
		if i == 0 {
			name = fmt.Sprintf(w["t_owner"], name)
		}
		t.Rows = append(t.Rows, []string{short(name, report.MaxCell), strconv.Itoa(p.Records), strconv.Itoa(p.Executed),
			strconv.Itoa(p.Detected), strconv.Itoa(p.AttackPoints), strconv.Itoa(p.DefencePoints)})
	}
	sec.Tables = []report.Table{t}
	return sec, nil
}
