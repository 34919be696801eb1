package app

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/vigil-sec/vigil/internal/api"
	"github.com/vigil-sec/vigil/internal/bus"
	"github.com/vigil-sec/vigil/internal/config"
	"github.com/vigil-sec/vigil/internal/httpserver"
	"github.com/vigil-sec/vigil/internal/web"
)

// Handler builds the composed HTTP handler of this node.
func (a *App) Handler() (http.Handler, error) {
	apiH, err := api.New(api.Options{Agents: a.Fleet, Attachments: a.Attachments, Incidents: a.Incidents, Ops: a.Ops, Assessments: a.Assessments, Campaigns: a.Campaigns, Drills: a.Drills, Posture: a.Posture, Auth: a.Auth, Tenants: a.Tenants, Assets: a.Assets, Reviews: a.Reviews, Vulns: a.Vulns, VulnScan: a.VulnScan, GMP: a.GMP, Archive: a.Archive, Exposure: a.Exposure, Alerting: a.Alerting, Baseline: a.Baseline, Traffic: a.Traffic, Devices: a.Devices, Audit: a.Audit, Rules: a.Rules,
		Systems: a.Systems, Secrets: a.Secrets, Logger: a.Logger, Version: Version, MaxBodyBytes: a.Config.MaxBodyBytes,
		Retention: a})
	if err != nil {
		return nil, fmt.Errorf("api: %w", err)
	}
	uiH, err := web.New(web.Options{Agents: a.Fleet, Systems: a.Systems, Attachments: a.Attachments, Campaigns: a.Campaigns, Auth: a.Auth, Tenants: a.Tenants, Assets: a.Assets, Reviews: a.Reviews, Vulns: a.Vulns, VulnScan: a.VulnScan, GMP: a.GMP, Archive: a.Archive, Exposure: a.Exposure, Triage: a.Triage, Alerting: a.Alerting, Compromise: a.Compromise, Posture: a.Posture, Intel: a.Desk, Ops: a.Ops, FeedRefresh: a.Config.FeedRefresh, Reports: a.Reports, Incidents: a.Incidents, Assessments: a.Assessments, Drills: a.Drills, Baseline: a.Baseline, Traffic: a.Traffic, Devices: a.Devices, Audit: a.Audit, Rules: a.Rules,
		Store: a.Store, Logger: a.Logger, SecureCookies: a.Config.CookieSecure(), Version: Version,
		Retention: a})
	if err != nil {
		return nil, fmt.Errorf("web: %w", err)
	}
	taxiiH, err := a.TAXIIHandler()
	if err != nil {
		return nil, fmt.Errorf("taxii: %w", err)
	}
	return httpserver.New(httpserver.Options{API: apiH, UI: uiH, Logger: a.Logger, Ready: a.Ready,
		Registry: a.Registry, MaxBodyBytes: a.Config.MaxBodyBytes, TrustedProxies: a.Config.Prefixes(),
		Ingest: a.IngestHandler(), Agent: a.AgentHandler(), TAXII: taxiiH}), nil
}

// Serve runs the node's role until ctx is done, then shuts down gracefully:
// the HTTP server stops accepting and finishes in-flight requests, workers
// finish their current jobs, then the caller closes the App. ready, if not
// nil, receives the bound listen address once the server accepts.
func (a *App) Serve(ctx context.Context, ready func(addr string)) error {
	role := a.Config.Role
	runHTTP := role == config.RoleAll || role == config.RoleAPI
	runWorker := role == config.RoleAll || role == config.RoleWorker
	runIngest := role == config.RoleAll || role == config.RoleIngest
	runScheduler := role == config.RoleAll || role == config.RoleScheduler

	var stops []func() error
	defer func() {
		for i := len(stops) - 1; i >= 0; i-- {
			if err := stops[i](); err != nil {
				a.Logger.Warn("stop", "err", err)
			}
		}
	}()

	stops = append(stops, a.startFeedRefresh(ctx))
	if runScheduler { // one node of the deployment leads (scheduler.go)
		stop, err := a.startScheduler(ctx)
		if err != nil {
			return err
		}
		stops = append(stops, stop)
	}
	if runWorker {
		stop, err := a.startWorkers(ctx)
		if err != nil {
			return err
		}
		stops = append(stops, stop)
	}
	if a.busIngest() { // accepted events go through JetStream (ingest_bus.go)
		stop, err := a.startEventQueue(ctx, runWorker)
		if err != nil {
			return err
		}
		stops = append(stops, stop)
	}
	if runIngest {
		stop, err := a.startIngest(ctx)
		if err != nil {
			return err
		}
		stops = append(stops, stop)
		if stop, err = a.startTraps(ctx); err != nil {
			return err
		}
		stops = append(stops, stop)
		if stop, err = a.startNetFlow(ctx); err != nil {
			return err
		}
		stops = append(stops, stop)
	} else if err := a.loadRules(); err != nil { // HTTP ingest on api nodes detects too
		return err
	}
	stops = append(stops, a.startDetection(ctx))
	stops = append(stops, a.startDeviceChanges())
	if role == config.RoleIngest {
		return a.serveIngestHTTP(ctx, ready)
	}
	if !runHTTP {
		if ready != nil {
			ready("")
		}
		<-ctx.Done()
		return nil
	}

	h, err := a.Handler()
	if err != nil {
		return err
	}
	if a.Config.AgentAddr != "" {
		stop, err := a.startAgentListener(ctx)
		if err != nil {
			return err
		}
		stops = append(stops, stop)
	}
	return a.serveHTTP(ctx, h, ready, "vigil serving", "role", role)
}

