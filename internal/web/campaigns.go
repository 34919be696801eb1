package web

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/campaign"
	"github.com/vigil-sec/vigil/internal/campaign/gate"
	"github.com/vigil-sec/vigil/internal/campaign/keyperiod"
	"github.com/vigil-sec/vigil/internal/campaign/manager"
	"github.com/vigil-sec/vigil/internal/store"
)

// registerCampaigns adds the go-live gate and key-period campaign pages.
func (s *server) registerCampaigns(t string) {
	if s.opts.Campaigns == nil {
		return
	}
	get, post := http.MethodGet, http.MethodPost
	write := inTenant(auth.PermAssessWrite)
	for _, k := range []string{store.CampaignGoLive, store.CampaignKeyPeriod} {
		base := t + campaignPath(k)
		// The area page needs tenant.read like every service area; the
		// list itself needs assessment.read (checked in the handler).
		s.handle(get, base, inTenant(auth.PermTenantRead), s.campaignList(k))
		s.handle(post, base, write, s.campaignCreate(k))
		s.handle(get, base+"/{campaign}", inTenant(auth.PermAssessRead), s.campaignView(k))
		s.handle(post, base+"/{campaign}/run", write, s.campaignRun(k))
		s.handle(post, base+"/{campaign}/items", write, s.campaignItem(k))
		s.handle(post, base+"/{campaign}/not-applicable", write, s.campaignNA(k))
		s.handle(post, base+"/{campaign}/close", write, s.campaignClose(k))
	}
	gl := t + campaignPath(store.CampaignGoLive)
	s.handle(post, gl+"/{campaign}/accept", write, s.goLiveAccept)
	s.handle(post, gl+"/{campaign}/decide", write, s.goLiveDecide)
	s.handle(post, gl+"/{campaign}/report", inTenant(auth.PermReportRead), s.goLiveReport)
	kp := t + campaignPath(store.CampaignKeyPeriod)
	s.handle(post, kp+"/{campaign}/roster", write, s.keyPeriodRoster)
	s.handle(get, kp+"/calendar", inTenant(auth.PermAssessRead), s.keyPeriodCalendar)
	s.handle(post, kp+"/calendar", write, s.keyPeriodCalendarPut)
	s.handle(post, kp+"/calendar/{period}/remove", write, s.keyPeriodCalendarRemove)
	s.registerCampaign3(t)
}

// campaignPath is the service area of a campaign kind under /t/{tenant}.
func campaignPath(kind string) string {
	if kind == store.CampaignKeyPeriod {
		return "/operations/key-period"
	}
	return "/operations/golive-check"
}

func campaignBase(t *store.Tenant, kind string) string { return "/t/" + t.Slug + campaignPath(kind) }

type campaignsPage struct {
	Base
	Kind      string
	URL       string
	Campaigns []store.Campaign
	Assets    []store.Asset
	// Systems are the tenant's business systems offered as key-period
	// scope.
	Systems  []store.BusinessSystem
	Periods  []periodOption
	CanWrite bool
}

// periodOption is a calendar period offered for a new campaign.
type periodOption struct {
	ID, Name, NameZh string
	First, Last      string // local dates
}

// campaignList lists the tenant's campaigns of a kind with the form to
// open one.
func (s *server) campaignList(kind string) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		ctx := r.Context()
		t := state(r).tenant
		p := auth.FromContext(ctx)
		if !p.Can(auth.PermAssessRead, t.ID) {
			code := manager.ServiceGoLive
			if kind == store.CampaignKeyPeriod {
				code = manager.ServiceKeyPeriod
			}
			for _, a := range s.areas {
				if a.Key == code {
					return s.comingSoon(a)(w, r)
				}
			}
			return auth.ErrForbidden
		}
		cs, err := s.opts.Campaigns.List(ctx, t.ID, kind, store.Page{Limit: 200})
		if err != nil {
			return err
		}
		v := &campaignsPage{Kind: kind, URL: campaignBase(t, kind), Campaigns: cs, CanWrite: p.Can(auth.PermAssessWrite, t.ID)}
		if v.CanWrite {
			if v.Assets, _, err = s.opts.Assets.List(ctx, t.ID, store.AssetFilter{Page: store.Page{Limit: 500}}); err != nil {
				return err
			}
			if kind == store.CampaignKeyPeriod {
				if v.Systems, err = s.systems().List(ctx, t.ID); err != nil {
					return err
				}
			}
			cal, err := s.opts.Campaigns.CalendarOf(ctx, t.ID)
			if err != nil {
				return err
			}
			for _, p := range cal.Periods {
				v.Periods = append(v.Periods, periodOption{ID: p.ID, Name: p.Name, NameZh: p.NameZh, First: p.Start.Format(time.DateOnly),
					Last: p.End.Add(-time.Second).Format(time.DateOnly)})
			}
		}
		name := "golives"
		if kind == store.CampaignKeyPeriod {
			name = "keyperiods"
		}
		s.render(w, r, http.StatusOK, name, v)
		return nil
	}
}

