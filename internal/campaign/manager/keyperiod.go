package manager

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/vigil-sec/vigil/internal/archive"
	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/campaign"
	"github.com/vigil-sec/vigil/internal/campaign/keyperiod"
	"github.com/vigil-sec/vigil/internal/report"
	"github.com/vigil-sec/vigil/internal/store"
)

// KeyPeriodInput opens a key-period campaign.
type KeyPeriodInput struct {
	// PeriodID names a period of the calendar.
	PeriodID string
	// Name defaults to the period's name.
	Name string
	// AssetIDs is the scope; empty means every asset of the tenant with
	// an address (at most MaxTargets).
	AssetIDs []string
	// Systems are business system IDs; their member assets join the
	// scope (see systemAssets).
	Systems []string
	// AckFactor, from MinAckFactor to 1, scales the tenant's alert
	// acknowledgement waits and case SLA targets during the watch; 0 means
	// the service's default.
	AckFactor float64
}

// CreateKeyPeriod plans a key-period campaign from the tenant's calendar
// and the built-in template over the tenant's assets.
func (s *Service) CreateKeyPeriod(ctx context.Context, tenantID string, in KeyPeriodInput) (*Loaded, error) {
	if err := auth.Require(ctx, auth.PermAssessWrite, tenantID); err != nil {
		return nil, err
	}
	if err := checkText("name", in.Name, MaxText, false, true); err != nil {
		return nil, err
	}
	if err := checkAckFactor(in.AckFactor); err != nil {
		return nil, err
	}
	cal, err := s.calendarOf(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	p, err := cal.Period(strings.TrimSpace(in.PeriodID))
	if err != nil {
		ids := make([]string, 0, len(cal.Periods))
		for _, p := range cal.Periods {
			ids = append(ids, p.ID)
		}
		return nil, invalid("period", store.CodeOneOf, map[string]any{"allowed": ids}, "choose a period of the calendar")
	}
	var assets []store.Asset
	if len(in.AssetIDs) == 0 && len(in.Systems) == 0 {
		all, err := s.store.Assets().List(ctx, tenantID, store.AssetFilter{Page: store.Page{Limit: MaxTargets}})
		if err != nil {
			return nil, err
		}
		assets = all
	} else {
		if len(in.AssetIDs) > MaxTargets {
			return nil, invalid("assets", store.CodeTooMany, map[string]any{"max": MaxTargets}, "at most %d assets", MaxTargets)
		}
		for _, id := range in.AssetIDs {
			a, err := s.store.Assets().Get(ctx, tenantID, strings.TrimSpace(id))
			if err != nil {
				if errors.Is(err, store.ErrNotFound) {
					return nil, invalid("assets", store.CodeNotInTenant, nil, "choose assets of this organisation")
				}
				return nil, err
			}
			assets = append(assets, a)
		}
	}
	sysAssets, sysIDs, err := s.systemAssets(ctx, tenantID, in.Systems, len(assets))
	if err != nil {
		return nil, err
	}
	assets = append(assets, sysAssets...)
	var targets []campaign.Target
	scope := campaign.Scope{Systems: sysIDs}
	for _, a := range assets {
		h := hostOf(a)
		if h == "" || slices.ContainsFunc(targets, func(t campaign.Target) bool { return t.AssetID == a.ID }) {
			continue
		}
		targets = append(targets, campaign.Target{AssetID: a.ID, System: a.Name, Host: h})
		scope.AssetIDs = append(scope.AssetIDs, a.ID)
	}
	id, err := newID()
	if err != nil {
		return nil, err
	}
	name := strings.TrimSpace(in.Name)
	if name == "" {
		name = p.NameZh
		if name == "" {
			name = p.Name
		}
	}
	k, err := keyperiod.New(p, campaign.Instance{ID: id, Tenant: tenantID, Name: name, Scope: scope, Targets: targets}, keyperiod.Options{})
	if err != nil {
		return nil, invalid("period", store.CodeInvalidConfig, map[string]any{"reason": err.Error()}, "%s", err.Error())
	}
	transitions := k.Advance(s.now().UTC())
	l := &Loaded{KeyPeriod: k, Campaign: k.Campaign}
	last := k.Campaign.Phases[len(k.Campaign.Phases)-1]
	l.Record = store.Campaign{ID: id, TenantID: tenantID, Kind: store.CampaignKeyPeriod, Name: name, PeriodID: p.ID, Phase: k.Current,
		Start: k.Campaign.Start, End: last.End, CreatedBy: auth.FromContext(ctx).ActorID()}
	d, err := json.Marshal(keyPeriodDoc{Transitions: transitions, AckFactor: in.AckFactor})
	if err != nil {
		return nil, err
	}
	l.Record.Doc = d
	if l.Record.Doc, err = l.doc(); err != nil {
		return nil, err
	}
	if err := s.store.Campaigns().Create(ctx, &l.Record, tasksOf(k.Campaign)); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return nil, invalid("name", store.CodeOneOf, nil, "a campaign of this organisation already has this name")
		}
		return nil, err
	}
	return l, s.record(ctx, tenantID, "campaign.create", id, map[string]any{"kind": store.CampaignKeyPeriod, "period": p.ID,
		"targets": len(targets), "phase": k.Current, "ack_factor": in.AckFactor})
}

