package project

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/compliance/register"
	"github.com/vigil-sec/vigil/internal/report"
	"github.com/vigil-sec/vigil/internal/store"
)

// Bounds of a communication log entry, in characters.
const (
	MaxCommunication = 8000
	MaxParticipants  = 500
	// MaxCommunications bounds the entries of one project's log.
	MaxCommunications = 5000
)

// CommunicationKinds are the kinds of log entries.
func CommunicationKinds() []string {
	return []string{store.CommunicationMeeting, store.CommunicationDecision, store.CommunicationNote}
}

// CommunicationInput is one entry of a project's communication log.
type CommunicationInput struct {
	Kind         string
	At           time.Time // when it happened; zero: now
	Participants string
	Text         string
}

// AddCommunication appends an entry (a meeting, a decision, a note) to a
// project's communication log. Entries are never changed or removed; each
// is audited.
func (s *Service) AddCommunication(ctx context.Context, tenantID, projectID string, in CommunicationInput) (store.ProjectCommunication, error) {
	if err := auth.Require(ctx, auth.PermAssessWrite, tenantID); err != nil {
		return store.ProjectCommunication{}, err
	}
	if err := oneOf("kind", in.Kind, CommunicationKinds()); err != nil {
		return store.ProjectCommunication{}, err
	}
	in.Participants = strings.TrimSpace(in.Participants)
	if err := checkText("participants", in.Participants, MaxParticipants, false, true); err != nil {
		return store.ProjectCommunication{}, err
	}
	if err := checkText("text", in.Text, MaxCommunication, true, false); err != nil {
		return store.ProjectCommunication{}, err
	}
	if !in.At.IsZero() && (in.At.Year() < 2000 || in.At.Year() > 2100) {
		return store.ProjectCommunication{}, invalid("at", store.CodeInvalidDate, nil, "the date is not between 2000 and 2100")
	}
	n, err := s.store.Compliance().Communications(ctx, tenantID, projectID, MaxCommunications)
	if err != nil {
		return store.ProjectCommunication{}, err
	}
	if len(n) >= MaxCommunications {
		return store.ProjectCommunication{}, invalid("text", store.CodeTooMany, map[string]any{"max": MaxCommunications},
			"a project's log holds at most %d entries", MaxCommunications)
	}
	c := store.ProjectCommunication{TenantID: tenantID, ProjectID: projectID, Kind: in.Kind, OccurredAt: in.At,
		Participants: in.Participants, Text: in.Text, CreatedBy: auth.FromContext(ctx).ActorID()}
	if err := s.store.Compliance().AddCommunication(ctx, &c); err != nil {
		return c, err
	}
	return c, s.record(ctx, tenantID, "assessment.communication", projectID, map[string]any{"entry": c.ID, "kind": c.Kind,
		"at": c.OccurredAt, "participants": c.Participants, "text": report.Shorten(c.Text, 200)})
}

// Communications returns a project's communication log, oldest first.
func (s *Service) Communications(ctx context.Context, tenantID, projectID string) ([]store.ProjectCommunication, error) {
	if err := auth.Require(ctx, auth.PermAssessRead, tenantID); err != nil {
		return nil, err
	}
	if _, err := s.store.Compliance().GetProject(ctx, tenantID, projectID); err != nil {
		return nil, err
	}
	return s.store.Compliance().Communications(ctx, tenantID, projectID, MaxCommunications)
}

// Remediate raises a remediation item (整改) for every result of the
// project that is 不符合 or 部分符合 and every unresolved high-risk result,
// once per item and object, and returns how many it created.
func (s *Service) Remediate(ctx context.Context, tenantID, projectID string) (int, error) {
	if err := auth.Require(ctx, auth.PermAssessWrite, tenantID); err != nil {
		return 0, err
	}
	a, err := s.Assess(ctx, tenantID, projectID)
	if err != nil {
		return 0, err
	}
	var gaps []register.Gap
	for _, it := range a.Items {
		gap := it.Result == store.ItemNonConform || it.Result == store.ItemPartial || (it.HighRisk && !it.Resolved)
		if !gap {
			continue
		}
		ref, title := it.Item, it.Item
		if it.Object != "" {
			ref += "@" + it.Object
		}
		if n := a.Framework.Node(it.Item); n != nil {
			title = it.Item + " " + n.Description("zh-CN")
		}
		if it.Object != "" {
			title += " (" + it.Object + ")"
		}
		detail := strings.TrimSpace(strings.Join([]string{it.Note, it.Remediation}, "\n"))
		level := it.Result
		if it.HighRisk && !it.Resolved {
			level += " high-risk"
		}
		gaps = append(gaps, register.Gap{Ref: ref, Title: title, Detail: detail, Level: level})
	}
	n, err := s.register.Raise(ctx, tenantID, store.RemediationFromAssessment, a.Project.ID, gaps)
	if err != nil {
		return n, fmt.Errorf("remediate project %s: %w", a.Project.ID, err)
	}
	return n, nil
}
