package vuln

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// openvasCSVImporter reads the CSV export of OpenVAS / Greenbone results
// (header "IP,Hostname,Port,Port Protocol,CVSS,Severity,...,NVT OID,...").
// Columns are found by header name, so exports with or without QoD work.
//
// Fingerprint rule: host IP + "port/protocol" + NVT OID, the same fields as
// the XML importer, so a CSV and an XML export of one scan agree.
type openvasCSVImporter struct{}

var _ Importer = (*openvasCSVImporter)(nil)

func (*openvasCSVImporter) Format() string { return "openvas-csv" }

func (*openvasCSVImporter) Detect(_ string, head []byte) bool {
	head = bytes.TrimPrefix(head, []byte("\xef\xbb\xbf"))
	line, _, _ := bytes.Cut(head, []byte("\n"))
	return bytes.HasPrefix(line, []byte("IP,Hostname,Port,Port Protocol,CVSS,Severity")) && bytes.Contains(line, []byte("NVT OID"))
}

func (*openvasCSVImporter) Import(ctx context.Context, r io.Reader) ([]Finding, error) {
	const format = "openvas-csv"
	data, err := readAll(r)
	if err != nil {
		return nil, err
	}
	cr := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))))
	header, err := cr.Read()
	if err == io.EOF {
		return nil, &ParseError{Format: format, Offset: -1, Err: errors.New("empty file: no CSV header")}
	}
	if err != nil {
		return nil, csvError(format, err)
	}
	col := map[string]int{}
	for i, h := range header {
		col[strings.TrimSpace(h)] = i
	}
	for _, need := range []string{"IP", "NVT Name", "NVT OID", "Severity"} {
		if _, ok := col[need]; !ok {
			return nil, &ParseError{Format: format, Line: 1, Offset: 0, Err: fmt.Errorf("not an OpenVAS CSV export: no %q column", need)}
		}
	}
	out := []Finding{}
	err = eachCSVRow(ctx, format, cr, col, func(get func(string) string) error {
		ip, port, proto, oid := get("IP"), get("Port"), get("Port Protocol"), get("NVT OID")
		f := Finding{
			Scanner:     "openvas",
			RuleID:      oid,
			Title:       first(get("NVT Name"), oid),
			Description: get("Summary"),
			Severity:    ParseSeverity(get("Severity")),
			Remediation: get("Solution"),
			Evidence:    get("Specific Result"),
			Asset:       Asset{Host: first(get("Hostname"), ip), IP: ip, Protocol: proto},
		}
		if n, err := strconv.Atoi(port); err == nil {
			f.Asset.Port = n
		}
		if s, err := strconv.ParseFloat(get("CVSS"), 64); err == nil && s >= 0 && s <= 10 {
			f.ToolScore = &s
		}
		f.CVEs = uniqueUpper(cveRe.FindAllString(get("CVEs"), -1))
		for _, ref := range strings.FieldsFunc(get("Other References"), func(r rune) bool { return r == ',' || r == '\n' }) {
			if ref = strings.TrimSpace(ref); strings.HasPrefix(ref, "http") {
				f.References = append(f.References, ref)
			}
		}
		portKey := "general/" + proto
		if port != "" {
			portKey = port + "/" + proto
		}
		f.Fingerprint = fingerprint("openvas", ip, portKey, oid)
		out = append(out, f)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return finishAll(out), nil
}

func csvError(format string, err error) *ParseError {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return &ParseError{Format: format, Line: pe.Line, Offset: -1, Err: pe.Err}
	}
	return &ParseError{Format: format, Offset: -1, Err: err}
}
