package cli

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/vigil-sec/vigil/internal/vuln/enrich"
)

// newVulnEnrichCmd builds "vigil vuln enrich", which adds KEV, EPSS and a
// priority to the JSON lines printed by "vigil vuln parse". It works
// offline on local copies of the KEV catalogue and the EPSS file.
func newVulnEnrichCmd() *cobra.Command {
	var (
		kevFile, epssFile string
		importance        int
		internetFacing    bool
	)
	cmd := &cobra.Command{
		SilenceUsage: true,
		Use:          "enrich --kev FILE [--epss FILE] [--importance N] [--internet-facing] FINDINGS.jsonl",
		Short:        "Add KEV, EPSS and priority to findings printed by \"vuln parse\"",
		Long: `Read findings as JSON lines (the output of "vigil vuln parse", or "-" for
standard input) and print each with added fields:

  kev              the CISA KEV entry of one of its CVEs, if any
  epss             the highest EPSS score among its CVEs, if any
  priority         0..100, higher is more urgent
  priority_reason  one line explaining the priority

--kev is CISA's known_exploited_vulnerabilities.json; --epss is FIRST's
EPSS CSV, plain or gzip-compressed. --importance (1..5) and
--internet-facing describe the asset the findings are on.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if importance < 1 || importance > 5 {
				return fmt.Errorf("--importance %d: want 1..5", importance)
			}
			en := &enrich.Enricher{Importance: importance, InternetFacing: internetFacing}
			if err := withFile(kevFile, func(r io.Reader) (err error) {
				en.KEV, err = enrich.LoadKEV(r, enrich.Options{})
				return err
			}); err != nil {
				return err
			}
			if epssFile != "" {
				if err := withFile(epssFile, func(r io.Reader) (err error) {
					en.EPSS, err = enrich.LoadEPSS(r, enrich.Options{})
					return err
				}); err != nil {
					return err
				}
			}
			var n int
			run := func(r io.Reader) (err error) {
				n, err = en.Stream(cmd.Context(), r, cmd.OutOrStdout())
				return err
			}
			var err error
			if args[0] == "-" {
				err = run(cmd.InOrStdin())
				if err != nil {
					err = fmt.Errorf("stdin: %w", err)
				}
			} else {
				err = withFile(args[0], run)
			}
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "%s: %d findings enriched (KEV %d entries, EPSS %d scores)\n",
				args[0], n, en.KEV.Len(), en.EPSS.Len())
			return nil
		},
	}
	cmd.Flags().StringVar(&kevFile, "kev", "", "CISA KEV catalogue (JSON)")
	cmd.Flags().StringVar(&epssFile, "epss", "", "FIRST EPSS scores (CSV, optionally gzip-compressed)")
	cmd.Flags().IntVar(&importance, "importance", enrich.DefaultImportance, "asset importance, 1 (least) to 5 (most)")
	cmd.Flags().BoolVar(&internetFacing, "internet-facing", false, "the asset is reachable from the internet")
	_ = cmd.MarkFlagRequired("kev")
	return cmd
}

// withFile opens name, passes it to fn and names the file in any error.
func withFile(name string, fn func(io.Reader) error) error {
	f, err := os.Open(filepath.Clean(name))
	if err != nil {
		return err
	}
	defer f.Close()
	if err := fn(f); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}
