package cli

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/spf13/cobra"

	"github.com/vigil-sec/vigil/internal/app"
)

// newRetentionCmd builds "vigil retention": each tenant's event retention.
func newRetentionCmd(g *globalFlags) *cobra.Command {
	var tenantRef string
	var clear bool
	cmd := &cobra.Command{
		Use:   "retention [--tenant T (DURATION | --clear)]",
		Short: "Show or set how long each tenant's log events are kept",
		Long: `retention without arguments prints the global event_retention and every
tenant's own retention. With --tenant and a DURATION (e.g. 720h; at least
1h) it sets that tenant's retention; --clear removes it, so the global one
applies. A tenant's retention can only be shorter than or equal to the
global one (a longer one is refused): on PostgreSQL the global retention
drops whole day partitions that hold every tenant's events. The retention
job (every 10 minutes) deletes the tenant's older events.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var d time.Duration
			switch {
			case tenantRef == "" && (len(args) > 0 || clear):
				return errors.New("retention: --tenant is required to set or clear a retention")
			case tenantRef != "" && clear == (len(args) == 1):
				return errors.New("retention: give either a DURATION or --clear")
			case len(args) == 1:
				var err error
				if d, err = time.ParseDuration(args[0]); err != nil || d <= 0 {
					return fmt.Errorf("retention: %q is not a positive duration (e.g. 720h)", args[0])
				}
			}
			return withApp(cmd, g, func(ctx context.Context, a *app.App) error {
				ctx = cliPrincipal(ctx)
				if tenantRef != "" {
					t, err := a.Tenants.ResolveTenant(ctx, tenantRef)
					if err != nil {
						return fmt.Errorf("tenant %q: %w", tenantRef, err)
					}
					if err := a.SetTenantEventRetention(ctx, t.ID, d); err != nil {
						return fmt.Errorf("retention: %w", err)
					}
				}
				rets, err := a.TenantEventRetentions(ctx)
				if err != nil {
					return err
				}
				global := "forever"
				if g := a.Config.EventRetention; g > 0 {
					global = g.String()
				}
				out := cmd.OutOrStdout()
				if _, err := fmt.Fprintf(out, "global\t%s\n", global); err != nil {
					return err
				}
				var lines []string
				for id, d := range rets {
					slug := id
					if t, err := a.Tenants.ResolveTenant(ctx, id); err == nil {
						slug = t.Slug
					}
					lines = append(lines, fmt.Sprintf("%s\t%s", slug, d))
				}
				slices.Sort(lines)
				for _, l := range lines {
					if _, err := fmt.Fprintln(out, l); err != nil {
						return err
					}
				}
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&tenantRef, "tenant", "", "tenant (id or slug)")
	cmd.Flags().BoolVar(&clear, "clear", false, "remove the tenant's retention (the global one applies)")
	return cmd
}
