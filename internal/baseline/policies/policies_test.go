package policies

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/baseline"
)

// mlpsRE is the GB/T 28448-2019 test-unit id form used in the policies:
// level 3, a category code with its requirement set (1 = general), and the
// unit number. Level-3 安全计算环境 units run 01-35 without 16.
var mlpsRE = regexp.MustCompile(`^L3-(CES1|SMC1)-(\d\d)$`)

func TestPoliciesLoad(t *testing.T) {
	list := List()
	names, err := filepath.Glob("*/*.yml")
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != len(names) || len(list) < 11 {
		t.Fatalf("List() has %d policies, %d files", len(list), len(names))
	}
	ids := map[string]string{}
	total := 0
	for _, info := range list {
		p, err := Open(info.Name)
		if err != nil {
			t.Errorf("%s: %v", info.Name, err)
			continue
		}
		if len(p.Problems) > 0 {
			t.Errorf("%s: problems: %v", info.File, p.Problems)
		}
		if len(p.Checks) != info.Checks || info.Checks < 7 {
			t.Errorf("%s: %d checks, Info says %d", info.File, len(p.Checks), info.Checks)
		}
		if byID, err := Open(info.ID); err != nil || byID.ID != p.ID {
			t.Errorf("Open(%q) by id: %v", info.ID, err)
		}
		if p.Requirements == nil {
			t.Errorf("%s: no requirements", info.File)
		}
		withMLPS := 0
		for _, c := range p.Checks {
			if prev, dup := ids[c.ID]; dup {
				t.Errorf("check id %s in %s and %s", c.ID, prev, info.File)
			}
			ids[c.ID] = info.File
			if c.Title == "" || c.Remediation == "" || c.Rationale == "" {
				t.Errorf("%s check %s: title, rationale and remediation are required", info.File, c.ID)
			}
			for _, ref := range c.Compliance["mlps"] {
				m := mlpsRE.FindStringSubmatch(ref)
				if m == nil || m[2] == "00" || (m[1] == "CES1" && (m[2] == "16" || m[2] > "35")) || (m[1] == "SMC1" && m[2] > "12") {
					t.Errorf("%s check %s: MLPS reference %q is not a level-3 test unit id", info.File, c.ID, ref)
				}
			}
			if len(c.Compliance["mlps"]) > 0 {
				withMLPS++
			}
		}
		if withMLPS < len(p.Checks)-1 {
			t.Errorf("%s: only %d of %d checks carry MLPS references", info.File, withMLPS, len(p.Checks))
		}
		total += len(p.Checks)
		t.Logf("%-11s %-14s %-26s %2d checks, %d rules", info.Platform, info.Name, info.ID, len(p.Checks), p.Rules)
	}
	t.Logf("%d policies, %d checks", len(list), total)
	if _, err := Open("no-such-policy"); err == nil {
		t.Error("unknown policy opened")
	}
	// The embedded files also load through the generic directory loader.
	ps, err := baseline.LoadDir(FS(), ".")
	if err != nil || len(ps) != len(list) {
		t.Errorf("LoadDir: %d policies, %v", len(ps), err)
	}
}

func TestFixes(t *testing.T) {
	withFix := 0
	for _, info := range List() {
		p, err := Open(info.Name)
		if err != nil {
			t.Fatal(err)
		}
		fixes, err := Fixes(info.Name)
		if err != nil {
			t.Fatalf("%s: %v", info.Name, err)
		}
		for id, fix := range fixes {
			if !slices.ContainsFunc(p.Checks, func(c baseline.Check) bool { return c.ID == id }) {
				t.Errorf("%s: fix for unknown check %s", info.Name, id)
			}
			if strings.TrimSpace(fix) == "" {
				t.Errorf("%s: empty fix for %s", info.Name, id)
			}
		}
		withFix += len(fixes)
	}
	if withFix == 0 {
		t.Error("no policy carries a fix")
	}
	if _, err := ParseFixes([]byte("checks: [")); err == nil {
		t.Error("broken YAML accepted")
	}
	if _, err := ParseFixes([]byte("checks:\n  - id: 1\n    fix: '" + strings.Repeat("x", maxFixBytes+1) + "'\n")); err == nil {
		t.Error("oversized fix accepted")
	}
}

// manualChecks returns the ids of the policy's "type: manual" checks.
func manualChecks(p *baseline.Policy) map[string]bool {
	out := map[string]bool{}
	for _, c := range p.Checks {
		if c.Manual {
			out[c.ID] = true
		}
	}
	return out
}

// sample is a device configuration from testdata/devices with the policy it
// is for and the checks it must fail, read from its own comment lines:
// "! policy: NAME" and "! expect-fail: ID ..." ("#" for VRP and Comware).
type sample struct {
	file, policy string
	expectFail   map[string]bool
	text         string
}

