package vuln

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/vigil-sec/vigil/internal/vuln/cvss"
)

// nmapImporter reads nmap's XML output (-oX). Every open port is an
// informational finding; every entry of the vulners script on a port is a
// finding with the script's score as the tool score and a severity from
// that score's rating. Other scripts' output is kept as evidence on the
// open-port finding.
//
// Fingerprint rules (host = the host's IP address, else its first name):
//   - open port: host + protocol + port
//   - vulners entry: host + protocol + port + CPE + vulners id
type nmapImporter struct{}

var _ Importer = (*nmapImporter)(nil)

func (*nmapImporter) Format() string { return "nmap" }

func (*nmapImporter) Detect(_ string, head []byte) bool {
	return bytes.Contains(head, []byte("<nmaprun"))
}

type nmapElem struct {
	Key   string `xml:"key,attr"`
	Value string `xml:",chardata"`
}

type nmapTable struct {
	Key    string      `xml:"key,attr"`
	Elems  []nmapElem  `xml:"elem"`
	Tables []nmapTable `xml:"table"`
}

func (t nmapTable) elem(key string) string {
	for _, e := range t.Elems {
		if e.Key == key {
			return strings.TrimSpace(e.Value)
		}
	}
	return ""
}

type nmapRun struct {
	Hosts []struct {
		StartTime string `xml:"starttime,attr"`
		EndTime   string `xml:"endtime,attr"`
		Addresses []struct {
			Addr     string `xml:"addr,attr"`
			AddrType string `xml:"addrtype,attr"`
		} `xml:"address"`
		Hostnames []struct {
			Name string `xml:"name,attr"`
			Type string `xml:"type,attr"`
		} `xml:"hostnames>hostname"`
		Ports []struct {
			Protocol string `xml:"protocol,attr"`
			PortID   int    `xml:"portid,attr"`
			State    struct {
				State string `xml:"state,attr"`
			} `xml:"state"`
			Service struct {
				Name    string   `xml:"name,attr"`
				Product string   `xml:"product,attr"`
				Version string   `xml:"version,attr"`
				Extra   string   `xml:"extrainfo,attr"`
				Tunnel  string   `xml:"tunnel,attr"`
				CPEs    []string `xml:"cpe"`
			} `xml:"service"`
			Scripts []struct {
				ID     string      `xml:"id,attr"`
				Output string      `xml:"output,attr"`
				Tables []nmapTable `xml:"table"`
			} `xml:"script"`
		} `xml:"ports>port"`
	} `xml:"host"`
}

func (*nmapImporter) Import(ctx context.Context, r io.Reader) ([]Finding, error) {
	const format = "nmap"
	data, err := readAll(r)
	if err != nil {
		return nil, err
	}
	var run nmapRun
	if err := decodeXML(format, data, "nmaprun", &run); err != nil {
		return nil, err
	}
	out := []Finding{}
	for _, h := range run.Hosts {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		var ip, name string
		for _, a := range h.Addresses {
			if a.AddrType == "ipv4" || a.AddrType == "ipv6" {
				ip = first(ip, a.Addr)
			}
		}
		for _, hn := range h.Hostnames {
			name = first(name, hn.Name)
		}
		hostKey := first(ip, name)
		for _, p := range h.Ports {
			if p.State.State != "open" {
				continue
			}
			asset := Asset{Host: first(name, ip), IP: ip, Port: p.PortID, Protocol: p.Protocol,
				Package: strings.ToLower(p.Service.Product), Version: p.Service.Version, Component: p.Service.Name}
			port := strconv.Itoa(p.PortID) + "/" + p.Protocol
			desc := strings.TrimSpace(fmt.Sprintf("Service %s %s %s", p.Service.Name, p.Service.Product, p.Service.Version))
			var ev []string
			for _, s := range p.Scripts {
				if s.ID != "vulners" {
					ev = append(ev, s.ID+": "+strings.TrimSpace(s.Output))
					continue
				}
				for _, cpeTable := range s.Tables {
					for _, v := range cpeTable.Tables {
						out = append(out, nmapVulnersFinding(asset, hostKey, port, cpeTable.Key, v))
					}
				}
			}
			out = append(out, Finding{
				Scanner:     "nmap",
				RuleID:      "open-port",
				Title:       "Open port: " + port,
				Description: desc,
				Severity:    SeverityInfo,
				Asset:       asset,
				Evidence:    strings.Join(ev, "\n"),
				Fingerprint: fingerprint("nmap", "port", hostKey, p.Protocol, strconv.Itoa(p.PortID)),
			})
		}
	}
	return finishAll(out), nil
}

func nmapVulnersFinding(asset Asset, hostKey, port, cpe string, v nmapTable) Finding {
	id := v.elem("id")
	f := Finding{
		Scanner:     "nmap",
		RuleID:      id,
		Title:       id,
		Description: fmt.Sprintf("%s on %s (%s) is listed by vulners as affected by %s", first(asset.Package, asset.Component), port, cpe, id),
		Asset:       asset,
		Evidence:    "vulners type " + v.elem("type") + ", exploit " + v.elem("is_exploit"),
		References:  []string{"https://vulners.com/" + first(v.elem("type"), "cve") + "/" + id},
		Fingerprint: fingerprint("nmap", "vulners", hostKey, port, cpe, id),
	}
	if s, err := strconv.ParseFloat(v.elem("cvss"), 64); err == nil && s >= 0 && s <= 10 {
		f.ToolScore = &s
		f.Severity = Severity(cvss.Rating(s))
		if f.Severity == Severity(cvss.SeverityNone) {
			f.Severity = SeverityInfo
		}
	}
	f.CVEs = uniqueUpper(cveRe.FindAllString(id, -1))
	return f
}