// AckFactor is the factor applied to the tenant's alert acknowledgement
// waits at a moment: the smallest factor of its open key-period campaigns
// in their watch phase at that moment, 1 when none is. It is the
// alerting service's hook and reads the store as Vigil itself; a
// campaign it cannot read is logged and left out.
func (s *Service) AckFactor(ctx context.Context, tenantID string, at time.Time) float64 {
	f := 1.0
	cs, err := s.store.Campaigns().List(ctx, tenantID, store.CampaignFilter{Kind: store.CampaignKeyPeriod, OpenOnly: true,
		Page: store.Page{Limit: store.MaxPageSize}})
	if err != nil {
		s.log.Warn("key-period campaigns not read for the acknowledgement factor", "tenant", tenantID, "err", err)
		return f
	}
	for _, c := range cs {
		if at.Before(c.Start) || !at.Before(c.End) {
			continue
		}
		var d keyPeriodDoc
		if err := json.Unmarshal(c.Doc, &d); err != nil || d.KeyPeriod == nil || d.KeyPeriod.Campaign == nil || len(d.KeyPeriod.Campaign.Phases) == 0 {
			s.log.Warn("key-period campaign unreadable", "tenant", tenantID, "campaign", c.ID, "err", err)
			continue
		}
		if !d.KeyPeriod.InWatch(at) {
			continue
		}
		cf := d.AckFactor
		if cf <= 0 || cf > 1 {
			cf = s.factor
		}
		f = min(f, cf)
	}
	return f
}

// WatchAckFactor is the acknowledgement factor of a key-period campaign
// during its watch.
func (s *Service) WatchAckFactor(l *Loaded) float64 {
	var d keyPeriodDoc
	if json.Unmarshal(l.Record.Doc, &d) != nil || d.AckFactor <= 0 || d.AckFactor > 1 {
		return s.factor
	}
	return d.AckFactor
}

// Transitions returns the phases a key-period campaign entered so far.
func Transitions(l *Loaded) []keyperiod.Transition {
	var d keyPeriodDoc
	if json.Unmarshal(l.Record.Doc, &d) != nil {
		return nil
	}
	return d.Transitions
}

// SummaryReportID is the archived summary report of a key-period
// campaign, "" before it is made.
func SummaryReportID(l *Loaded) string {
	var d keyPeriodDoc
	if json.Unmarshal(l.Record.Doc, &d) != nil {
		return ""
	}
	return d.SummaryReportID
}

func shiftFromStore(sh store.DutyShift) keyperiod.Shift {
	out := keyperiod.Shift{Start: sh.Start, End: sh.End, Lead: keyperiod.Contact(sh.Lead)}
	for _, m := range sh.Members {
		out.Members = append(out.Members, keyperiod.Contact(m))
	}
	return out
}

