package vuln

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
)

// lynisImporter reads the report data file of `lynis audit system`
// (/var/log/lynis-report.dat): key=value lines, with each result on a
// "warning[]=" or "suggestion[]=" line holding
// "TEST-ID|text|details|solution|". A bare "-" means empty; the text may
// itself contain "|", so the fields are taken from both ends. Comments,
// blank lines and lines without "=" are skipped; an empty file is no
// findings. A full report (starting "# Lynis Report") must end with
// Lynis' "finish=true" line, else it is refused as truncated.
//
// A warning (something Lynis believes is wrong) is medium, a suggestion
// (hardening advice) low, as DefectDojo maps them. Layer: configuration.
// The solution field, when given, is the remediation; otherwise the
// remediation points at the Lynis control (https://cisofy.com/lynis/
// controls/ID/). A report describes one host: its hostname, OS and Lynis
// version come from the header keys, the hardening index goes into the
// evidence.
//
// Fingerprint rule: hostname (else host_id) + test id + text + details.
// One test can report several results (FILE-6310 for /home, /tmp and
// /var; NETW-3200 per protocol); they stay separate findings. Counts match
// DefectDojo's on every sample (many 38: 1 warning and 37 suggestions;
// one 1; none 0).
type lynisImporter struct{}

var _ Importer = (*lynisImporter)(nil)

func (*lynisImporter) Format() string { return "lynis" }

func (*lynisImporter) Detect(_ string, head []byte) bool {
	return bytes.HasPrefix(bytes.TrimLeft(head, " \t\r\n"), []byte("# Lynis Report")) ||
		(bytes.Contains(head, []byte("\nlynis_version=")) && bytes.Contains(head, []byte("\nreport_version_major=")))
}

type lynisResult struct {
	kind, id, text, details, solution string
	line                              int
	offset                            int64
}

func (*lynisImporter) Import(ctx context.Context, r io.Reader) ([]Finding, error) {
	const format = "lynis"
	data, err := readAll(r)
	if err != nil {
		return nil, err
	}
	if bytes.IndexByte(data, 0) >= 0 {
		return nil, errAt(format, data, int64(bytes.IndexByte(data, 0)), errors.New("not a Lynis report: binary data"))
	}
	header := map[string]string{}
	var results []lynisResult
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	var off int64
	for n := 1; sc.Scan(); n++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		raw := sc.Text()
		lineOff := off
		off += int64(len(raw)) + 1
		line := strings.TrimRight(raw, "\r")
		key, val, ok := strings.Cut(line, "=")
		if !ok || strings.HasPrefix(strings.TrimSpace(line), "#") {
			continue
		}
		key = strings.TrimSpace(key)
		switch key {
		case "warning[]", "suggestion[]":
			res, err := parseLynisResult(val)
			if err != nil {
				return nil, &ParseError{Format: format, Line: n, Offset: lineOff, Err: err}
			}
			res.kind, res.line, res.offset = strings.TrimSuffix(key, "[]"), n, lineOff
			results = append(results, res)
		default:
			if _, seen := header[key]; !seen && !strings.HasSuffix(key, "[]") {
				header[key] = strings.TrimSpace(val)
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, errAt(format, data, off, err)
	}
	if isHeader := bytes.HasPrefix(bytes.TrimLeft(data, " \t\r\n"), []byte("# Lynis Report")); isHeader && header["finish"] != "true" {
		return nil, errAt(format, data, int64(len(data)), errors.New("truncated Lynis report: no finish=true line (the audit was interrupted or the file was cut)"))
	}
	host := first(header["hostname"], header["host_id"])
	out := []Finding{}
	for _, res := range results {
		out = append(out, res.finding(host, header))
	}
	return finishAll(out), nil
}

// parseLynisResult splits "ID|text|details|solution|".
func parseLynisResult(val string) (lynisResult, error) {
	parts := strings.Split(strings.TrimSuffix(strings.TrimSpace(val), "|"), "|")
	dash := func(s string) string {
		if s = strings.TrimSpace(s); s == "-" {
			return ""
		}
		return s
	}
	res := lynisResult{id: dash(parts[0])}
	switch {
	case len(parts) >= 4:
		res.text = strings.TrimSpace(strings.Join(parts[1:len(parts)-2], "|"))
		res.details, res.solution = dash(parts[len(parts)-2]), dash(parts[len(parts)-1])
	case len(parts) == 3:
		res.text, res.details = dash(parts[1]), dash(parts[2])
	case len(parts) == 2:
		res.text = dash(parts[1])
	}
	if res.id == "" || res.text == "" {
		return res, fmt.Errorf("result %q: want TEST-ID|text|details|solution|", clipLine(val, 80))
	}
	return res, nil
}

func (res *lynisResult) finding(host string, header map[string]string) Finding {
	f := Finding{
		Scanner:     "lynis",
		RuleID:      res.id,
		Title:       res.text,
		Description: res.text,
		Severity:    SeverityLow,
		Asset:       Asset{Host: host, Component: header["os_fullname"]},
		Layer:       LayerConfiguration,
		References:  []string{"https://cisofy.com/lynis/controls/" + res.id + "/"},
	}
	if res.kind == "warning" {
		f.Severity = SeverityMedium
	}
	if res.details != "" {
		f.Description += "\n\nDetails: " + res.details
	}
	switch sol := strings.TrimPrefix(res.solution, "text:"); {
	case sol != "":
		f.Remediation = sol
	default:
		f.Remediation = "See Lynis control " + res.id + " for the hardening step, apply it, then rerun `lynis audit system`."
	}
	ev := []string{fmt.Sprintf("%s %s (report line %d)", res.kind, res.id, res.line)}
	for _, k := range []string{"lynis_version", "hardening_index", "os_fullname", "os_kernel_version_full"} {
		if v := header[k]; v != "" {
			ev = append(ev, k+": "+v)
		}
	}
	f.Evidence = strings.Join(ev, "\n")
	f.Fingerprint = fingerprint("lynis", host, res.id, res.text, res.details)
	return f
}
