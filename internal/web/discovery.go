package web

import (
	"net/http"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/vigil-sec/vigil/internal/archive"
	"github.com/vigil-sec/vigil/internal/asset/discovery"
	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/exposure"
	"github.com/vigil-sec/vigil/internal/store"
)

func discoveryBase(t *store.Tenant) string { return "/t/" + t.Slug + "/operations/asset-discovery" }

type discoveryPage struct {
	Base
	formState
	URL     string
	Runs    []store.DiscoveryRun
	Scope   []string
	Targets string
	Ports   string
	// The subdomain fields as typed.
	SubDomains, SubWords string
	SubCerts             bool
	// HostDiscovery is the host discovery box of the run form.
	HostDiscovery bool
	CanWrite      bool
	// The import form: formats to choose from and the one chosen.
	Formats []string
	Format  string
}

func (s *server) discoveryView(r *http.Request, targets, ports string) (*discoveryPage, error) {
	ctx := r.Context()
	t := state(r).tenant
	v := &discoveryPage{URL: discoveryBase(t), Targets: targets, Ports: ports,
		CanWrite: auth.FromContext(ctx).Can(auth.PermAssetWrite, t.ID), Formats: discovery.ImportFormats}
	runs, err := s.opts.Exposure.List(ctx, t.ID, store.Page{Limit: 50})
	if err != nil {
		return nil, err
	}
	v.Runs = runs
	if _, v.Scope, err = s.opts.Exposure.Scope(ctx, t.ID); err != nil {
		return nil, err
	}
	return v, nil
}

// discoveryList shows the declared scope, the run form and past runs.
func (s *server) discoveryList(w http.ResponseWriter, r *http.Request) error {
	v, err := s.discoveryView(r, "", exposure.DefaultPorts)
	if err != nil {
		return err
	}
	s.render(w, r, http.StatusOK, "discovery", v)
	return nil
}

// discoveryStart starts a run inside the tenant's declared scope.
func (s *server) discoveryStart(w http.ResponseWriter, r *http.Request) error {
	t := state(r).tenant
	v, err := s.discoveryView(r, r.PostFormValue("targets"), r.PostFormValue("ports"))
	if err != nil {
		return err
	}
	v.SubDomains, v.SubWords, v.SubCerts = r.PostFormValue("subdomain_domains"), r.PostFormValue("subdomain_words"),
		r.PostFormValue("subdomain_certs") == "1"
	v.HostDiscovery = r.PostFormValue("host_discovery") == "1"
	in := exposure.Input{Targets: v.Targets, Ports: v.Ports, HostDiscovery: v.HostDiscovery}
	if err = discoverySubdomains(v, &in); err == nil {
		var run store.DiscoveryRun
		if run, err = s.opts.Exposure.Start(r.Context(), t.ID, in); err == nil {
			redirect(w, r, v.URL+"/"+run.ID+"?ok=started")
			return nil
		}
	}
	status, ok := s.formError(r, err, &v.formState, []formField{{"targets", "targets"}, {"ports", "ports"},
		{"subdomain_domains", "subdomain_domains"}, {"subdomain_words", "subdomain_words"}})
	if !ok {
		return err
	}
	s.render(w, r, status, "discovery", v)
	return nil
}

// Bounds of the subdomain fields of the run form.
const (
	maxSubdomainDomainsField = 4096
	maxSubdomainWordsField   = 64 << 10
)

// discoverySubdomains reads the subdomain fields of the run form into in.
func discoverySubdomains(v *discoveryPage, in *exposure.Input) error {
	if len(v.SubDomains) > maxSubdomainDomainsField {
		return store.NewFieldError("subdomain_domains", store.CodeTooLong, map[string]any{"max": maxSubdomainDomainsField},
			"at most %d characters", maxSubdomainDomainsField)
	}
	if len(v.SubWords) > maxSubdomainWordsField {
		return store.NewFieldError("subdomain_words", store.CodeTooLong, map[string]any{"max": maxSubdomainWordsField},
			"at most %d characters", maxSubdomainWordsField)
	}
	words, err := exposure.ParseWordlist(v.SubWords)
	if err != nil {
		return err
	}
	in.Subdomains = exposure.Subdomains{Domains: strings.FieldsFunc(v.SubDomains, func(r rune) bool {
		return r == ',' || r == ' ' || r == '\n' || r == '\r' || r == '\t'
	}), Words: words, Certificates: v.SubCerts}
	return nil
}

type discoveryRunPage struct {
	Base
	URL    string
	Run    store.DiscoveryRun
	Result exposure.RunResult
	Done   bool
	// Changes since the previous run over the same targets and ports;
	// HasPrevious is false for the first such run.
	Changes     exposure.RunDiff
	HasPrevious bool
	// Import is set for an import run: the page lists its observations
	// and those outside the tenant's scope.
	Import bool
}

func (s *server) discoveryRun(w http.ResponseWriter, r *http.Request) error {
	t := state(r).tenant
	run, res, err := s.opts.Exposure.Get(r.Context(), t.ID, chi.URLParam(r, "run"))
	if err != nil {
		return err
	}
	v := &discoveryRunPage{URL: discoveryBase(t) + "/" + run.ID, Run: run, Result: res, Done: run.Status == exposure.StatusDone,
		Import: exposure.IsImport(run)}
	if v.Changes, v.HasPrevious, err = s.opts.Exposure.Changes(r.Context(), t.ID, run, res); err != nil {
		return err
	}
	s.render(w, r, http.StatusOK, "discovery_run", v)
	return nil
}

// discoveryReport generates the exposure report of a finished run.
func (s *server) discoveryReport(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	t := state(r).tenant
	format, lang, err := reportRequest(r)
	if err != nil {
		return err
	}
	id := chi.URLParam(r, "run")
	doc, err := s.opts.Exposure.ReportDocument(ctx, *t, id, lang)
	if err != nil {
		return err
	}
	return s.archiveReport(w, r, t, archive.Request{Service: "asset-discovery", Kind: "exposure",
		SourceID: id, Format: format, Doc: doc})
}

// discoveryImport merges an uploaded scan report or search engine export
// into the inventory as an import run.
func (s *server) discoveryImport(w http.ResponseWriter, r *http.Request) error {
	t := state(r).tenant
	v, err := s.discoveryView(r, "", exposure.DefaultPorts)
	if err != nil {
		return err
	}
	v.Format = r.PostFormValue("format")
	in := exposure.ImportInput{Format: v.Format}
	if r.MultipartForm != nil && len(r.MultipartForm.File["file"]) > 0 {
		fh := r.MultipartForm.File["file"][0]
		f, err := fh.Open()
		if err != nil {
			return err
		}
		defer f.Close()
		in.File, in.FileName = f, fh.Filename
	}
	run, err := s.opts.Exposure.Import(r.Context(), t.ID, in)
	if err == nil {
		redirect(w, r, v.URL+"/"+run.ID+"?ok=imported")
		return nil
	}
	status, ok := s.formError(r, err, &v.formState, []formField{{"file", "file"}, {"format", "format"}})
	if !ok {
		return err
	}
	s.render(w, r, status, "discovery", v)
	return nil
}
