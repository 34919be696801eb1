package web

import (
	"cmp"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/drill"
	"github.com/vigil-sec/vigil/internal/drill/exercise"
	"github.com/vigil-sec/vigil/internal/store"
)

// Drill pages. Reading needs assessment.read; planning, running, recording
// attacks and announcing need assessment.write; confirming defence
// outcomes needs event.triage; generating the summary needs report.read.
// The drill's own team members narrow who acts for each role (see
// package exercise).

// drillBase is the drill service area of a tenant: its drill list.
func drillBase(t *store.Tenant) string { return "/t/" + t.Slug + "/operations/drill" }

// registerDrill adds the drill pages to the route table.
func (s *server) registerDrill(t string) {
	if s.opts.Drills == nil {
		return
	}
	get, post := http.MethodGet, http.MethodPost
	base := t + "/operations/drill"
	s.handle(get, base, inTenant(auth.PermTenantRead), s.drillList) // checks assessment.read itself
	s.handle(post, base, inTenant(auth.PermAssessWrite), s.drillCreate)
	s.handle(get, base+"/{drill}", inTenant(auth.PermAssessRead), s.drillView)
	s.handle(get, base+"/{drill}/layer.json", inTenant(auth.PermAssessRead), s.drillLayer)
	s.handle(post, base+"/{drill}/state", inTenant(auth.PermAssessWrite), s.drillState)
	s.handle(post, base+"/{drill}/cases", inTenant(auth.PermAssessWrite), s.drillCases)
	s.handle(post, base+"/{drill}/records", inTenant(auth.PermAssessWrite), s.drillRecord)
	s.handle(post, base+"/{drill}/announce", inTenant(auth.PermAssessWrite), s.drillAnnounce)
	s.handle(post, base+"/{drill}/confirm", inTenant(auth.PermEventTriage), s.drillConfirm)
	s.handle(post, base+"/{drill}/observe", inTenant(auth.PermEventTriage), s.drillObserve)
	s.handle(post, base+"/{drill}/report", inTenant(auth.PermReportRead), s.drillReport)
	s.handle(post, base+"/{drill}/reports", inTenant(auth.PermEventTriage), s.drillReportSubmit)
	s.handle(post, base+"/{drill}/reports/{report}/decide", inTenant(auth.PermAssessWrite), s.drillReportDecide)
	s.handle(post, base+"/{drill}/records/{record}/delete", inTenant(auth.PermAssessWrite), s.drillRecordDelete)
	if s.opts.Ops != nil {
		s.handle(post, base+"/{drill}/remediate", inTenant(auth.PermAssessWrite), s.drillRemediate)
	}
	if s.opts.Attachments != nil {
		// Evidence files of the drill and of its attack records: readers
		// download; the service checks who may add and remove.
		for _, p := range []string{base + "/{drill}", base + "/{drill}/records/{record}"} {
			s.handle(post, p+"/files", inTenant(auth.PermAssessRead), s.drillFileAdd)
			s.handle(get, p+"/files/{file}", inTenant(auth.PermAssessRead), s.drillFileGet)
			s.handle(post, p+"/files/{file}/delete", inTenant(auth.PermAssessRead), s.drillFileDelete)
		}
	}
}

// drillMessageIDs are the message IDs the drill pages build from data.
func drillMessageIDs() []string {
	ids := []string{"report_kind." + exercise.ReportKind}
	add := func(prefix string, keys ...string) {
		for _, k := range keys {
			ids = append(ids, prefix+"."+k)
		}
	}
	for _, st := range []drill.State{drill.StatePlanned, drill.StateRunning, drill.StatePaused, drill.StateFinished} {
		add("drill.st", string(st))
	}
	add("drill.to", string(drill.StateRunning), string(drill.StatePaused), string(drill.StateFinished))
	for _, r := range []drill.Role{drill.RoleAttacker, drill.RoleDefender, drill.RoleDirector} {
		add("drill.role", string(r))
	}
	for _, l := range drill.Layers() {
		add("drill.layer", string(l))
	}
	for _, l := range []drill.Level{drill.LevelNone, drill.LevelLogged, drill.LevelAlerted, drill.LevelBlocked} {
		add("drill.level", l.String())
	}
	for _, a := range drill.Achievements() {
		add("drill.ach", string(a))
	}
	add("drill.ev", "state", "attack", "detect", "announce", "report")
	for _, k := range drill.ReportKinds() {
		add("drill.rk", string(k))
	}
	for _, a := range drill.Areas() {
		add("drill.area", string(a))
	}
	return ids
}

