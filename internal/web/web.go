// Package web serves Vigil's browser UI: server-rendered pages built with
// html/template and htmx, with templates, static files and the en / zh-CN
// message catalogues embedded in the binary. It owns browser sessions
// (cookie, CSRF token, selected tenant), the strict Content-Security-Policy
// of every page, and the route table in which each page declares the
// permission it needs. It calls the domain services and never the store,
// except to remember the tenant a session has selected.
package web

import (
	"errors"
	"github.com/vigil-sec/vigil/internal/agent/fleet"
	"github.com/vigil-sec/vigil/internal/asset/bizsys"
	"github.com/vigil-sec/vigil/internal/attach"
	"log/slog"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/vigil-sec/vigil/internal/alerting"
	"github.com/vigil-sec/vigil/internal/archive"
	"github.com/vigil-sec/vigil/internal/asset"
	"github.com/vigil-sec/vigil/internal/audit"
	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/baseline/hardening"
	"github.com/vigil-sec/vigil/internal/campaign/manager"
	"github.com/vigil-sec/vigil/internal/compliance/project"
	"github.com/vigil-sec/vigil/internal/compromise"
	"github.com/vigil-sec/vigil/internal/detect"
	"github.com/vigil-sec/vigil/internal/device/om"
	"github.com/vigil-sec/vigil/internal/drill/exercise"
	"github.com/vigil-sec/vigil/internal/exposure"
	"github.com/vigil-sec/vigil/internal/incident"
	"github.com/vigil-sec/vigil/internal/intel/desk"
	"github.com/vigil-sec/vigil/internal/ops"
	"github.com/vigil-sec/vigil/internal/policyreview"
	"github.com/vigil-sec/vigil/internal/posture"
	"github.com/vigil-sec/vigil/internal/reportcentre"
	"github.com/vigil-sec/vigil/internal/store"
	"github.com/vigil-sec/vigil/internal/tenant"
	"github.com/vigil-sec/vigil/internal/traffic/risk"
	"github.com/vigil-sec/vigil/internal/triage"
	"github.com/vigil-sec/vigil/internal/vuln/gmp"
	"github.com/vigil-sec/vigil/internal/vuln/lifecycle"
	"github.com/vigil-sec/vigil/internal/vuln/scan"
)

// Options configures the UI handler.
type Options struct {
	Auth       *auth.Service
	Tenants    *tenant.Service
	Assets     *asset.Service
	Reviews    *policyreview.Service
	Vulns      *lifecycle.Service
	VulnScan   *scan.Service
	GMP        *gmp.Service // OpenVAS (gvmd) connections and the scan history
	Archive    *archive.Service
	Exposure   *exposure.Service
	Triage     *triage.Service
	Alerting   *alerting.Service
	Compromise *compromise.Service
	// Posture feeds the dashboard tiles and the SOC wall; nil hides them.
	Posture *posture.Service
	// Intel is the threat intelligence desk; nil leaves the threat-intel
	// area a placeholder.
	Intel *desk.Desk
	// Ops runs work orders and the ops audit; nil leaves the ops-audit
	// area a placeholder.
	Ops *ops.Service
	// Attachments keeps files uploaded to work orders, drills and
	// assessment items; the owning pages need it to take uploads.
	Attachments *attach.Service
	// FeedRefresh is how often feeds are reloaded: a feed not loaded for
	// twice as long is shown stale.
	FeedRefresh time.Duration
	// Reports is the report catalogue; nil hides it.
	Reports *reportcentre.Centre
	// Incidents is incident response; nil leaves its area a placeholder.
	Incidents *incident.Service
	// Assessments runs MLPS assessment projects; nil leaves the mlps area
	// a placeholder.
	Assessments *project.Service
	// Campaigns runs go-live gates and key-period campaigns; nil leaves
	// their areas placeholders.
	Campaigns *manager.Service
	Audit     *audit.Log
	// Store is used only for sessions: to update the selected tenant and
	// to read the signed-in user's profile.
	Store  store.Store
	Logger *slog.Logger
	// SecureCookies marks every cookie Secure (set it behind HTTPS).
	SecureCookies bool
	// Version is shown in the page footer.
	Version string

	// Baseline is the baseline service; nil leaves its area a placeholder.
	Baseline *hardening.Service
	// Traffic runs traffic risk analyses; nil leaves its area a placeholder.
	Traffic *risk.Service
	// Devices runs security device O&M; nil leaves its area a placeholder.
	Devices *om.Service
	// Drills runs attack/defence drills; nil leaves the drill area a
	// placeholder.
	Drills *exercise.Service
	// Rules is Sigma rule management; nil leaves the rules page out.
	Rules *detect.Service
	// Agents enrols host agents and pushes their configuration; nil
	// leaves the host agents page out.
	Agents *fleet.Service
	// Systems keeps the tenants' business systems; nil builds one on
	// Store and Audit (they are part of the asset inventory, always on).
	Systems *bizsys.Service
	// Retention keeps each tenant's event retention; nil leaves its field
	// off the tenant form.
	Retention RetentionService
}

// server is the UI: its dependencies, compiled templates and routes.
type server struct {
	opts   Options
	log    *slog.Logger
	msgs   *catalog
	views  *views
	static *staticFiles
	mux    *chi.Mux
	routes []route
	areas  []area
}

// New returns the UI handler. It parses and checks every template and
// message catalogue; a broken template fails New.
func New(opts Options) (http.Handler, error) {
	s, err := newServer(opts)
	if err != nil {
		return nil, err
	}
	return s.mux, nil
}

func newServer(opts Options) (*server, error) {
	if opts.Auth == nil || opts.Tenants == nil || opts.Assets == nil || opts.Audit == nil || opts.Store == nil {
		return nil, errors.New("web: Auth, Tenants, Assets, Audit and Store are required")
	}
	if opts.Systems == nil {
		opts.Systems = bizsys.NewService(opts.Store, opts.Audit)
	}
	s := &server{opts: opts, log: opts.Logger, areas: areas()}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	var err error
	if s.msgs, err = loadCatalog(); err != nil {
		return nil, err
	}
	if s.static, err = loadStatic(); err != nil {
		return nil, err
	}
	if s.views, err = loadViews(s.msgs, s.static); err != nil {
		return nil, err
	}
	if err := s.msgs.checkIDs(dynamicMessageIDs(s.areas)); err != nil {
		return nil, err
	}
	s.mux = chi.NewRouter()
	s.mux.Use(s.securityHeaders, s.loadSession, s.crossOrigin, s.checkCSRF)
	s.mux.NotFound(s.wrap(route{access: access{kind: accessPublic}}, s.notFound))
	s.mux.MethodNotAllowed(s.wrap(route{access: access{kind: accessPublic}}, s.methodNotAllowed))
	s.register()
	return s, nil
}
