package web

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/campaign/manager"
	"github.com/vigil-sec/vigil/internal/store"
)

// registerCampaign3 adds the edit of a running key-period campaign's
// acknowledgement factor.
func (s *server) registerCampaign3(t string) {
	kp := t + campaignPath(store.CampaignKeyPeriod)
	s.handle(http.MethodPost, kp+"/{campaign}/ack-factor", inTenant(auth.PermAssessWrite), s.keyPeriodAckFactor)
}

// formAckFactor reads the acknowledgement factor field: empty is 0 (the
// default).
func formAckFactor(r *http.Request) (float64, error) {
	v := strings.TrimSpace(r.PostFormValue("ack_factor"))
	if v == "" {
		return 0, nil
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || len(v) > 32 {
		return 0, store.NewFieldError("ack_factor", store.CodeOutOfRange, map[string]any{"min": manager.MinAckFactor, "max": manager.MaxAckFactor},
			"the acknowledgement factor is a number from %g to %g", manager.MinAckFactor, manager.MaxAckFactor)
	}
	return f, nil
}

// keyPeriodAckFactor changes the acknowledgement factor of a key-period
// campaign; the form carries the campaign version it was made on.
func (s *server) keyPeriodAckFactor(w http.ResponseWriter, r *http.Request) error {
	l, err := s.loadCampaign(r, store.CampaignKeyPeriod)
	if err != nil {
		return err
	}
	f, err := formAckFactor(r)
	if err != nil {
		return err
	}
	version, err := strconv.Atoi(strings.TrimSpace(r.PostFormValue("version")))
	if err != nil || version < 1 {
		return store.NewFieldError("version", store.CodeOutOfRange, map[string]any{"min": 1}, "reload the page and try again")
	}
	if _, err := s.opts.Campaigns.SetAckFactor(r.Context(), l.Record.TenantID, l.Record.ID, f, version); err != nil {
		return err
	}
	redirect(w, r, campaignBase(state(r).tenant, store.CampaignKeyPeriod)+"/"+l.Record.ID+"?ok=saved#ack-factor-form")
	return nil
}
