package versions

import (
	"os/exec"
	"testing"
)

// debianPairs: the ordering example of Debian Policy 5.6.12
// ("~~" < "~~a" < "~" < "" < "a"), epochs and revisions, and digit runs.
var debianPairs = []struct {
	a, b string
	want int
}{
	{"1.0~~", "1.0~~a", -1},
	{"1.0~~a", "1.0~", -1},
	{"1.0~", "1.0", -1},
	{"1.0", "1.0a", -1},
	{"1:0.1", "2.0", 1},
	{"0:1.0", "1.0", 0},
	{"1.0-1", "1.0-2", -1},
	{"2.30-1", "2.3-1", 1},
	{"1.2.10", "1.2.9", 1},
	{"1.0-1", "1.0", 1},
	{"7.6p2-4", "7.6-0", 1},
	{"1.0.3-3", "1.0-1", 1},
	{"1.3", "1.2.2-2", 1},
	{"1.3", "1.2.2", 1},
	{"0-pre", "0-pre", 0},
	{"0-pre", "0-pree", -1},
	{"1.1.6r2-2", "1.1.6r-1", 1},
	{"2.6b2-1", "2.6b-2", 1},
	{"98.1p5-1", "98.1-pre2-b6-2", -1},
	{"0.4a6-2", "0.4-1", 1},
	{"1:3.0.5+dfsg-1", "1:3.0.5-1", 1},
	{"2.4.7-1+deb12u1", "2.4.7-1", 1},
	{"1.1.1n-0+deb11u5", "1.1.1w-0+deb11u1", -1},
	{"10.0.1~rc1-1", "10.0.1-1", -1},
}

func TestDebianDocumentedPairs(t *testing.T) {
	for _, p := range debianPairs {
		got, err := CompareDebian(p.a, p.b)
		if err != nil {
			t.Fatalf("CompareDebian(%q, %q): %v", p.a, p.b, err)
		}
		if got != p.want {
			t.Errorf("CompareDebian(%q, %q) = %d, want %d", p.a, p.b, got, p.want)
		}
		if back, _ := CompareDebian(p.b, p.a); back != -p.want {
			t.Errorf("CompareDebian(%q, %q) = %d, want %d", p.b, p.a, back, -p.want)
		}
	}
}

// TestDebianAgreesWithDpkg asks dpkg itself about every pair, when dpkg is
// installed.
func TestDebianAgreesWithDpkg(t *testing.T) {
	dpkg, err := exec.LookPath("dpkg")
	if err != nil {
		t.Skip("dpkg is not installed")
	}
	for _, p := range debianPairs {
		for _, op := range []struct {
			name string
			want bool
		}{{"lt", p.want < 0}, {"eq", p.want == 0}, {"gt", p.want > 0}} {
			err := exec.Command(dpkg, "--compare-versions", p.a, op.name, p.b).Run() // #nosec G204 -- fixed test table
			if got := err == nil; got != op.want {
				t.Errorf("dpkg --compare-versions %s %s %s: %v, the table says %v", p.a, op.name, p.b, got, op.want)
			}
		}
	}
}

func TestDebianInvalid(t *testing.T) {
	for _, v := range []string{"", "a1.0", "x:1.0", "1.0-", "1.0 2", "1.0\x00"} {
		if _, err := Compare(Debian, v, "1.0"); err == nil {
			t.Errorf("Compare(Debian, %q) accepted", v)
		}
	}
}

