package alerting

import (
	"context"
	"errors"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/vigil-sec/vigil/internal/audit"
	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/store"
)

// The SOC's 7×24 monitoring desk: who is on shift when, and the handover
// notes each shift leaves the next. Both are the SOC's own, not a
// tenant's: reading them needs event.read from a global role (the SOC's
// staff), writing and acknowledging a note event.triage, and planning
// shifts user.admin. A note may point at alerts and cases of tenants the
// author can read; a reader sees only the references to tenants they can
// read.

// Bounds of the desk.
const (
	MaxShiftLength   = 7 * 24 * time.Hour
	MaxShiftNote     = 500
	MaxHandoverText  = 8000
	MaxHandoverRefs  = 20
	MaxShiftsListed  = 500
	maxShiftsHorizon = 62 * 24 * time.Hour
)

// ShiftInput is a shift as the schedule form or the API gives it.
type ShiftInput struct {
	User     string // user ID or username
	StartsAt time.Time
	EndsAt   time.Time
	Note     string
}

// textField checks one free-text field: UTF-8, required or not, bounded in
// runes.
func textField(field, v string, limit int, required bool) error {
	switch {
	case !utf8.ValidString(v):
		return invalid(field, store.CodeInvalidUTF8, nil, "%s must be UTF-8 text", field)
	case strings.ContainsRune(v, 0):
		return invalid(field, store.CodeInvalidUTF8, nil, "%s must not contain NUL", field)
	case required && strings.TrimSpace(v) == "":
		return invalid(field, store.CodeRequired, nil, "%s is required", field)
	case utf8.RuneCountInString(v) > limit:
		return invalid(field, store.CodeTooLong, map[string]any{"max": limit}, "%s is longer than %d characters", field, limit)
	}
	return nil
}

func requireGlobal(ctx context.Context, perm auth.Perm) error {
	if !auth.FromContext(ctx).Can(perm, "") {
		return auth.ErrForbidden
	}
	return nil
}

// AddShift puts a person on the schedule.
func (s *Service) AddShift(ctx context.Context, in ShiftInput) (store.Shift, error) {
	if err := requireGlobal(ctx, auth.PermUserAdmin); err != nil {
		return store.Shift{}, err
	}
	in.User, in.Note = strings.TrimSpace(in.User), strings.TrimSpace(in.Note)
	if in.User == "" || len(in.User) > 100 {
		return store.Shift{}, invalid("user", store.CodeRequired, nil, "choose who is on shift")
	}
	if err := textField("note", in.Note, MaxShiftNote, false); err != nil {
		return store.Shift{}, err
	}
	switch {
	case in.StartsAt.IsZero() || in.EndsAt.IsZero():
		return store.Shift{}, invalid("starts_at", store.CodeRequired, nil, "a shift needs a start and an end")
	case !in.EndsAt.After(in.StartsAt):
		return store.Shift{}, invalid("ends_at", store.CodeEndBeforeStart, nil, "a shift ends after it starts")
	case in.EndsAt.Sub(in.StartsAt) > MaxShiftLength:
		return store.Shift{}, invalid("ends_at", store.CodeOutOfRange, map[string]any{"max": "168h"}, "a shift lasts at most 7 days")
	}
	u, err := s.store.Users().Get(ctx, in.User)
	if errors.Is(err, store.ErrNotFound) {
		u, err = s.store.Users().GetByUsername(ctx, in.User)
	}
	if errors.Is(err, store.ErrNotFound) {
		return store.Shift{}, invalid("user", store.CodeOneOf, nil, "no such user")
	}
	if err != nil {
		return store.Shift{}, err
	}
	if u.Disabled {
		return store.Shift{}, invalid("user", store.CodeOneOf, nil, "the user is disabled")
	}
	staff, err := s.onShiftEligible(ctx, u)
	if err != nil {
		return store.Shift{}, err
	}
	if !staff {
		return store.Shift{}, invalid("user", store.CodeOneOf, nil, "only SOC staff (a role that triages alerts) can be on shift")
	}
	sh := store.Shift{UserID: u.ID, Username: u.Username, StartsAt: in.StartsAt.UTC(), EndsAt: in.EndsAt.UTC(), Note: in.Note,
		CreatedBy: auth.FromContext(ctx).UserID}
	if err := s.store.Desk().CreateShift(ctx, &sh); err != nil {
		return store.Shift{}, err
	}
	return sh, s.audit.Record(ctx, audit.Event{Action: "desk.shift.create", Object: "shift:" + sh.ID,
		Detail: map[string]any{"user": u.Username, "starts_at": sh.StartsAt, "ends_at": sh.EndsAt}})
}

