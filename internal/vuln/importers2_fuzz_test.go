package vuln

import (
	"os"
	"path/filepath"
	"testing"
)

// seeds2 returns the golden inputs named testdata/<glob> and the corpus
// samples under scans/<dir> of at most 64 KiB (larger ones slow fuzzing
// without adding shapes), as strings for fuzzImporter.
func seeds2(f *testing.F, glob, dir string, extra ...string) []string {
	f.Helper()
	paths, err := filepath.Glob(filepath.Join("testdata", glob))
	if err != nil {
		f.Fatal(err)
	}
	_ = filepath.WalkDir(filepath.Join(corpusDir, "scans", dir), func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if info, err := d.Info(); err == nil && info.Size() <= 64<<10 {
				paths = append(paths, p)
			}
		}
		return nil // a missing corpus only means fewer seeds
	})
	out := extra
	for _, p := range paths {
		data, err := os.ReadFile(p) // #nosec G304 -- test fixture path
		if err != nil {
			f.Fatal(err)
		}
		out = append(out, string(data))
	}
	return out
}

func FuzzTenable(f *testing.F) {
	fuzzImporter(f, &tenableImporter{}, seeds2(f, "tenable-*.in", "tenable",
		`<NessusClientData_v2><Report><ReportHost name="h"><ReportItem port="x" severity="9" pluginID=""/></ReportHost></Report></NessusClientData_v2>`,
		`<NessusClientData_v2><Report><ReportHost name="http://[::1"><ReportItem/></ReportHost></Report></NessusClientData_v2>`)...)
}

func FuzzTenableCSV(f *testing.F) {
	fuzzImporter(f, &tenableCSVImporter{}, seeds2(f, "tenable-csv-*.in", "tenable",
		"Plugin,Plugin Name,IP Address\n1,a,192.0.2.1\n1,a,192.0.2.1\n,,\n",
		"definition.id;definition.name;asset.display_ipv4_address;port\n1;n;h;99999\n")...)
}

func FuzzZAP(f *testing.F) {
	fuzzImporter(f, &zapImporter{}, seeds2(f, "zap-*.in", "zap",
		`{"@version":"x","site":[{"@name":"s","alerts":[{"pluginid":1,"riskcode":7,"instances":null}]}]}`,
		`<OWASPZAPReport><site name="s"><alerts><alertitem><desc>&lt;p&gt;x</desc></alertitem></alerts></site></OWASPZAPReport>`)...)
}

func FuzzNikto(f *testing.F) {
	fuzzImporter(f, &niktoImporter{}, seeds2(f, "nikto-*.in", "nikto",
		`{"host":"h","port":"x","banner":"","vulnerabilities":[{"id":1,"msg":"m"},{"id":1,"msg":"m"}]}`,
		`<!DOCTYPE niktoscan SYSTEM "nikto.dtd"><niktoscan><niktoscan><scandetails><item/></scandetails></niktoscan></niktoscan>`)...)
}

func FuzzTestssl(f *testing.F) {
	fuzzImporter(f, &testsslImporter{}, seeds2(f, "testssl-*.in", "testssl",
		`"id","fqdn/ip","port","severity","finding"`+"\n\"a\",\"h/\",\"1\",\"HIGH\",\"x\"\n",
		`{"scanResult":[{"ip":1,"x":[1],"y":[{"id":"a","severity":"FATAL"}]}]}`)...)
}
