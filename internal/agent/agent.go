package agent

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/vigil-sec/vigil/internal/logs"
)

// Config configures a running agent.
type Config struct {
	// Server is the Vigil server's base URL. Required.
	Server string
	// Token is the API token. Required.
	Token string
	// Tenant names the tenant when the token holds several (sent as
	// X-Vigil-Tenant).
	Tenant string
	// DataDir holds the identity, the spool and the tail offsets. Required.
	DataDir string
	// Tail lists the log files to follow and ship.
	Tail []string
	// Interval is how often inventory (and the baseline) are collected and
	// sent; zero means one hour.
	Interval time.Duration
	// Baseline names the policy to run each interval (an embedded name or
	// a file); empty runs none.
	Baseline string
	// SpoolMaxBytes bounds the on-disk spool; zero means 256 MiB.
	SpoolMaxBytes int64
	// FS is the host's root; nil means os.DirFS("/").
	FS fs.FS
	// HTTP is the HTTP client; nil means a client with a 30 s timeout.
	HTTP *http.Client
	// PollInterval is how often tailed files are checked; zero means 250ms.
	PollInterval time.Duration
	// Shipper tunes batching and retries; Client, AgentID, Hostname and
	// Logger are filled in by Run.
	Shipper ShipperOptions
	Logger  *slog.Logger
}

// Agent is a running agent's state, returned by Start.
type Agent struct {
	ID       Identity
	Hostname string
	Shipper  *Shipper
	Spool    *BoundedSpool
	Tailers  []*logs.Tailer

	cfg    Config
	client *Client
	done   chan struct{}
	err    error
}

