package vuln

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"slices"
	"strings"
)

// openscapImporter reads XCCDF results as OpenSCAP writes them
// (`oscap xccdf eval --results`, `oscap oval ... --results` turned into
// XCCDF, SCAP Security Guide profiles): a <Benchmark> holding its <Rule>s
// and one or more <TestResult>s, a bare <TestResult>, or an ARF
// <asset-report-collection> (`--results-arf`) carrying both. XCCDF 1.1 and
// 1.2 are accepted; namespaces and prefixes do not matter.
//
// A file without any <TestResult> (a bare benchmark or profile) is
// refused rather than imported as "nothing failed".
//
// Every rule-result whose result is "fail" is a finding. The other results
// are not: pass, fixed, notapplicable, notchecked, notselected and
// informational by definition, error and unknown because the check could
// not decide (OpenSCAP prints them; they are not a weakness of the host).
// This is DefectDojo's rule too, and the counts agree on every sample
// (many_vuln_rhsa.xml 31, ios-sample-v1.1.3.xccdf.xml 1 — its second
// rule-result for the same rule is "notselected" — no_vuln_rhsa.xml 0).
//
// Severity is the rule-result's severity attribute, else the rule's
// (following "extends"); XCCDF's default "unknown" is imported as medium,
// as DefectDojo does, so an unrated failed rule is triaged rather than
// hidden. Title, description, rationale, fix text and idents come from the
// rule, inherited through "extends"; CVE idents become CVEs, other idents
// (CCE, RHSA ids) references.
//
// Layer: a rule naming CVEs, or an OVAL patch definition (ids like
// oval-com.redhat.rhsa-def-…), is a missing operating-system update ("os");
// every other rule is a configuration check ("configuration").
// Remediation is the rule's fixtext followed by the fix script (the
// rule-result's own <fix> when present, else the rule's).
//
// Fingerprint rule: TestResult target name + the target's first
// non-loopback address + rule id. Two machines that both call themselves
// "localhost" stay apart by their addresses; a host whose address list
// only grows keeps its fingerprints.
type openscapImporter struct{}

var _ Importer = (*openscapImporter)(nil)

func (*openscapImporter) Format() string { return "openscap" }

func (*openscapImporter) Detect(_ string, head []byte) bool {
	if !bytes.Contains(head, []byte("<")) {
		return false
	}
	return bytes.Contains(head, []byte("http://checklists.nist.gov/xccdf/")) ||
		bytes.Contains(head, []byte("http://scap.nist.gov/schema/asset-reporting-format/"))
}

type xccdfIdent struct {
	System string `xml:"system,attr"`
	Value  string `xml:",chardata"`
}

type xccdfRule struct {
	ID          string       `xml:"id,attr"`
	Extends     string       `xml:"extends,attr"`
	Severity    string       `xml:"severity,attr"`
	Title       []xmlText    `xml:"title"`
	Description []xmlText    `xml:"description"`
	Rationale   []xmlText    `xml:"rationale"`
	Fixtext     []xmlText    `xml:"fixtext"`
	Fix         []xmlText    `xml:"fix"`
	Idents      []xccdfIdent `xml:"ident"`
	References  []xmlText    `xml:"reference"`
}

type xccdfRuleResult struct {
	IDRef    string       `xml:"idref,attr"`
	Severity string       `xml:"severity,attr"`
	Result   string       `xml:"result"`
	Idents   []xccdfIdent `xml:"ident"`
	Fix      []xmlText    `xml:"fix"`
	Instance []xmlText    `xml:"instance"`
	Message  []xmlText    `xml:"message"`
}

type xccdfTestResult struct {
	ID        string            `xml:"id,attr"`
	Target    []string          `xml:"target"`
	Addresses []string          `xml:"target-address"`
	Results   []xccdfRuleResult `xml:"rule-result"`
}

// xccdfRoots are the root elements an OpenSCAP results file can have.
var xccdfRoots = []string{"Benchmark", "TestResult", "asset-report-collection"}

func (*openscapImporter) Import(ctx context.Context, r io.Reader) ([]Finding, error) {
	const format = "openscap"
	data, err := readAll(r)
	if err != nil {
		return nil, err
	}
	dec, err := newXMLDecoder(format, data)
	if err != nil {
		return nil, err
	}
	rules := map[string]*xccdfRule{}
	var results []xccdfTestResult
	root := ""
	for {
		off := dec.InputOffset()
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, xmlError(format, data, dec, err)
		}
		se, ok := tok.(xml.StartElement)
		if !ok {
			continue
		}
		if root == "" {
			root = se.Name.Local
			if !slices.Contains(xccdfRoots, root) {
				return nil, errAt(format, data, off, fmt.Errorf("root element is <%s>, want <Benchmark>, <TestResult> or <asset-report-collection>", root))
			}
		}
		switch se.Name.Local {
		case "Rule":
			var rule xccdfRule
			if err := dec.DecodeElement(&rule, &se); err != nil {
				return nil, xmlError(format, data, dec, err)
			}
			if rule.ID != "" {
				rules[rule.ID] = &rule
			}
		case "TestResult":
			var tr xccdfTestResult
			if err := dec.DecodeElement(&tr, &se); err != nil {
				return nil, xmlError(format, data, dec, err)
			}
			results = append(results, tr)
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
	}
	if root == "" {
		return nil, errAt(format, data, 0, errors.New("not an XML document: no root element"))
	}
	if len(results) == 0 {
		// A benchmark without results is a policy, not a scan: importing
		// it as "nothing failed" would close findings on a full rescan.
		return nil, errAt(format, data, 0, errors.New("no <TestResult>: this is an XCCDF benchmark, not scan results (oscap xccdf eval --results writes them)"))
	}
	out := []Finding{}
	for i := range results {
		tr := &results[i]
		target := strings.TrimSpace(first(tr.Target...))
		ip := primaryAddress(tr.Addresses)
		for j := range tr.Results {
			rr := &tr.Results[j]
			if !strings.EqualFold(strings.TrimSpace(rr.Result), "fail") {
				continue
			}
			out = append(out, rr.finding(resolveRule(rules, strings.TrimSpace(rr.IDRef)), target, ip))
		}
	}
	return finishAll(out), nil
}