func loadSample(t *testing.T, file string) sample {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	s := sample{file: file, text: string(data), expectFail: map[string]bool{}}
	sc := bufio.NewScanner(strings.NewReader(s.text))
	for sc.Scan() {
		line := strings.TrimLeft(sc.Text(), "!# ")
		if v, ok := strings.CutPrefix(line, "policy:"); ok {
			s.policy = strings.TrimSpace(v)
		}
		if v, ok := strings.CutPrefix(line, "expect-fail:"); ok {
			s.expectFail[strings.Fields(v)[0]] = true
		}
	}
	if s.policy == "" {
		t.Fatalf("%s: no policy comment", file)
	}
	return s
}

func TestDeviceSamples(t *testing.T) {
	files, err := filepath.Glob("testdata/devices/*.cfg")
	if err != nil || len(files) < 6 {
		t.Fatalf("samples: %v %v", files, err)
	}
	vendors := map[string][2]int{} // policy -> samples without / with expected failures
	for _, f := range files {
		s := loadSample(t, f)
		t.Run(filepath.Base(f), func(t *testing.T) {
			p, err := Open(s.policy)
			if err != nil {
				t.Fatal(err)
			}
			rep, err := baseline.EvaluateConfig(context.Background(), p, s.text)
			if err != nil {
				t.Fatal(err)
			}
			if !rep.RequirementsMet {
				t.Fatalf("requirements not met: %v", rep.Requirements)
			}
			for id := range s.expectFail {
				if !slices.ContainsFunc(p.Checks, func(c baseline.Check) bool { return c.ID == id }) {
					t.Errorf("expect-fail names unknown check %s", id)
				}
			}
			manual := manualChecks(p)
			for _, c := range rep.Checks {
				want := baseline.Passed
				if s.expectFail[c.ID] {
					want = baseline.Failed
				}
				if manual[c.ID] {
					want = baseline.Manual // decided by an assessor, never by the config
				}
				if c.Result != want {
					t.Errorf("check %s %q: %s, want %s\n  evidence: %s", c.ID, c.Title, c.Result, want, strings.Join(c.Evidence, "\n  "))
				}
			}
			t.Logf("%s: %d passed, %d failed, score %.1f", s.policy, rep.Passed, rep.Failed, rep.Score)
		})
		n := vendors[s.policy]
		if len(s.expectFail) == 0 {
			n[0]++
		} else {
			n[1]++
		}
		vendors[s.policy] = n
	}
	for _, name := range []string{"cisco-ios", "huawei-vrp", "h3c-comware"} {
		if n := vendors[name]; n[0] == 0 || n[1] == 0 {
			t.Errorf("%s: want a compliant and a non-compliant sample, have %v", name, n)
		}
	}
}

// TestDevicePolicyRejectsOtherVendors checks each device policy's
// requirements: a configuration of another vendor is not evaluated.
func TestDevicePolicyRejectsOtherVendors(t *testing.T) {
	files, _ := filepath.Glob("testdata/devices/*-hardened.cfg")
	for _, f := range files {
		s := loadSample(t, f)
		for _, other := range []string{"cisco-ios", "huawei-vrp"} {
			if other == s.policy {
				continue
			}
			p, err := Open(other)
			if err != nil {
				t.Fatal(err)
			}
			rep, err := baseline.EvaluateConfig(context.Background(), p, s.text)
			if err != nil {
				t.Fatal(err)
			}
			if rep.RequirementsMet {
				t.Errorf("%s: policy %s accepted a %s configuration", f, other, s.policy)
			}
		}
	}
}

// expectation is one line of a fake root's EXPECT file:
// "POLICY CHECK-ID RESULT". Checks not listed must pass.
func readExpect(t *testing.T, file string) map[string]map[string]baseline.Result {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]map[string]baseline.Result{}
	for i, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		if len(f) == 2 {
			t.Fatalf("%s:%d: want POLICY [CHECK RESULT]", file, i+1)
		}
		if out[f[0]] == nil {
			out[f[0]] = map[string]baseline.Result{}
		}
		if len(f) >= 3 {
			out[f[0]][f[1]] = baseline.Result(f[2])
		}
	}
	return out
}

