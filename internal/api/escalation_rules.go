package api

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/vigil-sec/vigil/internal/alerting"
	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/notify"
	"github.com/vigil-sec/vigil/internal/store"
)

// A tenant's escalation rules (who is told, on which channel, and who
// next when nobody acknowledges), with the KEV backlog a rule skipped
// when it was enabled, and the runs of the tenant's weekly digest.

// EscalationStep is one step of a rule.
type EscalationStep struct {
	Channels     []string `json:"channels" maxItems:"20" doc:"IDs of the tenant's notification channels"`
	AfterSeconds int64    `json:"after_seconds" minimum:"0" maximum:"2592000" doc:"Wait after the previous step when nobody acknowledged; only the last step may be 0"`
	NotifyOnCall bool     `json:"notify_on_call,omitempty" doc:"Also notify whoever is on call"`
}

// EscalationQuietHours hold back notifications in a daily window.
type EscalationQuietHours struct {
	Zone   string   `json:"zone" maxLength:"64" doc:"IANA time zone name"`
	Start  string   `json:"start" maxLength:"5" doc:"HH:MM"`
	End    string   `json:"end" maxLength:"5" doc:"HH:MM; the window may cross midnight"`
	Bypass []string `json:"bypass,omitempty" maxItems:"5" doc:"Severities sent even in quiet hours"`
}

// EscalationOnCall is an on-call rotation.
type EscalationOnCall struct {
	People        []string  `json:"people" maxItems:"50" doc:"Usernames taking turns"`
	PeriodSeconds int64     `json:"period_seconds" minimum:"0" maximum:"31536000" doc:"How long each turn lasts"`
	Start         time.Time `json:"start" doc:"When the first person's turn began"`
}

// EscalationRule is a tenant's escalation rule.
type EscalationRule struct {
	Name        string                `json:"name"`
	Enabled     bool                  `json:"enabled"`
	Kinds       []string              `json:"kinds" doc:"Event kinds it takes; empty is every kind"`
	MinSeverity string                `json:"min_severity,omitempty"`
	Steps       []EscalationStep      `json:"steps"`
	QuietHours  *EscalationQuietHours `json:"quiet_hours,omitempty"`
	OnCall      *EscalationOnCall     `json:"on_call,omitempty"`
	OnCallShift bool                  `json:"on_call_shift" doc:"On call is whoever is on the monitoring desk's shift (the rotation when nobody is)"`
	EnabledAt   *time.Time            `json:"enabled_at,omitempty" doc:"When the rule was last enabled or began to take KEV matches"`
	TakesKEV    bool                  `json:"takes_kev" doc:"The rule escalates KEV matches on the tenant's assets"`
	// The KEV backlog: matches already present when the rule was
	// (re-)enabled are recorded as skipped instead of escalating at once.
	KEVBacklogPending bool `json:"kev_backlog_pending" doc:"The backlog has not been counted yet (the KEV job has not run since the rule was enabled)"`
	KEVSkipped        int  `json:"kev_skipped" doc:"KEV matches present when the rule was enabled, skipped rather than escalated"`
}

func escalationRuleDTO(r alerting.EscalationRule) EscalationRule {
	out := EscalationRule{Name: r.Name, Enabled: r.Enabled, Kinds: []string{}, MinSeverity: string(r.Rule.MinSeverity),
		Steps: []EscalationStep{}, OnCallShift: r.Rule.OnCallShift, EnabledAt: optTime(r.EnabledAt), TakesKEV: r.TakesKEV(),
		KEVBacklogPending: r.KEVPending, KEVSkipped: r.KEVSkipped}
	for _, k := range r.Rule.Kinds {
		out.Kinds = append(out.Kinds, string(k))
	}
	for _, st := range r.Rule.Steps {
		out.Steps = append(out.Steps, EscalationStep{Channels: slices.Clone(st.Channels), AfterSeconds: int64(st.After / time.Second),
			NotifyOnCall: st.NotifyOnCall})
	}
	if q := r.Rule.QuietHours; q != nil {
		qh := &EscalationQuietHours{Zone: q.Zone, Start: q.Start, End: q.End}
		for _, b := range q.Bypass {
			qh.Bypass = append(qh.Bypass, string(b))
		}
		out.QuietHours = qh
	}
	if o := r.Rule.OnCall; o != nil {
		out.OnCall = &EscalationOnCall{People: slices.Clone(o.People), PeriodSeconds: int64(o.Period / time.Second), Start: o.Start}
	}
	return out
}

