// Package app wires Vigil together: it opens the store and bus named by the
// configuration, builds the domain services, and runs the components of the
// node's role (HTTP surfaces, workers, ingest) until the context ends, then
// drains in-flight work and shuts down in order.
package app

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"
	"github.com/vigil-sec/vigil/internal/attach"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/vigil-sec/vigil/internal/agent/fleet"
	"github.com/vigil-sec/vigil/internal/alerting"
	"github.com/vigil-sec/vigil/internal/archive"
	"github.com/vigil-sec/vigil/internal/asset"
	"github.com/vigil-sec/vigil/internal/asset/bizsys"
	"github.com/vigil-sec/vigil/internal/audit"
	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/baseline/hardening"
	"github.com/vigil-sec/vigil/internal/bus"
	"github.com/vigil-sec/vigil/internal/bus/inproc"
	"github.com/vigil-sec/vigil/internal/bus/jetstream"
	"github.com/vigil-sec/vigil/internal/campaign/manager"
	"github.com/vigil-sec/vigil/internal/compliance"
	"github.com/vigil-sec/vigil/internal/compliance/project"
	"github.com/vigil-sec/vigil/internal/compromise"
	"github.com/vigil-sec/vigil/internal/config"
	"github.com/vigil-sec/vigil/internal/detect"
	"github.com/vigil-sec/vigil/internal/device/om"
	"github.com/vigil-sec/vigil/internal/drill/exercise"
	"github.com/vigil-sec/vigil/internal/exposure"
	"github.com/vigil-sec/vigil/internal/incident"
	"github.com/vigil-sec/vigil/internal/intel"
	"github.com/vigil-sec/vigil/internal/intel/desk"
	"github.com/vigil-sec/vigil/internal/ops"
	"github.com/vigil-sec/vigil/internal/pipeline"
	"github.com/vigil-sec/vigil/internal/policyreview"
	"github.com/vigil-sec/vigil/internal/posture"
	"github.com/vigil-sec/vigil/internal/reportcentre"
	"github.com/vigil-sec/vigil/internal/secret"
	"github.com/vigil-sec/vigil/internal/store"
	"github.com/vigil-sec/vigil/internal/store/postgres"
	"github.com/vigil-sec/vigil/internal/store/sqlite"
	"github.com/vigil-sec/vigil/internal/tenant"
	"github.com/vigil-sec/vigil/internal/traffic/risk"
	"github.com/vigil-sec/vigil/internal/triage"
	"github.com/vigil-sec/vigil/internal/vuln/gmp"
	"github.com/vigil-sec/vigil/internal/vuln/lifecycle"
	"github.com/vigil-sec/vigil/internal/vuln/scan"
)

// DBFile and BusFile are the embedded default's files in the data dir.
const (
	DBFile  = "vigil.db"
	BusFile = "bus.db"
)

// Version is set at build time with -ldflags "-X ...app.Version=...".
var Version = "dev"

