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
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vigil-sec/vigil/internal/logs"
)

// Config configures a running agent.
type Config struct {
	// Server is the Vigil server's base URL. Required.
	Server string
	// Token is the API token, or with Enrolled the agent's credential.
	// Required.
	Token string
	// Enrolled says Token is the agent's own credential from `vigil agent
	// enrol`: events go to AgentEventsPath and a heartbeat reports the
	// agent's status and fetches the configuration the server pushes.
	Enrolled bool
	// Tenant names the tenant when the token holds several (sent as
	// X-Vigil-Tenant).
	Tenant string
	// DataDir holds the identity, the spool and the tail offsets. Required.
	DataDir string
	// Tail lists the log files to follow and ship.
	Tail []string
	// Journald and FIM are the local settings; a pushed configuration
	// adds its files, units and paths to them.
	Journald JournaldConfig
	FIM      FIMConfig
	// JournalCommand is journalctl and leading arguments; nil means
	// "journalctl" from PATH.
	JournalCommand []string
	// Interval is how often inventory (and the baseline) are collected and
	// sent; zero means one hour.
	Interval time.Duration
	// HeartbeatInterval is how often an enrolled agent reports; zero means
	// one minute.
	HeartbeatInterval time.Duration
	// Baseline names the policy to run each interval (an embedded name or
	// a file); empty runs none.
	Baseline string
	// SpoolMaxBytes bounds the on-disk spool; zero means 256 MiB. When it
	// is full the oldest events are dropped and counted.
	SpoolMaxBytes int64
	// Version is reported in heartbeats.
	Version string
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
	// Now is the agent's clock (certificate renewal); nil means time.Now.
	Now func() time.Time
	// RenewCheck is how often an enrolled agent with a client certificate
	// checks whether it is due for renewal; zero means one hour.
	RenewCheck time.Duration
}

// Agent is a running agent's state, returned by Start.
type Agent struct {
	ID       Identity
	Hostname string
	Shipper  *Shipper
	Spool    *BoundedSpool
	// Tailers are the tailers of the configuration applied at Start;
	// TailerList returns the current ones.
	Tailers []*logs.Tailer

	cfg    Config
	client *Client
	done   chan struct{}
	err    error
	errMu  sync.Mutex

	mu      sync.Mutex
	remote  *RemoteConfig // the pushed configuration, nil for none
	etag    string
	dyn     context.CancelFunc // stops the current tailers, journal and FIM
	dynWG   sync.WaitGroup
	tailers []*logs.Tailer
	applied atomic.Uint64 // configurations applied
	ctx     context.Context
}

// remoteConfigFile keeps the last pushed configuration in the data dir.
const remoteConfigFile = "config.json"

// Start opens the data directory and starts the tailers, the journal
// reader, file integrity monitoring, the shipper, the periodic
// inventory/baseline reports and, when enrolled, the heartbeat. It runs
// until ctx is done; Wait returns then.
func Start(ctx context.Context, cfg Config) (*Agent, error) {
	if cfg.Server == "" || cfg.Token == "" || cfg.DataDir == "" {
		return nil, errors.New("agent: server, token and data dir are required")
	}
	if cfg.Interval <= 0 {
		cfg.Interval = time.Hour
	}
	if cfg.HeartbeatInterval <= 0 {
		cfg.HeartbeatInterval = defaultHeartbeat
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
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.RenewCheck <= 0 {
		cfg.RenewCheck = time.Hour
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
	// Segments of at most a quarter of the limit, so dropping the oldest
	// keeps the spool close to it.
	seg := min(64<<20, max(4<<10, cfg.SpoolMaxBytes/4))
	sp, err := logs.OpenSpool(spoolDir, logs.SpoolOptions{SegmentSize: seg, Logger: cfg.Logger})
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
	if cfg.Enrolled {
		so.Path = AgentEventsPath
	}
	a := &Agent{
		ID: id, Hostname: host, cfg: cfg, client: client, done: make(chan struct{}), ctx: ctx,
		Shipper: NewShipper(so),
		Spool:   &BoundedSpool{Spool: sp, Dir: spoolDir, Max: cfg.SpoolMaxBytes},
	}
	if rc, err := a.loadRemote(); err != nil {
		cfg.Logger.Warn("agent: saved configuration ignored", "err", err)
	} else if rc != nil {
		a.remote, a.etag = rc, rc.ETag()
	}
	if err := a.apply(); err != nil {
		_ = sp.Close()
		return nil, err
	}
	a.Tailers = a.TailerList()
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := a.Shipper.RunBounded(ctx, a.Spool); err != nil {
			cfg.Logger.Error("agent: shipper stopped", "err", err)
			a.setErr(err)
		}
	})
	wg.Go(func() { a.report(ctx) })
	if cfg.Enrolled {
		wg.Go(func() { a.heartbeatLoop(ctx) })
		if c, err := LoadClientCert(cfg.DataDir); err == nil && c != nil {
			wg.Go(func() { a.renewLoop(ctx) })
		}
	}
	go func() {
		wg.Wait()
		<-ctx.Done()
		a.mu.Lock()
		if a.dyn != nil {
			a.dyn()
		}
		a.mu.Unlock()
		a.dynWG.Wait()
		a.setErr(sp.Close())
		close(a.done)
	}()
	cfg.Logger.Info("agent started", "agent_id", id.AgentID, "server", cfg.Server, "files", len(cfg.Tail), "enrolled", cfg.Enrolled)
	return a, nil
}