// DeleteShift takes a shift off the schedule.
func (s *Service) DeleteShift(ctx context.Context, id string) error {
	if err := requireGlobal(ctx, auth.PermUserAdmin); err != nil {
		return err
	}
	sh, err := s.store.Desk().GetShift(ctx, id)
	if err != nil {
		return err
	}
	if err := s.store.Desk().DeleteShift(ctx, id); err != nil {
		return err
	}
	return s.audit.Record(ctx, audit.Event{Action: "desk.shift.delete", Object: "shift:" + id,
		Detail: map[string]any{"user": sh.Username, "starts_at": sh.StartsAt, "ends_at": sh.EndsAt}})
}

// Shifts lists the shifts overlapping [from, to), at most about two
// months.
func (s *Service) Shifts(ctx context.Context, from, to time.Time) ([]store.Shift, error) {
	if err := requireGlobal(ctx, auth.PermEventRead); err != nil {
		return nil, err
	}
	if !to.After(from) || to.Sub(from) > maxShiftsHorizon {
		return nil, invalid("to", store.CodeOutOfRange, map[string]any{"max": "62 days"}, "list at most 62 days of shifts")
	}
	return s.store.Desk().Shifts(ctx, from, to)
}

// OnDuty lists who is on shift at the clock's now.
func (s *Service) OnDuty(ctx context.Context) ([]store.Shift, error) {
	if err := requireGlobal(ctx, auth.PermEventRead); err != nil {
		return nil, err
	}
	return s.onDuty(ctx, s.clock.Now())
}

func (s *Service) onDuty(ctx context.Context, at time.Time) ([]store.Shift, error) {
	return s.store.Desk().Shifts(ctx, at, at.Add(time.Microsecond))
}

// onShiftName is who is on shift at t, for escalation's "person on call"
// ("" when nobody is, or when several are: then the first to start).
func (s *Service) onShiftName(ctx context.Context, at time.Time) string {
	ss, err := s.onDuty(ctx, at)
	if err != nil {
		s.logger.Warn("desk: who is on shift", "err", err)
		return ""
	}
	if len(ss) == 0 {
		return ""
	}
	return ss[0].Username
}

// HandoverInput is a note as the author writes it. Refs name tenants by
// ID or slug.
type HandoverInput struct {
	ShiftID   string
	OpenItems string
	Watch     string
	Refs      []store.HandoverRef
}

// HandoverView is a note as one reader may see it: the references to
// tenants the reader cannot read are left out and counted.
type HandoverView struct {
	store.Handover
	Refs   []HandoverRefView
	Hidden int
	// CanAck is set when the reader may acknowledge it (not its author,
	// not acknowledged yet).
	CanAck bool
}

// HandoverRefView is a reference with its tenant, for links.
type HandoverRefView struct {
	store.HandoverRef
	Tenant store.Tenant
	Title  string
}

// WriteHandover records the note the shift leaves.
func (s *Service) WriteHandover(ctx context.Context, in HandoverInput) (store.Handover, error) {
	if err := requireGlobal(ctx, auth.PermEventTriage); err != nil {
		return store.Handover{}, err
	}
	p := auth.FromContext(ctx)
	if err := errors.Join(textField("open_items", in.OpenItems, MaxHandoverText, true),
		textField("watch", in.Watch, MaxHandoverText, false)); err != nil {
		return store.Handover{}, err
	}
	if len(in.Refs) > MaxHandoverRefs {
		return store.Handover{}, invalid("refs", store.CodeTooMany, map[string]any{"max": MaxHandoverRefs}, "at most %d references", MaxHandoverRefs)
	}
	h := store.Handover{AuthorID: p.UserID, AuthorName: p.Name(), OpenItems: in.OpenItems, Watch: in.Watch}
	if in.ShiftID != "" {
		if _, err := s.store.Desk().GetShift(ctx, in.ShiftID); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return store.Handover{}, invalid("shift_id", store.CodeOneOf, nil, "no such shift")
			}
			return store.Handover{}, err
		}
		h.ShiftID = in.ShiftID
	}
	for _, r := range in.Refs {
		ref, err := s.checkRef(ctx, r)
		if err != nil {
			return store.Handover{}, err
		}
		h.Refs = append(h.Refs, ref)
	}
	if err := s.store.Desk().CreateHandover(ctx, &h); err != nil {
		return store.Handover{}, err
	}
	return h, s.audit.Record(ctx, audit.Event{Action: "desk.handover.write", Object: "handover:" + h.ID,
		Detail: map[string]any{"shift": h.ShiftID, "refs": len(h.Refs)}})
}

