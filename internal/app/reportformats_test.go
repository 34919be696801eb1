package app_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/xuri/excelize/v2"

	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/config"
	"github.com/vigil-sec/vigil/internal/report"
	"github.com/vigil-sec/vigil/internal/reportcentre"
	"github.com/vigil-sec/vigil/internal/store"
	"github.com/vigil-sec/vigil/internal/testenv"
)

// TestPeriodicReportsInEveryFormat renders every periodic report of the
// catalogue for a seeded tenant in HTML, PDF and XLSX: the PDF's text has
// the Chinese title and the tenant, the workbook opens and has rows.
func TestPeriodicReportsInEveryFormat(t *testing.T) {
	if testing.Short() {
		t.Skip("prints PDFs with Chromium")
	}
	chromium := testenv.RequireChromium(t)
	pdftotext, err := exec.LookPath("pdftotext")
	if err != nil {
		testenv.Missing(t, "pdftotext (Debian package poppler-utils)")
	}
	cfg := config.Default()
	cfg.DataDir = filepath.Join(t.TempDir(), "data")
	cfg.Chromium = chromium
	a := openApp(t, cfg)
	ctx := auth.WithPrincipal(context.Background(), &auth.Principal{UserID: "t", Username: "t", GlobalRole: auth.RoleAdmin})
	ten := store.Tenant{Slug: "acme", Name: "示例单位"}
	if err := a.Store.Tenants().Create(ctx, &ten); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	al := store.Alert{TenantID: ten.ID, GroupKey: "g", RuleID: "intel:ip:203.0.113.9", RuleTitle: "Threat intelligence: ip 203.0.113.9",
		Level: "high", Host: "web-01", Status: "new", LastSeen: now.Add(-time.Hour)}
	if _, err := a.Store.Alerts().Raise(ctx, &al, time.Minute, []string{"new"}, 3); err != nil {
		t.Fatal(err)
	}
	for _, k := range a.Reports.Kinds() {
		if !k.Periodic {
			continue
		}
		for _, f := range []report.Format{report.FormatHTML, report.FormatPDF, report.FormatXLSX} {
			r, err := a.Reports.Generate(ctx, ten, k.Code, reportcentre.Params{From: now.AddDate(0, 0, -7), To: now, Lang: "zh-CN"}, f)
			if err != nil {
				t.Fatalf("%s %s: %v", k.Code, f, err)
			}
			if !strings.ContainsFunc(r.Title, func(c rune) bool { return unicode.Is(unicode.Han, c) }) {
				t.Errorf("%s: the zh-CN report is titled %q", k.Code, r.Title)
			}
			full, err := a.Archive.Get(ctx, ten.ID, r.ID)
			if err != nil {
				t.Fatal(err)
			}
			switch f {
			case report.FormatPDF:
				path := filepath.Join(t.TempDir(), k.Code+".pdf")
				if err := os.WriteFile(path, full.Content, 0o600); err != nil {
					t.Fatal(err)
				}
				out, err := exec.Command(pdftotext, path, "-").Output() // #nosec G204 -- fixed binary, a file of the test
				if err != nil {
					t.Fatalf("%s: pdftotext: %v", k.Code, err)
				}
				if txt := string(out); !strings.Contains(txt, k.NameZH) && !strings.Contains(txt, r.Title) || !strings.Contains(txt, ten.Name) {
					t.Errorf("%s: the PDF text lacks the Chinese title %q or the tenant:\n%.500s", k.Code, r.Title, txt)
				}
			case report.FormatXLSX:
				wb, err := excelize.OpenReader(bytes.NewReader(full.Content))
				if err != nil {
					t.Fatalf("%s: xlsx: %v", k.Code, err)
				}
				rows, err := wb.GetRows(wb.GetSheetList()[0])
				if err != nil || len(rows) < 2 {
					t.Errorf("%s: first sheet has %d rows (%v)", k.Code, len(rows), err)
				}
			default:
				if !bytes.Contains(full.Content, []byte(r.Title)) {
					t.Errorf("%s: the HTML lacks its title", k.Code)
				}
			}
		}
	}
}