// EscalationRuleInput is a rule to save.
type EscalationRuleInput struct {
	Enabled     bool                  `json:"enabled"`
	Kinds       []string              `json:"kinds,omitempty" maxItems:"10" doc:"alert, case, sla-breach, kev-match or advisory; empty is every kind"`
	MinSeverity string                `json:"min_severity,omitempty" maxLength:"20"`
	Steps       []EscalationStep      `json:"steps" maxItems:"20"`
	QuietHours  *EscalationQuietHours `json:"quiet_hours,omitempty"`
	OnCall      *EscalationOnCall     `json:"on_call,omitempty"`
	OnCallShift bool                  `json:"on_call_shift,omitempty"`
}

func (in EscalationRuleInput) domain(name string) alerting.EscalationRule {
	r := notify.Rule{MinSeverity: notify.Severity(in.MinSeverity), OnCallShift: in.OnCallShift}
	for _, k := range in.Kinds {
		r.Kinds = append(r.Kinds, notify.Kind(k))
	}
	for _, st := range in.Steps {
		r.Steps = append(r.Steps, notify.Step{Channels: slices.Clone(st.Channels), After: time.Duration(st.AfterSeconds) * time.Second,
			NotifyOnCall: st.NotifyOnCall})
	}
	if q := in.QuietHours; q != nil {
		qh := &notify.QuietHours{Zone: q.Zone, Start: q.Start, End: q.End}
		for _, b := range q.Bypass {
			qh.Bypass = append(qh.Bypass, notify.Severity(b))
		}
		r.QuietHours = qh
	}
	if o := in.OnCall; o != nil {
		r.OnCall = &notify.Rotation{People: slices.Clone(o.People), Period: time.Duration(o.PeriodSeconds) * time.Second, Start: o.Start}
	}
	return alerting.EscalationRule{Name: name, Enabled: in.Enabled, Rule: r}
}

// EscalationRuleList is a tenant's rules.
type EscalationRuleList struct {
	Items []EscalationRule `json:"items"`
}

type escalationRuleListIn struct {
	TenantParam
}

type escalationRuleParamIn struct {
	TenantParam
	Rule string `path:"rule" maxLength:"100" doc:"Rule name"`
}

type escalationRulePutIn struct {
	TenantParam
	Rule string `path:"rule" maxLength:"100" doc:"Rule name"`
	Body EscalationRuleInput
}

// DigestRun is one sending of the tenant's weekly digest.
type DigestRun struct {
	Period     string     `json:"period" doc:"ISO week of a scheduled digest (2026-W48, in the tenant's time zone) or manual-<time> for \"send now\""`
	From       time.Time  `json:"from"`
	To         time.Time  `json:"to"`
	Status     string     `json:"status" enum:"sending,sent,failed,empty,skipped"`
	Messages   int        `json:"messages" doc:"Messages queued"`
	Error      string     `json:"error,omitempty" doc:"What went wrong, or why the run was skipped"`
	Manual     bool       `json:"manual" doc:"Sent by a user with \"send now\""`
	ClaimedAt  time.Time  `json:"claimed_at"`
	FinishedAt *time.Time `json:"finished_at,omitempty"`
}

func digestRunDTO(r store.DigestRun) DigestRun {
	return DigestRun{Period: r.Period, From: r.From, To: r.To, Status: r.Status, Messages: r.Messages, Error: r.Error,
		Manual: r.SentBy != "", ClaimedAt: r.ClaimedAt, FinishedAt: optTime(r.FinishedAt)}
}

// DigestRunList is a page of digest runs.
type DigestRunList struct {
	Items []DigestRun `json:"items"`
}

type digestRunListIn struct {
	TenantParam
	Limit  int `query:"limit" minimum:"1" maximum:"1000" default:"100"`
	Offset int `query:"offset" minimum:"0"`
}

