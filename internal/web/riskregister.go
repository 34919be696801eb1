package web

import (
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/vigil-sec/vigil/internal/archive"
	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/compliance/project"
	"github.com/vigil-sec/vigil/internal/compliance/register"
	"github.com/vigil-sec/vigil/internal/compliance/risk"
	"github.com/vigil-sec/vigil/internal/store"
)

// The risk register (风险登记), remediation tracking (整改跟踪) and the
// evidence, prefill, scope, communication log and remediation of an MLPS
// project.

// riskBase is the risk assessment area of a tenant.
func riskBase(t *store.Tenant) string { return "/t/" + t.Slug + "/compliance/risk-assessment" }

// remediationBase is the remediation area of a tenant.
func remediationBase(t *store.Tenant) string { return "/t/" + t.Slug + "/compliance/remediation" }

// registerRiskRegister adds the risk register, remediation and project
// evidence pages when assessment projects are configured.
func (s *server) registerRiskRegister(t string) {
	if s.opts.Assessments == nil {
		return
	}
	get, post := http.MethodGet, http.MethodPost
	read, write := inTenant(auth.PermAssessRead), inTenant(auth.PermAssessWrite)
	rk := t + "/compliance/risk-assessment"
	s.handle(get, rk, inTenant(auth.PermTenantRead), s.riskList) // checks assessment.read itself
	s.handle(post, rk, write, s.riskCreate)
	s.handle(get, rk+"/{risk}", read, s.riskView)
	s.handle(post, rk+"/{risk}/assets", write, s.riskEdit(riskAddAsset))
	s.handle(post, rk+"/{risk}/threats", write, s.riskEdit(riskAddThreat))
	s.handle(post, rk+"/{risk}/vulnerabilities", write, s.riskEdit(riskAddVuln))
	s.handle(post, rk+"/{risk}/findings", write, s.riskEdit(riskAddFinding))
	s.handle(post, rk+"/{risk}/controls", write, s.riskEdit(riskAddControl))
	s.handle(post, rk+"/{risk}/scenarios", write, s.riskEdit(riskAddScenario))
	s.handle(post, rk+"/{risk}/decisions", write, s.riskEdit(riskDecide))
	s.handle(post, rk+"/{risk}/import", write, s.riskImport)
	s.handle(post, rk+"/{risk}/remediate", write, s.riskRemediate)
	s.handle(post, rk+"/{risk}/report", inTenant(auth.PermReportRead), s.riskReport)

	rem := t + "/compliance/remediation"
	s.handle(get, rem, inTenant(auth.PermTenantRead), s.remediationList) // checks assessment.read itself
	s.handle(post, rem+"/report", inTenant(auth.PermReportRead), s.remediationReport)
	s.handle(get, rem+"/{remediation}", read, s.remediationView)
	s.handle(post, rem+"/{remediation}", write, s.remediationUpdate)
	s.handle(post, rem+"/{remediation}/verify", write, s.remediationVerify)
	s.handle(post, rem+"/{remediation}/workorder", write, s.remediationWorkOrder)

	mlps := t + "/compliance/mlps/{project}"
	s.handle(get, mlps+"/prefill", read, s.assessmentPrefill)
	s.handle(post, mlps+"/scope", write, s.assessmentScope)
	s.handle(post, mlps+"/communications", write, s.assessmentCommunicate)
	s.handle(post, mlps+"/remediate", write, s.assessmentRemediate)
	s.handle(post, mlps+"/evidence/{requirement}", write, s.evidenceUpload)
	s.handle(get, mlps+"/evidence/{requirement}/{attachment}", read, s.evidenceDownload)
	s.handle(post, mlps+"/evidence/{requirement}/{attachment}/delete", write, s.evidenceDelete)
}

// ---- risk register ----

type risksPage struct {
	Base
	URL      string
	Risks    []store.RiskAssessment
	Pager    pager
	Methods  []string
	CanWrite bool
}

