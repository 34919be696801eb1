package cli

import (
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
)

// defaultAgentDataDir is where `vigil agent` keeps its identity, spool and
// tail offsets unless --data-dir says otherwise.
const defaultAgentDataDir = "/var/lib/vigil-agent"

// newAgentCmd builds "vigil agent": the host agent (inventory, log
// shipping, local baseline) and its offline collection.
func newAgentCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "agent",
		Short: "Host agent: inventory, log shipping, local baseline, offline collection",
		Long: `agent runs on a host that Vigil watches. 'agent run' ships the host's log
files to a Vigil server and reports its inventory (and a baseline result)
every --interval; 'agent inventory' prints the inventory; 'agent collect'
writes everything to a bundle for hosts that cannot reach the server;
'agent verify' checks a bundle the way the server does.`,
	}
	cmd.AddCommand(newAgentRunCmd(), newAgentInventoryCmd(), newAgentCollectCmd(), newAgentVerifyCmd())
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
		tail                                       []string
		interval                                   time.Duration
		spoolMax                                   int64
	)
	cmd := &cobra.Command{
		Use:   "run --server URL --token-file FILE [--data-dir DIR] [--tail FILE]... [--interval 1h] [--baseline POLICY]",
		Short: "Ship log files and report inventory and baseline to a Vigil server",
		Long: `run follows each --tail file (safe across rotation and restarts), parses
its lines with the same parsers as the server, keeps them in a bounded spool
under --data-dir and sends them to URL/ingest/events in NDJSON batches,
retrying with backoff while the server is unreachable. A tail offset moves
only once its lines are in the spool; the spool moves only once the server
acknowledged them. When the spool holds --spool-max bytes, the agent stops
reading and the lines wait in the log files.

Every --interval (and at start) it posts the host inventory to
URL/api/v1/agent/inventory and, with --baseline, the result of that policy
(a built-in name such as debian-ubuntu or openssh, or a policy file) to
URL/api/v1/agent/baseline.

The API token is read from --token-file (mode 0600) or the environment
variable VIGIL_AGENT_TOKEN, never from the command line. The agent's id is
generated once and kept in DIR/identity.json. It runs until SIGINT/SIGTERM.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if server == "" {
				return errors.New("agent run: --server is required")
			}
			token, err := agent.ReadToken(tokenFile, os.LookupEnv)
			if err != nil {
				return err
			}
			level, _ := cmd.Flags().GetString("log-level")
			log, err := agentLogger(cmd, level)
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			a, err := agent.Start(ctx, agent.Config{
				Server: server, Token: token, Tenant: tenant, DataDir: dataDir, Tail: tail, Interval: interval,
				Baseline: policy, SpoolMaxBytes: spoolMax, Logger: log,
			})
			if err != nil {
				return err
			}
			err = a.Wait()
			c := a.Shipper.Counters()
			log.Info("agent stopped", "sent", c.Sent.Load(), "requests", c.Requests.Load(), "retries", c.Retries.Load(),
				"refused", c.Refused.Load(), "spool_full", a.Spool.Full.Load())
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&server, "server", "", "Vigil server base URL, e.g. https://vigil.example.com")
	f.StringVar(&tokenFile, "token-file", "", "file holding the API token (mode 0600); default: env VIGIL_AGENT_TOKEN")
	f.StringVar(&tenant, "tenant", "", "tenant (id or slug) the host belongs to, when the token holds several")
	f.StringVar(&dataDir, "data-dir", defaultAgentDataDir, "agent state: identity, spool and tail offsets")
	f.StringArrayVar(&tail, "tail", nil, "log file to follow and ship (repeatable)")
	f.DurationVar(&interval, "interval", time.Hour, "how often inventory and baseline are sent")
	f.StringVar(&policy, "baseline", "", "baseline policy to run every interval: a built-in name or a policy file")
	f.Int64Var(&spoolMax, "spool-max", 256<<20, "bytes the spool may hold before the agent stops reading")
	return cmd
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
