package exercise

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/drill"
	"github.com/vigil-sec/vigil/internal/ops"
	"github.com/vigil-sec/vigil/internal/store"
	"github.com/vigil-sec/vigil/internal/workorder"
)

// WorkOrders makes the remediation work orders of a drill's gaps;
// *ops.Service is one.
type WorkOrders interface {
	Create(ctx context.Context, tenantID string, in ops.Input) (ops.Order, error)
}

var _ WorkOrders = (*ops.Service)(nil)

// SourcePrefix starts the SourceRef of a work order made for a drill gap:
// "drill:<drill id>/<case id>".
const SourcePrefix = "drill:"

// SourceRef is the reference a gap's work order carries back to the drill.
func SourceRef(drillID, caseID string) string { return SourcePrefix + drillID + "/" + caseID }

// ParseSourceRef reads a work order's SourceRef made by SourceRef.
func ParseSourceRef(ref string) (drillID, caseID string, ok bool) {
	rest, found := strings.CutPrefix(ref, SourcePrefix)
	if !found {
		return "", "", false
	}
	drillID, caseID, ok = strings.Cut(rest, "/")
	return drillID, caseID, ok && drillID != "" && caseID != ""
}

// staleReservation is how long a gap's link may wait for its work order
// before another request may take it over (the first one failed midway).
const staleReservation = 10 * time.Minute

// Remediate turns a gap of the drill's summary (named by its case) into a
// remediation work order in lang, requested by the caller, and links the
// two both ways: the drill keeps the order's id, the order names the drill
// and case as its source. A gap gets one order: asking again is a
// conflict naming the order. It needs assessment.write, directing
// membership when directing teams list members, and the right to request
// work orders.
func (s *Service) Remediate(ctx context.Context, tenantID, id, caseID, lang string) (ops.Order, error) {
	if err := auth.Require(ctx, auth.PermAssessWrite, tenantID); err != nil {
		return ops.Order{}, err
	}
	if s.orders == nil {
		return ops.Order{}, errors.New("drills: no work order service configured")
	}
	d, err := s.load(ctx, tenantID, id)
	if err != nil {
		return ops.Order{}, err
	}
	if err := mayAct(ctx, d.Drill, drill.RoleDirector, ""); err != nil {
		return ops.Order{}, err
	}
	items := d.Remediation(lang)
	i := slices.IndexFunc(items, func(it drill.RemediationItem) bool { return it.CaseID == caseID })
	if i < 0 {
		return ops.Order{}, store.NewFieldError("case", store.CodeOneOf, nil, "the drill's summary has no gap for case %q", drillText(caseID))
	}
	item := items[i]
	link := store.DrillRemediation{CaseID: caseID, CreatedBy: auth.FromContext(ctx).ActorID()}
	if err := s.reserve(ctx, d, &link); err != nil {
		return ops.Order{}, err
	}
	o, err := s.orders.Create(ctx, tenantID, ops.Input{Type: workorder.TypeRemediation, Title: item.Title,
		Description: remediationText(d, item), SourceRef: SourceRef(d.ID, caseID), Hosts: hostsOf(item.Assets)})
	if err != nil {
		return ops.Order{}, errors.Join(err, s.store.Drills().DeleteRemediation(ctx, tenantID, id, caseID))
	}
	if err := s.store.Drills().SetRemediationOrder(ctx, tenantID, id, caseID, o.ID); err != nil {
		return o, err
	}
	return o, s.record(ctx, tenantID, "drill.remediate", id, map[string]any{"case": caseID, "work_order": o.ID, "ref": o.Ref})
}

// reserve links the case before its order is made, so two requests never
// make two orders; a reservation left behind by a failed request is taken
// over once it is stale.
func (s *Service) reserve(ctx context.Context, d *Drill, link *store.DrillRemediation) error {
	err := s.store.Drills().AddRemediation(ctx, d.TenantID, d.ID, link)
	if !errors.Is(err, store.ErrConflict) {
		return err
	}
	log, lerr := s.store.Drills().Log(ctx, d.TenantID, d.ID)
	if lerr != nil {
		return lerr
	}
	for _, r := range log.Remediations {
		if r.CaseID != link.CaseID {
			continue
		}
		if r.WorkOrderID != "" {
			return fmt.Errorf("%w: the gap already has work order %s", store.ErrConflict, r.WorkOrderID)
		}
		if s.now().Sub(r.CreatedAt) < staleReservation {
			return fmt.Errorf("%w: the gap's work order is being made", store.ErrConflict)
		}
		if err := s.store.Drills().DeleteRemediation(ctx, d.TenantID, d.ID, link.CaseID); err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		return s.store.Drills().AddRemediation(ctx, d.TenantID, d.ID, link)
	}
	return err
}

// remediationText is the description of a gap's order: the advice and
// where the gap came from.
func remediationText(d *Drill, it drill.RemediationItem) string {
	var b strings.Builder
	b.WriteString(it.Advice)
	fmt.Fprintf(&b, "\n\nDrill: %s\nCase: %s (%s)\nArea: %s\nPriority: %s", d.Name, it.CaseID, it.Technique, it.Area, it.Priority)
	if len(it.Assets) > 0 {
		fmt.Fprintf(&b, "\nTargets: %s", strings.Join(it.Assets, ", "))
	}
	return b.String()
}

// hostsOf returns the host names and addresses of targets ("host /
// address" as drill.Target writes them), each once, as an order's hosts.
func hostsOf(targets []string) []string {
	var out []string
	for _, t := range targets {
		for _, h := range strings.Split(t, " / ") {
			if h = strings.TrimSpace(h); h != "" && !strings.ContainsAny(h, " \t") && !slices.Contains(out, h) {
				out = append(out, h)
			}
		}
	}
	return out
}

// RemediationRow is a gap's remediation item with its work order, if one
// was made.
type RemediationRow struct {
	drill.RemediationItem
	WorkOrderID string
	Pending     bool // linked, the order is being made
}

// RemediationRows returns the drill's remediation items in lang, worst
// first, each with the work order made for it.
func (d *Drill) RemediationRows(lang string) []RemediationRow {
	var out []RemediationRow
	for _, it := range d.Remediation(lang) {
		row := RemediationRow{RemediationItem: it}
		for _, r := range d.Remediations {
			if r.CaseID == it.CaseID {
				row.WorkOrderID, row.Pending = r.WorkOrderID, r.WorkOrderID == ""
			}
		}
		out = append(out, row)
	}
	return out
}
