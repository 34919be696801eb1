package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/detect"
	"github.com/vigil-sec/vigil/internal/logs"
	"github.com/vigil-sec/vigil/internal/pipeline"
)

// loadRules loads the Sigma rules of RulesDir into the pipeline; rules
// that fail to load are logged with their reason and left out.
func (a *App) loadRules() error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if a.Config.RulesDir == "" {
		return a.setRules(ctx, &detect.LoadResult{})
	}
	// Rules go through the default processing pipeline, which maps Sigma's
	// field names onto the ones Vigil's parsers produce.
	def, err := detect.DefaultPipeline()
	if err != nil {
		return err
	}
	res, err := detect.NewPipelineSet(def).LoadFS(os.DirFS(a.Config.RulesDir), ".")
	if err != nil {
		return fmt.Errorf("rules_dir: %w", err)
	}
	res.Resolve()
	for _, e := range res.Errors {
		a.Logger.Debug("sigma rule not loaded", "path", e.Path, "reason", e.Reason)
	}
	if err := a.setRules(ctx, res); err != nil {
		return err
	}
	a.Logger.Info("sigma rules loaded", "rules", len(res.Rules), "rejected", len(res.Errors), "dir", a.Config.RulesDir)
	return nil
}

// IngestHandler is POST /ingest/events: JSON, a JSON array, NDJSON or an
// EVTX file (see ingestWithEVTX) with a bearer token whose role may send events to its tenant (header
// X-Vigil-Tenant names the tenant when the token holds several). The
// answer is 202 only once the events are stored.
func (a *App) IngestHandler() http.Handler {
	p, _ := logs.NewRegistry().Lookup("auto")
	return a.authenticateIngest(a.ingestWithEVTX(logs.NewHTTPHandler(logs.HTTPOptions{
		Options: logs.Options{Parser: p, Sink: logs.SinkFunc(func(ctx context.Context, evs []logs.Event) error {
			// Events of a Vigil agent shipping with an API token keep the
			// agent's IDs, and events with a timestamp of their own get
			// one from their content, so resends are stored once.
			stableIngestIDs(ingestCredential(ctx), evs)
			return a.ingestSink(false).Write(ctx, evs)
		}), Logger: a.Logger,
			DeadLetters: logs.DeadLetterFunc(func(ctx context.Context, dl logs.DeadLetter) {
				a.Logger.Debug("ingest: record refused", "source", dl.Source, "reason", dl.Reason)
			})},
		Authenticate: a.ingestTenant,
	})))
}

// tokenTenant authenticates a machine's request (log shipper, agent): a
// bearer token whose role may send events to its tenant; X-Vigil-Tenant
// names the tenant when the token holds several.
func (a *App) tokenTenant(r *http.Request) (string, error) {
	return a.tokenFor(r, auth.PermEventIngest)
}

// tokenFor authenticates a machine's bearer token and returns the tenant
// it acts for, which must grant perm; X-Vigil-Tenant names the tenant when
// the token holds several.
func (a *App) tokenFor(r *http.Request, perm auth.Perm) (string, error) {
	tenantID, _, err := a.tokenAuth(r, perm)
	return tenantID, err
}

// tokenAuth is tokenFor that also returns the token's ID.
func (a *App) tokenAuth(r *http.Request, perm auth.Perm) (tenantID, tokenID string, err error) {
	secret, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		return "", "", errors.New("bearer token required")
	}
	pr, err := a.Auth.Token(r.Context(), strings.TrimSpace(secret))
	if err != nil {
		return "", "", err
	}
	tenantID = r.Header.Get("X-Vigil-Tenant")
	if tenantID == "" {
		if ids := pr.TenantIDs(); len(ids) == 1 {
			tenantID = ids[0]
		}
	} else if t, err := a.Tenants.ResolveTenant(auth.WithPrincipal(r.Context(), pr), tenantID); err == nil {
		tenantID = t.ID
	}
	if tenantID == "" || !pr.Can(perm, tenantID) {
		return "", "", auth.ErrForbidden
	}
	return tenantID, pr.TokenID, nil
}

