package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/vigil-sec/vigil/internal/vuln"
)

// newVulnCmd builds "vigil vuln", the vulnerability commands. Its parse
// subcommand works offline on a scan file.
func newVulnCmd(g *globalFlags) *cobra.Command {
	cmd := &cobra.Command{
		Use:          "vuln",
		SilenceUsage: true,
		Short:        "Work with vulnerability findings and scanner output",
	}
	cmd.AddCommand(newVulnParseCmd(), newVulnEnrichCmd(), newVulnImportCmd(g))
	cmd.AddCommand(newVulnScanCmd(g), newVulnVerifyCmd(g))
	return cmd
}

func newVulnParseCmd() *cobra.Command {
	var format string
	reg := vuln.DefaultRegistry()
	cmd := &cobra.Command{
		Use:   "parse [--format F] FILE",
		Short: "Parse a scanner report offline and print normalised findings as JSON lines",
		Long: fmt.Sprintf(`Parse a scanner report without a server and print one JSON object per
normalised finding on stdout, then a count by severity on stderr.

The format is detected from the file when --format is omitted.
Formats: %v`, reg.Formats()),
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			fs, imp, err := reg.ParseFile(cmd.Context(), format, args[0])
			if err != nil {
				return err
			}
			if err := vuln.WriteJSONLines(cmd.OutOrStdout(), fs); err != nil {
				return err
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "%s (%s): %s\n", args[0], imp.Format(), vuln.Summary(fs))
			return nil
		},
	}
	cmd.Flags().StringVar(&format, "format", "", "report format (default: detect from the file)")
	return cmd
}
