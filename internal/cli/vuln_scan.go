package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/vigil-sec/vigil/internal/app"
	"github.com/vigil-sec/vigil/internal/store"
)

func newVulnScanCmd(g *globalFlags) *cobra.Command {
	var tenantRef string
	cmd := &cobra.Command{
		Use:   "scan --tenant T",
		Short: "Run Vigil's vulnerability checks on a tenant's discovered services",
		Long: `scan checks the services of the tenant's latest asset discovery run that lie in
its declared address space: exposed risky ports, TLS weaknesses, exposed admin
panels and default pages, and product versions against advisories. nmap and
nuclei run too when installed (their output goes through the importers).
Findings are applied to the tenant's tracked vulnerabilities as scanner
"vigil"; the scan prints its counts as JSON. Audited as done by "cli".`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if tenantRef == "" {
				return fmt.Errorf("--tenant is required")
			}
			return withApp(cmd, g, func(ctx context.Context, a *app.App) error {
				ctx = cliPrincipal(ctx)
				t, err := a.Tenants.ResolveTenant(ctx, tenantRef)
				if err != nil {
					return fmt.Errorf("tenant %q: %w", tenantRef, err)
				}
				res, err := a.VulnScan.Scan(ctx, t.ID)
				if err != nil {
					return err
				}
				return json.NewEncoder(cmd.OutOrStdout()).Encode(map[string]any{"tenant": t.Slug, "targets": res.Targets,
					"findings": res.Findings, "scans": res.ScanIDs, "skipped": res.Skipped, "errors": res.Errors})
			})
		},
	}
	cmd.Flags().StringVar(&tenantRef, "tenant", "", "tenant slug or ID")
	return cmd
}

func newVulnVerifyCmd(g *globalFlags) *cobra.Command {
	var tenantRef string
	cmd := &cobra.Command{
		Use:   "verify [--tenant T] FINDING_ID",
		Short: "Re-run the check of one finding and close or reopen it",
		Long: `verify re-runs the check that produced the finding (port probe, TLS check,
HTTP matcher, version check or nuclei template) on its target, which must be in
the tenant's address space. A finding no longer present becomes
verified-closed; a fixed or closed one still present is reopened. It prints
the outcome as JSON. Without --tenant the finding is looked up in every tenant.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withApp(cmd, g, func(ctx context.Context, a *app.App) error {
				ctx = cliPrincipal(ctx)
				var tenants []store.Tenant
				if tenantRef != "" {
					t, err := a.Tenants.ResolveTenant(ctx, tenantRef)
					if err != nil {
						return fmt.Errorf("tenant %q: %w", tenantRef, err)
					}
					tenants = []store.Tenant{t}
				} else {
					var err error
					if tenants, err = a.Store.Tenants().List(ctx); err != nil {
						return err
					}
				}
				for _, t := range tenants {
					if _, err := a.Store.Vulns().Get(ctx, t.ID, args[0]); errors.Is(err, store.ErrNotFound) {
						continue
					} else if err != nil {
						return err
					}
					v, err := a.VulnScan.Verify(ctx, t.ID, args[0])
					if err != nil {
						return err
					}
					return json.NewEncoder(cmd.OutOrStdout()).Encode(map[string]any{"tenant": t.Slug, "finding": v.FindingID,
						"present": v.Present, "state": v.State, "evidence": v.Evidence})
				}
				return fmt.Errorf("finding %s: %w", args[0], store.ErrNotFound)
			})
		},
	}
	cmd.Flags().StringVar(&tenantRef, "tenant", "", "tenant slug or ID")
	return cmd
}
