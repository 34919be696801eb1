package baseline

import (
	"context"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
)

// The blocks view, worked by hand from its definition in ConfigBlocks.
func TestConfigBlocks(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"ios", "!\nhostname r1\n!\ninterface Gi0/1\n description up\n ip address 10.0.0.1 255.255.255.0\n!\ninterface Gi0/2\n!\nline vty 0 4\n exec-timeout 5 0\n transport input ssh\nend\n",
			"hostname r1\ninterface Gi0/1\tdescription up\tip address 10.0.0.1 255.255.255.0\ninterface Gi0/2\nline vty 0 4\texec-timeout 5 0\ttransport input ssh\nend\n"},
		{"vrp global commands are blocks of their own", "#\n sysname S1\n#\n telnet server enable\n http server enable\n#\naaa\n local-user a password irreversible-cipher x\n#\nreturn\n",
			"sysname S1\ntelnet server enable\nhttp server enable\naaa\tlocal-user a password irreversible-cipher x\nreturn\n"},
		{"nested children are flattened in order", "policy-map P\n class C\n  police 8000\n", "policy-map P\tclass C\tpolice 8000\n"},
		{"indented comment does not end a block", "router bgp 1\n ! note\n neighbor 1.1.1.1 remote-as 2\n", "router bgp 1\tneighbor 1.1.1.1 remote-as 2\n"},
		{"CRLF, trailing blanks and tabs", "line vty 0 4\r\n\ttransport input ssh  \r\n", "line vty 0 4\ttransport input ssh\n"},
		{"tab inside a line becomes a space", "banner motd x\ty\n", "banner motd x y\n"},
		{"empty", "", ""},
		{"comments only", "!\n# x\n!! y\n", ""},
	}
	for _, tt := range tests {
		got, err := ConfigBlocks(tt.in)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tt.name, diff)
		}
	}
}

func TestConfigBlocksBounds(t *testing.T) {
	if _, err := ConfigBlocks(strings.Repeat("x", MaxConfigBytes+1)); !errors.Is(err, ErrConfigTooLarge) {
		t.Errorf("oversized config: %v", err)
	}
	long := "interface Gi0/1\n" + strings.Repeat(" description "+strings.Repeat("y", 1000)+"\n", 200)
	got, err := ConfigBlocks(long)
	if err != nil {
		t.Fatal(err)
	}
	if l := len(strings.TrimSuffix(got, "\n")); l > MaxBlockBytes || !strings.HasPrefix(got, "interface Gi0/1\t") {
		t.Errorf("long block is %d bytes", l)
	}
	p := &Policy{ID: "x"}
	if _, err := EvaluateConfig(context.Background(), p, strings.Repeat("x", MaxConfigBytes+1)); !errors.Is(err, ErrConfigTooLarge) {
		t.Errorf("EvaluateConfig oversized: %v", err)
	}
}

func TestEvaluateConfigRules(t *testing.T) {
	const pol = `
policy:
  id: dev
checks:
  - id: a
    title: vty ssh only
    condition: none
    rules:
      - 'f:/running-config.blocks -> r:^line vty && !r:\ttransport input ssh(\t|$)'
  - id: b
    title: password encryption
    condition: all
    rules:
      - 'f:/running-config -> r:^service password-encryption'
  - id: c
    title: commands do not run on a config
    condition: all
    rules:
      - 'c:show version -> r:IOS'
`
	p, err := Parse([]byte(pol), "dev.yml")
	if err != nil || len(p.Problems) > 0 {
		t.Fatal(err, p.Problems)
	}
	cfg := "hostname r\nline vty 0 4\n transport input ssh\nline vty 5 15\n transport input telnet ssh\n"
	rep, err := EvaluateConfig(context.Background(), p, cfg)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]Result{}
	for _, c := range rep.Checks {
		got[c.ID] = c.Result
	}
	want := map[string]Result{"a": Failed, "b": Failed, "c": NotApplicable}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("results (-want +got):\n%s", diff)
	}
	if ev := strings.Join(rep.Checks[0].Evidence, " "); !strings.Contains(ev, `line vty 5 15\ttransport input telnet ssh`) {
		t.Errorf("evidence should quote the offending block: %s", ev)
	}
}

func TestMaskEvidence(t *testing.T) {
	mask := func(l string) string {
		if i := strings.Index(l, "password 7 "); i >= 0 {
			return l[:i] + "password 7 <masked>"
		}
		return l
	}
	rep := &Report{Checks: []CheckResult{{Evidence: []string{
		`f:/running-config -> r:^username => true (/running-config: line "username a password 7 0822455D" matched)`,
		`f:/running-config.blocks -> r:^line vty => true (/running-config.blocks: line "line vty 0 4\tpassword 7 121A0C04\tlogin" matched)`,
		`f:/x => true (/x: line "username b password 7 0822455D0A16` + "…",
		`no quotation here`,
	}}}}
	MaskEvidence(rep, mask)
	want := []string{
		`f:/running-config -> r:^username => true (/running-config: line "username a password 7 <masked>" matched)`,
		`f:/running-config.blocks -> r:^line vty => true (/running-config.blocks: line "line vty 0 4\tpassword 7 <masked>\tlogin" matched)`,
		`f:/x => true (/x: line "<masked>"`,
		`no quotation here`,
	}
	if diff := cmp.Diff(want, rep.Checks[0].Evidence); diff != "" {
		t.Errorf("masked evidence (-want +got):\n%s", diff)
	}
	MaskEvidence(nil, mask) // no panic
}

func FuzzConfigBlocks(f *testing.F) {
	f.Add("hostname r1\n!\ninterface Gi0/1\n shutdown\n")
	f.Add("#\n sysname S\n#\nuser-interface vty 0 4\n protocol inbound ssh\n#\nreturn\n")
	f.Add("\t\t\n !\n#x\n a\n\tb\r\nc\td\n")
	f.Fuzz(func(t *testing.T, in string) {
		out, err := ConfigBlocks(in)
		if err != nil {
			if len(in) <= MaxConfigBytes {
				t.Fatalf("error on %d bytes: %v", len(in), err)
			}
			return
		}
		inLines := 0
		for l := range strings.SplitSeq(in, "\n") {
			if strings.Trim(l, " \t\r") != "" { // blank as ConfigBlocks defines it
				inLines++
			}
		}
		if out == "" {
			return
		}
		if !strings.HasSuffix(out, "\n") {
			t.Fatalf("output %q does not end with a newline", out)
		}
		lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
		if len(lines) > inLines {
			t.Fatalf("%d blocks from %d lines", len(lines), inLines)
		}
		for _, l := range lines {
			if l == "" || len(l) > MaxBlockBytes+1 || strings.HasPrefix(l, "\t") {
				t.Fatalf("bad block line %q", l)
			}
			if utf8.ValidString(in) && !utf8.ValidString(l) && len(l) < MaxBlockBytes {
				t.Fatalf("invalid UTF-8 from valid input: %q", l)
			}
		}
	})
}

func FuzzMaskEvidence(f *testing.F) {
	f.Add(`x (line "a\tb" matched) line "c`)
	f.Add(`line "\xff" line "`)
	f.Fuzz(func(t *testing.T, ev string) {
		rep := &Report{Checks: []CheckResult{{Evidence: []string{ev}}}}
		MaskEvidence(rep, func(string) string { return "M" })
		got := rep.Checks[0].Evidence[0]
		if !strings.Contains(ev, quotedLineMarker) && got != ev {
			t.Fatalf("changed evidence without quotations: %q -> %q", ev, got)
		}
	})
}
