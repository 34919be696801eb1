package web

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/vigil-sec/vigil/internal/archive"
	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/baseline"
	"github.com/vigil-sec/vigil/internal/baseline/hardening"
	"github.com/vigil-sec/vigil/internal/baseline/policies"
	"github.com/vigil-sec/vigil/internal/store"
)

// baselineBase is the baseline service area of a tenant.
func baselineBase(t *store.Tenant) string { return "/t/" + t.Slug + "/operations/baseline" }

// baselineMessageIDs are the message IDs the baseline pages build from
// data or name in Go code.
func baselineMessageIDs() []string {
	ids := []string{"baseline.error.too_large", "baseline.error.no_file", "baseline.error.number"}
	ids = append(ids, baselineManualMessageIDs...)
	for prefix, keys := range map[string][]string{
		"baseline.source": hardening.Sources(), "baseline.state": hardening.States(), "baseline.result": hardening.Results(),
		"baseline.change": {"newly-passing", "newly-failing", "still-failing", "changed", "added", "removed"},
	} {
		for _, k := range keys {
			ids = append(ids, prefix+"."+k)
		}
	}
	return ids
}

// registerBaseline adds the baseline pages when the service is configured.
func (s *server) registerBaseline(t string) {
	if s.opts.Baseline == nil {
		return
	}
	get, post := http.MethodGet, http.MethodPost
	read, write := inTenant(auth.PermAssessRead), inTenant(auth.PermAssessWrite)
	b := t + "/operations/baseline"
	s.handle(get, b, inTenant(auth.PermTenantRead), s.baselineOverview) // checks assessment.read itself
	s.handle(post, b+"/upload", write, s.baselineUpload)
	s.handle(post, b+"/report", inTenant(auth.PermReportRead), s.baselineReport)
	s.handle(get, b+"/assets/{asset}", read, s.baselineAsset)
	s.handle(get, b+"/runs/{brun}", read, s.baselineRun)
	s.handle(get, b+"/runs/{brun}/files/{attachment}", read, s.baselineRunFile)
	s.handle(get, b+"/manual", write, s.baselineManual)
	s.handle(post, b+"/manual", write, s.baselineManualSave)
	s.handle(get, b+"/diff", read, s.baselineDiff)
	s.handle(get, b+"/hardening", read, s.hardeningList)
	s.handle(post, b+"/hardening", write, s.hardeningPropose)
	s.handle(post, b+"/hardening/{item}/{decision}", write, s.hardeningDecide)
	s.handle(get, b+"/schedules", read, s.baselineSchedules)
	s.handle(post, b+"/schedules", write, s.baselineScheduleSave)
	s.handle(post, b+"/schedules/{schedule}/run", write, s.baselineScheduleRun)
	s.handle(post, b+"/schedules/{schedule}/delete", write, s.baselineScheduleDelete)
}

// assetCompliance is a row of the overview.
type assetCompliance struct {
	hardening.AssetCompliance
	Spark string // polyline points of the trend, "" for fewer than two runs
}

type baselineOverviewPage struct {
	Base
	formState
	URL      string
	Overview hardening.Overview
	Rows     []assetCompliance
	Assets   []store.Asset
	Policies []policies.Info
	Form     baselineUploadFields
	CanWrite bool
}

type baselineUploadFields struct{ AssetID, Policy string }

// spark draws scores (0 to 100) as the points of a 100×24 polyline.
func spark(scores []float64) string {
	if len(scores) < 2 {
		return ""
	}
	var b strings.Builder
	step := 100 / float64(len(scores)-1)
	for i, v := range scores {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%.1f,%.1f", float64(i)*step, 22-v*0.2)
	}
	return b.String()
}

