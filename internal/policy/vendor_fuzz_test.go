package policy

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// fuzzVendor checks that parse never panics, that every error is a
// ParseError with a line or a size error, and that whatever parses can be
// analysed and decided.
func fuzzVendor(f *testing.F, parse ParseFunc, prefix string) {
	f.Helper()
	seeds, _ := filepath.Glob(filepath.Join("testdata", "vendor", prefix+"-*"))
	for _, s := range seeds {
		if ext := filepath.Ext(s); ext == ".golden" || ext == ".flows" {
			continue
		}
		data, err := os.ReadFile(s) // #nosec G304 -- test samples
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 1<<16 {
			return
		}
		for _, fam := range []Family{IPv4, IPv6} {
			rs, err := parse(bytes.NewReader(data), fam)
			if err != nil {
				var pe *ParseError
				if !errors.As(err, &pe) && !errors.Is(err, ErrTooLarge) {
					t.Fatalf("error without a line: %v", err)
				}
				if pe != nil && pe.Line < 1 {
					t.Fatalf("line %d < 1: %v", pe.Line, err)
				}
				continue
			}
			if rs.NumRules() > 64 {
				continue // the analysis has its own fuzz target; keep this one on the parser
			}
			if _, err := Analyze(context.Background(), rs, Options{MaxEntries: 10_000}); err != nil && !errors.Is(err, ErrTooLarge) {
				t.Fatalf("analyze: %v", err)
			}
		}
	})
}

// FuzzParseCiscoASA fuzzes the ASA parser from the testdata samples.
func FuzzParseCiscoASA(f *testing.F) { fuzzVendor(f, ParseCiscoASA, "asa") }

// FuzzParseCiscoIOS fuzzes the IOS parser from the testdata samples.
func FuzzParseCiscoIOS(f *testing.F) { fuzzVendor(f, ParseCiscoIOS, "ios") }

// FuzzParseFortiGate fuzzes the FortiOS parser from the testdata samples.
func FuzzParseFortiGate(f *testing.F) { fuzzVendor(f, ParseFortiGate, "forti") }

// FuzzParseHuaweiUSG fuzzes the Huawei USG parser from the testdata samples.
func FuzzParseHuaweiUSG(f *testing.F) { fuzzVendor(f, ParseHuaweiUSG, "huawei") }

// FuzzParseH3C fuzzes the H3C Comware parser from the testdata samples.
func FuzzParseH3C(f *testing.F) { fuzzVendor(f, ParseH3C, "h3c") }

// FuzzParsePaloAltoXML fuzzes the PAN-OS XML parser from the testdata samples.
func FuzzParsePaloAltoXML(f *testing.F) { fuzzVendor(f, ParsePaloAltoXML, "pan") }

// FuzzParsePaloAltoSet fuzzes the PAN-OS set-format parser from the
// testdata samples.
func FuzzParsePaloAltoSet(f *testing.F) { fuzzVendor(f, ParsePaloAltoSet, "pan") }
