package web

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/vigil-sec/vigil/internal/alerting"
	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/notify"
	"github.com/vigil-sec/vigil/internal/store"
)

// Escalation rules of a tenant, and the public acknowledgement page.

// maxEscalationSteps is how many steps the rule form offers.
const maxEscalationSteps = 3

// escalationKinds are what a rule can escalate: new alerts, newly opened
// cases and SLA breaches of cases.
func escalationKinds() []notify.Kind {
	return []notify.Kind{notify.KindAlert, notify.KindCase, notify.KindSLABreach, notify.KindKEVMatch, notify.KindAdvisory}
}

type escalationPage struct {
	Base
	URL         string
	Rules       []alerting.EscalationRule
	Escalations []notify.Escalation
	Channels    []store.NotifyChannel
	Names       map[string]string // channel ID → name
	Severities  []string
	Kinds       []notify.Kind
	Steps       []int
	CanWrite    bool
	Saved       string
}

// registerEscalation adds the escalation rules page and the public
// acknowledgement page.
func (s *server) registerEscalation(t string) {
	esc := t + "/notifications/escalation"
	s.handle(http.MethodGet, esc, inTenant(auth.PermServiceRead), s.escalationList)
	s.handle(http.MethodPost, esc, inTenant(auth.PermSecretWrite), s.escalationSave)
	s.handle(http.MethodPost, esc+"/{rule}/delete", inTenant(auth.PermSecretWrite), s.escalationDelete)
	s.handle(http.MethodGet, alerting.AckPath, public(), s.ackForm)
	s.handle(http.MethodPost, alerting.AckPath, public(), s.ackConfirm)
}

func (s *server) escalationView(r *http.Request) (*escalationPage, error) {
	ctx := r.Context()
	t := state(r).tenant
	v := &escalationPage{URL: channelsBase(t) + "/escalation", Names: map[string]string{},
		Severities: warningSeverities(), Steps: []int{1, 2, 3}, Kinds: escalationKinds(),
		CanWrite: auth.FromContext(ctx).Can(auth.PermSecretWrite, t.ID)}
	var err error
	if v.Rules, err = s.opts.Alerting.EscalationRules(ctx, t.ID); err != nil {
		return nil, err
	}
	if v.Escalations, err = s.opts.Alerting.Escalations(ctx, t.ID, store.Page{Limit: 50}); err != nil {
		return nil, err
	}
	if v.Channels, err = s.opts.Alerting.List(ctx, t.ID); err != nil && v.CanWrite {
		return nil, err
	}
	for _, c := range v.Channels {
		v.Names[c.ID] = c.Name
	}
	return v, nil
}

func (s *server) escalationList(w http.ResponseWriter, r *http.Request) error {
	v, err := s.escalationView(r)
	if err != nil {
		return err
	}
	v.Saved = r.URL.Query().Get("saved")
	s.render(w, r, http.StatusOK, "escalation", v)
	return nil
}

