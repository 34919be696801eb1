package report

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"html"
	"io"
	"os"
	"os/exec"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// ErrNoBrowser is returned by RenderPDF when Options.BrowserPath is empty and
// no chromium, chromium-browser or google-chrome is on PATH.
var ErrNoBrowser = errors.New("report: no Chromium browser found for PDF output (install chromium or set the browser path)")

// FindBrowser returns path when it is set, else the first of chromium,
// chromium-browser and google-chrome found on PATH, else ErrNoBrowser.
func FindBrowser(path string) (string, error) {
	if path != "" {
		p, err := exec.LookPath(path)
		if err != nil {
			return "", fmt.Errorf("%w: %w", ErrNoBrowser, err)
		}
		return p, nil
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", ErrNoBrowser
}

// RenderPDF renders doc to HTML and prints it to an A4 PDF with headless
// Chromium (a fresh profile in a temporary directory, removed afterwards).
// The HTML is loaded with Page.setDocumentContent into about:blank, so no
// server and no network is involved; its CSP forbids every fetch. Each page
// carries the title and classification in the header and "Page N of M" in
// the footer. The whole run is bounded by Options.Timeout.
func RenderPDF(ctx context.Context, doc *Document, w io.Writer, opts Options) error {
	log := opts.logger()
	var htmlBuf bytes.Buffer
	if err := renderHTML(ctx, doc, &htmlBuf); err != nil {
		return err
	}
	exe, err := FindBrowser(opts.BrowserPath)
	if err != nil {
		return err
	}
	timeout := opts.Timeout
	if timeout <= 0 {
		timeout = DefaultPDFTimeout
	}
	profile, err := os.MkdirTemp("", "vigil-report-chromium-")
	if err != nil {
		return fmt.Errorf("report: browser profile: %w", err)
	}
	// Deferred first, so it runs after the browser has exited.
	defer func() {
		if err := os.RemoveAll(profile); err != nil {
			log.Warn("report: remove browser profile", "dir", profile, "err", err)
		}
	}()
	log.Debug("report: printing PDF", "browser", exe, "html_bytes", htmlBuf.Len(), "timeout", timeout)

	tctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	actx, acancel := chromedp.NewExecAllocator(tctx,
		chromedp.ExecPath(exe),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.Flag("disable-gpu", true),
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(profile),
	)
	defer acancel() // waits for the browser process to exit
	bctx, bcancel := chromedp.NewContext(actx,
		chromedp.WithErrorf(func(f string, a ...any) { log.Debug("report: chromium: " + fmt.Sprintf(f, a...)) }),
	)
	defer bcancel()

	content := htmlBuf.String()
	err = chromedp.Do(bctx,
		chromedp.Navigate("about:blank"),
		chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
			tree, err := cdp.Call(ctx, t, page.GetFrameTree, cdp.Empty{})
			if err != nil {
				return err
			}
			if tree.FrameTree == nil || tree.FrameTree.Frame == nil {
				return errors.New("no main frame")
			}
			_, err = cdp.Call(ctx, t, page.SetDocumentContent, page.SetDocumentContentParams{
				FrameID: tree.FrameTree.Frame.ID, HTML: content,
			})
			return err
		}),
	)
	if err == nil {
		_, err = chromedp.Run(bctx, chromedp.Poll[chromedp.Void](`document.readyState === "complete" && document.fonts.status === "loaded"`))
	}
	var pdf []byte
	if err == nil {
		pdf, err = chromedp.Run(bctx, chromedp.PrintToPDF(
			chromedp.PDFPaper(chromedp.PaperA4),
			chromedp.PDFMargins(0.75, 0.55, 0.75, 0.55),
			chromedp.PDFPrintBackground(),
			chromedp.PDFPreferCSSPageSize(),
			chromedp.PDFOutlineAndTagged(),
			chromedp.PDFHeaderTemplate(pdfHeader(doc)),
			chromedp.PDFFooterTemplate(pdfFooter(labelsFor(doc.Lang))),
			chromedp.PDFStream(),
		))
	}
	if err != nil {
		if tctx.Err() != nil && ctx.Err() == nil {
			return fmt.Errorf("report: print PDF: timed out after %s: %w", timeout, err)
		}
		return fmt.Errorf("report: print PDF with %s: %w", exe, err)
	}
	if !bytes.HasPrefix(pdf, []byte("%PDF-")) {
		return fmt.Errorf("report: print PDF: browser returned %d bytes that are not a PDF", len(pdf))
	}
	log.Debug("report: printed PDF", "bytes", len(pdf))
	if _, err := w.Write(pdf); err != nil {
		return fmt.Errorf("report: write PDF: %w", err)
	}
	return nil
}

// pdfHeader is Chromium's header template: the document title (filled in by
// the browser from <title>) and the classification, escaped here because the
// template is markup.
func pdfHeader(doc *Document) string {
	const style = `font-size:7.5pt;color:#5c6370;width:100%;margin:0 14mm;display:flex;justify-content:space-between;font-family:'Noto Sans','Noto Sans CJK SC',sans-serif;`
	return `<div style="` + style + `"><span class="title"></span><span>` +
		html.EscapeString(doc.Classification) + `</span></div>`
}

// pdfFooter is Chromium's footer template with the page numbers.
func pdfFooter(l labels) string {
	before, middle, after := l.pageWords()
	const style = `font-size:7.5pt;color:#5c6370;width:100%;margin:0 14mm;text-align:center;font-family:'Noto Sans','Noto Sans CJK SC',sans-serif;`
	return `<div style="` + style + `">` + html.EscapeString(before) + ` <span class="pageNumber"></span> ` +
		html.EscapeString(middle) + ` <span class="totalPages"></span> ` + html.EscapeString(after) + `</div>`
}
