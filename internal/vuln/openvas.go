package vuln

import (
	"bytes"
	"context"
	"io"
	"strconv"
	"strings"
)

// openvasImporter reads OpenVAS / Greenbone (GVM) XML reports, either the
// exported <report> or one wrapping the inner <report> element. Each
// <result> is a finding; its NVT's CVSS v3 vector (from <severities> or the
// cvss_base_vector tag) is scored by Vigil and the result's own severity
// number is kept as the tool score.
//
// Fingerprint rule: host IP + port (e.g. "443/tcp", "general/tcp") + NVT OID.
type openvasImporter struct{}

var _ Importer = (*openvasImporter)(nil)

func (*openvasImporter) Format() string { return "openvas" }

func (*openvasImporter) Detect(_ string, head []byte) bool {
	return bytes.Contains(head, []byte("<report")) &&
		(bytes.Contains(head, []byte("<gmp>")) || bytes.Contains(head, []byte("<omp>")) || bytes.Contains(head, []byte("a994b278-1f62-11e1-96ac-406186ea4fc5")) || bytes.Contains(head, []byte("<result ")))
}

type openvasResult struct {
	Name string `xml:"name"`
	Host struct {
		IP       string `xml:",chardata"`
		Hostname string `xml:"hostname"`
	} `xml:"host"`
	Port string `xml:"port"`
	NVT  struct {
		OID        string `xml:"oid,attr"`
		Name       string `xml:"name"`
		Family     string `xml:"family"`
		CVSSBase   string `xml:"cvss_base"`
		Severities []struct {
			Type  string `xml:"type,attr"`
			Value string `xml:"value"`
		} `xml:"severities>severity"`
		Tags     string `xml:"tags"`
		Solution string `xml:"solution"`
		Refs     []struct {
			Type string `xml:"type,attr"`
			ID   string `xml:"id,attr"`
		} `xml:"refs>ref"`
	} `xml:"nvt"`
	Threat      string `xml:"threat"`
	Severity    string `xml:"severity"`
	Description string `xml:"description"`
}

type openvasReport struct {
	Results []openvasResult `xml:"results>result"`
	Inner   []struct {
		Results []openvasResult `xml:"results>result"`
	} `xml:"report"`
}

func (*openvasImporter) Import(ctx context.Context, r io.Reader) ([]Finding, error) {
	const format = "openvas"
	data, err := readAll(r)
	if err != nil {
		return nil, err
	}
	var rep openvasReport
	if err := decodeXML(format, data, "report", &rep); err != nil {
		return nil, err
	}
	results := rep.Results
	for _, in := range rep.Inner {
		results = append(results, in.Results...)
	}
	out := []Finding{}
	for i := range results {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		out = append(out, results[i].finding())
	}
	return finishAll(out), nil
}

func (res *openvasResult) finding() Finding {
	tags := openvasTags(res.NVT.Tags)
	ip := strings.TrimSpace(res.Host.IP)
	f := Finding{
		Scanner:     "openvas",
		RuleID:      res.NVT.OID,
		Title:       strings.TrimSpace(first(res.Name, res.NVT.Name, res.NVT.OID)),
		Description: strings.TrimSpace(first(tags["summary"], res.NVT.Name)),
		Severity:    ParseSeverity(res.Threat),
		Remediation: strings.TrimSpace(first(res.NVT.Solution, tags["solution"])),
		Evidence:    strings.TrimSpace(res.Description),
		Asset:       Asset{Host: first(strings.TrimSpace(res.Host.Hostname), ip), IP: ip, Component: res.NVT.Family},
	}
	if p, proto, ok := strings.Cut(strings.TrimSpace(res.Port), "/"); ok {
		f.Asset.Protocol = proto
		if n, err := strconv.Atoi(p); err == nil {
			f.Asset.Port = n
		}
	}
	if s, err := strconv.ParseFloat(strings.TrimSpace(first(res.Severity, res.NVT.CVSSBase)), 64); err == nil && s >= 0 && s <= 10 {
		f.ToolScore = &s
	}
	for _, sv := range res.NVT.Severities {
		v := strings.TrimSpace(sv.Value)
		switch {
		case strings.HasPrefix(v, "CVSS:3") && f.CVSSVector == "":
			f.CVSSVector = v
		case strings.HasPrefix(v, "CVSS:4") && f.CVSS4Vector == "":
			f.CVSS4Vector = v
		}
	}
	if v := strings.TrimSpace(tags["cvss_base_vector"]); f.CVSSVector == "" && strings.HasPrefix(v, "CVSS:3") {
		f.CVSSVector = v
	}
	for _, ref := range res.NVT.Refs {
		switch strings.ToLower(ref.Type) {
		case "cve":
			f.CVEs = append(f.CVEs, strings.ToUpper(ref.ID))
		case "url":
			f.References = append(f.References, ref.ID)
		case "cwe":
			f.CWEs = append(f.CWEs, strings.ToUpper(ref.ID))
		}
	}
	f.Fingerprint = fingerprint("openvas", ip, strings.TrimSpace(res.Port), res.NVT.OID)
	return f
}

// openvasTags splits the NVT's "key=value|key=value" tag string.
func openvasTags(s string) map[string]string {
	out := map[string]string{}
	for _, part := range strings.Split(s, "|") {
		if k, v, ok := strings.Cut(part, "="); ok {
			out[strings.TrimSpace(k)] = strings.TrimSpace(v)
		}
	}
	return out
}
