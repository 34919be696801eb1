package vuln

import "testing"

// The XML and CSV samples share a directory; runCorpus skips the CSV ones
// for the XML importer and the XML ones for the CSV importer.
func TestOpenVASCorpus(t *testing.T) {
	runCorpus(t, "openvas", []sample{
		{file: "one_vuln.xml", dd: 1, vigil: 1},
		{file: "many_vuln.xml", dd: 44, vigil: 44},
		{file: "report_detail_v2.xml", dd: 1, vigil: 1},
		{file: "many_vuln.csv", other: true},
		{file: "no_vuln.csv", other: true},
		{file: "one_vuln.csv", other: true},
		{file: "report_combine_v2.csv", other: true},
		{file: "report_using_CVE.csv", other: true},
		{file: "report_using_openVAS.csv", other: true},
	})
}

func TestOpenVASCSVCorpus(t *testing.T) {
	runCorpusDir(t, "openvas-csv", "openvas", []sample{
		{file: "no_vuln.csv", dd: 0, vigil: 0},
		{file: "one_vuln.csv", dd: 1, vigil: 1},
		{file: "many_vuln.csv", dd: 4, vigil: 4},
		{file: "report_combine_v2.csv", dd: 1, vigil: 1},
		{file: "report_using_CVE.csv", dd: 43, vigil: 43},
		{file: "report_using_openVAS.csv", dd: 13, vigil: 13},
		{file: "one_vuln.xml", other: true},
		{file: "many_vuln.xml", other: true},
		{file: "report_detail_v2.xml", other: true},
	})
}
