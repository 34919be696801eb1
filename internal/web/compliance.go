package web

import (
	"bytes"
	"net/http"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/vigil-sec/vigil/internal/archive"
	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/compliance"
	"github.com/vigil-sec/vigil/internal/compliance/project"
	"github.com/vigil-sec/vigil/internal/store"
)

// projectPageSize is the number of assessment projects per page.
const projectPageSize = 50

// mlpsBase is the MLPS service area of a tenant: its project list.
func mlpsBase(t *store.Tenant) string { return "/t/" + t.Slug + "/compliance/mlps" }

type assessmentsPage struct {
	Base
	URL      string
	Projects []store.AssessmentProject
	Pager    pager
	Levels   []int
	CanWrite bool
}

// assessmentList lists the tenant's MLPS assessment projects with the form
// to open one. The route needs tenant.read, like the other service areas;
// the list itself needs assessment.read.
func (s *server) assessmentList(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	t := state(r).tenant
	if !auth.FromContext(ctx).Can(auth.PermAssessRead, t.ID) {
		// Roles without assessment access (customers) keep the service's
		// description and their subscription.
		for _, a := range s.areas {
			if a.Key == "mlps" {
				return s.comingSoon(a)(w, r)
			}
		}
		return auth.ErrForbidden
	}
	pg := pageParam(r.URL.Query())
	// One more than a page tells whether a next page exists.
	ps, err := s.opts.Assessments.List(ctx, t.ID, store.Page{Limit: projectPageSize + 1, Offset: (pg - 1) * projectPageSize})
	if err != nil {
		return err
	}
	v := &assessmentsPage{URL: mlpsBase(t), Levels: project.Levels(), CanWrite: auth.FromContext(ctx).Can(auth.PermAssessWrite, t.ID)}
	total := (pg-1)*projectPageSize + len(ps)
	if len(ps) > projectPageSize {
		ps = ps[:projectPageSize]
	}
	v.Projects = ps
	v.Pager = newPager(total, pg, projectPageSize, func(n int) string { return v.URL + "?page=" + strconv.Itoa(n) })
	s.render(w, r, http.StatusOK, "assessments", v)
	return nil
}

// assessmentCreate opens a project.
func (s *server) assessmentCreate(w http.ResponseWriter, r *http.Request) error {
	t := state(r).tenant
	level, err := strconv.Atoi(r.PostFormValue("level"))
	if err != nil {
		return store.NewFieldError("level", store.CodeOneOf, map[string]any{"allowed": []string{"2", "3"}}, "the level must be 2 or 3")
	}
	p, err := s.opts.Assessments.Create(r.Context(), t.ID, project.ProjectInput{Name: r.PostFormValue("name"),
		System: r.PostFormValue("system"), Level: level, Agency: r.PostFormValue("agency")})
	if err != nil {
		return err
	}
	redirect(w, r, mlpsBase(t)+"/"+p.ID+"?ok=created")
	return nil
}

// assessItem is a requirement item with its recorded results.
type assessItem struct {
	Node    *compliance.Node
	Results []store.AssessmentItem
}

// assessPoint is a control point with its score and items.
type assessPoint struct {
	Node  *compliance.Node
	Score *compliance.GroupScore
	Items []assessItem
}

// assessCategory is a category (安全类) with its score and control points.
type assessCategory struct {
	Node   *compliance.Node
	Score  *compliance.GroupScore
	Points []assessPoint
	Open   bool // holds the item being edited
}

