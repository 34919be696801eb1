package web

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/vigil-sec/vigil/internal/archive"
	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/incident"
	"github.com/vigil-sec/vigil/internal/incident/playbook"
	"github.com/vigil-sec/vigil/internal/store"
)

// casePageSize is the number of cases per page.
const casePageSize = 50

func incidentsBase(t *store.Tenant) string { return "/t/" + t.Slug + "/incidents" }

// phaseColumn is one column of the case board.
type phaseColumn struct {
	Phase string
	Count int
	URL   string
	Cases []store.Incident
}

type incidentsPage struct {
	Base
	URL        string
	Phase, Q   string
	Severity   string
	Breached   bool
	Board      []phaseColumn
	Cases      []store.Incident
	Total      int
	Pager      pager
	Phases     []string
	Severities []string
	Categories []string
	CanWrite   bool
}

// incidentList is the case board and list of a tenant.
func (s *server) incidentList(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	t := state(r).tenant
	q := r.URL.Query()
	v := &incidentsPage{URL: incidentsBase(t), Phase: q.Get("phase"), Q: strings.TrimSpace(q.Get("q")), Severity: q.Get("severity"),
		Breached: q.Get("breached") == "1", Phases: incident.Phases(), Severities: incident.Severities(), Categories: incident.Categories(),
		CanWrite: auth.FromContext(ctx).Can(auth.PermIncidentWrite, t.ID)}
	if !slices.Contains(append(incident.Phases(), "closed"), v.Phase) {
		v.Phase = ""
	}
	if !slices.Contains(incident.Severities(), v.Severity) {
		v.Severity = ""
	}
	if len(v.Q) > 200 {
		v.Q = v.Q[:200]
	}
	// The board: open cases per phase, the most urgent first.
	for _, ph := range incident.Phases() {
		cs, n, err := s.opts.Incidents.List(ctx, t.ID, incident.Filter{Phases: []string{ph}, Page: store.Page{Limit: 8}})
		if err != nil {
			return err
		}
		v.Board = append(v.Board, phaseColumn{Phase: ph, Count: n, Cases: cs, URL: withQuery(v.URL, url.Values{"phase": {ph}})})
	}
	f := incident.Filter{Severity: v.Severity, Query: v.Q, Breached: v.Breached}
	if v.Phase != "" {
		f.Phases = []string{v.Phase}
	}
	pg := pageParam(q)
	f.Page = store.Page{Limit: casePageSize, Offset: (pg - 1) * casePageSize}
	list, total, err := s.opts.Incidents.List(ctx, t.ID, f)
	if err != nil {
		return err
	}
	v.Cases, v.Total = list, total
	v.Pager = newPager(total, pg, casePageSize, func(n int) string {
		return withQuery(v.URL, url.Values{"phase": {v.Phase}, "severity": {v.Severity}, "q": {v.Q}, "breached": {flag(v.Breached)},
			"page": {strconv.Itoa(n)}})
	})
	s.render(w, r, http.StatusOK, "incidents", v)
	return nil
}

func caseInput(r *http.Request) incident.Input {
	return incident.Input{Title: r.PostFormValue("title"), Description: r.PostFormValue("description"),
		Severity: r.PostFormValue("severity"), Category: r.PostFormValue("category"), TLP: r.PostFormValue("tlp"),
		PAP: r.PostFormValue("pap")}
}

// incidentCreate opens a case by hand.
func (s *server) incidentCreate(w http.ResponseWriter, r *http.Request) error {
	t := state(r).tenant
	c, err := s.opts.Incidents.Create(r.Context(), t.ID, caseInput(r))
	if err != nil {
		return err
	}
	redirect(w, r, incidentsBase(t)+"/"+c.ID+"?ok=created")
	return nil
}

// alertPromote turns the selected alerts into a new case, or adds them to
// the case named by its reference.
func (s *server) alertPromote(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	t := state(r).tenant
	ids := r.PostForm["id"]
	if len(ids) == 0 {
		return store.NewFieldError("id", store.CodeRequired, nil, "select at least one alert")
	}
	var c store.Incident
	var err error
	if ref := strings.TrimSpace(r.PostFormValue("case")); ref != "" {
		c, err = s.caseByRef(r, ref)
		if err == nil {
			c, err = s.opts.Incidents.Merge(ctx, t.ID, c.ID, ids)
		}
	} else {
		c, err = s.opts.Incidents.Promote(ctx, t.ID, ids, incident.Input{Title: strings.TrimSpace(r.PostFormValue("title"))})
	}
	if err != nil {
		return err
	}
	redirect(w, r, incidentsBase(t)+"/"+c.ID+"?ok=saved")
	return nil
}

