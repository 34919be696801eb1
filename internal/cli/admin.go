package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/vigil-sec/vigil/internal/api"
	"github.com/vigil-sec/vigil/internal/app"
	"github.com/vigil-sec/vigil/internal/audit"
	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/config"
	"github.com/vigil-sec/vigil/internal/store"
	"github.com/vigil-sec/vigil/internal/store/sqlite"
)

// withApp opens the configured platform for an offline command.
func withApp(cmd *cobra.Command, g *globalFlags, fn func(context.Context, *app.App) error) error {
	cfg, err := g.load(cmd)
	if err != nil {
		return err
	}
	logger := app.NewLogger(cfg, cmd.ErrOrStderr())
	a, err := app.Open(cmd.Context(), cfg, logger)
	if err != nil {
		return err
	}
	defer func() { _ = a.Close() }()
	return fn(cmd.Context(), a)
}

func newMigrateCmd(g *globalFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "migrate",
		Short: "Prepare the database: apply migrations and create the first admin, then exit",
		Long: `Apply database migrations and, on an empty database, create the user "admin"
(password VIGIL_ADMIN_PASSWORD, or a printed one-time password). 'vigil serve'
does the same at start; this command lets provisioning do it ahead of time.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withApp(cmd, g, func(ctx context.Context, a *app.App) error {
				user, oneTime, err := a.Bootstrap(ctx)
				if err != nil {
					return err
				}
				printBootstrap(cmd.OutOrStdout(), user, oneTime, a.Config)
				fmt.Fprintf(cmd.OutOrStdout(), "%s database is up to date\n", a.Store.Driver())
				return nil
			})
		},
	}
}

func newBackupCmd(g *globalFlags) *cobra.Command {
	var to string
	cmd := &cobra.Command{
		Use:   "backup --to FILE",
		Short: "Write a consistent copy of the SQLite database while Vigil runs",
		Long: `Write a consistent online copy of the embedded SQLite database to FILE.
The server may keep running. Keep the data dir's secret.key (or VIGIL_SECRET_KEY)
with the backup: encrypted secrets cannot be read without it.
For PostgreSQL use pg_dump.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if to == "" {
				return errors.New("--to FILE is required")
			}
			cfg, err := g.load(cmd)
			if err != nil {
				return err
			}
			st, err := app.OpenStore(cmd.Context(), cfg, app.NewLogger(cfg, cmd.ErrOrStderr()))
			if err != nil {
				return err
			}
			defer func() { _ = st.Close() }()
			if err := st.Backup(cmd.Context(), to); err != nil {
				if errors.Is(err, store.ErrUnsupported) {
					return errors.New("backup works on the embedded SQLite database; use pg_dump for PostgreSQL")
				}
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "backup written to %s\n", to)
			return nil
		},
	}
	cmd.Flags().StringVar(&to, "to", "", "file to write (must not exist)")
	return cmd
}

func newRestoreCmd(g *globalFlags) *cobra.Command {
	var from string
	cmd := &cobra.Command{
		Use:   "restore --from FILE",
		Short: "Replace the SQLite database with a backup (Vigil must be stopped)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if from == "" {
				return errors.New("--from FILE is required")
			}
			cfg, err := g.load(cmd)
			if err != nil {
				return err
			}
			if cfg.DB != "" {
				return errors.New("restore works on the embedded SQLite database; use pg_restore for PostgreSQL")
			}
			unlock, err := lockDataDir(cfg.DataDir)
			if err != nil {
				return err
			}
			defer unlock()
			if err := sqlite.Restore(cmd.Context(), from, filepath.Join(cfg.DataDir, app.DBFile)); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "restored %s into %s\n", from, cfg.DataDir)
			return nil
		},
	}
	cmd.Flags().StringVar(&from, "from", "", "backup file made by 'vigil backup'")
	return cmd
}