// escalationSave creates or replaces a rule from the form: up to three
// steps (channel and minutes to wait), quiet hours and an on-call rotation.
func (s *server) escalationSave(w http.ResponseWriter, r *http.Request) error {
	t := state(r).tenant
	f := r.PostForm
	rule := notify.Rule{MinSeverity: notify.Severity(f.Get("min_severity"))}
	for _, k := range f["kinds"] {
		if slices.Contains(escalationKinds(), notify.Kind(k)) && !slices.Contains(rule.Kinds, notify.Kind(k)) {
			rule.Kinds = append(rule.Kinds, notify.Kind(k))
		}
	}
	if len(rule.Kinds) == 0 {
		rule.Kinds = []notify.Kind{notify.KindAlert}
	}
	for i := 1; i <= maxEscalationSteps; i++ {
		n := strconv.Itoa(i)
		ch := f.Get("step" + n + "_channel")
		oncall := f.Get("step"+n+"_oncall") == "on"
		if ch == "" && !oncall {
			continue
		}
		st := notify.Step{NotifyOnCall: oncall}
		if ch != "" {
			st.Channels = []string{ch}
		}
		if m := strings.TrimSpace(f.Get("step" + n + "_after")); m != "" {
			mins, err := strconv.Atoi(m)
			if err != nil || mins < 1 || mins > 7*24*60 {
				return store.NewFieldError("steps", store.CodeOutOfRange, map[string]any{"min": 1, "max": 7 * 24 * 60}, "wait between 1 minute and 7 days")
			}
			st.After = time.Duration(mins) * time.Minute
		}
		rule.Steps = append(rule.Steps, st)
	}
	if len(rule.Steps) > 0 {
		rule.Steps[len(rule.Steps)-1].After = 0 // nothing follows the last step
	}
	if start, end := strings.TrimSpace(f.Get("quiet_start")), strings.TrimSpace(f.Get("quiet_end")); start != "" || end != "" {
		q := &notify.QuietHours{Zone: strings.TrimSpace(f.Get("quiet_zone")), Start: start, End: end}
		if q.Zone == "" {
			q.Zone = "Asia/Shanghai"
		}
		if f.Get("quiet_bypass") == "on" {
			q.Bypass = []notify.Severity{notify.SeverityCritical}
		}
		rule.QuietHours = q
	}
	if people := splitList(f.Get("oncall_people")); len(people) > 0 {
		hours, err := strconv.Atoi(strings.TrimSpace(f.Get("oncall_hours")))
		if err != nil || hours < 1 || hours > 24*31 {
			return store.NewFieldError("oncall_hours", store.CodeOutOfRange, map[string]any{"min": 1, "max": 24 * 31}, "a shift lasts 1 hour to 31 days")
		}
		if len(people) > 50 {
			return store.NewFieldError("oncall_people", store.CodeTooMany, map[string]any{"max": 50}, "at most 50 people")
		}
		rule.OnCall = &notify.Rotation{People: people, Period: time.Duration(hours) * time.Hour,
			Start: time.Now().UTC().Truncate(24 * time.Hour)}
	}
	rule.OnCallShift = f.Get("oncall_shift") == "on" // whoever is on the desk's shift (desk.go)
	in := alerting.EscalationRule{Name: f.Get("name"), Enabled: f.Get("enabled") == "on", Rule: rule}
	if err := s.opts.Alerting.SaveEscalationRule(r.Context(), t.ID, in); err != nil {
		return err
	}
	redirect(w, r, channelsBase(t)+"/escalation?saved="+url.QueryEscape(strings.TrimSpace(in.Name)))
	return nil
}

func (s *server) escalationDelete(w http.ResponseWriter, r *http.Request) error {
	t := state(r).tenant
	if err := s.opts.Alerting.DeleteEscalationRule(r.Context(), t.ID, chi.URLParam(r, "rule")); err != nil {
		return err
	}
	redirect(w, r, channelsBase(t)+"/escalation")
	return nil
}

// ackPage asks to confirm an acknowledgement link, then says it is done.
// A GET never acknowledges: mail and chat clients open links to preview
// them.
type ackPage struct {
	Base
	Token  string
	Result alerting.AckResult
	Done   bool
}

func (s *server) ackForm(w http.ResponseWriter, r *http.Request) error {
	token := r.URL.Query().Get("token")
	res, err := s.opts.Alerting.PeekAck(r.Context(), token)
	if err != nil {
		s.log.Info("acknowledgement link refused", "err", err)
		s.renderError(w, r, http.StatusNotFound, "error.ack_invalid", "")
		return nil
	}
	s.render(w, r, http.StatusOK, "ack", &ackPage{Token: token, Result: res})
	return nil
}

func (s *server) ackConfirm(w http.ResponseWriter, r *http.Request) error {
	token := r.PostFormValue("token")
	res, err := s.opts.Alerting.Acknowledge(r.Context(), token, r.PostFormValue("name"))
	if err != nil {
		s.log.Info("acknowledgement refused", "err", err)
		s.renderError(w, r, http.StatusNotFound, "error.ack_invalid", "")
		return nil
	}
	s.render(w, r, http.StatusOK, "ack", &ackPage{Result: res, Done: true})
	return nil
}
