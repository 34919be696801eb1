package cli

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/vigil-sec/vigil/internal/asset/discovery"
)

// newDiscoverImportCmd builds "vigil discover import": another scanner's
// report or an internet search engine / passive DNS export read offline
// into observations.
func newDiscoverImportCmd() *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "import [--format F] FILE",
		Short: "Read a scan report or search engine export into observations",
		Long: `import reads FILE offline and prints one JSON line per observation
(host, port, transport, service, product, version, banner, title, host
names, source, seen time), deduplicated, then a summary on standard error.
Nothing is sent anywhere; the server's discovery page merges the same files
into a tenant's inventory.

Formats (--format, or detected from the file): ` + strings.Join(discovery.ImportFormats, ", ") + `.
nmap is -oX XML, masscan is -oJ JSON or -oL list, naabu is -json lines,
shodan is "shodan download"/"shodan parse" JSON lines, fofa is a CSV or JSON
export, censys is Search 2.0 hosts JSON, zoomeye is host search JSON, and
pdns is passive DNS (JSON lines or name,address CSV) or crt.sh JSON.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			path := args[0]
			f, err := os.Open(path) // #nosec G304 -- the operator names the file to read
			if err != nil {
				return fmt.Errorf("discover import: %w", err)
			}
			defer f.Close()
			obs, got, err := discovery.ParseImport(cmd.Context(), format, filepath.Base(path), f)
			if err != nil {
				return fmt.Errorf("discover import: %s: %w", path, err)
			}
			enc := json.NewEncoder(cmd.OutOrStdout())
			hosts := map[string]bool{}
			for _, o := range obs {
				if err := enc.Encode(o); err != nil {
					return err
				}
				if o.Host != "" {
					hosts[o.Host] = true
				}
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "discover import: %s (%s): %d observations of %d hosts\n", path, got, len(obs), len(hosts))
			return nil
		},
	}
	cmd.Flags().StringVar(&format, "format", "", "file format: "+strings.Join(discovery.ImportFormats, ", ")+" (default: detect)")
	return cmd
}
