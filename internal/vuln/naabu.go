package vuln

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// naabuImporter reads naabu's JSON lines output (`naabu -json`): one
// {"host", "ip", "port", "protocol", "tls", "timestamp", ...} object per
// open port. Blank lines are skipped; a JSON array is refused with a clear
// message (naabu never writes one). An empty file imports as no findings.
//
// Each line is an informational finding "Open port: 443/tcp" (layer
// network); when naabu scanned a host name, the asset keeps both the name
// and the address it resolved to, and TLS is noted in the evidence.
//
// Fingerprint rule: IP (else host name) + protocol + port, so a port seen
// twice in one run (naabu_one_vuln.json has two lines for 80/tcp) is one
// finding with two occurrences, and the same port on two hosts stays two
// findings. Counts match DefectDojo's on every sample (many 4, one 1,
// no_vuln 0).
type naabuImporter struct{}

var _ Importer = (*naabuImporter)(nil)

func (*naabuImporter) Format() string { return "naabu" }

// naabuKeys are the keys naabu writes on a result line.
var naabuKeys = map[string]bool{"host": true, "ip": true, "port": true, "protocol": true, "tls": true,
	"timestamp": true, "cdn": true, "cdn-name": true, "cdn_name": true, "ip-version": true, "os": true}

func (*naabuImporter) Detect(_ string, head []byte) bool {
	head = bytes.TrimLeft(bytes.TrimPrefix(head, []byte("\xef\xbb\xbf")), " \t\r\n")
	line, _, ok := bytes.Cut(head, []byte("\n"))
	if !ok && len(head) >= DetectSize {
		return false
	}
	var rec map[string]json.RawMessage
	if len(line) == 0 || line[0] != '{' || json.Unmarshal(line, &rec) != nil {
		return false
	}
	return onlyKeys(rec, naabuKeys) && rec["port"] != nil && (rec["ip"] != nil || rec["host"] != nil)
}

type naabuLine struct {
	Host      flexString `json:"host"`
	IP        flexString `json:"ip"`
	Port      flexString `json:"port"`
	Protocol  flexString `json:"protocol"`
	TLS       flexString `json:"tls"`
	Timestamp flexString `json:"timestamp"`
}

func (*naabuImporter) Import(ctx context.Context, r io.Reader) ([]Finding, error) {
	data, err := readAll(r)
	if err != nil {
		return nil, err
	}
	lines, err := decodeNaabu(ctx, data)
	if err != nil {
		return nil, err
	}
	out := []Finding{}
	for _, l := range lines {
		ip, host := strings.TrimSpace(string(l.IP)), strings.TrimSpace(string(l.Host))
		if host == ip {
			host = ""
		}
		proto := strings.ToLower(first(strings.TrimSpace(string(l.Protocol)), "tcp"))
		f := openPortFinding("naabu", ip, host, atoiPort(string(l.Port)), proto)
		if strings.EqualFold(string(l.TLS), "true") {
			f.Evidence = "TLS: yes"
		}
		out = append(out, f)
	}
	return finishAll(out), nil
}

// decodeNaabu parses naabu's JSON lines and checks each names an ip or a
// host and a valid port. It is the one naabu parser: the vulnerability
// importer and ReadOpenPorts both use it.
func decodeNaabu(ctx context.Context, data []byte) ([]naabuLine, error) {
	const format = "naabu"
	if headLooksJSON(data, "[") {
		return nil, errAt(format, data, 0, errors.New("a JSON array is not naabu output: naabu -json writes one object per line"))
	}
	var out []naabuLine
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	var off int64
	for n := 1; sc.Scan(); n++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		raw := sc.Bytes()
		lineOff := off
		off += int64(len(raw)) + 1
		line := bytes.TrimSpace(raw)
		if len(line) == 0 {
			continue
		}
		var l naabuLine
		if err := json.Unmarshal(line, &l); err != nil {
			if err.Error() == "unexpected end of JSON input" {
				err = errTruncatedJSON
			}
			return nil, &ParseError{Format: format, Line: n, Offset: lineOff, Err: err}
		}
		ip, host := strings.TrimSpace(string(l.IP)), strings.TrimSpace(string(l.Host))
		if atoiPort(string(l.Port)) == 0 || (ip == "" && host == "") {
			return nil, &ParseError{Format: format, Line: n, Offset: lineOff, Err: fmt.Errorf("not a naabu result: want ip or host and a port 1-65535")}
		}
		out = append(out, l)
	}
	if err := sc.Err(); err != nil {
		return nil, errAt(format, data, off, err)
	}
	return out, nil
}
