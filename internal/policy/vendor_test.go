package policy

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// vendorParsers maps the prefix of a testdata/vendor file name to its parser.
var vendorParsers = map[string]ParseFunc{
	"asa":    ParseCiscoASA,
	"ios":    ParseCiscoIOS,
	"forti":  ParseFortiGate,
	"huawei": ParseHuaweiUSG,
	"h3c":    ParseH3C,
	"pan":    ParsePaloAltoXML,
}

// vendorGolden is what a golden file records for one configuration: the
// parse error, or the rule set's shape, its notes, the analysis findings
// and the decisions for the flows of the .flows file next to it.
type vendorGolden struct {
	Error        string           `json:"error,omitempty"`
	Format       string           `json:"format,omitempty"`
	Hostname     string           `json:"hostname,omitempty"`
	Chains       []vendorChain    `json:"chains,omitempty"`
	Skipped      []Skipped        `json:"skipped,omitempty"`
	Observations []Observation    `json:"observations,omitempty"`
	Findings     []Finding        `json:"findings,omitempty"`
	Decisions    []vendorDecision `json:"decisions,omitempty"`
}

type vendorChain struct {
	Name   string          `json:"name"`
	Policy Action          `json:"policy"`
	Rules  []vendorRuleOut `json:"rules"`
}

type vendorRuleOut struct {
	Line     int      `json:"line"`
	ID       string   `json:"id,omitempty"`
	Part     int      `json:"part,omitempty"`
	Action   Action   `json:"action"`
	Logging  Logging  `json:"logging,omitempty"`
	Profiles []string `json:"profiles,omitempty"`
	Comment  string   `json:"comment,omitempty"`
	Match    string   `json:"match"`
}

type vendorDecision struct {
	Flow     string   `json:"flow"`
	Decision Decision `json:"decision"`
}

