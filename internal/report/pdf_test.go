package report

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/testenv"
)

// renderTestPDF prints the bilingual document with the test's Chromium.
func renderTestPDF(t *testing.T) []byte {
	t.Helper()
	exe := testenv.RequireChromium(t)
	var buf bytes.Buffer
	err := RenderPDF(context.Background(), bilingualDoc(), &buf, Options{BrowserPath: exe, Timeout: 2 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestPDF(t *testing.T) {
	if testing.Short() {
		t.Skip("PDF test starts a browser; skipped in -short mode")
	}
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp) // the browser profile goes here
	pdf := renderTestPDF(t)
	if !bytes.HasPrefix(pdf, []byte("%PDF-")) {
		t.Fatalf("output does not start with %%PDF-: %q", pdf[:min(len(pdf), 16)])
	}
	if left, _ := filepath.Glob(filepath.Join(tmp, "vigil-report-chromium-*")); len(left) != 0 {
		t.Errorf("browser profile directories left behind: %v", left)
	}

	pdftotext, err := exec.LookPath("pdftotext")
	if err != nil {
		testenv.Missing(t, "pdftotext (Debian package poppler-utils)")
	}
	in := filepath.Join(t.TempDir(), "report.pdf")
	if err := os.WriteFile(in, pdf, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(pdftotext, "-enc", "UTF-8", in, "-").CombinedOutput() // #nosec G204 -- fixed tool, temp file
	if err != nil {
		t.Fatalf("pdftotext: %v\n%s", err, out)
	}
	text := string(out)
	for _, want := range []string{
		"Incident response report IR-2026-017", // title
		"10.20.3.12",                           // a table cell
		"事件概述",                                 // a Chinese heading
		"已隔离",                                  // a Chinese table cell
		"第 1 页",                                // the footer's page number
	} {
		if !strings.Contains(text, want) {
			t.Errorf("PDF text lacks %q:\n%s", want, text)
		}
	}
}

func TestPDFNoBrowser(t *testing.T) {
	var buf bytes.Buffer
	err := RenderPDF(context.Background(), bilingualDoc(), &buf, Options{BrowserPath: filepath.Join(t.TempDir(), "no-such-chromium")})
	if !errors.Is(err, ErrNoBrowser) {
		t.Fatalf("err = %v, want ErrNoBrowser", err)
	}
	if buf.Len() != 0 {
		t.Errorf("%d bytes written on failure", buf.Len())
	}
}

func TestPDFHeaderEscapes(t *testing.T) {
	d := bilingualDoc()
	d.Classification = `<img src=x onerror=alert(1)>`
	if h := pdfHeader(d); strings.Contains(h, "<img") {
		t.Errorf("header template carries markup: %s", h)
	}
}

// TestPDFTimeout gives the browser no time: the error says so, nothing is
// written and the profile directory is gone.
func TestPDFTimeout(t *testing.T) {
	if testing.Short() {
		t.Skip("PDF test starts a browser; skipped in -short mode")
	}
	exe := testenv.RequireChromium(t)
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	var buf bytes.Buffer
	err := RenderPDF(context.Background(), bilingualDoc(), &buf, Options{BrowserPath: exe, Timeout: time.Millisecond})
	if err == nil || !strings.Contains(err.Error(), "timed out after 1ms") {
		t.Fatalf("err = %v, want a timeout", err)
	}
	if buf.Len() != 0 {
		t.Errorf("%d bytes written on failure", buf.Len())
	}
	if left, _ := filepath.Glob(filepath.Join(tmp, "vigil-report-chromium-*")); len(left) != 0 {
		t.Errorf("profile left behind: %v", left)
	}
}