// caseByRef finds a case by its reference ("IR-2026-0042") or ID.
func (s *server) caseByRef(r *http.Request, ref string) (store.Incident, error) {
	t := state(r).tenant
	if c, err := s.opts.Incidents.Get(r.Context(), t.ID, ref); err == nil {
		return c, nil
	}
	cs, _, err := s.opts.Incidents.List(r.Context(), t.ID, incident.Filter{Query: ref, Page: store.Page{Limit: 5}})
	if err != nil {
		return store.Incident{}, err
	}
	for _, c := range cs {
		if strings.EqualFold(c.Ref, ref) {
			return c, nil
		}
	}
	return store.Incident{}, store.NewFieldError("case", store.CodeNotInTenant, nil, "no case %q in this tenant", ref)
}

type incidentPage struct {
	Base
	URL          string
	C            store.Incident
	Timers       []incident.Timer
	Alerts       []store.Alert
	Tasks        []store.IncidentTask
	Observables  []store.IncidentObservable
	Sightings    map[string]int
	Evidence     []store.IncidentEvidence
	Timeline     []incident.Item
	Playbooks    []playbook.Playbook
	Next         []string // phases the case may move to
	Phases       []string
	Resolutions  []string
	ObsTypes     []string
	TaskStatuses []string
	Sections     []reportSection
	CanWrite     bool
	CanEvidence  bool
	Now          time.Time
}

// reportSection is one editable section of the IR report.
type reportSection struct {
	Key, Text string
}

// reportSectionKeys are the analyst-written sections of the IR report.
func reportSectionKeys() []string {
	return []string{"summary", "impact", "root_cause", "recommendations"}
}

func (s *server) incidentView(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	t := state(r).tenant
	c, err := s.opts.Incidents.Get(ctx, t.ID, chi.URLParam(r, "case"))
	if err != nil {
		return err
	}
	p := auth.FromContext(ctx)
	now := time.Now().UTC()
	v := &incidentPage{URL: incidentsBase(t) + "/" + c.ID, C: c, Timers: incident.Timers(c, now), Phases: incident.Phases(),
		Resolutions: incident.Resolutions(), ObsTypes: incident.ObservableTypes(), TaskStatuses: incident.TaskStatuses(), Playbooks: s.opts.Incidents.Playbooks(),
		CanWrite: p.Can(auth.PermIncidentWrite, t.ID), Now: now, Sightings: map[string]int{}}
	v.CanEvidence = v.CanWrite
	for _, ph := range incident.Phases() {
		if ph != c.Phase && incident.CheckTransition(c.Phase, ph, "x") == nil {
			v.Next = append(v.Next, ph)
		}
	}
	if v.Alerts, err = s.opts.Incidents.Alerts(ctx, t.ID, c.ID); err != nil {
		return err
	}
	if v.Tasks, err = s.opts.Incidents.Tasks(ctx, t.ID, c.ID); err != nil {
		return err
	}
	sights, err := s.opts.Incidents.Sightings(ctx, t.ID, c.ID)
	if err != nil {
		return err
	}
	for _, sg := range sights {
		v.Sightings[sg.Observable.ID] = len(sg.Others)
	}
	if v.Observables, err = s.opts.Incidents.Observables(ctx, t.ID, c.ID); err != nil {
		return err
	}
	if v.Evidence, err = s.opts.Incidents.Evidence(ctx, t.ID, c.ID); err != nil {
		return err
	}
	if v.Timeline, err = s.opts.Incidents.Timeline(ctx, t.ID, c.ID); err != nil {
		return err
	}
	for _, k := range reportSectionKeys() {
		v.Sections = append(v.Sections, reportSection{Key: k, Text: c.ReportSections[k]})
	}
	s.render(w, r, http.StatusOK, "incident", v)
	return nil
}

// caseForm loads the case a form posts to and its version.
func (s *server) caseForm(r *http.Request) (store.Incident, int, error) {
	c, err := s.opts.Incidents.Get(r.Context(), state(r).tenant.ID, chi.URLParam(r, "case"))
	if err != nil {
		return c, 0, err
	}
	version := c.Version
	if v, err := strconv.Atoi(r.PostFormValue("version")); err == nil {
		version = v
	}
	return c, version, nil
}