// App is an opened platform: store, bus and domain services.
type App struct {
	// The indicators of the last feed load, and those new since the load
	// before, waiting for RetroHunt; only the feed refresh loop uses them.
	intelIndicators []intel.Indicator
	intelLoaded     bool
	freshIntel      []intel.Indicator

	Config     config.Config
	Logger     *slog.Logger
	Store      store.Store
	Bus        bus.Bus
	Box        *secret.Box
	Audit      *audit.Log
	Auth       *auth.Service
	Tenants    *tenant.Service
	Assets     *asset.Service
	Reviews    *policyreview.Service
	Vulns      *lifecycle.Service
	Archive    *archive.Service
	Exposure   *exposure.Service
	Pipeline   *pipeline.Pipeline
	Triage     *triage.Service
	Alerting   *alerting.Service
	Compromise *compromise.Service
	Posture    *posture.Service
	// Desk holds the loaded threat intelligence, feed health and the
	// TAXII collections.
	Desk *desk.Desk
	// Ops runs work orders and the ops audit.
	Ops *ops.Service
	// Attachments keeps files uploaded to work orders, drills and assessment items.
	Attachments *attach.Service
	Reports     *reportcentre.Centre
	Incidents   *incident.Service
	// Baseline stores baseline runs, runs scheduled SSH checks and the
	// hardening loop.
	Baseline *hardening.Service
	// Assessments runs MLPS assessment projects.
	Assessments *project.Service
	// Drills runs attack/defence drills.
	Drills *exercise.Service
	// Campaigns runs go-live gates and key-period campaigns.
	Campaigns *manager.Service
	// Traffic runs the tenants' traffic risk analyses.
	Traffic *risk.Service
	// VulnScan runs Vigil's own vulnerability checks and verifications.
	VulnScan *scan.Service
	// GMP keeps tenants' OpenVAS (gvmd) connections and the scan history.
	GMP *gmp.Service
	// Devices runs security device O&M: health polls, config backups.
	Devices *om.Service
	// Fleet enrols host agents, authenticates them and pushes their configuration.
	Fleet *fleet.Service
	// Systems keeps the tenants' business systems (API and UI).
	Systems *bizsys.Service
	// Rules runs the Sigma rules per tenant (settings, custom rules,
	// correlation state); see detection.go.
	Rules       *detect.Service
	rulesLoaded sync.Once
	// SyslogTCPAddr and SyslogUDPAddr are the bound syslog listeners, set
	// by Serve when configured.
	SyslogTCPAddr, SyslogUDPAddr net.Addr
	// NetFlowAddr is the bound flow collector, set when NetFlowUDP is.
	NetFlowAddr net.Addr
	Secrets     *secret.Vault
	Registry    *prometheus.Registry
	// Scheduler is set while the node runs the scheduler role (scheduler.go).
	Scheduler *Scheduler
	// eventWorker is the node's share of the events queue's partitions
	// while it consumes them, and partitionLease their lease length (0:
	// the default); see event_workers.go.
	eventWorker    atomic.Pointer[eventWorker]
	partitionLease time.Duration

	// SNMPTrapAddr is the bound SNMP trap receiver, set by Serve when configured.
	SNMPTrapAddr net.Addr
}

// NewLogger builds the process logger from the configuration.
func NewLogger(cfg config.Config, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.LogLevel))
	hopts := &slog.HandlerOptions{Level: level}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, hopts))
	}
	return slog.New(slog.NewTextHandler(w, hopts))
}

// OpenStore opens the configured store, running migrations.
func OpenStore(ctx context.Context, cfg config.Config, logger *slog.Logger) (store.Store, error) {
	if cfg.DB != "" {
		st, err := postgres.Open(ctx, cfg.DB, postgres.Options{Logger: logger, CreateIfMissing: true})
		if err != nil {
			return nil, fmt.Errorf("open postgres store: %w", err)
		}
		return st, nil
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("create data dir: %w", err)
	}
	st, err := sqlite.Open(ctx, filepath.Join(cfg.DataDir, DBFile), sqlite.Options{Logger: logger})
	if err != nil {
		return nil, fmt.Errorf("open sqlite store: %w", err)
	}
	return st, nil
}

// OpenBus opens the configured bus.
func OpenBus(ctx context.Context, cfg config.Config, logger *slog.Logger) (bus.Bus, error) {
	if cfg.Bus != "" {
		b, err := jetstream.New(ctx, cfg.Bus, jetstream.Options{Logger: logger, StreamPrefix: cfg.BusPrefix})
		if err != nil {
			return nil, fmt.Errorf("open nats bus: %w", err)
		}
		return b, nil
	}
	path := ""
	if cfg.DataDir != "" {
		if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
			return nil, fmt.Errorf("create data dir: %w", err)
		}
		abs, err := filepath.Abs(filepath.Join(cfg.DataDir, BusFile))
		if err != nil {
			return nil, fmt.Errorf("bus path: %w", err)
		}
		path = abs
	}
	b, err := inproc.New(ctx, inproc.Options{Path: path, Logger: logger})
	if err != nil {
		return nil, fmt.Errorf("open in-process bus: %w", err)
	}
	return b, nil
}

