package baseline

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fakeRoot builds a host filesystem under t.TempDir() from path → content.
func fakeRoot(t *testing.T, files map[string]string) *os.Root {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o750); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = root.Close() })
	return root
}

const testPolicy = `
policy:
  id: "test_debian"
  name: "Test policy"
  description: "Corpus-style checks against a fake root."
  references: "https://example.invalid/"
requirements:
  name: "Debian"
  description: "Debian 12 only."
  condition: all
  rules:
    - 'f:/etc/debian_version -> r:12\.'
    - 'f:/etc/os-release -> r:NAME= && r:Debian'
variables:
  $sshd_file: /etc/ssh/sshd_config
checks:
  - id: 1
    title: "Ensure SSH root login is disabled."
    remediation: "Set PermitRootLogin no."
    compliance:
      cis: ["5.2.7"]
    condition: all
    rules:
      - 'f:$sshd_file -> !r:^\s*\t*# && r:PermitRootLogin\s+no'
  - id: 2
    title: "Ensure SSH MaxAuthTries is 4 or less."
    condition: all
    rules:
      - 'f:$sshd_file -> n:^\s*\t*MaxAuthTries\s*\t*(\d+) compare <= 4'
  - id: 3
    title: "Ensure /tmp is noexec."
    condition: none
    rules:
      - 'f:/etc/fstab -> r:\s/tmp\s && !r:noexec'
  - id: 4
    title: "Ensure audit rules watch /etc/shadow."
    condition: all
    rules:
      - 'd:/etc/audit/rules.d -> r:\.rules$ -> r:^-w && r:/etc/shadow && r:-p wa'
  - id: 5
    title: "Ensure telnet server is not running."
    condition: none
    rules:
      - 'p:in.telnetd'
  - id: 6
    title: "Ensure sshd is running."
    condition: any
    rules:
      - 'p:/usr/sbin/sshd'
      - 'p:dropbear'
  - id: 7
    title: "Command rule is not run by default."
    condition: all
    rules:
      - 'c:findmnt -kn /tmp -> r:^\s*/tmp\s'
  - id: 8
    title: "Registry rule is not applicable here."
    condition: all
    rules:
      - 'r:HKEY_LOCAL_MACHINE\SOFTWARE\Policies -> Value -> 1'
  - id: 9
    title: "Ensure nis is absent."
    condition: all
    rules:
      - 'not f:/etc/yp.conf'
      - 'not d:/var/yp'
`

func TestEvaluateFakeRoot(t *testing.T) {
	root := fakeRoot(t, map[string]string{
		"etc/debian_version":         "12.5\n",
		"etc/os-release":             "PRETTY_NAME=\"Debian GNU/Linux 12\"\nNAME=\"Debian GNU/Linux\"\n",
		"etc/ssh/sshd_config":        "# PermitRootLogin no\nPermitRootLogin yes\nMaxAuthTries 3\n",
		"etc/fstab":                  "UUID=1 / ext4 defaults 0 1\ntmpfs /tmp tmpfs defaults,nosuid 0 0\n",
		"etc/audit/rules.d/a.rules":  "-w /etc/shadow -p wa -k identity\n",
		"etc/audit/rules.d/README":   "-w /etc/shadow -p wa\n",
		"proc/1/comm":                "systemd\n",
		"proc/1/cmdline":             "/sbin/init\x00splash\x00",
		"proc/812/comm":              "sshd\n",
		"proc/812/cmdline":           "/usr/sbin/sshd\x00-D\x00",
		"proc/self/comm":             "ignored\n",
		"var/lib/placeholder/.keep":  "",
		"etc/audit/rules.d/b.rules~": "",
	})
	p, err := Parse([]byte(testPolicy), "test.yml")
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Problems) > 0 {
		t.Fatalf("problems: %v", p.Problems)
	}
	if len(p.Checks) != 9 || p.Rules != 13 || p.References[0] != "https://example.invalid/" || p.Checks[0].Compliance["cis"][0] != "5.2.7" {
		t.Fatalf("loaded %d checks, %d rules, refs %q", len(p.Checks), p.Rules, p.References)
	}
	rep, err := Evaluate(context.Background(), p, Options{FS: root.FS()})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.RequirementsMet {
		t.Fatalf("requirements not met: %v", rep.Requirements)
	}
	want := map[string]Result{
		"1": Failed, "2": Passed, "3": Failed, "4": Passed, "5": Passed,
		"6": Passed, "7": NotApplicable, "8": NotApplicable, "9": Passed,
	}
	for _, c := range rep.Checks {
		if c.Result != want[c.ID] {
			t.Errorf("check %s %q: %s, want %s; evidence %q", c.ID, c.Title, c.Result, want[c.ID], c.Evidence)
		}
	}
	if rep.Passed != 5 || rep.Failed != 2 || rep.NotApplicable != 2 {
		t.Errorf("counts %d/%d/%d", rep.Passed, rep.Failed, rep.NotApplicable)
	}
	if rep.Score < 71.4 || rep.Score > 71.5 {
		t.Errorf("score %.2f, want 5/7", rep.Score)
	}
	ev := strings.Join(rep.Checks[6].Evidence, "\n")
	if !strings.Contains(ev, "not run") {
		t.Errorf("command evidence %q should say not run", ev)
	}
	ev = strings.Join(rep.Checks[2].Evidence, "\n")
	if !strings.Contains(ev, "tmpfs /tmp") {
		t.Errorf("fstab evidence %q should quote the matching line", ev)
	}
}

