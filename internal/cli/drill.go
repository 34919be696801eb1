package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/vigil-sec/vigil/internal/drill"
)

// newDrillCmd builds "vigil drill": the drill engine's offline verbs on
// plan and log files (see docs/drill.md), none of which needs a server.
func newDrillCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "drill",
		Short: "Attack/defence drills offline: case library, imports, plans from Navigator layers, scores, coverage, summary",
	}
	cmd.AddCommand(newDrillLibraryCmd(), newDrillImportCmd(), newDrillPlanCmd(), newDrillScoreCmd(), newDrillNavigatorCmd(),
		newDrillSummaryCmd())
	return cmd
}

// drillOpen opens a file the operator names, "-" for stdin.
func drillOpen(cmd *cobra.Command, name string) (io.ReadCloser, error) {
	if name == "-" {
		return io.NopCloser(cmd.InOrStdin()), nil
	}
	return os.Open(name) // #nosec G304 -- the operator names the file
}

// drillJSON prints v as indented JSON.
func drillJSON(cmd *cobra.Command, v any) error {
	enc := json.NewEncoder(cmd.OutOrStdout())
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// drillPrintCases prints cases as JSON lines.
func drillPrintCases(cmd *cobra.Command, cases []drill.TestCase) error {
	enc := json.NewEncoder(cmd.OutOrStdout())
	for _, c := range cases {
		if err := enc.Encode(c); err != nil {
			return err
		}
	}
	return nil
}

func newDrillLibraryCmd() *cobra.Command {
	var technique string
	cmd := &cobra.Command{
		Use:   "library [--technique T1110]",
		Short: "List the built-in test-case library as JSON lines",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			lib, err := drill.DefaultLibrary()
			if err != nil {
				return err
			}
			cases := lib.Cases()
			if technique != "" {
				id, ok := drill.NormTechnique(technique)
				if !ok {
					return fmt.Errorf("%q is not an ATT&CK technique id", technique)
				}
				cases = lib.ForTechnique(id)
			}
			return drillPrintCases(cmd, cases)
		},
	}
	cmd.Flags().StringVar(&technique, "technique", "", "only the cases of this technique (or its parent or sub-techniques)")
	return cmd
}

func newDrillImportCmd() *cobra.Command {
	var atomic, caldera string
	cmd := &cobra.Command{
		Use:   "import --atomic T1059.001.yaml | --caldera ABILITY.yml",
		Short: "Turn Atomic Red Team atomics or MITRE Caldera abilities into test-case templates (JSON lines)",
		Long: `import reads an Atomic Red Team technique file (atomics/T####/T####.yaml) or a
MITRE Caldera ability file and prints one test case per atomic test or
ability. Commands are kept as text for the attacking team to read; Vigil
never runs them.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if (atomic == "") == (caldera == "") {
				return errors.New("give exactly one of --atomic and --caldera")
			}
			name, parse := atomic, drill.ImportAtomic
			if caldera != "" {
				name, parse = caldera, drill.ImportCaldera
			}
			f, err := drillOpen(cmd, name)
			if err != nil {
				return err
			}
			defer func() { _ = f.Close() }()
			cases, err := parse(f)
			if err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			return drillPrintCases(cmd, cases)
		},
	}
	cmd.Flags().StringVar(&atomic, "atomic", "", "Atomic Red Team technique YAML")
	cmd.Flags().StringVar(&caldera, "caldera", "", "MITRE Caldera ability YAML")
	return cmd
}

func newDrillPlanCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "plan LAYER.json",
		Short: "Plan test cases from an ATT&CK Navigator layer: library cases per technique, and the techniques it lacks",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			f, err := drillOpen(cmd, args[0])
			if err != nil {
				return err
			}
			defer func() { _ = f.Close() }()
			l, err := drill.ParseLayer(f)
			if err != nil {
				return fmt.Errorf("%s: %w", args[0], err)
			}
			lib, err := drill.DefaultLibrary()
			if err != nil {
				return err
			}
			return drillJSON(cmd, drill.PlanFromLayer(l, lib))
		},
	}
}

// loadDrill reads a plan file and, when given, a log file.
func loadDrill(cmd *cobra.Command, plan, log string) (*drill.Drill, error) {
	lib, err := drill.DefaultLibrary()
	if err != nil {
		return nil, err
	}
	f, err := drillOpen(cmd, plan)
	if err != nil {
		return nil, err
	}
	d, err := drill.ParsePlan(f, lib)
	_ = f.Close()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", plan, err)
	}
	if log == "" {
		return d, nil
	}
	lf, err := drillOpen(cmd, log)
	if err != nil {
		return nil, err
	}
	defer func() { _ = lf.Close() }()
	if err := d.ApplyLog(lf); err != nil {
		return nil, fmt.Errorf("%s: %w", log, err)
	}
	return d, nil
}

func newDrillScoreCmd() *cobra.Command {
	var lines bool
	cmd := &cobra.Command{
		Use:   "score PLAN.yaml LOG.json",
		Short: "Score a drill: points per team with the plan's scheme (or the default), as JSON",
		Long: `score reads a drill plan (YAML: name, window, scope, teams, optional scheme,
cases and library_cases) and its log (JSON: records, observed, reports),
runs every record through the scope guard and the drill window, and prints
the points per attacking and defending team. --lines adds every step that
made the points. An out-of-scope record is an error naming it.`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			d, err := loadDrill(cmd, args[0], args[1])
			if err != nil {
				return err
			}
			sc, err := d.Score()
			if err != nil {
				return err
			}
			if !lines {
				sc.Lines = nil
			}
			return drillJSON(cmd, sc)
		},
	}
	cmd.Flags().BoolVar(&lines, "lines", false, "include every score line")
	return cmd
}

func newDrillNavigatorCmd() *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "navigator PLAN.yaml [LOG.json] [-o LAYER.json]",
		Short: "Write the planned vs detected coverage as an ATT&CK Navigator layer (format 4.5)",
		Args:  cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			log := ""
			if len(args) == 2 {
				log = args[1]
			}
			d, err := loadDrill(cmd, args[0], log)
			if err != nil {
				return err
			}
			b, err := drill.MarshalLayer(d.Layer())
			if err != nil {
				return err
			}
			b = append(b, '\n')
			if out == "" {
				_, err = cmd.OutOrStdout().Write(b)
				return err
			}
			return os.WriteFile(out, b, 0o600)
		},
	}
	cmd.Flags().StringVarP(&out, "output", "o", "", "layer file (default standard output)")
	return cmd
}

func newDrillSummaryCmd() *cobra.Command {
	var out, lang string
	cmd := &cobra.Command{
		Use:   "summary PLAN.yaml LOG.json -o FILE.html|.pdf|.xlsx",
		Short: "Write the drill summary report: timeline, attack paths, outcomes, gaps, scores, advice, remediation items",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			d, err := loadDrill(cmd, args[0], args[1])
			if err != nil {
				return err
			}
			doc, err := d.Summary(lang, time.Now())
			if err != nil {
				return err
			}
			return reportOut(cmd, doc, out)
		},
	}
	cmd.Flags().StringVarP(&out, "output", "o", "", "report file; the format follows the extension (.pdf needs Chromium)")
	cmd.Flags().StringVar(&lang, "lang", "zh-CN", "report language: zh-CN or en")
	_ = cmd.MarkFlagRequired("output")
	return cmd
}
