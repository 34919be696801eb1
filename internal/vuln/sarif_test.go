package vuln

import "testing"

func TestSARIFCorpus(t *testing.T) {
	const dedupeTest = "no DefectDojo parser assertion (it feeds DefectDojo's dedupe tests)"
	runCorpus(t, "sarif", []sample{
		{file: "DefectDojo_django-DefectDojo__2020-12-11_13 42 10__export.sarif", dd: 510, vigil: 510},
		{file: "SuppressionTestCurrent.sarif", dd: 4, vigil: 4},
		{file: "suppression_test.sarif", dd: noDD, vigil: 5, why: "DefectDojo checks flags, not the count; 5 results, 3 suppressed (kept, Suppressed set)"},
		{file: "appendix_k.sarif", dd: 1, vigil: 1},
		{file: "appendix_k1_double.sarif", dd: 0, vigil: 0},
		{file: "appendix_k2.sarif", dd: 1, vigil: 1},
		{file: "appendix_k3.sarif", dd: 1, vigil: 1},
		{file: "bash-report-fabricated-no-internal-dupes-subset.sarif", dd: noDD, vigil: 4, why: dedupeTest},
		{file: "bash-report-fabricated-no-internal-dupes.sarif", dd: noDD, vigil: 5, why: dedupeTest},
		{file: "bash-report-subset-same-hash-code-same-unique-id.sarif", dd: noDD, vigil: 2, why: dedupeTest + "; its 4 results are 2 pairs with the same rule, file, line and column, merged into occurrences"},
		{file: "blackduck_nested_fingerprints.sarif", dd: 5, vigil: 5},
		{file: "codeQL-output.sarif", dd: 72, vigil: 72},
		{file: "cxf-3.4.6.sarif", dd: 22, vigil: 22},
		{file: "dockle_0_3_15.sarif", dd: 4, vigil: 4},
		{file: "flawfinder.sarif", dd: 53, vigil: 53},
		{file: "gitleaks_7.5.0.sarif", dd: 8, vigil: 4, why: "the same 4 secrets at the same file and line are reported once per git commit; Vigil's fingerprint has no commit, so each is one finding with 2 occurrences"},
		{file: "mobsfscan.json", dd: 18, vigil: 18},
		{file: "njsscan.sarif", dd: 3, vigil: 3},
		{file: "no_runs.sarif", dd: noDD, vigil: 0, why: "no DefectDojo assertion; a log without runs has no findings"},
		{file: "spotbugs.sarif", dd: noDD, vigil: 56, why: "no DefectDojo parser assertion; 56 results with distinct locations"},
		{file: "taint-python-report.sarif", dd: 11, vigil: 11},
	})
}
