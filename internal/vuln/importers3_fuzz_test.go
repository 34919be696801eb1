package vuln

import (
	"os"
	"path/filepath"
	"testing"
)

// seeds3 returns this file's golden inputs starting with prefix and the
// corpus samples of dir up to 64 KiB, plus extra, as fuzz seeds.
func seeds3(f *testing.F, prefix, dir string, extra ...string) []string {
	f.Helper()
	paths, err := filepath.Glob(filepath.Join("testdata", prefix+"*.in"))
	if err != nil {
		f.Fatal(err)
	}
	entries, _ := os.ReadDir(filepath.Join(corpusDir, "scans", dir)) // a missing corpus only means fewer seeds
	for _, e := range entries {
		if info, err := e.Info(); err == nil && !e.IsDir() && info.Size() <= 64<<10 {
			paths = append(paths, filepath.Join(corpusDir, "scans", dir, e.Name()))
		}
	}
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

func FuzzOSV(f *testing.F) {
	fuzzImporter(f, &osvImporter{}, seeds3(f, "osv-", "osv_scanner",
		"", "{}", `{"results":null}`,
		`{"results":[{"source":{"path":"p"},"packages":[{"package":{"name":"n","version":"1"},"vulnerabilities":[{"id":"CVE-1","severity":"High","affected":[{"ranges":[{"events":[{"fixed":"2"}]}]}]}]}]}]}`)...)
}

func FuzzGovulncheck(f *testing.F) {
	fuzzImporter(f, &govulncheckImporter{}, seeds3(f, "govulncheck-", "govulncheck",
		"", "[]", `{"config":{}}{"finding":{"osv":"GO-1","trace":[{"module":"m","function":"F"}]}}`,
		`{"Calls":{},"Vulns":[{"OSV":{"id":"GO-1"},"ModPath":"m","CallSink":1}],"Modules":[]}`, `{"runs":[]}`)...)
}

func FuzzGrype(f *testing.F) {
	fuzzImporter(f, &grypeImporter{}, seeds3(f, "grype-", "anchore_grype",
		"", `{"matches":[]}`, `{"matches":[{"vulnerability":{"id":"CVE-1","severity":"Unknown","cvss":[{"version":"3.1","vector":"AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}]},"artifact":{"name":"a"},"matchDetails":{"matcher":"m"}}],"source":{"target":"dir"}}`)...)
}

func FuzzQualys(f *testing.F) {
	fuzzImporter(f, &qualysImporter{}, seeds3(f, "qualys-", "qualys",
		"", "IP,QID,TITLE,SEVERITY\n1.2.3.4,1,t,5\n", "<ASSET_DATA_REPORT><HOST_LIST><HOST><IP>1</IP><VULN_INFO_LIST><VULN_INFO><QID>1</QID></VULN_INFO></VULN_INFO_LIST></HOST></HOST_LIST></ASSET_DATA_REPORT>")...)
}
