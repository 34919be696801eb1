// Package api serves Vigil's JSON REST API under /api/v1. It owns the API's
// wire format (request and response DTOs, never the store rows), bearer
// token authentication, the per-route permission table that is checked
// before any handler runs, the single mapping from errors to RFC 9457
// problem responses, and the OpenAPI 3.1 document, which is generated from
// the typed handlers. Handlers translate DTOs and call the domain services,
// which check permissions again.
package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"github.com/vigil-sec/vigil/internal/attach"
	"log/slog"
	"net/http"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humachi"
	"github.com/go-chi/chi/v5"

	"github.com/vigil-sec/vigil/internal/agent/fleet"
	"github.com/vigil-sec/vigil/internal/alerting"
	"github.com/vigil-sec/vigil/internal/archive"
	"github.com/vigil-sec/vigil/internal/asset"
	"github.com/vigil-sec/vigil/internal/asset/bizsys"
	"github.com/vigil-sec/vigil/internal/audit"
	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/baseline/hardening"
	"github.com/vigil-sec/vigil/internal/campaign/manager"
	"github.com/vigil-sec/vigil/internal/compliance/project"
	"github.com/vigil-sec/vigil/internal/detect"
	"github.com/vigil-sec/vigil/internal/device/om"
	"github.com/vigil-sec/vigil/internal/drill/exercise"
	"github.com/vigil-sec/vigil/internal/exposure"
	"github.com/vigil-sec/vigil/internal/httpmw"
	"github.com/vigil-sec/vigil/internal/incident"
	"github.com/vigil-sec/vigil/internal/ops"
	"github.com/vigil-sec/vigil/internal/policyreview"
	"github.com/vigil-sec/vigil/internal/posture"
	"github.com/vigil-sec/vigil/internal/secret"
	"github.com/vigil-sec/vigil/internal/tenant"
	"github.com/vigil-sec/vigil/internal/traffic/risk"
	"github.com/vigil-sec/vigil/internal/vuln/gmp"
	"github.com/vigil-sec/vigil/internal/vuln/lifecycle"
	"github.com/vigil-sec/vigil/internal/vuln/scan"
)

// basePath prefixes every route; the server mounts the handler at /api/.
const basePath = "/api/v1"

// specPath is the only route served without authentication.
const specPath = basePath + "/openapi.json"

// Options configures the API handler.
type Options struct {
	Auth     *auth.Service
	Tenants  *tenant.Service
	Assets   *asset.Service
	Reviews  *policyreview.Service
	Vulns    *lifecycle.Service
	VulnScan *scan.Service
	// GMP keeps OpenVAS (gvmd) connections and the scan history.
	GMP      *gmp.Service
	Archive  *archive.Service
	Exposure *exposure.Service
	Alerting *alerting.Service
	// Incidents and Posture back the incident and posture endpoints.
	Incidents *incident.Service
	// Ops backs the work order endpoints.
	Ops *ops.Service
	// Agents backs the host agent endpoints (enrolment tokens, agents, pushed configuration).
	Agents *fleet.Service
	// Attachments keeps files uploaded to work orders, drills and
	// assessment items.
	Attachments *attach.Service
	// Assessments backs the MLPS assessment project endpoints.
	Assessments *project.Service
	Posture     *posture.Service
	// Drills backs the drill endpoints; nil leaves them out.
	Drills  *exercise.Service
	Audit   *audit.Log
	Secrets *secret.Vault
	Logger  *slog.Logger
	// Version is reported by GET /api/v1/version and in the OpenAPI info.
	Version string
	// MaxBodyBytes limits request bodies (default httpmw.DefaultMaxBody).
	// A body must be smaller than the limit.
	MaxBodyBytes int64

	// Baseline backs the baseline run and hardening endpoints.
	Baseline *hardening.Service
	// Traffic backs the traffic analysis endpoints; nil leaves them out.
	Traffic *risk.Service
	// Campaigns backs the campaign endpoints; nil leaves them out.
	Campaigns *manager.Service
	// Devices backs the security device O&M endpoints; nil leaves them out.
	Devices *om.Service
	// Rules backs the Sigma rule management endpoints; nil leaves them out.
	Rules *detect.Service
	// Systems backs the business system endpoints; nil leaves them out.
	Systems *bizsys.Service
	// Retention backs the tenant event retention endpoints; nil leaves
	// them out.
	Retention RetentionService
}

