package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/vigil-sec/vigil/internal/compliance"
	"github.com/vigil-sec/vigil/internal/compliance/risk"
	"github.com/vigil-sec/vigil/internal/report"
)

// newComplianceCmd builds "vigil compliance": the control frameworks,
// MLPS assessment scoring and the GB/T 20984 risk method, offline.
func newComplianceCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "compliance",
		Short: "Control frameworks, MLPS 2.0 assessment scoring and GB/T 20984 risk assessment",
	}
	cmd.AddCommand(newComplianceFrameworksCmd(), newComplianceExportCmd(), newComplianceItemsCmd(),
		newComplianceScoreCmd(), newComplianceRiskCmd())
	return cmd
}

func builtinFramework(id string) (*compliance.Framework, error) {
	cat, err := compliance.Builtin()
	if err != nil {
		return nil, err
	}
	fw := cat.Framework(id)
	if fw == nil {
		return nil, fmt.Errorf("no framework %q; 'vigil compliance frameworks' lists them", id)
	}
	return fw, nil
}

func newComplianceFrameworksCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "frameworks",
		Short: "List the built-in frameworks with their counts",
		Long: `frameworks prints one JSON line per built-in framework: id, name,
standard, level, and its counts (top-level groups such as MLPS categories,
second-level nodes such as control points, and assessable requirements).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cat, err := compliance.Builtin()
			if err != nil {
				return err
			}
			enc := json.NewEncoder(cmd.OutOrStdout())
			for _, id := range cat.IDs() {
				fw := cat.Framework(id)
				c := fw.Count()
				if err := enc.Encode(map[string]any{"id": fw.ID, "name": fw.Name, "name_en": fw.NameEn, "standard": fw.Standard,
					"level": fw.Level, "groups": c.Top, "controls": c.Second, "requirements": c.Requirements}); err != nil {
					return err
				}
			}
			return nil
		},
	}
}

func newComplianceExportCmd() *cobra.Command {
	var id string
	cmd := &cobra.Command{
		Use:   "export --framework ID",
		Short: "Write a framework as a CISO Assistant library (YAML)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			fw, err := builtinFramework(id)
			if err != nil {
				return err
			}
			lib, err := compliance.ExportCISO(fw)
			if err != nil {
				return err
			}
			return compliance.WriteCISO(cmd.OutOrStdout(), lib)
		},
	}
	cmd.Flags().StringVar(&id, "framework", "", "framework id (required)")
	_ = cmd.MarkFlagRequired("framework")
	return cmd
}

func newComplianceItemsCmd() *cobra.Command {
	var id, out string
	cmd := &cobra.Command{
		Use:   "items --framework ID -o ITEMS.xlsx",
		Short: "Write the assessment item sheet of a framework for assessors to fill in",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			fw, err := builtinFramework(id)
			if err != nil {
				return err
			}
			var buf bytes.Buffer
			if err := compliance.WriteItemsXLSX(&buf, fw, nil); err != nil {
				return err
			}
			return os.WriteFile(out, buf.Bytes(), 0o600)
		},
	}
	cmd.Flags().StringVar(&id, "framework", "", "framework id (required)")
	cmd.Flags().StringVarP(&out, "output", "o", "", "output workbook (required)")
	_ = cmd.MarkFlagRequired("framework")
	_ = cmd.MarkFlagRequired("output")
	return cmd
}

// reportOut renders doc to the file out, the format from its extension
// (.html, .pdf, .xlsx); PDF is printed by Chromium.
func reportOut(cmd *cobra.Command, doc *report.Document, out string) error {
	f, err := report.ParseFormat(strings.TrimPrefix(filepath.Ext(out), "."))
	if err != nil {
		return fmt.Errorf("report %s: %w", out, err)
	}
	opts := report.Options{Logger: slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: slog.LevelWarn})),
		BrowserPath: os.Getenv("VIGIL_CHROMIUM")}
	var buf bytes.Buffer
	if err := report.Render(cmd.Context(), doc, f, &buf, opts); err != nil {
		return err
	}
	return os.WriteFile(out, buf.Bytes(), 0o600)
}

func newComplianceScoreCmd() *cobra.Command {
	var id, out, lang, system, tenant string
	cmd := &cobra.Command{
		Use:   "score --framework ID ITEMS.xlsx [--report FILE.html|.pdf|.xlsx]",
		Short: "Score an assessed item sheet and optionally write the assessment report",
		Long: `score reads an item sheet (as written by 'vigil compliance items' and filled in
by the assessors: result 符合/部分符合/不符合/不适用, high-risk flag,
compensating measures, evidence, notes), scores it with the documented
default method (docs/compliance.md) and prints the scorecard as JSON: the
overall score 0-100, the conclusion 优/良/中/差 and the scores per category
and control point. Rows that cannot be read are errors with their row
number; formulas and macros are refused. --report writes the assessment
report; its format follows the file's extension.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			fw, err := builtinFramework(id)
			if err != nil {
				return err
			}
			f, err := os.Open(args[0]) // #nosec G304 -- the operator names the sheet
			if err != nil {
				return err
			}
			defer f.Close()
			results, err := compliance.ParseItemsXLSX(f, fw)
			if err != nil {
				return fmt.Errorf("%s: %w", args[0], err)
			}
			card, err := compliance.WeightedScorer{}.Score(cmd.Context(), fw, results)
			if err != nil {
				return err
			}
			if out != "" {
				doc := compliance.AssessmentReport(fw, card, compliance.ReportOptions{System: system, Tenant: tenant, Lang: lang})
				if err := reportOut(cmd, doc, out); err != nil {
					return err
				}
			}
			enc := json.NewEncoder(cmd.OutOrStdout())
			enc.SetIndent("", "  ")
			return enc.Encode(map[string]any{"framework": card.Framework, "overall": card.Overall, "conclusion": card.Conclusion,
				"method": card.Method, "high_risks": len(card.HighRisks), "categories": card.Categories})
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&id, "framework", "", "framework id (required)")
	fl.StringVar(&out, "report", "", "write the assessment report to this file (.html, .pdf or .xlsx)")
	fl.StringVar(&lang, "lang", "zh-CN", "report language: zh-CN or en")
	fl.StringVar(&system, "system", "", "the assessed system (定级对象), for the report")
	fl.StringVar(&tenant, "tenant", "", "the customer, for the report")
	_ = cmd.MarkFlagRequired("framework")
	return cmd
}

