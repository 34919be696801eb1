package baseline

import (
	"strings"
	"testing"
)

func TestParseRule(t *testing.T) {
	tests := []struct {
		in      string
		typ     RuleType
		negate  bool
		targets []string
		content int // number of content terms
		file    bool
		wantErr string
	}{
		{in: "f:/etc/passwd", typ: RuleFile, targets: []string{"/etc/passwd"}},
		{in: `f:/etc/ssh/sshd_config -> !r:^# && n:^\s*Port\s+(\d+) compare > 1024`, typ: RuleFile, targets: []string{"/etc/ssh/sshd_config"}, content: 2},
		{in: "f:/etc/a,/etc/b -> r:x", typ: RuleFile, targets: []string{"/etc/a", "/etc/b"}, content: 1},
		{in: `not c:mount -> r:\s/tmp\s && !r:noexec`, typ: RuleCommand, negate: true, targets: []string{"mount"}, content: 2},
		{in: `d:/etc/audit/rules.d -> r:\.rules$ -> r:^-w && r:/etc/shadow`, typ: RuleDirectory, targets: []string{"/etc/audit/rules.d"}, file: true, content: 2},
		{in: "d:/etc/cron.d", typ: RuleDirectory, targets: []string{"/etc/cron.d"}},
		{in: "p:sshd", typ: RuleProcess, targets: []string{"sshd"}},
		{in: `r:HKEY_LOCAL_MACHINE\SOFTWARE\Policies -> Value -> 1`, typ: RuleRegistry, targets: []string{`HKEY_LOCAL_MACHINE\SOFTWARE\Policies`}, content: 1},
		{in: "x:/etc", wantErr: "unknown rule type"},
		{in: "/etc/passwd", wantErr: "missing type prefix"},
		{in: "f:/etc/a -> n:Port (\\d+) compare ~ 3", wantErr: "operator"},
		{in: "f:/etc/a -> n:Port \\d+ compare > 3", wantErr: "no capture group"},
		{in: "f:/etc/a -> n:Port (\\d+)", wantErr: "compare"},
		{in: `f:/etc/a -> r:(a)\1`, wantErr: "back-reference"},
		{in: "f:/etc/a -> r:x -> r:y", wantErr: "at most 2"},
		{in: "p:a -> b", wantErr: "no '->'"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			r, err := ParseRule(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if r.Type != tt.typ || r.Negate != tt.negate || len(r.Content) != tt.content || (r.FileName != nil) != tt.file {
				t.Errorf("got type=%s negate=%v content=%d file=%v", r.Type, r.Negate, len(r.Content), r.FileName != nil)
			}
			if strings.Join(r.Targets, "|") != strings.Join(tt.targets, "|") {
				t.Errorf("targets = %q, want %q", r.Targets, tt.targets)
			}
		})
	}
}

func TestNumericPattern(t *testing.T) {
	r, err := ParseRule(`f:/x -> n:^\s*\t*Port\s*\t*(\d+) compare > 1024`)
	if err != nil {
		t.Fatal(err)
	}
	for line, want := range map[string]bool{
		"Port 2222":  true,
		"Port 22":    false,
		"  Port\t80": false,
		"#Port 2222": false,
		"Port":       false,
	} {
		if got := r.Content.Match(line); got != want {
			t.Errorf("%q: got %v, want %v", line, got, want)
		}
	}
}

func TestTranslateRegex(t *testing.T) {
	tests := []struct {
		in      string
		match   []string
		noMatch []string
		wantErr string
	}{
		{in: `^\w+$`, match: []string{"a-b@c_d"}, noMatch: []string{"a b", "a.b"}},
		{in: `^\d\d$`, match: []string{"42"}, noMatch: []string{"4a"}},
		{in: `12\.`, match: []string{"12.1"}, noMatch: []string{"1201"}},
		{in: `^[\w@-]+$`, match: []string{"rw-@"}, noMatch: []string{"r w"}},
		{in: `\<array`, match: []string{"<array>"}, noMatch: []string{"array"}},
		{in: `a\pb`, match: []string{"a:b", "a(b"}, noMatch: []string{"axb"}},
		{in: `^\h*x\H`, match: []string{" \txy"}, noMatch: []string{"x "}},
		{in: `^\s*#`, match: []string{"  # c"}},
		{in: `[]a]`, match: []string{"]"}},
		{in: `[[:digit:]]+`, match: []string{"7"}},
		{in: `(?i)permitrootlogin`, match: []string{"PermitRootLogin no"}},
		{in: `(a)\1`, wantErr: "back-reference"},
		{in: `a(?=b)`, wantErr: "look-around"},
		{in: `a(?<!b)`, wantErr: "look-around"},
		{in: `[^\W]`, wantErr: "inside a character class"},
		{in: `\q`, wantErr: "unsupported escape"},
		{in: `a*+`, wantErr: "does not compile"},
		{in: `[abc`, wantErr: "unterminated"},
		{in: `abc\`, wantErr: "trailing backslash"},
	}
	for _, tt := range tests {
		re, err := TranslateRegex(tt.in)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("%q: err = %v, want containing %q", tt.in, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", tt.in, err)
			continue
		}
		for _, s := range tt.match {
			if !re.MatchString(s) {
				t.Errorf("%q (as %s) should match %q", tt.in, re, s)
			}
		}
		for _, s := range tt.noMatch {
			if re.MatchString(s) {
				t.Errorf("%q (as %s) should not match %q", tt.in, re, s)
			}
		}
	}
}

func TestSplitCommand(t *testing.T) {
	got, err := splitCommand(`stat -Lc "%n %a" /etc/passwd 'a b'`)
	if err != nil {
		t.Fatal(err)
	}
	if want := "stat|-Lc|%n %a|/etc/passwd|a b"; strings.Join(got, "|") != want {
		t.Errorf("got %q", got)
	}
	for _, bad := range []string{"ls | grep x", "echo $(id)", "a; b", `"open`, ""} {
		if _, err := splitCommand(bad); err == nil {
			t.Errorf("%q: want error", bad)
		}
	}
}

func FuzzParseRule(f *testing.F) {
	f.Add(`f:/etc/ssh/sshd_config -> !r:^# && n:^Port\s+(\d+) compare > 1024`)
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseRule(s)
		if err != nil {
			return
		}
		if len(r.Targets) == 0 && r.Type != RuleProcess && r.Type != RuleCommand && r.Type != RuleRegistry {
			t.Fatalf("%q: parsed without targets", s)
		}
		for _, p := range r.Content {
			_ = p.Match(s)
		}
		for _, p := range r.FileName {
			_ = p.Match(s)
		}
	})
}

func FuzzTranslateRegex(f *testing.F) {
	for _, s := range []string{`^\s*\t*Port\s*\t*(\d+)`, `[\w@-]+`, `\<array`, `(?i)a|b`, `[]a]`, `\p\W\D`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		re, err := TranslateRegex(s)
		if err == nil {
			_ = re.MatchString(s)
		}
	})
}
