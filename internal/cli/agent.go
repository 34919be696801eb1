package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/google/uuid"
	"github.com/spf13/cobra"

	"github.com/vigil-sec/vigil/internal/agent"
	"github.com/vigil-sec/vigil/internal/app"
)

// defaultAgentDataDir is where `vigil agent` keeps its identity, spool and
// tail offsets unless --data-dir says otherwise.
const defaultAgentDataDir = "/var/lib/vigil-agent"

// newAgentCmd builds "vigil agent": the host agent (inventory, log
// shipping, local baseline) and its offline collection.
func newAgentCmd(g *globalFlags) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "agent",
		Short: "Host agent: enrolment, inventory, logs, journald, file integrity, offline collection",
		Long: `agent runs on a host that Vigil watches. 'agent enrol' exchanges an
enrolment token for the agent's own credential; 'agent run' ships the host's
log files and journal to a Vigil server, watches files for changes, reports
its inventory (and a baseline result) and fetches the configuration the
server pushes; 'agent unit' prints its systemd unit; 'agent inventory'
prints the inventory; 'agent collect' writes everything to a bundle for
hosts that cannot reach the server; 'agent verify' checks a bundle the way
the server does and, on the server, 'agent import' stores it.`,
	}
	cmd.AddCommand(newAgentEnrolCmd(), newAgentRunCmd(), newAgentUnitCmd(), newAgentInventoryCmd(), newAgentCollectCmd(),
		newAgentVerifyCmd(), newAgentImportCmd(g))
	return cmd
}

// enrolTokenEnv is the environment variable the enrolment token may come
// from instead of --token.
const enrolTokenEnv = "VIGIL_ENROL_TOKEN" // #nosec G101 -- the name of a variable, not a credential

func newAgentEnrolCmd() *cobra.Command {
	var server, token, dataDir, hostname, serverCA string
	cmd := &cobra.Command{
		Use:   "enrol --server URL --token TOKEN [--data-dir DIR]",
		Short: "Exchange an enrolment token for this agent's own credential",
		Long: `enrol sends the agent's id (from DIR/identity.json, created the first time)
and host name to URL/api/v1/agent/enrol with the enrolment token an admin
created for the tenant (Agents page or POST /api/v1/agents/enrolments). The
server answers the agent's own credential, which is saved in
DIR/credential.json (mode 0600); 'agent run' then uses it. The agent also
makes its own key (DIR/agent.key, mode 0600) and sends a certificate
request for it: a server with an agent CA answers a client certificate
(DIR/agent.crt) that 'agent run' presents for mutual TLS. The token may
also come from the environment variable VIGIL_ENROL_TOKEN. An enrolment
token is good for the number of agents and the time the admin chose.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if token == "" {
				token = os.Getenv(enrolTokenEnv)
			}
			if server == "" || token == "" {
				return errors.New("agent enrol: --server and --token (or VIGIL_ENROL_TOKEN) are required")
			}
			hc, err := agent.HTTPClient(dataDir, serverCA)
			if err != nil {
				return err
			}
			cred, err := agent.Enrol(cmd.Context(), agent.EnrolOptions{Server: server, Token: token, DataDir: dataDir,
				Hostname: hostname, Version: app.Version, HTTP: hc})
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "enrolled agent %s in tenant %s; credential saved in %s\n", cred.AgentID, cred.TenantID,
				filepath.Join(dataDir, agent.CredentialFile))
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&server, "server", "", "Vigil server base URL, e.g. https://vigil.example.com")
	f.StringVar(&token, "token", "", "enrolment token (vge_...); default: env VIGIL_ENROL_TOKEN")
	f.StringVar(&dataDir, "data-dir", defaultAgentDataDir, "agent state: identity, credential, spool and offsets")
	f.StringVar(&hostname, "hostname", "", "host name to enrol under (default: this host's)")
	f.StringVar(&serverCA, "server-ca", "", "PEM file of the CA that signed the server's certificate (default: the system's)")
	return cmd
}

func newAgentUnitCmd() *cobra.Command {
	var binary, dataDir string
	cmd := &cobra.Command{
		Use:   "unit [--binary PATH] [--data-dir DIR]",
		Short: "Print the systemd unit that runs the agent",
		Long: `unit prints a systemd service unit for 'vigil agent run'. Save it as
/etc/systemd/system/vigil-agent.service, enrol the agent, then run
'systemctl daemon-reload && systemctl enable --now vigil-agent'.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !filepath.IsAbs(binary) || !filepath.IsAbs(dataDir) {
				return errors.New("agent unit: --binary and --data-dir must be absolute paths")
			}
			_, err := fmt.Fprint(cmd.OutOrStdout(), agent.SystemdUnit(binary, dataDir))
			return err
		},
	}
	cmd.Flags().StringVar(&binary, "binary", "/usr/local/bin/vigil", "absolute path of the vigil binary on the host")
	cmd.Flags().StringVar(&dataDir, "data-dir", defaultAgentDataDir, "agent state directory")
	return cmd
}

