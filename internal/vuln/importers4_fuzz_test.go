package vuln

import "testing"

func FuzzOpenSCAP(f *testing.F) {
	fuzzImporter(f, &openscapImporter{}, seeds3(f, "openscap-", "openscap",
		"", "<Benchmark/>", `<TestResult><target>h</target><rule-result idref="r"><result>fail</result></rule-result></TestResult>`,
		`<Benchmark><Rule id="a" extends="b"/><Rule id="b" extends="a"><title>t</title></Rule><TestResult><rule-result idref="a"><result>fail</result></rule-result></TestResult></Benchmark>`)...)
}

func FuzzBurp(f *testing.F) {
	fuzzImporter(f, &burpImporter{}, seeds3(f, "burp-", "burp",
		"", "<issues/>", "<!DOCTYPE issues [\n<!ELEMENT issues (issue*)>\n]>\n<issues/>",
		`<issues><issue><type>1</type><host>http://a</host><requestresponse><request base64="true">R0VUIC8=</request></requestresponse></issue></issues>`)...)
}

func FuzzAcunetix(f *testing.F) {
	fuzzImporter(f, &acunetixImporter{}, seeds3(f, "acunetix-", "acunetix",
		"", "<ScanGroup/>", `{"Target":{"Url":"x"},"Vulnerabilities":[]}`,
		`{"Target":null,"Vulnerabilities":[{"Url":"::","Classification":{"Cwe":"1, x","Cvss31":{"Vector":"CVSS:3.1/AV:N"}}}]}`,
		`<ScanGroup><Scan><StartURL>a:99999</StartURL><ReportItems><ReportItem><CWEList><CWE>CWE-0</CWE></CWEList></ReportItem></ReportItems></Scan></ScanGroup>`)...)
}

func FuzzMasscan(f *testing.F) {
	fuzzImporter(f, &masscanImporter{}, seeds3(f, "masscan-", "masscan",
		"", "[]", "[\n,\n]", `[{"ip":"1.2.3.4","ports":[{"port":"80","proto":"tcp","status":"open","service":{"name":"http","banner":"x"}}]},]`)...)
}

func FuzzNaabu(f *testing.F) {
	fuzzImporter(f, &naabuImporter{}, seeds3(f, "naabu-", "naabu",
		"", "\n\n", `{"host":"h","port":"22"}`, "{\"ip\":\"::1\",\"port\":65536}\n")...)
}

func FuzzGitleaks(f *testing.F) {
	fuzzImporter(f, &gitleaksImporter{}, seeds3(f, "gitleaks-", "gitleaks",
		"", "null", "[]", `[{"RuleID":"r","File":"f","StartLine":"x","Secret":"ééééééé","Tags":"a,b"}]`, `[{"rule":"r","file":"f","repo":".","offender":"abc"}]`)...)
}

func FuzzSemgrep(f *testing.F) {
	fuzzImporter(f, &semgrepImporter{}, seeds3(f, "semgrep-", "semgrep",
		"", `{"results":[],"errors":[]}`, `{"vulns":[{"advisory":{"ruleId":"r"},"matchedDependency":{"name":"p"}}]}`,
		`{"results":[{"check_id":"a.b","path":"p","start":{"line":"x"},"extra":{"severity":"ERROR","fingerprint":"requires login","metadata":{"cwe":"CWE-1: x","references":"https://a"}}}]}`)...)
}

func FuzzWazuh(f *testing.F) {
	fuzzImporter(f, &wazuhImporter{}, seeds3(f, "wazuh-", "wazuh",
		"", `{"data":{"affected_items":[]}}`, `{"hits":{"hits":[{"_source":null}]}}`,
		`{"data":{"affected_items":[{"cve":"CVE-1","name":"p","severity":"Untriaged","cvss3_score":"11"}]}}`)...)
}

func FuzzLynis(f *testing.F) {
	fuzzImporter(f, &lynisImporter{}, seeds3(f, "lynis-", "lynis",
		"", "# Lynis Report\n", "warning[]=A|b|c|d|\r\nhostname=x\n", "suggestion[]=|||||\n", "suggestion[]=X\n")...)
}