// TestVendorGolden parses every testdata/vendor sample with the parser its
// name starts with (pan-*.set with the PAN-OS set parser), and compares the result with the .golden
// file next to it.
func TestVendorGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/vendor/*.*")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, in := range files {
		ext := filepath.Ext(in)
		if ext == ".golden" || ext == ".flows" {
			continue
		}
		prefix, _, _ := strings.Cut(filepath.Base(in), "-")
		parse, ok := vendorParsers[prefix]
		if ext == ".set" {
			parse, ok = ParsePaloAltoSet, prefix == "pan"
		}
		if !ok {
			t.Errorf("%s: no parser for prefix %q", in, prefix)
			continue
		}
		n++
		t.Run(filepath.Base(in), func(t *testing.T) {
			got := runVendorCase(t, parse, in)
			golden := strings.TrimSuffix(in, ext) + ".golden"
			if *update {
				if err := os.WriteFile(golden, got, 0o600); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden) // #nosec G304 -- test samples
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(string(want), string(got)); diff != "" {
				t.Errorf("%s (-want +got), rerun with -update if intended:\n%s", in, diff)
			}
		})
	}
	if n == 0 {
		t.Fatal("no vendor samples")
	}
}

func runVendorCase(t *testing.T, parse ParseFunc, in string) []byte {
	t.Helper()
	data, err := os.ReadFile(in) // #nosec G304 -- test samples
	if err != nil {
		t.Fatal(err)
	}
	fam := IPv4
	if strings.Contains(in, "-v6") {
		fam = IPv6
	}
	var g vendorGolden
	rs, err := parse(bytes.NewReader(data), fam)
	if err != nil {
		var pe *ParseError
		if !errors.As(err, &pe) {
			t.Fatalf("error without a line: %v", err)
		}
		g.Error = err.Error()
	} else {
		g.Format, g.Hostname = rs.Format, rs.Hostname
		g.Skipped, g.Observations = rs.Skipped, rs.Observations
		for _, c := range rs.Chains {
			vc := vendorChain{Name: c.Name, Policy: c.Policy}
			for _, r := range c.Rules {
				sp := rs.spaces[r]
				vc.Rules = append(vc.Rules, vendorRuleOut{
					Line: r.Line, ID: r.ID, Part: r.Part, Action: r.Action, Logging: r.Logging,
					Profiles: r.Profiles, Comment: r.Comment, Match: renderBox(rs.Family, &sp).String(),
				})
			}
			g.Chains = append(g.Chains, vc)
		}
		if g.Findings, err = Analyze(context.Background(), rs, Options{}); err != nil {
			t.Fatal(err)
		}
		g.Decisions = vendorDecisions(t, rs, strings.TrimSuffix(in, filepath.Ext(in))+".flows")
	}
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(g); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// vendorDecisions reads flows, one a line: CHAIN PROTO SRC SPORT DST DPORT
// IN OUT ("-" for no interface) [STATE], and decides each.
func vendorDecisions(t *testing.T, rs *RuleSet, path string) []vendorDecision {
	t.Helper()
	f, err := os.Open(path) // #nosec G304 -- test samples
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []vendorDecision
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fl, chain, err := parseTestFlow(rs, line)
		if err != nil {
			t.Fatalf("%s: %q: %v", path, line, err)
		}
		d, err := rs.Decide(chain, fl)
		if err != nil {
			t.Fatalf("%s: %q: %v", path, line, err)
		}
		out = append(out, vendorDecision{Flow: line, Decision: d})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func parseTestFlow(rs *RuleSet, line string) (Flow, string, error) {
	f := strings.Fields(line)
	if len(f) != 8 && len(f) != 9 {
		return Flow{}, "", fmt.Errorf("want 8 or 9 fields, got %d", len(f))
	}
	var fl Flow
	if len(f) == 9 {
		st, ok := ParseConnState(f[8])
		if !ok {
			return fl, "", fmt.Errorf("bad state %q", f[8])
		}
		fl.State = st
	}
	p, err := strconv.ParseUint(f[1], 10, 8)
	if err != nil {
		return fl, "", err
	}
	fl.Proto = uint8(p)
	if fl.Src, err = netip.ParseAddr(f[2]); err != nil {
		return fl, "", err
	}
	if fl.Dst, err = netip.ParseAddr(f[4]); err != nil {
		return fl, "", err
	}
	sp, err := strconv.ParseUint(f[3], 10, 16)
	if err != nil {
		return fl, "", err
	}
	dp, err := strconv.ParseUint(f[5], 10, 16)
	if err != nil {
		return fl, "", err
	}
	fl.SrcPort, fl.DstPort = uint16(sp), uint16(dp)
	if f[6] != "-" {
		fl.In = rs.IfaceKey(f[6])
	}
	if f[7] != "-" {
		fl.Out = rs.IfaceKey(f[7])
	}
	return fl, f[0], nil
}

// TestVendorBounds checks the input bounds and the family check of every
// vendor parser.
func TestVendorBounds(t *testing.T) {
	long := "hostname " + strings.Repeat("x", maxLine+1) + "\n"
	for name, parse := range map[string]ParseFunc{
		"asa": ParseCiscoASA, "ios": ParseCiscoIOS, "forti": ParseFortiGate, "huawei": ParseHuaweiUSG,
		"h3c": ParseH3C, "pan-set": ParsePaloAltoSet,
	} {
		if _, err := parse(strings.NewReader(long), IPv4); !errors.Is(err, ErrTooLarge) {
			t.Errorf("%s: long line: got %v, want ErrTooLarge", name, err)
		}
		if _, err := parse(strings.NewReader(""), Family(5)); err == nil {
			t.Errorf("%s: family 5 accepted", name)
		}
	}
	deep := strings.Repeat("<config>", maxPanDepth+1)
	var pe *ParseError
	if _, err := ParsePaloAltoXML(strings.NewReader(deep), IPv4); !errors.As(err, &pe) {
		t.Errorf("deep XML: got %v, want a ParseError", err)
	}
	laughs := `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;">]><config>&lol2;</config>`
	if _, err := ParsePaloAltoXML(strings.NewReader(laughs), IPv4); !errors.As(err, &pe) || !strings.Contains(err.Error(), "refused") {
		t.Errorf("entity expansion: got %v, want refusal", err)
	}
}
