package web

import (
	"errors"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/vigil-sec/vigil/internal/archive"
	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/policy"
	"github.com/vigil-sec/vigil/internal/policyreview"
	"github.com/vigil-sec/vigil/internal/store"
)

// reviewPageSize is the number of reviews per list page.
const reviewPageSize = 25

// policyBase is the path of the policy optimisation service of a tenant.
func policyBase(t *store.Tenant) string { return "/t/" + t.Slug + "/operations/policy-optimisation" }

// reviewFields is the upload form as typed.
type reviewFields struct {
	Name, AssetID, Format, Family, Paste string
}

type reviewsPage struct {
	Base
	formState
	URL      string
	Reviews  []store.PolicyReview
	Assets   map[string]string // asset ID → name, for the device column and the form
	Devices  []store.Asset
	Formats  []string
	Form     reviewFields
	Pager    pager
	CanWrite bool
}

func (s *server) reviewsView(r *http.Request, f reviewFields) (*reviewsPage, error) {
	ctx := r.Context()
	t := state(r).tenant
	v := &reviewsPage{URL: policyBase(t), Formats: policy.Formats(), Form: f, Assets: map[string]string{},
		CanWrite: auth.FromContext(ctx).Can(auth.PermAssessWrite, t.ID)}
	pg := pageParam(r.URL.Query())
	list, total, err := s.opts.Reviews.List(ctx, t.ID, store.PolicyReviewFilter{
		Page: store.Page{Limit: reviewPageSize, Offset: (pg - 1) * reviewPageSize}})
	if err != nil {
		return nil, err
	}
	v.Reviews = list
	v.Pager = newPager(total, pg, reviewPageSize, func(n int) string { return v.URL + "?page=" + strconv.Itoa(n) })
	if auth.FromContext(ctx).Can(auth.PermAssetRead, t.ID) {
		// Devices first, then the other assets, for the form's select.
		assets, _, err := s.opts.Assets.List(ctx, t.ID, store.AssetFilter{Page: store.Page{Limit: store.MaxPageSize}})
		if err != nil {
			return nil, err
		}
		slices.SortStableFunc(assets, func(a, b store.Asset) int {
			return boolRank(a.Kind != "device") - boolRank(b.Kind != "device")
		})
		v.Devices = assets
		for _, a := range assets {
			v.Assets[a.ID] = a.Name
		}
	}
	return v, nil
}

func boolRank(b bool) int {
	if b {
		return 1
	}
	return 0
}

// reviewList lists a tenant's policy reviews with the upload form.
func (s *server) reviewList(w http.ResponseWriter, r *http.Request) error {
	v, err := s.reviewsView(r, reviewFields{Format: "iptables-save", Family: "4"})
	if err != nil {
		return err
	}
	s.render(w, r, http.StatusOK, "reviews", v)
	return nil
}

var reviewFormFields = []formField{{"name", "name"}, {"asset", "asset"}, {"format", "format"},
	{"family", "family"}, {"config", "config"}, {"hits", "hits"}, {"require", "require"}}

// reviewCreate analyses an uploaded (or pasted) configuration.
func (s *server) reviewCreate(w http.ResponseWriter, r *http.Request) error {
	t := state(r).tenant
	f := reviewFields{Name: r.PostFormValue("name"), AssetID: r.PostFormValue("asset"),
		Format: r.PostFormValue("format"), Family: r.PostFormValue("family"), Paste: r.PostFormValue("paste")}
	v, err := s.reviewsView(r, f)
	if err != nil {
		return err
	}
	tag := state(r).locale
	in := policyreview.Input{Name: f.Name, AssetID: f.AssetID, Format: f.Format}
	in.Family, _ = strconv.Atoi(f.Family)
	config, err := uploadedFile(r, "file", policyreview.MaxConfigBytes)
	switch {
	case errors.Is(err, errTooLarge):
		v.fieldError("config", s.msgs.T(tag, "policy.error.too_large"))
	case err != nil:
		return err
	case config == nil:
		config = []byte(strings.ReplaceAll(f.Paste, "\r\n", "\n"))
	}
	in.Config = config
	for _, opt := range []struct {
		name string
		dst  *[]byte
	}{{"hits", &in.Hits}, {"require", &in.Require}} {
		b, err := uploadedFile(r, opt.name, policyreview.MaxConfigBytes)
		switch {
		case errors.Is(err, errTooLarge):
			v.fieldError(opt.name, s.msgs.T(tag, "policy.error.too_large"))
		case err != nil:
			return err
		}
		*opt.dst = b
	}
	if days, err := strconv.Atoi(r.PostFormValue("window")); err == nil && days > 0 && days <= 730 {
		in.Window = time.Duration(days) * 24 * time.Hour
	}
	status := http.StatusUnprocessableEntity
	if !v.Invalid() {
		rev, err := s.opts.Reviews.Create(r.Context(), t.ID, in)
		if err == nil {
			redirect(w, r, policyBase(t)+"/"+rev.ID+"?ok=created")
			return nil
		}
		var ok bool
		if status, ok = s.formError(r, err, &v.formState, reviewFormFields); !ok {
			return err
		}
	}
	s.render(w, r, status, "reviews", v)
	return nil
}

// errTooLarge is an upload over its limit.
var errTooLarge = errors.New("upload too large")