func (s *server) baselineOverviewView(r *http.Request, f baselineUploadFields) (*baselineOverviewPage, error) {
	ctx := r.Context()
	t := state(r).tenant
	ov, err := s.opts.Baseline.Overview(ctx, t.ID)
	if err != nil {
		return nil, err
	}
	v := &baselineOverviewPage{URL: baselineBase(t), Overview: ov, Policies: policies.List(), Form: f,
		CanWrite: auth.FromContext(ctx).Can(auth.PermAssessWrite, t.ID)}
	for _, a := range ov.Assets {
		v.Rows = append(v.Rows, assetCompliance{AssetCompliance: a, Spark: spark(a.Trend)})
	}
	if v.CanWrite && auth.FromContext(ctx).Can(auth.PermAssetRead, t.ID) {
		if v.Assets, _, err = s.opts.Assets.List(ctx, t.ID, store.AssetFilter{Page: store.Page{Limit: store.MaxPageSize}}); err != nil {
			return nil, err
		}
	}
	return v, nil
}

// baselineOverview is the tenant's compliance: every asset with its last
// score, compliance and trend, and the upload form.
func (s *server) baselineOverview(w http.ResponseWriter, r *http.Request) error {
	t := state(r).tenant
	if !auth.FromContext(r.Context()).Can(auth.PermAssessRead, t.ID) {
		for _, a := range s.areas {
			if a.Key == "baseline" {
				return s.comingSoon(a)(w, r)
			}
		}
		return auth.ErrForbidden
	}
	v, err := s.baselineOverviewView(r, baselineUploadFields{})
	if err != nil {
		return err
	}
	s.render(w, r, http.StatusOK, "baseline", v)
	return nil
}

var baselineUploadFormFields = []formField{{"asset", "asset"}, {"policy", "policy"}, {"file", "file"}}

// baselineUpload evaluates an uploaded offline result on an asset.
func (s *server) baselineUpload(w http.ResponseWriter, r *http.Request) error {
	t := state(r).tenant
	f := baselineUploadFields{AssetID: r.PostFormValue("asset"), Policy: r.PostFormValue("policy")}
	v, err := s.baselineOverviewView(r, f)
	if err != nil {
		return err
	}
	data, err := uploadedFile(r, "file", hardening.MaxBundleBytes)
	switch {
	case errors.Is(err, errTooLarge):
		v.fieldError("file", s.msgs.T(state(r).locale, "baseline.error.too_large"))
	case err != nil:
		return err
	case data == nil:
		v.fieldError("file", s.msgs.T(state(r).locale, "baseline.error.no_file"))
	}
	status := http.StatusUnprocessableEntity
	if !v.Invalid() {
		run, err := s.opts.Baseline.Upload(r.Context(), t.ID, f.AssetID, f.Policy, bytes.NewReader(data))
		if err == nil {
			redirect(w, r, baselineBase(t)+"/runs/"+run.ID+"?ok=created")
			return nil
		}
		var ok bool
		if status, ok = s.formError(r, err, &v.formState, baselineUploadFormFields); !ok {
			return err
		}
	}
	s.render(w, r, status, "baseline", v)
	return nil
}

// baselineReport renders the tenant's baseline report and archives it.
func (s *server) baselineReport(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	t := state(r).tenant
	format, lang, err := reportRequest(r)
	if err != nil {
		return err
	}
	doc, err := s.opts.Baseline.ReportDocument(ctx, *t, lang)
	if err != nil {
		return err
	}
	return s.archiveReport(w, r, t, archive.Request{Service: "baseline", Kind: "baseline",
		Format: format, Doc: doc})
}

type baselineAssetPage struct {
	Base
	URL   string
	Asset store.Asset
	Runs  []store.BaselineRun
	Pager pager
}

// baselineRunPageSize is the number of runs per page of an asset.
const baselineRunPageSize = 50