func (a *Agent) setErr(err error) {
	if err != nil {
		a.errMu.Lock()
		a.err = errors.Join(a.err, err)
		a.errMu.Unlock()
	}
}

// Wait blocks until the agent stopped and returns what failed.
func (a *Agent) Wait() error {
	<-a.done
	a.errMu.Lock()
	defer a.errMu.Unlock()
	return a.err
}

// Effective is the configuration the agent runs with: its own settings
// with the pushed configuration's files, units and paths added and its
// intervals and limits, when set, in place of the agent's.
func (a *Agent) Effective() RemoteConfig {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.effectiveLocked()
}

func (a *Agent) effectiveLocked() RemoteConfig {
	c := a.cfg
	e := RemoteConfig{Schema: ConfigSchema, Tail: slices.Clone(c.Tail), Journald: c.Journald, FIM: c.FIM, Baseline: c.Baseline,
		HeartbeatInterval: Duration(c.HeartbeatInterval), InventoryInterval: Duration(c.Interval)}
	e.Journald.Units = slices.Clone(c.Journald.Units)
	e.FIM.Paths = slices.Clone(c.FIM.Paths)
	r := a.remote
	if r == nil {
		return e
	}
	union := func(a, b []string) []string {
		for _, x := range b {
			if !slices.Contains(a, x) {
				a = append(a, x)
			}
		}
		return a
	}
	e.Tail = union(e.Tail, r.Tail)
	if r.Journald.Enabled {
		e.Journald.Enabled = true
		e.Journald.Units = union(e.Journald.Units, r.Journald.Units)
	}
	e.FIM.Paths = union(e.FIM.Paths, r.FIM.Paths)
	if r.FIM.Interval != 0 {
		e.FIM.Interval = r.FIM.Interval
	}
	if r.FIM.MaxFiles != 0 {
		e.FIM.MaxFiles = r.FIM.MaxFiles
	}
	if r.FIM.MaxFileBytes != 0 {
		e.FIM.MaxFileBytes = r.FIM.MaxFileBytes
	}
	if r.Baseline != "" {
		e.Baseline = r.Baseline
	}
	if r.HeartbeatInterval != 0 {
		e.HeartbeatInterval = r.HeartbeatInterval
	}
	if r.InventoryInterval != 0 {
		e.InventoryInterval = r.InventoryInterval
	}
	return e
}

// ConfigETag is the ETag of the pushed configuration the agent runs with,
// "" for none.
func (a *Agent) ConfigETag() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.etag
}

// Applied counts the configurations applied since Start (the first is
// the one Start applies).
func (a *Agent) Applied() uint64 { return a.applied.Load() }

// TailerList returns the tailers running now.
func (a *Agent) TailerList() []*logs.Tailer {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.tailers)
}

// apply stops the running tailers, journal reader and FIM watcher and
// starts them again for the effective configuration. Tail offsets, the
// journal cursor and the FIM baseline are in the data directory, so a
// restart loses and repeats nothing.
func (a *Agent) apply() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.dyn != nil {
		a.dyn()
		a.dynWG.Wait()
	}
	eff := a.effectiveLocked()
	auto, err := logs.NewRegistry().Lookup("auto")
	if err != nil {
		return fmt.Errorf("agent: %w", err)
	}
	var tailers []*logs.Tailer
	for _, p := range eff.Tail {
		abs, err := filepath.Abs(p)
		if err != nil {
			return fmt.Errorf("agent: tail %s: %w", p, err)
		}
		sum := sha256.Sum256([]byte(abs))
		tailers = append(tailers, logs.NewTailer(logs.TailOptions{
			Options:      logs.Options{Parser: lineParser{inner: auto}, Sink: a.Spool, Logger: a.cfg.Logger},
			Path:         abs,
			StatePath:    filepath.Join(a.cfg.DataDir, "tail", hex.EncodeToString(sum[:8])+".json"),
			PollInterval: a.cfg.PollInterval,
		}))
	}
	ctx, cancel := context.WithCancel(a.ctx)
	a.dyn, a.tailers = cancel, tailers
	log := a.cfg.Logger
	for _, t := range tailers {
		a.dynWG.Go(func() {
			if err := t.Run(ctx); err != nil {
				log.Error("agent: tailer stopped", "err", err)
				a.setErr(err)
			}
		})
	}
	if eff.Journald.Enabled {
		a.dynWG.Go(func() {
			err := RunJournal(ctx, JournalOptions{Command: a.cfg.JournalCommand, Units: eff.Journald.Units,
				CursorPath: filepath.Join(a.cfg.DataDir, "journal.cursor"), Sink: a.Spool, Logger: log})
			switch {
			case errors.Is(err, ErrNoJournalctl):
				log.Info("agent: journalctl not found; the journal is not read", "err", err)
			case err != nil:
				log.Warn("agent: journal reader stopped", "err", err)
			}
		})
	}
	if len(eff.FIM.Paths) > 0 {
		a.dynWG.Go(func() {
			RunFIM(ctx, FIMOptions{Config: eff.FIM, StatePath: filepath.Join(a.cfg.DataDir, "fim.json"), Sink: a.Spool, Logger: log})
		})
	}
	a.applied.Add(1)
	log.Info("agent: configuration applied", "etag", a.etag, "files", len(eff.Tail), "journald", eff.Journald.Enabled,
		"fim_paths", len(eff.FIM.Paths))
	return nil
}

