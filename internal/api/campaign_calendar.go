package api

import (
	"context"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/campaign/keyperiod"
	"github.com/vigil-sec/vigil/internal/campaign/manager"
)

// KeyPeriod is one period of a tenant's key-period calendar.
type KeyPeriod struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	NameZh   string `json:"name_zh,omitempty"`
	Kind     string `json:"kind" enum:"holiday,conference,event"`
	Start    string `json:"start" doc:"First day, YYYY-MM-DD in the calendar's zone"`
	End      string `json:"end" doc:"Last day (inclusive), YYYY-MM-DD"`
	LeadTime string `json:"lead_time" doc:"How long before the first day the campaign starts, such as 30d"`
}

// KeyPeriodCalendar is a tenant's key-period calendar.
type KeyPeriodCalendar struct {
	Zone string `json:"zone" doc:"UTC offset of the dates"`
	// Own is false while the tenant uses the built-in calendar.
	Own     bool        `json:"own"`
	Version int         `json:"version" doc:"Give it back when changing the calendar; 0 for the built-in one"`
	Periods []KeyPeriod `json:"periods"`
}

// KeyPeriodSpecInput adds or replaces a period.
type KeyPeriodSpecInput struct {
	Name     string `json:"name" minLength:"1" maxLength:"200"`
	NameZh   string `json:"name_zh,omitempty" maxLength:"200"`
	Kind     string `json:"kind" enum:"holiday,conference,event"`
	Start    string `json:"start" maxLength:"10" doc:"First day, YYYY-MM-DD"`
	End      string `json:"end" maxLength:"10" doc:"Last day (inclusive), YYYY-MM-DD"`
	LeadTime string `json:"lead_time" maxLength:"16" doc:"Such as 30d"`
	Version  int    `json:"version" minimum:"0" doc:"The calendar version the change was made on"`
}

type keyPeriodPutIn struct {
	TenantParam
	Period string `path:"period" maxLength:"64" doc:"Period identifier, such as ciie-2027"`
	Body   KeyPeriodSpecInput
}

type keyPeriodDeleteIn struct {
	TenantParam
	Period  string `path:"period" maxLength:"64" doc:"Period identifier"`
	Version int    `query:"version" minimum:"0" doc:"The calendar version the change was made on"`
}

func (s *server) registerKeyPeriodCalendar() {
	tags := []string{"campaigns"}
	base := "/tenants/{tenant}/key-period-calendar"
	register(s, inTenant(auth.PermAssessRead), huma.Operation{OperationID: "get-keyperiod-calendar", Method: http.MethodGet, Path: base,
		Summary: "Get the tenant's key-period calendar", Description: "The built-in calendar until the tenant edits its own.", Tags: tags}, s.getKeyPeriodCalendar)
	register(s, inTenant(auth.PermAssessWrite), huma.Operation{OperationID: "put-keyperiod", Method: http.MethodPut, Path: base + "/periods/{period}",
		Summary: "Add a key period to the tenant's calendar, or replace it", Description: "Audited. Campaigns already planned keep their dates.",
		Tags: tags}, s.putKeyPeriod)
	register(s, inTenant(auth.PermAssessWrite), huma.Operation{OperationID: "delete-keyperiod", Method: http.MethodDelete, Path: base + "/periods/{period}",
		Summary: "Remove a key period from the tenant's calendar", DefaultStatus: http.StatusNoContent, Tags: tags}, s.deleteKeyPeriod)
}

func keyPeriodCalendarDTO(c manager.TenantCalendar) KeyPeriodCalendar {
	out := KeyPeriodCalendar{Own: c.Own, Version: c.Version, Periods: []KeyPeriod{}}
	if c.Calendar != nil {
		out.Zone = c.Calendar.ZoneText()
		for _, p := range c.Periods {
			out.Periods = append(out.Periods, keyPeriodDTO(c.Spec(p)))
		}
	}
	return out
}

func keyPeriodDTO(sp keyperiod.PeriodSpec) KeyPeriod {
	return KeyPeriod{ID: sp.ID, Name: sp.Name, NameZh: sp.NameZh, Kind: sp.Kind, Start: sp.Start, End: sp.End, LeadTime: sp.LeadTime}
}

func (s *server) getKeyPeriodCalendar(ctx context.Context, _ *TenantParam) (*out[KeyPeriodCalendar], error) {
	t, err := pathTenant(ctx)
	if err != nil {
		return nil, err
	}
	c, err := s.opts.Campaigns.CalendarOf(ctx, t.ID)
	if err != nil {
		return nil, err
	}
	return reply(keyPeriodCalendarDTO(c))
}

func (s *server) putKeyPeriod(ctx context.Context, in *keyPeriodPutIn) (*out[KeyPeriod], error) {
	t, err := pathTenant(ctx)
	if err != nil {
		return nil, err
	}
	b := in.Body
	spec := keyperiod.PeriodSpec{ID: in.Period, Name: b.Name, NameZh: b.NameZh, Kind: b.Kind, Start: b.Start, End: b.End, LeadTime: b.LeadTime}
	if _, err := s.opts.Campaigns.PutPeriod(ctx, t.ID, spec, b.Version); err != nil {
		return nil, err
	}
	c, err := s.opts.Campaigns.CalendarOf(ctx, t.ID)
	if err != nil {
		return nil, err
	}
	p, err := c.Period(in.Period)
	if err != nil {
		return nil, err
	}
	return reply(keyPeriodDTO(c.Spec(p)))
}

func (s *server) deleteKeyPeriod(ctx context.Context, in *keyPeriodDeleteIn) (*noContent, error) {
	t, err := pathTenant(ctx)
	if err != nil {
		return nil, err
	}
	return nil, s.opts.Campaigns.RemovePeriod(ctx, t.ID, in.Period, in.Version)
}