// Start opens the data directory and starts the tailers, the shipper and
// the periodic inventory/baseline reports. It runs until ctx is done; Wait
// returns then.
func Start(ctx context.Context, cfg Config) (*Agent, error) {
	if cfg.Server == "" || cfg.Token == "" || cfg.DataDir == "" {
		return nil, errors.New("agent: server, token and data dir are required")
	}
	if cfg.Interval <= 0 {
		cfg.Interval = time.Hour
	}
	if cfg.SpoolMaxBytes <= 0 {
		cfg.SpoolMaxBytes = 256 << 20
	}
	if cfg.FS == nil {
		cfg.FS = os.DirFS("/")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Baseline != "" {
		if _, err := LoadPolicy(cfg.Baseline); err != nil {
			return nil, err
		}
	}
	id, err := LoadIdentity(cfg.DataDir)
	if err != nil {
		return nil, err
	}
	host := firstLine(cfg.FS, "proc/sys/kernel/hostname", "etc/hostname")
	if host == "" {
		host, _ = os.Hostname()
	}
	spoolDir := filepath.Join(cfg.DataDir, "spool")
	sp, err := logs.OpenSpool(spoolDir, logs.SpoolOptions{SegmentSize: min(64<<20, max(64<<10, cfg.SpoolMaxBytes/4)), Logger: cfg.Logger})
	if err != nil {
		return nil, fmt.Errorf("agent: %w", err)
	}
	if err := os.MkdirAll(filepath.Join(cfg.DataDir, "tail"), 0o700); err != nil {
		_ = sp.Close()
		return nil, fmt.Errorf("agent: %w", err)
	}
	client := &Client{Server: cfg.Server, Token: cfg.Token, Tenant: cfg.Tenant, AgentID: id.AgentID, HTTP: cfg.HTTP}
	so := cfg.Shipper
	so.Client, so.AgentID, so.Hostname, so.Logger = client, id.AgentID, host, cfg.Logger
	so.Gzip = true // Vigil's ingest endpoint decodes gzip bodies
	a := &Agent{
		ID: id, Hostname: host, cfg: cfg, client: client, done: make(chan struct{}),
		Shipper: NewShipper(so),
		Spool:   &BoundedSpool{Spool: sp, Dir: spoolDir, Max: cfg.SpoolMaxBytes},
	}
	auto, err := logs.NewRegistry().Lookup("auto")
	if err != nil {
		_ = sp.Close()
		return nil, fmt.Errorf("agent: %w", err)
	}
	for _, p := range cfg.Tail {
		abs, err := filepath.Abs(p)
		if err != nil {
			_ = sp.Close()
			return nil, fmt.Errorf("agent: tail %s: %w", p, err)
		}
		sum := sha256.Sum256([]byte(abs))
		a.Tailers = append(a.Tailers, logs.NewTailer(logs.TailOptions{
			Options:      logs.Options{Parser: lineParser{inner: auto}, Sink: a.Spool, Logger: cfg.Logger},
			Path:         abs,
			StatePath:    filepath.Join(cfg.DataDir, "tail", hex.EncodeToString(sum[:8])+".json"),
			PollInterval: cfg.PollInterval,
		}))
	}
	var wg sync.WaitGroup
	var errMu sync.Mutex
	setErr := func(err error) {
		if err != nil {
			errMu.Lock()
			a.err = errors.Join(a.err, err)
			errMu.Unlock()
		}
	}
	for _, t := range a.Tailers {
		wg.Go(func() {
			if err := t.Run(ctx); err != nil {
				cfg.Logger.Error("agent: tailer stopped", "err", err)
				setErr(err)
			}
		})
	}
	wg.Go(func() {
		if err := a.Shipper.Run(ctx, sp); err != nil {
			cfg.Logger.Error("agent: shipper stopped", "err", err)
			setErr(err)
		}
	})
	wg.Go(func() { a.report(ctx) })
	go func() {
		wg.Wait()
		setErr(sp.Close())
		close(a.done)
	}()
	cfg.Logger.Info("agent started", "agent_id", id.AgentID, "server", cfg.Server, "files", len(cfg.Tail))
	return a, nil
}

// Wait blocks until the agent stopped and returns what failed.
func (a *Agent) Wait() error {
	<-a.done
	return a.err
}

// report sends the inventory and the baseline now and every Interval; a
// failed send is tried again at the next interval.
func (a *Agent) report(ctx context.Context) {
	for {
		if err := a.SendInventory(ctx); err != nil && ctx.Err() == nil {
			a.cfg.Logger.Warn("agent: inventory not sent", "err", err)
		}
		if a.cfg.Baseline != "" {
			if err := a.SendBaseline(ctx); err != nil && ctx.Err() == nil {
				a.cfg.Logger.Warn("agent: baseline not sent", "err", err)
			}
		}
		if !sleep(ctx, a.cfg.Interval) {
			return
		}
	}
}

// SendInventory collects the inventory and posts it.
func (a *Agent) SendInventory(ctx context.Context) error {
	inv, err := Collect(ctx, CollectOptions{FS: a.cfg.FS, Interfaces: SystemInterfaces, RPM: true, AgentID: a.ID.AgentID, Logger: a.cfg.Logger})
	if err != nil {
		return err
	}
	if inv.Host.Hostname == "" {
		inv.Host.Hostname = a.Hostname
	}
	return a.client.PostJSON(ctx, InventoryPath, inv)
}

// SendBaseline runs the configured policy and posts the result.
func (a *Agent) SendBaseline(ctx context.Context) error {
	p, err := LoadPolicy(a.cfg.Baseline)
	if err != nil {
		return err
	}
	res, err := RunBaseline(ctx, p, BaselineOptions{FS: a.cfg.FS, AgentID: a.ID.AgentID, Hostname: a.Hostname, Logger: a.cfg.Logger})
	if err != nil {
		return err
	}
	return a.client.PostJSON(ctx, BaselinePath, res)
}

// CollectOfflineOptions configures CollectOffline.
type CollectOfflineOptions struct {
	// FS is the host's root; Collect reads the inventory from it.
	FS fs.FS
	// Interfaces as in CollectOptions.
	Interfaces func() ([]Interface, error)
	// RPM as in CollectOptions.
	RPM bool
	// AgentID names the host (LoadIdentity of a data directory, or a
	// fresh id).
	AgentID string
	// Logs are host paths of log files; the last MaxLogBytes of each go
	// into the bundle. A path is read from the real filesystem.
	Logs []string
	// MaxLogBytes bounds each log file's tail; zero means 4 MiB.
	MaxLogBytes int
	// Policies are run with RunBaseline (embedded names or files).
	Policies []string
	Now      func() time.Time
	Logger   *slog.Logger
}

// CollectOffline writes an offline collection bundle to w: the inventory,
// a bounded tail of each log file and a baseline result per policy, with
// the manifest. A log file that cannot be read is noted in the inventory's
// errors rather than failing the bundle.
func CollectOffline(ctx context.Context, w io.Writer, opts CollectOfflineOptions) (*Manifest, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.MaxLogBytes <= 0 || opts.MaxLogBytes > MaxBundleEntry {
		opts.MaxLogBytes = 4 << 20
	}
	if len(opts.Logs)+len(opts.Policies)+1 > MaxBundleFiles-1 {
		return nil, fmt.Errorf("agent collect: too many files (limit %d)", MaxBundleFiles-2)
	}
	inv, err := Collect(ctx, CollectOptions{FS: opts.FS, Interfaces: opts.Interfaces, RPM: opts.RPM, AgentID: opts.AgentID, Now: opts.Now, Logger: opts.Logger})
	if err != nil {
		return nil, err
	}
	if inv.Host.Hostname == "" {
		inv.Host.Hostname, _ = os.Hostname()
	}
	var files []BundleFile
	for i, p := range opts.Logs {
		data, cut, err := readTail(p, opts.MaxLogBytes)
		if err != nil {
			inv.Errors = append(inv.Errors, SectionError{Section: "logs", Error: err.Error()})
			continue
		}
		name := fmt.Sprintf("logs/%03d-%s", i+1, safeBase(p))
		files = append(files, BundleFile{ManifestFile: ManifestFile{Path: name, Kind: "log", Source: p, Truncated: cut}, Data: data})
	}
	for _, name := range opts.Policies {
		p, err := LoadPolicy(name)
		if err != nil {
			return nil, err
		}
		res, err := RunBaseline(ctx, p, BaselineOptions{FS: opts.FS, AgentID: opts.AgentID, Hostname: inv.Host.Hostname, Now: opts.Now, Logger: opts.Logger})
		if err != nil {
			return nil, err
		}
		b, err := json.MarshalIndent(res, "", "  ")
		if err != nil {
			return nil, fmt.Errorf("agent collect: %w", err)
		}
		files = append(files, BundleFile{ManifestFile: ManifestFile{Path: "baseline/" + safeBase(p.ID) + ".json", Kind: "baseline"}, Data: b})
	}
	b, err := json.MarshalIndent(inv, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("agent collect: %w", err)
	}
	files = append([]BundleFile{{ManifestFile: ManifestFile{Path: "inventory.json", Kind: "inventory"}, Data: b}}, files...)
	m := Manifest{AgentID: opts.AgentID, Hostname: inv.Host.Hostname, Created: opts.Now().UTC().Truncate(time.Second)}
	return WriteBundle(w, m, files)
}

// safeBase is a file name for a bundle entry: the base name with anything
// but letters, digits, dot, dash and underscore replaced.
func safeBase(p string) string {
	b := path.Base(filepath.ToSlash(p))
	s := strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '-', r == '_':
			return r
		}
		return '_'
	}, b)
	s = strings.TrimLeft(s, ".")
	if s == "" {
		s = "file"
	}
	if len(s) > 100 {
		s = s[:100]
	}
	return s
}

// readTail reads at most limit bytes from the end of the file at p,
// starting after a newline when it had to cut.
func readTail(p string, limit int) ([]byte, bool, error) {
	f, err := os.Open(filepath.Clean(p)) // #nosec G304 -- a log file the operator named
	if err != nil {
		return nil, false, err
	}
	defer func() { _ = f.Close() }()
	st, err := f.Stat()
	if err != nil {
		return nil, false, err
	}
	if !st.Mode().IsRegular() {
		return nil, false, fmt.Errorf("%s: not a regular file", p)
	}
	off := max(0, st.Size()-int64(limit)-1)
	buf := make([]byte, min(st.Size(), int64(limit)+1))
	n, err := f.ReadAt(buf, off)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, false, fmt.Errorf("%s: %w", p, err)
	}
	data, cut := TailFile(buf[:n], limit)
	return data, cut || off > 0, nil
}
