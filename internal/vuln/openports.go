package vuln

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// OpenPort is one open port as a port scanner reported it, before it is
// turned into a finding: asset discovery imports these into a tenant's
// inventory. The decoding is the importers' own (decodeXML into nmapRun,
// decodeMasscan, decodeNaabu), so each format has one parser.
type OpenPort struct {
	IP        string    // address, "" when the scanner only named the host
	Hostnames []string  // names the scanner gave or resolved
	Port      int       // 1-65535
	Protocol  string    // tcp, udp, sctp
	Service   string    // the scanner's service name
	Product   string    // product and version when the scanner identified them
	Version   string    //
	Extra     string    // nmap's extrainfo
	Banner    string    // masscan's banner
	TLS       bool      // the port spoke TLS (nmap tunnel="ssl", naabu tls)
	Seen      time.Time // when the scanner saw it; zero when unknown
}

// PortScanFormats are the formats ReadOpenPorts reads.
var PortScanFormats = []string{"nmap", "masscan", "naabu"}

// ReadOpenPorts reads the open ports of an nmap XML, masscan JSON or naabu
// JSON lines report (format "nmap", "masscan" or "naabu"), with the same
// size limit, XML entity refusal and errors as the importers.
func ReadOpenPorts(ctx context.Context, format string, r io.Reader) ([]OpenPort, error) {
	data, err := readAll(r)
	if err != nil {
		return nil, err
	}
	switch format {
	case "nmap":
		return nmapOpenPorts(ctx, data)
	case "masscan":
		recs, err := decodeMasscan(ctx, data)
		if err != nil {
			return nil, err
		}
		var out []OpenPort
		for _, rec := range recs {
			seen := unixTime(string(rec.Timestamp))
			for _, p := range rec.Ports {
				if st := strings.ToLower(strings.TrimSpace(string(p.Status))); st != "" && st != "open" {
					continue
				}
				op := OpenPort{IP: strings.TrimSpace(string(*rec.IP)), Port: atoiPort(string(p.Port)),
					Protocol: strings.ToLower(first(strings.TrimSpace(string(p.Proto)), "tcp")), Seen: seen}
				if s := p.Service; s != nil {
					op.Service, op.Banner = strings.TrimSpace(string(s.Name)), string(s.Banner)
				}
				out = append(out, op)
			}
		}
		return out, nil
	case "naabu":
		lines, err := decodeNaabu(ctx, data)
		if err != nil {
			return nil, err
		}
		out := make([]OpenPort, 0, len(lines))
		for _, l := range lines {
			op := OpenPort{IP: strings.TrimSpace(string(l.IP)), Port: atoiPort(string(l.Port)),
				Protocol: strings.ToLower(first(strings.TrimSpace(string(l.Protocol)), "tcp")),
				TLS:      strings.EqualFold(string(l.TLS), "true")}
			if h := strings.TrimSpace(string(l.Host)); h != "" && h != op.IP {
				op.Hostnames = []string{h}
			}
			if t, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(string(l.Timestamp))); err == nil {
				op.Seen = t.UTC()
			}
			out = append(out, op)
		}
		return out, nil
	}
	return nil, fmt.Errorf("%w: %q is not a port scan format", ErrUnknownFormat, format)
}

func nmapOpenPorts(ctx context.Context, data []byte) ([]OpenPort, error) {
	var run nmapRun
	if err := decodeXML("nmap", data, "nmaprun", &run); err != nil {
		return nil, err
	}
	var out []OpenPort
	for _, h := range run.Hosts {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		var ip string
		for _, a := range h.Addresses {
			if a.AddrType == "ipv4" || a.AddrType == "ipv6" {
				ip = first(ip, a.Addr)
			}
		}
		var names []string
		for _, hn := range h.Hostnames {
			if n := strings.TrimSpace(hn.Name); n != "" {
				names = append(names, n)
			}
		}
		seen := unixTime(first(h.EndTime, h.StartTime))
		for _, p := range h.Ports {
			if p.State.State != "open" || p.PortID < 1 || p.PortID > 65535 {
				continue
			}
			out = append(out, OpenPort{IP: ip, Hostnames: names, Port: p.PortID, Protocol: strings.ToLower(first(p.Protocol, "tcp")),
				Service: p.Service.Name, Product: p.Service.Product, Version: p.Service.Version, Extra: p.Service.Extra,
				TLS: p.Service.Tunnel == "ssl", Seen: seen})
		}
	}
	return out, nil
}

// unixTime reads seconds since the epoch; anything else is the zero time.
func unixTime(s string) time.Time {
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil || n <= 0 || n > 1<<40 {
		return time.Time{}
	}
	return time.Unix(n, 0).UTC()
}