// libCase is a library case offered in a plan form.
type libCase struct {
	ID, Technique, Tactic, Name string
}

type drillsPage struct {
	Base
	formState
	URL      string
	Drills   []store.Drill
	Library  []libCase
	CanWrite bool
	// Form keeps what was typed when the form is shown again.
	Form map[string]string
	// Picked are the library cases ticked.
	Picked []string
}

func (s *server) libraryCases(zh bool) ([]libCase, error) {
	lib, err := s.opts.Drills.Library()
	if err != nil {
		return nil, err
	}
	var out []libCase
	for _, c := range lib.Cases() {
		name := c.Name
		if zh && c.NameZH != "" {
			name = c.NameZH
		}
		out = append(out, libCase{ID: c.ID, Technique: c.Technique, Tactic: c.Tactic, Name: name})
	}
	return out, nil
}

func (s *server) drillsView(r *http.Request) (*drillsPage, error) {
	ctx := r.Context()
	t := state(r).tenant
	v := &drillsPage{URL: drillBase(t), CanWrite: auth.FromContext(ctx).Can(auth.PermAssessWrite, t.ID), Form: map[string]string{}}
	var err error
	if v.Drills, err = s.opts.Drills.List(ctx, t.ID, store.Page{Limit: 100}); err != nil {
		return nil, err
	}
	if v.CanWrite {
		if v.Library, err = s.libraryCases(strings.HasPrefix(state(r).locale, "zh")); err != nil {
			return nil, err
		}
	}
	return v, nil
}

// drillList lists the tenant's drills with the form to plan one. Roles
// without assessment access (customers) keep the service's description.
func (s *server) drillList(w http.ResponseWriter, r *http.Request) error {
	t := state(r).tenant
	if !auth.FromContext(r.Context()).Can(auth.PermAssessRead, t.ID) {
		for _, a := range s.areas {
			if a.Key == "drill" {
				return s.comingSoon(a)(w, r)
			}
		}
		return auth.ErrForbidden
	}
	v, err := s.drillsView(r)
	if err != nil {
		return err
	}
	s.render(w, r, http.StatusOK, "drills", v)
	return nil
}

