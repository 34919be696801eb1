package web

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/vigil-sec/vigil/internal/alerting"
	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/store"
)

type channelFields struct {
	Name, Kind, Settings, Secrets, MinLevel string
}

type channelsPage struct {
	Base
	formState
	URL        string
	Channels   []store.NotifyChannel
	Deliveries []store.NotifyDelivery
	Names      map[string]string
	Kinds      []string
	Levels     []string
	Form       channelFields
	CanWrite   bool
	Tested     string
}

func channelsBase(t *store.Tenant) string { return "/t/" + t.Slug + "/notifications" }

func (s *server) channelsView(r *http.Request, f channelFields) (*channelsPage, error) {
	ctx := r.Context()
	t := state(r).tenant
	v := &channelsPage{URL: channelsBase(t), Kinds: s.opts.Alerting.Kinds(), Levels: alerting.Levels(), Form: f,
		Names: map[string]string{}, CanWrite: auth.FromContext(ctx).Can(auth.PermSecretWrite, t.ID), Tested: r.URL.Query().Get("tested")}
	var err error
	if v.Channels, err = s.opts.Alerting.List(ctx, t.ID); err != nil {
		return nil, err
	}
	for _, c := range v.Channels {
		v.Names[c.ID] = c.Name
	}
	if v.Deliveries, err = s.opts.Alerting.Deliveries(ctx, t.ID, store.Page{Limit: 50}); err != nil {
		return nil, err
	}
	return v, nil
}

// channelList shows the tenant's notification channels, the form to add
// one and the latest deliveries.
func (s *server) channelList(w http.ResponseWriter, r *http.Request) error {
	v, err := s.channelsView(r, channelFields{Kind: "wecom", MinLevel: "high", Settings: "{}"})
	if err != nil {
		return err
	}
	s.render(w, r, http.StatusOK, "channels", v)
	return nil
}

var channelFormFields = []formField{{"name", "name"}, {"min_level", "min_level"}, {"settings", "settings"}}

// channelCreate adds a channel; secrets are typed as name=value lines.
func (s *server) channelCreate(w http.ResponseWriter, r *http.Request) error {
	t := state(r).tenant
	f := channelFields{Name: r.PostFormValue("name"), Kind: r.PostFormValue("kind"), Settings: r.PostFormValue("settings"),
		MinLevel: r.PostFormValue("min_level")}
	v, err := s.channelsView(r, f)
	if err != nil {
		return err
	}
	in := alerting.Input{Name: f.Name, Kind: f.Kind, MinLevel: f.MinLevel, Secrets: map[string]string{}}
	if strings.TrimSpace(f.Settings) != "" {
		if !json.Valid([]byte(f.Settings)) {
			v.fieldError("settings", s.msgs.T(state(r).locale, "channels.error.json"))
		}
		in.Settings = json.RawMessage(f.Settings)
	}
	for _, line := range strings.Split(r.PostFormValue("secrets"), "\n") {
		if k, val, ok := strings.Cut(strings.TrimSpace(line), "="); ok && strings.TrimSpace(k) != "" {
			in.Secrets[strings.TrimSpace(k)] = strings.TrimSpace(val)
		}
	}
	status := http.StatusUnprocessableEntity
	if !v.Invalid() {
		if _, err := s.opts.Alerting.Create(r.Context(), t.ID, in); err == nil {
			redirect(w, r, v.URL+"?ok=created")
			return nil
		} else if status, err = s.formErrorStatus(r, err, &v.formState, channelFormFields); err != nil {
			return err
		}
	}
	s.render(w, r, status, "channels", v)
	return nil
}

// formErrorStatus is formError returning the error when the form cannot
// show it.
func (s *server) formErrorStatus(r *http.Request, err error, f *formState, shown []formField) (int, error) {
	status, ok := s.formError(r, err, f, shown)
	if !ok {
		return 0, err
	}
	return status, nil
}

// channelTest sends a test message now.
func (s *server) channelTest(w http.ResponseWriter, r *http.Request) error {
	t := state(r).tenant
	result := "ok"
	if _, err := s.opts.Alerting.Test(r.Context(), t.ID, chi.URLParam(r, "channel")); err != nil {
		if errors.Is(err, auth.ErrForbidden) || errors.Is(err, store.ErrNotFound) {
			return err
		}
		// The channel answered badly or not at all; the delivery log says
		// why.
		result = "failed"
	}
	redirect(w, r, channelsBase(t)+"?tested="+result)
	return nil
}

func (s *server) channelDelete(w http.ResponseWriter, r *http.Request) error {
	t := state(r).tenant
	if err := s.opts.Alerting.Delete(r.Context(), t.ID, chi.URLParam(r, "channel")); err != nil {
		return err
	}
	redirect(w, r, channelsBase(t)+"?ok=deleted")
	return nil
}
