package vuln

import (
	"bytes"
	"context"
	"testing"
)

// fuzzImporter feeds arbitrary bytes to an importer: it must not panic,
// and a successful import must give complete, deduplicated findings.
func fuzzImporter(f *testing.F, imp Importer, seeds ...string) {
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		fs, err := imp.Import(context.Background(), bytes.NewReader(data))
		if err != nil {
			if fs != nil {
				t.Fatalf("error %v with %d findings", err, len(fs))
			}
			return
		}
		seen := map[string]bool{}
		for _, f := range fs {
			if f.Fingerprint == "" || seen[f.Fingerprint] || f.Severity == "" || f.Occurrences < 1 {
				t.Fatalf("bad finding %+v", f)
			}
			seen[f.Fingerprint] = true
		}
		_ = imp.Detect("x", data)
	})
}

const (
	seedNucleiLine = `{"template-id":"t1","info":{"name":"T","severity":"high","classification":{"cve-id":["cve-2021-1"],"cwe-id":["cwe-79"],"cvss-metrics":"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H","cvss-score":9.8}},"type":"http","host":"https://a.example","matched-at":"https://a.example/x","port":"443"}`
	seedTrivy      = `{"SchemaVersion":2,"ArtifactName":"img","Results":[{"Target":"img (debian 12)","Type":"debian","Vulnerabilities":[{"VulnerabilityID":"CVE-2024-1","PkgName":"p","InstalledVersion":"1","FixedVersion":"2","Severity":"HIGH","CVSS":{"nvd":{"V3Vector":"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N","V3Score":7.5}}}],"Secrets":[{"RuleID":"r","Severity":"CRITICAL","StartLine":1}]}]}`
	seedSARIF      = `{"version":"2.1.0","runs":[{"tool":{"driver":{"name":"t","rules":[{"id":"R1","properties":{"security-severity":"8.1","tags":["external/cwe/cwe-089"]}}]}},"results":[{"ruleId":"R1","ruleIndex":0,"message":{"text":"m"},"locations":[{"physicalLocation":{"artifactLocation":{"uri":"a.go"},"region":{"startLine":3}}}]}]}]}`
)

func FuzzNuclei(f *testing.F) {
	fuzzImporter(f, &nucleiImporter{}, seedNucleiLine, "["+seedNucleiLine+"]", seedNucleiLine+"\n"+seedNucleiLine, "", "[", "{")
}

func FuzzTrivy(f *testing.F) {
	fuzzImporter(f, &trivyImporter{}, seedTrivy, "null", `[{"Target":"t","Vulnerabilities":null}]`, `{"ClusterName":"c","Resources":[{"Namespace":"n","Kind":"K","Name":"x","Results":[]}]}`)
}

func FuzzSARIF(f *testing.F) {
	fuzzImporter(f, &sarifImporter{}, seedSARIF, `{"version":"2.1.0","runs":[]}`, `{"runs":[{"results":[{"ruleIndex":99,"kind":"fail"}]}]}`)
}