func newAgentImportCmd(g *globalFlags) *cobra.Command {
	var tenantRef string
	cmd := &cobra.Command{
		Use:   "import --tenant T BUNDLE.tar.gz",
		Short: "Store an offline collection bundle in a tenant (run on the server)",
		Long: `import reads a bundle written by 'vigil agent collect', verifies it in full
(manifest, sizes, SHA-256 digests, documents) and stores it in the tenant of
the configured database as if the agent had sent it: the host's inventory,
each baseline result, and every line of its log files as an event. A bundle
that fails verification stores nothing. Importing the same bundle again
gives its events the same IDs. It prints the counts as JSON; the import is
audited as done by "cli".`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if tenantRef == "" {
				return errors.New("agent import: --tenant is required")
			}
			f, err := os.Open(filepath.Clean(args[0]))
			if err != nil {
				return fmt.Errorf("agent import: %w", err)
			}
			defer func() { _ = f.Close() }()
			return withApp(cmd, g, func(ctx context.Context, a *app.App) error {
				ctx = cliPrincipal(ctx)
				t, err := a.Tenants.ResolveTenant(ctx, tenantRef)
				if err != nil {
					return fmt.Errorf("tenant %q: %w", tenantRef, err)
				}
				res, err := a.ImportAgentBundle(ctx, t.ID, f)
				if err != nil {
					return err
				}
				return json.NewEncoder(cmd.OutOrStdout()).Encode(res)
			})
		},
	}
	cmd.Flags().StringVar(&tenantRef, "tenant", "", "tenant (id or slug) the host belongs to")
	return cmd
}

// agentRoot opens the filesystem root the agent reads and reports whether
// it is this host's own root. The host's root follows symbolic links as
// the host does; any other root is confined (links may not leave it).
func agentRoot(root string) (fs.FS, bool, func(), error) {
	if filepath.Clean(root) == "/" {
		return os.DirFS("/"), true, func() {}, nil
	}
	r, err := os.OpenRoot(root)
	if err != nil {
		return nil, false, nil, fmt.Errorf("agent: %w", err)
	}
	return r.FS(), false, func() { _ = r.Close() }, nil
}

func agentLogger(cmd *cobra.Command, level string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("agent: --log-level: %w", err)
	}
	return slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: l})), nil
}

