package cvss

import (
	"errors"
	"strings"
	"testing"
)

// Vectors and base scores from the FIRST "CVSS v3.1: Examples" document.
var v31Examples = []struct {
	name   string
	vector string
	score  float64
	sev    Severity
}{
	{"CVE-2013-1937 phpMyAdmin XSS", "CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N", 6.1, SeverityMedium},
	{"CVE-2013-0375 MySQL", "CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:C/C:L/I:L/A:N", 6.4, SeverityMedium},
	{"CVE-2014-3566 POODLE", "CVSS:3.1/AV:N/AC:H/PR:N/UI:R/S:U/C:L/I:N/A:N", 3.1, SeverityLow},
	{"CVE-2012-1516 VMware", "CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:C/C:H/I:H/A:H", 9.9, SeverityCritical},
	{"CVE-2009-0783 Tomcat", "CVSS:3.1/AV:L/AC:L/PR:H/UI:N/S:U/C:L/I:L/A:L", 4.2, SeverityMedium},
	{"CVE-2012-0384 Cisco IOS", "CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H", 8.8, SeverityHigh},
	{"CVE-2015-1098 iWork", "CVSS:3.1/AV:L/AC:L/PR:N/UI:R/S:U/C:H/I:H/A:H", 7.8, SeverityHigh},
	{"CVE-2014-0160 Heartbleed", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N", 7.5, SeverityHigh},
	{"CVE-2014-6271 Shellshock", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 9.8, SeverityCritical},
	{"CVE-2008-1447 DNS", "CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:C/C:N/I:H/A:N", 6.8, SeverityMedium},
	{"CVE-2014-2005 Sophos", "CVSS:3.1/AV:P/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 6.8, SeverityMedium},
	{"CVE-2010-0467 Joomla", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:L/I:N/A:N", 5.8, SeverityMedium},
	{"CVE-2014-9253 Default Theme XSS", "CVSS:3.1/AV:N/AC:L/PR:L/UI:R/S:C/C:L/I:L/A:N", 5.4, SeverityMedium},
	{"CVE-2004-0230 TCP RST", "CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:N/I:N/A:L", 3.7, SeverityLow},
	{"CVE-2016-0128 Badlock", "CVSS:3.1/AV:N/AC:H/PR:N/UI:R/S:U/C:H/I:H/A:N", 6.8, SeverityMedium},
	{"CVE-2014-0224 OpenSSL CCS", "CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:H/A:N", 7.4, SeverityHigh},
	{"CVE-2012-5376 Chrome IPC", "CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:H/I:H/A:H", 9.6, SeverityCritical},
}

func TestV31Examples(t *testing.T) {
	for _, tc := range v31Examples {
		t.Run(tc.name, func(t *testing.T) {
			v, err := ParseV31(tc.vector)
			if err != nil {
				t.Fatal(err)
			}
			if got := v.BaseScore(); got != tc.score {
				t.Errorf("BaseScore = %v, want %v", got, tc.score)
			}
			if got := Rating(v.BaseScore()); got != tc.sev {
				t.Errorf("Rating = %v, want %v", got, tc.sev)
			}
			// With no temporal metric the temporal score equals the base
			// score; so does the environmental score when scope is
			// unchanged (with scope changed its formula uses different
			// constants, section 7.3).
			if v.TemporalScore() != tc.score || (v.Metric("S") == 'U' && v.EnvironmentalScore() != tc.score) {
				t.Errorf("temporal %v / environmental %v differ from base %v", v.TemporalScore(), v.EnvironmentalScore(), tc.score)
			}
			s, sev, ok, err := Parse(tc.vector)
			if err != nil || !ok || s != tc.score || sev != tc.sev {
				t.Errorf("Parse = %v %v %v %v", s, sev, ok, err)
			}
		})
	}
}

// The Roundup examples from Appendix A of the v3.1 specification.
func TestRoundup(t *testing.T) {
	for in, want := range map[float64]float64{4.02: 4.1, 4.00: 4.0, 4.000001: 4.0} {
		if got := roundup(in); got != want {
			t.Errorf("roundup(%v) = %v, want %v", in, got, want)
		}
	}
}

func TestV31ExplicitNotDefined(t *testing.T) {
	// Temporal and environmental metrics set to X must not change scores.
	v, err := ParseV31("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/E:X/RL:X/RC:X/CR:X/IR:X/AR:X/MAV:X/MAC:X/MPR:X/MUI:X/MS:X/MC:X/MI:X/MA:X")
	if err != nil {
		t.Fatal(err)
	}
	if v.BaseScore() != 9.8 || v.TemporalScore() != 9.8 || v.EnvironmentalScore() != 9.8 {
		t.Errorf("scores %v %v %v, want 9.8", v.BaseScore(), v.TemporalScore(), v.EnvironmentalScore())
	}
	// Modified metrics equal to the base ones reproduce the base score.
	m, err := ParseV31("CVSS:3.1/AV:N/AC:H/PR:N/UI:R/S:U/C:H/I:H/A:N/MAV:N/MAC:H/MPR:N/MUI:R/MS:U/MC:H/MI:H/MA:N")
	if err != nil {
		t.Fatal(err)
	}
	if m.EnvironmentalScore() != 6.8 {
		t.Errorf("environmental = %v, want 6.8", m.EnvironmentalScore())
	}
}

// Base scores from the FIRST "CVSS v3.0: Examples" document.
func TestV30Examples(t *testing.T) {
	for vector, want := range map[string]float64{
		"CVSS:3.0/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N": 6.1,
		"CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N": 7.5,
		"CVSS:3.0/AV:N/AC:L/PR:L/UI:N/S:C/C:H/I:H/A:H": 9.9,
	} {
		s, _, ok, err := Parse(vector)
		if err != nil || !ok || s != want {
			t.Errorf("Parse(%q) = %v %v %v, want %v", vector, s, ok, err, want)
		}
	}
}

func TestRating(t *testing.T) {
	for _, tc := range []struct {
		s    float64
		want Severity
	}{{0, SeverityNone}, {0.1, SeverityLow}, {3.9, SeverityLow}, {4.0, SeverityMedium}, {6.9, SeverityMedium}, {7.0, SeverityHigh}, {8.9, SeverityHigh}, {9.0, SeverityCritical}, {10, SeverityCritical}} {
		if got := Rating(tc.s); got != tc.want {
			t.Errorf("Rating(%v) = %v, want %v", tc.s, got, tc.want)
		}
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct {
		vector, want string
	}{
		{"AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", "no supported prefix"},
		{"CVSS:3.1AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", "must start with"},
		{"CVSS:2.0/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", "no supported prefix"},
		{"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H", "missing mandatory metric(s) A"},
		{"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/XX:Y", `unknown metric "XX"`},
		{"CVSS:3.1/AV:N/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", `duplicate metric "AV"`},
		{"CVSS:3.1/AC:L/AV:N/PR:N/UI:N/S:U/C:H/I:H/A:H", `"AV" is out of order`},
		{"CVSS:3.1/AV:Q/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", "invalid value"},
		{"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/", "not NAME:VALUE"},
		{"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:HH", "invalid value"},
		{"CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N", "missing mandatory metric(s) SA"},
		{"CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SA:N/SI:N", "out of order"},
		{"CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N/U:Purple", "invalid value"},
	} {
		_, _, _, err := Parse(tc.vector)
		if err == nil || !errors.Is(err, ErrInvalidVector) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Parse(%q) error = %v, want one containing %q", tc.vector, err, tc.want)
		}
	}
}

// Vectors from the CVSS v4.0 specification and examples documents.
func TestParseV40(t *testing.T) {
	for _, s := range []string{
		"CVSS:4.0/AV:N/AC:L/AT:N/PR:H/UI:N/VC:L/VI:L/VA:N/SC:N/SI:N/SA:N",
		"CVSS:4.0/AV:A/AC:H/AT:P/PR:L/UI:P/VC:H/VI:H/VA:H/SC:L/SI:L/SA:L/E:A/MAV:A/AU:N/R:A/V:D/RE:L/U:Red",
		"CVSS:4.0/AV:L/AC:L/AT:N/PR:N/UI:A/VC:L/VI:N/VA:N/SC:N/SI:N/SA:N/CR:L/IR:X/AR:L/RE:H/U:Clear",
	} {
		v, err := ParseV40(s)
		if err != nil {
			t.Errorf("ParseV40(%q): %v", s, err)
			continue
		}
		if v.String() != s || v.Metric("AV") == 'X' {
			t.Errorf("round trip %q -> %q", s, v.String())
		}
		if _, _, ok, err := Parse(s); ok || err != nil {
			t.Errorf("Parse(%q) = ok %v, err %v; want unscored, nil", s, ok, err)
		}
	}
}

func FuzzParseV31(f *testing.F) {
	for _, tc := range v31Examples {
		f.Add(tc.vector)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := ParseV31(s)
		if err != nil {
			return
		}
		for _, score := range []float64{v.BaseScore(), v.TemporalScore(), v.EnvironmentalScore()} {
			if score < 0 || score > 10 {
				t.Fatalf("%q scored %v", s, score)
			}
		}
	})
}

func FuzzParseV40(f *testing.F) {
	f.Add("CVSS:4.0/AV:N/AC:L/AT:N/PR:H/UI:N/VC:L/VI:L/VA:N/SC:N/SI:N/SA:N")
	f.Fuzz(func(t *testing.T, s string) {
		v, err := ParseV40(s)
		if err == nil && v.String() != s {
			t.Fatalf("String() = %q, want %q", v.String(), s)
		}
	})
}