// baselineAsset lists the runs of one asset, with the form to compare two.
func (s *server) baselineAsset(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	t := state(r).tenant
	a, err := s.opts.Assets.Get(ctx, t.ID, chi.URLParam(r, "asset"))
	if err != nil {
		return err
	}
	pg := pageParam(r.URL.Query())
	runs, err := s.opts.Baseline.Runs(ctx, t.ID, store.BaselineRunFilter{AssetID: a.ID,
		Page: store.Page{Limit: baselineRunPageSize + 1, Offset: (pg - 1) * baselineRunPageSize}})
	if err != nil {
		return err
	}
	v := &baselineAssetPage{URL: baselineBase(t), Asset: a}
	total := (pg-1)*baselineRunPageSize + len(runs)
	if len(runs) > baselineRunPageSize {
		runs = runs[:baselineRunPageSize]
	}
	v.Runs = runs
	self := v.URL + "/assets/" + a.ID
	v.Pager = newPager(total, pg, baselineRunPageSize, func(n int) string { return self + "?page=" + strconv.Itoa(n) })
	s.render(w, r, http.StatusOK, "baseline_asset", v)
	return nil
}

type baselineRunPage struct {
	Base
	URL      string
	Run      store.BaselineRun
	Asset    store.Asset
	Checks   []store.BaselineCheck
	Results  []string
	Result   string // the result filter
	Query    string
	Open     map[string]string // check id → state of its open hardening item
	CanWrite bool
	// Files are the evidence files of a manual run by check id.
	Files map[string][]store.Attachment
}

// baselineRun shows a run's check results, filtered by result and text.
func (s *server) baselineRun(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	t := state(r).tenant
	q := r.URL.Query()
	v := &baselineRunPage{URL: baselineBase(t), Results: hardening.Results(), Result: q.Get("result"), Query: q.Get("q"),
		Open: map[string]string{}, CanWrite: auth.FromContext(ctx).Can(auth.PermAssessWrite, t.ID)}
	if len(v.Query) > 200 {
		v.Query = v.Query[:200]
	}
	var err error
	v.Run, v.Checks, err = s.opts.Baseline.Run(ctx, t.ID, chi.URLParam(r, "brun"), store.BaselineCheckFilter{Result: v.Result, Query: v.Query})
	if err != nil {
		return err
	}
	if v.Asset, err = s.opts.Assets.Get(ctx, t.ID, v.Run.AssetID); err != nil {
		return err
	}
	items, err := s.opts.Baseline.HardeningItems(ctx, t.ID, store.HardeningFilter{AssetID: v.Run.AssetID, Page: store.Page{Limit: store.MaxPageSize}})
	if err != nil {
		return err
	}
	for _, h := range items {
		if h.PolicyID == v.Run.PolicyID && h.State != store.HardeningRejected && h.State != store.HardeningVerified {
			v.Open[h.CheckID] = h.State
		}
	}
	if v.Files, err = s.baselineRunFiles(r, v.Run); err != nil {
		return err
	}
	s.render(w, r, http.StatusOK, "baseline_run", v)
	return nil
}

type baselineDiffPage struct {
	Base
	URL    string
	Asset  store.Asset
	C      hardening.Comparison
	Groups []diffGroup
}

// diffGroup is one list of a comparison; Key names it (baseline.change.*).
type diffGroup struct {
	Key  string
	Rows []baseline.CheckChange
}

// baselineDiff compares two runs of one asset and policy.
func (s *server) baselineDiff(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	t := state(r).tenant
	q := r.URL.Query()
	if q.Get("from") == "" || q.Get("to") == "" {
		// Nothing chosen: runs are compared from an asset's page.
		redirect(w, r, baselineBase(t))
		return nil
	}
	c, err := s.opts.Baseline.Compare(ctx, t.ID, q.Get("from"), q.Get("to"))
	if err != nil {
		return err
	}
	a, err := s.opts.Assets.Get(ctx, t.ID, c.To.AssetID)
	if err != nil {
		return err
	}
	d := c.Diff
	s.render(w, r, http.StatusOK, "baseline_diff", &baselineDiffPage{URL: baselineBase(t), Asset: a, C: c, Groups: []diffGroup{
		{"newly-passing", d.NewlyPassing}, {"newly-failing", d.NewlyFailing}, {"still-failing", d.StillFailing},
		{"changed", d.Changed}, {"added", d.Added}, {"removed", d.Removed}}})
	return nil
}