// riskList lists the tenant's risk assessments with the form to open one.
func (s *server) riskList(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	t := state(r).tenant
	if !auth.FromContext(ctx).Can(auth.PermAssessRead, t.ID) {
		return s.areaFallback(w, r, "risk-assessment")
	}
	pg := pageParam(r.URL.Query())
	rs, err := s.opts.Assessments.Register().ListRisks(ctx, t.ID, store.Page{Limit: projectPageSize + 1, Offset: (pg - 1) * projectPageSize})
	if err != nil {
		return err
	}
	v := &risksPage{URL: riskBase(t), Methods: register.Methods(), CanWrite: auth.FromContext(ctx).Can(auth.PermAssessWrite, t.ID)}
	total := (pg-1)*projectPageSize + len(rs)
	v.Risks = rs[:min(len(rs), projectPageSize)]
	v.Pager = newPager(total, pg, projectPageSize, func(n int) string { return v.URL + "?page=" + strconv.Itoa(n) })
	s.render(w, r, http.StatusOK, "risks", v)
	return nil
}

// areaFallback serves an area's description to roles without assessment
// access (customers), like the MLPS list does.
func (s *server) areaFallback(w http.ResponseWriter, r *http.Request, key string) error {
	for _, a := range s.areas {
		if a.Key == key {
			return s.comingSoon(a)(w, r)
		}
	}
	return auth.ErrForbidden
}

// riskCreate opens a risk assessment.
func (s *server) riskCreate(w http.ResponseWriter, r *http.Request) error {
	t := state(r).tenant
	ra, err := s.opts.Assessments.Register().CreateRisk(r.Context(), t.ID, r.PostFormValue("name"), r.PostFormValue("method"))
	if err != nil {
		return err
	}
	redirect(w, r, riskBase(t)+"/"+ra.ID+"?ok=created")
	return nil
}

// riskCell is one cell of the heat-map chart.
type riskCell struct {
	X, Y, TX, TY int // rectangle and label positions
	Count        int
	L, F         int
	Fill         string
	Level        string
}

// riskHeatMap lays out the register's 5×5 heat map as SVG cells: likelihood
// up, loss to the right, each cell coloured by the level of L·F in the
// method's bands.
func riskHeatMap(res *risk.Result) []riskCell {
	fills := map[risk.Level]string{risk.VeryLow: "#dbeafe", risk.Low: "#bbf7d0", risk.Medium: "#fde68a", risk.High: "#fdba74", risk.VeryHigh: "#f87171"}
	var cells []riskCell
	const size, left, top = 48, 40, 8
	for l := 5; l >= 1; l-- {
		for f := 1; f <= 5; f++ {
			lv := risk.Level("")
			for _, b := range res.Bands {
				if l*f >= b.Min && l*f <= b.Max {
					lv = b.Level
				}
			}
			x, y := left+(f-1)*size, top+(5-l)*size
			cells = append(cells, riskCell{X: x, Y: y, TX: x + size/2, TY: y + size/2 + 5, Count: res.HeatMap[l-1][f-1], L: l, F: f,
				Fill: fills[lv], Level: string(lv)})
		}
	}
	return cells
}

type riskPage struct {
	Base
	URL        string
	Meta       store.RiskAssessment
	Input      risk.Assessment
	Result     risk.Result
	High       int
	Heat       []riskCell
	Tiers      []string
	Kinds      []string
	Treatments []string
	// Decisions by scenario, for the treatment form.
	Decided  map[string]risk.Decision
	CanWrite bool
}

// riskView shows a register: risks by R, heat map, roll-ups, and the
// forms that add to it.
func (s *server) riskView(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	t := state(r).tenant
	reg, err := s.opts.Assessments.Register().Risk(ctx, t.ID, chi.URLParam(r, "risk"))
	if err != nil {
		return err
	}
	v := &riskPage{URL: riskBase(t) + "/" + reg.Meta.ID, Meta: reg.Meta, Input: *reg.Input, Result: *reg.Result, High: reg.High(), Heat: riskHeatMap(reg.Result), Tiers: register.Tiers(),
		Kinds: register.ControlKinds(), Treatments: register.Treatments(), Decided: map[string]risk.Decision{},
		CanWrite: auth.FromContext(ctx).Can(auth.PermAssessWrite, t.ID)}
	for _, d := range reg.Input.Decisions {
		v.Decided[d.Scenario] = d
	}
	s.render(w, r, http.StatusOK, "risk", v)
	return nil
}

// formInt reads a whole number field; empty is 0.
func formInt(r *http.Request, name string) (int, error) {
	v := strings.TrimSpace(r.PostFormValue(name))
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, store.NewFieldError(name, store.CodeOutOfRange, map[string]any{"min": 1, "max": 5}, "%s must be a whole number from 1 to 5", name)
	}
	return n, nil
}

