package vuln

import "testing"

func TestNmapCorpus(t *testing.T) {
	runCorpus(t, "nmap", []sample{
		{file: "nmap_0port.xml", dd: 0, vigil: 0},
		{file: "nmap_multiple_port.xml", dd: 13, vigil: 13},
		{file: "nmap_script_vulners.xml", dd: 3, vigil: 3},
		{file: "issue4406.xml", dd: 67, vigil: 67},
		{file: "issue12411.xml", dd: 2, vigil: 4, why: "two hosts each have 80/tcp and 443/tcp open; DefectDojo merges equal titles (\"Open port: 80/tcp\") across hosts, Vigil never merges different hosts"},
	})
}