// rpmPairs are the cases of rpm's own test suite (tests/rpmvercmp.at,
// rpm.vercmp), including tilde and caret sorting.
var rpmPairs = []struct {
	a, b string
	want int
}{
	{"1.0", "1.0", 0}, {"1.0", "2.0", -1}, {"2.0", "1.0", 1},
	{"2.0.1", "2.0.1", 0}, {"2.0", "2.0.1", -1}, {"2.0.1", "2.0", 1},
	{"2.0.1a", "2.0.1a", 0}, {"2.0.1a", "2.0.1", 1}, {"2.0.1", "2.0.1a", -1},
	{"5.5p1", "5.5p1", 0}, {"5.5p1", "5.5p2", -1}, {"5.5p2", "5.5p1", 1},
	{"5.5p10", "5.5p10", 0}, {"5.5p1", "5.5p10", -1}, {"5.5p10", "5.5p1", 1},
	{"10xyz", "10.1xyz", -1}, {"10.1xyz", "10xyz", 1},
	{"xyz10", "xyz10", 0}, {"xyz10", "xyz10.1", -1}, {"xyz10.1", "xyz10", 1},
	{"xyz.4", "xyz.4", 0}, {"xyz.4", "8", -1}, {"8", "xyz.4", 1}, {"xyz.4", "2", -1}, {"2", "xyz.4", 1},
	{"5.5p2", "5.6p1", -1}, {"5.6p1", "5.5p2", 1},
	{"5.6p1", "6.5p1", -1}, {"6.5p1", "5.6p1", 1},
	{"6.0.rc1", "6.0", 1}, {"6.0", "6.0.rc1", -1},
	{"10b2", "10a1", 1}, {"10a2", "10b2", -1},
	{"1.0aa", "1.0aa", 0}, {"1.0a", "1.0aa", -1}, {"1.0aa", "1.0a", 1},
	{"10.0001", "10.0001", 0}, {"10.0001", "10.1", 0}, {"10.1", "10.0001", 0},
	{"10.0001", "10.0039", -1}, {"10.0039", "10.0001", 1},
	{"4.999.9", "5.0", -1}, {"5.0", "4.999.9", 1},
	{"20101121", "20101121", 0}, {"20101121", "20101122", -1}, {"20101122", "20101121", 1},
	{"2_0", "2_0", 0}, {"2.0", "2_0", 0}, {"2_0", "2.0", 0},
	{"a", "a", 0}, {"a+", "a+", 0}, {"a+", "a_", 0}, {"a_", "a+", 0},
	{"+a", "+a", 0}, {"+a", "_a", 0}, {"_a", "+a", 0},
	{"+_", "+_", 0}, {"_+", "+_", 0}, {"_+", "_+", 0}, {"+", "_", 0}, {"_", "+", 0},
	{"1.0~rc1", "1.0~rc1", 0}, {"1.0~rc1", "1.0", -1}, {"1.0", "1.0~rc1", 1},
	{"1.0~rc1", "1.0~rc2", -1}, {"1.0~rc2", "1.0~rc1", 1},
	{"1.0~rc1~git123", "1.0~rc1~git123", 0}, {"1.0~rc1~git123", "1.0~rc1", -1}, {"1.0~rc1", "1.0~rc1~git123", 1},
	{"1.0^", "1.0^", 0}, {"1.0^", "1.0", 1}, {"1.0", "1.0^", -1},
	{"1.0^git1", "1.0^git1", 0}, {"1.0^git1", "1.0", 1}, {"1.0", "1.0^git1", -1},
	{"1.0^git1", "1.0^git2", -1}, {"1.0^git2", "1.0^git1", 1},
	{"1.0^git1", "1.01", -1}, {"1.01", "1.0^git1", 1},
	{"1.0^20160101", "1.0.1", -1}, {"1.0.1", "1.0^20160101", 1},
	{"1.0~rc1^git1", "1.0~rc1", 1}, {"1.0~rc1", "1.0~rc1^git1", -1},
	{"1.0^git1~pre", "1.0^git1", -1}, {"1.0^git1", "1.0^git1~pre", 1},
}

func TestRpmvercmp(t *testing.T) {
	for _, p := range rpmPairs {
		if got := Rpmvercmp(p.a, p.b); got != p.want {
			t.Errorf("Rpmvercmp(%q, %q) = %d, want %d", p.a, p.b, got, p.want)
		}
	}
}

func TestCompareRPMEpochRelease(t *testing.T) {
	for _, p := range []struct {
		a, b string
		want int
	}{
		{"1:1.0-1", "2.0-1", 1},        // the epoch wins
		{"0:1.0-1", "1.0-1", 0},        // a missing epoch is 0
		{"1.0-1.el9", "1.0-2.el9", -1}, // then the release
		{"1.0", "1.0-5.el9", 0},        // a missing release is not compared
		{"3.0.7-24.el9", "3.0.7-27.el9_4", -1},
	} {
		if got := CompareRPM(p.a, p.b); got != p.want {
			t.Errorf("CompareRPM(%q, %q) = %d, want %d", p.a, p.b, got, p.want)
		}
	}
}