type hardeningPage struct {
	Base
	URL      string
	Items    []store.HardeningItem
	Assets   map[string]string
	States   []string
	State    string
	MyID     string
	CanWrite bool
}

// hardeningList lists hardening items with their approval forms.
func (s *server) hardeningList(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	t := state(r).tenant
	p := auth.FromContext(ctx)
	v := &hardeningPage{URL: baselineBase(t), States: hardening.States(), State: r.URL.Query().Get("state"), Assets: map[string]string{},
		MyID: p.UserID, CanWrite: p.Can(auth.PermAssessWrite, t.ID)}
	var err error
	if v.Items, err = s.opts.Baseline.HardeningItems(ctx, t.ID, store.HardeningFilter{State: v.State, Page: store.Page{Limit: store.MaxPageSize}}); err != nil {
		return err
	}
	for _, h := range v.Items {
		if _, ok := v.Assets[h.AssetID]; !ok {
			a, err := s.opts.Assets.Get(ctx, t.ID, h.AssetID)
			if err != nil {
				return err
			}
			v.Assets[h.AssetID] = a.Name
		}
	}
	s.render(w, r, http.StatusOK, "baseline_hardening", v)
	return nil
}

// hardeningPropose proposes a fix for a failed check of a run.
func (s *server) hardeningPropose(w http.ResponseWriter, r *http.Request) error {
	t := state(r).tenant
	fix := strings.ReplaceAll(r.PostFormValue("fix"), "\r\n", "\n")
	h, err := s.opts.Baseline.Propose(r.Context(), t.ID, r.PostFormValue("run"), r.PostFormValue("check"), fix)
	if err != nil {
		return err
	}
	redirect(w, r, baselineBase(t)+"/hardening?ok=created#item-"+h.ID)
	return nil
}

// hardeningDecide approves, rejects or marks applied one item.
func (s *server) hardeningDecide(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	t := state(r).tenant
	id := chi.URLParam(r, "item")
	version, err := strconv.Atoi(r.PostFormValue("version"))
	if err != nil {
		return errInvalid("the form is missing the item version; reload the page")
	}
	switch chi.URLParam(r, "decision") {
	case "approve":
		_, err = s.opts.Baseline.Decide(ctx, t.ID, id, true, r.PostFormValue("reason"), version)
	case "reject":
		_, err = s.opts.Baseline.Decide(ctx, t.ID, id, false, r.PostFormValue("reason"), version)
	case "applied":
		_, err = s.opts.Baseline.Applied(ctx, t.ID, id, version)
	default:
		return store.ErrNotFound
	}
	if err != nil {
		return err
	}
	redirect(w, r, baselineBase(t)+"/hardening?ok=saved#item-"+id)
	return nil
}

type baselineSchedulesPage struct {
	Base
	formState
	URL       string
	Schedules []store.BaselineSchedule
	Assets    []store.Asset
	Names     map[string]string
	Secrets   []store.Secret
	Policies  []policies.Info
	Form      scheduleFields
	CanWrite  bool
}

type scheduleFields struct {
	AssetID, Policy, SecretID, Username, Port, HostKey, Hours string
}

func (s *server) baselineSchedulesView(r *http.Request, f scheduleFields) (*baselineSchedulesPage, error) {
	ctx := r.Context()
	t := state(r).tenant
	v := &baselineSchedulesPage{URL: baselineBase(t), Form: f, Names: map[string]string{},
		CanWrite: auth.FromContext(ctx).Can(auth.PermAssessWrite, t.ID)}
	// Network device policies are scheduled too: their runs read the
	// running configuration from the device's CLI.
	v.Policies = policies.List()
	var err error
	if v.Schedules, err = s.opts.Baseline.Schedules(ctx, t.ID); err != nil {
		return nil, err
	}
	assets, _, err := s.opts.Assets.List(ctx, t.ID, store.AssetFilter{Page: store.Page{Limit: store.MaxPageSize}})
	if err != nil {
		return nil, err
	}
	v.Assets = assets
	for _, a := range assets {
		v.Names[a.ID] = a.Name
	}
	if v.CanWrite {
		secs, err := s.opts.Store.Secrets().List(ctx, t.ID)
		if err != nil {
			return nil, err
		}
		for _, sec := range secs {
			if sec.Kind == "ssh-key" || sec.Kind == "password" {
				sec.Ciphertext = nil
				v.Secrets = append(v.Secrets, sec)
			}
		}
	}
	return v, nil
}

