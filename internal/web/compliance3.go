package web

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/compliance"
	"github.com/vigil-sec/vigil/internal/compliance/project"
	"github.com/vigil-sec/vigil/internal/compliance/register"
	"github.com/vigil-sec/vigil/internal/compliance/risk"
	"github.com/vigil-sec/vigil/internal/store"
)

// Editing one risk register entry, evidence per assessed object, the
// standards library and compliance inspections.

// registerCompliance3 adds the pages when assessment projects are
// configured.
func (s *server) registerCompliance3(t string) {
	if s.opts.Assessments == nil {
		return
	}
	get, post := http.MethodGet, http.MethodPost
	read, write := inTenant(auth.PermAssessRead), inTenant(auth.PermAssessWrite)
	rk := t + "/compliance/risk-assessment/{risk}/entries/{scenario}"
	s.handle(get, rk, write, s.riskEntryForm)
	s.handle(post, rk, write, s.riskEntrySave)
	obj := t + "/compliance/mlps/{project}/objects"
	s.handle(get, obj, read, s.assessmentObjects)
	s.handle(post, obj+"/{asset}/evidence", write, s.objectEvidenceUpload)
	s.handle(get, obj+"/{asset}/evidence/{requirement}/{objfile}", read, s.objectEvidenceDownload)
	s.handle(post, obj+"/{asset}/evidence/{requirement}/{objfile}/delete", write, s.objectEvidenceDelete)
	std := t + "/compliance/standards"
	s.handle(get, std, read, s.standardsList)
	s.handle(get, std+"/{framework}", read, s.standardView)
	s.registerInspections(t)
}

// ---- one register entry ----

type riskEntryPage struct {
	Base
	URL        string // the risk assessment
	Action     string
	Meta       store.RiskAssessment
	Scenario   string
	Eval       risk.Evaluation
	Asset      risk.Asset
	Threat     risk.Threat
	Vuln       risk.Vulnerability
	Decision   risk.Decision // zero when undecided
	Input      risk.Assessment
	Treatments []string
	Due        string
}

// riskEntryForm shows the form that edits one register entry.
func (s *server) riskEntryForm(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	t := state(r).tenant
	reg, err := s.opts.Assessments.Register().Risk(ctx, t.ID, chi.URLParam(r, "risk"))
	if err != nil {
		return err
	}
	sc := chi.URLParam(r, "scenario")
	v := &riskEntryPage{URL: riskBase(t) + "/" + reg.Meta.ID, Meta: reg.Meta, Input: *reg.Input, Treatments: register.Treatments()}
	found := false
	for _, e := range reg.Result.Register {
		if e.Scenario.ID == sc && e.Asset != nil && e.Threat != nil && e.Vulnerability != nil {
			v.Scenario, v.Eval, v.Asset, v.Threat, v.Vuln, found = sc, e.Eval, *e.Asset, *e.Threat, *e.Vulnerability, true
			if e.Decision != nil {
				v.Decision = *e.Decision
			}
		}
	}
	if !found {
		return store.ErrNotFound
	}
	v.Action = v.URL + "/entries/" + url.PathEscape(sc)
	if !v.Decision.Due.IsZero() {
		v.Due = v.Decision.Due.Format("2006-01-02")
	}
	s.render(w, r, http.StatusOK, "compliance3_entry", v)
	return nil
}

// riskEntrySave writes one register entry; the engine recomputes it.
func (s *server) riskEntrySave(w http.ResponseWriter, r *http.Request) error {
	t := state(r).tenant
	id, sc := chi.URLParam(r, "risk"), chi.URLParam(r, "scenario")
	version, err := strconv.Atoi(r.PostFormValue("version"))
	if err != nil {
		return errInvalid("the form is missing the assessment version; reload the page")
	}
	var nums [5]int
	for i, f := range []string{"frequency", "severity", "c", "i", "a"} {
		if nums[i], err = formInt(r, f); err != nil {
			return err
		}
	}
	due, err := formDay(r, "due")
	if err != nil {
		return err
	}
	_, err = s.opts.Assessments.Register().EditEntry(r.Context(), t.ID, id, version, sc, register.EntryEdit{
		Threat: r.PostFormValue("threat"), Vulnerability: r.PostFormValue("vulnerability"), Asset: r.PostFormValue("asset"),
		Frequency: nums[0], Severity: nums[1], C: nums[2], I: nums[3], A: nums[4],
		Treatment: risk.Treatment(r.PostFormValue("treatment")), Owner: r.PostFormValue("owner"), Due: due, Measure: r.PostFormValue("measure")})
	if err != nil {
		return err
	}
	redirect(w, r, riskBase(t)+"/"+id+"?ok=saved#risk-"+url.PathEscape(sc))
	return nil
}

