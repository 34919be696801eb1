package web

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"

	"github.com/go-chi/chi/v5"

	"github.com/vigil-sec/vigil/internal/archive"
	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/compliance"
	"github.com/vigil-sec/vigil/internal/compliance/project"
	"github.com/vigil-sec/vigil/internal/store"
)

// Compliance inspections (合规检查), the compliance-inspection service.

// inspectionArea is the catalogue code of the service.
const inspectionArea = "compliance-inspection"

// inspectionBase is the inspection area of a tenant.
func inspectionBase(t *store.Tenant) string { return "/t/" + t.Slug + "/compliance/" + inspectionArea }

func (s *server) registerInspections(t string) {
	get, post := http.MethodGet, http.MethodPost
	read, write := inTenant(auth.PermAssessRead), inTenant(auth.PermInspectWrite)
	ins := t + "/compliance/" + inspectionArea
	s.handle(get, ins, inTenant(auth.PermTenantRead), s.inspectionList) // checks assessment.read itself
	s.handle(post, ins, write, s.inspectionCreate)
	s.handle(get, ins+"/{inspection}", read, s.inspectionView)
	s.handle(post, ins+"/{inspection}/results", write, s.inspectionResult)
	s.handle(post, ins+"/{inspection}/objects", write, s.inspectionObjects)
	s.handle(post, ins+"/{inspection}/state", write, s.inspectionState)
	s.handle(post, ins+"/{inspection}/report", inTenant(auth.PermReportRead), s.inspectionReport)
	s.handle(post, ins+"/{inspection}/evidence/{requirement}", write, s.inspectionEvidenceUpload)
	s.handle(get, ins+"/{inspection}/evidence/{requirement}/{insfile}", read, s.inspectionEvidenceDownload)
	s.registerSupervision()
}

type inspectionsPage struct {
	Base
	URL         string
	Inspections []store.Inspection
	Pager       pager
	Frameworks  []*compliance.Framework
	Tenants     []store.Tenant // other tenants the user may inspect
	CanWrite    bool
	Supervise   bool // link the supervision summary
}

// inspectionList lists the tenant's inspections with the form that opens
// one (or a campaign over several tenants).
func (s *server) inspectionList(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	t := state(r).tenant
	p := auth.FromContext(ctx)
	if !p.Can(auth.PermAssessRead, t.ID) {
		return s.areaFallback(w, r, inspectionArea)
	}
	pg := pageParam(r.URL.Query())
	xs, err := s.opts.Assessments.ListInspections(ctx, t.ID, store.Page{Limit: projectPageSize + 1, Offset: (pg - 1) * projectPageSize})
	if err != nil {
		return err
	}
	v := &inspectionsPage{URL: inspectionBase(t), CanWrite: p.Can(auth.PermInspectWrite, t.ID), Supervise: canSupervise(p)}
	total := (pg-1)*projectPageSize + len(xs)
	if len(xs) > projectPageSize {
		xs = xs[:projectPageSize]
	}
	v.Inspections = xs
	v.Pager = newPager(total, pg, projectPageSize, func(n int) string { return v.URL + "?page=" + strconv.Itoa(n) })
	if v.CanWrite {
		cat, err := s.opts.Assessments.Library(ctx, t.ID)
		if err != nil {
			return err
		}
		for _, id := range cat.IDs() {
			if f := cat.Framework(id); len(f.Requirements()) > 0 {
				v.Frameworks = append(v.Frameworks, f)
			}
		}
		ts, err := s.opts.Tenants.ListTenants(ctx)
		if err != nil {
			return err
		}
		for _, o := range ts {
			if o.ID != t.ID && p.Can(auth.PermInspectWrite, o.ID) {
				v.Tenants = append(v.Tenants, o)
			}
		}
	}
	s.render(w, r, http.StatusOK, "compliance3_inspections", v)
	return nil
}

