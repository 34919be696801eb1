package web

import (
	"net/http"
	"strconv"
	"time"

	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/store"
	"github.com/vigil-sec/vigil/internal/traffic/analyze"
)

// registerTrafficSettings adds the tenant's traffic settings page: its
// violation policy and safelist.
func (s *server) registerTrafficSettings(base string) {
	s.handle(http.MethodGet, base+"/settings", inTenant(auth.PermEventRead), s.trafficSettings)
	s.handle(http.MethodPost, base+"/settings", inTenant(auth.PermEventTriage), s.trafficSettingsSave)
}

type trafficSettingsPage struct {
	Base
	formState
	URL, Back       string
	Policy          string
	Safelist        string
	DefaultSafelist bool
	SettingsVersion int
	UpdatedAt       time.Time
	ExamplePolicy   string
	ShippedSafelist string
	CanWrite        bool
	Saved           bool
}

func (s *server) trafficSettingsView(r *http.Request) (*trafficSettingsPage, error) {
	ctx := r.Context()
	t := state(r).tenant
	v, err := s.opts.Traffic.Settings(ctx, t.ID)
	if err != nil {
		return nil, err
	}
	return &trafficSettingsPage{URL: trafficBase(t) + "/settings", Back: trafficBase(t), Policy: v.Policy, Safelist: v.Safelist,
		DefaultSafelist: v.DefaultSafelist, SettingsVersion: v.Version, UpdatedAt: v.UpdatedAt, ExamplePolicy: analyze.ExamplePolicy(),
		ShippedSafelist: analyze.DefaultSafelistText(), CanWrite: auth.FromContext(ctx).Can(auth.PermEventTriage, t.ID)}, nil
}

func (s *server) trafficSettings(w http.ResponseWriter, r *http.Request) error {
	v, err := s.trafficSettingsView(r)
	if err != nil {
		return err
	}
	// "Start from the example" fills an empty editor; nothing is saved
	// until the form is submitted.
	if r.URL.Query().Get("example") == "1" && v.Policy == "" {
		v.Policy = v.ExamplePolicy
	}
	v.Saved = r.URL.Query().Get("ok") == "saved"
	s.render(w, r, http.StatusOK, "traffic_settings", v)
	return nil
}

func (s *server) trafficSettingsSave(w http.ResponseWriter, r *http.Request) error {
	t := state(r).tenant
	v, err := s.trafficSettingsView(r)
	if err != nil {
		return err
	}
	v.Policy, v.Safelist = r.PostFormValue("policy"), r.PostFormValue("safelist")
	v.DefaultSafelist = r.PostFormValue("default_safelist") == "on"
	version, err := strconv.Atoi(r.PostFormValue("version"))
	if err != nil || version < 0 {
		version = -1 // never a stored version: a conflict
	}
	_, err = s.opts.Traffic.SaveSettings(r.Context(), store.TrafficSettings{TenantID: t.ID, Policy: v.Policy, Safelist: v.Safelist,
		DefaultSafelist: v.DefaultSafelist}, version)
	if err == nil {
		redirect(w, r, v.URL+"?ok=saved")
		return nil
	}
	status, ok := s.formError(r, err, &v.formState, []formField{{"policy", "policy"}, {"safelist", "safelist"}})
	if !ok {
		return err
	}
	s.render(w, r, status, "traffic_settings", v)
	return nil
}