// SetRoster replaces the duty roster of a key-period campaign.
func (s *Service) SetRoster(ctx context.Context, tenantID, id string, shifts []keyperiod.Shift) error {
	if err := auth.Require(ctx, auth.PermAssessWrite, tenantID); err != nil {
		return err
	}
	if len(shifts) > MaxShifts {
		return invalid("roster", store.CodeTooMany, map[string]any{"max": MaxShifts}, "at most %d shifts", MaxShifts)
	}
	for _, sh := range shifts {
		for _, c := range append([]keyperiod.Contact{sh.Lead}, sh.Members...) {
			for _, f := range []string{c.Name, c.Role, c.Phone} {
				if err := checkText("roster", f, MaxText, false, true); err != nil {
					return err
				}
			}
		}
	}
	if err := (keyperiod.Roster{Shifts: shifts}).Validate(); err != nil {
		return invalid("roster", store.CodeInvalidConfig, map[string]any{"reason": err.Error()}, "%s", err.Error())
	}
	l, err := s.load(ctx, tenantID, id)
	if err != nil {
		return err
	}
	if l.KeyPeriod == nil {
		return invalid("", store.CodeOneOf, nil, "only a key-period campaign has a duty roster")
	}
	var ss []store.DutyShift
	for _, sh := range shifts {
		d := store.DutyShift{Start: sh.Start.UTC(), End: sh.End.UTC(), Lead: store.DutyContact(sh.Lead)}
		for _, m := range sh.Members {
			d.Members = append(d.Members, store.DutyContact(m))
		}
		ss = append(ss, d)
	}
	if err := s.store.Campaigns().SetRoster(ctx, tenantID, id, ss); err != nil {
		return err
	}
	return s.record(ctx, tenantID, "campaign.roster", id, map[string]any{"shifts": len(ss)})
}

// figures is what a daily report stores for the summary.
type figures struct {
	Alerts          map[campaign.Severity]int `json:"alerts"`
	Incidents       map[string]int            `json:"incidents"`
	ChangesApproved int                       `json:"changes_approved"`
	Blocked         int                       `json:"blocked"`
}

// Tick is the periodic job of key-period campaigns: at now it advances
// every open campaign of every tenant through its phases, archives the
// daily report of each watch day that has ended and has none yet
// (including quiet days: 零报告), and when the summary phase is reached
// archives the summary report; after the summary phase the campaign is
// closed.
func (s *Service) Tick(ctx context.Context) error {
	tenants, err := s.store.Tenants().List(ctx)
	if err != nil {
		return err
	}
	var errs []error
	for _, t := range tenants {
		cs, err := s.store.Campaigns().List(ctx, t.ID, store.CampaignFilter{Kind: store.CampaignKeyPeriod, OpenOnly: true,
			Page: store.Page{Limit: store.MaxPageSize}})
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, c := range cs {
			if err := s.tick(ctx, t, c.ID); err != nil {
				errs = append(errs, fmt.Errorf("campaign %s: %w", c.ID, err))
			}
		}
	}
	return errors.Join(errs...)
}

func (s *Service) tick(ctx context.Context, t store.Tenant, id string) error {
	now := s.now().UTC()
	l, err := s.load(ctx, t.ID, id)
	if err != nil {
		return err
	}
	var d keyPeriodDoc
	if err := json.Unmarshal(l.Record.Doc, &d); err != nil {
		return err
	}
	k := l.KeyPeriod
	moved := k.Advance(now)
	d.Transitions = append(d.Transitions, moved...)
	for _, tr := range moved {
		if err := s.record(ctx, t.ID, "campaign.phase", id, map[string]any{"from": tr.From, "to": tr.To, "at": tr.At}); err != nil {
			return err
		}
	}
	// Daily reports of the watch days that have ended.
	have, err := s.store.Campaigns().DailyReports(ctx, t.ID, id)
	if err != nil {
		return err
	}
	done := map[string]bool{}
	for _, r := range have {
		done[r.Day] = true
	}
	loc := k.Period.Start.Location()
	for day := k.Period.Start; day.Before(k.Period.End); day = day.AddDate(0, 0, 1) {
		start := time.Date(day.In(loc).Year(), day.In(loc).Month(), day.In(loc).Day(), 0, 0, 0, 0, loc)
		end := start.AddDate(0, 0, 1)
		key := start.Format(time.DateOnly)
		if end.After(now) {
			break
		}
		if done[key] {
			continue
		}
		if err := s.daily(ctx, t, l, start, end); err != nil {
			return err
		}
	}
	// The summary once the watch is over.
	summaryDue := k.Current == keyperiod.PhaseSummary || k.Current == keyperiod.Done
	if summaryDue && d.SummaryReportID == "" && s.archive != nil {
		rid, err := s.summary(ctx, t, l)
		if err != nil {
			return err
		}
		d.SummaryReportID = rid
	}
	l.Record.Phase = k.Current
	if k.Current == keyperiod.Done && d.SummaryReportID != "" {
		l.Record.Closed = true
	}
	raw, err := json.Marshal(d)
	if err != nil {
		return err
	}
	l.Record.Doc = raw
	return s.save(ctx, l, nil)
}