// uploadedFile reads the named file of a multipart form, at most limit
// bytes; no file (or an empty one) is nil.
func uploadedFile(r *http.Request, name string, limit int64) ([]byte, error) {
	if r.MultipartForm == nil || len(r.MultipartForm.File[name]) == 0 {
		return nil, nil
	}
	fh := r.MultipartForm.File[name][0]
	if fh.Size > limit {
		return nil, errTooLarge
	}
	f, err := fh.Open()
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, errTooLarge
	}
	if len(b) == 0 {
		return nil, nil
	}
	return b, nil
}

// findingGroup is the findings of one kind.
type findingGroup struct {
	Kind     string
	Findings []policy.Finding
}

type reviewPage struct {
	Base
	URL          string
	Review       store.PolicyReview
	Result       policyreview.Result
	AssetName    string
	Groups       []findingGroup
	Observations []policy.Observation
	CanWrite     bool
}

// policyFindingKinds are the finding kinds the review page names in the
// user's language; other kinds (a parser's observation kinds) are shown as
// they are.
func policyFindingKinds() []string {
	return []string{"shadowed", "redundant", "over-broad", "not-analysed", "conflict", "unused", "stale",
		"missing", "violation", "logging-disabled", "no-security-profile"}
}

// kindOrder puts the finding kinds in the order a reviewer reads them.
var kindOrder = []string{policy.KindShadowed, policy.KindRedundant, policy.KindOverBroad}

func groupFindings(fs []policy.Finding) []findingGroup {
	by := map[string][]policy.Finding{}
	var kinds []string
	for _, f := range fs {
		if _, ok := by[f.Kind]; !ok {
			kinds = append(kinds, f.Kind)
		}
		by[f.Kind] = append(by[f.Kind], f)
	}
	rank := func(k string) int {
		if i := slices.Index(kindOrder, k); i >= 0 {
			return i
		}
		return len(kindOrder)
	}
	slices.SortStableFunc(kinds, func(a, b string) int { return rank(a) - rank(b) })
	out := make([]findingGroup, 0, len(kinds))
	for _, k := range kinds {
		out = append(out, findingGroup{Kind: k, Findings: by[k]})
	}
	return out
}

// reviewView shows one review: its figures, the findings grouped by kind
// and the actions on it.
func (s *server) reviewView(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	t := state(r).tenant
	rev, res, err := s.opts.Reviews.Get(ctx, t.ID, chi.URLParam(r, "review"))
	if err != nil {
		return err
	}
	p := auth.FromContext(ctx)
	v := &reviewPage{URL: policyBase(t) + "/" + rev.ID, Review: rev, Result: res, Groups: groupFindings(res.Findings),
		Observations: res.Observations, CanWrite: p.Can(auth.PermAssessWrite, t.ID)}
	if rev.AssetID != "" && p.Can(auth.PermAssetRead, t.ID) {
		if a, err := s.opts.Assets.Get(ctx, t.ID, rev.AssetID); err == nil {
			v.AssetName = a.Name
		}
	}
	s.render(w, r, http.StatusOK, "review", v)
	return nil
}

// reviewConfig downloads the configuration as uploaded, as an attachment
// of plain text so a browser never renders it.
func (s *server) reviewConfig(w http.ResponseWriter, r *http.Request) error {
	t := state(r).tenant
	rev, _, err := s.opts.Reviews.Get(r.Context(), t.ID, chi.URLParam(r, "review"))
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="config-`+rev.ID+`.txt"`)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	_, err = w.Write(rev.Config)
	return err
}

func (s *server) reviewAccept(w http.ResponseWriter, r *http.Request) error {
	t := state(r).tenant
	id := chi.URLParam(r, "review")
	if err := s.opts.Reviews.Accept(r.Context(), t.ID, id); err != nil {
		return err
	}
	redirect(w, r, policyBase(t)+"/"+id+"?ok=accepted")
	return nil
}

func (s *server) reviewDelete(w http.ResponseWriter, r *http.Request) error {
	t := state(r).tenant
	if err := s.opts.Reviews.Delete(r.Context(), t.ID, chi.URLParam(r, "review")); err != nil {
		return err
	}
	redirect(w, r, policyBase(t)+"?ok=deleted")
	return nil
}

// reviewReport generates the review's before/after report and archives it.
func (s *server) reviewReport(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	t := state(r).tenant
	format, lang, err := reportRequest(r)
	if err != nil {
		return err
	}
	doc, rev, err := s.opts.Reviews.ReportDocument(ctx, *t, chi.URLParam(r, "review"), lang)
	if err != nil {
		return err
	}
	return s.archiveReport(w, r, t, archive.Request{Service: "policy-optimisation",
		Kind: "policy-review", SourceID: rev.ID, Format: format, Doc: doc})
}

// reviewOptimised downloads the proposed configuration, for formats Vigil
// writes back.
func (s *server) reviewOptimised(w http.ResponseWriter, r *http.Request) error {
	t := state(r).tenant
	rev, res, err := s.opts.Reviews.Get(r.Context(), t.ID, chi.URLParam(r, "review"))
	if err != nil {
		return err
	}
	if res.Proposal == nil || res.Proposal.Optimised == "" {
		return store.ErrNotFound
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="optimised-`+rev.ID+`.txt"`)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	_, err = w.Write([]byte(res.Proposal.Optimised))
	return err
}