// maxScopeSystems bounds the business systems a key-period form may name
// (as the API does).
const maxScopeSystems = 200

// formPorts reads a port list field.
func formPorts(r *http.Request, field string) ([]uint16, error) {
	return manager.ParsePorts(field, r.PostFormValue(field))
}

// campaignCreate opens a gate or a key-period campaign.
func (s *server) campaignCreate(kind string) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		ctx := r.Context()
		t := state(r).tenant
		var l *manager.Loaded
		var err error
		if kind == store.CampaignGoLive {
			in := manager.GoLiveInput{AssetID: r.PostFormValue("asset"), Version: r.PostFormValue("version"), Change: r.PostFormValue("change"),
				Owner: r.PostFormValue("owner"), NewSystem: r.PostFormValue("new_system") == "1", ServerName: r.PostFormValue("server_name"),
				URLs: strings.Fields(r.PostFormValue("urls"))}
			planned, perr := time.Parse(time.DateOnly, strings.TrimSpace(r.PostFormValue("planned")))
			if perr != nil {
				return store.NewFieldError("planned", store.CodeInvalidDate, nil, "the planned date is YYYY-MM-DD")
			}
			in.Planned = planned
			if in.ASVSLevel, err = strconv.Atoi(r.PostFormValue("asvs_level")); err != nil {
				return store.NewFieldError("asvs_level", store.CodeOutOfRange, map[string]any{"min": 1, "max": 3}, "the ASVS level is 1, 2 or 3")
			}
			if in.MLPSLevel, err = strconv.Atoi(r.PostFormValue("mlps_level")); err != nil {
				return store.NewFieldError("mlps_level", store.CodeOutOfRange, map[string]any{"min": 0, "max": 5}, "the MLPS level is 0 to 5")
			}
			if in.DeclaredPorts, err = formPorts(r, "declared_ports"); err != nil {
				return err
			}
			if in.TLSPorts, err = formPorts(r, "tls_ports"); err != nil {
				return err
			}
			if in.RiskyPorts, err = formPorts(r, "risky_ports"); err != nil {
				return err
			}
			l, err = s.opts.Campaigns.CreateGoLive(ctx, t.ID, in)
		} else {
			var assets, systems []string
			if r.PostForm != nil {
				assets, systems = r.PostForm["assets"], r.PostForm["systems"]
			}
			if len(systems) > maxScopeSystems {
				return store.NewFieldError("systems", store.CodeTooMany, map[string]any{"max": maxScopeSystems},
					"choose at most %d business systems", maxScopeSystems)
			}
			var factor float64
			if factor, err = formAckFactor(r); err != nil {
				return err
			}
			l, err = s.opts.Campaigns.CreateKeyPeriod(ctx, t.ID, manager.KeyPeriodInput{PeriodID: r.PostFormValue("period"),
				Name: r.PostFormValue("name"), AssetIDs: assets, Systems: systems, AckFactor: factor})
		}
		if err != nil {
			return err
		}
		redirect(w, r, campaignBase(t, kind)+"/"+l.Record.ID+"?ok=created")
		return nil
	}
}

// loadCampaign loads the campaign of the path; one of another kind is not
// found under this area.
func (s *server) loadCampaign(r *http.Request, kind string) (*manager.Loaded, error) {
	t := state(r).tenant
	l, err := s.opts.Campaigns.Get(r.Context(), t.ID, chi.URLParam(r, "campaign"))
	if err != nil {
		return nil, err
	}
	if l.Record.Kind != kind {
		return nil, store.ErrNotFound
	}
	return l, nil
}

// slotView is the latest result of a task on one target or item.
type slotView struct {
	TaskID  string
	AssetID string
	System  string
	Item    campaign.Item
	Result  campaign.Result
	Pending bool
	// Links lead to the runs and findings the result was judged on.
	Links []evidenceLink
}

type taskView struct {
	Task      campaign.Task
	Automated bool
	Slots     []slotView
}

type campaignPage struct {
	Base
	ListURL   string
	URL       string
	Record    store.Campaign
	Phases    []campaign.Phase
	Targets   []campaign.Target
	Tasks     []taskView
	CanWrite  bool
	CanReport bool
	Statuses  []string
	Now       time.Time
	// Go-live gate.
	Release   gate.Release
	Decision  gate.Decision
	Decisions []store.CampaignDecision
	// Key-period campaign.
	Period      keyperiod.Period
	Roster      []keyperiod.Shift
	Dailies     []store.CampaignDailyReport
	Transitions []keyperiod.Transition
	SummaryID   string
	ReportsURL  string
	// AckFactor scales the alert acknowledgement waits during the watch.
	AckFactor string
}