// TestSemverSpecPrecedence checks the precedence examples of Semantic
// Versioning 2.0.0, section 11: each version is lower than the next.
func TestSemverSpecPrecedence(t *testing.T) {
	chains := [][]string{
		{"1.0.0", "2.0.0", "2.1.0", "2.1.1"},
		{"1.0.0-alpha", "1.0.0"},
		{"1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta", "1.0.0-beta.2", "1.0.0-beta.11", "1.0.0-rc.1", "1.0.0"},
	}
	for _, c := range chains {
		for i := range c {
			for j := range c {
				got, err := CompareSemver(c[i], c[j])
				if err != nil {
					t.Fatal(err)
				}
				if want := sign(i - j); got != want {
					t.Errorf("CompareSemver(%q, %q) = %d, want %d", c[i], c[j], got, want)
				}
			}
		}
	}
	// Build metadata does not count (section 10).
	if c, err := CompareSemver("1.0.0-alpha+001", "1.0.0-alpha+exp.sha.5114f85"); err != nil || c != 0 {
		t.Errorf("build metadata changed the order: %d, %v", c, err)
	}
	for _, bad := range []string{"1.0", "01.0.0", "1.0.0-01", "1.0.0-", "1.0.0+", "1.0.0-a..b", "1.a.0"} {
		if _, err := CompareSemver(bad, "1.0.0"); err == nil {
			t.Errorf("CompareSemver accepted %q", bad)
		}
	}
}

func TestGeneric(t *testing.T) {
	for _, p := range []struct {
		a, b string
		want int
	}{
		{"2.4.49", "2.4.50", -1}, {"1.2", "1.2.0", 0}, {"v1.2.3", "1.2.3", 0},
		{"8.9p1", "8.9p2", -1}, {"8.9p1", "9.0p1", -1}, {"1.18.0", "1.9.15", 1},
		{"2.0.0rc1", "2.0.0", -1}, {"3.2.4", "3.2.10", -1}, {"1.0.0p", "1.0.0", 1}, {"1.3.6b", "1.3.6", 1}, {"2.0.0beta1", "2.0.0", -1},
	} {
		if got := CompareGeneric(p.a, p.b); got != p.want {
			t.Errorf("CompareGeneric(%q, %q) = %d, want %d", p.a, p.b, got, p.want)
		}
	}
}

func TestPEP440Letters(t *testing.T) {
	for _, p := range []struct {
		a, b string
		want int
	}{{"4.1a1", "4.1", -1}, {"4.1a1", "4.1b1", -1}, {"4.1rc1", "4.1", -1}, {"4.1a1", "4.0.9", 1}} {
		if got, err := Compare(PEP440, p.a, p.b); err != nil || got != p.want {
			t.Errorf("Compare(PEP440, %q, %q) = %d, %v; want %d", p.a, p.b, got, err, p.want)
		}
	}
}

func TestInEvents(t *testing.T) {
	evs := []Event{{Introduced: "0"}, {Fixed: "1.5"}, {Introduced: "2.0"}, {LastAffected: "2.3"}}
	for v, want := range map[string]bool{"0.1": true, "1.4.9": true, "1.5": false, "1.9": false, "2.0": true,
		"2.3": true, "2.3.1": false, "3": false} {
		got, err := InEvents(Generic, v, evs)
		if err != nil || got != want {
			t.Errorf("InEvents(%s) = %v, %v; want %v", v, got, err, want)
		}
	}
	deb := []Event{{Introduced: "0"}, {Fixed: "1:9.2p1-2+deb12u3"}}
	for v, want := range map[string]bool{"1:9.2p1-2+deb12u2": true, "1:9.2p1-2+deb12u3": false, "1:9.6p1-3": false, "9.9": true} {
		got, err := InEvents(Debian, v, deb)
		if err != nil || got != want {
			t.Errorf("InEvents(Debian, %s) = %v, %v; want %v", v, got, err, want)
		}
	}
	if _, err := InEvents(Semver, "1.0", []Event{{Introduced: "1.0.0"}}); err == nil {
		t.Error("InEvents accepted an invalid semver version")
	}
}

func TestBounds(t *testing.T) {
	b := Bounds{StartIncluding: "2.4.0", EndExcluding: "2.4.51"}
	for v, want := range map[string]bool{"2.3.9": false, "2.4.0": true, "2.4.49": true, "2.4.51": false} {
		if got, err := b.Contains(Generic, v); err != nil || got != want {
			t.Errorf("%+v.Contains(%s) = %v, %v", b, v, got, err)
		}
	}
	if got, _ := (Bounds{Exact: "1.0"}).Contains(Generic, "1.0.0"); !got {
		t.Error("exact 1.0 does not contain 1.0.0")
	}
}

func TestSchemeFor(t *testing.T) {
	for eco, want := range map[string]Scheme{"Debian:12": Debian, "Ubuntu:22.04:LTS": Debian, "Red Hat": RPM,
		"AlmaLinux:9": RPM, "npm": Semver, "Go": Semver, "PyPI": PEP440, "Packagist": Generic} {
		if got := SchemeFor(eco); got != want {
			t.Errorf("SchemeFor(%q) = %s, want %s", eco, got, want)
		}
	}
}
