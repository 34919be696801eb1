package baseline

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/vigil-sec/vigil/internal/testenv"
)

// dirTreeRoot is a host whose interesting files sit in subdirectories, with
// a symbolic link loop and a wildcard directory.
func dirTreeRoot(t *testing.T) string {
	t.Helper()
	root := fakeRoot(t, map[string]string{
		"etc/debian_version":                          "12.5\n",
		"etc/sudoers":                                 "root ALL=(ALL:ALL) ALL\n",
		"etc/sudoers.d/README":                        "# files in this directory are read by sudo\n",
		"etc/sudoers.d/team/ops":                      "Defaults use_pty\nDefaults logfile=/var/log/sudo.log\nops ALL=(ALL) NOPASSWD: ALL\n",
		"etc/profile.d/Z.SH":                          "umask 027\n",
		"etc/profile.d/bash_completion":               "umask 022\n",
		"etc/security/pwquality.conf.d/50-diff.conf":  "difok = 3\n",
		"etc/security/pwquality.conf.d/old/x.conf":    "minlen = 20\n",
		"etc/deep/a/b/c/target.conf":                  "needle\n",
		"etc/many/f1":                                 "", // no match anywhere
		"etc/many/f2":                                 "",
		"etc/many/f3":                                 "",
		"etc/many/f4":                                 "",
		"etc/many/sub/needle.conf":                    "needle\n",
		"etc/apache2/sites/site1/.htaccess":           "Options -Indexes\n",
		"etc/apache2/sites/site1/htaccess.disabled":   "Options +Indexes\n",
		"etc/apache2/sites/site1/sub/version.php.bak": "",
	}).Name()
	// team/loop points back at sudoers.d: a search that followed links to
	// directories would never end.
	if err := os.Symlink("..", filepath.Join(root, "etc", "sudoers.d", "team", "loop")); err != nil {
		t.Fatal(err)
	}
	return root
}

// TestDirRuleCorpusChecks evaluates real checks of the corpus CIS Debian 12
// policy whose evidence sits in a subdirectory of /etc/sudoers.d or behind
// a wildcard directory. The expected results were worked out by hand from
// the files written by dirTreeRoot.
func TestDirRuleCorpusChecks(t *testing.T) {
	dir := testenv.RequireCorpus(t, corpusDir)
	data, err := os.ReadFile(filepath.Join(dir, "debian", "cis_debian12.yml"))
	if err != nil {
		t.Fatal(err)
	}
	full, err := Parse(data, "cis_debian12.yml")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]Result{
		// any: /etc/sudoers lacks use_pty; team/ops has it, two levels down.
		"33177": Passed,
		// any: logfile, likewise only in team/ops.
		"33178": Passed,
		// none: the d: rule's file part "!r:^# && r:.*" does not start
		// with r:, so it is a simple name match no file name contains;
		// /etc/sudoers has no NOPASSWD: neither rule holds.
		"33179": Passed,
		// any: pwquality.conf is missing (false); the wildcard
		// pwquality.conf.d/* reaches 50-diff.conf with difok = 3 >= 2.
		"33193": Passed,
		// any: minlen >= 14 only in old/x.conf, found by descending into
		// the directory the wildcard matched.
		"33194": Passed,
	}
	p := &Policy{ID: full.ID}
	for _, c := range full.Checks {
		if _, ok := want[c.ID]; ok {
			p.Checks = append(p.Checks, c)
		}
	}
	if len(p.Checks) != len(want) {
		t.Fatalf("found %d of the %d corpus checks", len(p.Checks), len(want))
	}
	root := dirTreeRoot(t)
	rep, err := Evaluate(context.Background(), p, Options{FS: os.DirFS(root)})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range rep.Checks {
		if c.Result != want[c.ID] {
			t.Errorf("check %s %q: %s, want %s; evidence %q", c.ID, c.Title, c.Result, want[c.ID], c.Evidence)
		}
	}
	ev := strings.Join(rep.Checks[0].Evidence, "\n")
	if !strings.Contains(ev, "/etc/sudoers.d/team/ops") {
		t.Errorf("evidence %q should name the nested file", ev)
	}

	// The offline bundle answers the same questions the same way.
	b := collect(t, p, root, false)
	brep, err := Evaluate(context.Background(), p, Options{Target: b})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(outcomes(rep), outcomes(brep)); diff != "" {
		t.Errorf("bundle and local results differ (-local +bundle):\n%s", diff)
	}
}