type assessmentPage struct {
	Base
	URL        string
	P          store.AssessmentProject
	Framework  *compliance.Framework
	Card       compliance.Scorecard
	Categories []assessCategory
	Assessed   int // item results recorded
	Items      int // requirement items of the framework
	Phases     []string
	Results    []string
	// Activity is the current phase's GB/T 28449-2018 tasks and outputs.
	Activity *compliance.PhaseTemplate
	// Edit is the item whose result form is open (?item=), "" for none:
	// one form at a time keeps a level-3 page small.
	Edit     string
	CanWrite bool
	// Coverage counts the recorded results with evidence; Files are the
	// evidence files of the item being edited.
	Coverage project.Coverage
	Files    attachmentsView
	// Scope is the assets the project covers and Assets the tenant's
	// assets to choose from; Log is the communication log.
	Scope      []store.Asset
	Assets     []store.Asset
	InScope    map[string]bool
	ScopeInfo  project.ScopeSummary // the scope against the tenant's assets
	Log        []store.ProjectCommunication
	LogKinds   []string
	HasAttach  bool
	Remediated string // URL of the project's remediation items
	// ObjectNames maps asset IDs (objects bound to assets) to names.
	ObjectNames map[string]string
}

// assessmentView is a project: score, conclusion, phase and every item.
func (s *server) assessmentView(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	t := state(r).tenant
	a, err := s.opts.Assessments.Assess(ctx, t.ID, chi.URLParam(r, "project"))
	if err != nil {
		return err
	}
	v := &assessmentPage{URL: mlpsBase(t) + "/" + a.Project.ID, P: a.Project, Framework: a.Framework, Card: *a.Card,
		Assessed: len(a.Items), Items: len(a.Framework.Requirements()), Phases: project.Phases(), Results: project.Results(),
		CanWrite: auth.FromContext(ctx).Can(auth.PermAssessWrite, t.ID), Activity: s.opts.Assessments.Activity(a.Project.Phase)}
	if n := a.Framework.Node(r.URL.Query().Get("item")); n != nil && n.Assessable && v.CanWrite {
		v.Edit = n.ID
	}
	scores := map[string]*compliance.GroupScore{}
	for i := range a.Card.Categories {
		scores[a.Card.Categories[i].ID] = &a.Card.Categories[i]
	}
	for i := range a.Card.ControlPoints {
		scores[a.Card.ControlPoints[i].ID] = &a.Card.ControlPoints[i]
	}
	results := map[string][]store.AssessmentItem{}
	for _, it := range a.Items {
		results[it.Item] = append(results[it.Item], it)
	}
	for _, cat := range a.Framework.Nodes {
		c := assessCategory{Node: cat, Score: scores[cat.ID]}
		for _, cp := range cat.Children {
			p := assessPoint{Node: cp, Score: scores[cp.ID]}
			for _, n := range cp.Children {
				if n.Assessable {
					p.Items = append(p.Items, assessItem{Node: n, Results: results[n.ID]})
					c.Open = c.Open || n.ID == v.Edit
				}
			}
			if cp.Assessable { // an item directly under its category
				p.Items = append(p.Items, assessItem{Node: cp, Results: results[cp.ID]})
				c.Open = c.Open || cp.ID == v.Edit
			}
			c.Points = append(c.Points, p)
		}
		v.Categories = append(v.Categories, c)
	}
	if err := s.assessmentExtras(r, a, v); err != nil {
		return err
	}
	if v.ObjectNames, err = s.opts.Assessments.ObjectNames(ctx, t.ID); err != nil {
		return err
	}
	s.render(w, r, http.StatusOK, "assessment", v)
	return nil
}