// baselineSchedules lists the scheduled SSH checks with the form to add one.
func (s *server) baselineSchedules(w http.ResponseWriter, r *http.Request) error {
	v, err := s.baselineSchedulesView(r, scheduleFields{Port: "22", Hours: "24"})
	if err != nil {
		return err
	}
	s.render(w, r, http.StatusOK, "baseline_schedules", v)
	return nil
}

var scheduleFormFields = []formField{{"asset", "asset"}, {"policy", "policy"}, {"secret", "secret"}, {"username", "username"},
	{"port", "port"}, {"host_key", "host_key"}, {"interval", "hours"}}

// baselineScheduleSave adds a schedule.
func (s *server) baselineScheduleSave(w http.ResponseWriter, r *http.Request) error {
	t := state(r).tenant
	f := scheduleFields{AssetID: r.PostFormValue("asset"), Policy: r.PostFormValue("policy"), SecretID: r.PostFormValue("secret"),
		Username: r.PostFormValue("username"), Port: r.PostFormValue("port"), HostKey: r.PostFormValue("host_key"), Hours: r.PostFormValue("hours")}
	v, err := s.baselineSchedulesView(r, f)
	if err != nil {
		return err
	}
	tag := state(r).locale
	port, ok := atoi(f.Port)
	if !ok {
		v.fieldError("port", s.msgs.T(tag, "baseline.error.number"))
	}
	hours, ok := atoi(f.Hours)
	if !ok {
		v.fieldError("hours", s.msgs.T(tag, "baseline.error.number"))
	}
	status := http.StatusUnprocessableEntity
	if !v.Invalid() {
		_, err := s.opts.Baseline.SaveSchedule(r.Context(), t.ID, "", hardening.ScheduleInput{AssetID: f.AssetID, Policy: f.Policy,
			Interval: time.Duration(hours) * time.Hour, SecretID: f.SecretID, Username: f.Username, Port: port, HostKey: f.HostKey, Enabled: true})
		if err == nil {
			redirect(w, r, baselineBase(t)+"/schedules?ok=created")
			return nil
		}
		if status, ok = s.formError(r, err, &v.formState, scheduleFormFields); !ok {
			return err
		}
	}
	s.render(w, r, status, "baseline_schedules", v)
	return nil
}

// baselineScheduleRun runs a schedule's check now.
func (s *server) baselineScheduleRun(w http.ResponseWriter, r *http.Request) error {
	t := state(r).tenant
	run, err := s.opts.Baseline.RunSchedule(r.Context(), t.ID, chi.URLParam(r, "schedule"))
	if err != nil {
		if errors.Is(err, store.ErrNotFound) || errors.Is(err, auth.ErrForbidden) {
			return err
		}
		// The failure is recorded on the schedule and shown in its row.
		redirect(w, r, baselineBase(t)+"/schedules?failed="+url.QueryEscape(chi.URLParam(r, "schedule")))
		return nil
	}
	redirect(w, r, baselineBase(t)+"/runs/"+run.ID+"?ok=created")
	return nil
}

// baselineScheduleDelete removes a schedule.
func (s *server) baselineScheduleDelete(w http.ResponseWriter, r *http.Request) error {
	t := state(r).tenant
	if err := s.opts.Baseline.DeleteSchedule(r.Context(), t.ID, chi.URLParam(r, "schedule")); err != nil {
		return err
	}
	redirect(w, r, baselineBase(t)+"/schedules?ok=deleted")
	return nil
}
