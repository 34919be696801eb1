package manager

import (
	"context"
	"errors"
	"fmt"

	"github.com/vigil-sec/vigil/internal/audit"
	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/campaign/keyperiod"
	"github.com/vigil-sec/vigil/internal/store"
)

// A tenant's key-period calendar starts as the built-in one (Options
// Calendar); the first edit keeps a copy of the tenant's own in the store,
// in the calendar file format, and every later edit changes that copy.
// Edits are audited. A campaign keeps the period it was planned for, so
// editing or removing a period changes no campaign already planned.

// TenantCalendar is a tenant's key-period calendar.
type TenantCalendar struct {
	*keyperiod.Calendar
	// Own is true when the tenant has edited its calendar, false while it
	// uses the built-in one.
	Own bool
	// Version is the stored calendar's version, 0 for the built-in one.
	Version int
}

// calendarOf reads the tenant's calendar; the caller has checked the
// permission.
func (s *Service) calendarOf(ctx context.Context, tenantID string) (TenantCalendar, error) {
	rec, err := s.store.Campaigns().Calendar(ctx, tenantID)
	if errors.Is(err, store.ErrNotFound) {
		return TenantCalendar{Calendar: s.calendar}, nil
	}
	if err != nil {
		return TenantCalendar{}, err
	}
	c, err := keyperiod.ParseCalendar(rec.Doc, "calendar of "+tenantID)
	if err != nil {
		return TenantCalendar{}, fmt.Errorf("key-period calendar: %w", err)
	}
	return TenantCalendar{Calendar: c, Own: true, Version: rec.Version}, nil
}

// CalendarOf returns the tenant's key-period calendar.
func (s *Service) CalendarOf(ctx context.Context, tenantID string) (TenantCalendar, error) {
	if err := auth.Require(ctx, auth.PermAssessRead, tenantID); err != nil {
		return TenantCalendar{}, err
	}
	return s.calendarOf(ctx, tenantID)
}

// PutPeriod adds a period to the tenant's calendar, or replaces the one
// with the same id. version is the calendar version the edit was made on
// (TenantCalendar.Version): when the calendar changed since, the edit is
// refused with store.ErrConflict rather than lost.
func (s *Service) PutPeriod(ctx context.Context, tenantID string, spec keyperiod.PeriodSpec, version int) (keyperiod.Period, error) {
	if err := auth.Require(ctx, auth.PermAssessWrite, tenantID); err != nil {
		return keyperiod.Period{}, err
	}
	cur, err := s.calendarOf(ctx, tenantID)
	if err != nil {
		return keyperiod.Period{}, err
	}
	if cur.Version != version {
		return keyperiod.Period{}, fmt.Errorf("%w: the calendar was changed by someone else; reload it", store.ErrConflict)
	}
	_, had := periodOf(cur.Calendar, spec.ID)
	next, err := cur.Put(spec)
	if err != nil {
		var se *keyperiod.SpecError
		if errors.As(err, &se) {
			return keyperiod.Period{}, invalid(se.Field, store.CodeInvalidConfig, map[string]any{"reason": se.Msg}, "%s", se.Msg)
		}
		return keyperiod.Period{}, err
	}
	p, _ := periodOf(next, spec.ID)
	if err := s.saveCalendar(ctx, tenantID, next, cur.Version); err != nil {
		return p, err
	}
	action := "campaign.calendar.add"
	if had {
		action = "campaign.calendar.edit"
	}
	sp := next.Spec(p)
	return p, s.recordCalendar(ctx, tenantID, action, map[string]any{"period": p.ID, "name": p.Name, "name_zh": p.NameZh, "kind": p.Kind,
		"start": sp.Start, "end": sp.End, "lead_time": sp.LeadTime})
}

// RemovePeriod removes a period from the tenant's calendar.
func (s *Service) RemovePeriod(ctx context.Context, tenantID, id string, version int) error {
	if err := auth.Require(ctx, auth.PermAssessWrite, tenantID); err != nil {
		return err
	}
	cur, err := s.calendarOf(ctx, tenantID)
	if err != nil {
		return err
	}
	if cur.Version != version {
		return fmt.Errorf("%w: the calendar was changed by someone else; reload it", store.ErrConflict)
	}
	p, ok := periodOf(cur.Calendar, id)
	if !ok {
		return fmt.Errorf("key period %q: %w", quote(id), store.ErrNotFound)
	}
	next, err := cur.Remove(id)
	if err != nil {
		return err
	}
	if err := s.saveCalendar(ctx, tenantID, next, cur.Version); err != nil {
		return err
	}
	return s.recordCalendar(ctx, tenantID, "campaign.calendar.remove", map[string]any{"period": p.ID, "name": p.Name})
}

func (s *Service) saveCalendar(ctx context.Context, tenantID string, c *keyperiod.Calendar, version int) error {
	doc, err := c.Marshal()
	if err != nil {
		return err
	}
	return s.store.Campaigns().SetCalendar(ctx, &store.CampaignCalendar{TenantID: tenantID, Doc: doc,
		UpdatedBy: auth.FromContext(ctx).ActorID(), Version: version})
}

func (s *Service) recordCalendar(ctx context.Context, tenantID, action string, detail any) error {
	if s.audit == nil {
		return nil
	}
	return s.audit.Record(ctx, audit.Event{TenantID: tenantID, Action: action, Object: "key-period-calendar:" + tenantID, Detail: detail})
}

func periodOf(c *keyperiod.Calendar, id string) (keyperiod.Period, bool) {
	p, err := c.Period(id)
	return p, err == nil
}