// TestHostFakeRoots evaluates host, database and middleware policies on
// file trees under testdata/roots whose settings are known; each tree's
// EXPECT file lists the policies to run and the results that are not
// "passed".
func TestHostFakeRoots(t *testing.T) {
	dirs, err := filepath.Glob("testdata/roots/*")
	if err != nil || len(dirs) < 2 {
		t.Fatalf("roots: %v %v", dirs, err)
	}
	covered := map[string]bool{}
	for _, dir := range dirs {
		want := readExpect(t, filepath.Join(dir, "EXPECT"))
		names := make([]string, 0, len(want))
		for n := range want {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, name := range names {
			t.Run(filepath.Base(dir)+"/"+name, func(t *testing.T) {
				p, err := Open(name)
				if err != nil {
					t.Fatal(err)
				}
				covered[name] = true
				root, err := os.OpenRoot(filepath.Join(dir, "fs"))
				if err != nil {
					t.Fatal(err)
				}
				defer root.Close()
				rep, err := baseline.Evaluate(context.Background(), p, baseline.Options{FS: root.FS()})
				if err != nil {
					t.Fatal(err)
				}
				if !rep.RequirementsMet {
					t.Fatalf("requirements not met: %v", rep.Requirements)
				}
				for id := range want[name] {
					if !slices.ContainsFunc(p.Checks, func(c baseline.Check) bool { return c.ID == id }) {
						t.Errorf("EXPECT names unknown check %s", id)
					}
				}
				manual := manualChecks(p)
				for _, c := range rep.Checks {
					w, ok := want[name][c.ID]
					if !ok {
						w = baseline.Passed
						if manual[c.ID] {
							w = baseline.Manual
						}
					}
					if c.Result != w {
						t.Errorf("check %s %q: %s, want %s\n  evidence: %s", c.ID, c.Title, c.Result, w, strings.Join(c.Evidence, "\n  "))
					}
				}
			})
		}
	}
	for _, info := range List() {
		if info.Platform != PlatformNetwork && !covered[info.Name] {
			t.Errorf("policy %s is not run against any fake root", info.Name)
		}
	}
}

// TestHostThisMachine runs the host, database and middleware policies on
// the machine running the test. The results depend on the machine, so they
// are printed and only their shape is checked.
func TestHostThisMachine(t *testing.T) {
	root, err := os.OpenRoot("/")
	if err != nil {
		t.Skip(err)
	}
	defer root.Close()
	for _, info := range List() {
		if info.Platform == PlatformNetwork {
			continue
		}
		p, err := Open(info.Name)
		if err != nil {
			t.Fatal(err)
		}
		rep, err := baseline.Evaluate(context.Background(), p, baseline.Options{FS: root.FS()})
		if err != nil {
			t.Fatalf("%s: %v", info.Name, err)
		}
		if len(rep.Checks) != len(p.Checks) || rep.Passed+rep.Failed+rep.NotApplicable+rep.Manual != len(rep.Checks) {
			t.Errorf("%s: %d results for %d checks (%d/%d/%d/%d)", info.Name, len(rep.Checks), len(p.Checks), rep.Passed, rep.Failed, rep.NotApplicable, rep.Manual)
		}
		for _, c := range rep.Checks {
			if c.ID == "" || c.Result == "" || (rep.RequirementsMet && c.Result != baseline.Manual && len(c.Evidence) == 0) {
				t.Errorf("%s: incomplete result %+v", info.Name, c)
			}
		}
		t.Logf("%-14s requirements met=%-5v passed=%2d failed=%2d n/a=%2d score=%.1f",
			info.Name, rep.RequirementsMet, rep.Passed, rep.Failed, rep.NotApplicable, rep.Score)
		if testing.Verbose() && rep.RequirementsMet {
			for _, c := range rep.Checks {
				t.Logf("  %s %-14s %s", c.ID, c.Result, c.Title)
			}
		}
	}
}

// FuzzDevicePolicies evaluates every device policy on arbitrary
// configuration text: evaluation must not fail within the size bound, and
// every check gets exactly one result.
func FuzzDevicePolicies(f *testing.F) {
	files, _ := filepath.Glob("testdata/devices/*.cfg")
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(data))
	}
	var pols []*baseline.Policy
	for _, info := range List() {
		if info.Platform != PlatformNetwork {
			continue
		}
		p, err := Open(info.Name)
		if err != nil {
			f.Fatal(err)
		}
		pols = append(pols, p)
	}
	f.Fuzz(func(t *testing.T, cfg string) {
		for _, p := range pols {
			rep, err := baseline.EvaluateConfig(context.Background(), p, cfg)
			if err != nil {
				t.Fatalf("%s: %v", p.ID, err)
			}
			if len(rep.Checks) != len(p.Checks) {
				t.Fatalf("%s: %d results for %d checks", p.ID, len(rep.Checks), len(p.Checks))
			}
			for _, c := range rep.Checks {
				if c.Result != baseline.Passed && c.Result != baseline.Failed && c.Result != baseline.NotApplicable && c.Result != baseline.Manual {
					t.Fatalf("%s check %s: result %q", p.ID, c.ID, c.Result)
				}
			}
		}
	})
}

