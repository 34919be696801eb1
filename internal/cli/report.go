package cli

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/vigil-sec/vigil/internal/report"
)

// newReportCmd builds "vigil report": render deliverable reports offline.
func newReportCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "report",
		Short: "Render deliverable reports (HTML, PDF, XLSX) from a report document",
	}
	cmd.AddCommand(newReportRenderCmd())
	return cmd
}

func newReportRenderCmd() *cobra.Command {
	var (
		in, format, out, browser string
		timeout                  time.Duration
	)
	cmd := &cobra.Command{
		Use:   "render --in DOC.json --format html|pdf|xlsx -o FILE",
		Short: "Render a report document (JSON) to HTML, PDF or XLSX",
		Long: `render reads one report document as JSON (--in FILE, or - for standard
input): title, subtitle, tenant, lang ("en" or "zh-CN"), generated_at,
author, classification, summary key figures and nested sections with
paragraphs, figures, tables and charts (bar, line, pie, stacked-bar).
Unknown fields, oversized documents and malformed tables or charts are
errors naming the line or the path of the problem. When generated_at is
absent the current time is used.

--format html writes one self-contained file (inline CSS, inline SVG charts,
no script, no external URL); -o - writes it to standard output.
--format pdf prints that HTML to an A4 PDF with headless Chromium: the
browser is --browser, else $VIGIL_CHROMIUM, else chromium, chromium-browser
or google-chrome on PATH. Chinese text needs a CJK font such as Noto Sans
CJK SC (Debian package fonts-noto-cjk).
--format xlsx writes a workbook with a Summary sheet, one sheet per table
and one per chart (its data and a native chart); cells starting with = + - @ tab or CR get a leading apostrophe so they can
never run as formulas, even after export to CSV.

The output file is written (mode 0600) only when rendering succeeded.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f, err := report.ParseFormat(format)
			if err != nil {
				return fmt.Errorf("report render: %w", err)
			}
			if out == "-" && f != report.FormatHTML {
				return fmt.Errorf("report render: --format %s needs -o FILE (only html goes to standard output)", f)
			}
			doc, err := loadReportDoc(cmd, in)
			if err != nil {
				return err
			}
			if doc.GeneratedAt.IsZero() {
				doc.GeneratedAt = time.Now().UTC()
			}
			if browser == "" {
				browser = os.Getenv("VIGIL_CHROMIUM")
			}
			opts := report.Options{
				Logger:      slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: slog.LevelWarn})),
				BrowserPath: browser,
				Timeout:     timeout,
			}
			var buf bytes.Buffer
			if err := report.Render(cmd.Context(), doc, f, &buf, opts); err != nil {
				return fmt.Errorf("report render: %w", err)
			}
			if out == "-" {
				_, err = buf.WriteTo(cmd.OutOrStdout())
				return err
			}
			if err := os.WriteFile(out, buf.Bytes(), 0o600); err != nil {
				return fmt.Errorf("report render: %w", err)
			}
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&in, "in", "", "report document (JSON), or - for standard input")
	fl.StringVar(&format, "format", "html", "output format: html, pdf or xlsx")
	fl.StringVarP(&out, "output", "o", "", "output file, or - for standard output (html only)")
	fl.StringVar(&browser, "browser", "", "Chromium binary for pdf (default $VIGIL_CHROMIUM, else chromium on PATH)")
	fl.DurationVar(&timeout, "timeout", report.DefaultPDFTimeout, "limit on printing one PDF")
	_ = cmd.MarkFlagRequired("in")
	_ = cmd.MarkFlagRequired("output")
	return cmd
}

// loadReportDoc decodes and validates the document named by --in.
func loadReportDoc(cmd *cobra.Command, name string) (*report.Document, error) {
	var r io.Reader = cmd.InOrStdin()
	if name != "-" {
		f, err := os.Open(name) // #nosec G304 -- the operator names the document
		if err != nil {
			return nil, fmt.Errorf("report render: %w", err)
		}
		defer f.Close()
		r = f
	}
	doc, err := report.Decode(r)
	if err != nil {
		return nil, fmt.Errorf("report render: %s: %w", name, err)
	}
	return doc, nil
}