func newAuditCmd(g *globalFlags) *cobra.Command {
	cmd := &cobra.Command{Use: "audit", Short: "Audit log tools"}
	cmd.AddCommand(&cobra.Command{
		Use:   "verify",
		Short: "Check the audit hash chain; exit 1 if any entry was altered, removed or reordered",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withApp(cmd, g, func(ctx context.Context, a *app.App) error {
				res, err := a.Audit.Verify(ctx)
				if err != nil {
					return err
				}
				fmt.Fprintln(cmd.OutOrStdout(), res.String())
				if !res.OK() {
					return codeError{code: 1, err: errors.New("audit chain verification failed")}
				}
				return nil
			})
		},
	})
	return cmd
}

func newUserCmd(g *globalFlags) *cobra.Command {
	cmd := &cobra.Command{Use: "user", Short: "Manage user accounts from the command line"}
	cmd.AddCommand(&cobra.Command{
		Use:   "passwd USERNAME",
		Short: "Set a new one-time password for a user (the user must change it at next sign-in)",
		Long: `Set a new password for USERNAME. The password is VIGIL_NEW_PASSWORD when set,
otherwise a random one-time password is printed. Existing sessions end.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withApp(cmd, g, func(ctx context.Context, a *app.App) error {
				u, err := a.Store.Users().GetByUsername(ctx, args[0])
				if err != nil {
					return fmt.Errorf("user %q: %w", args[0], err)
				}
				pw := os.Getenv("VIGIL_NEW_PASSWORD")
				given := pw != ""
				if !given {
					pw = auth.RandomPassword()
				}
				h, err := auth.HashPassword(pw)
				if err != nil {
					return err
				}
				u.PasswordHash, u.MustChangePassword = h, !given
				if err := a.Store.Users().Update(ctx, &u); err != nil {
					return err
				}
				if err := a.Store.Sessions().DeleteForUser(ctx, u.ID); err != nil {
					return err
				}
				op := &auth.Principal{UserID: "cli", Username: "cli"}
				if err := a.Audit.RecordAs(ctx, op, audit.Event{Action: "user.password.reset", Object: "user:" + u.ID,
					Detail: map[string]string{"username": u.Username, "via": "cli"}}); err != nil {
					return err
				}
				if given {
					fmt.Fprintf(cmd.OutOrStdout(), "password of %q set from VIGIL_NEW_PASSWORD\n", u.Username)
				} else {
					fmt.Fprintf(cmd.OutOrStdout(), "one-time password of %q: %s\n", u.Username, pw)
				}
				return nil
			})
		},
	})
	return cmd
}

func newConfigCmd(g *globalFlags) *cobra.Command {
	cmd := &cobra.Command{Use: "config", Short: "Configuration tools"}
	check := &cobra.Command{
		Use:   "check",
		Short: "Load and validate the configuration, then print it with secrets redacted",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := g.load(cmd)
			if err != nil {
				return err
			}
			r := cfg.Redacted()
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "addr: %s\ndata_dir: %s\ndb: %s\nbus: %s\nrole: %s\nlog_level: %s\nlog_format: %s\nbase_url: %s\nsession_ttl: %s\nshutdown_timeout: %s\nmax_body_bytes: %d\nsecret_key: %s\n",
				r.Addr, r.DataDir, orDefault(r.DB, "(sqlite in data_dir)"), orDefault(r.Bus, "(in-process)"), r.Role,
				r.LogLevel, r.LogFormat, r.ExternalURL(), r.SessionTTL, r.ShutdownTimeout, r.MaxBodyBytes,
				orDefault(r.SecretKey, "(key file in data_dir)"))
			return nil
		},
	}
	check.Flags().String("addr", config.Default().Addr, "listen address")
	check.Flags().String("role", config.RoleAll, "node role")
	cmd.AddCommand(check)
	return cmd
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

func newOpenAPICmd(_ *globalFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "openapi",
		Short: "Print the REST API's OpenAPI 3.1 document (generated from the handlers)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			b, err := api.OpenAPI(api.Options{Version: app.Version})
			if err != nil {
				return err
			}
			_, err = cmd.OutOrStdout().Write(append(b, '\n'))
			return err
		},
	}
}

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Args:  cobra.NoArgs,
		Run: func(cmd *cobra.Command, _ []string) {
			fmt.Fprintf(cmd.OutOrStdout(), "vigil %s\n", app.Version)
		},
	}
}
