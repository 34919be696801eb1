// Package cli holds Vigil's cobra commands. Each command loads the one typed
// configuration and calls an engine or the app; nothing here holds state.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/vigil-sec/vigil/internal/config"
)

// Execute runs the command line and returns the process exit code.
func Execute(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	root := NewRoot(os.LookupEnv)
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	if err := root.ExecuteContext(ctx); err != nil {
		fmt.Fprintln(stderr, "vigil:", err)
		var ce codeError
		if errors.As(err, &ce) {
			return ce.code
		}
		return 1
	}
	return 0
}

// codeError carries a specific exit code.
type codeError struct {
	code int
	err  error
}

func (e codeError) Error() string { return e.err.Error() }
func (e codeError) Unwrap() error { return e.err }

// globalFlags are the flags shared by every command.
type globalFlags struct {
	configFile string
	lookup     func(string) (string, bool)
}

// NewRoot builds the command tree. lookup reads the environment.
func NewRoot(lookup func(string) (string, bool)) *cobra.Command {
	g := &globalFlags{lookup: lookup}
	root := &cobra.Command{
		Use:   "vigil",
		Short: "Vigil — one platform for the services a security operations team delivers",
		Long: `Vigil runs the services a SOC or MSSP delivers to its customers (tenants):
compliance (MLPS 2.0, risk assessment), asset discovery, baselines, vulnerabilities,
log and traffic analysis, incidents, threat intelligence, reports.

Start the whole platform with 'vigil serve' (SQLite in ./vigil-data, no other server).
Configuration comes from vigil.yaml (--config), VIGIL_* environment variables and flags.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	pf := root.PersistentFlags()
	pf.StringVar(&g.configFile, "config", "", "config file (default ./vigil.yaml if it exists; env VIGIL_CONFIG)")
	pf.String("data-dir", config.Default().DataDir, "data directory for SQLite, the in-process bus queue and the secret key (env VIGIL_DATA_DIR)")
	pf.String("db", "", "database: empty for SQLite in the data dir, or postgres://user@host:5432/db (env VIGIL_DB)")
	pf.String("bus", "", "bus: empty for in-process, or nats://host:4222 for NATS JetStream (env VIGIL_BUS)")
	pf.String("log-level", "info", "log level: debug, info, warn, error (env VIGIL_LOG_LEVEL)")
	pf.String("log-format", "text", "log format: text or json (env VIGIL_LOG_FORMAT)")

	root.AddCommand(
		newServeCmd(g), newMigrateCmd(g), newBackupCmd(g), newRestoreCmd(g),
		newAuditCmd(g), newUserCmd(g), newConfigCmd(g), newOpenAPICmd(g), newVersionCmd(),
		// Offline engines, one per line.
		newLogsCmd(),
		newVulnCmd(g),
		newDetectCmd(),
		newPolicyCmd(),
		newDiscoverCmd(),
		newBaselineCmd(),
		newReportCmd(),
		newIntelCmd(),
		newNotifyCmd(),
		newWeblogCmd(),
		newTrafficCmd(),
		newComplianceCmd(),
		newDrillCmd(),
		newAgentCmd(g),
		newIncidentCmd(g),
		newRetentionCmd(g),
	)
	return root
}

// load builds the configuration: defaults, file, environment, then the
// flags the user actually set.
func (g *globalFlags) load(cmd *cobra.Command) (config.Config, error) {
	cfg := config.Default()
	path := g.configFile
	if path == "" {
		path, _ = g.lookup("VIGIL_CONFIG")
	}
	explicit := path != ""
	if path == "" {
		path = "vigil.yaml"
	}
	if err := cfg.LoadFile(path); err != nil {
		if explicit || !errors.Is(err, fs.ErrNotExist) {
			return cfg, err
		}
	}
	if err := cfg.LoadEnv(g.lookup); err != nil {
		return cfg, err
	}
	set := map[string]*string{
		"data-dir": &cfg.DataDir, "db": &cfg.DB, "bus": &cfg.Bus, "log-level": &cfg.LogLevel,
		"log-format": &cfg.LogFormat, "addr": &cfg.Addr, "role": &cfg.Role,
	}
	cmd.Flags().Visit(func(f *pflag.Flag) {
		if dst, ok := set[f.Name]; ok {
			*dst = f.Value.String()
		}
	})
	if err := cfg.Validate(); err != nil {
		return cfg, fmt.Errorf("invalid configuration:\n%w", err)
	}
	return cfg, nil
}