// serveHTTP serves h on the configured address until ctx ends, then
// drains in-flight requests for at most the shutdown timeout. ready, when
// set, learns the bound address; msg and attrs are the log line.
func (a *App) serveHTTP(ctx context.Context, h http.Handler, ready func(addr string), msg string, attrs ...any) error {
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		WriteTimeout:      120 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
	}
	ln, err := net.Listen("tcp", a.Config.Addr)
	if err != nil {
		return fmt.Errorf("listen %s: %w", a.Config.Addr, err)
	}
	a.Logger.Info(msg, append([]any{"addr", ln.Addr().String()}, append(attrs, "db", a.Store.Driver(), "version", Version)...)...)
	if ready != nil {
		ready(ln.Addr().String())
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("http server: %w", err)
	case <-ctx.Done():
	}
	a.Logger.Info("shutting down: draining in-flight requests and jobs")
	sctx, cancel := context.WithTimeout(context.Background(), a.Config.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("http shutdown: %w", err)
	}
	return nil
}

// JobsQueue is the durable queue of background jobs.
const JobsQueue = "vigil-jobs"

// Job kinds run by workers.
const (
	JobSessionCleanup = "jobs.sessions.cleanup"
	JobVulnExpire     = "jobs.vulns.expire"
	JobDiscoveryRun   = "jobs.discovery.run"
	JobDiscoveryDue   = "jobs.discovery.due"
	JobTrafficRun     = "jobs.traffic.run"
	JobTrafficEvents  = "jobs.traffic.events"
	// JobWeblogCollected analyses each web system's collected access logs
	// of the last complete day.
	JobWeblogCollected = "jobs.weblog.collected"
	JobPostureRecord   = "jobs.posture.record"
	JobReportsDue      = "jobs.reports.due"
	JobIncidentSLA     = "jobs.incidents.sla"
	JobBaselineDue     = "jobs.baseline.due"
	JobVulnScanDue     = "jobs.vulns.scan"
	JobDevicesRun      = "jobs.devices.run"
	// JobCampaignsCheck decides open go-live gates (expired risk
	// acceptances raise alerts) and moves key-period campaigns on,
	// archiving their daily and summary reports.
	JobCampaignsCheck = "jobs.campaigns.check"
	// JobKEVMatches escalates KEV entries matching tenants' assets (alerting/triggers.go).
	JobKEVMatches = "jobs.alerting.kev"
	// JobDigestDue sends the tenants' weekly digests not sent yet (alerting/digest_send.go).
	JobDigestDue = "jobs.alerting.digest"
)