// Open opens the store and bus and builds the services. The caller must
// Close the App.
func Open(ctx context.Context, cfg config.Config, logger *slog.Logger) (*App, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("invalid configuration:\n%w", err)
	}
	a := &App{Config: cfg, Logger: logger, Registry: prometheus.NewRegistry()}
	a.Registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	keyDir := cfg.DataDir
	if cfg.SecretKey == "" {
		if err := os.MkdirAll(keyDir, 0o700); err != nil {
			return nil, fmt.Errorf("create data dir: %w", err)
		}
	}
	key, err := secret.LoadOrCreateKey(cfg.SecretKey, keyDir)
	if err != nil {
		return nil, err
	}
	if a.Box, err = secret.NewBox(key); err != nil {
		return nil, err
	}
	if a.Store, err = OpenStore(ctx, cfg, logger); err != nil {
		return nil, err
	}
	if a.Bus, err = OpenBus(ctx, cfg, logger); err != nil {
		_ = a.Store.Close()
		return nil, err
	}
	a.Audit = audit.New(a.Store.Audit(), audit.Options{Logger: logger})
	a.Auth = auth.NewService(a.Store, auth.Options{Logger: logger, SessionTTL: cfg.SessionTTL})
	a.Tenants = tenant.NewService(a.Store, a.Audit, a.Auth, tenant.Options{Logger: logger})
	a.Assets = asset.NewService(a.Store.Assets(), a.Audit, asset.Options{Logger: logger})
	a.Reviews = policyreview.NewService(a.Store, a.Audit, policyreview.Options{Logger: logger})
	a.Vulns = lifecycle.NewService(a.Store, a.Audit, lifecycle.Options{Logger: logger})
	a.Archive = archive.NewService(a.Store.Reports(), a.Audit, archive.Options{Logger: logger, BrowserPath: cfg.Chromium})
	a.Exposure = exposure.NewService(a.Store, a.Audit, exposure.Options{Logger: logger, Enqueue: a.enqueueDiscovery})
	if a.VulnScan, err = scan.New(a.Store, a.Vulns, a.Exposure, scan.Options{Logger: logger, OpenVAS: a.openVAS}); err != nil {
		_ = a.Bus.Close()
		_ = a.Store.Close()
		return nil, err
	}
	a.Triage = triage.NewService(a.Store, a.Audit, nil)
	a.Compromise = compromise.NewService(a.Store, a.Audit, logger)
	a.Traffic = risk.NewService(a.Store, a.Audit, risk.Options{Logger: logger, Enqueue: a.enqueueTraffic,
		OnAlert: func(ctx context.Context, al store.Alert) error { return a.Alerting.Alerted(asSystem(ctx), al) }})
	a.Posture = posture.NewService(a.Store, posture.Options{Logger: logger})
	a.Desk = desk.New(a.Store, desk.Options{Audit: a.Audit})
	a.Attachments = attach.New(a.Store.Attachments(), a.Audit, attach.Options{Logger: logger})
	a.Ops = ops.NewService(a.Store, a.Audit, ops.Options{Logger: logger, Files: a.Attachments, OnChange: func(ctx context.Context, o ops.Order, change string) error {
		return a.Alerting.StateChanged(ctx, alerting.StateChange{TenantID: o.Tenant, Kind: "work-order", ID: o.ID, Ref: o.Ref, Title: o.Title,
			State: string(o.State), Change: change, Path: "/operations/ops-audit/orders/" + o.ID, At: o.UpdatedAt})
	}})
	a.Secrets = secret.NewVault(a.Box, a.Store.Secrets(), a.Audit)
	a.GMP = gmp.NewService(a.Store, a.Secrets, a.Audit, gmp.ServiceOptions{Logger: logger})
	a.Baseline = hardening.NewService(a.Store, a.Audit, hardening.Options{Logger: logger, Secrets: a.Secrets})
	if a.Alerting, err = alerting.NewService(a.Store, a.Secrets, a.Audit, alerting.Options{Logger: logger, BaseURL: cfg.BaseURL,
		AckKey: derivedKey(key, "escalation acknowledgement links"), AckFactor: a.watchAckFactor}); err != nil {
		_ = a.Close()
		return nil, err
	}
	if a.Incidents, err = incident.NewService(a.Store, a.Audit, incident.Options{Logger: logger, SLAFactor: a.watchAckFactor,
		OnChange: func(ctx context.Context, c store.Incident, change string) error {
			return a.Alerting.StateChanged(ctx, alerting.StateChange{TenantID: c.TenantID, Kind: "case", ID: c.ID, Ref: c.Ref, Title: c.Title,
				State: c.Phase, Change: change, Severity: c.Severity, Path: "/incidents/" + c.ID, At: c.UpdatedAt})
		}}); err != nil {
		_ = a.Close()
		return nil, err
	}
	frameworks, err := compliance.Builtin() // loaded now so a broken catalogue fails at start
	if err != nil {
		_ = a.Close()
		return nil, fmt.Errorf("compliance frameworks: %w", err)
	}
	if a.Assessments, err = project.NewService(a.Store, a.Audit, project.Options{Logger: logger, Catalog: frameworks}); err != nil {
		_ = a.Close()
		return nil, err
	}
	a.Drills = exercise.NewService(a.Store, a.Audit, exercise.Options{Logger: logger, Archive: a.Archive, Files: a.Attachments, WorkOrders: a.Ops})
	if a.Campaigns, err = manager.NewService(a.Store, a.Audit, manager.Options{Logger: logger, Archive: a.Archive,
		Runners: manager.ProductRunners(manager.Services{Discovery: a.Exposure, Scan: manager.ScanService(a.VulnScan), Findings: a.Vulns,
			Baseline: a.Baseline, Weblogs: a.Compromise}),
		OnAlert: func(ctx context.Context, al store.Alert) error { return a.Alerting.Alerted(asSystem(ctx), al) },
		OnReport: func(ctx context.Context, r store.Report, summary string) error {
			return a.Alerting.SendReport(asSystem(ctx), r, summary)
		}}); err != nil {
		_ = a.Close()
		return nil, err
	}
	if a.Devices, err = om.NewService(a.Store, a.Secrets, a.Assets, a.Audit, om.Options{Logger: logger, Box: a.Box,
		OnAlert: func(ctx context.Context, al store.Alert) error { return a.Alerting.Alerted(asSystem(ctx), al) }}); err != nil {
		_ = a.Close()
		return nil, err
	}
	a.Fleet = fleet.New(a.Store, a.Audit, fleet.Options{Logger: logger, Box: a.Box, CertValidity: cfg.AgentCertLifetime})
	a.Systems = bizsys.NewService(a.Store, a.Audit)
	if a.Reports, err = a.newReportCentre(); err != nil {
		_ = a.Close()
		return nil, err
	}
	a.Pipeline = pipeline.New(a.Store, pipeline.Options{Logger: logger, OnAlert: func(ctx context.Context, al store.Alert) error {
		return a.Alerting.Alerted(asSystem(ctx), al)
	}})
	a.Rules = a.newRulesService()
	return a, nil
}