func tasksView(ten *store.Tenant, c *campaign.Campaign) []taskView {
	systems := map[string]string{}
	for _, tg := range c.Targets {
		systems[tg.AssetID] = tg.System
	}
	var out []taskView
	for _, t := range c.Tasks {
		tv := taskView{Task: t, Automated: t.Kind.Automated()}
		if tv.Automated {
			for _, tg := range c.Targets {
				r, ok := c.Latest(t.ID, tg.AssetID, "")
				tv.Slots = append(tv.Slots, slotView{TaskID: t.ID, AssetID: tg.AssetID, System: tg.System, Result: r, Pending: !ok,
					Links: evidenceLinks(ten, r)})
			}
		} else {
			for _, it := range t.Items {
				r, ok := c.Latest(t.ID, "", it.ID)
				tv.Slots = append(tv.Slots, slotView{TaskID: t.ID, Item: it, Result: r, Pending: !ok})
			}
		}
		out = append(out, tv)
	}
	return out
}

// campaignView is a campaign's page: tasks and results, and the gate's
// decision or the key period's phases, roster and reports.
func (s *server) campaignView(kind string) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		ctx := r.Context()
		t := state(r).tenant
		p := auth.FromContext(ctx)
		l, err := s.loadCampaign(r, kind)
		if err != nil {
			return err
		}
		v := &campaignPage{ListURL: campaignBase(t, kind), URL: campaignBase(t, kind) + "/" + l.Record.ID, Record: l.Record, Phases: l.Campaign.Phases, Targets: l.Campaign.Targets,
			Tasks: tasksView(t, l.Campaign), CanWrite: p.Can(auth.PermAssessWrite, t.ID) && !l.Record.Closed, CanReport: p.Can(auth.PermReportRead, t.ID),
			Statuses: []string{string(campaign.StatusPassed), string(campaign.StatusFailed), string(campaign.StatusNotApplicable)},
			Now:      time.Now().UTC(), ReportsURL: "/t/" + t.Slug + "/reports"}
		name := "golive"
		if l.Gate != nil {
			v.Release = l.Gate.Release
			v.Decision = s.opts.Campaigns.Decision(l)
			if v.Decisions, err = s.opts.Campaigns.Decisions(ctx, t.ID, l.Record.ID, 20); err != nil {
				return err
			}
		} else {
			name = "keyperiod"
			v.Period = l.KeyPeriod.Period
			v.Roster = l.KeyPeriod.Roster.Shifts
			v.AckFactor = strconv.FormatFloat(s.opts.Campaigns.WatchAckFactor(l), 'f', -1, 64)
			v.Transitions = manager.Transitions(l)
			v.SummaryID = manager.SummaryReportID(l)
			if v.Dailies, err = s.opts.Campaigns.DailyReports(ctx, t.ID, l.Record.ID); err != nil {
				return err
			}
		}
		s.render(w, r, http.StatusOK, name, v)
		return nil
	}
}

// campaignRun runs (or re-runs) an automated task.
func (s *server) campaignRun(kind string) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		l, err := s.loadCampaign(r, kind)
		if err != nil {
			return err
		}
		task := r.PostFormValue("task")
		if _, err := s.opts.Campaigns.RunTask(r.Context(), l.Record.TenantID, l.Record.ID, task); err != nil {
			return err
		}
		redirect(w, r, campaignBase(state(r).tenant, kind)+"/"+l.Record.ID+"?ok=saved#task-"+task)
		return nil
	}
}

// campaignItem records the answer to a checklist item.
func (s *server) campaignItem(kind string) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		l, err := s.loadCampaign(r, kind)
		if err != nil {
			return err
		}
		task := r.PostFormValue("task")
		a := manager.Answer{Status: r.PostFormValue("status"), Note: r.PostFormValue("note"),
			Evidence: strings.Split(r.PostFormValue("evidence"), "\n")}
		if _, err := s.opts.Campaigns.RecordItem(r.Context(), l.Record.TenantID, l.Record.ID, task, r.PostFormValue("item"), a); err != nil {
			return err
		}
		redirect(w, r, campaignBase(state(r).tenant, kind)+"/"+l.Record.ID+"?ok=saved#task-"+task)
		return nil
	}
}

// campaignNA marks an automated task not applicable to a target.
func (s *server) campaignNA(kind string) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		l, err := s.loadCampaign(r, kind)
		if err != nil {
			return err
		}
		task := r.PostFormValue("task")
		if err := s.opts.Campaigns.MarkNotApplicable(r.Context(), l.Record.TenantID, l.Record.ID, task, r.PostFormValue("asset"),
			r.PostFormValue("reason")); err != nil {
			return err
		}
		redirect(w, r, campaignBase(state(r).tenant, kind)+"/"+l.Record.ID+"?ok=saved#task-"+task)
		return nil
	}
}