// assessmentItem records the result of one item on one object.
func (s *server) assessmentItem(w http.ResponseWriter, r *http.Request) error {
	t := state(r).tenant
	id := chi.URLParam(r, "project")
	in := project.ItemInput{Item: r.PostFormValue("item"), Object: r.PostFormValue("object"), Asset: r.PostFormValue("asset"), Result: r.PostFormValue("result"),
		HighRisk: r.PostFormValue("high_risk") == "1", Resolved: r.PostFormValue("resolved") == "1",
		Compensation: r.PostFormValue("compensation"), Evidence: r.PostFormValue("evidence"), Note: r.PostFormValue("note"),
		Remediation: r.PostFormValue("remediation"), Links: strings.Split(r.PostFormValue("links"), "\n")}
	if adj := strings.TrimSpace(r.PostFormValue("adjustment")); adj != "" {
		f, err := strconv.ParseFloat(adj, 64)
		if err != nil {
			return store.NewFieldError("adjustment", store.CodeOutOfRange, map[string]any{"min": 0, "max": 1},
				"the adjustment of a compensating measure is between 0 and 1")
		}
		in.Adjustment = f
	}
	it, err := s.opts.Assessments.SetItem(r.Context(), t.ID, id, in)
	if err != nil {
		return err
	}
	redirect(w, r, mlpsBase(t)+"/"+id+"?ok=saved#"+anchorOf(it.Item))
	return nil
}

// anchorOf is the fragment of an item on the project page.
func anchorOf(item string) string { return "item-" + item }

// assessmentClear removes the result of one item on one object.
func (s *server) assessmentClear(w http.ResponseWriter, r *http.Request) error {
	t := state(r).tenant
	id := chi.URLParam(r, "project")
	item := r.PostFormValue("item")
	if err := s.opts.Assessments.ClearItem(r.Context(), t.ID, id, item, r.PostFormValue("object")); err != nil {
		return err
	}
	redirect(w, r, mlpsBase(t)+"/"+id+"?ok=deleted")
	return nil
}

// assessmentPhase moves a project to another phase.
func (s *server) assessmentPhase(w http.ResponseWriter, r *http.Request) error {
	t := state(r).tenant
	version, err := strconv.Atoi(r.PostFormValue("version"))
	if err != nil {
		return errInvalid("the form is missing the project version; reload the page")
	}
	p, err := s.opts.Assessments.SetPhase(r.Context(), t.ID, chi.URLParam(r, "project"), r.PostFormValue("phase"), version)
	if err != nil {
		return err
	}
	redirect(w, r, mlpsBase(t)+"/"+p.ID+"?ok=saved")
	return nil
}

// assessmentReport renders the assessment report and archives it.
func (s *server) assessmentReport(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	t := state(r).tenant
	id := chi.URLParam(r, "project")
	format, lang, err := reportRequest(r)
	if err != nil {
		return err
	}
	doc, err := s.opts.Assessments.Report(ctx, t.ID, id, lang)
	if err != nil {
		return err
	}
	return s.archiveReport(w, r, t, archive.Request{Service: "mlps", Kind: "mlps-assessment",
		SourceID: id, Format: format, Doc: doc})
}

// assessmentExport downloads every item of a project as a workbook.
func (s *server) assessmentExport(w http.ResponseWriter, r *http.Request) error {
	t := state(r).tenant
	id := chi.URLParam(r, "project")
	var buf bytes.Buffer
	if err := s.opts.Assessments.ExportXLSX(r.Context(), t.ID, id, &buf); err != nil {
		return err
	}
	w.Header().Set("Content-Type", archive.ContentType("xlsx"))
	w.Header().Set("Content-Disposition", `attachment; filename="mlps-items.xlsx"`)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	_, err := w.Write(buf.Bytes()) // #nosec G705 -- an XLSX attachment with nosniff: never rendered as a page
	return err
}

// assessmentImport reads item results from an uploaded workbook.
func (s *server) assessmentImport(w http.ResponseWriter, r *http.Request) error {
	t := state(r).tenant
	id := chi.URLParam(r, "project")
	if r.MultipartForm == nil || len(r.MultipartForm.File["file"]) == 0 {
		return store.NewFieldError("file", store.CodeRequired, nil, "choose a workbook")
	}
	f, err := r.MultipartForm.File["file"][0].Open()
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := s.opts.Assessments.ImportXLSX(r.Context(), t.ID, id, f); err != nil {
		return err
	}
	redirect(w, r, mlpsBase(t)+"/"+id+"?ok=imported")
	return nil
}
