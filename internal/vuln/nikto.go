package vuln

import (
	"bytes"
	"context"
	"io"
	"regexp"
	"strconv"
	"strings"
)

// niktoImporter reads Nikto's JSON report (one host object or an array of
// them, each with "vulnerabilities") and its XML report (<niktoscan>, with
// <scandetails> directly under the root or under a nested <niktoscan>).
//
// Nikto's XML declares <!DOCTYPE niktoscan SYSTEM ".../nikto.dtd">. That
// exact declaration (a SYSTEM identifier ending in nikto.dtd, no internal
// subset) is blanked before parsing, so the strict no-DTD rule of the other
// XML importers still applies to everything else; the DTD is never read.
//
// Nikto gives no severity; findings are imported as medium, as DefectDojo
// does, so they are triaged rather than hidden among informational ones.
//
// Fingerprint rule: target host (IP, else host name) + port + Nikto check id
// + message. The URLs a check reported with the same message are listed in
// Evidence and counted in Occurrences (juice-shop.json: 151 items, 11
// findings, as in DefectDojo).
type niktoImporter struct{}

var _ Importer = (*niktoImporter)(nil)

func (*niktoImporter) Format() string { return "nikto" }

func (*niktoImporter) Detect(_ string, head []byte) bool {
	if bytes.Contains(head, []byte("<niktoscan")) {
		return true
	}
	return headLooksJSON(head, "{[") && bytes.Contains(head, []byte(`"vulnerabilities"`)) &&
		bytes.Contains(head, []byte(`"msg"`)) && bytes.Contains(head, []byte(`"banner"`))
}

type niktoItem struct {
	ID       flexString `xml:"id,attr" json:"id"`
	OSVDB    flexString `xml:"osvdbid,attr" json:"OSVDB"`
	Method   flexString `xml:"method,attr" json:"method"`
	Msg      flexString `xml:"description" json:"msg"`
	URL      flexString `xml:"uri" json:"url"`
	NameLink flexString `xml:"namelink" json:"-"`
	Refs     flexString `xml:"references" json:"references"`
}

type niktoHost struct {
	Host  flexString  `xml:"targethostname,attr" json:"host"`
	IP    flexString  `xml:"targetip,attr" json:"ip"`
	Port  flexString  `xml:"targetport,attr" json:"port"`
	Site  flexString  `xml:"sitename,attr" json:"-"`
	Items []niktoItem `xml:"item" json:"vulnerabilities"`
}

type niktoXML struct {
	Details []niktoHost `xml:"scandetails"`
	Inner   []struct {
		Details []niktoHost `xml:"scandetails"`
	} `xml:"niktoscan"`
}

// niktoDoctype matches Nikto's own DTD declaration.
var niktoDoctype = regexp.MustCompile(`^<!DOCTYPE niktoscan SYSTEM "[A-Za-z0-9_./-]*nikto\.dtd"\s*>$`)

// blankNiktoDoctype replaces Nikto's DTD declaration with spaces (keeping
// offsets) and leaves anything else for the strict prolog check.
func blankNiktoDoctype(data []byte) []byte {
	i := bytes.Index(data, []byte("<!DOCTYPE"))
	if i < 0 || i > 256 {
		return data
	}
	j := bytes.IndexByte(data[i:], '>')
	if j < 0 || !niktoDoctype.Match(data[i:i+j+1]) {
		return data
	}
	out := bytes.Clone(data)
	for k := i; k <= i+j; k++ {
		out[k] = ' '
	}
	return out
}

func (*niktoImporter) Import(ctx context.Context, r io.Reader) ([]Finding, error) {
	const format = "nikto"
	data, err := readAll(r)
	if err != nil {
		return nil, err
	}
	var hosts []niktoHost
	switch {
	case headLooksJSON(data, "["):
		if err := decodeJSON(format, data, &hosts); err != nil {
			return nil, err
		}
	case headLooksJSON(data, "{"):
		var h niktoHost
		if err := decodeJSON(format, data, &h); err != nil {
			return nil, err
		}
		hosts = []niktoHost{h}
	default:
		var rep niktoXML
		if err := decodeXML(format, blankNiktoDoctype(data), "niktoscan", &rep); err != nil {
			return nil, err
		}
		hosts = rep.Details
		for _, in := range rep.Inner {
			hosts = append(hosts, in.Details...)
		}
	}
	out := []Finding{}
	byFP := map[string]int{}
	for _, h := range hosts {
		for _, it := range h.Items {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			f := it.finding(&h)
			if i, ok := byFP[f.Fingerprint]; ok {
				out[i].Evidence += "\n" + f.Evidence
				out[i].Occurrences++
				continue
			}
			f.Occurrences = 1
			byFP[f.Fingerprint] = len(out)
			out = append(out, f)
		}
	}
	return finishAll(out), nil
}

func (it *niktoItem) finding(h *niktoHost) Finding {
	id := strings.TrimSpace(string(it.ID))
	msg := strings.TrimSpace(string(it.Msg))
	ip, host := strings.TrimSpace(string(h.IP)), strings.TrimSpace(string(h.Host))
	port := strings.TrimSpace(string(h.Port))
	uri := strings.TrimSpace(string(it.URL))
	f := Finding{
		Scanner:     "nikto",
		RuleID:      id,
		Title:       first(niktoTitle(msg), "Nikto check "+id),
		Description: msg,
		Severity:    SeverityMedium,
		Evidence:    strings.TrimSpace(string(it.Method) + " " + uri),
		Asset:       Asset{Host: first(host, ip), IP: ip, URL: strings.TrimSpace(string(it.NameLink))},
		References:  splitRefs(strings.ReplaceAll(string(it.Refs), ",", " ")),
	}
	if n, err := strconv.Atoi(port); err == nil && n > 0 && n < 65536 {
		f.Asset.Port = n
	}
	if f.Asset.URL == "" && uri != "" {
		f.Asset.URL = uri
	}
	if o := strings.TrimSpace(string(it.OSVDB)); o != "" && o != "0" {
		f.References = append(f.References, "OSVDB-"+o)
	}
	f.Fingerprint = fingerprint("nikto", first(ip, host), port, id, msg)
	return f
}

// niktoTitle shortens a Nikto message to a title: its first line, at most
// 200 bytes.
func niktoTitle(msg string) string {
	t, _, _ := strings.Cut(msg, "\n")
	t = strings.TrimSpace(t)
	if len(t) > 200 {
		t = strings.ToValidUTF8(t[:200], "") + "…"
	}
	return t
}
