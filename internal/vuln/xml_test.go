package vuln

import (
	"context"
	"errors"
	"strings"
	"testing"
)

const (
	seedNmap = `<?xml version="1.0"?>
<!DOCTYPE nmaprun>
<nmaprun scanner="nmap"><host><address addr="192.0.2.1" addrtype="ipv4"/><hostnames><hostname name="h.example" type="PTR"/></hostnames>
<ports><port protocol="tcp" portid="22"><state state="open"/><service name="ssh" product="OpenSSH" version="7.4"/>
<script id="vulners" output="x"><table key="cpe:/a:openbsd:openssh:7.4"><table><elem key="cvss">7.8</elem><elem key="id">CVE-2016-10009</elem><elem key="type">cve</elem><elem key="is_exploit">false</elem></table></table></script></port>
<port protocol="tcp" portid="23"><state state="closed"/></port></ports></host></nmaprun>`
	seedOpenVAS = `<report id="r" format_id="a994b278-1f62-11e1-96ac-406186ea4fc5"><report id="i"><gmp><version>9.0</version></gmp><results>
<result id="1"><name>Weak thing</name><host>192.0.2.7<hostname>db</hostname></host><port>443/tcp</port>
<nvt oid="1.3.6.1.4.1.25623.1.0.1"><name>Weak thing</name><severities><severity type="cvss_base_v3"><value>CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N</value></severity></severities>
<tags>summary=s|solution=upgrade</tags><refs><ref type="cve" id="CVE-2020-1"/><ref type="url" id="https://example.org"/></refs></nvt>
<threat>High</threat><severity>7.5</severity><description>evidence</description></result></results></report></report>`
)

func TestXMLImporters(t *testing.T) {
	fs, err := (&nmapImporter{}).Import(context.Background(), strings.NewReader(seedNmap))
	if err != nil {
		t.Fatal(err)
	}
	if len(fs) != 2 || fs[0].RuleID != "CVE-2016-10009" || fs[0].Severity != SeverityHigh || fs[0].Asset.Port != 22 || fs[0].Asset.IP != "192.0.2.1" || fs[1].Title != "Open port: 22/tcp" {
		t.Errorf("nmap findings %+v", fs)
	}
	fs, err = (&openvasImporter{}).Import(context.Background(), strings.NewReader(seedOpenVAS))
	if err != nil {
		t.Fatal(err)
	}
	if len(fs) != 1 || fs[0].CVSSScore == nil || *fs[0].CVSSScore != 7.5 || fs[0].Asset.Port != 443 || fs[0].Asset.Host != "db" || fs[0].CVEs[0] != "CVE-2020-1" || fs[0].Remediation != "upgrade" {
		t.Errorf("openvas findings %+v", fs)
	}
}

func TestXMLRefusesEntities(t *testing.T) {
	for name, doc := range map[string]string{
		"xxe": `<?xml version="1.0"?><!DOCTYPE nmaprun [<!ENTITY x SYSTEM "file:///etc/passwd">]><nmaprun>&x;</nmaprun>`,
		"billion laughs": `<?xml version="1.0"?><!DOCTYPE report [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>
<report>&b;</report>`,
		"external dtd": `<?xml version="1.0"?><!DOCTYPE nmaprun SYSTEM "http://example.invalid/x.dtd"><nmaprun/>`,
	} {
		for _, imp := range []Importer{&nmapImporter{}, &openvasImporter{}} {
			fs, err := imp.Import(context.Background(), strings.NewReader(doc))
			if !errors.Is(err, ErrXMLEntities) || fs != nil {
				t.Errorf("%s/%s: err = %v, want ErrXMLEntities", name, imp.Format(), err)
			}
		}
	}
	// Undeclared entities are rejected by the strict decoder too.
	if _, err := (&nmapImporter{}).Import(context.Background(), strings.NewReader(`<nmaprun>&x;</nmaprun>`)); err == nil {
		t.Error("undefined entity accepted")
	}
}

func TestXMLErrors(t *testing.T) {
	for _, tc := range []struct {
		imp  Importer
		doc  string
		want string
	}{
		{&nmapImporter{}, seedNmap[:len(seedNmap)/2], "truncated XML"},
		{&nmapImporter{}, seedOpenVAS, "root element is <report>, want <nmaprun>"},
		{&openvasImporter{}, seedNmap, "want <report>"},
		{&openvasImporter{}, "", "no root element"},
		{&openvasImporter{}, "IP,Hostname\n1,2\n", "no root element"},
		{&nmapImporter{}, "<nmaprun>\n<host>\n</nmaprun>", "line 3"},
	} {
		fs, err := tc.imp.Import(context.Background(), strings.NewReader(tc.doc))
		if err == nil || fs != nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want %q", tc.imp.Format(), err, tc.want)
		}
	}
}

func FuzzNmap(f *testing.F) {
	fuzzImporter(f, &nmapImporter{}, seedNmap, "<nmaprun/>", "<!DOCTYPE x [<!ENTITY a 'b'>]><nmaprun/>")
}

func FuzzOpenVAS(f *testing.F) {
	fuzzImporter(f, &openvasImporter{}, seedOpenVAS, "<report/>", `<report><results><result><port>x/y</port></result></results></report>`)
}

const seedOpenVASCSV = "IP,Hostname,Port,Port Protocol,CVSS,Severity,NVT Name,Summary,NVT OID,CVEs\n192.0.2.5,,80,tcp,7.5,High,Thing,\"multi\nline\",1.2.3,CVE-2020-2\n"

func TestOpenVASCSVErrors(t *testing.T) {
	for _, tc := range []struct{ doc, want string }{
		{"", "no CSV header"},
		{"a,b,c\n1,2,3\n", "not an OpenVAS CSV export"},
		{seedOpenVASCSV + "192.0.2.6,,\"unterminated\n", "line 4"},
		{seedOpenVASCSV + "1,2\n", "line 4"},
	} {
		fs, err := (&openvasCSVImporter{}).Import(context.Background(), strings.NewReader(tc.doc))
		if err == nil || fs != nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("err = %v, want %q", err, tc.want)
		}
	}
}

func FuzzOpenVASCSV(f *testing.F) {
	fuzzImporter(f, &openvasCSVImporter{}, seedOpenVASCSV, "IP,NVT Name,NVT OID,Severity\n", "IP,Hostname,Port,Port Protocol,CVSS,Severity,NVT OID,NVT Name\n\"x")
}