// startIngest opens the spool, drains it into the pipeline and starts the
// configured syslog listeners.
func (a *App) startIngest(ctx context.Context) (func() error, error) {
	if err := a.loadRules(); err != nil {
		return nil, err
	}
	if a.Config.SyslogTCP == "" && a.Config.SyslogUDP == "" {
		return func() error { return nil }, nil
	}
	sctx := asSystem(ctx)
	t, err := a.Tenants.ResolveTenant(sctx, a.Config.SyslogTenant)
	if err != nil {
		return nil, fmt.Errorf("syslog_tenant %q: %w", a.Config.SyslogTenant, err)
	}
	spool, err := logs.OpenSpool(filepath.Join(a.Config.DataDir, "spool"), logs.SpoolOptions{})
	if err != nil {
		return nil, fmt.Errorf("ingest spool: %w", err)
	}
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	dead := logs.DeadLetterFunc(func(_ context.Context, dl logs.DeadLetter) {
		a.Logger.Debug("syslog: record refused", "source", dl.Source, "reason", dl.Reason)
	})
	opts := logs.Options{Sink: spool, Tenant: t.ID, Logger: a.Logger, DeadLetters: dead}
	var closers []io.Closer
	fail := func(err error) (func() error, error) {
		cancel()
		for _, c := range closers {
			_ = c.Close()
		}
		wg.Wait()
		_ = spool.Close()
		return nil, err
	}
	if addr := a.Config.SyslogTCP; addr != "" {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return fail(fmt.Errorf("syslog_tcp %s: %w", addr, err))
		}
		closers = append(closers, ln)
		a.SyslogTCPAddr = ln.Addr()
		a.Logger.Info("syslog over TCP", "addr", ln.Addr().String(), "tenant", t.Slug)
		wg.Add(1)
		go func() { defer wg.Done(); _ = logs.NewStreamServer(opts).Serve(ctx, ln) }()
	}
	if addr := a.Config.SyslogUDP; addr != "" {
		pc, err := net.ListenPacket("udp", addr)
		if err != nil {
			return fail(fmt.Errorf("syslog_udp %s: %w", addr, err))
		}
		closers = append(closers, pc)
		a.SyslogUDPAddr = pc.LocalAddr()
		a.Logger.Info("syslog over UDP", "addr", pc.LocalAddr().String(), "tenant", t.Slug)
		wg.Add(1)
		go func() { defer wg.Done(); _ = logs.NewUDPServer(opts).Serve(ctx, pc) }()
	}
	wg.Add(1)
	go func() { defer wg.Done(); a.drainSpool(ctx, spool) }()
	return func() error {
		cancel()
		wg.Wait()
		return spool.Close()
	}, nil
}

// drainSpool moves spooled events into the pipeline, committing the spool
// only after the pipeline stored them; a failing store is retried.
func (a *App) drainSpool(ctx context.Context, spool *logs.Spool) {
	r, err := spool.Reader()
	if err != nil {
		a.Logger.Error("ingest spool reader", "err", err)
		return
	}
	defer func() { _ = r.Close() }()
	backoff := time.Second
	sink := a.ingestSink(true)
	for ctx.Err() == nil {
		evs, err := r.NextUpTo(logs.DrainBatch)
		if errors.Is(err, io.EOF) {
			select {
			case <-ctx.Done():
			case <-time.After(200 * time.Millisecond):
			}
			continue
		}
		if err != nil {
			a.Logger.Error("ingest spool", "err", err)
			return
		}
		for ctx.Err() == nil {
			err := sink.Write(ctx, evs)
			if err == nil {
				backoff = time.Second
				break
			}
			if errors.Is(err, pipeline.ErrNoTenant) {
				a.Logger.Error("ingest: batch without tenant dropped", "events", len(evs))
				break
			}
			a.Logger.Warn("ingest: store failed, retrying", "err", err, "in", backoff)
			select {
			case <-ctx.Done():
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, time.Minute)
		}
		if ctx.Err() == nil {
			if err := r.Commit(); err != nil {
				a.Logger.Warn("ingest spool commit", "err", err)
			}
		}
	}
}