// formDay reads an optional YYYY-MM-DD field.
func formDay(r *http.Request, name string) (time.Time, error) {
	v := strings.TrimSpace(r.PostFormValue(name))
	if v == "" {
		return time.Time{}, nil
	}
	d, err := time.Parse(time.DateOnly, v)
	if err != nil {
		return time.Time{}, store.NewFieldError(name, store.CodeInvalidDate, nil, "not a date (YYYY-MM-DD)")
	}
	return d, nil
}

// riskChange applies one form to a register read at version.
type riskChange func(s *register.Service, r *http.Request, tenantID, id string, version int) error

// riskEdit is the handler of one form of the risk page.
func (s *server) riskEdit(change riskChange) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		t := state(r).tenant
		id := chi.URLParam(r, "risk")
		version, err := strconv.Atoi(r.PostFormValue("version"))
		if err != nil {
			return errInvalid("the form is missing the assessment version; reload the page")
		}
		if err := change(s.opts.Assessments.Register(), r, t.ID, id, version); err != nil {
			return err
		}
		redirect(w, r, riskBase(t)+"/"+id+"?ok=saved")
		return nil
	}
}

func riskAddAsset(svc *register.Service, r *http.Request, tenantID, id string, version int) error {
	var nums [4]int
	for i, f := range []string{"importance", "c", "i", "a"} {
		n, err := formInt(r, f)
		if err != nil {
			return err
		}
		nums[i] = n
	}
	_, err := svc.AddAsset(r.Context(), tenantID, id, version, risk.Asset{ID: r.PostFormValue("id"), Name: r.PostFormValue("name"),
		Tier: risk.Tier(r.PostFormValue("tier")), Parent: r.PostFormValue("parent"), Owner: r.PostFormValue("owner"),
		Importance: nums[0], C: nums[1], I: nums[2], A: nums[3]})
	return err
}

func riskAddThreat(svc *register.Service, r *http.Request, tenantID, id string, version int) error {
	freq, err := formInt(r, "frequency")
	if err != nil {
		return err
	}
	_, err = svc.AddThreat(r.Context(), tenantID, id, version, risk.Threat{ID: r.PostFormValue("id"), Name: r.PostFormValue("name"),
		Source: r.PostFormValue("source"), Actor: r.PostFormValue("actor"), Type: r.PostFormValue("type"), Motive: r.PostFormValue("motive"),
		Timing: r.PostFormValue("timing"), Frequency: freq})
	return err
}

func riskAddVuln(svc *register.Service, r *http.Request, tenantID, id string, version int) error {
	sev, err := formInt(r, "severity")
	if err != nil {
		return err
	}
	_, err = svc.AddVulnerability(r.Context(), tenantID, id, version, risk.Vulnerability{ID: r.PostFormValue("id"), Name: r.PostFormValue("name"),
		Asset: r.PostFormValue("asset"), Severity: sev})
	return err
}

func riskAddFinding(svc *register.Service, r *http.Request, tenantID, id string, version int) error {
	_, err := svc.AddFinding(r.Context(), tenantID, id, version, r.PostFormValue("asset"), r.PostFormValue("finding"))
	return err
}

func riskAddControl(svc *register.Service, r *http.Request, tenantID, id string, version int) error {
	_, err := svc.AddControl(r.Context(), tenantID, id, version, r.PostFormValue("vulnerability"), risk.Control{Name: r.PostFormValue("name"),
		Kind: risk.ControlKind(r.PostFormValue("kind")), Effective: r.PostFormValue("effective") == "1"})
	return err
}

func riskAddScenario(svc *register.Service, r *http.Request, tenantID, id string, version int) error {
	_, err := svc.AddScenario(r.Context(), tenantID, id, version, risk.Scenario{ID: r.PostFormValue("id"), Threat: r.PostFormValue("threat"),
		Vulnerability: r.PostFormValue("vulnerability")})
	return err
}

func riskDecide(svc *register.Service, r *http.Request, tenantID, id string, version int) error {
	due, err := formDay(r, "due")
	if err != nil {
		return err
	}
	_, err = svc.Decide(r.Context(), tenantID, id, version, risk.Decision{Scenario: r.PostFormValue("scenario"),
		Treatment: risk.Treatment(r.PostFormValue("treatment")), Owner: r.PostFormValue("owner"), Due: due, Measure: r.PostFormValue("measure")})
	return err
}