// server is the API: its dependencies, router and route table.
type server struct {
	opts    Options
	log     *slog.Logger
	maxBody int64
	router  *chi.Mux
	api     huma.API
	// rules maps "METHOD /path" of every registered operation to the
	// permission it requires; the guard reads the same rule from the
	// operation's metadata.
	rules map[string]rule
	spec  []byte
}

// New returns the API handler. It serves full paths under /api/v1.
func New(opts Options) (http.Handler, error) {
	if opts.Auth == nil || opts.Tenants == nil || opts.Assets == nil || opts.Audit == nil || opts.Secrets == nil {
		return nil, errors.New("api: Auth, Tenants, Assets, Audit and Secrets are required")
	}
	s, err := newServer(opts)
	if err != nil {
		return nil, err
	}
	return s.handler(), nil
}

// handler is the router behind panic recovery: a handler that panics gives
// a logged 500, never a crashed server.
func (s *server) handler() http.Handler {
	return httpmw.Recover(s.log)(s.router)
}

// OpenAPI returns the OpenAPI 3.1 document of the API, as served at
// /api/v1/openapi.json. Only opts.Version is used.
func OpenAPI(opts Options) ([]byte, error) {
	// Services that register their routes only when present are given
	// as empty values, so the document lists every route; none is
	// called while the document is built.
	s, err := newServer(Options{Version: opts.Version, MaxBodyBytes: opts.MaxBodyBytes, Logger: opts.Logger,
		VulnScan: new(scan.Service), Ops: new(ops.Service), Agents: new(fleet.Service), Attachments: new(attach.Service),
		Assessments: new(project.Service), Drills: new(exercise.Service), Baseline: new(hardening.Service), Traffic: new(risk.Service),
		Campaigns: new(manager.Service), Devices: new(om.Service), Rules: new(detect.Service), Retention: docRetention{}})
	if err != nil {
		return nil, err
	}
	return s.spec, nil
}

// newServer builds the router and registers every operation. The domain
// services are only used when a request is served, so a server without
// them can still produce the OpenAPI document.
func newServer(opts Options) (s *server, err error) {
	s = &server{opts: opts, log: opts.Logger, maxBody: opts.MaxBodyBytes, rules: map[string]rule{}}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.maxBody <= 0 {
		s.maxBody = httpmw.DefaultMaxBody
	}
	version := opts.Version
	if version == "" {
		version = "dev"
	}

	s.router = chi.NewMux()
	s.router.Use(noStore)
	s.router.NotFound(func(w http.ResponseWriter, _ *http.Request) {
		writeProblem(w, http.StatusNotFound, "no such API route")
	})
	s.router.MethodNotAllowed(func(w http.ResponseWriter, _ *http.Request) {
		writeProblem(w, http.StatusMethodNotAllowed, "method not allowed on this route")
	})

	// huma panics on a malformed operation definition; that is a bug in
	// this package, reported as an error rather than a crash.
	defer func() {
		if v := recover(); v != nil {
			s, err = nil, fmt.Errorf("api: register routes: %v", v)
		}
	}()
	s.api = humachi.New(s.router, s.config(version))
	s.api.UseMiddleware(s.guard)
	s.registerMeta()
	s.registerTenants()
	s.registerUsers()
	s.registerTeams()
	s.registerContacts()
	s.registerServices()
	s.registerAssets()
	s.registerSystems()
	s.registerPolicyReviews()
	s.registerBaseline()
	s.registerBaseline3()
	s.registerBaselineEvidence()
	s.registerVulns()
	s.registerVulnScan()
	s.registerDiscovery()
	s.registerReports()
	s.registerChannels()
	s.registerEscalationRules()
	s.registerIncidents()
	s.registerWorkOrders()
	s.registerAssessments()
	s.registerCampaigns()
	s.registerDrills()
	s.registerTraffic()
	s.registerDevices()
	s.registerAgents()
	s.registerRetention()
	s.registerRules()
	s.registerRisks()
	s.registerCompliance3()
	s.registerTokens()
	s.registerSecrets()
	s.registerAudit()
	s.registerDesk()

	s.spec, err = json.MarshalIndent(s.api.OpenAPI(), "", "  ")
	if err != nil {
		return nil, fmt.Errorf("api: marshal OpenAPI: %w", err)
	}
	s.router.Get(specPath, s.serveSpec)
	return s, nil
}

