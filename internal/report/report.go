// Package report renders Vigil's deliverable reports — vulnerability, incident
// response, firewall policy before/after, monthly O&M reports and bulletins —
// from one typed, JSON-serialisable Document into a self-contained HTML file,
// a PDF (headless Chromium printing that HTML) or an XLSX workbook.
//
// Every text field of a Document is treated as attacker-controlled (it holds
// log lines, hostnames, scanner output): the HTML renderer keeps
// html/template auto-escaping on and builds chart SVG from geometry, never from
// markup strings; the XLSX renderer neutralises spreadsheet formula injection.
// Validate bounds every size before anything is rendered.
package report

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"time"
)

// Format names an output format of Render.
type Format string

// The output formats.
const (
	FormatHTML Format = "html"
	FormatPDF  Format = "pdf"
	FormatXLSX Format = "xlsx"
)

// ParseFormat returns the Format named s (html, pdf or xlsx).
func ParseFormat(s string) (Format, error) {
	switch f := Format(s); f {
	case FormatHTML, FormatPDF, FormatXLSX:
		return f, nil
	}
	return "", fmt.Errorf("report: unknown format %q (supported: html, pdf, xlsx)", s)
}

// DefaultPDFTimeout bounds a whole PDF rendering (browser start, layout and
// printing) when Options.Timeout is zero.
const DefaultPDFTimeout = 90 * time.Second

// Options tune rendering. The zero value is usable.
type Options struct {
	// Logger receives debug records (browser path, sizes); nil discards.
	Logger *slog.Logger
	// BrowserPath is the Chromium (or Chrome) binary for PDF output. Empty
	// looks up chromium, chromium-browser and google-chrome on PATH. The
	// library reads no environment variable; the CLI maps VIGIL_CHROMIUM here.
	BrowserPath string
	// Timeout bounds PDF rendering; zero means DefaultPDFTimeout.
	Timeout time.Duration
}

func (o Options) logger() *slog.Logger {
	if o.Logger != nil {
		return o.Logger
	}
	return slog.New(slog.DiscardHandler)
}

// Render validates doc and writes it to w in the given format. Nothing is
// written to w unless rendering succeeded: every renderer renders into memory
// first.
func Render(ctx context.Context, doc *Document, format Format, w io.Writer, opts Options) error {
	switch format {
	case FormatHTML:
		return RenderHTML(ctx, doc, w, opts)
	case FormatPDF:
		return RenderPDF(ctx, doc, w, opts)
	case FormatXLSX:
		return RenderXLSX(ctx, doc, w, opts)
	}
	return fmt.Errorf("report: unknown format %q (supported: html, pdf, xlsx)", format)
}
