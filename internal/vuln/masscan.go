package vuln

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"strings"
)

// masscanImporter reads masscan's JSON output (`masscan -oJ`): an array of
// {"ip", "timestamp", "ports":[{"port","proto","status","reason","ttl",
// "service":{"name","banner"}}]} records. Masscan leaves a trailing comma
// before the closing bracket in some versions; that one comma is accepted.
// An empty file (masscan found nothing) imports as no findings.
//
// Each open port is an informational finding "Open port: 80/tcp" on the
// host (layer network), with the service banner, when masscan grabbed one,
// as evidence. Closed ports (masscan saw a RST) are not findings.
//
// Fingerprint rule: IP + protocol + port. A port answered twice (a
// retransmitted probe) is one finding with two occurrences; the same port
// on two hosts stays two findings. Counts match DefectDojo's on every
// sample (many 4, one 1, no_vuln 0).
type masscanImporter struct{}

var _ Importer = (*masscanImporter)(nil)

func (*masscanImporter) Format() string { return "masscan" }

// masscanKeys are the keys of a masscan record.
var masscanKeys = map[string]bool{"ip": true, "timestamp": true, "ports": true}

func (*masscanImporter) Detect(_ string, head []byte) bool {
	head = bytes.TrimLeft(bytes.TrimPrefix(head, []byte("\xef\xbb\xbf")), " \t\r\n")
	if len(head) == 0 || head[0] != '[' || !bytes.Contains(head, []byte(`"ports"`)) {
		return false
	}
	i := bytes.IndexByte(head, '{')
	if i < 0 {
		return false
	}
	var rec map[string]json.RawMessage
	if err := json.NewDecoder(bytes.NewReader(head[i:])).Decode(&rec); err != nil {
		return false
	}
	return onlyKeys(rec, masscanKeys) && rec["ip"] != nil && rec["ports"] != nil
}

// onlyKeys reports whether every key of rec is in allowed.
func onlyKeys(rec map[string]json.RawMessage, allowed map[string]bool) bool {
	for k := range rec {
		if !allowed[k] {
			return false
		}
	}
	return len(rec) > 0
}

type masscanRecord struct {
	IP        *flexString `json:"ip"`
	Timestamp flexString  `json:"timestamp"`
	Ports     []struct {
		Port    flexString `json:"port"`
		Proto   flexString `json:"proto"`
		Status  flexString `json:"status"`
		Reason  flexString `json:"reason"`
		TTL     flexString `json:"ttl"`
		Service *struct {
			Name   flexString `json:"name"`
			Banner flexString `json:"banner"`
		} `json:"service"`
	} `json:"ports"`
}

// dropTrailingComma blanks the comma masscan may leave before the closing
// bracket of its array, keeping offsets.
func dropTrailingComma(data []byte) []byte {
	t := bytes.TrimRight(data, " \t\r\n")
	if !bytes.HasSuffix(t, []byte("]")) {
		return data
	}
	body := bytes.TrimRight(t[:len(t)-1], " \t\r\n")
	if !bytes.HasSuffix(body, []byte(",")) {
		return data
	}
	out := bytes.Clone(data)
	out[len(body)-1] = ' '
	return out
}

func (*masscanImporter) Import(ctx context.Context, r io.Reader) ([]Finding, error) {
	data, err := readAll(r)
	if err != nil {
		return nil, err
	}
	recs, err := decodeMasscan(ctx, data)
	if err != nil {
		return nil, err
	}
	out := []Finding{}
	for _, rec := range recs {
		ip := strings.TrimSpace(string(*rec.IP))
		for _, p := range rec.Ports {
			if st := strings.ToLower(strings.TrimSpace(string(p.Status))); st != "" && st != "open" {
				continue
			}
			proto := strings.ToLower(first(strings.TrimSpace(string(p.Proto)), "tcp"))
			f := openPortFinding("masscan", ip, "", atoiPort(string(p.Port)), proto)
			var ev []string
			if r := strings.TrimSpace(string(p.Reason)); r != "" {
				ev = append(ev, "reason: "+r+" ttl "+strings.TrimSpace(string(p.TTL)))
			}
			if s := p.Service; s != nil {
				ev = append(ev, strings.TrimSpace(string(s.Name)+": "+clipLine(string(s.Banner), 500)))
			}
			f.Evidence = strings.Join(ev, "\n")
			out = append(out, f)
		}
	}
	return finishAll(out), nil
}

// decodeMasscan parses a masscan JSON report and checks every record has
// an ip and every open port a valid number. It is the one masscan JSON
// parser: the vulnerability importer and ReadOpenPorts both use it. An
// empty input is no records.
func decodeMasscan(ctx context.Context, data []byte) ([]masscanRecord, error) {
	const format = "masscan"
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, nil
	}
	if !headLooksJSON(data, "[") {
		return nil, errAt(format, data, 0, errors.New("not a masscan JSON report: want an array of host records"))
	}
	var recs []masscanRecord
	if err := decodeJSON(format, dropTrailingComma(data), &recs); err != nil {
		return nil, err
	}
	for i, rec := range recs {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if rec.IP == nil || strings.TrimSpace(string(*rec.IP)) == "" {
			return nil, errAt(format, data, 0, fmt.Errorf("record %d has no ip", i))
		}
		ip := strings.TrimSpace(string(*rec.IP))
		for _, p := range rec.Ports {
			if st := strings.ToLower(strings.TrimSpace(string(p.Status))); st != "" && st != "open" {
				continue
			}
			if atoiPort(string(p.Port)) == 0 {
				return nil, errAt(format, data, 0, fmt.Errorf("record %d (%s): invalid port %q", i, ip, p.Port))
			}
		}
	}
	return recs, nil
}

// openPortFinding is an informational open-port finding of a port
// scanner; host is the name the scanner was given ("" when it scanned an
// address). Fingerprint: scanner + IP (else host) + protocol + port.
func openPortFinding(scanner, ip, host string, port int, proto string) Finding {
	p := strconv.Itoa(port) + "/" + proto
	a := Asset{Host: first(host, ip), Port: port, Protocol: proto}
	if _, err := netip.ParseAddr(ip); err == nil {
		a.IP = ip
	}
	return Finding{
		Scanner:     scanner,
		RuleID:      "open-port",
		Title:       "Open port: " + p,
		Description: fmt.Sprintf("%s found %s open on %s.", scanner, p, first(host, ip)),
		Severity:    SeverityInfo,
		Asset:       a,
		Layer:       LayerNetwork,
		Remediation: "If the service on this port is not meant to be reachable from where the scan ran, close the port or restrict it with a firewall rule; otherwise record it as expected exposure.",
		Fingerprint: fingerprint(scanner, first(ip, host), proto, strconv.Itoa(port)),
	}
}
