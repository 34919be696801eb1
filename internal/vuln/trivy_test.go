package vuln

import "testing"

func TestTrivyCorpus(t *testing.T) {
	runCorpus(t, "trivy", []sample{
		{file: "legacy_no_vuln.json", dd: 0, vigil: 0},
		{file: "legacy_many_vulns.json", dd: 93, vigil: 93},
		{file: "scheme_2_many_vulns.json", dd: 5, vigil: 5},
		{file: "misconfigurations_and_secrets.json", dd: 5, vigil: 5},
		{file: "kubernetes.json", dd: 20, vigil: 20},
		{file: "kubernetes_fabricated_internal_duplicates.json", dd: noDD, vigil: 10, why: "no DefectDojo parser assertion (it feeds DefectDojo's dedupe tests); its 13 records hold 3 exact repeats, which Vigil merges into occurrences"},
		{file: "kubernetes_fabricated_subset.json", dd: noDD, vigil: 13, why: "no DefectDojo parser assertion (it feeds DefectDojo's dedupe tests); 13 records, all distinct"},
		{file: "license_scheme.json", dd: 19, vigil: 19},
		{file: "issue_9092.json", dd: 1, vigil: 1},
		{file: "issue_9170.json", dd: 37, vigil: 37},
		{file: "issue_9333.json", dd: 13, vigil: 13},
		{file: "all_statuses.json", dd: 8, vigil: 8},
		{file: "cvss_severity_source.json", dd: 2, vigil: 2},
		{file: "severity_prio.json", dd: 2, vigil: 2},
		{file: "issue_14136.json", dd: 1, vigil: 1},
		{file: "cvssv4_severity_source.json", dd: 3, vigil: 3},
	})
}
