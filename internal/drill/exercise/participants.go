package exercise

import (
	"context"
	"errors"
	"fmt"

	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/drill"
	"github.com/vigil-sec/vigil/internal/store"
)

// Drills over several tenants. A drill belongs to the tenant that runs it
// (the organiser: a customer, or the SOC's own tenant for a regulator-led
// drill over several customers) and lists participant tenants, each with
// its scope. Every method takes the tenant the caller acts in (the tenant
// of the page or API path): the organiser sees and directs the whole
// drill; a participant's users see only their part (the records against
// their assets with what was observed on them, their defending teams and
// reports, and the scores made there) and may only defend: observe,
// confirm links from their own alerts, report and add evidence to their
// records. Planning a drill over a tenant needs assessment.write there.

// open reads a drill the tenant runs or takes part in, the whole of it,
// and remembers the tenant it was opened from.
func (s *Service) open(ctx context.Context, tenantID, id string) (*Drill, error) {
	owner, err := s.store.Drills().Owner(ctx, tenantID, id)
	if err != nil {
		return nil, err
	}
	d, err := s.load(ctx, owner, id)
	if err != nil {
		return nil, err
	}
	d.Viewer = tenantID
	s.names(ctx, d.Drill)
	return d, nil
}

// names fills in the display names of the drill's tenants for reports; an
// unknown tenant keeps its id.
func (s *Service) names(ctx context.Context, d *drill.Drill) {
	if len(d.Participants) == 0 {
		return
	}
	if t, err := s.store.Tenants().Get(ctx, d.TenantID); err == nil {
		d.OwnerName = t.Name
	}
	for i, p := range d.Participants {
		if t, err := s.store.Tenants().Get(ctx, p.TenantID); err == nil {
			d.Participants[i].Name = t.Name
		}
	}
}

// Shared reports whether the drill was opened by a participant tenant,
// which sees only its part.
func (d *Drill) Shared() bool { return d.Viewer != "" && d.Viewer != d.TenantID }

// part is what the viewer may see: the whole drill for the organiser, the
// participant's part otherwise.
func (d *Drill) part() *Drill {
	if !d.Shared() {
		return d
	}
	out := *d
	out.Drill = d.ForTenant(d.Viewer)
	out.Remediations = nil
	return &out
}

// organiser checks the caller acts in the organising tenant and may act
// for role (see mayAct): planning, running, attacking, announcing and
// deciding are the organiser's.
func organiser(ctx context.Context, d *Drill, role drill.Role, team string) error {
	if d.Shared() {
		return fmt.Errorf("%w: only the organisation running the drill may do this", auth.ErrForbidden)
	}
	return mayAct(ctx, d.Drill, role, team)
}

// sees checks that a participant viewer names a record of its part; a
// record of another tenant is not found, as if it did not exist.
func (d *Drill) sees(recordID string) error {
	if !d.Shared() {
		return nil
	}
	if r, ok := d.Record(recordID); !ok || d.RecordTenant(r) != d.Viewer {
		return fmt.Errorf("%w: %w: record %q", store.ErrInvalid, drill.ErrNotFound, drillText(recordID))
	}
	return nil
}

// checkParticipants checks the participant tenants exist and that the
// caller holds assessment.write in each: enrolling a tenant links its
// alerts to the drill.
func (s *Service) checkParticipants(ctx context.Context, ps []drill.Participant) error {
	for _, p := range ps {
		if _, err := s.store.Tenants().Get(ctx, p.TenantID); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return store.NewFieldError("participants", store.CodeOneOf, nil, "there is no organisation %q", drillText(p.TenantID))
			}
			return err
		}
		if err := auth.Require(ctx, auth.PermAssessWrite, p.TenantID); err != nil {
			return fmt.Errorf("%w: planning a drill over another organisation needs assessment.write there", err)
		}
	}
	return nil
}

// DeleteRecord removes an attack record with its observations and its
// evidence files (a file's content goes when no other file of the tenant
// has the same bytes). Only the directing team of the organiser may, and
// not once the drill is finished. Audited.
func (s *Service) DeleteRecord(ctx context.Context, tenantID, id, recordID string) error {
	if err := auth.Require(ctx, auth.PermAssessWrite, tenantID); err != nil {
		return err
	}
	var rec drill.AttackRecord
	var files int
	_, err := s.change(ctx, tenantID, id, 0, func(d *Drill) error {
		if err := organiser(ctx, d, drill.RoleDirector, ""); err != nil {
			return err
		}
		var ok bool
		if rec, ok = d.Record(recordID); !ok {
			return store.ErrNotFound
		}
		if err := d.DeleteRecord(recordID); err != nil {
			return userErr(err)
		}
		// The files go first: a failure leaves the record to delete again,
		// never files nobody can reach.
		if s.files != nil && files == 0 {
			n, err := s.deleteRecordFiles(ctx, d, recordID)
			if err != nil {
				return err
			}
			files = n
		}
		v, err := s.store.Drills().DeleteRecord(ctx, d.TenantID, id, d.Version, recordID)
		d.Version = v
		return err
	})
	if err != nil {
		return err
	}
	return s.record(ctx, tenantID, "drill.record.delete", id, map[string]any{"record": rec.ID, "team": rec.Team,
		"target": rec.Target.String(), "technique": rec.Technique, "files": files})
}

// deleteRecordFiles removes every evidence file of a record.
func (s *Service) deleteRecordFiles(ctx context.Context, d *Drill, recordID string) (int, error) {
	o := fileOwner(d, recordID)
	fs, err := s.files.List(ctx, auth.PermAssessWrite, o)
	if err != nil {
		return 0, err
	}
	for _, f := range fs {
		if err := s.files.Delete(ctx, auth.PermAssessWrite, o, f.ID); err != nil {
			return 0, err
		}
	}
	return len(fs), nil
}