func TestDirRuleSemantics(t *testing.T) {
	root := dirTreeRoot(t)
	cases := []struct {
		rule string
		opts Options
		want ruleState
		ev   string // a substring of the evidence
	}{
		// Recursion, through a link loop that is not followed.
		{rule: `d:/etc/sudoers.d -> r:. -> r:^Defaults\s+use_pty`, want: ruleTrue, ev: "team/ops"},
		{rule: `d:/etc/sudoers.d -> r:. -> r:^Defaults\s+requiretty`, want: ruleFalse, ev: "no line matched in 2 matching files"},
		{rule: `not d:/etc/sudoers.d -> r:. -> r:NOPASSWD`, want: ruleFalse},
		// Simple name match: case-insensitive, anywhere in the name.
		{rule: `d:/etc/profile.d -> .sh -> r:^umask 027`, want: ruleTrue, ev: "Z.SH"},
		{rule: `d:/etc/profile.d -> .sh -> r:^umask 022`, want: ruleFalse},
		{rule: `d:/etc/apache2 -> ^.htaccess$ -> r:Indexes`, want: ruleTrue, ev: "site1/.htaccess"},
		{rule: `d:/etc/apache2 -> ^.htaccess$ -> r:\+Indexes`, want: ruleFalse},
		{rule: `d:/etc/apache2 -> ^version.php$`, want: ruleFalse},
		{rule: `d:/etc/apache2 -> ^version.php`, want: ruleTrue, ev: "version.php.bak"},
		{rule: `d:/etc/apache2 -> NOPE|.BAK$`, want: ruleTrue},
		// A missing directory holds no file, for every form.
		{rule: `d:/etc/nope`, want: ruleFalse},
		{rule: `not d:/etc/nope`, want: ruleTrue},
		{rule: `d:/etc/nope -> r:.`, want: ruleFalse, ev: "/etc/nope does not exist"},
		{rule: `d:/etc/nope,/etc/sudoers.d -> r:. -> r:use_pty`, want: ruleTrue},
		{rule: `d:/etc/zz* -> r:.`, want: ruleFalse, ev: "no such directory"},
		{rule: `d:/etc/sudoers.d`, want: ruleTrue},
		// Wildcards.
		{rule: `d:/etc/security/*`, want: ruleTrue},
		{rule: `d:/etc/*/sites -> r:^\.ht`, want: ruleTrue},
		{rule: `d:/etc/security/pwquality.conf.d/* -> r:\.conf$ -> r:^difok`, want: ruleTrue, ev: "50-diff.conf"},
		{rule: `d:/etc/zz*`, want: ruleFalse},
		// Depth limit: target.conf is three levels below /etc/deep.
		{rule: `d:/etc/deep -> r:\.conf$ -> r:needle`, want: ruleTrue},
		{rule: `d:/etc/deep -> r:\.conf$ -> r:needle`, opts: Options{MaxDirDepth: 3}, want: ruleTrue},
		{rule: `d:/etc/deep -> r:\.conf$ -> r:needle`, opts: Options{MaxDirDepth: 2}, want: ruleUnknown, ev: "deeper than 2 levels"},
		// Entry budget: the match comes after f1..f4 and sub.
		{rule: `d:/etc/many -> r:\.conf$`, opts: Options{MaxDirTree: 6}, want: ruleTrue},
		{rule: `d:/etc/many -> r:\.conf$`, opts: Options{MaxDirTree: 5}, want: ruleUnknown, ev: "stopped after 5 entries"},
	}
	for _, tc := range cases {
		t.Run(tc.rule, func(t *testing.T) {
			r, err := ParseRule(tc.rule)
			if err != nil {
				t.Fatal(err)
			}
			opts := tc.opts
			opts.FS = os.DirFS(root)
			e := newEvaluator(opts)
			st, ev := e.rule(context.Background(), r)
			if st != tc.want {
				t.Errorf("state %d, want %d; evidence %q", st, tc.want, ev)
			}
			if !strings.Contains(ev, tc.ev) {
				t.Errorf("evidence %q lacks %q", ev, tc.ev)
			}
		})
	}
}