// riskImport replaces a register's input with an uploaded YAML file.
func (s *server) riskImport(w http.ResponseWriter, r *http.Request) error {
	t := state(r).tenant
	id := chi.URLParam(r, "risk")
	version, err := strconv.Atoi(r.PostFormValue("version"))
	if err != nil {
		return errInvalid("the form is missing the assessment version; reload the page")
	}
	if r.MultipartForm == nil || len(r.MultipartForm.File["file"]) == 0 {
		return store.NewFieldError("file", store.CodeRequired, nil, "choose a YAML file")
	}
	f, err := r.MultipartForm.File["file"][0].Open()
	if err != nil {
		return err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, risk.MaxAssessmentBytes+1))
	if err != nil {
		return err
	}
	if len(data) > risk.MaxAssessmentBytes {
		return store.NewFieldError("file", store.CodeTooLarge, map[string]any{"max": risk.MaxAssessmentBytes}, "the file is larger than %d bytes", risk.MaxAssessmentBytes)
	}
	if _, err := s.opts.Assessments.Register().Import(r.Context(), t.ID, id, version, data); err != nil {
		return err
	}
	redirect(w, r, riskBase(t)+"/"+id+"?ok=imported")
	return nil
}

// riskRemediate raises remediation items from the high risks.
func (s *server) riskRemediate(w http.ResponseWriter, r *http.Request) error {
	t := state(r).tenant
	id := chi.URLParam(r, "risk")
	if _, err := s.opts.Assessments.Register().RaiseFromRisks(r.Context(), t.ID, id); err != nil {
		return err
	}
	redirect(w, r, remediationBase(t)+"?"+url.Values{"source": {id}, "ok": {"created"}}.Encode())
	return nil
}

// riskReport renders the risk assessment report and archives it.
func (s *server) riskReport(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	t := state(r).tenant
	id := chi.URLParam(r, "risk")
	format, lang, err := reportRequest(r)
	if err != nil {
		return err
	}
	doc, err := s.opts.Assessments.Register().RiskReport(ctx, *t, id, lang)
	if err != nil {
		return err
	}
	return s.archiveReport(w, r, t, archive.Request{Service: "risk-assessment", Kind: "risk-assessment",
		SourceID: id, Format: format, Doc: doc})
}

// ---- remediation ----

type remediationsPage struct {
	Base
	URL      string
	Items    []store.RemediationItem
	Pager    pager
	States   []string
	State    string
	Source   string
	From, To string // default period of the verification report
}

// remediationList lists the tenant's remediation items, filtered by state
// and source.
func (s *server) remediationList(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	t := state(r).tenant
	if !auth.FromContext(ctx).Can(auth.PermAssessRead, t.ID) {
		return s.areaFallback(w, r, "remediation")
	}
	q := r.URL.Query()
	v := &remediationsPage{URL: remediationBase(t), States: register.RemediationStates(), Source: q.Get("source")}
	if st := q.Get("state"); slices.Contains(v.States, st) {
		v.State = st
	}
	pg := pageParam(q)
	its, err := s.opts.Assessments.Register().Remediations(ctx, t.ID, store.RemediationFilter{State: v.State, SourceID: v.Source,
		Page: store.Page{Limit: projectPageSize + 1, Offset: (pg - 1) * projectPageSize}})
	if err != nil {
		return err
	}
	total := (pg-1)*projectPageSize + len(its)
	v.Items = its[:min(len(its), projectPageSize)]
	v.Pager = newPager(total, pg, projectPageSize, func(n int) string {
		return v.URL + "?" + url.Values{"state": {v.State}, "source": {v.Source}, "page": {strconv.Itoa(n)}}.Encode()
	})
	today := time.Now().UTC()
	v.From, v.To = today.AddDate(0, -1, 0).Format(time.DateOnly), today.Format(time.DateOnly)
	s.render(w, r, http.StatusOK, "remediations", v)
	return nil
}

type remediationPage struct {
	Base
	URL           string
	Item          store.RemediationItem
	Verifications []store.RemediationVerification
	SourceURL     string
	States        []string
	CanWrite      bool
	CanWorkOrder  bool
}