func newAgentRunCmd() *cobra.Command {
	var (
		server, tokenFile, dataDir, policy, tenant string
		serverCA                                   string
		tail, units, fimPaths                      []string
		interval, heartbeat, fimInterval           time.Duration
		spoolMax                                   int64
		journald                                   bool
	)
	cmd := &cobra.Command{
		Use:   "run [--data-dir DIR] [--server URL --token-file FILE] [--tail FILE]... [--journald] [--fim PATH]...",
		Short: "Ship logs, journal and file changes, report inventory and baseline to a Vigil server",
		Long: `run follows each --tail file (safe across rotation and restarts) and, with
--journald, the systemd journal (journalctl -o json --follow from the saved
cursor; skipped when journalctl is absent), watches the --fim paths (hash,
mode, owner and time of every file; added, modified and removed files become
events), keeps the events in a bounded spool under --data-dir and sends them
to the server in NDJSON batches, retrying with backoff while the server is
unreachable. When the spool holds --spool-max bytes the oldest events are
dropped and counted; the count is reported in the heartbeat.

An enrolled agent ('vigil agent enrol') finds its server and credential in
DIR/credential.json: it sends a heartbeat every --heartbeat and applies the
configuration the server pushes (more files, journald units, FIM paths,
intervals) without a restart. An agent not enrolled takes --server and an
API token from --token-file (mode 0600) or VIGIL_AGENT_TOKEN instead.

Every --interval (and at start) it posts the host inventory and, with
--baseline, the result of that policy (a built-in name such as
debian-ubuntu or openssh, or a policy file). It runs until SIGINT/SIGTERM.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg := agent.Config{
				Server: server, Tenant: tenant, DataDir: dataDir, Tail: tail, Interval: interval, HeartbeatInterval: heartbeat,
				Baseline: policy, SpoolMaxBytes: spoolMax, Version: app.Version,
				Journald: agent.JournaldConfig{Enabled: journald || len(units) > 0, Units: units},
				FIM:      agent.FIMConfig{Paths: fimPaths, Interval: agent.Duration(fimInterval)},
			}
			cred, err := agent.LoadCredential(dataDir)
			if err != nil && !errors.Is(err, fs.ErrNotExist) {
				return err
			}
			if err == nil && tokenFile == "" {
				cfg.Token, cfg.Enrolled = cred.Token, true
				if cfg.Server == "" {
					cfg.Server = cred.Server
				}
			} else {
				if cfg.Server == "" {
					return errors.New("agent run: --server is required for an agent that is not enrolled")
				}
				if cfg.Token, err = agent.ReadToken(tokenFile, os.LookupEnv); err != nil {
					return fmt.Errorf("%w (or enrol the agent with 'vigil agent enrol')", err)
				}
			}
			if cfg.HTTP, err = agent.HTTPClient(dataDir, serverCA); err != nil {
				return err
			}
			local := agent.RemoteConfig{Schema: agent.ConfigSchema, Tail: absAll(tail), Journald: cfg.Journald, FIM: cfg.FIM}
			if err := local.Validate(); err != nil {
				return err
			}
			level, _ := cmd.Flags().GetString("log-level")
			log, err := agentLogger(cmd, level)
			if err != nil {
				return err
			}
			cfg.Logger = log
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			a, err := agent.Start(ctx, cfg)
			if err != nil {
				return err
			}
			err = a.Wait()
			c := a.Shipper.Counters()
			log.Info("agent stopped", "sent", c.Sent.Load(), "requests", c.Requests.Load(), "retries", c.Retries.Load(),
				"refused", c.Refused.Load(), "spool_dropped", a.Spool.Dropped.Load())
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&server, "server", "", "Vigil server base URL (default: the enrolled server)")
	f.StringVar(&tokenFile, "token-file", "", "file holding an API token (mode 0600) for an agent that is not enrolled; default: env VIGIL_AGENT_TOKEN")
	f.StringVar(&tenant, "tenant", "", "tenant (id or slug) the host belongs to, when the API token holds several")
	f.StringVar(&serverCA, "server-ca", "", "PEM file of the CA that signed the server's certificate (default: the system's)")
	f.StringVar(&dataDir, "data-dir", defaultAgentDataDir, "agent state: identity, credential, spool and offsets")
	f.StringArrayVar(&tail, "tail", nil, "log file to follow and ship (repeatable)")
	f.BoolVar(&journald, "journald", false, "read the systemd journal with journalctl")
	f.StringArrayVar(&units, "journald-unit", nil, "read only this systemd unit from the journal (repeatable; implies --journald)")
	f.StringArrayVar(&fimPaths, "fim", nil, "file or directory to watch for changes (repeatable)")
	f.DurationVar(&fimInterval, "fim-interval", 0, "how often the --fim paths are scanned (default 5m)")
	f.DurationVar(&interval, "interval", time.Hour, "how often inventory and baseline are sent")
	f.DurationVar(&heartbeat, "heartbeat", time.Minute, "how often an enrolled agent reports and fetches its configuration")
	f.StringVar(&policy, "baseline", "", "baseline policy to run every interval: a built-in name or a policy file")
	f.Int64Var(&spoolMax, "spool-max", 256<<20, "bytes the spool may hold before the oldest events are dropped")
	return cmd
}

// absAll returns the absolute forms of paths (as the tailers use them).
func absAll(paths []string) []string {
	out := make([]string, 0, len(paths))
	for _, p := range paths {
		if a, err := filepath.Abs(p); err == nil {
			out = append(out, a)
		} else {
			out = append(out, p)
		}
	}
	return out
}

func newAgentInventoryCmd() *cobra.Command {
	var root string
	cmd := &cobra.Command{
		Use:   "inventory [--root DIR]",
		Short: "Print this host's inventory as JSON",
		Long: `inventory collects the host inventory (OS, kernel, CPU and memory,
interfaces, listening sockets with their processes, dpkg/apk/rpm packages,
users and groups, running systemd units) and prints it as one JSON document
(schema vigil.agent.inventory/v1). With --root it reads another root
filesystem (a mounted image); interfaces and rpm are then left out. Run as
root to see the processes of every listening socket.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			fsys, host, closeFS, err := agentRoot(root)
			if err != nil {
				return err
			}
			defer closeFS()
			opts := agent.CollectOptions{FS: fsys, AgentID: uuid.Nil.String()}
			if host {
				opts.Interfaces, opts.RPM = agent.SystemInterfaces, true
			}
			inv, err := agent.Collect(cmd.Context(), opts)
			if err != nil {
				return err
			}
			enc := json.NewEncoder(cmd.OutOrStdout())
			enc.SetIndent("", "  ")
			return enc.Encode(inv)
		},
	}
	cmd.Flags().StringVar(&root, "root", "/", "root filesystem of the host to inventory")
	return cmd
}

