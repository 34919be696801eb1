package incident

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/store"
)

// ErrTransition is wrapped by a refused phase change; the message says why.
var ErrTransition = fmt.Errorf("%w: phase change not allowed", store.ErrInvalid)

func phaseIndex(p string) int { return slices.Index(Phases(), p) }

// CheckTransition applies the phase rules: an open case moves forward one
// phase at a time; it may go back to any earlier phase with a reason; it
// is closed (from any open phase) with Close and reopened with Reopen.
func CheckTransition(from, to, reason string) error {
	fi, ti := phaseIndex(from), phaseIndex(to)
	switch {
	case from == PhaseClosed:
		return fmt.Errorf("%w: the case is closed; reopen it first", ErrTransition)
	case to == PhaseClosed:
		return fmt.Errorf("%w: close the case with a resolution", ErrTransition)
	case ti < 0:
		return oneOf("phase", to, Phases())
	case fi < 0:
		return fmt.Errorf("%w: unknown current phase %q", ErrTransition, from)
	case ti == fi:
		return fmt.Errorf("%w: the case is already in %s", ErrTransition, to)
	case ti == fi+1:
		return nil
	case ti > fi:
		return fmt.Errorf("%w: from %s the next phase is %s", ErrTransition, from, Phases()[fi+1])
	case strings.TrimSpace(reason) == "":
		return invalid("reason", store.CodeRequired, nil, "going back to %s needs a reason", to)
	}
	return nil
}

// load reads a case for a change, refusing a stale version.
func (s *Service) load(ctx context.Context, tenantID, id string, version int) (store.Incident, error) {
	if err := auth.Require(ctx, auth.PermIncidentWrite, tenantID); err != nil {
		return store.Incident{}, err
	}
	c, err := s.store.Incidents().Get(ctx, tenantID, id)
	if err != nil {
		return c, err
	}
	if version != 0 && version != c.Version {
		return c, fmt.Errorf("%w: the case was changed by someone else; reload it", store.ErrConflict)
	}
	return c, nil
}

// SetPhase moves an open case to another open phase (version 0 skips the
// stale-copy check). Leaving detect acknowledges the case; leaving contain
// forward marks it contained.
func (s *Service) SetPhase(ctx context.Context, tenantID, id string, version int, to, reason string) (store.Incident, error) {
	if err := checkText("reason", reason, MaxNote, false); err != nil {
		return store.Incident{}, err
	}
	c, err := s.load(ctx, tenantID, id, version)
	if err != nil {
		return c, err
	}
	from := c.Phase
	if err := CheckTransition(from, to, reason); err != nil {
		return c, err
	}
	now := s.now()
	c.Phase = to
	if c.AcknowledgedAt.IsZero() {
		c.AcknowledgedAt = now
	}
	if phaseIndex(to) > phaseIndex(PhaseContain) && c.ContainedAt.IsZero() {
		c.ContainedAt = now
	}
	text := from + " → " + to
	if reason != "" {
		text += ": " + reason
	}
	if err := s.store.Incidents().Update(ctx, &c, []store.IncidentEntry{s.entry(ctx, "phase", now, text)}); err != nil {
		return c, err
	}
	return c, s.record(ctx, tenantID, "incident.phase", id, map[string]any{"ref": c.Ref, "from": from, "to": to, "reason": reason})
}

func (s *Service) entry(ctx context.Context, kind string, at time.Time, text string) store.IncidentEntry {
	return store.IncidentEntry{Kind: kind, At: at, Actor: auth.FromContext(ctx).ActorID(), Text: text}
}

// Close closes an open case with a resolution.
func (s *Service) Close(ctx context.Context, tenantID, id string, version int, resolution, reason string) (store.Incident, error) {
	if err := oneOf("resolution", resolution, Resolutions()); err != nil {
		return store.Incident{}, err
	}
	if err := checkText("reason", reason, MaxNote, false); err != nil {
		return store.Incident{}, err
	}
	c, err := s.load(ctx, tenantID, id, version)
	if err != nil {
		return c, err
	}
	if c.Phase == PhaseClosed {
		return c, fmt.Errorf("%w: the case is already closed", ErrTransition)
	}
	from, now := c.Phase, s.now()
	c.Phase, c.Resolution, c.ClosedAt = PhaseClosed, resolution, now
	text := from + " → closed (" + resolution + ")"
	if reason != "" {
		text += ": " + reason
	}
	if err := s.store.Incidents().Update(ctx, &c, []store.IncidentEntry{s.entry(ctx, "phase", now, text)}); err != nil {
		return c, err
	}
	return c, s.record(ctx, tenantID, "incident.close", id, map[string]any{"ref": c.Ref, "from": from, "resolution": resolution, "reason": reason})
}

// Reopen reopens a closed case in an open phase, with a reason. The report
// stays final if it was; the SLA close timer runs again from its due time.
func (s *Service) Reopen(ctx context.Context, tenantID, id string, version int, phase, reason string) (store.Incident, error) {
	if err := oneOf("phase", phase, Phases()); err != nil {
		return store.Incident{}, err
	}
	if err := checkText("reason", reason, MaxNote, true); err != nil {
		return store.Incident{}, err
	}
	c, err := s.load(ctx, tenantID, id, version)
	if err != nil {
		return c, err
	}
	if c.Phase != PhaseClosed {
		return c, fmt.Errorf("%w: the case is open", ErrTransition)
	}
	now := s.now()
	old := c.Resolution
	c.Phase, c.Resolution, c.ClosedAt = phase, "", time.Time{}
	if err := s.store.Incidents().Update(ctx, &c, []store.IncidentEntry{s.entry(ctx, "phase", now, "closed → "+phase+" (reopened): "+reason)}); err != nil {
		return c, err
	}
	return c, s.record(ctx, tenantID, "incident.reopen", id, map[string]any{"ref": c.Ref, "to": phase, "resolution": old, "reason": reason})
}

// Acknowledge records that an analyst has taken the case up.
func (s *Service) Acknowledge(ctx context.Context, tenantID, id string) (store.Incident, error) {
	c, err := s.load(ctx, tenantID, id, 0)
	if err != nil || !c.AcknowledgedAt.IsZero() {
		return c, err
	}
	c.AcknowledgedAt = s.now()
	if err := s.store.Incidents().Update(ctx, &c, nil); err != nil {
		return c, err
	}
	return c, s.record(ctx, tenantID, "incident.acknowledge", id, map[string]any{"ref": c.Ref})
}

// AddNote writes an analyst's timeline entry about a fact at a time (zero
// means now).
func (s *Service) AddNote(ctx context.Context, tenantID, id string, at time.Time, text string) (store.IncidentEntry, error) {
	if err := auth.Require(ctx, auth.PermIncidentWrite, tenantID); err != nil {
		return store.IncidentEntry{}, err
	}
	if err := checkText("text", text, MaxNote, true); err != nil {
		return store.IncidentEntry{}, err
	}
	if at.IsZero() {
		at = s.now()
	}
	if at.After(s.now().Add(time.Hour)) {
		return store.IncidentEntry{}, invalid("at", store.CodeOutOfRange, nil, "the time of the fact is in the future")
	}
	e := s.entry(ctx, "note", at, text)
	e.TenantID, e.CaseID = tenantID, id
	if err := s.store.Incidents().AddEntry(ctx, &e); err != nil {
		return e, err
	}
	return e, s.record(ctx, tenantID, "incident.note", id, map[string]any{"at": e.At, "text": text})
}