// BenchmarkEvaluateConfig evaluates the Cisco IOS policy on a large access
// switch configuration (the hardened sample plus 4,000 access ports).
func BenchmarkEvaluateConfig(b *testing.B) {
	data, err := os.ReadFile("testdata/devices/cisco-ios-hardened.cfg")
	if err != nil {
		b.Fatal(err)
	}
	var sb strings.Builder
	sb.Write(data)
	for i := range 4000 {
		fmt.Fprintf(&sb, "interface GigabitEthernet%d/0/%d\n description desk-%d\n switchport access vlan 20\n switchport mode access\n shutdown\n!\n", i/48+1, i%48+1, i)
	}
	cfg := sb.String()
	p, err := Open("cisco-ios")
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(cfg)))
	b.ReportAllocs()
	for b.Loop() {
		rep, err := baseline.EvaluateConfig(context.Background(), p, cfg)
		if err != nil || rep.Failed != 0 {
			b.Fatalf("%v %+v", err, rep)
		}
	}
}

// TestHardeningLoop treats the stock tree as a server before hardening and
// the hardened tree as the same server after it: the diff of each policy
// and the report's before/after figures must match what the two EXPECT
// files say about each check.
func TestHardeningLoop(t *testing.T) {
	before := readExpect(t, "testdata/roots/stock/EXPECT")
	after := readExpect(t, "testdata/roots/hardened/EXPECT")
	result := func(m map[string]map[string]baseline.Result, pol, id string, manual bool) baseline.Result {
		if r, ok := m[pol][id]; ok {
			return r
		}
		if manual {
			return baseline.Manual
		}
		return baseline.Passed
	}
	evaluate := func(root, name string, at time.Time) baseline.PolicyRun {
		p, err := Open(name)
		if err != nil {
			t.Fatal(err)
		}
		r, err := os.OpenRoot(root)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		rep, err := baseline.Evaluate(context.Background(), p, baseline.Options{FS: r.FS()})
		if err != nil {
			t.Fatal(err)
		}
		return baseline.PolicyRun{Asset: "srv-01", PolicyID: p.ID, PolicyTitle: p.Name, At: at, Report: rep}
	}
	t0 := time.Date(2026, 11, 2, 8, 0, 0, 0, time.UTC)
	var prev, cur []baseline.PolicyRun
	pols := map[string]*baseline.Policy{}
	fixes := map[string]map[string]string{}
	wantFixed := 0
	for _, name := range []string{"debian-ubuntu", "openssh", "postgresql", "mariadb-mysql", "redis", "nginx", "apache-httpd", "tomcat"} {
		p, err := Open(name)
		if err != nil {
			t.Fatal(err)
		}
		pols[p.ID] = p
		if fixes[p.ID], err = Fixes(name); err != nil {
			t.Fatal(err)
		}
		b, a := evaluate("testdata/roots/stock/fs", name, t0), evaluate("testdata/roots/hardened/fs", name, t0.Add(72*time.Hour))
		prev, cur = append(prev, b), append(cur, a)
		d := baseline.Diff(b.Report, a.Report)
		fixed := map[string]bool{}
		for _, c := range d.NewlyPassing {
			fixed[c.ID] = true
		}
		for _, c := range p.Checks {
			rb, ra := result(before, name, c.ID, c.Manual), result(after, name, c.ID, c.Manual)
			if want := rb != baseline.Passed && ra == baseline.Passed; fixed[c.ID] != want {
				t.Errorf("%s check %s: fixed=%v, EXPECT says %s -> %s", name, c.ID, fixed[c.ID], rb, ra)
			}
			if rb != baseline.Passed && ra == baseline.Passed {
				wantFixed++
			}
		}
		if len(d.NewlyFailing) != 0 {
			t.Errorf("%s: regressions %+v", name, d.NewlyFailing)
		}
		items := baseline.RemediationItems(b, p, fixes[p.ID])
		if len(items) != d.Before.Failed {
			t.Errorf("%s: %d remediation items for %d failures", name, len(items), d.Before.Failed)
		}
	}
	doc, err := baseline.ReportDocument(baseline.Assessment{Tenant: "Example Co", Lang: "zh-CN", GeneratedAt: t0.Add(73 * time.Hour),
		Runs: cur, Previous: prev, History: append(append([]baseline.PolicyRun(nil), prev...), cur...), Policies: pols, Fixes: fixes})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range doc.Summary {
		if f.Label == "较上次已整改" && f.Value != strconv.Itoa(wantFixed) {
			t.Errorf("report says %s fixed, EXPECT files say %d", f.Value, wantFixed)
		}
	}
	t.Logf("hardening round: %d checks fixed; summary %+v", wantFixed, doc.Summary)
}