// inspectionCreate opens an inspection of this tenant, and of the other
// tenants chosen (a campaign).
func (s *server) inspectionCreate(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	t := state(r).tenant
	sample, err := sampleParam(r)
	if err != nil {
		return err
	}
	in := project.InspectionInput{Name: r.PostFormValue("name"), Campaign: r.PostFormValue("campaign"), Framework: r.PostFormValue("framework"),
		Sample: sample}
	others := r.PostForm["tenant"]
	if len(others) == 0 {
		x, err := s.opts.Assessments.CreateInspection(ctx, t.ID, in)
		if err != nil {
			return err
		}
		redirect(w, r, inspectionBase(t)+"/"+x.ID+"?ok=created")
		return nil
	}
	ts, err := s.opts.Tenants.ListTenants(ctx)
	if err != nil {
		return err
	}
	ids := []string{t.ID}
	for _, slug := range others {
		i := slices.IndexFunc(ts, func(o store.Tenant) bool { return o.Slug == slug })
		if i < 0 {
			// Like every cross-tenant refusal: a tenant the user may not
			// read does not exist for them.
			return store.ErrNotFound
		}
		if !slices.Contains(ids, ts[i].ID) {
			ids = append(ids, ts[i].ID)
		}
	}
	res, err := s.opts.Assessments.CreateCampaign(ctx, ids, in)
	if err != nil {
		return err
	}
	s.renderCampaign(w, r, t, ts, res)
	return nil
}

type inspectionRow struct {
	Node   *compliance.Node
	Result *project.InspectionResult
}

type inspectionPage struct {
	Base
	URL      string
	V        project.InspectionView
	Object   *project.InspectionObject // the object shown (?object=)
	Rows     []inspectionRow
	Edit     string // the item whose form is open (?item=)
	Files    attachmentsView
	Assets   []store.Asset
	Assigned map[string]bool
	Results  []string
	CanWrite bool
	Open     bool
}

// inspectionView shows an inspection: summary, objects, and the checklist
// on one object.
func (s *server) inspectionView(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	t := state(r).tenant
	x, err := s.opts.Assessments.Inspection(ctx, t.ID, chi.URLParam(r, "inspection"))
	if err != nil {
		return err
	}
	p := auth.FromContext(ctx)
	v := &inspectionPage{URL: inspectionBase(t) + "/" + x.Meta.ID, V: *x, Results: project.Results(), CanWrite: p.Can(auth.PermInspectWrite, t.ID),
		Open: x.Meta.State == store.InspectionOpen, Assigned: map[string]bool{}}
	for _, o := range x.Doc.Objects {
		v.Assigned[o.Asset] = true
	}
	q := r.URL.Query()
	for i := range x.Doc.Objects {
		if x.Doc.Objects[i].Asset == q.Get("object") {
			v.Object = &x.Doc.Objects[i]
		}
	}
	if v.Object == nil && len(x.Doc.Objects) > 0 {
		v.Object = &x.Doc.Objects[0]
	}
	if v.Object != nil {
		for _, n := range x.Framework.Requirements() {
			v.Rows = append(v.Rows, inspectionRow{Node: n, Result: x.Result(n.ID, v.Object.Asset)})
		}
	}
	if n := x.Framework.Node(q.Get("item")); n != nil && n.Assessable {
		v.Edit = n.ID
		if s.opts.Attachments != nil {
			owner, err := s.opts.Assessments.InspectionEvidenceOwner(ctx, t.ID, x.Meta.ID, n.ID)
			if err != nil {
				return err
			}
			files, err := s.opts.Attachments.List(ctx, auth.PermAssessRead, owner)
			if err != nil {
				return err
			}
			base := v.URL + "/evidence/" + url.PathEscape(n.ID)
			v.Files = attachmentsView{Files: files, Base: base, Action: base, Download: true, CanWrite: v.CanWrite && v.Open, CSRF: state(r).csrfToken()}
		}
	}
	if v.CanWrite && v.Open && p.Can(auth.PermAssetRead, t.ID) {
		if v.Assets, _, err = s.opts.Assets.List(ctx, t.ID, store.AssetFilter{Page: store.Page{Limit: maxScopeChoices}}); err != nil {
			return err
		}
	}
	s.render(w, r, http.StatusOK, "compliance3_inspection", v)
	return nil
}

// inspectionVersion reads the form's version.
func inspectionVersion(r *http.Request) (int, error) {
	version, err := strconv.Atoi(r.PostFormValue("version"))
	if err != nil {
		return 0, errInvalid("the form is missing the inspection version; reload the page")
	}
	return version, nil
}