func (a *Agent) loadRemote() (*RemoteConfig, error) {
	b, err := os.ReadFile(filepath.Join(a.cfg.DataDir, remoteConfigFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	rc, err := ParseRemoteConfig(b)
	if err != nil {
		return nil, err
	}
	return &rc, nil
}

// heartbeatLoop reports now and every heartbeat interval.
func (a *Agent) heartbeatLoop(ctx context.Context) {
	for {
		if err := a.SendHeartbeat(ctx); err != nil && ctx.Err() == nil {
			a.cfg.Logger.Warn("agent: heartbeat not sent", "err", err)
		}
		if !sleep(ctx, time.Duration(a.Effective().HeartbeatInterval)) {
			return
		}
	}
}

// SendHeartbeat reports the agent's status and applies the configuration
// the server answers when it differs from the one running. A
// configuration that does not validate is refused and the agent keeps
// the one it has.
func (a *Agent) SendHeartbeat(ctx context.Context) error {
	pending, _ := a.Spool.Pending()
	hb := Heartbeat{Schema: HeartbeatSchema, AgentID: a.ID.AgentID, Hostname: a.Hostname, Version: a.cfg.Version,
		ConfigETag: a.ConfigETag(), SpoolPending: pending, SpoolDropped: a.Spool.Dropped.Load(), Sent: a.Shipper.Counters().Sent.Load()}
	body, err := json.Marshal(hb)
	if err != nil {
		return fmt.Errorf("agent: %w", err)
	}
	ans, err := a.client.Post(ctx, HeartbeatPath, "application/json", "", body)
	if err != nil {
		return err
	}
	var res HeartbeatAnswer
	if err := json.Unmarshal(ans, &res); err != nil {
		return fmt.Errorf("agent: heartbeat answer: %w", err)
	}
	if res.ConfigETag == hb.ConfigETag {
		return nil
	}
	p := filepath.Join(a.cfg.DataDir, remoteConfigFile)
	if res.ConfigETag == "" {
		a.mu.Lock()
		a.remote, a.etag = nil, ""
		a.mu.Unlock()
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("agent: %w", err)
		}
		return a.apply()
	}
	if res.Config == nil {
		return errors.New("agent: heartbeat answer: a new configuration tag without the configuration")
	}
	rc := *res.Config
	if err := rc.Validate(); err != nil {
		return fmt.Errorf("agent: pushed configuration refused: %w", err)
	}
	if rc.Baseline != "" {
		if _, err := LoadPolicy(rc.Baseline); err != nil {
			return fmt.Errorf("agent: pushed configuration refused: %w", err)
		}
	}
	if err := writeFileAtomic(p, rc.Canonical()); err != nil {
		return fmt.Errorf("agent: save configuration: %w", err)
	}
	a.mu.Lock()
	a.remote, a.etag = &rc, rc.ETag()
	a.mu.Unlock()
	return a.apply()
}

// report sends the inventory and the baseline now and every inventory
// interval; a failed send is tried again at the next interval.
func (a *Agent) report(ctx context.Context) {
	for {
		if err := a.SendInventory(ctx); err != nil && ctx.Err() == nil {
			a.cfg.Logger.Warn("agent: inventory not sent", "err", err)
		}
		eff := a.Effective()
		if eff.Baseline != "" {
			if err := a.SendBaseline(ctx); err != nil && ctx.Err() == nil {
				a.cfg.Logger.Warn("agent: baseline not sent", "err", err)
			}
		}
		if !sleep(ctx, time.Duration(eff.InventoryInterval)) {
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
	p, err := LoadPolicy(a.Effective().Baseline)
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
