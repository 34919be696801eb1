package cli

import (
	"context"
	"fmt"
	"io"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/vigil-sec/vigil/internal/app"
	"github.com/vigil-sec/vigil/internal/config"
)

func newServeCmd(g *globalFlags) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the Vigil platform (web UI, REST API, workers)",
		Long: `Run Vigil. With no --db and --bus it is the embedded default: SQLite (WAL) and
an in-process bus in --data-dir, one process, no other server needed.

With --db postgres://... and --bus nats://... several nodes share PostgreSQL
and NATS JetStream; --role splits the work: api (web UI and REST API),
worker (background jobs), ingest (log intake), scheduler (queues housekeeping;
one leader at a time), or all. See docs/scaling.md.

On first start an "admin" account is created. Its password is
VIGIL_ADMIN_PASSWORD if set, otherwise a one-time password printed once.`,
		Example: `  vigil serve
  vigil serve --addr 127.0.0.1:9090 --data-dir /var/lib/vigil
  vigil serve --db postgres://postgres@127.0.0.1:5432/vigil --bus nats://127.0.0.1:4222 --role api`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := g.load(cmd)
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			return runServe(ctx, cmd, cfg)
		},
	}
	cmd.Flags().String("addr", config.Default().Addr, "listen address (env VIGIL_ADDR)")
	cmd.Flags().String("role", config.RoleAll, "node role: all, api, worker, ingest, scheduler (env VIGIL_ROLE)")
	return cmd
}

func runServe(ctx context.Context, cmd *cobra.Command, cfg config.Config) error {
	logger := app.NewLogger(cfg, cmd.ErrOrStderr())
	var unlock func()
	if cfg.DB == "" {
		var err error
		if unlock, err = lockDataDir(cfg.DataDir); err != nil {
			return err
		}
		defer unlock()
	}
	a, err := app.Open(ctx, cfg, logger)
	if err != nil {
		return err
	}
	defer func() {
		if err := a.Close(); err != nil {
			logger.Warn("close", "err", err)
		}
	}()
	user, oneTime, err := a.Bootstrap(ctx)
	if err != nil {
		return err
	}
	printBootstrap(cmd.OutOrStdout(), user, oneTime, cfg)
	return a.Serve(ctx, func(addr string) {
		if addr != "" {
			fmt.Fprintf(cmd.OutOrStdout(), "Vigil is listening on http://%s\n", addr)
		}
	})
}

// printBootstrap tells the operator about a first admin just created.
func printBootstrap(w io.Writer, user, oneTime string, cfg config.Config) {
	switch {
	case oneTime != "":
		fmt.Fprintf(w, "\nFirst start: created user %q with one-time password:\n\n    %s\n\nSign in at %s and set a new password. It is not shown again.\n\n",
			user, oneTime, cfg.ExternalURL())
	case user != "":
		fmt.Fprintf(w, "First start: created user %q with the password from VIGIL_ADMIN_PASSWORD.\n", user)
	}
}