// startWorkers consumes the jobs queue; the scheduler role queues the
// housekeeping jobs. The returned stop waits for jobs in progress.
func (a *App) startWorkers(ctx context.Context) (func() error, error) {
	if err := a.Bus.EnsureQueue(ctx, jobsQueueConfig()); err != nil {
		return nil, fmt.Errorf("jobs queue: %w", err)
	}
	handlers := map[string]func(context.Context, []byte) error{
		JobSessionCleanup: func(ctx context.Context, _ []byte) error {
			n, err := a.Store.Sessions().DeleteExpired(ctx, time.Now())
			if err == nil && n > 0 {
				a.Logger.Info("expired sessions removed", "count", n)
			}
			return err
		},
		JobVulnExpire:   func(ctx context.Context, _ []byte) error { return a.expireDecisions(ctx) },
		JobDiscoveryRun: a.runDiscovery,
		// Scans of the tenants whose asset discovery subscription is due.
		JobDiscoveryDue: func(ctx context.Context, _ []byte) error {
			_, err := a.Exposure.StartDue(asSystem(ctx))
			return err
		},
		JobTrafficRun: a.runTraffic,
		// The tenants' collected Suricata and netfilter events of the last hour.
		JobTrafficEvents: func(ctx context.Context, _ []byte) error { return a.runTrafficEvents(ctx) },
		// Each web system's access logs collected on the last complete day.
		JobWeblogCollected: func(ctx context.Context, _ []byte) error { return a.runWeblogCollected(ctx) },
		// The day's posture snapshot, for the score trend.
		JobPostureRecord: func(ctx context.Context, _ []byte) error { return a.Posture.RecordAll(ctx) },
		// Reports of the tenants' service catalogue whose period has ended.
		JobReportsDue: func(ctx context.Context, _ []byte) error { return a.runDueReports(ctx) },
		// Scheduled SSH baseline checks whose time has come.
		JobBaselineDue: func(ctx context.Context, _ []byte) error { return a.runDueBaseline(ctx) },
		// Scheduled vulnerability scans of subscribed tenants.
		JobVulnScanDue: func(ctx context.Context, _ []byte) error { return a.RunDueVulnScans(ctx, time.Now()) },
		// Device health polls, due config backups, expiry and silent-log warnings.
		JobDevicesRun: func(ctx context.Context, _ []byte) error { return a.Devices.RunScheduled(asSystem(ctx)) },
		// Expired risk acceptances of go-live gates; key-period phases and reports.
		JobCampaignsCheck: func(ctx context.Context, _ []byte) error {
			ctx = asSystem(ctx)
			return errors.Join(a.Campaigns.CheckAcceptances(ctx), a.Campaigns.Tick(ctx))
		},
		JobKEVMatches: func(ctx context.Context, _ []byte) error {
			_, err := a.Alerting.RaiseKEVMatches(asSystem(ctx), a.Desk.Warnings)
			return err
		},
		JobDigestDue: func(ctx context.Context, _ []byte) error {
			_, err := a.Alerting.SendDueDigests(asSystem(ctx), a.Desk.Warnings)
			return err
		},
		// Cases whose SLA timers ran out since the last run.
		JobIncidentSLA: func(ctx context.Context, _ []byte) error {
			return a.EscalateBreaches(ctx, time.Now(), housekeepingEvery)
		},
		// Event partitions ahead and retention (scheduler.go).
		JobEventPartitions: func(ctx context.Context, _ []byte) error { return a.maintainEventPartitions(ctx) },
	}
	sub, err := a.Bus.Consume(ctx, JobsQueue, bus.ConsumeOptions{Group: "workers", Concurrency: 2},
		func(ctx context.Context, d bus.Delivery) error {
			m := d.Message()
			h, ok := handlers[m.Subject]
			if !ok {
				a.Logger.Warn("unknown job dropped", "subject", m.Subject)
				return nil
			}
			return h(ctx, m.Data)
		})
	if err != nil {
		return nil, fmt.Errorf("consume jobs: %w", err)
	}
	sctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	// Escalation steps are due at minute granularity: every node ticks, and
	// the store's revision check sends each step once.
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(escalationEvery)
		defer t.Stop()
		for {
			select {
			case <-sctx.Done():
				return
			case <-t.C:
			}
			if err := a.Alerting.TickEscalations(asSystem(sctx)); err != nil && sctx.Err() == nil {
				a.Logger.Warn("alert escalation", "err", err)
			}
			if err := a.Alerting.TickNoticeReminders(asSystem(sctx)); err != nil && sctx.Err() == nil {
				a.Logger.Warn("urgent notice reminders", "err", err)
			}
		}
	}()
	return func() error {
		cancel()
		wg.Wait()
		return sub.Stop()
	}, nil
}

// escalationEvery is how often due escalation steps are sent.
const escalationEvery = 30 * time.Second
