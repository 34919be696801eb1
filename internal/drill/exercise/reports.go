package exercise

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/google/uuid"

	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/drill"
	"github.com/vigil-sec/vigil/internal/store"
)

// Defender reports: the defending teams submit analysis, response,
// notification, coordination and tracing reports; the directing team
// accepts (or rejects) them, and accepted reports score under the drill's
// scheme (drill.Drill.Score).

// ReportInput is a defender report as its author writes it.
type ReportInput struct {
	Team     string           `json:"team"`
	Kind     drill.ReportKind `json:"kind"`
	Title    string           `json:"title"`
	Text     string           `json:"text,omitempty"`
	RecordID string           `json:"record_id,omitempty"`
	Related  []string         `json:"related_records,omitempty"`
}

// SubmitReport stores a defender report of a defending team, authored by
// the caller, not yet accepted. It needs event.triage (the defenders'
// permission) and, when the team lists members, membership of it or of
// the directing team. A planned drill takes no reports.
func (s *Service) SubmitReport(ctx context.Context, tenantID, id string, in ReportInput) (*Drill, drill.DefenceReport, error) {
	if err := auth.Require(ctx, auth.PermEventTriage, tenantID); err != nil {
		return nil, drill.DefenceReport{}, err
	}
	rid, err := uuid.NewV7()
	if err != nil {
		return nil, drill.DefenceReport{}, err
	}
	rp := drill.DefenceReport{ID: "R-" + strings.ToUpper(rid.String()[24:]), Team: strings.TrimSpace(in.Team), Kind: in.Kind,
		RecordID: strings.TrimSpace(in.RecordID), Title: strings.TrimSpace(in.Title), Text: strings.TrimSpace(in.Text),
		By: actor(ctx), At: s.now().UTC()}
	for _, r := range in.Related {
		if r = strings.TrimSpace(r); r != "" {
			rp.Related = append(rp.Related, r)
		}
	}
	if rp.RecordID == "" && len(rp.Related) > 0 {
		rp.RecordID, rp.Related = rp.Related[0], rp.Related[1:]
	}
	d, err := s.change(ctx, tenantID, id, 0, func(d *Drill) error {
		if err := mayAct(ctx, d.Drill, drill.RoleDefender, rp.Team); err != nil {
			return err
		}
		if t, ok := d.Team(rp.Team); ok && d.Shared() && d.TeamTenant(t) != d.Viewer {
			return store.NewFieldError("team", store.CodeOneOf, nil, "team %q defends another organisation", drillText(rp.Team))
		}
		if d.State == drill.StatePlanned {
			return fmt.Errorf("%w: %w: the drill has not started", store.ErrInvalid, drill.ErrState)
		}
		if err := d.SubmitReport(rp); err != nil {
			return userErr(err)
		}
		stored := d.Reports[len(d.Reports)-1]
		body, err := json.Marshal(stored)
		if err != nil {
			return err
		}
		row := store.DrillReport{ID: stored.ID, At: stored.At, Team: stored.Team, Kind: string(stored.Kind), By: stored.By, Body: body}
		v, err := s.store.Drills().AddReport(ctx, d.TenantID, id, d.Version, &row)
		d.Version = v
		return err
	})
	if err != nil {
		return nil, rp, err
	}
	got, _ := d.Report(rp.ID)
	return d.part(), got, s.record(ctx, tenantID, "drill.report.submit", id, map[string]any{"report": rp.ID, "team": rp.Team, "kind": rp.Kind,
		"records": rp.Records()})
}

// DecideReport records the directing team's decision on a defender
// report: accepted reports score, rejected ones do not. It needs
// assessment.write and, when directing teams list members, membership.
func (s *Service) DecideReport(ctx context.Context, tenantID, id, reportID string, accepted bool) (*Drill, error) {
	if err := auth.Require(ctx, auth.PermAssessWrite, tenantID); err != nil {
		return nil, err
	}
	d, err := s.change(ctx, tenantID, id, 0, func(d *Drill) error {
		if err := organiser(ctx, d, drill.RoleDirector, ""); err != nil {
			return err
		}
		if err := d.DecideReport(reportID, accepted); err != nil {
			return userErr(err)
		}
		rp, _ := d.Report(reportID)
		body, err := json.Marshal(rp)
		if err != nil {
			return err
		}
		row := store.DrillReport{ID: rp.ID, Accepted: rp.Accepted, Body: body}
		v, err := s.store.Drills().UpdateReport(ctx, d.TenantID, id, d.Version, &row)
		d.Version = v
		return err
	})
	if err != nil {
		return nil, err
	}
	return d, s.record(ctx, tenantID, "drill.report.decide", id, map[string]any{"report": reportID, "accepted": accepted})
}