// Ready reports whether the store and bus answer.
func (a *App) Ready(ctx context.Context) error {
	return errors.Join(a.Store.Ping(ctx), a.Bus.Ping(ctx))
}

// Close releases the bus and the store, in that order.
func (a *App) Close() error {
	if a.Alerting != nil {
		a.Alerting.Close()
	}
	return errors.Join(a.Bus.Close(), a.Store.Close())
}

// Bootstrap creates the first admin account when there are no users. It
// returns the generated one-time password ("" when the password came from
// the configuration or users already existed).
func (a *App) Bootstrap(ctx context.Context) (username, oneTime string, err error) {
	n, err := a.Store.Users().Count(ctx)
	if err != nil {
		return "", "", fmt.Errorf("bootstrap: %w", err)
	}
	if n > 0 {
		return "", "", nil
	}
	pw := a.Config.AdminPassword
	generated := pw == ""
	if generated {
		pw = auth.RandomPassword()
	}
	hash, err := auth.HashPassword(pw)
	if err != nil {
		return "", "", fmt.Errorf("bootstrap admin password: %w", err)
	}
	u := store.User{Username: "admin", DisplayName: "Administrator", PasswordHash: hash,
		GlobalRole: auth.RoleAdmin, MustChangePassword: generated}
	if err := a.Store.Users().Create(ctx, &u); err != nil {
		if errors.Is(err, store.ErrConflict) { // another node won the race
			return "", "", nil
		}
		return "", "", fmt.Errorf("bootstrap admin: %w", err)
	}
	system := &auth.Principal{Username: "system", UserID: "system"}
	if err := a.Audit.RecordAs(ctx, system, audit.Event{Action: "user.create", Object: "user:" + u.ID,
		Detail: map[string]string{"username": u.Username, "reason": "first start"}}); err != nil {
		return "", "", err
	}
	if generated {
		return u.Username, pw, nil
	}
	return u.Username, "", nil
}

// asSystem returns ctx acting as Vigil itself, for work no user asked for
// (jobs, ingest, feeds): platform admin rights, audited as "system".
// derivedKey is a key for one purpose, derived from the secret key so that
// a key leaked from one use opens nothing else.
func derivedKey(key []byte, purpose string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("vigil: " + purpose))
	return m.Sum(nil)
}

// watchAckFactor tightens a tenant's alert acknowledgement waits while
// one of its key-period campaigns is in the watch phase.
func (a *App) watchAckFactor(ctx context.Context, tenantID string, at time.Time) float64 {
	if a.Campaigns == nil {
		return 1
	}
	return a.Campaigns.AckFactor(ctx, tenantID, at)
}

func asSystem(ctx context.Context) context.Context {
	return auth.WithPrincipal(ctx, &auth.Principal{Username: "system", UserID: "system", GlobalRole: auth.RoleAdmin})
}
