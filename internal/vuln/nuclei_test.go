package vuln

import (
	"testing"
)

func TestNucleiCorpus(t *testing.T) {
	runCorpus(t, "nuclei", []sample{
		{file: "empty.jsonl", dd: 0, vigil: 0},
		{file: "no_findings.json", dd: 0, vigil: 0},
		{file: "invalid_cwe.json", dd: 1, vigil: 1},
		{file: "many_findings.json", dd: 16, vigil: 18, why: "DefectDojo merges the tech-detect bootstrap and font-awesome matches on 127.0.0.1:8080 and 127.0.0.1:9090 (same host, two ports) into findings with 2 occurrences; Vigil's fingerprint includes matched-at, so two services stay two findings"},
		{file: "many_findings_new.json", dd: 2, vigil: 2},
		{file: "many_findings_third.json", dd: 2, vigil: 2},
		{file: "multiple_matches.json", dd: 2, vigil: 2},
		{file: "multiple_v3.json", dd: 5, vigil: 5},
		{file: "issue_14071.json", dd: 27, vigil: 27},
	})
}