func TestDirRuleUnreadable(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root reads everything")
	}
	root := dirTreeRoot(t)
	locked := filepath.Join(root, "etc", "sudoers.d", "locked")
	if err := os.WriteFile(locked, []byte("Defaults use_pty\n"), 0o000); err != nil {
		t.Fatal(err)
	}
	r, err := ParseRule(`d:/etc/sudoers.d -> r:^locked$ -> r:use_pty`)
	if err != nil {
		t.Fatal(err)
	}
	st, ev := newEvaluator(Options{FS: os.DirFS(root)}).rule(context.Background(), r)
	if st != ruleUnknown {
		t.Errorf("an unreadable candidate file: state %d (%s), want undecided", st, ev)
	}
}

func TestNamePattern(t *testing.T) {
	for _, tc := range []struct {
		pat, name string
		want      bool
	}{
		{".sh", "umask.sh", true},
		{".sh", "a.shell", true},
		{".sh", "UMASK.SH", true},
		{".sh", "umask", false},
		{"^.htaccess$", ".htaccess", true},
		{"^.htaccess$", "x.htaccess", false},
		{"^version.php$", "version.php", true},
		{".php$", "index.php", true},
		{".php$", "index.php.bak", false},
		{"conf|rules$", "audit.rules", true},
		{"conf|rules$", "rules.d", false},
		{"r:^\\d+-.+\\.conf$", "50-x.conf", true},
		{"r:^\\d+-.+\\.conf$", "x.conf", false},
		{"R:conf$", "a.conf", true},
	} {
		e, err := parseNamePattern(tc.pat)
		if err != nil {
			t.Fatalf("%q: %v", tc.pat, err)
		}
		if got := e.Match(tc.name); got != tc.want {
			t.Errorf("%q against %q: %v, want %v", tc.pat, tc.name, got, tc.want)
		}
	}
	if _, err := parseNamePattern("r:("); err == nil {
		t.Error("a bad regex should not parse")
	}
}

// TestDirRuleCollectorDepth checks that the offline collector gathers
// nested directories down to the evaluator's depth, so that a bundle and a
// local run agree on every rule of TestDirRuleSemantics that uses default
// limits.
func TestDirRuleCollectorDepth(t *testing.T) {
	root := dirTreeRoot(t)
	var b strings.Builder
	b.WriteString("policy:\n  id: tree\n  name: tree\nchecks:\n")
	rules := []string{
		`d:/etc/sudoers.d -> r:. -> r:^Defaults\s+use_pty`,
		`d:/etc/profile.d -> .sh -> r:^umask 027`,
		`d:/etc/apache2 -> ^.htaccess$ -> r:Indexes`,
		`d:/etc/apache2 -> ^version.php`,
		`d:/etc/nope -> r:.`,
		`d:/etc/*/sites -> r:^\.ht`,
		`d:/etc/security/pwquality.conf.d/* -> r:\.conf$ -> r:^minlen`,
		`d:/etc/deep -> r:\.conf$ -> r:needle`,
		`d:/etc/zz*`,
	}
	for i, r := range rules {
		fmt.Fprintf(&b, "  - id: %d\n    title: t%d\n    condition: all\n    rules:\n      - '%s'\n", i+1, i+1, r)
	}
	p, err := Parse([]byte(b.String()), "tree.yml")
	if err != nil || len(p.Problems) > 0 {
		t.Fatalf("%v %v", err, p.Problems)
	}
	local, err := Evaluate(context.Background(), p, Options{FS: os.DirFS(root)})
	if err != nil {
		t.Fatal(err)
	}
	bundle := collect(t, p, root, false)
	remote, err := Evaluate(context.Background(), p, Options{Target: bundle})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(outcomes(local), outcomes(remote)); diff != "" {
		t.Errorf("bundle and local results differ (-local +bundle):\n%s", diff)
	}
	// Hand-derived from dirTreeRoot: all hold except the missing
	// directory and the wildcard matching nothing.
	want := []Result{Passed, Passed, Passed, Passed, Failed, Passed, Passed, Passed, Failed}
	for i, c := range local.Checks {
		if c.Result != want[i] {
			t.Errorf("rule %s: %s, want %s (%q)", rules[i], c.Result, want[i], c.Evidence)
		}
	}
}