// ---- evidence per assessed object ----

type objectRow struct {
	Node    *compliance.Node
	Results []store.AssessmentItem
	Files   attachmentsView
}

type assessmentObjectsPage struct {
	Base
	URL      string // the project
	P        store.AssessmentProject
	Coverage []project.ObjectCoverage
	Scope    project.ScopeSummary
	// Asset is the object whose items are shown (?asset=), nil for none.
	Asset    *store.Asset
	Rows     []objectRow
	Items    []*compliance.Node // items offered in the upload form
	CanWrite bool
	Action   string
}

// assessmentObjects shows the evidence coverage of each asset of the scope
// and, for one asset, its results and evidence files per item.
func (s *server) assessmentObjects(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	t := state(r).tenant
	a, err := s.opts.Assessments.Assess(ctx, t.ID, chi.URLParam(r, "project"))
	if err != nil {
		return err
	}
	scope, err := s.opts.Assessments.Scope(ctx, t.ID, a.Project.ID)
	if err != nil {
		return err
	}
	v := &assessmentObjectsPage{URL: mlpsBase(t) + "/" + a.Project.ID, P: a.Project,
		CanWrite: auth.FromContext(ctx).Can(auth.PermAssessWrite, t.ID) && s.opts.Attachments != nil}
	if v.Coverage, err = s.opts.Assessments.CoverageByObject(ctx, a, scope); err != nil {
		return err
	}
	if v.Scope, err = s.opts.Assessments.SummarizeScope(ctx, t.ID, scope); err != nil {
		return err
	}
	want := r.URL.Query().Get("asset")
	for i := range v.Coverage {
		if v.Coverage[i].Asset.ID == want {
			v.Asset = &v.Coverage[i].Asset
		}
	}
	if v.Asset != nil {
		v.Action = v.URL + "/objects/" + url.PathEscape(v.Asset.ID) + "/evidence"
		byItem := map[string][]store.AssessmentItem{}
		for _, it := range a.Items {
			if it.Object != "" && (it.Object == v.Asset.ID || it.Object == v.Asset.Name) {
				byItem[it.Item] = append(byItem[it.Item], it)
			}
		}
		var cov project.ObjectCoverage
		for _, c := range v.Coverage {
			if c.Asset.ID == v.Asset.ID {
				cov = c
			}
		}
		for _, n := range a.Framework.Requirements() {
			v.Items = append(v.Items, n)
			if len(byItem[n.ID]) == 0 && cov.ItemFiles[n.ID] == 0 {
				continue
			}
			row := objectRow{Node: n, Results: byItem[n.ID]}
			if s.opts.Attachments != nil && cov.ItemFiles[n.ID] > 0 {
				owner, err := s.opts.Assessments.ObjectEvidenceOwner(ctx, t.ID, a.Project.ID, n.ID, v.Asset.ID)
				if err != nil {
					return err
				}
				files, err := s.opts.Attachments.List(ctx, auth.PermAssessRead, owner)
				if err != nil {
					return err
				}
				row.Files = attachmentsView{Files: files, Base: v.Action + "/" + url.PathEscape(n.ID), Download: true}
			}
			v.Rows = append(v.Rows, row)
		}
	}
	s.render(w, r, http.StatusOK, "compliance3_objects", v)
	return nil
}

// objectEvidenceUpload attaches a file to an item for one asset.
func (s *server) objectEvidenceUpload(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	t := state(r).tenant
	if s.opts.Attachments == nil {
		return store.ErrNotFound
	}
	id, assetID := chi.URLParam(r, "project"), chi.URLParam(r, "asset")
	item := strings.TrimSpace(r.PostFormValue("item"))
	owner, err := s.opts.Assessments.ObjectEvidenceOwner(ctx, t.ID, id, item, assetID)
	if err != nil {
		return err
	}
	in, closer, err := attachmentInput(r)
	if err != nil {
		return err
	}
	defer closer.Close()
	if _, err := s.opts.Attachments.Add(ctx, auth.PermAssessWrite, owner, in); err != nil {
		return err
	}
	redirect(w, r, mlpsBase(t)+"/"+id+"/objects?"+url.Values{"asset": {assetID}, "ok": {"saved"}}.Encode())
	return nil
}