// campaignClose closes a campaign.
func (s *server) campaignClose(kind string) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		l, err := s.loadCampaign(r, kind)
		if err != nil {
			return err
		}
		if err := s.opts.Campaigns.Close(r.Context(), l.Record.TenantID, l.Record.ID); err != nil {
			return err
		}
		redirect(w, r, campaignBase(state(r).tenant, kind)+"/"+l.Record.ID+"?ok=saved")
		return nil
	}
}

// goLiveAccept risk-accepts an open item of a gate.
func (s *server) goLiveAccept(w http.ResponseWriter, r *http.Request) error {
	l, err := s.loadCampaign(r, store.CampaignGoLive)
	if err != nil {
		return err
	}
	exp, err := time.Parse(time.DateOnly, strings.TrimSpace(r.PostFormValue("expires")))
	if err != nil {
		return store.NewFieldError("expires", store.CodeInvalidDate, nil, "the expiry is a date, YYYY-MM-DD")
	}
	if err := s.opts.Campaigns.Accept(r.Context(), l.Record.TenantID, l.Record.ID, manager.AcceptInput{AssetID: r.PostFormValue("asset"),
		Key: r.PostFormValue("key"), Reason: r.PostFormValue("reason"), Expires: exp}); err != nil {
		return err
	}
	redirect(w, r, campaignBase(state(r).tenant, store.CampaignGoLive)+"/"+l.Record.ID+"?ok=accepted#decision")
	return nil
}

// goLiveDecide records the gate's decision, signed off when asked.
func (s *server) goLiveDecide(w http.ResponseWriter, r *http.Request) error {
	l, err := s.loadCampaign(r, store.CampaignGoLive)
	if err != nil {
		return err
	}
	if _, err := s.opts.Campaigns.Decide(r.Context(), l.Record.TenantID, l.Record.ID, r.PostFormValue("sign_off") == "1"); err != nil {
		return err
	}
	redirect(w, r, campaignBase(state(r).tenant, store.CampaignGoLive)+"/"+l.Record.ID+"?ok=saved#decision")
	return nil
}

// goLiveReport archives the go-live report.
func (s *server) goLiveReport(w http.ResponseWriter, r *http.Request) error {
	t := state(r).tenant
	l, err := s.loadCampaign(r, store.CampaignGoLive)
	if err != nil {
		return err
	}
	format, lang, err := reportRequest(r)
	if err != nil {
		return err
	}
	rep, err := s.opts.Campaigns.GateReport(r.Context(), t.ID, l.Record.ID, format, lang)
	if err != nil {
		return err
	}
	redirect(w, r, "/t/"+t.Slug+"/reports?ok=generated&report="+rep.ID)
	return nil
}

// keyPeriodRoster replaces the duty roster from lines of "start end lead
// [phone] [member ...]", times as YYYY-MM-DDTHH:MM in the period's zone.
func (s *server) keyPeriodRoster(w http.ResponseWriter, r *http.Request) error {
	l, err := s.loadCampaign(r, store.CampaignKeyPeriod)
	if err != nil {
		return err
	}
	shifts, err := manager.ParseRoster(r.PostFormValue("roster"), l.KeyPeriod.Period.Start.Location())
	if err != nil {
		return err
	}
	if err := s.opts.Campaigns.SetRoster(r.Context(), l.Record.TenantID, l.Record.ID, shifts); err != nil {
		return err
	}
	redirect(w, r, campaignBase(state(r).tenant, store.CampaignKeyPeriod)+"/"+l.Record.ID+"?ok=saved#roster")
	return nil
}

// campaignMessageIDs are the message IDs the campaign pages build from
// data.
func campaignMessageIDs() []string {
	var ids []string
	add := func(prefix string, keys ...string) {
		for _, k := range keys {
			ids = append(ids, prefix+"."+k)
		}
	}
	add("campaign.status", "pending", string(campaign.StatusPassed), string(campaign.StatusFailed), string(campaign.StatusErrored),
		string(campaign.StatusNotApplicable))
	for _, k := range campaign.TaskKinds() {
		add("campaign.kind", string(k))
	}
	for _, sev := range campaign.Severities() {
		add("campaign.sev", string(sev))
	}
	add("golive.outcome", string(gate.Pass), string(gate.ConditionalPass), string(gate.Fail))
	add("keyperiod.phase", append(keyperiod.Phases(), keyperiod.Done)...)
	add("keyperiod.kind", keyperiod.Kinds()...)
	add("report_kind", "golive-report", "keyperiod-daily", "keyperiod-summary")
	return ids
}
