package web

import (
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/vigil-sec/vigil/internal/archive"
	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/compromise"
	"github.com/vigil-sec/vigil/internal/incident"
	"github.com/vigil-sec/vigil/internal/incident/playbook"
	"github.com/vigil-sec/vigil/internal/store"
	"github.com/vigil-sec/vigil/internal/weblog"
)

func compromiseBase(t *store.Tenant) string { return "/t/" + t.Slug + "/operations/app-compromise" }

type compromisePage struct {
	Base
	formState
	URL      string
	Runs     []store.WeblogRun
	Systems  []store.Asset
	Names    map[string]string
	CanWrite bool
}

func (s *server) compromiseView(r *http.Request) (*compromisePage, error) {
	ctx := r.Context()
	t := state(r).tenant
	v := &compromisePage{URL: compromiseBase(t), Names: map[string]string{}, CanWrite: auth.FromContext(ctx).Can(auth.PermEventTriage, t.ID)}
	var err error
	if v.Runs, err = s.opts.Compromise.List(ctx, t.ID, store.Page{Limit: 50}); err != nil {
		return nil, err
	}
	if auth.FromContext(ctx).Can(auth.PermAssetRead, t.ID) {
		for _, kind := range []string{"application", "url", "host"} {
			as, _, err := s.opts.Assets.List(ctx, t.ID, store.AssetFilter{Kind: kind, Page: store.Page{Limit: store.MaxPageSize}})
			if err != nil {
				return nil, err
			}
			v.Systems = append(v.Systems, as...)
		}
		for _, a := range v.Systems {
			v.Names[a.ID] = a.Name
		}
	}
	return v, nil
}

func (s *server) compromiseList(w http.ResponseWriter, r *http.Request) error {
	v, err := s.compromiseView(r)
	if err != nil {
		return err
	}
	s.render(w, r, http.StatusOK, "compromise", v)
	return nil
}

// compromiseAnalyze analyses the uploaded access logs of a system.
func (s *server) compromiseAnalyze(w http.ResponseWriter, r *http.Request) error {
	t := state(r).tenant
	v, err := s.compromiseView(r)
	if err != nil {
		return err
	}
	var files []compromise.File
	total := int64(0)
	if r.MultipartForm != nil {
		for _, fh := range r.MultipartForm.File["files"] {
			total += fh.Size
			if total > compromise.MaxUpload {
				v.fieldError("files", s.msgs.T(state(r).locale, "policy.error.too_large"))
				break
			}
			f, err := fh.Open()
			if err != nil {
				return err
			}
			b, err := io.ReadAll(io.LimitReader(f, compromise.MaxUpload+1))
			_ = f.Close()
			if err != nil {
				return err
			}
			files = append(files, compromise.File{Name: fh.Filename, Data: b})
		}
	}
	status := http.StatusUnprocessableEntity
	if !v.Invalid() {
		run, err := s.opts.Compromise.Analyze(r.Context(), t.ID, r.PostFormValue("asset"), files)
		if err == nil {
			redirect(w, r, v.URL+"/"+run.ID+"?ok=created")
			return nil
		}
		var ok bool
		if status, ok = s.formError(r, err, &v.formState, []formField{{"asset", "asset"}, {"files", "files"}}); !ok {
			return err
		}
	}
	s.render(w, r, status, "compromise", v)
	return nil
}

// hitRow is one hit with its index and mark.
type hitRow struct {
	Index int
	weblog.Hit
	Mark string
}

type compromiseRunPage struct {
	Base
	formState
	URL      string
	Run      store.WeblogRun
	Result   compromise.Result
	Hits     []hitRow
	Verdicts []string
	CanWrite bool
	CanJudge bool
	// CanOpenCase offers to open an incident with a "compromised" verdict.
	CanOpenCase bool
}

func (s *server) compromiseRunView(r *http.Request) (*compromiseRunPage, error) {
	ctx := r.Context()
	t := state(r).tenant
	run, res, marks, err := s.opts.Compromise.Get(ctx, t.ID, chi.URLParam(r, "analysis"))
	if err != nil {
		return nil, err
	}
	p := auth.FromContext(ctx)
	v := &compromiseRunPage{URL: compromiseBase(t) + "/" + run.ID, Run: run, Result: res, Verdicts: compromise.Verdicts(),
		CanWrite: p.Can(auth.PermEventTriage, t.ID), CanJudge: p.Can(auth.PermIncidentWrite, t.ID),
		CanOpenCase: p.Can(auth.PermIncidentWrite, t.ID) && s.opts.Incidents != nil}
	for i, h := range res.Hits {
		if i == 500 {
			break
		}
		v.Hits = append(v.Hits, hitRow{Index: i, Hit: h, Mark: marks[i].Mark})
	}
	return v, nil
}