var alertLevels = map[string]campaign.Severity{"critical": campaign.SeverityCritical, "high": campaign.SeverityHigh,
	"medium": campaign.SeverityMedium, "low": campaign.SeverityLow, "informational": campaign.SeverityInfo}

// dailyInput fills the day's figures from the stores: alerts active in
// the day by level, incidents open during the day by stage, and the
// campaign's re-checks run that day.
func (s *Service) dailyInput(ctx context.Context, tenantID string, l *Loaded, start, end time.Time) (keyperiod.DailyInput, error) {
	in := keyperiod.DailyInput{Day: start, Alerts: map[campaign.Severity]int{}, Incidents: map[string]int{}}
	for level, sev := range alertLevels {
		n, err := s.store.Alerts().Count(ctx, tenantID, store.AlertFilter{Level: level, Since: start, Until: end})
		if err != nil {
			return in, err
		}
		if n > 0 {
			in.Alerts[sev] = n
		}
	}
	incs, err := s.store.Incidents().List(ctx, tenantID, store.IncidentFilter{Page: store.Page{Limit: store.MaxPageSize}})
	if err != nil {
		return in, err
	}
	for _, c := range incs {
		if !c.CreatedAt.Before(end) || (!c.ClosedAt.IsZero() && c.ClosedAt.Before(start)) {
			continue
		}
		in.Incidents[c.Phase]++
	}
	titles := map[string]string{}
	for _, t := range l.Campaign.Tasks {
		titles[t.ID] = t.Title
	}
	for _, r := range append(slices.Clone(l.Campaign.History), l.Campaign.Results...) {
		if r.AssetID != "" && !r.At.Before(start) && r.At.Before(end) {
			in.Rechecked = append(in.Rechecked, keyperiod.Recheck{AssetID: r.AssetID, Check: titles[r.TaskID], Result: string(r.Status)})
		}
	}
	return in, nil
}

func (s *Service) daily(ctx context.Context, t store.Tenant, l *Loaded, start, end time.Time) error {
	in, err := s.dailyInput(ctx, t.ID, l, start, end)
	if err != nil {
		return err
	}
	doc, quiet, err := l.KeyPeriod.DailyReport(in, s.lang)
	if err != nil {
		return err
	}
	doc.Tenant = t.Name
	dr := store.CampaignDailyReport{TenantID: t.ID, CampaignID: l.Record.ID, Day: start.Format(time.DateOnly), Quiet: quiet}
	if s.archive != nil {
		rep, err := s.archive.Generate(ctx, archive.Request{TenantID: t.ID, Service: ServiceKeyPeriod, Kind: "keyperiod-daily",
			SourceID: l.Record.ID, Format: report.FormatHTML, Doc: doc})
		if err != nil {
			return err
		}
		dr.ReportID = rep.ID
		summary := fmt.Sprintf("%s %s: events to report", l.Record.Name, dr.Day)
		if quiet {
			summary = fmt.Sprintf("%s %s: nothing to report (零报告)", l.Record.Name, dr.Day)
		}
		s.sendReport(ctx, rep, summary)
	}
	fig := figures{Alerts: in.Alerts, Incidents: in.Incidents, ChangesApproved: len(in.ChangesApproved), Blocked: len(in.Blocked)}
	if dr.Figures, err = json.Marshal(fig); err != nil {
		return err
	}
	if err := s.store.Campaigns().AddDailyReport(ctx, &dr); err != nil {
		if errors.Is(err, store.ErrConflict) { // another worker made it
			return nil
		}
		return err
	}
	return s.record(ctx, t.ID, "campaign.daily_report", l.Record.ID, map[string]any{"day": dr.Day, "quiet": quiet, "report": dr.ReportID})
}