// drillLines splits a textarea of one entry per line (or comma).
func drillLines(s string) []string {
	var out []string
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == '\n' || r == '\r' || r == ',' }) {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// parseTeams reads one team per line: "role | name | unit | member, member".
func parseTeams(s string) ([]drill.Team, error) {
	var teams []drill.Team
	for i, line := range strings.Split(s, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		parts := strings.Split(line, "|")
		if len(parts) < 2 {
			return nil, store.NewFieldError("teams", store.CodeOneOf, nil, "line %d: write role | name | unit | members", i+1)
		}
		for j := range parts {
			parts[j] = strings.TrimSpace(parts[j])
		}
		tm := drill.Team{Role: drill.Role(strings.ToLower(parts[0])), Name: parts[1]}
		if len(parts) > 2 {
			tm.Unit = parts[2]
		}
		if len(parts) > 3 {
			tm.Members = drillLines(parts[3])
		}
		if len(parts) > 4 {
			tm.TenantID = parts[4] // an organisation, resolved by the caller
		}
		teams = append(teams, tm)
	}
	return teams, nil
}

// formTime reads a UTC date and time from a datetime-local input.
func formTime(field, v string) (time.Time, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return time.Time{}, nil
	}
	for _, layout := range []string{"2006-01-02T15:04", "2006-01-02T15:04:05", time.RFC3339, "2006-01-02 15:04"} {
		if t, err := time.Parse(layout, v); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, store.NewFieldError(field, store.CodeInvalidDate, nil, "%s is not a date and time (YYYY-MM-DDTHH:MM, UTC)", field)
}

// drillCreate plans a drill.
func (s *server) drillCreate(w http.ResponseWriter, r *http.Request) error {
	v, err := s.drillsView(r)
	if err != nil {
		return err
	}
	for _, k := range []string{"name", "start", "end", "roe", "cidrs", "hosts", "asset_ids", "exclude_cidrs", "exclude_hosts", "teams", "participants"} {
		v.Form[k] = r.PostFormValue(k)
	}
	v.Picked = r.PostForm["case"]
	d, err := s.createDrill(r)
	if err == nil {
		redirect(w, r, v.URL+"/"+d.ID+"?ok=created")
		return nil
	}
	status, ok := s.formError(r, err, &v.formState, []formField{{"name", "name"}, {"start", "start"}, {"end", "end"}, {"teams", "teams"}, {"cases", "case"}, {"participants", "participants"}})
	if !ok {
		return err
	}
	s.render(w, r, status, "drills", v)
	return nil
}

func (s *server) createDrill(r *http.Request) (*exercise.Drill, error) {
	start, err := formTime("start", r.PostFormValue("start"))
	if err != nil {
		return nil, err
	}
	end, err := formTime("end", r.PostFormValue("end"))
	if err != nil {
		return nil, err
	}
	teams, err := parseTeams(r.PostFormValue("teams"))
	if err != nil {
		return nil, err
	}
	if err := s.resolveTeamTenants(r, teams); err != nil {
		return nil, err
	}
	participants, err := s.parseParticipants(r, r.PostFormValue("participants"))
	if err != nil {
		return nil, err
	}
	p := exercise.Plan{Name: r.PostFormValue("name"), RulesOfEngagement: strings.TrimSpace(r.PostFormValue("roe")),
		Window: drill.Window{Start: start, End: end}, Teams: teams, LibraryCases: r.PostForm["case"],
		Scope: drill.Scope{CIDRs: drillLines(r.PostFormValue("cidrs")), Hosts: drillLines(r.PostFormValue("hosts")),
			AssetIDs: drillLines(r.PostFormValue("asset_ids")), ExcludeCIDRs: drillLines(r.PostFormValue("exclude_cidrs")),
			ExcludeHosts: drillLines(r.PostFormValue("exclude_hosts"))}, Participants: participants}
	return s.opts.Drills.Create(r.Context(), state(r).tenant.ID, p)
}

// drillTeamRow is one team's progress on the director board.
type drillTeamRow struct {
	drill.Team
	Records int
	Points  int
}

// drillEvent is one line of the drill timeline.
type drillEvent struct {
	At         time.Time
	Kind       string // state, attack, detect, announce
	Who, What  string
	Emergency  bool
	orderInDay int
}

// outcomeRow is a case outcome with its time to detect for display.
type outcomeRow struct {
	drill.CaseOutcome
	TTD string
}

// suggestionRow is a proposed link with its delay for display.
type suggestionRow struct {
	drill.Suggestion
	DelayText string
}

// heatRow is one tactic of the coverage heat map.
type heatRow struct {
	Tactic string
	Cells  []heatCell
}

type heatCell struct {
	Level string // none, logged, alerted, blocked; "" not expected
}

type drillPage struct {
	Base
	formState
	URL         string
	D           drill.Drill
	DrillVer    int
	Board       drill.Board
	Teams       []drillTeamRow
	Outcomes    []outcomeRow
	Timeline    []drillEvent
	Heat        []heatRow
	Layers      []drill.Layer
	Levels      []string
	Suggestions []suggestionRow
	Attackers   []string
	Library     []libCase
	States      []drill.State // the states the drill may go to
	Achieve     []drill.Achievement
	Records     []drill.AttackRecord
	ScoreError  string
	CanWrite    bool
	CanTriage   bool
	CanReport   bool
	Form        map[string]string
	// Defender reports, newest first, and what a report form offers.
	Reports     []reportRow
	ReportKinds []drill.ReportKind
	Defenders   []string
	CanSubmit   bool
	// Remediation items of the gaps with their work orders.
	Remediation  []exercise.RemediationRow
	OrdersURL    string // the ops work order pages, "" without them
	CanRemediate bool
	// Evidence: the drill's own files, and the files of the record
	// chosen with ?record=.
	HasFiles    bool
	DrillFiles  attachmentsView
	Record      *drill.AttackRecord
	RecordFiles attachmentsView
	// Several organisations: Shared when a participant sees its part;
	// TenantOpts the organisations an attack may target.
	Shared          bool
	TenantOpts      []drillTenantOpt
	CanDeleteRecord bool
}

// reportRow is a defender report with the points it made.
type reportRow struct {
	drill.DefenceReport
	Points int
}

func (s *server) drillPageView(r *http.Request) (*drillPage, error) {
	ctx := r.Context()
	t := state(r).tenant
	p := auth.FromContext(ctx)
	d, err := s.opts.Drills.Get(ctx, t.ID, chi.URLParam(r, "drill"))
	if err != nil {
		return nil, err
	}
	v := &drillPage{URL: drillBase(t) + "/" + d.ID, D: *d.Drill, DrillVer: d.Version, Board: d.Board(), Layers: drill.Layers(),
		Levels: []string{"logged", "alerted", "blocked"}, Achieve: drill.Achievements(), Form: map[string]string{},
		CanWrite: p.Can(auth.PermAssessWrite, t.ID), CanTriage: p.Can(auth.PermEventTriage, t.ID), CanReport: p.Can(auth.PermReportRead, t.ID)}
	switch d.State {
	case drill.StatePlanned:
		v.States = []drill.State{drill.StateRunning}
	case drill.StateRunning:
		v.States = []drill.State{drill.StatePaused, drill.StateFinished}
	case drill.StatePaused:
		v.States = []drill.State{drill.StateRunning, drill.StateFinished}
	}
	for _, o := range d.Outcomes() {
		row := outcomeRow{CaseOutcome: o}
		if o.Detected {
			row.TTD = o.Detect.Round(time.Second).String()
		}
		v.Outcomes = append(v.Outcomes, row)
	}
	v.Records = slices.Clone(d.Records)
	slices.SortFunc(v.Records, func(a, b drill.AttackRecord) int { return cmp.Or(b.At.Compare(a.At), cmp.Compare(a.ID, b.ID)) })
	scores, err := d.Score()
	if err != nil {
		v.ScoreError = err.Error()
		scores = &drill.Scores{}
	}
	for _, tm := range d.Teams {
		row := drillTeamRow{Team: tm}
		switch tm.Role {
		case drill.RoleAttacker:
			v.Attackers = append(v.Attackers, tm.Name)
			for _, rec := range d.Records {
				if rec.Team == tm.Name {
					row.Records++
				}
			}
			row.Points = scores.Attackers[tm.Name]
		case drill.RoleDefender:
			row.Points = scores.Defenders[tm.Name]
		}
		v.Teams = append(v.Teams, row)
	}
	for _, tac := range drill.Tactics() {
		row, ok := v.Board.HeatMap[tac]
		if !ok {
			continue
		}
		hr := heatRow{Tactic: tac}
		for _, l := range drill.Layers() {
			c := heatCell{}
			if lv, ok := row[l]; ok {
				c.Level = lv.String()
			}
			hr.Cells = append(hr.Cells, c)
		}
		v.Heat = append(v.Heat, hr)
	}
	v.Timeline = drillTimeline(d.Drill)
	drill3View(d, v)
	if err := s.drillExtras(r, d, scores, v); err != nil {
		return nil, err
	}
	if v.CanTriage && len(d.Records) > 0 {
		sugs, err := s.opts.Drills.Suggestions(ctx, t.ID, d.ID)
		if err != nil {
			return nil, err
		}
		for _, x := range sugs {
			v.Suggestions = append(v.Suggestions, suggestionRow{Suggestion: x, DelayText: x.Delay.Round(time.Second).String()})
		}
	}
	if v.CanWrite && d.State != drill.StateFinished {
		if v.Library, err = s.libraryCases(strings.HasPrefix(state(r).locale, "zh")); err != nil {
			return nil, err
		}
	}
	return v, nil
}

// maxTimeline bounds the timeline shown on the drill page.
const maxDrillTimeline = 300

// drillTimeline merges the drill's state changes, attacks, detections and
// announcements, newest first.
func drillTimeline(d *drill.Drill) []drillEvent {
	var out []drillEvent
	for _, c := range d.StateLog {
		out = append(out, drillEvent{At: c.At, Kind: "state", Who: c.By, What: fmt.Sprintf("%s → %s %s", c.From, c.To, c.Reason),
			Emergency: c.From == drill.StateRunning && c.To == drill.StatePaused})
	}
	for _, r := range d.Records {
		out = append(out, drillEvent{At: r.At, Kind: "attack", Who: r.Team, What: fmt.Sprintf("%s %s → %s: %s", r.Technique, r.From, r.Target, r.What), orderInDay: 1})
	}
	for _, o := range d.Observed {
		out = append(out, drillEvent{At: o.At, Kind: "detect", Who: o.By, What: fmt.Sprintf("%s %s %s %s", o.RecordID, o.Layer, o.Level, o.Note), orderInDay: 2})
	}
	for _, rp := range d.Reports {
		out = append(out, drillEvent{At: rp.At, Kind: "report", Who: rp.Team, What: fmt.Sprintf("%s: %s", rp.Kind, rp.Title), orderInDay: 3})
	}
	for _, a := range d.Announcements {
		to := string(a.To)
		if to == "" {
			to = "*"
		}
		out = append(out, drillEvent{At: a.At, Kind: "announce", Who: a.By, What: to + ": " + a.Text, orderInDay: 4})
	}
	slices.SortStableFunc(out, func(a, b drillEvent) int { return cmp.Or(b.At.Compare(a.At), cmp.Compare(b.orderInDay, a.orderInDay)) })
	return out[:min(len(out), maxDrillTimeline)]
}

func (s *server) drillView(w http.ResponseWriter, r *http.Request) error {
	v, err := s.drillPageView(r)
	if err != nil {
		return err
	}
	s.render(w, r, http.StatusOK, "drill", v)
	return nil
}

// drillAgain shows the drill page again with the error of a form, or
// returns the error when it is not the user's.
func (s *server) drillAgain(w http.ResponseWriter, r *http.Request, err error, form []string, fields []formField) error {
	v, verr := s.drillPageView(r)
	if verr != nil {
		return verr
	}
	for _, k := range form {
		v.Form[k] = r.PostFormValue(k)
	}
	status, ok := s.formError(r, err, &v.formState, fields)
	if !ok {
		return err
	}
	s.render(w, r, status, "drill", v)
	return nil
}

// drillDone redirects to the drill page, or shows the form's error.
func (s *server) drillDone(w http.ResponseWriter, r *http.Request, err error, flash string, form ...string) error {
	if err != nil {
		return s.drillAgain(w, r, err, form, nil)
	}
	redirect(w, r, drillBase(state(r).tenant)+"/"+chi.URLParam(r, "drill")+"?ok="+flash)
	return nil
}

// drillState starts, pauses (the emergency stop), resumes or finishes.
func (s *server) drillState(w http.ResponseWriter, r *http.Request) error {
	version, ok := atoi(r.PostFormValue("version"))
	if !ok {
		return errInvalid("version is not a number")
	}
	_, err := s.opts.Drills.Transition(r.Context(), state(r).tenant.ID, chi.URLParam(r, "drill"), version,
		drill.State(r.PostFormValue("to")), r.PostFormValue("reason"))
	return s.drillDone(w, r, err, "saved", "reason")
}

// drillCases plans library cases or the cases of a Navigator layer.
func (s *server) drillCases(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	var cases []drill.TestCase
	if r.MultipartForm != nil && len(r.MultipartForm.File["layer"]) > 0 {
		f, err := r.MultipartForm.File["layer"][0].Open()
		if err != nil {
			return err
		}
		plan, err := s.opts.Drills.CasesFromLayer(io.LimitReader(f, drill.MaxLayerBytes+1))
		_ = f.Close()
		if err != nil {
			return s.drillAgain(w, r, err, nil, nil)
		}
		cases = plan.Cases
	}
	d, err := s.opts.Drills.Get(ctx, state(r).tenant.ID, chi.URLParam(r, "drill"))
	if err != nil {
		return err
	}
	// Cases already planned are skipped, so a layer can be planned again.
	cases = slices.DeleteFunc(cases, func(c drill.TestCase) bool { _, dup := d.Case(c.ID); return dup })
	ids := slices.DeleteFunc(slices.Clone(r.PostForm["case"]), func(id string) bool { _, dup := d.Case(id); return dup })
	_, err = s.opts.Drills.AddCases(ctx, state(r).tenant.ID, d.ID, 0, cases, ids)
	return s.drillDone(w, r, err, "saved")
}

// drillRecord records an attack action.
func (s *server) drillRecord(w http.ResponseWriter, r *http.Request) error {
	form := []string{"team", "what", "technique", "case", "from", "host", "address", "asset", "at", "evidence", "achievement", "unit", "tenant"}
	at, err := formTime("at", r.PostFormValue("at"))
	if err != nil {
		return s.drillAgain(w, r, err, form, nil)
	}
	rec := drill.AttackRecord{Team: r.PostFormValue("team"), What: strings.TrimSpace(r.PostFormValue("what")), At: at,
		Technique: r.PostFormValue("technique"), CaseID: r.PostFormValue("case"), From: strings.TrimSpace(r.PostFormValue("from")),
		Target: drill.Target{Host: strings.TrimSpace(r.PostFormValue("host")), Address: strings.TrimSpace(r.PostFormValue("address")),
			AssetID: strings.TrimSpace(r.PostFormValue("asset"))},
		Evidence: drillLines(r.PostFormValue("evidence")), Achievement: drill.Achievement(r.PostFormValue("achievement")),
		Unit: strings.TrimSpace(r.PostFormValue("unit")), TenantID: r.PostFormValue("tenant"),
		Result: drill.Result{Foothold: r.PostFormValue("foothold") == "1", Privilege: r.PostFormValue("privilege") == "1",
			Data: r.PostFormValue("data") == "1"}}
	_, _, err = s.opts.Drills.RecordAttack(r.Context(), state(r).tenant.ID, chi.URLParam(r, "drill"), rec)
	return s.drillDone(w, r, err, "saved", form...)
}

// drillAnnounce posts an announcement to the teams.
func (s *server) drillAnnounce(w http.ResponseWriter, r *http.Request) error {
	_, err := s.opts.Drills.Announce(r.Context(), state(r).tenant.ID, chi.URLParam(r, "drill"), drill.Role(r.PostFormValue("to")),
		r.PostFormValue("text"))
	return s.drillDone(w, r, err, "saved", "text")
}

// drillConfirm accepts a proposed alert or incident link.
func (s *server) drillConfirm(w http.ResponseWriter, r *http.Request) error {
	responded, err := formTime("responded_at", r.PostFormValue("responded_at"))
	if err == nil {
		_, err = s.opts.Drills.Confirm(r.Context(), state(r).tenant.ID, chi.URLParam(r, "drill"), r.PostFormValue("record"),
			r.PostFormValue("alert"), responded)
	}
	return s.drillDone(w, r, err, "saved")
}

// drillObserve records what a defence layer did, confirmed by hand.
func (s *server) drillObserve(w http.ResponseWriter, r *http.Request) error {
	form := []string{"record", "layer", "level", "note", "at", "responded_at"}
	level, err := drill.ParseLevel(r.PostFormValue("level"))
	if err != nil {
		return s.drillAgain(w, r, fmt.Errorf("%w: %w", store.ErrInvalid, err), form, nil)
	}
	at, err := formTime("at", r.PostFormValue("at"))
	if err != nil {
		return s.drillAgain(w, r, err, form, nil)
	}
	responded, err := formTime("responded_at", r.PostFormValue("responded_at"))
	if err != nil {
		return s.drillAgain(w, r, err, form, nil)
	}
	_, err = s.opts.Drills.Observe(r.Context(), state(r).tenant.ID, chi.URLParam(r, "drill"), drill.Observation{
		RecordID: r.PostFormValue("record"), Layer: drill.Layer(r.PostFormValue("layer")), Level: level, At: at, RespondedAt: responded,
		Note: strings.TrimSpace(r.PostFormValue("note"))})
	return s.drillDone(w, r, err, "saved", form...)
}

// drillReport generates and archives the summary report.
func (s *server) drillReport(w http.ResponseWriter, r *http.Request) error {
	t := state(r).tenant
	format, lang, err := reportRequest(r)
	if err != nil {
		return err
	}
	rep, err := s.opts.Drills.Report(r.Context(), t.ID, chi.URLParam(r, "drill"), lang, format)
	if err != nil {
		return err
	}
	redirect(w, r, "/t/"+t.Slug+"/reports?ok=generated&report="+rep.ID)
	return nil
}

// drillLayer downloads the planned vs detected ATT&CK Navigator layer.
func (s *server) drillLayer(w http.ResponseWriter, r *http.Request) error {
	d, err := s.opts.Drills.Get(r.Context(), state(r).tenant.ID, chi.URLParam(r, "drill"))
	if err != nil {
		return err
	}
	b, err := drill.MarshalLayer(d.Layer())
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Disposition", `attachment; filename="drill-layer.json"`)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	_, _ = w.Write(b) // #nosec G705 -- a JSON attachment with nosniff: never rendered as a page; a write error means the client went away
	return nil
}

// Drill pages, continued: defender reports and the director's decision
// on them, evidence files of the drill and its attack records, and
// remediation work orders made from the summary's gaps.

// drillLang is the language remediation items are written in: the
// user's.
func drillLang(r *http.Request) string {
	if strings.HasPrefix(state(r).locale, "zh") {
		return "zh-CN"
	}
	return "en"
}

// drillExtras fills the reports, remediation and evidence parts of the
// drill page.
func (s *server) drillExtras(r *http.Request, d *exercise.Drill, scores *drill.Scores, v *drillPage) error {
	ctx := r.Context()
	t := state(r).tenant
	points := map[string]int{}
	for _, l := range scores.Lines {
		if l.Side == drill.RoleDefender && strings.HasPrefix(l.Item, "report_") {
			points[l.Ref] += l.Points
		}
	}
	for _, rp := range d.Reports {
		v.Reports = append(v.Reports, reportRow{DefenceReport: rp, Points: points[rp.ID]})
	}
	slices.SortStableFunc(v.Reports, func(a, b reportRow) int { return cmp.Or(b.At.Compare(a.At), cmp.Compare(a.ID, b.ID)) })
	v.ReportKinds = drill.ReportKinds()
	for _, tm := range d.Teams {
		if tm.Role == drill.RoleDefender {
			v.Defenders = append(v.Defenders, tm.Name)
		}
	}
	v.CanSubmit = v.CanTriage && d.State != drill.StatePlanned

	v.Remediation = d.RemediationRows(drillLang(r))
	if s.opts.Ops != nil {
		v.OrdersURL = opsBase(t) + "/orders/"
		v.CanRemediate = v.CanWrite
	}

	if s.opts.Attachments == nil || !s.opts.Drills.KeepsFiles() {
		return nil
	}
	v.HasFiles = true
	csrf := state(r).csrfToken()
	if !v.Shared { // the directing team's documents stay with the organiser
		files, err := s.opts.Drills.Files(ctx, t.ID, d.ID, "")
		if err != nil {
			return err
		}
		v.DrillFiles = attachmentsView{Files: files, Base: v.URL + "/files", Action: v.URL + "/files", Download: true,
			CanWrite: s.opts.Drills.MayAttach(ctx, d, ""), CSRF: csrf}
	}
	if id := r.URL.Query().Get("record"); id != "" {
		rec, ok := d.Record(id)
		if !ok {
			return nil
		}
		base := v.URL + "/records/" + url.PathEscape(rec.ID) + "/files"
		files, err := s.opts.Drills.Files(ctx, t.ID, d.ID, rec.ID)
		if err != nil {
			return err
		}
		v.Record = &rec
		v.RecordFiles = attachmentsView{Files: files, Base: base, Action: base, Download: true,
			CanWrite: s.opts.Drills.MayAttach(ctx, d, rec.ID), CSRF: csrf}
	}
	return nil
}

// drillReportSubmit stores a defender report.
func (s *server) drillReportSubmit(w http.ResponseWriter, r *http.Request) error {
	form := []string{"team", "kind", "title", "text", "record"}
	_, _, err := s.opts.Drills.SubmitReport(r.Context(), state(r).tenant.ID, chi.URLParam(r, "drill"), exercise.ReportInput{
		Team: r.PostFormValue("team"), Kind: drill.ReportKind(r.PostFormValue("kind")), Title: r.PostFormValue("title"),
		Text: r.PostFormValue("text"), RecordID: r.PostFormValue("record"), Related: r.PostForm["related"]})
	return s.drillDone(w, r, err, "saved", form...)
}

// drillReportDecide accepts or rejects a defender report.
func (s *server) drillReportDecide(w http.ResponseWriter, r *http.Request) error {
	_, err := s.opts.Drills.DecideReport(r.Context(), state(r).tenant.ID, chi.URLParam(r, "drill"), chi.URLParam(r, "report"),
		r.PostFormValue("accepted") == "1")
	return s.drillDone(w, r, err, "saved")
}

// drillRemediate makes the remediation work order of a gap and opens it.
func (s *server) drillRemediate(w http.ResponseWriter, r *http.Request) error {
	t := state(r).tenant
	o, err := s.opts.Drills.Remediate(r.Context(), t.ID, chi.URLParam(r, "drill"), r.PostFormValue("case"), drillLang(r))
	if err != nil {
		return s.drillAgain(w, r, err, nil, nil)
	}
	redirect(w, r, opsBase(t)+"/orders/"+url.PathEscape(o.ID))
	return nil
}

// drillFileBack is where a file form returns to: the drill page, showing
// the record's evidence when the file was a record's.
func drillFileBack(r *http.Request) string {
	u := drillBase(state(r).tenant) + "/" + url.PathEscape(chi.URLParam(r, "drill"))
	if rec := chi.URLParam(r, "record"); rec != "" {
		return u + "?record=" + url.QueryEscape(rec) + "#drill-evidence"
	}
	return u + "#drill-evidence"
}

// drillFileAdd keeps an uploaded evidence file.
func (s *server) drillFileAdd(w http.ResponseWriter, r *http.Request) error {
	in, closer, err := attachmentInput(r)
	if err != nil {
		return err
	}
	defer closer.Close()
	if _, err := s.opts.Drills.AddFile(r.Context(), state(r).tenant.ID, chi.URLParam(r, "drill"), chi.URLParam(r, "record"), in); err != nil {
		return err
	}
	redirect(w, r, drillFileBack(r))
	return nil
}

// drillFileGet downloads an evidence file, its SHA-256 checked.
func (s *server) drillFileGet(w http.ResponseWriter, r *http.Request) error {
	a, data, err := s.opts.Drills.OpenFile(r.Context(), state(r).tenant.ID, chi.URLParam(r, "drill"), chi.URLParam(r, "record"),
		chi.URLParam(r, "file"))
	if err != nil {
		return err
	}
	return serveAttachment(w, a, data)
}

// drillFileDelete removes an evidence file.
func (s *server) drillFileDelete(w http.ResponseWriter, r *http.Request) error {
	if err := s.opts.Drills.DeleteFile(r.Context(), state(r).tenant.ID, chi.URLParam(r, "drill"), chi.URLParam(r, "record"),
		chi.URLParam(r, "file")); err != nil {
		return err
	}
	redirect(w, r, drillFileBack(r))
	return nil
}
