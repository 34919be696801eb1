package web

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/store"
	"github.com/vigil-sec/vigil/internal/vuln"
	"github.com/vigil-sec/vigil/internal/vuln/lifecycle"
)

// vulnPageSize is the number of findings per list page.
const vulnPageSize = 50

func vulnBase(t *store.Tenant) string { return "/t/" + t.Slug + "/vulnerabilities" }

// vulnFilter is the filter bar as typed.
type vulnFilter struct {
	State, Severity, Q string
	KEV, Overdue       bool
}

// vulnRow is one finding in the list.
type vulnRow struct {
	store.VulnFinding
	Overdue bool
}

type vulnsPage struct {
	Base
	formState
	URL        string
	Filter     vulnFilter
	States     []string
	Severities []string
	Formats    []string
	Rows       []vulnRow
	Total      int
	// Capped is the count limit, digits grouped ("10,000"), when the
	// count stopped at it; the page then shows "10,000+".
	Capped   string
	Pager    pager
	Scans    []store.VulnScan
	Counts   []sevCount
	CanWrite bool
	// Bulk is the result of the last bulk change, when there was one.
	BulkChanged, BulkFailed int
	// SLA is the tenant's fix deadlines form (template "vulnsla").
	SLA *vulnSLAForm
}

// sevCount is the number of open findings of one severity.
type sevCount struct {
	Severity string
	Count    int
	URL      string
}

func severities() []string {
	out := make([]string, 0, 5)
	for _, s := range vuln.Severities() {
		out = append(out, string(s))
	}
	return out
}

func (s *server) vulnsView(r *http.Request) (*vulnsPage, error) {
	ctx := r.Context()
	t := state(r).tenant
	q := r.URL.Query()
	f := vulnFilter{State: q.Get("state"), Severity: q.Get("severity"), Q: strings.TrimSpace(q.Get("q")),
		KEV: q.Get("kev") == "1", Overdue: q.Get("overdue") == "1"}
	if f.State != "open" && !slices.Contains(lifecycle.States(), f.State) {
		f.State = ""
	}
	if !slices.Contains(severities(), f.Severity) {
		f.Severity = ""
	}
	if len(f.Q) > 200 {
		f.Q = f.Q[:200]
	}
	pg := pageParam(q)
	v := &vulnsPage{URL: vulnBase(t), Filter: f, States: lifecycle.States(), Severities: severities(),
		Formats: s.opts.Vulns.Formats(), CanWrite: auth.FromContext(ctx).Can(auth.PermVulnWrite, t.ID)}
	list, total, err := s.opts.Vulns.List(ctx, t.ID, lifecycle.Filter{State: f.State, Severity: f.Severity, KEV: f.KEV,
		Overdue: f.Overdue, Query: f.Q, CountLimit: lifecycle.MaxCount,
		Page: store.Page{Limit: vulnPageSize, Offset: (pg - 1) * vulnPageSize}})
	if err != nil {
		return nil, err
	}
	for _, x := range list {
		v.Rows = append(v.Rows, vulnRow{VulnFinding: x, Overdue: s.opts.Vulns.Overdue(x)})
	}
	v.Total = total
	link := func(n int) string {
		return withQuery(v.URL, url.Values{"state": {f.State}, "severity": {f.Severity}, "q": {f.Q},
			"kev": {flag(f.KEV)}, "overdue": {flag(f.Overdue)}, "page": {strconv.Itoa(n)}})
	}
	if total >= lifecycle.MaxCount {
		// The count stopped at its limit: "10,000+", and pages go on
		// while they are full.
		v.Capped = groupDigits(total)
		v.Pager = openPager(pg, len(list) == vulnPageSize, link)
	} else {
		v.Pager = newPager(total, pg, vulnPageSize, link)
	}
	counts, err := s.opts.Vulns.Summary(ctx, t.ID)
	if err != nil {
		return nil, err
	}
	for _, sev := range severities() {
		n := 0
		for _, st := range lifecycle.OpenStates() {
			n += counts[[2]string{st, sev}]
		}
		v.Counts = append(v.Counts, sevCount{Severity: sev, Count: n,
			URL: withQuery(v.URL, url.Values{"state": {"open"}, "severity": {sev}})})
	}
	if v.Scans, err = s.opts.Vulns.Scans(ctx, t.ID, store.Page{Limit: 5}); err != nil {
		return nil, err
	}
	if v.SLA, err = s.vulnSLAView(r); err != nil {
		return nil, err
	}
	return v, nil
}

func flag(b bool) string {
	if b {
		return "1"
	}
	return ""
}