// incidentAction handles the small forms of the case page.
func (s *server) incidentAction(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	t := state(r).tenant
	c, version, err := s.caseForm(r)
	if err != nil {
		return err
	}
	svc := s.opts.Incidents
	reason := r.PostFormValue("reason")
	switch chi.URLParam(r, "action") {
	case "phase":
		_, err = svc.SetPhase(ctx, t.ID, c.ID, version, r.PostFormValue("phase"), reason)
	case "close":
		_, err = svc.Close(ctx, t.ID, c.ID, version, r.PostFormValue("resolution"), reason)
	case "reopen":
		_, err = svc.Reopen(ctx, t.ID, c.ID, version, r.PostFormValue("phase"), reason)
	case "ack":
		_, err = svc.Acknowledge(ctx, t.ID, c.ID)
	case "note":
		at := time.Now().UTC()
		if v := r.PostFormValue("at"); v != "" {
			if at, err = time.Parse("2006-01-02T15:04", v); err != nil {
				return store.NewFieldError("at", store.CodeInvalidDate, nil, "the time of the fact is not a date and time")
			}
		}
		_, err = svc.AddNote(ctx, t.ID, c.ID, at, r.PostFormValue("text"))
	case "playbook":
		_, err = svc.ApplyPlaybook(ctx, t.ID, c.ID, r.PostFormValue("playbook"))
	case "task":
		_, err = svc.CreateTask(ctx, t.ID, c.ID, incident.TaskInput{Title: r.PostFormValue("title"), Phase: r.PostFormValue("phase")})
	case "observable":
		_, err = svc.AddObservables(ctx, t.ID, c.ID, []incident.ObservableInput{{Type: r.PostFormValue("type"),
			Value: r.PostFormValue("value"), IOC: r.PostFormValue("ioc") == "1", Description: r.PostFormValue("description")}})
	case "report":
		sections := map[string]string{}
		for _, k := range reportSectionKeys() {
			sections[k] = r.PostFormValue(k)
		}
		_, err = svc.EditReport(ctx, t.ID, c.ID, version, sections)
	case "finalise":
		_, err = svc.FinaliseReport(ctx, t.ID, c.ID, version)
	default:
		return store.ErrNotFound
	}
	if err != nil {
		return err
	}
	redirect(w, r, incidentsBase(t)+"/"+c.ID+"?ok=saved")
	return nil
}

// incidentTask changes a task's status or adds a log line to it.
func (s *server) incidentTask(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	t := state(r).tenant
	c, _, err := s.caseForm(r)
	if err != nil {
		return err
	}
	tasks, err := s.opts.Incidents.Tasks(ctx, t.ID, c.ID)
	if err != nil {
		return err
	}
	i := slices.IndexFunc(tasks, func(x store.IncidentTask) bool { return x.ID == chi.URLParam(r, "task") })
	if i < 0 {
		return store.ErrNotFound
	}
	task := tasks[i]
	if text := strings.TrimSpace(r.PostFormValue("log")); text != "" {
		if _, err := s.opts.Incidents.AddTaskLog(ctx, t.ID, task.ID, text); err != nil {
			return err
		}
	}
	if st := r.PostFormValue("status"); st != "" && st != task.Status {
		in := incident.TaskInput{Title: task.Title, Description: task.Description, Phase: task.Phase, Owner: task.Owner,
			Status: st, DueAt: task.DueAt, Checklist: task.Checklist}
		if _, err := s.opts.Incidents.UpdateTask(ctx, t.ID, task.ID, in); err != nil {
			return err
		}
	}
	redirect(w, r, incidentsBase(t)+"/"+c.ID+"?ok=saved#tasks")
	return nil
}

// incidentEvidenceAdd stores an uploaded evidence file.
func (s *server) incidentEvidenceAdd(w http.ResponseWriter, r *http.Request) error {
	t := state(r).tenant
	c, _, err := s.caseForm(r)
	if err != nil {
		return err
	}
	if r.MultipartForm == nil || len(r.MultipartForm.File["file"]) == 0 {
		return store.NewFieldError("file", store.CodeRequired, nil, "choose a file")
	}
	fh := r.MultipartForm.File["file"][0]
	f, err := fh.Open()
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := s.opts.Incidents.AddEvidence(r.Context(), t.ID, c.ID, incident.EvidenceInput{Name: fh.Filename,
		DeclaredType: fh.Header.Get("Content-Type"), Description: r.PostFormValue("description"), Content: f}); err != nil {
		return err
	}
	redirect(w, r, incidentsBase(t)+"/"+c.ID+"?ok=saved#evidence")
	return nil
}

// incidentEvidenceGet serves an evidence file as an attachment after its
// hash is verified; only incident writers may have it.
func (s *server) incidentEvidenceGet(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	t := state(r).tenant
	allowed := auth.FromContext(ctx).Can(auth.PermIncidentWrite, t.ID)
	ev, data, err := s.opts.Incidents.Download(ctx, t.ID, chi.URLParam(r, "evidence"), allowed)
	if err != nil {
		if errors.Is(err, incident.ErrTampered) {
			return store.NewFieldError("evidence", store.CodeInvalidConfig, nil, "the stored file no longer matches its SHA-256: it was changed after upload")
		}
		return err
	}
	if ev.CaseID != chi.URLParam(r, "case") {
		return store.ErrNotFound
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Disposition", `attachment; filename="evidence-`+ev.SHA256[:12]+`.bin"`)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("X-Evidence-SHA256", ev.SHA256)
	_, err = w.Write(data) // #nosec G705 -- an attachment of type application/octet-stream with nosniff: never rendered as a page
	return err
}

// incidentReport renders the IR report and archives it.
func (s *server) incidentReport(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	t := state(r).tenant
	c, _, err := s.caseForm(r)
	if err != nil {
		return err
	}
	format, lang, err := reportRequest(r)
	if err != nil {
		return err
	}
	doc, err := s.opts.Incidents.Report(ctx, t.ID, c.ID, lang)
	if err != nil {
		return err
	}
	return s.archiveReport(w, r, t, archive.Request{Service: "incident-response", Kind: "incident",
		SourceID: c.ID, Format: format, Doc: doc})
}
