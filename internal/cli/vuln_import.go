package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/vigil-sec/vigil/internal/app"
	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/vuln/lifecycle"
)

func newVulnImportCmd(g *globalFlags) *cobra.Command {
	var (
		format, tenantRef string
		full              bool
	)
	cmd := &cobra.Command{
		Use:   "import --tenant T [--format F] [--full] FILE",
		Short: "Import a scanner report into a tenant's tracked vulnerabilities",
		Long: `import parses FILE (format detected unless --format names it) and applies it
to the tenant's findings in the configured database, in one transaction: new
findings are added, known ones updated, closed ones that reappear reopened.
With --full the scan counts as a complete rescan of the assets it covers: their
open findings it no longer reports become fixed-pending-verification.

It prints the import's counts as JSON. A file that fails to parse imports
nothing and the error names the file and line or offset. The change is
audited as done by "cli".`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if tenantRef == "" {
				return fmt.Errorf("--tenant is required")
			}
			data, err := readScanFile(args[0])
			if err != nil {
				return err
			}
			return withApp(cmd, g, func(ctx context.Context, a *app.App) error {
				op := &auth.Principal{UserID: "cli", Username: "cli", GlobalRole: auth.RoleAdmin}
				ctx = auth.WithPrincipal(ctx, op)
				t, err := a.Tenants.ResolveTenant(ctx, tenantRef)
				if err != nil {
					return fmt.Errorf("tenant %q: %w", tenantRef, err)
				}
				sc, err := a.Vulns.Import(ctx, t.ID, lifecycle.ImportInput{Filename: filepath.Base(args[0]), Format: format,
					Data: data, Full: full})
				if err != nil {
					return err
				}
				enc := json.NewEncoder(cmd.OutOrStdout())
				return enc.Encode(map[string]any{"scan": sc.ID, "tenant": t.Slug, "scanner": sc.Scanner, "file": sc.Filename,
					"full": sc.Full, "total": sc.Total, "added": sc.Added, "updated": sc.Updated, "reopened": sc.Reopened,
					"absent": sc.Absent})
			})
		},
	}
	cmd.Flags().StringVar(&format, "format", "", "scanner format (detected when empty)")
	cmd.Flags().StringVar(&tenantRef, "tenant", "", "tenant slug or ID")
	cmd.Flags().BoolVar(&full, "full", false, "treat the scan as a full rescan of the assets it covers")
	return cmd
}

func readScanFile(path string) ([]byte, error) {
	f, err := os.Open(path) // #nosec G304 -- the operator names the file to import
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }()
	data, err := lifecycle.ReadAll(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return data, nil
}