// remediationView shows one item with its re-verifications.
func (s *server) remediationView(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	t := state(r).tenant
	it, vs, err := s.opts.Assessments.Register().Remediation(ctx, t.ID, chi.URLParam(r, "remediation"))
	if err != nil {
		return err
	}
	p := auth.FromContext(ctx)
	v := &remediationPage{URL: remediationBase(t) + "/" + it.ID, Item: it, Verifications: vs,
		States:   []string{store.RemediationOpen, store.RemediationProgress, store.RemediationClosed},
		CanWrite: p.Can(auth.PermAssessWrite, t.ID), CanWorkOrder: s.opts.Ops != nil && it.WorkOrderID == "" &&
			(p.Can(auth.PermAssetWrite, t.ID) || p.Can(auth.PermIncidentWrite, t.ID))}
	switch it.SourceKind {
	case store.RemediationFromAssessment:
		v.SourceURL = mlpsBase(t) + "/" + it.SourceID
	case store.RemediationFromRisk:
		v.SourceURL = riskBase(t) + "/" + it.SourceID
	}
	s.render(w, r, http.StatusOK, "remediation", v)
	return nil
}

// remediationUpdate changes state, owner and due date.
func (s *server) remediationUpdate(w http.ResponseWriter, r *http.Request) error {
	t := state(r).tenant
	id := chi.URLParam(r, "remediation")
	version, err := strconv.Atoi(r.PostFormValue("version"))
	if err != nil {
		return errInvalid("the form is missing the item version; reload the page")
	}
	due, err := formDay(r, "due")
	if err != nil {
		return err
	}
	if _, err := s.opts.Assessments.Register().UpdateRemediation(r.Context(), t.ID, id, version,
		register.RemediationUpdate{State: r.PostFormValue("state"), Owner: r.PostFormValue("owner"), Due: due}); err != nil {
		return err
	}
	redirect(w, r, remediationBase(t)+"/"+id+"?ok=saved")
	return nil
}

// remediationVerify records a re-verification.
func (s *server) remediationVerify(w http.ResponseWriter, r *http.Request) error {
	t := state(r).tenant
	id := chi.URLParam(r, "remediation")
	if _, err := s.opts.Assessments.Register().Verify(r.Context(), t.ID, id, register.VerifyInput{After: r.PostFormValue("after"),
		Passed: r.PostFormValue("passed") == "1", Note: r.PostFormValue("note")}); err != nil {
		return err
	}
	redirect(w, r, remediationBase(t)+"/"+id+"?ok=saved")
	return nil
}

// remediationWorkOrder opens a remediation work order for an item.
func (s *server) remediationWorkOrder(w http.ResponseWriter, r *http.Request) error {
	t := state(r).tenant
	if s.opts.Ops == nil {
		return store.ErrNotFound
	}
	id := chi.URLParam(r, "remediation")
	if _, _, err := s.opts.Assessments.Register().OpenWorkOrder(r.Context(), t.ID, id, s.opts.Ops); err != nil {
		return err
	}
	redirect(w, r, remediationBase(t)+"/"+id+"?ok=created")
	return nil
}

// remediationReport generates the remediation verification report of a
// period (both days included) and archives it.
func (s *server) remediationReport(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	t := state(r).tenant
	format, lang, err := reportRequest(r)
	if err != nil {
		return err
	}
	from, err := formDay(r, "from")
	if err != nil {
		return err
	}
	to, err := formDay(r, "to")
	if err != nil {
		return err
	}
	switch {
	case from.IsZero() || to.IsZero():
		return store.NewFieldError("from", store.CodeRequired, nil, "give the first and the last day")
	case to.Before(from):
		return store.NewFieldError("to", store.CodeEndBeforeStart, nil, "the last day is before the first")
	case to.Sub(from) > maxReportDays*24*time.Hour:
		return store.NewFieldError("from", store.CodeOutOfRange, map[string]any{"max": maxReportDays}, "a report covers at most %d days", maxReportDays)
	}
	doc, err := s.opts.Assessments.Register().VerificationReport(ctx, *t, from, to.AddDate(0, 0, 1), lang)
	if err != nil {
		return err
	}
	return s.archiveReport(w, r, t, archive.Request{Service: "remediation", Kind: "remediation-verification",
		Format: format, Doc: doc})
}

// ---- project evidence, prefill, scope, log ----