// config is the huma configuration: JSON only, no docs UI (the bundled
// renderers load scripts from a CDN), no schema links in responses, and the
// spec served by serveSpec rather than by huma.
func (s *server) config(version string) huma.Config {
	cfg := huma.DefaultConfig("Vigil API", version)
	cfg.CreateHooks = nil
	cfg.OpenAPIPath, cfg.DocsPath, cfg.SchemasPath = "", "", ""
	cfg.Formats = map[string]huma.Format{
		"application/json": huma.DefaultJSONFormat,
		"json":             huma.DefaultJSONFormat,
	}
	cfg.RejectUnknownQueryParameters = true
	cfg.Transformers = []huma.Transformer{s.sanitize}
	cfg.Info.Description = "REST API of Vigil, a security operations platform serving many tenant " +
		"organisations. Authenticate with `Authorization: Bearer vgl_...` (an API token). " +
		"Every operation states the permission it needs in `x-vigil-permission`. A tenant the " +
		"caller may not read is reported as 404 Not Found, so its existence does not leak; " +
		"a tenant the caller may read but lacks the permission for gives 403 Forbidden. " +
		"PUT replaces every field of a resource: omitted optional fields are cleared. Unknown body " +
		"fields and query parameters are rejected with 422. Errors are RFC 9457 problem documents; " +
		"a 422 names each field it refuses in `errors[].location` (e.g. `body.address`)."
	cfg.Components.SecuritySchemes = map[string]*huma.SecurityScheme{
		bearerScheme: {Type: "http", Scheme: "bearer", BearerFormat: "vgl_ token",
			Description: "An API token created under /tenants/{tenant}/tokens or /tokens."},
	}
	cfg.Security = []map[string][]string{{bearerScheme: {}}}
	cfg.Tags = []*huma.Tag{
		{Name: "meta", Description: "The caller, the version and the service catalogue."},
		{Name: "tenants", Description: "Organisations the SOC serves."},
		{Name: "users", Description: "Platform users and their tenant memberships (platform admins)."},
		{Name: "teams", Description: "The provider's own staff teams."},
		{Name: "contacts", Description: "People to reach at a tenant or a vendor."},
		{Name: "services", Description: "Contracted services of a tenant with their service levels."},
		{Name: "assets", Description: "The asset inventory of a tenant."},
		{Name: "baseline", Description: "Baseline check runs and the approval of hardening fixes."},
		{Name: "tokens", Description: "API tokens; the secret is returned once, at creation."},
		{Name: "audit", Description: "The tamper-evident audit log."},
	}
	return cfg
}

func (s *server) serveSpec(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/openapi+json")
	_, _ = w.Write(s.spec)
}

// noStore keeps API responses, which carry tenant data, out of caches.
func noStore(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		next.ServeHTTP(w, r)
	})
}

// writeProblem writes a problem response outside huma (unknown routes).
func writeProblem(w http.ResponseWriter, status int, detail string) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(huma.ErrorModel{Status: status, Title: http.StatusText(status), Detail: detail})
}

// items converts domain values to their response types.
func items[T, D any](xs []T, dto func(T) D) []D {
	out := make([]D, 0, len(xs))
	for _, x := range xs {
		out = append(out, dto(x))
	}
	return out
}