// inspectionResult records the result of an item on an object.
func (s *server) inspectionResult(w http.ResponseWriter, r *http.Request) error {
	t := state(r).tenant
	id := chi.URLParam(r, "inspection")
	version, err := inspectionVersion(r)
	if err != nil {
		return err
	}
	res := project.InspectionResult{Item: r.PostFormValue("item"), Object: r.PostFormValue("object"), Result: r.PostFormValue("result"),
		Note: r.PostFormValue("note")}
	if _, err := s.opts.Assessments.RecordInspectionResult(r.Context(), t.ID, id, version, res); err != nil {
		return err
	}
	redirect(w, r, inspectionBase(t)+"/"+id+"?"+url.Values{"object": {res.Object}, "ok": {"saved"}}.Encode()+"#ins-"+res.Item)
	return nil
}

// inspectionObjects assigns the inspected objects.
func (s *server) inspectionObjects(w http.ResponseWriter, r *http.Request) error {
	t := state(r).tenant
	id := chi.URLParam(r, "inspection")
	version, err := inspectionVersion(r)
	if err != nil {
		return err
	}
	if _, err := s.opts.Assessments.SetInspectionObjects(r.Context(), t.ID, id, version, r.PostForm["asset"]); err != nil {
		return err
	}
	redirect(w, r, inspectionBase(t)+"/"+id+"?ok=saved")
	return nil
}

// inspectionState opens or closes an inspection.
func (s *server) inspectionState(w http.ResponseWriter, r *http.Request) error {
	t := state(r).tenant
	id := chi.URLParam(r, "inspection")
	version, err := inspectionVersion(r)
	if err != nil {
		return err
	}
	if _, err := s.opts.Assessments.SetInspectionState(r.Context(), t.ID, id, version, r.PostFormValue("state")); err != nil {
		return err
	}
	redirect(w, r, inspectionBase(t)+"/"+id+"?ok=saved")
	return nil
}

// inspectionReport renders the inspection report and archives it in the
// tenant's report catalogue.
func (s *server) inspectionReport(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	t := state(r).tenant
	id := chi.URLParam(r, "inspection")
	format, lang, err := reportRequest(r)
	if err != nil {
		return err
	}
	doc, err := s.opts.Assessments.InspectionReport(ctx, *t, id, lang)
	if err != nil {
		return err
	}
	return s.archiveReport(w, r, t, archive.Request{Service: inspectionArea, Kind: inspectionArea, SourceID: id, Format: format, Doc: doc})
}

// inspectionEvidenceUpload attaches a file to an inspection item.
func (s *server) inspectionEvidenceUpload(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	t := state(r).tenant
	if s.opts.Attachments == nil {
		return store.ErrNotFound
	}
	id, item := chi.URLParam(r, "inspection"), chi.URLParam(r, "requirement")
	owner, err := s.opts.Assessments.InspectionEvidenceOwner(ctx, t.ID, id, item)
	if err != nil {
		return err
	}
	in, closer, err := attachmentInput(r)
	if err != nil {
		return err
	}
	defer closer.Close()
	if _, err := s.opts.Attachments.Add(ctx, auth.PermInspectWrite, owner, in); err != nil {
		return err
	}
	redirect(w, r, inspectionBase(t)+"/"+id+"?"+url.Values{"item": {item}, "object": {r.PostFormValue("object")}, "ok": {"saved"}}.Encode())
	return nil
}

// inspectionEvidenceDownload sends an evidence file as a download.
func (s *server) inspectionEvidenceDownload(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	t := state(r).tenant
	if s.opts.Attachments == nil {
		return store.ErrNotFound
	}
	owner, err := s.opts.Assessments.InspectionEvidenceOwner(ctx, t.ID, chi.URLParam(r, "inspection"), chi.URLParam(r, "requirement"))
	if err != nil {
		return err
	}
	a, data, err := s.opts.Attachments.Open(ctx, auth.PermAssessRead, owner, chi.URLParam(r, "insfile"))
	if err != nil {
		return err
	}
	return serveAttachment(w, a, data)
}

// compliance3MessageIDs lists the messages the inspection pages look up
// by key (Tk).
func compliance3MessageIDs() []string {
	return append([]string{"report_kind." + inspectionArea, "c3.state." + store.InspectionOpen, "c3.state." + store.InspectionClosed},
		compliance4MessageIDs()...)
}