type prefillPage struct {
	Base
	URL       string
	P         store.AssessmentProject
	Proposals []prefillRow
	Scope     []store.Asset
	Results   []string
	CanWrite  bool
}

// prefillRow is a proposal with what the page shows beside it.
type prefillRow struct {
	project.Proposal
	Requirement string
	Summary     string
	LinksText   string
}

// assessmentPrefill shows the results proposed from baseline runs and
// findings; confirming one records it through the item form.
func (s *server) assessmentPrefill(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	t := state(r).tenant
	id := chi.URLParam(r, "project")
	p, err := s.opts.Assessments.Get(ctx, t.ID, id)
	if err != nil {
		return err
	}
	fw, err := s.opts.Assessments.Framework(p)
	if err != nil {
		return err
	}
	ps, err := s.opts.Assessments.Proposals(ctx, t.ID, id)
	if err != nil {
		return err
	}
	scope, err := s.opts.Assessments.Scope(ctx, t.ID, id)
	if err != nil {
		return err
	}
	lang := state(r).locale
	v := &prefillPage{URL: mlpsBase(t) + "/" + p.ID, P: p, Scope: scope, Results: project.Results(),
		CanWrite: auth.FromContext(ctx).Can(auth.PermAssessWrite, t.ID)}
	for _, pr := range ps {
		row := prefillRow{Proposal: pr, Summary: pr.Summary(lang), LinksText: strings.Join(pr.Links, "\n")}
		if n := fw.Node(pr.Item); n != nil {
			row.Requirement = n.Description(lang)
		}
		v.Proposals = append(v.Proposals, row)
	}
	s.render(w, r, http.StatusOK, "assessment_prefill", v)
	return nil
}

// assessmentScope sets the assets a project covers.
func (s *server) assessmentScope(w http.ResponseWriter, r *http.Request) error {
	t := state(r).tenant
	id := chi.URLParam(r, "project")
	if err := s.opts.Assessments.SetScope(r.Context(), t.ID, id, r.PostForm["asset"]); err != nil {
		return err
	}
	redirect(w, r, mlpsBase(t)+"/"+id+"?ok=saved#scope")
	return nil
}

// assessmentCommunicate appends to a project's communication log.
func (s *server) assessmentCommunicate(w http.ResponseWriter, r *http.Request) error {
	t := state(r).tenant
	id := chi.URLParam(r, "project")
	var at time.Time
	if v := strings.TrimSpace(r.PostFormValue("at")); v != "" {
		var err error
		if at, err = time.Parse("2006-01-02T15:04", v); err != nil {
			if at, err = time.Parse(time.DateOnly, v); err != nil {
				return store.NewFieldError("at", store.CodeInvalidDate, nil, "not a date and time")
			}
		}
	}
	if _, err := s.opts.Assessments.AddCommunication(r.Context(), t.ID, id, project.CommunicationInput{Kind: r.PostFormValue("kind"),
		At: at, Participants: r.PostFormValue("participants"), Text: r.PostFormValue("text")}); err != nil {
		return err
	}
	redirect(w, r, mlpsBase(t)+"/"+id+"?ok=saved#communications")
	return nil
}

// assessmentRemediate raises remediation items from the project's gaps.
func (s *server) assessmentRemediate(w http.ResponseWriter, r *http.Request) error {
	t := state(r).tenant
	id := chi.URLParam(r, "project")
	if _, err := s.opts.Assessments.Remediate(r.Context(), t.ID, id); err != nil {
		return err
	}
	redirect(w, r, remediationBase(t)+"?"+url.Values{"source": {id}, "ok": {"created"}}.Encode())
	return nil
}

// evidenceUpload attaches a file to an item.
func (s *server) evidenceUpload(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	t := state(r).tenant
	if s.opts.Attachments == nil {
		return store.ErrNotFound
	}
	id, item := chi.URLParam(r, "project"), chi.URLParam(r, "requirement")
	owner, err := s.opts.Assessments.EvidenceOwner(ctx, t.ID, id, item)
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
	redirect(w, r, mlpsBase(t)+"/"+id+"?"+url.Values{"item": {item}, "ok": {"saved"}}.Encode()+"#"+anchorOf(item))
	return nil
}

