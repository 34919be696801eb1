package vuln

import (
	"bytes"
	"context"
	"io"
	"net/url"
	"strconv"
	"strings"
)

// tenableImporter reads Tenable Nessus .nessus XML (NessusClientData_v2),
// including Tenable WAS exports in the same schema. Every <ReportItem> of
// every <ReportHost> is a finding: severity 0-4 maps to info, low, medium,
// high, critical; a CVSS v3 vector (cvss3_vector) is scored by Vigil and the
// tool's cvss3_base_score (else cvss_base_score) is kept as the tool score.
// CVSS v2 vectors are not scoreable and are not kept. plugin_output is the
// evidence, see_also lines the references.
//
// Fingerprint rule: host IP (host-ip property, else the ReportHost name;
// for WAS the target URL) + port/protocol + plugin ID.
//
// Counts differ from DefectDojo, which merges items with the same plugin
// title across ports and hosts into one finding with several endpoints;
// Vigil never merges different hosts or ports:
//
//	nessus_many_vuln.xml   DD 6,  Vigil 7   (plugin 11219 on ports 443 and 264)
//	nessus_v_unknown.xml   DD 32, Vigil 296 (32 plugin titles over 7 hosts and their ports)
type tenableImporter struct{}

var _ Importer = (*tenableImporter)(nil)

func (*tenableImporter) Format() string { return "tenable" }

func (*tenableImporter) Detect(_ string, head []byte) bool {
	return bytes.Contains(head, []byte("<NessusClientData_v2"))
}

type nessusItem struct {
	Port        string   `xml:"port,attr"`
	SvcName     string   `xml:"svc_name,attr"`
	Protocol    string   `xml:"protocol,attr"`
	Severity    string   `xml:"severity,attr"`
	PluginID    string   `xml:"pluginID,attr"`
	PluginName  string   `xml:"pluginName,attr"`
	Family      string   `xml:"pluginFamily,attr"`
	Name        string   `xml:"plugin_name"`
	RiskFactor  string   `xml:"risk_factor"`
	CVSS3Vector string   `xml:"cvss3_vector"`
	CVSS3Score  string   `xml:"cvss3_base_score"`
	CVSSScore   string   `xml:"cvss_base_score"`
	CVEs        []string `xml:"cve"`
	CWEs        []string `xml:"cwe"`
	Synopsis    string   `xml:"synopsis"`
	Description string   `xml:"description"`
	Solution    string   `xml:"solution"`
	Output      string   `xml:"plugin_output"`
	SeeAlso     []string `xml:"see_also"`
}

type nessusReport struct {
	Hosts []struct {
		Name  string `xml:"name,attr"`
		Props []struct {
			Name  string `xml:"name,attr"`
			Value string `xml:",chardata"`
		} `xml:"HostProperties>tag"`
		Items []nessusItem `xml:"ReportItem"`
	} `xml:"Report>ReportHost"`
}

func (*tenableImporter) Import(ctx context.Context, r io.Reader) ([]Finding, error) {
	const format = "tenable"
	data, err := readAll(r)
	if err != nil {
		return nil, err
	}
	var rep nessusReport
	if err := decodeXML(format, data, "NessusClientData_v2", &rep); err != nil {
		return nil, err
	}
	out := []Finding{}
	for _, h := range rep.Hosts {
		props := map[string]string{}
		for _, p := range h.Props {
			props[p.Name] = strings.TrimSpace(p.Value)
		}
		asset := nessusAsset(strings.TrimSpace(h.Name), props)
		for i := range h.Items {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			out = append(out, h.Items[i].finding(asset))
		}
	}
	return finishAll(out), nil
}

// nessusAsset describes a ReportHost. Tenable WAS names hosts by URL;
// then the URL is kept and its host name used.
func nessusAsset(name string, props map[string]string) Asset {
	if u, err := url.Parse(name); err == nil && u.Scheme != "" && u.Host != "" {
		return Asset{URL: name, Host: u.Hostname(), IP: props["host-ip"]}
	}
	ip := first(props["host-ip"], name)
	return Asset{Host: first(props["host-fqdn"], props["hostname"], name, ip), IP: ip}
}

// nessusSeverity maps Nessus's 0-4 severity number.
func nessusSeverity(n string) Severity {
	switch strings.TrimSpace(n) {
	case "0":
		return SeverityInfo
	case "1":
		return SeverityLow
	case "2":
		return SeverityMedium
	case "3":
		return SeverityHigh
	case "4":
		return SeverityCritical
	}
	return ""
}

func (it *nessusItem) finding(asset Asset) Finding {
	f := Finding{
		Scanner:     "tenable",
		RuleID:      strings.TrimSpace(it.PluginID),
		Title:       strings.TrimSpace(first(it.PluginName, it.Name, it.PluginID)),
		Description: strings.TrimSpace(first(it.Description, it.Synopsis)),
		Severity:    nessusSeverity(it.Severity),
		Remediation: strings.TrimSpace(it.Solution),
		Evidence:    strings.TrimSpace(it.Output),
		Asset:       asset,
	}
	if f.Title == "" {
		f.Title = "Nessus plugin"
	}
	if f.Severity == "" {
		f.Severity = ParseSeverity(it.RiskFactor)
	}
	f.Asset.Protocol = strings.ToLower(strings.TrimSpace(it.Protocol))
	f.Asset.Component = strings.TrimSpace(it.SvcName)
	if n, err := strconv.Atoi(strings.TrimSpace(it.Port)); err == nil && n > 0 && n < 65536 {
		f.Asset.Port = n
	}
	if v := strings.TrimSpace(it.CVSS3Vector); strings.HasPrefix(v, "CVSS:3") {
		f.CVSSVector = v
	}
	f.ToolScore = toolScore(it.CVSS3Score, it.CVSSScore)
	for _, c := range it.CVEs {
		f.CVEs = append(f.CVEs, cveRe.FindAllString(c, -1)...)
	}
	f.CVEs = uniqueUpper(f.CVEs)
	f.CWEs = cweList(it.CWEs...)
	for _, s := range it.SeeAlso {
		f.References = append(f.References, splitRefs(s)...)
	}
	f.Fingerprint = fingerprint("tenable", first(asset.IP, asset.URL, asset.Host), strings.TrimSpace(it.Port)+"/"+f.Asset.Protocol, it.PluginID)
	return f
}

// toolScore returns the first of the given texts that is a score 0-10.
func toolScore(s ...string) *float64 {
	for _, v := range s {
		if n, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil && n >= 0 && n <= 10 {
			return &n
		}
	}
	return nil
}

// cweList normalises CWE numbers or "CWE-n" texts to "CWE-n", dropping
// empty and non-numeric entries.
func cweList(in ...string) []string {
	var out []string
	seen := map[string]bool{}
	for _, s := range in {
		for _, part := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' || r == ';' }) {
			n := strings.TrimPrefix(strings.ToUpper(strings.TrimSpace(part)), "CWE-")
			if v, err := strconv.Atoi(n); err != nil || v <= 0 {
				continue
			}
			c := "CWE-" + n
			if !seen[c] {
				seen[c] = true
				out = append(out, c)
			}
		}
	}
	return out
}

// splitRefs splits a whitespace-separated list of references, keeping URLs.
func splitRefs(s string) []string {
	var out []string
	for _, p := range strings.Fields(s) {
		if strings.HasPrefix(p, "http://") || strings.HasPrefix(p, "https://") {
			out = append(out, p)
		}
	}
	return out
}