func newAgentCollectCmd() *cobra.Command {
	var (
		out, root, dataDir string
		logsIn, pols       []string
		maxLog             int
	)
	cmd := &cobra.Command{
		Use:   "collect -o BUNDLE.tar.gz [--log FILE]... [--baseline POLICY]... [--root DIR]",
		Short: "Write inventory, log tails and baseline results to a bundle for an isolated host",
		Long: `collect writes a gzip-compressed tar for a host that cannot reach the
server: manifest.json (schema vigil.agent.bundle/v1, with the size and
SHA-256 of every file), inventory.json, the last --max-log-bytes of each
--log file under logs/, and one baseline/<policy>.json per --baseline
policy. Carry it to the server and check it with 'vigil agent verify'.
With --data-dir the agent's id is read from (or created in) that directory;
otherwise the bundle gets a fresh id.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if out == "" {
				return errors.New("agent collect: -o is required")
			}
			fsys, host, closeFS, err := agentRoot(root)
			if err != nil {
				return err
			}
			defer closeFS()
			id := uuid.NewString()
			if dataDir != "" {
				ident, err := agent.LoadIdentity(dataDir)
				if err != nil {
					return err
				}
				id = ident.AgentID
			}
			opts := agent.CollectOfflineOptions{FS: fsys, AgentID: id, Logs: logsIn, Policies: pols, MaxLogBytes: maxLog}
			if host {
				opts.Interfaces, opts.RPM = agent.SystemInterfaces, true
			}
			f, err := os.OpenFile(filepath.Clean(out), os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
			if err != nil {
				return fmt.Errorf("agent collect: %w", err)
			}
			m, err := agent.CollectOffline(cmd.Context(), f, opts)
			if cerr := f.Close(); err == nil && cerr != nil {
				err = fmt.Errorf("agent collect: %w", cerr)
			}
			if err != nil {
				_ = os.Remove(out)
				return err
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "wrote %s: %d files for agent %s on %s\n", out, len(m.Files), m.AgentID, m.Hostname)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVarP(&out, "output", "o", "", "bundle file to write (.tar.gz)")
	f.StringVar(&root, "root", "/", "root filesystem of the host to inventory")
	f.StringVar(&dataDir, "data-dir", "", "agent data directory holding the agent's id")
	f.StringArrayVar(&logsIn, "log", nil, "log file whose tail goes into the bundle (repeatable)")
	f.StringArrayVar(&pols, "baseline", nil, "baseline policy to run: a built-in name or a policy file (repeatable)")
	f.IntVar(&maxLog, "max-log-bytes", 4<<20, "bytes kept from the end of each log file")
	return cmd
}

func newAgentVerifyCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "verify BUNDLE.tar.gz",
		Short: "Check a collection bundle and print its manifest",
		Long: `verify reads a bundle as the server does: the manifest must come first,
every file must be a regular file with a clean relative name, listed once,
within the size limits and with the SHA-256 the manifest states, and the
inventory and baseline documents must be valid. It prints the manifest as
JSON and fails on the first problem.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			f, err := os.Open(filepath.Clean(args[0]))
			if err != nil {
				return fmt.Errorf("agent verify: %w", err)
			}
			defer func() { _ = f.Close() }()
			b, err := agent.ReadBundle(f)
			if err != nil {
				return err
			}
			enc := json.NewEncoder(cmd.OutOrStdout())
			enc.SetIndent("", "  ")
			if err := enc.Encode(b.Manifest); err != nil {
				return err
			}
			if b.Inventory != nil {
				fmt.Fprintf(cmd.ErrOrStderr(), "inventory: %d packages, %d listeners, %d users\n",
					len(b.Inventory.Packages), len(b.Inventory.Listeners), len(b.Inventory.Users))
			}
			for _, r := range b.Baselines {
				fmt.Fprintf(cmd.ErrOrStderr(), "baseline %s: passed %d, failed %d\n", r.Policy.ID, r.Report.Passed, r.Report.Failed)
			}
			return nil
		},
	}
}
