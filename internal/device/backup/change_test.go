package backup

import (
	"strings"
	"testing"
)

// TestChangeRuleExamples checks every profile's configuration-change
// examples: each line is recognised and gives the user written beside it,
// and lines that are not changes are not taken for one.
func TestChangeRuleExamples(t *testing.T) {
	ps, err := Builtin()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for name, p := range ps {
		for _, r := range p.ConfigChanges {
			if len(r.Examples) == 0 {
				t.Errorf("%s: config change rule %q has no example", name, r.Match)
			}
			for _, ex := range r.Examples {
				n++
				user, ok := p.MatchChange(ex.Line)
				if !ok || user != ex.User {
					t.Errorf("%s: %q: got (%q, %v), want (%q, true)", name, ex.Line, user, ok, ex.User)
				}
			}
		}
		for _, line := range []string{
			"%LINK-3-UPDOWN: Interface GigabitEthernet0/1, changed state to up",
			`logid="0100032001" type="event" subtype="system" user="admin" action="login" status="success"`,
			"%%10SHELL/5/SHELL_LOGIN: admin logged in from 10.1.1.1.",
			"1,2026/11/02 09:20:11,013201001234,TRAFFIC,end,1,2026/11/02 09:20:11,10.0.0.1,10.0.0.2",
		} {
			if _, ok := p.MatchChange(line); ok {
				t.Errorf("%s takes %q for a configuration change", name, line)
			}
		}
	}
	if n < 8 {
		t.Fatalf("only %d change examples across the profiles", n)
	}
}

// TestChangeRuleRefusals checks that a profile with a bad change rule or
// trap mapping does not load.
func TestChangeRuleRefusals(t *testing.T) {
	base := "name: x\nvendor: X\nsupport: minimal\nprompt: '^x#$'\nshow_config: show\n"
	for _, tc := range []string{
		"config_changes:\n  - match: '('\n",
		"config_changes:\n  - match: ''\n",
		"config_changes:\n  - {match: 'CHG', user: 'no group'}\n",
		"traps:\n  - {oid: 'not.an.oid', name: x}\n",
		"traps:\n  - {oid: 1.3.6.1.4.1.9.9.43.2.0.1, name: ''}\n",
		"traps:\n  - {oid: 1.3.6.1.4.1.9.9.43.2.0.1, name: x, severity: urgent}\n",
	} {
		if _, err := ParseProfile([]byte(base + tc)); err == nil {
			t.Errorf("accepted %q", tc)
		}
	}
	if _, err := ParseProfile([]byte(base + "traps:\n  - {oid: 1.3.6.1.4.1.9.9.43.2.0.1, name: ok, severity: low, alert: true}\n")); err != nil {
		t.Fatal(err)
	}
}

// FuzzMatchChange runs arbitrary log lines through every profile's
// configuration-change rules: no panic, and a user found is part of the
// line and holds no line break.
func FuzzMatchChange(f *testing.F) {
	ps, err := Builtin()
	if err != nil {
		f.Fatal(err)
	}
	for _, p := range ps {
		for _, r := range p.ConfigChanges {
			for _, ex := range r.Examples {
				f.Add(ex.Line)
			}
		}
	}
	f.Add("%SYS-5-CONFIG_I: Configured from console by \x00\xff<script> on vty0")
	f.Add(`logid="0100044547" user="` + "\u202e" + `evil"`)
	f.Fuzz(func(t *testing.T, line string) {
		if len(line) > 64<<10 {
			return
		}
		for name, p := range ps {
			user, ok := p.MatchChange(line)
			if !ok && user != "" {
				t.Fatalf("%s: a user %q without a match", name, user)
			}
			if user != "" && (!strings.Contains(line, user) || strings.ContainsAny(user, "\r\n")) {
				t.Fatalf("%s: user %q is not a piece of the line %q", name, user, line)
			}
		}
	})
}