func (s *Service) summary(ctx context.Context, t store.Tenant, l *Loaded) (string, error) {
	drs, err := s.store.Campaigns().DailyReports(ctx, t.ID, l.Record.ID)
	if err != nil {
		return "", err
	}
	loc := l.KeyPeriod.Period.Start.Location()
	var dailies []keyperiod.DailyInput
	for _, dr := range drs {
		var f figures
		if err := json.Unmarshal(dr.Figures, &f); err != nil {
			return "", fmt.Errorf("daily report %s: %w", dr.Day, err)
		}
		day, err := time.ParseInLocation(time.DateOnly, dr.Day, loc)
		if err != nil {
			return "", err
		}
		in := keyperiod.DailyInput{Day: day, Alerts: f.Alerts, Incidents: f.Incidents}
		for range f.Blocked {
			in.Blocked = append(in.Blocked, keyperiod.BlockedSource{})
		}
		for range f.ChangesApproved {
			in.ChangesApproved = append(in.ChangesApproved, keyperiod.Change{})
		}
		dailies = append(dailies, in)
	}
	before := l.KeyPeriod.SnapshotOfPhase(keyperiod.PhaseSelfInspection)
	after := l.KeyPeriod.SnapshotOfPhase(keyperiod.PhaseRecheck)
	doc, err := l.KeyPeriod.SummaryReport(before, after, dailies, s.now().UTC(), s.lang)
	if err != nil {
		return "", err
	}
	doc.Tenant = t.Name
	rep, err := s.archive.Generate(ctx, archive.Request{TenantID: t.ID, Service: ServiceKeyPeriod, Kind: "keyperiod-summary",
		SourceID: l.Record.ID, Format: report.FormatHTML, Doc: doc})
	if err != nil {
		return "", err
	}
	s.sendReport(ctx, rep, l.Record.Name+": summary report")
	return rep.ID, s.record(ctx, t.ID, "campaign.summary_report", l.Record.ID, map[string]any{"report": rep.ID})
}

// sendReport hands an archived report to the notification hook.
func (s *Service) sendReport(ctx context.Context, rep store.Report, summary string) {
	if s.onReport == nil {
		return
	}
	if err := s.onReport(ctx, rep, summary); err != nil {
		s.log.Warn("key-period report not sent", "report", rep.ID, "err", err)
	}
}

// MaxRosterText bounds the roster text ParseRoster reads.
const MaxRosterText = 64 << 10

// ParseRoster reads a duty roster written one shift a line: "start end
// lead [phone] [member ...]", times as 2006-01-02T15:04 in loc. A phone is
// a token of digits, "+" and "-". Errors name the line.
func ParseRoster(text string, loc *time.Location) ([]keyperiod.Shift, error) {
	if len(text) > MaxRosterText {
		return nil, invalid("roster", store.CodeTooLarge, map[string]any{"max": MaxRosterText}, "the roster is longer than %d bytes", MaxRosterText)
	}
	var out []keyperiod.Shift
	bad := func(n int, why string) error {
		return invalid("roster", store.CodeInvalidConfig, map[string]any{"reason": fmt.Sprintf("line %d: %s", n, why)},
			"line %d: %s; write start end lead [phone] [members], times as 2027-10-01T08:00", n, why)
	}
	for i, line := range strings.Split(text, "\n") {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		if len(out) == MaxShifts {
			return nil, invalid("roster", store.CodeTooMany, map[string]any{"max": MaxShifts}, "at most %d shifts", MaxShifts)
		}
		if len(f) < 3 {
			return nil, bad(i+1, "a shift needs a start, an end and a lead")
		}
		start, err1 := time.ParseInLocation("2006-01-02T15:04", f[0], loc)
		end, err2 := time.ParseInLocation("2006-01-02T15:04", f[1], loc)
		if err1 != nil || err2 != nil {
			return nil, bad(i+1, "a time is not like 2027-10-01T08:00")
		}
		sh := keyperiod.Shift{Start: start, End: end, Lead: keyperiod.Contact{Name: f[2], Role: "lead"}}
		rest := f[3:]
		if len(rest) > 0 && strings.Trim(rest[0], "+0123456789-") == "" {
			sh.Lead.Phone, rest = rest[0], rest[1:]
		}
		for _, m := range rest {
			sh.Members = append(sh.Members, keyperiod.Contact{Name: m})
		}
		out = append(out, sh)
	}
	return out, nil
}
