package web

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/campaign/keyperiod"
	"github.com/vigil-sec/vigil/internal/store"
)

// calendarPage is the tenant's key-period calendar with its edit forms.
type calendarPage struct {
	Base
	URL        string // the calendar's own URL
	Back       string // the key-period campaigns
	Periods    []keyperiod.PeriodSpec
	Kinds      []string
	Own        bool
	CalVersion int
	CanWrite   bool
	// Edit is the period the form edits (?edit=ID), else the empty form.
	Edit   keyperiod.PeriodSpec
	NewOne bool
}

func calendarURL(t *store.Tenant) string {
	return campaignBase(t, store.CampaignKeyPeriod) + "/calendar"
}

// keyPeriodCalendar shows the tenant's calendar of key periods.
func (s *server) keyPeriodCalendar(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	t := state(r).tenant
	cal, err := s.opts.Campaigns.CalendarOf(ctx, t.ID)
	if err != nil {
		return err
	}
	v := &calendarPage{URL: calendarURL(t), Back: campaignBase(t, store.CampaignKeyPeriod), Kinds: keyperiod.Kinds(), Own: cal.Own,
		CalVersion: cal.Version, CanWrite: auth.FromContext(ctx).Can(auth.PermAssessWrite, t.ID), NewOne: true}
	edit := r.URL.Query().Get("edit")
	for _, p := range cal.Periods {
		sp := cal.Spec(p)
		v.Periods = append(v.Periods, sp)
		if edit != "" && sp.ID == edit {
			v.Edit, v.NewOne = sp, false
		}
	}
	if v.NewOne {
		v.Edit = keyperiod.PeriodSpec{Kind: keyperiod.KindHoliday, LeadTime: "30d"}
	}
	s.render(w, r, http.StatusOK, "keyperiod_calendar", v)
	return nil
}

// calendarVersion reads the calendar version the form was made on.
func calendarVersion(r *http.Request) (int, error) {
	v, err := strconv.Atoi(strings.TrimSpace(r.PostFormValue("version")))
	if err != nil || v < 0 {
		return 0, store.NewFieldError("version", store.CodeOutOfRange, nil, "the form is damaged: reload the calendar")
	}
	return v, nil
}

// keyPeriodCalendarPut adds a period or saves an edited one.
func (s *server) keyPeriodCalendarPut(w http.ResponseWriter, r *http.Request) error {
	t := state(r).tenant
	version, err := calendarVersion(r)
	if err != nil {
		return err
	}
	spec := keyperiod.PeriodSpec{ID: r.PostFormValue("id"), Name: r.PostFormValue("name"), NameZh: r.PostFormValue("name_zh"),
		Kind: r.PostFormValue("kind"), Start: r.PostFormValue("start"), End: r.PostFormValue("end"), LeadTime: r.PostFormValue("lead_time")}
	if _, err := s.opts.Campaigns.PutPeriod(r.Context(), t.ID, spec, version); err != nil {
		return err
	}
	redirect(w, r, calendarURL(t)+"?ok=saved")
	return nil
}

// keyPeriodCalendarRemove removes a period.
func (s *server) keyPeriodCalendarRemove(w http.ResponseWriter, r *http.Request) error {
	t := state(r).tenant
	version, err := calendarVersion(r)
	if err != nil {
		return err
	}
	if err := s.opts.Campaigns.RemovePeriod(r.Context(), t.ID, chi.URLParam(r, "period"), version); err != nil {
		return err
	}
	redirect(w, r, calendarURL(t)+"?ok=deleted")
	return nil
}