func TestRequirementsNotMet(t *testing.T) {
	root := fakeRoot(t, map[string]string{"etc/debian_version": "11.9\n"})
	p, err := Parse([]byte(testPolicy), "test.yml")
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Evaluate(context.Background(), p, Options{FS: root.FS()})
	if err != nil {
		t.Fatal(err)
	}
	if rep.RequirementsMet || rep.NotApplicable != len(p.Checks) || rep.Score != 0 {
		t.Errorf("requirements met=%v, n/a=%d", rep.RequirementsMet, rep.NotApplicable)
	}
	rep, err = Evaluate(context.Background(), p, Options{FS: root.FS(), IgnoreRequirements: true})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Passed+rep.Failed == 0 {
		t.Error("IgnoreRequirements evaluated nothing")
	}
}

func TestConditions(t *testing.T) {
	root := fakeRoot(t, map[string]string{"etc/yes": "x\n"})
	const (
		yes = "f:/etc/yes"
		no  = "f:/etc/no"
		na  = `r:HKEY_LOCAL_MACHINE\X`
	)
	tests := []struct {
		cond  Condition
		rules []string
		want  Result
	}{
		{CondAll, []string{yes, yes}, Passed},
		{CondAll, []string{yes, no}, Failed},
		{CondAll, []string{yes, na}, NotApplicable},
		{CondAll, []string{na, no}, Failed},
		{CondAny, []string{no, yes}, Passed},
		{CondAny, []string{no, no}, Failed},
		{CondAny, []string{no, na}, NotApplicable},
		{CondAny, []string{na, yes}, Passed},
		{CondNone, []string{no, no}, Passed},
		{CondNone, []string{no, yes}, Failed},
		{CondNone, []string{no, na}, NotApplicable},
		{CondNone, []string{"not " + yes}, Passed},
		{CondAll, []string{"not " + na}, NotApplicable},
	}
	e := newEvaluator(Options{FS: root.FS()})
	for _, tt := range tests {
		var rules []*Rule
		for _, s := range tt.rules {
			r, err := ParseRule(s)
			if err != nil {
				t.Fatal(err)
			}
			rules = append(rules, r)
		}
		if got, ev := e.condition(context.Background(), tt.cond, rules); got != tt.want {
			t.Errorf("%s %q: %s, want %s (%q)", tt.cond, tt.rules, got, tt.want, ev)
		}
	}
}

func TestCommandRule(t *testing.T) {
	if _, err := os.Stat("/bin/echo"); err != nil {
		t.Skip("no /bin/echo")
	}
	root := fakeRoot(t, nil)
	r, err := ParseRule("c:/bin/echo 'hello world' -> r:^hello\\s+world$")
	if err != nil {
		t.Fatal(err)
	}
	e := newEvaluator(Options{FS: root.FS(), AllowCommands: true, MaxOutputBytes: 5})
	if st, ev := e.rule(context.Background(), r); st != ruleFalse {
		t.Errorf("capped output should not match: %v %s", st, ev)
	}
	e = newEvaluator(Options{FS: root.FS(), AllowCommands: true})
	if st, ev := e.rule(context.Background(), r); st != ruleTrue {
		t.Errorf("got %v %s", st, ev)
	}
}

func TestParseProblems(t *testing.T) {
	const doc = `
policy:
  id: "p"
checks:
  - id: 1
    title: "bad regex"
    condition: all
    rules:
      - 'f:/etc/x -> r:(a)\1'
  - id: 2
    title: "bad condition"
    condition: some
    rules:
      - 'f:/etc/x'
  - id: 3
    title: "good"
    condition: any
    rules:
      - 'f:/etc/x'
`
	p, err := Parse([]byte(doc), "p.yml")
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Checks) != 1 || len(p.Problems) != 2 {
		t.Fatalf("checks %d problems %v", len(p.Checks), p.Problems)
	}
	if got := p.Problems[0].String(); !strings.HasPrefix(got, "p.yml:9 check 1: regex") {
		t.Errorf("problem = %q", got)
	}
	if _, err := Parse([]byte("checks: []"), "x.yml"); err == nil {
		t.Error("missing policy id should be an error")
	}
}