func newComplianceRiskCmd() *cobra.Command {
	var method, out, lang, tenant string
	cmd := &cobra.Command{
		Use:   "risk ASSESSMENT.yaml [--method formula|matrix] [--report FILE]",
		Short: "Compute a GB/T 20984 risk assessment: register, roll-up and heat map",
		Long: `risk reads a risk assessment (assets in tiers with C/I/A values, threats,
vulnerabilities, existing controls, scenarios) and computes each scenario's
risk with the documented default formula (L = √(T·V), F = √(A·V), R = L·F,
levels by bands) or the matrix method, rolls risks up from components to
system and business assets, and prints the result as JSON. --report writes
the risk assessment report; its format follows the file's extension.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			f, err := os.Open(args[0]) // #nosec G304 -- the operator names the assessment
			if err != nil {
				return err
			}
			defer f.Close()
			as, err := risk.ParseAssessment(f)
			if err != nil {
				return fmt.Errorf("%s: %w", args[0], err)
			}
			var m risk.RiskMethod
			switch method {
			case "formula":
				m = risk.Formula{}
			case "matrix":
				m = risk.MatrixMethod{Matrix: risk.DefaultMatrix()}
			default:
				return fmt.Errorf("--method must be formula or matrix, not %q", method)
			}
			res, err := risk.Evaluate(as, m)
			if err != nil {
				return err
			}
			if out != "" {
				if err := reportOut(cmd, risk.ReportDocument(as, res, tenant, lang), out); err != nil {
					return err
				}
			}
			enc := json.NewEncoder(cmd.OutOrStdout())
			enc.SetIndent("", "  ")
			return enc.Encode(res)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&method, "method", "formula", "risk method: formula or matrix")
	fl.StringVar(&out, "report", "", "write the risk assessment report to this file (.html, .pdf or .xlsx)")
	fl.StringVar(&lang, "lang", "zh-CN", "report language: zh-CN or en")
	fl.StringVar(&tenant, "tenant", "", "the customer, for the report")
	return cmd
}
