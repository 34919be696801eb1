package vuln

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"strconv"
	"strings"
)

// zapImporter reads OWASP ZAP reports: the traditional XML report
// (<OWASPZAPReport><site><alerts><alertitem>) and the traditional JSON
// report ({"@version", "site":[{"alerts":[...]}]}). Each alert of a site
// is one finding; riskcode 0-3 maps to info, low, medium, high. The alert's
// instances (method, URI, parameter, evidence) are listed one a line in
// Evidence, the first instance URI is the asset URL, and Occurrences counts
// the instances.
//
// Fingerprint rule: site name + plugin ID + alert reference (alertRef,
// which tells apart variants of one plugin) + alert text + alert name.
// ZAP lists one alert twice when its instances differ in confidence; those
// items share the fingerprint and are merged (instances appended), so
//
//	dvwa_baseline_dojo.xml  DD 19, Vigil 18 (plugin 10027 at confidence 1 and 2)
//
// and likewise for the subsets DefectDojo's tests do not count.
type zapImporter struct{}

var _ Importer = (*zapImporter)(nil)

func (*zapImporter) Format() string { return "zap" }

func (*zapImporter) Detect(_ string, head []byte) bool {
	if bytes.Contains(head, []byte("<OWASPZAPReport")) {
		return true
	}
	return headLooksJSON(head, "{") && bytes.Contains(head, []byte(`"site"`)) &&
		(bytes.Contains(head, []byte(`"@version"`)) || bytes.Contains(head, []byte(`"@programName"`))) &&
		(bytes.Contains(head, []byte(`"alerts"`)) || bytes.Contains(head, []byte(`"@name"`)))
}

type zapInstance struct {
	URI      flexString `xml:"uri" json:"uri"`
	Method   flexString `xml:"method" json:"method"`
	Param    flexString `xml:"param" json:"param"`
	Attack   flexString `xml:"attack" json:"attack"`
	Evidence flexString `xml:"evidence" json:"evidence"`
}

type zapAlert struct {
	PluginID   flexString    `xml:"pluginid" json:"pluginid"`
	AlertRef   flexString    `xml:"alertRef" json:"alertRef"`
	Alert      flexString    `xml:"alert" json:"alert"`
	Name       flexString    `xml:"name" json:"name"`
	RiskCode   flexString    `xml:"riskcode" json:"riskcode"`
	Desc       flexString    `xml:"desc" json:"desc"`
	Instances  []zapInstance `xml:"instances>instance" json:"instances"`
	Solution   flexString    `xml:"solution" json:"solution"`
	OtherInfo  flexString    `xml:"otherinfo" json:"otherinfo"`
	Reference  flexString    `xml:"reference" json:"reference"`
	CWEID      flexString    `xml:"cweid" json:"cweid"`
	Confidence flexString    `xml:"confidence" json:"confidence"`
}

type zapSite struct {
	Name      string     `xml:"name,attr" json:"@name"`
	Host      string     `xml:"host,attr" json:"@host"`
	Port      flexString `xml:"port,attr" json:"@port"`
	AlertItem []zapAlert `xml:"alerts>alertitem" json:"alerts"`
}

type zapReport struct {
	Sites zapSites `xml:"site" json:"site"`
}

// zapSites decodes the JSON "site" member, an array of sites or (in some
// older reports) a single site object.
type zapSites []zapSite

func (s *zapSites) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '{' {
		var one zapSite
		if err := json.Unmarshal(b, &one); err != nil {
			return err
		}
		*s = zapSites{one}
		return nil
	}
	return json.Unmarshal(b, (*[]zapSite)(s))
}

func (*zapImporter) Import(ctx context.Context, r io.Reader) ([]Finding, error) {
	const format = "zap"
	data, err := readAll(r)
	if err != nil {
		return nil, err
	}
	var rep zapReport
	if headLooksJSON(data, "{[") {
		if err := decodeJSON(format, data, &rep); err != nil {
			return nil, err
		}
	} else if err := decodeXML(format, data, "OWASPZAPReport", &rep); err != nil {
		return nil, err
	}
	out := []Finding{}
	byFP := map[string]int{}
	for _, s := range rep.Sites {
		for i := range s.AlertItem {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			f := s.AlertItem[i].finding(&s)
			if j, ok := byFP[f.Fingerprint]; ok {
				// ZAP splits one alert by confidence; keep one finding.
				out[j].Evidence = strings.TrimSpace(out[j].Evidence + "\n" + f.Evidence)
				out[j].Occurrences += f.Occurrences
				continue
			}
			byFP[f.Fingerprint] = len(out)
			out = append(out, f)
		}
	}
	return finishAll(out), nil
}

// zapSeverity maps ZAP's riskcode.
func zapSeverity(code string) Severity {
	switch strings.TrimSpace(code) {
	case "0":
		return SeverityInfo
	case "1":
		return SeverityLow
	case "2":
		return SeverityMedium
	case "3":
		return SeverityHigh
	}
	return ""
}

func (a *zapAlert) finding(s *zapSite) Finding {
	name := strings.TrimSpace(first(string(a.Name), string(a.Alert)))
	plugin := strings.TrimSpace(string(a.PluginID))
	f := Finding{
		Scanner:     "zap",
		RuleID:      plugin,
		Title:       first(name, "ZAP alert "+plugin),
		Description: strings.TrimSpace(stripTags(string(a.Desc))),
		Severity:    zapSeverity(string(a.RiskCode)),
		Remediation: strings.TrimSpace(stripTags(string(a.Solution))),
		Asset:       Asset{URL: strings.TrimSpace(s.Name), Host: strings.TrimSpace(s.Host)},
		CWEs:        cweList(string(a.CWEID)),
		References:  splitRefs(stripTags(string(a.Reference))),
	}
	if n, err := strconv.Atoi(strings.TrimSpace(string(s.Port))); err == nil && n > 0 && n < 65536 {
		f.Asset.Port = n
	}
	var ev []string
	for i, in := range a.Instances {
		if i == 0 && strings.TrimSpace(string(in.URI)) != "" {
			f.Asset.URL = strings.TrimSpace(string(in.URI))
		}
		line := strings.TrimSpace(string(in.Method) + " " + string(in.URI))
		if p := strings.TrimSpace(string(in.Param)); p != "" {
			line += " param=" + p
		}
		if at := strings.TrimSpace(string(in.Attack)); at != "" {
			line += " attack=" + at
		}
		if e := strings.TrimSpace(string(in.Evidence)); e != "" {
			line += " evidence=" + e
		}
		ev = append(ev, line)
	}
	if o := strings.TrimSpace(stripTags(string(a.OtherInfo))); o != "" {
		ev = append(ev, o)
	}
	f.Evidence = strings.Join(ev, "\n")
	f.Occurrences = max(len(a.Instances), 1)
	f.Fingerprint = fingerprint("zap", s.Name, plugin, string(a.AlertRef), string(a.Alert), string(a.Name))
	return f
}

// stripTags removes the <p> paragraph markup ZAP puts in its texts,
// turning paragraph ends into newlines.
func stripTags(s string) string {
	var b strings.Builder
	for {
		i := strings.IndexByte(s, '<')
		if i < 0 {
			b.WriteString(s)
			break
		}
		j := strings.IndexByte(s[i:], '>')
		if j < 0 {
			b.WriteString(s)
			break
		}
		b.WriteString(s[:i])
		if tag := strings.ToLower(s[i : i+j+1]); tag == "</p>" || tag == "<br>" || tag == "<br/>" {
			b.WriteByte('\n')
		}
		s = s[i+j+1:]
	}
	return strings.TrimSpace(b.String())
}