// evidenceDownload sends an evidence file as a download, never inline.
func (s *server) evidenceDownload(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	t := state(r).tenant
	if s.opts.Attachments == nil {
		return store.ErrNotFound
	}
	owner, err := s.opts.Assessments.EvidenceOwner(ctx, t.ID, chi.URLParam(r, "project"), chi.URLParam(r, "requirement"))
	if err != nil {
		return err
	}
	a, data, err := s.opts.Attachments.Open(ctx, auth.PermAssessRead, owner, chi.URLParam(r, "attachment"))
	if err != nil {
		return err
	}
	return serveAttachment(w, a, data)
}

// evidenceDelete removes an evidence file.
func (s *server) evidenceDelete(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	t := state(r).tenant
	if s.opts.Attachments == nil {
		return store.ErrNotFound
	}
	id, item := chi.URLParam(r, "project"), chi.URLParam(r, "requirement")
	owner, err := s.opts.Assessments.EvidenceOwner(ctx, t.ID, id, item)
	if err != nil {
		return err
	}
	if err := s.opts.Attachments.Delete(ctx, auth.PermAssessWrite, owner, chi.URLParam(r, "attachment")); err != nil {
		return err
	}
	redirect(w, r, mlpsBase(t)+"/"+id+"?"+url.Values{"item": {item}, "ok": {"deleted"}}.Encode()+"#"+anchorOf(item))
	return nil
}

// maxScopeChoices bounds the assets offered in a project's scope form.
const maxScopeChoices = 500

// assessmentExtras fills the project page's evidence coverage, the files
// of the item being edited, the scope and the communication log.
func (s *server) assessmentExtras(r *http.Request, a *project.Assessment, v *assessmentPage) error {
	ctx := r.Context()
	t := state(r).tenant
	var err error
	if v.Coverage, err = s.opts.Assessments.Coverage(ctx, a); err != nil {
		return err
	}
	v.HasAttach = s.opts.Attachments != nil
	if v.Edit != "" && v.HasAttach {
		owner, err := s.opts.Assessments.EvidenceOwner(ctx, t.ID, a.Project.ID, v.Edit)
		if err != nil {
			return err
		}
		files, err := s.opts.Attachments.List(ctx, auth.PermAssessRead, owner)
		if err != nil {
			return err
		}
		base := v.URL + "/evidence/" + v.Edit
		v.Files = attachmentsView{Files: files, Base: base, Action: base, Download: true, CanWrite: v.CanWrite, CSRF: state(r).csrfToken()}
	}
	if v.Scope, err = s.opts.Assessments.Scope(ctx, t.ID, a.Project.ID); err != nil {
		return err
	}
	if v.ScopeInfo, err = s.opts.Assessments.SummarizeScope(ctx, t.ID, v.Scope); err != nil {
		return err
	}
	v.InScope = map[string]bool{}
	for _, x := range v.Scope {
		v.InScope[x.ID] = true
	}
	if v.CanWrite && auth.FromContext(ctx).Can(auth.PermAssetRead, t.ID) {
		if v.Assets, _, err = s.opts.Assets.List(ctx, t.ID, store.AssetFilter{Page: store.Page{Limit: maxScopeChoices}}); err != nil {
			return err
		}
	}
	if v.Log, err = s.opts.Assessments.Communications(ctx, t.ID, a.Project.ID); err != nil {
		return err
	}
	v.LogKinds = project.CommunicationKinds()
	v.Remediated = remediationBase(t) + "?" + url.Values{"source": {a.Project.ID}}.Encode()
	return nil
}

// complianceRegisterMessageIDs lists the messages the register and
// remediation pages look up by key (Tk).
func complianceRegisterMessageIDs() []string {
	var ids []string
	add := func(prefix string, keys []string) {
		for _, k := range keys {
			ids = append(ids, prefix+"."+k)
		}
	}
	add("reg.method", register.Methods())
	add("reg.treatment", register.Treatments())
	add("reg.tier", register.Tiers())
	add("reg.kind", register.ControlKinds())
	add("rem.state", register.RemediationStates())
	add("rem.kind", []string{store.RemediationFromAssessment, store.RemediationFromRisk})
	for _, r := range project.Results() {
		ids = append(ids, "rem.level."+r+" high-risk")
	}
	add("ev.kind", project.CommunicationKinds())
	add("report_kind", []string{"risk-assessment", "remediation-verification"})
	return ids
}