func (s *server) registerEscalationRules() {
	tags := []string{"notifications"}
	base := "/tenants/{tenant}/escalation-rules"
	register(s, inTenant(auth.PermServiceRead), huma.Operation{OperationID: "list-escalation-rules", Method: http.MethodGet,
		Path: base, Summary: "List the tenant's escalation rules", Description: "Each rule says, when it takes KEV matches, " +
			"how many matches already present when it was enabled were skipped rather than escalated.", Tags: tags}, s.listEscalationRules)
	register(s, inTenant(auth.PermServiceRead), huma.Operation{OperationID: "get-escalation-rule", Method: http.MethodGet,
		Path: base + "/{rule}", Summary: "Get an escalation rule", Tags: tags}, s.getEscalationRule)
	register(s, inTenant(auth.PermSecretWrite), huma.Operation{OperationID: "put-escalation-rule", Method: http.MethodPut,
		Path: base + "/{rule}", Summary: "Create or replace an escalation rule", Description: "Every channel a step names must be " +
			"the tenant's. Enabling a rule that takes KEV matches skips the matches already present (counted in kev_skipped).",
		Tags: tags}, s.putEscalationRule)
	register(s, inTenant(auth.PermSecretWrite), huma.Operation{OperationID: "delete-escalation-rule", Method: http.MethodDelete,
		Path: base + "/{rule}", Summary: "Delete an escalation rule", DefaultStatus: http.StatusNoContent, Tags: tags}, s.deleteEscalationRule)
	register(s, inTenant(auth.PermReportRead), huma.Operation{OperationID: "list-digest-runs", Method: http.MethodGet,
		Path: "/tenants/{tenant}/digest-runs", Summary: "List the runs of the tenant's weekly digest, newest first",
		Description: "A week the tenant had no channel for is listed as skipped, with the reason.", Tags: tags}, s.listDigestRuns)
}

func (s *server) listEscalationRules(ctx context.Context, _ *escalationRuleListIn) (*out[EscalationRuleList], error) {
	t, err := pathTenant(ctx)
	if err != nil {
		return nil, err
	}
	rs, err := s.opts.Alerting.EscalationRules(ctx, t.ID)
	if err != nil {
		return nil, err
	}
	return reply(EscalationRuleList{Items: items(rs, escalationRuleDTO)})
}

func (s *server) findEscalationRule(ctx context.Context, tenantID, name string) (alerting.EscalationRule, error) {
	rs, err := s.opts.Alerting.EscalationRules(ctx, tenantID)
	if err != nil {
		return alerting.EscalationRule{}, err
	}
	i := slices.IndexFunc(rs, func(r alerting.EscalationRule) bool { return r.Name == name })
	if i < 0 {
		return alerting.EscalationRule{}, fmt.Errorf("%w: escalation rule", store.ErrNotFound)
	}
	return rs[i], nil
}

func (s *server) getEscalationRule(ctx context.Context, in *escalationRuleParamIn) (*out[EscalationRule], error) {
	t, err := pathTenant(ctx)
	if err != nil {
		return nil, err
	}
	r, err := s.findEscalationRule(ctx, t.ID, in.Rule)
	if err != nil {
		return nil, err
	}
	return reply(escalationRuleDTO(r))
}

func (s *server) putEscalationRule(ctx context.Context, in *escalationRulePutIn) (*out[EscalationRule], error) {
	t, err := pathTenant(ctx)
	if err != nil {
		return nil, err
	}
	if err := s.opts.Alerting.SaveEscalationRule(ctx, t.ID, in.Body.domain(in.Rule)); err != nil {
		return nil, err
	}
	r, err := s.findEscalationRule(ctx, t.ID, in.Rule)
	if err != nil {
		return nil, err
	}
	return reply(escalationRuleDTO(r))
}

func (s *server) deleteEscalationRule(ctx context.Context, in *escalationRuleParamIn) (*noContent, error) {
	t, err := pathTenant(ctx)
	if err != nil {
		return nil, err
	}
	return nil, s.opts.Alerting.DeleteEscalationRule(ctx, t.ID, in.Rule)
}

func (s *server) listDigestRuns(ctx context.Context, in *digestRunListIn) (*out[DigestRunList], error) {
	t, err := pathTenant(ctx)
	if err != nil {
		return nil, err
	}
	rs, err := s.opts.Alerting.DigestRuns(ctx, t.ID, store.Page{Limit: in.Limit, Offset: in.Offset})
	if err != nil {
		return nil, err
	}
	return reply(DigestRunList{Items: items(rs, digestRunDTO)})
}