// vulnList lists a tenant's findings with filters, bulk actions and the
// import form.
func (s *server) vulnList(w http.ResponseWriter, r *http.Request) error {
	v, err := s.vulnsView(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	v.BulkChanged, _ = strconv.Atoi(q.Get("changed"))
	v.BulkFailed, _ = strconv.Atoi(q.Get("failed"))
	s.render(w, r, http.StatusOK, "vulns", v)
	return nil
}

// vulnImport imports an uploaded scanner output.
func (s *server) vulnImport(w http.ResponseWriter, r *http.Request) error {
	t := state(r).tenant
	v, err := s.vulnsView(r)
	if err != nil {
		return err
	}
	tag := state(r).locale
	data, err := uploadedFile(r, "file", lifecycle.MaxImportBytes)
	switch {
	case err == errTooLarge:
		v.fieldError("file", s.msgs.T(tag, "vulns.error.too_large"))
	case err != nil:
		return err
	}
	name := ""
	if r.MultipartForm != nil && len(r.MultipartForm.File["file"]) > 0 {
		name = r.MultipartForm.File["file"][0].Filename
	}
	status := http.StatusUnprocessableEntity
	if !v.Invalid() {
		sc, err := s.opts.Vulns.Import(r.Context(), t.ID, lifecycle.ImportInput{Filename: name, Format: r.PostFormValue("format"),
			Data: data, Full: r.PostFormValue("full") == "1"})
		if err == nil {
			redirect(w, r, vulnBase(t)+"?ok=imported&scan="+url.QueryEscape(sc.ID))
			return nil
		}
		var ok bool
		if status, ok = s.formError(r, err, &v.formState, []formField{{"file", "file"}, {"format", "format"}}); !ok {
			return err
		}
	}
	s.render(w, r, status, "vulns", v)
	return nil
}

// vulnBulk applies one state change to the checked findings.
func (s *server) vulnBulk(w http.ResponseWriter, r *http.Request) error {
	t := state(r).tenant
	ids := r.PostForm["id"]
	in, err := changeInput(r)
	if err != nil {
		return err
	}
	res, err := s.opts.Vulns.Bulk(r.Context(), t.ID, ids, in)
	if err != nil {
		return err
	}
	redirect(w, r, withQuery(vulnBase(t), url.Values{"changed": {strconv.Itoa(res.Changed)}, "failed": {strconv.Itoa(len(res.Failed))}}))
	return nil
}

// changeInput reads a state change form. The expiry is a date, taken as
// the end of that day in UTC.
func changeInput(r *http.Request) (lifecycle.ChangeInput, error) {
	in := lifecycle.ChangeInput{To: r.PostFormValue("state"), Note: r.PostFormValue("note"),
		Assignee: r.PostFormValue("assignee"), Control: r.PostFormValue("control")}
	if d := strings.TrimSpace(r.PostFormValue("expires")); d != "" {
		day, err := time.Parse("2006-01-02", d)
		if err != nil {
			return in, store.NewFieldError("expires", store.CodeInvalidDate, nil, "enter a date as YYYY-MM-DD")
		}
		in.Expires = day.Add(24*time.Hour - time.Second)
	}
	return in, nil
}

type vulnPage struct {
	Base
	formState
	URL       string
	F         store.VulnFinding
	Overdue   bool
	Events    []store.VulnEvent
	Next      []string
	Assignees []store.User
	Names     map[string]string // user ID → name, for the timeline
	CanWrite  bool
	// Verifiable says a check can re-run (template "vulnverify");
	// VerifyError is why the last try could not.
	Verifiable  bool
	VerifyError string
}

func (s *server) vulnPageView(r *http.Request) (*vulnPage, error) {
	ctx := r.Context()
	t := state(r).tenant
	f, evs, err := s.opts.Vulns.Get(ctx, t.ID, chi.URLParam(r, "vuln"))
	if err != nil {
		return nil, err
	}
	p := auth.FromContext(ctx)
	v := &vulnPage{URL: vulnBase(t) + "/" + f.ID, F: f, Overdue: s.opts.Vulns.Overdue(f), Events: evs,
		Next: lifecycle.Next(f.State), Names: map[string]string{}, CanWrite: p.Can(auth.PermVulnWrite, t.ID)}
	v.Verifiable = s.opts.VulnScan != nil && s.opts.VulnScan.CanVerify(f)
	if v.CanWrite {
		if v.Assignees, err = s.opts.Vulns.Assignees(ctx, t.ID); err != nil {
			return nil, err
		}
		for _, u := range v.Assignees {
			v.Names[u.ID] = u.Username
		}
	}
	return v, nil
}

// vulnView shows one finding, its timeline and the state change form.
func (s *server) vulnView(w http.ResponseWriter, r *http.Request) error {
	v, err := s.vulnPageView(r)
	if err != nil {
		return err
	}
	s.render(w, r, http.StatusOK, "vuln", v)
	return nil
}

var vulnChangeFields = []formField{{"state", "state"}, {"note", "note"}, {"assignee", "assignee"},
	{"control", "control"}, {"expires", "expires"}}

// vulnChange moves one finding to another state.
func (s *server) vulnChange(w http.ResponseWriter, r *http.Request) error {
	t := state(r).tenant
	v, err := s.vulnPageView(r)
	if err != nil {
		return err
	}
	in, err := changeInput(r)
	if err == nil {
		err = s.opts.Vulns.Change(r.Context(), t.ID, v.F.ID, in)
	}
	if err == nil {
		redirect(w, r, v.URL+"?ok=saved")
		return nil
	}
	status, ok := s.formError(r, err, &v.formState, vulnChangeFields)
	if !ok {
		return err
	}
	s.render(w, r, status, "vuln", v)
	return nil
}

// groupDigits writes a non-negative count with its digits in groups of
// three ("10,000"), as both the page's languages write large counts.
func groupDigits(n int) string {
	s := strconv.Itoa(n)
	if n < 0 {
		return s
	}
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}