func (s *server) compromiseRun(w http.ResponseWriter, r *http.Request) error {
	v, err := s.compromiseRunView(r)
	if err != nil {
		return err
	}
	s.render(w, r, http.StatusOK, "compromise_run", v)
	return nil
}

// compromiseMark marks the checked hits.
func (s *server) compromiseMark(w http.ResponseWriter, r *http.Request) error {
	t := state(r).tenant
	id := chi.URLParam(r, "analysis")
	var hits []int
	for _, h := range r.PostForm["hit"] {
		if n, err := strconv.Atoi(h); err == nil {
			hits = append(hits, n)
		}
	}
	if err := s.opts.Compromise.Mark(r.Context(), t.ID, id, hits, r.PostFormValue("mark"), r.PostFormValue("note"),
		r.PostFormValue("exclude") == "1"); err != nil {
		return err
	}
	redirect(w, r, compromiseBase(t)+"/"+id+"?ok=saved")
	return nil
}

// compromiseVerdict records the expert's verdict.
func (s *server) compromiseVerdict(w http.ResponseWriter, r *http.Request) error {
	t := state(r).tenant
	id := chi.URLParam(r, "analysis")
	verdict, note := r.PostFormValue("verdict"), r.PostFormValue("note")
	if err := s.opts.Compromise.SetVerdict(r.Context(), t.ID, id, verdict, note); err != nil {
		return err
	}
	if verdict == string(weblog.VerdictCompromised) && r.PostFormValue("open_case") == "on" && s.opts.Incidents != nil {
		c, err := s.caseFromVerdict(r, id, note)
		if err != nil {
			return err
		}
		redirect(w, r, "/t/"+t.Slug+"/incidents/"+c.ID)
		return nil
	}
	redirect(w, r, compromiseBase(t)+"/"+id+"?ok=saved")
	return nil
}

// maxCaseObservables bounds the attacking addresses a case opened from a
// verdict lists.
const maxCaseObservables = 20

// caseFromVerdict opens an incident for a system the expert judged
// compromised: the system's asset, the techniques and the addresses of the
// strongest hits, and a link back to the analysis.
func (s *server) caseFromVerdict(r *http.Request, runID, note string) (store.Incident, error) {
	ctx := r.Context()
	t := state(r).tenant
	run, res, _, err := s.opts.Compromise.Get(ctx, t.ID, runID)
	if err != nil {
		return store.Incident{}, err
	}
	hits := slices.Clone(res.Hits)
	slices.SortStableFunc(hits, func(a, b weblog.Hit) int { return b.Score - a.Score })
	var techniques []string
	var obs []incident.ObservableInput
	seen := map[string]bool{}
	for _, h := range hits {
		for _, tq := range h.Techniques {
			if !slices.Contains(techniques, tq) && len(techniques) < 20 {
				techniques = append(techniques, tq)
			}
		}
		if h.ClientIP != "" && !seen[h.ClientIP] && len(obs) < maxCaseObservables {
			seen[h.ClientIP] = true
			obs = append(obs, incident.ObservableInput{Type: "ip", Value: h.ClientIP, IOC: true,
				Description: clipText(fmt.Sprintf("%s %s (score %d)", h.Category, h.Request, h.Score), 500), FirstSeen: h.Time})
		}
	}
	desc := fmt.Sprintf("The expert judged the web system %q compromised after the access-log analysis %q (%s).", res.System, run.Name,
		compromiseBase(t)+"/"+run.ID)
	if strings.TrimSpace(note) != "" {
		desc += "\n\n" + note
	}
	in := incident.Input{Title: clipText("Web application compromised: "+res.System, 280), Description: desc, Severity: "high",
		Category: playbook.CategoryIntrusion, Techniques: techniques}
	if run.AssetID != "" {
		in.AssetIDs = []string{run.AssetID}
	}
	c, err := s.opts.Incidents.Create(ctx, t.ID, in)
	if err != nil {
		return store.Incident{}, err
	}
	if len(obs) > 0 {
		if _, err := s.opts.Incidents.AddObservables(ctx, t.ID, c.ID, obs); err != nil {
			return c, err
		}
	}
	return c, nil
}

// compromiseReport generates the per-system report.
func (s *server) compromiseReport(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	t := state(r).tenant
	format, lang, err := reportRequest(r)
	if err != nil {
		return err
	}
	id := chi.URLParam(r, "analysis")
	doc, err := s.opts.Compromise.ReportDocument(ctx, *t, id, lang)
	if err != nil {
		return err
	}
	return s.archiveReport(w, r, t, archive.Request{Service: "app-compromise", Kind: "app-compromise",
		SourceID: id, Format: format, Doc: doc})
}
