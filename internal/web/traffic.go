package web

import (
	"io"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/vigil-sec/vigil/internal/archive"
	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/reportcentre"
	"github.com/vigil-sec/vigil/internal/store"
	"github.com/vigil-sec/vigil/internal/traffic/analyze"
	"github.com/vigil-sec/vigil/internal/traffic/risk"
)

// registerTraffic adds the traffic risk analysis pages.
func (s *server) registerTraffic(t string) {
	if s.opts.Traffic == nil {
		return
	}
	get, post := http.MethodGet, http.MethodPost
	base := t + "/operations/traffic-analysis"
	s.handle(get, base, inTenant(auth.PermEventRead), s.trafficList)
	s.handle(post, base, inTenant(auth.PermEventTriage), s.trafficUpload)
	s.handle(post, base+"/report", inTenant(auth.PermReportRead), s.trafficReport)
	s.handle(get, base+"/{analysis}", inTenant(auth.PermEventRead), s.trafficAnalysis)
	s.handle(get, base+"/{analysis}/findings/{finding}", inTenant(auth.PermEventRead), s.trafficFinding)
	s.handle(post, base+"/{analysis}/findings/{finding}", inTenant(auth.PermEventTriage), s.trafficMark)
	s.registerTrafficSettings(base)
}

func trafficBase(t *store.Tenant) string { return "/t/" + t.Slug + "/operations/traffic-analysis" }

type trafficPage struct {
	Base
	formState
	URL       string
	Analyses  []store.TrafficAnalysis
	Kinds     []string
	Kind      string
	From, To  string
	CanWrite  bool
	CanReport bool
}

func (s *server) trafficView(r *http.Request) (*trafficPage, error) {
	ctx := r.Context()
	t := state(r).tenant
	p := auth.FromContext(ctx)
	now := time.Now().UTC()
	v := &trafficPage{URL: trafficBase(t), Kinds: risk.Kinds(), Kind: risk.KindZeek,
		From: now.AddDate(0, -1, 0).Format(time.DateOnly), To: now.Format(time.DateOnly),
		CanWrite: p.Can(auth.PermEventTriage, t.ID), CanReport: p.Can(auth.PermReportRead, t.ID)}
	var err error
	if v.Analyses, err = s.opts.Traffic.List(ctx, t.ID, store.Page{Limit: 100}); err != nil {
		return nil, err
	}
	return v, nil
}

func (s *server) trafficList(w http.ResponseWriter, r *http.Request) error {
	v, err := s.trafficView(r)
	if err != nil {
		return err
	}
	s.render(w, r, http.StatusOK, "traffic", v)
	return nil
}

// trafficUpload stores the uploaded files as an analysis for the workers.
func (s *server) trafficUpload(w http.ResponseWriter, r *http.Request) error {
	t := state(r).tenant
	v, err := s.trafficView(r)
	if err != nil {
		return err
	}
	v.Kind = r.PostFormValue("kind")
	var files []risk.File
	total := int64(0)
	if r.MultipartForm != nil {
		for _, fh := range r.MultipartForm.File["files"] {
			total += fh.Size
			if total > risk.MaxUpload {
				v.fieldError("files", s.msgs.T(state(r).locale, "policy.error.too_large"))
				break
			}
			f, err := fh.Open()
			if err != nil {
				return err
			}
			b, err := io.ReadAll(io.LimitReader(f, risk.MaxUpload+1))
			_ = f.Close()
			if err != nil {
				return err
			}
			files = append(files, risk.File{Name: fh.Filename, Data: b})
		}
	}
	status := http.StatusUnprocessableEntity
	if !v.Invalid() {
		a, err := s.opts.Traffic.Upload(r.Context(), t.ID, v.Kind, files)
		if err == nil {
			redirect(w, r, v.URL+"/"+a.ID+"?ok=created")
			return nil
		}
		var ok bool
		if status, ok = s.formError(r, err, &v.formState, []formField{{"kind", "kind"}, {"files", "files"}}); !ok {
			return err
		}
	}
	s.render(w, r, status, "traffic", v)
	return nil
}