// resolveRule returns the rule with id, its unset fields filled from the
// rules it extends (at most 16 levels, cycles stop the walk). An unknown
// id gives an empty rule carrying the id.
func resolveRule(rules map[string]*xccdfRule, id string) xccdfRule {
	r, ok := rules[id]
	if !ok {
		return xccdfRule{ID: id}
	}
	out := *r
	seen := map[string]bool{id: true}
	for base := r.Extends; base != "" && !seen[base] && len(seen) < 16; {
		seen[base] = true
		b, ok := rules[base]
		if !ok {
			break
		}
		if out.Severity == "" {
			out.Severity = b.Severity
		}
		for _, f := range []struct{ dst, src *[]xmlText }{
			{&out.Title, &b.Title}, {&out.Description, &b.Description}, {&out.Rationale, &b.Rationale},
			{&out.Fixtext, &b.Fixtext}, {&out.Fix, &b.Fix}, {&out.References, &b.References},
		} {
			if firstText(*f.dst) == "" {
				*f.dst = *f.src
			}
		}
		if len(out.Idents) == 0 {
			out.Idents = b.Idents
		}
		base = b.Extends
	}
	return out
}

// primaryAddress is the first address that is not loopback (else the
// first address).
func primaryAddress(addrs []string) string {
	for _, a := range addrs {
		a = strings.TrimSpace(a)
		if ip, err := netip.ParseAddr(a); err == nil && !ip.IsLoopback() && !ip.IsUnspecified() {
			return a
		}
	}
	if len(addrs) > 0 {
		return strings.TrimSpace(addrs[0])
	}
	return ""
}

func (rr *xccdfRuleResult) finding(rule xccdfRule, target, ip string) Finding {
	id := rule.ID
	f := Finding{
		Scanner:     "openscap",
		RuleID:      id,
		Title:       first(firstText(rule.Title), id),
		Description: strings.Join(nonBlank(firstText(rule.Description), firstText(rule.Rationale)), "\n\n"),
		Severity:    xccdfSeverity(first(strings.TrimSpace(rr.Severity), strings.TrimSpace(rule.Severity))),
		Asset:       Asset{Host: first(target, ip), IP: ip},
		Layer:       LayerConfiguration,
	}
	idents := rr.Idents
	if len(idents) == 0 {
		idents = rule.Idents
	}
	for _, in := range idents {
		v := strings.TrimSpace(in.Value)
		switch {
		case v == "":
		case strings.HasPrefix(strings.ToUpper(v), "CVE-"):
			if !slices.Contains(f.CVEs, strings.ToUpper(v)) {
				f.CVEs = append(f.CVEs, strings.ToUpper(v))
			}
		default:
			f.References = append(f.References, v)
		}
	}
	for _, ref := range rule.References {
		if ref.Href != "" {
			f.References = append(f.References, ref.Href)
		}
	}
	if len(f.CVEs) > 0 || strings.Contains(strings.ToLower(id), "-def-") {
		f.Layer = LayerOS
	}
	fix := firstText(rr.Fix)
	if fix == "" {
		fix = firstText(rule.Fix)
	}
	f.Remediation = strings.Join(nonBlank(firstText(rule.Fixtext), fix), "\n\n")
	ev := []string{"result: fail"}
	for _, in := range rr.Instance {
		if in.Text != "" {
			ev = append(ev, "instance: "+in.Text)
		}
	}
	for _, m := range rr.Message {
		if m.Text != "" {
			ev = append(ev, m.Text)
		}
	}
	f.Evidence = strings.Join(ev, "\n")
	f.Fingerprint = fingerprint("openscap", target, ip, id)
	return f
}

// xccdfSeverity maps XCCDF's severities (unknown, info, low, medium, high).
func xccdfSeverity(s string) Severity {
	switch sev := ParseSeverity(s); sev {
	case "":
		return SeverityMedium
	case SeverityInfo:
		if strings.EqualFold(s, "unknown") {
			return SeverityMedium
		}
		return sev
	default:
		return sev
	}
}

// nonBlank returns the non-empty strings of s.
func nonBlank(s ...string) []string {
	var out []string
	for _, x := range s {
		if x = strings.TrimSpace(x); x != "" {
			out = append(out, x)
		}
	}
	return out
}
