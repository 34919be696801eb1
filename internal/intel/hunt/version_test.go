package hunt

import (
	"errors"
	"math/rand/v2"
	"os/exec"
	"strings"
	"testing"
)

// TestDottedSemverPrecedence checks the worked example of Semantic
// Versioning 2.0.0, section 11: each version precedes the next.
func TestDottedSemverPrecedence(t *testing.T) {
	order := []string{"1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta", "1.0.0-beta.2",
		"1.0.0-beta.11", "1.0.0-rc.1", "1.0.0", "2.0.0", "2.1.0", "2.1.1"}
	for i := range order {
		for j := range order {
			c, err := CompareVersions(SchemeDotted, order[i], order[j])
			if err != nil {
				t.Fatal(err)
			}
			want := sign(i - j)
			if c != want {
				t.Errorf("compare(%s, %s) = %d, want %d", order[i], order[j], c, want)
			}
		}
	}
	// Build metadata is ignored (section 10); a missing part is 0.
	for _, eq := range [][2]string{{"1.0.0+20130313144700", "1.0.0"}, {"v1.2", "1.2.0"}, {"1.2.10", "1.2.010"}} {
		if c, _ := CompareVersions(SchemeDotted, eq[0], eq[1]); c != 0 {
			t.Errorf("%s and %s differ (%d)", eq[0], eq[1], c)
		}
	}
}

// dpkgCompare asks dpkg whether a < b, a = b or a > b.
func dpkgCompare(t *testing.T, dpkg, a, b string) int {
	t.Helper()
	for _, c := range []struct {
		op string
		r  int
	}{{"lt", -1}, {"eq", 0}, {"gt", 1}} {
		err := exec.Command(dpkg, "--compare-versions", a, c.op, b).Run() // #nosec G204 -- fixed program, generated versions
		if err == nil {
			return c.r
		}
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			t.Fatal(err)
		}
	}
	t.Fatalf("dpkg has no order for %q and %q", a, b)
	return 0
}

// TestDebianAgainstDpkg compares generated Debian versions with
// dpkg --compare-versions as the oracle.
func TestDebianAgainstDpkg(t *testing.T) {
	dpkg, err := exec.LookPath("dpkg")
	if err != nil {
		t.Skip("dpkg not installed")
	}
	rng := rand.New(rand.NewPCG(1, 2))
	pieces := []string{"0", "1", "2", "10", "01", "9", "a", "b", "z", "A", "~", "~~", ".", "+", "rc1", "~rc1", "beta", "1.0", "dfsg"}
	gen := func() string {
		var b strings.Builder
		if rng.IntN(4) == 0 {
			b.WriteString([]string{"0:", "1:", "2:"}[rng.IntN(3)])
		}
		b.WriteString([]string{"0", "1", "2", "10"}[rng.IntN(4)])
		for range rng.IntN(4) {
			b.WriteString(pieces[rng.IntN(len(pieces))])
		}
		if rng.IntN(2) == 0 {
			b.WriteString("-" + []string{"1", "0ubuntu1", "1~bpo1", "2+deb12u1", "1.1"}[rng.IntN(5)])
		}
		return b.String()
	}
	n := 150
	if testing.Short() {
		n = 30
	}
	// Documented cases of the Debian Policy Manual (5.6.12) first.
	pairs := [][2]string{{"1.0~rc1", "1.0"}, {"1:1.0", "2.0"}, {"1.0-1", "1.0-1~bpo1"}, {"2.30-1", "2.4-1"}, {"1.0a", "1.0+"}, {"1.0", "1.0-0"}}
	for range n {
		pairs = append(pairs, [2]string{gen(), gen()})
	}
	for _, p := range pairs {
		got, err := CompareVersions(SchemeDebian, p[0], p[1])
		if err != nil {
			t.Errorf("%q vs %q: %v", p[0], p[1], err)
			continue
		}
		if want := dpkgCompare(t, dpkg, p[0], p[1]); got != want {
			t.Errorf("compare(%q, %q) = %d, dpkg says %d", p[0], p[1], got, want)
		}
	}
}

func TestRange(t *testing.T) {
	cases := []struct {
		scheme Scheme
		expr   string
		in     []string
		out    []string
	}{
		{SchemeDotted, ">=2.4.0, <2.4.58 || =2.2.34", []string{"2.4.0", "2.4.57", "2.2.34", "2.4.9"}, []string{"2.4.58", "2.3.99", "2.2.33", "2.4.0-rc1"}},
		{SchemeDotted, "*", []string{"0", "99.1"}, nil},
		{SchemeDotted, "!=1.0", []string{"1.1"}, []string{"1.0", "1.0.0"}},
		{SchemeDebian, "<1:2.0-1", []string{"1:1.9-9", "9.9"}, []string{"1:2.0-1", "2:0.1"}},
		{SchemeDebian, ">=3.0.2-0ubuntu1, <3.0.2-0ubuntu1.15", []string{"3.0.2-0ubuntu1.10"}, []string{"3.0.2-0ubuntu1.15", "3.0.1-9"}},
	}
	for _, c := range cases {
		r, err := ParseRange(c.scheme, c.expr)
		if err != nil {
			t.Fatalf("%q: %v", c.expr, err)
		}
		for _, v := range c.in {
			if ok, err := r.Contains(v); !ok || err != nil {
				t.Errorf("%q should hold %s (%v)", c.expr, v, err)
			}
		}
		for _, v := range c.out {
			if ok, err := r.Contains(v); ok || err != nil {
				t.Errorf("%q should not hold %s (%v)", c.expr, v, err)
			}
		}
	}
	for _, bad := range []string{">=", "<1.0 x", strings.Repeat("1.", 600), strings.Repeat("<1||", 20), ">=1\x00"} {
		if _, err := ParseRange(SchemeDotted, bad); !errors.Is(err, ErrBadVersion) {
			t.Errorf("%q: %v", bad, err)
		}
	}
	if _, err := ParseRange(SchemeDebian, "<a1.0"); !errors.Is(err, ErrBadVersion) {
		t.Errorf("debian version without a leading digit: %v", err)
	}
}