// objectEvidenceDownload sends an evidence file of an asset as a download.
func (s *server) objectEvidenceDownload(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	t := state(r).tenant
	if s.opts.Attachments == nil {
		return store.ErrNotFound
	}
	owner, err := s.opts.Assessments.ObjectEvidenceOwner(ctx, t.ID, chi.URLParam(r, "project"), chi.URLParam(r, "requirement"), chi.URLParam(r, "asset"))
	if err != nil {
		return err
	}
	a, data, err := s.opts.Attachments.Open(ctx, auth.PermAssessRead, owner, chi.URLParam(r, "objfile"))
	if err != nil {
		return err
	}
	return serveAttachment(w, a, data)
}

// objectEvidenceDelete removes an evidence file of an asset.
func (s *server) objectEvidenceDelete(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	t := state(r).tenant
	if s.opts.Attachments == nil {
		return store.ErrNotFound
	}
	id, assetID := chi.URLParam(r, "project"), chi.URLParam(r, "asset")
	owner, err := s.opts.Assessments.ObjectEvidenceOwner(ctx, t.ID, id, chi.URLParam(r, "requirement"), assetID)
	if err != nil {
		return err
	}
	if err := s.opts.Attachments.Delete(ctx, auth.PermAssessWrite, owner, chi.URLParam(r, "objfile")); err != nil {
		return err
	}
	redirect(w, r, mlpsBase(t)+"/"+id+"/objects?"+url.Values{"asset": {assetID}, "ok": {"deleted"}}.Encode())
	return nil
}

// ---- standards library ----

// maxLibraryRows bounds the nodes one library page lists.
const maxLibraryRows = 500

type standardsPage struct {
	Base
	URL        string
	Frameworks []libraryFramework
}

type libraryFramework struct {
	F      *compliance.Framework
	Counts compliance.Counts
}

// standardsBase is the standards library of a tenant.
func standardsBase(t *store.Tenant) string { return "/t/" + t.Slug + "/compliance/standards" }

// standardsList lists the frameworks Vigil knows.
func (s *server) standardsList(w http.ResponseWriter, r *http.Request) error {
	t := state(r).tenant
	cat, err := s.opts.Assessments.Library(r.Context(), t.ID)
	if err != nil {
		return err
	}
	v := &standardsPage{URL: standardsBase(t)}
	for _, id := range cat.IDs() {
		f := cat.Framework(id)
		v.Frameworks = append(v.Frameworks, libraryFramework{F: f, Counts: f.Count()})
	}
	s.render(w, r, http.StatusOK, "compliance3_library", v)
	return nil
}

type standardPage struct {
	Base
	URL     string
	F       compliance.Framework
	Counts  compliance.Counts
	Query   string
	Rows    []libraryRow
	Total   int
	Limited bool
}

type libraryRow struct {
	compliance.LibraryRow
	Mapped []compliance.Ref // targets of the node's mapping
	Checks []compliance.BaselineCheck
	From   []compliance.Ref // items mapped to the node
}

// standardView lists the controls of one framework, searchable with ?q=.
func (s *server) standardView(w http.ResponseWriter, r *http.Request) error {
	t := state(r).tenant
	cat, err := s.opts.Assessments.Library(r.Context(), t.ID)
	if err != nil {
		return err
	}
	f := cat.Framework(chi.URLParam(r, "framework"))
	if f == nil {
		return store.ErrNotFound
	}
	q := r.URL.Query().Get("q")
	v := &standardPage{URL: standardsBase(t) + "/" + url.PathEscape(f.ID), F: *f, Counts: f.Count(), Query: q}
	rows, total := f.Search(q, maxLibraryRows)
	v.Total, v.Limited = total, total > len(rows)
	for _, row := range rows {
		lr := libraryRow{LibraryRow: row}
		ref := compliance.Ref{Framework: f.ID, ID: row.Node.ID}
		if m := cat.MappingFor(ref); m != nil {
			lr.Mapped, lr.Checks = m.Targets, m.Checks
		}
		lr.From = cat.MappedFrom(ref)
		v.Rows = append(v.Rows, lr)
	}
	s.render(w, r, http.StatusOK, "compliance3_standard", v)
	return nil
}