// checkRef resolves a reference's tenant (ID or slug) and checks the
// author may read it and the alert or case exists there.
func (s *Service) checkRef(ctx context.Context, r store.HandoverRef) (store.HandoverRef, error) {
	bad := func() error {
		return invalid("refs", store.CodeNotInTenant, nil, "a reference names an alert or case that is not found")
	}
	r.TenantID, r.ID = strings.TrimSpace(r.TenantID), strings.TrimSpace(r.ID)
	if r.TenantID == "" || r.ID == "" || len(r.TenantID) > 100 || len(r.ID) > 100 {
		return r, bad()
	}
	t, err := s.store.Tenants().Get(ctx, r.TenantID)
	if errors.Is(err, store.ErrNotFound) {
		t, err = s.store.Tenants().GetBySlug(ctx, r.TenantID)
	}
	if errors.Is(err, store.ErrNotFound) {
		return r, bad()
	}
	if err != nil {
		return r, err
	}
	if !auth.FromContext(ctx).Can(auth.PermEventRead, t.ID) {
		return r, bad() // the tenant is not the author's to name
	}
	r.TenantID = t.ID
	switch r.Kind {
	case "alert":
		_, err = s.store.Alerts().Get(ctx, t.ID, r.ID)
	case "case":
		_, err = s.store.Incidents().Get(ctx, t.ID, r.ID)
	default:
		return r, invalid("refs", store.CodeOneOf, map[string]any{"allowed": []string{"alert", "case"}}, "a reference is an alert or a case")
	}
	if errors.Is(err, store.ErrNotFound) {
		return r, bad()
	}
	return r, err
}

// Handovers lists the latest notes as the reader may see them.
func (s *Service) Handovers(ctx context.Context, p store.Page) ([]HandoverView, error) {
	if err := requireGlobal(ctx, auth.PermEventRead); err != nil {
		return nil, err
	}
	hs, err := s.store.Desk().Handovers(ctx, p)
	if err != nil {
		return nil, err
	}
	out := make([]HandoverView, 0, len(hs))
	tenants := map[string]*store.Tenant{}
	for _, h := range hs {
		v, err := s.handoverView(ctx, h, tenants)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

func (s *Service) handoverView(ctx context.Context, h store.Handover, tenants map[string]*store.Tenant) (HandoverView, error) {
	p := auth.FromContext(ctx)
	v := HandoverView{Handover: h, CanAck: h.AckedAt.IsZero() && h.AuthorID != p.UserID && p.Can(auth.PermEventTriage, "")}
	for _, r := range h.Refs {
		if !p.Can(auth.PermEventRead, r.TenantID) {
			v.Hidden++
			continue
		}
		t, ok := tenants[r.TenantID]
		if !ok {
			got, err := s.store.Tenants().Get(ctx, r.TenantID)
			if err != nil && !errors.Is(err, store.ErrNotFound) {
				return v, err
			}
			if err == nil {
				t = &got
			}
			tenants[r.TenantID] = t
		}
		if t == nil {
			v.Hidden++ // the tenant was deleted
			continue
		}
		rv := HandoverRefView{HandoverRef: r, Tenant: *t, Title: r.ID}
		switch r.Kind {
		case "alert":
			if a, err := s.store.Alerts().Get(ctx, t.ID, r.ID); err == nil {
				rv.Title = a.RuleTitle
			}
		case "case":
			if c, err := s.store.Incidents().Get(ctx, t.ID, r.ID); err == nil {
				rv.Title = c.Ref + " " + c.Title
			}
		}
		v.Refs = append(v.Refs, rv)
	}
	return v, nil
}

// AckHandover records that the reader (of the next shift) read a note.
// Its author cannot acknowledge it.
func (s *Service) AckHandover(ctx context.Context, id string) error {
	if err := requireGlobal(ctx, auth.PermEventTriage); err != nil {
		return err
	}
	p := auth.FromContext(ctx)
	h, err := s.store.Desk().GetHandover(ctx, id)
	if err != nil {
		return err
	}
	if h.AuthorID == p.UserID {
		return invalid("handover", store.CodeSelfChange, nil, "the next shift acknowledges a handover, not its author")
	}
	if err := s.store.Desk().AckHandover(ctx, id, p.UserID, p.Name(), s.clock.Now()); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return invalid("handover", store.CodeOneOf, nil, "the handover was acknowledged before")
		}
		return err
	}
	return s.audit.Record(ctx, audit.Event{Action: "desk.handover.ack", Object: "handover:" + id,
		Detail: map[string]any{"author": h.AuthorName}})
}