// trafficReport generates the traffic risk report of a period.
func (s *server) trafficReport(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	t := state(r).tenant
	format, lang, err := reportRequest(r)
	if err != nil {
		return err
	}
	from, ferr := time.Parse(time.DateOnly, r.PostFormValue("from"))
	to, terr := time.Parse(time.DateOnly, r.PostFormValue("to"))
	if ferr != nil || terr != nil {
		return store.NewFieldError("from", store.CodeInvalidDate, nil, "give the period as two dates")
	}
	to = to.AddDate(0, 0, 1)
	if !to.After(from) {
		return store.NewFieldError("to", store.CodeEndBeforeStart, nil, "the period must end after it starts")
	}
	doc, err := s.opts.Traffic.ReportDocument(ctx, *t, from, to, lang)
	if err != nil {
		return err
	}
	return s.archiveReport(w, r, t, archive.Request{Service: "traffic-analysis", Kind: "traffic-analysis",
		SourceID: reportcentre.PeriodKey(from, to), Format: format, Doc: doc})
}

// trafficCategory is one category's findings on the analysis page.
type trafficCategory struct {
	Code     string
	Findings []store.TrafficFinding
	Total    int
}

type trafficAnalysisPage struct {
	Base
	URL        string
	Analysis   store.TrafficAnalysis
	Summary    risk.Summary
	Categories []trafficCategory
	AlertScore float64
}

// trafficPerCategory bounds the findings listed per category.
const trafficPerCategory = 200

func (s *server) trafficAnalysis(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	t := state(r).tenant
	a, sum, err := s.opts.Traffic.Get(ctx, t.ID, chi.URLParam(r, "analysis"))
	if err != nil {
		return err
	}
	v := &trafficAnalysisPage{URL: trafficBase(t) + "/" + a.ID, Analysis: a, Summary: sum, AlertScore: s.opts.Traffic.AlertScore()}
	for _, c := range risk.Categories() {
		f := store.TrafficFindingFilter{AnalysisID: a.ID, Category: c, Page: store.Page{Limit: trafficPerCategory}}
		fs, err := s.opts.Traffic.Findings(ctx, t.ID, f)
		if err != nil {
			return err
		}
		n, err := s.opts.Traffic.CountFindings(ctx, t.ID, f)
		if err != nil {
			return err
		}
		v.Categories = append(v.Categories, trafficCategory{Code: c, Findings: fs, Total: n})
	}
	s.render(w, r, http.StatusOK, "traffic_analysis", v)
	return nil
}

type trafficFindingPage struct {
	Base
	formState
	URL       string
	Analysis  string
	Finding   store.TrafficFinding
	Detail    analyze.Finding
	Host      string
	Events    []analyze.Event
	Truncated bool
	States    []string
	CanWrite  bool
}

// trafficShownEvents bounds the trace lines on the finding page.
const trafficShownEvents = 1000

func (s *server) trafficFinding(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	t := state(r).tenant
	aid := chi.URLParam(r, "analysis")
	f, detail, err := s.opts.Traffic.Finding(ctx, t.ID, chi.URLParam(r, "finding"))
	if err != nil {
		return err
	}
	if f.AnalysisID != aid {
		return store.ErrNotFound
	}
	events, truncated, err := s.opts.Traffic.Trace(ctx, t.ID, f.ID)
	if err != nil {
		return err
	}
	if len(events) > trafficShownEvents {
		events, truncated = events[:trafficShownEvents], true
	}
	v := &trafficFindingPage{URL: trafficBase(t) + "/" + aid, Analysis: aid, Finding: f, Detail: detail, Host: risk.Host(f),
		Events: events, Truncated: truncated, States: risk.States(), CanWrite: auth.FromContext(ctx).Can(auth.PermEventTriage, t.ID)}
	s.render(w, r, http.StatusOK, "traffic_finding", v)
	return nil
}

// trafficMark records the analyst's state on a finding.
func (s *server) trafficMark(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	t := state(r).tenant
	aid, fid := chi.URLParam(r, "analysis"), chi.URLParam(r, "finding")
	f, _, err := s.opts.Traffic.Finding(ctx, t.ID, fid)
	if err != nil {
		return err
	}
	if f.AnalysisID != aid {
		return store.ErrNotFound
	}
	if err := s.opts.Traffic.Mark(ctx, t.ID, fid, r.PostFormValue("state"), r.PostFormValue("note")); err != nil {
		return err
	}
	redirect(w, r, trafficBase(t)+"/"+aid+"/findings/"+fid+"?ok=saved")
	return nil
}
