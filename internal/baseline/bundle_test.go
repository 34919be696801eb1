package baseline

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// bundlePolicy adds to testPolicy rules that stress the collector: names
// with quotes and spaces, directory symlinks, a stat-only rule, a missing
// directory and commands.
const bundlePolicy = testPolicy + `
  - id: 10
    title: "Odd names are quoted."
    condition: all
    rules:
      - "f:/etc/it's here.conf -> r:^value\\s+1$"
      - 'd:/etc/odd dir -> r:^\$\(x\)\.conf$ -> r:^ok'
  - id: 11
    title: "Symlinked directory and missing directory."
    condition: any
    rules:
      - 'd:/etc/missing.d -> r:.'
      - 'd:/etc/link.d -> r:^sub\.conf$'
  - id: 12
    title: "Commands: echo."
    condition: all
    rules:
      - 'c:/bin/echo "a b" -> r:^a b$'
  - id: 16
    title: "Reads are capped at 4 MiB: a line past the cap is not seen."
    condition: any
    rules:
      - 'f:/var/log/big.log -> r:^NEEDLE$'
  - id: 15
    title: "A missing program is undecided, negated or not."
    condition: all
    rules:
      - 'not c:/nonexistent/program --flag'
  - id: 13
    title: "Manual: physical access to the server room is controlled."
    type: manual
  - id: 14
    title: "Stat only and hidden files."
    condition: all
    rules:
      - 'f:/etc/hidden.d/.secret'
      - 'd:/etc/hidden.d -> r:^\.secret$ -> r:^s3'
`

func bundleRoot(t *testing.T) string {
	t.Helper()
	root := fakeRoot(t, map[string]string{
		"etc/debian_version":         "12.5\n",
		"etc/os-release":             "PRETTY_NAME=\"Debian GNU/Linux 12\"\nNAME=\"Debian GNU/Linux\"\n",
		"etc/ssh/sshd_config":        "# PermitRootLogin no\nPermitRootLogin yes\nMaxAuthTries 3\n",
		"etc/fstab":                  "UUID=1 / ext4 defaults 0 1\ntmpfs /tmp tmpfs defaults,nosuid 0 0\n",
		"etc/audit/rules.d/a.rules":  "-w /etc/shadow -p wa -k identity\n",
		"etc/audit/rules.d/README":   "-w /etc/shadow -p wa\n",
		"etc/it's here.conf":         "value 1\n",
		"etc/odd dir/$(x).conf":      "ok\n",
		"etc/real.d/sub/keep":        "",
		"etc/real.d/sub.conf":        "",
		"etc/hidden.d/.secret":       "s3cret\n",
		"proc/1/comm":                "systemd\n",
		"proc/1/cmdline":             "/sbin/init\x00splash\x00",
		"proc/812/comm":              "sshd\n",
		"proc/812/cmdline":           "/usr/sbin/sshd\x00-D\x00",
		"proc/self/comm":             "ignored\n",
		"etc/audit/rules.d/b.rules~": "",
	})
	dir := root.Name()
	big := strings.Repeat("x\n", bundleMaxData/2) + "NEEDLE\n"
	if err := os.MkdirAll(filepath.Join(dir, "var", "log"), 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "var", "log", "big.log"), []byte(big), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("real.d", filepath.Join(dir, "etc", "link.d")); err != nil {
		t.Fatal(err)
	}
	return dir
}

// collect writes the collector for p, runs it with sh against root and
// returns the bundle it wrote.
func collect(t *testing.T, p *Policy, root string, allowCommands bool) *Bundle {
	t.Helper()
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	dir := t.TempDir()
	script := filepath.Join(dir, "collect.sh")
	var buf bytes.Buffer
	if err := WriteCollector(&buf, p, allowCommands); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(script, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "evidence.tar.gz")
	args := []string{script, "-o", out}
	if root != "" {
		args = append(args, "-r", root)
	}
	cmd := exec.CommandContext(t.Context(), sh, args...)
	cmd.Env = append(os.Environ(), "TMPDIR="+dir)
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("collector: %v\n%s", err, msg)
	}
	b, err := OpenBundle(out)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

type checkOutcome struct {
	ID     string
	Result Result
}

func outcomes(rep *Report) []checkOutcome {
	out := make([]checkOutcome, len(rep.Checks))
	for i, c := range rep.Checks {
		out[i] = checkOutcome{c.ID, c.Result}
	}
	return out
}

func TestBundleMatchesLocal(t *testing.T) {
	dir := bundleRoot(t)
	p, err := Parse([]byte(bundlePolicy), "bundle.yml")
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Problems) > 0 {
		t.Fatalf("problems: %v", p.Problems)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	local, err := Evaluate(t.Context(), p, Options{FS: root.FS(), AllowCommands: true})
	if err != nil {
		t.Fatal(err)
	}
	b := collect(t, p, dir, true)
	if b.Manifest["policy"] != "test_debian" || b.Manifest["root"] != dir {
		t.Errorf("manifest %v", b.Manifest)
	}
	off, err := Evaluate(t.Context(), p, Options{Target: b, AllowCommands: true})
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(local.Checks, off.Checks); d != "" {
		t.Errorf("bundle evaluation differs from local (-local +bundle):\n%s", d)
	}
	// The checks this test adds decide as the fake root says.
	want := map[string]Result{"10": Passed, "11": Passed, "12": Passed, "13": Manual, "14": Passed, "15": NotApplicable, "16": Failed}
	for _, c := range off.Checks {
		if w, ok := want[c.ID]; ok && c.Result != w {
			t.Errorf("check %s: %s, want %s (%q)", c.ID, c.Result, w, c.Evidence)
		}
	}
	if off.Manual != 1 {
		t.Errorf("manual count %d", off.Manual)
	}

	// Without commands in the bundle, command checks are undecided, not
	// failed.
	b = collect(t, p, dir, false)
	off, err = Evaluate(t.Context(), p, Options{Target: b, AllowCommands: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range off.Checks {
		if (c.ID == "7" || c.ID == "12") && c.Result != NotApplicable {
			t.Errorf("check %s without collected commands: %s %q", c.ID, c.Result, c.Evidence)
		}
	}
}

// TestBundleCorpusHost collects the corpus CIS Debian 12 policy's evidence
// from this host and compares with a direct local run.
func TestBundleCorpusHost(t *testing.T) {
	if testing.Short() {
		t.Skip("runs every command of the policy twice")
	}
	data, err := os.ReadFile(filepath.Join(corpusDir, "debian", "cis_debian12.yml"))
	if err != nil {
		t.Skipf("corpus not present: %v", err)
	}
	p, err := Parse(data, "cis_debian12.yml")
	if err != nil {
		t.Fatal(err)
	}
	local, err := Evaluate(t.Context(), p, Options{FS: os.DirFS("/"), AllowCommands: true, IgnoreRequirements: true})
	if err != nil {
		t.Fatal(err)
	}
	b := collect(t, p, "", true)
	off, err := Evaluate(t.Context(), p, Options{Target: b, AllowCommands: true, IgnoreRequirements: true})
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(outcomes(local), outcomes(off)); d != "" {
		t.Errorf("bundle results differ from local (-local +bundle):\n%s", d)
	}
	t.Logf("%d checks: local %d/%d/%d, bundle %d/%d/%d (passed/failed/n.a.)", len(p.Checks),
		local.Passed, local.Failed, local.NotApplicable, off.Passed, off.Failed, off.NotApplicable)
}

type tarMember struct {
	name string
	typ  byte
	body string
}

func makeTarGz(t testing.TB, members []tarMember) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for _, m := range members {
		h := &tar.Header{Name: m.name, Typeflag: m.typ, Mode: 0o600, Size: int64(len(m.body))}
		if m.typ != tar.TypeReg {
			h.Size = 0
			h.Linkname = "/etc/shadow"
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if m.typ == tar.TypeReg {
			if _, err := tw.Write([]byte(m.body)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestReadBundleRejects(t *testing.T) {
	manifest := tarMember{"vigil-evidence/manifest", tar.TypeReg, "format vigil-evidence/1\npolicy x\n"}
	item := func(n, field, body string) tarMember {
		return tarMember{"vigil-evidence/e/" + n + "/" + field, tar.TypeReg, body}
	}
	good := []tarMember{manifest, item("1", "kind", "file"), item("1", "name", "/etc/x"), item("1", "state", "regular"), item("1", "data", "a\n")}
	b, err := ReadBundle(bytes.NewReader(makeTarGz(t, good)))
	if err != nil {
		t.Fatal(err)
	}
	if data, err := b.ReadFile(t.Context(), "/etc/x", 10); err != nil || string(data) != "a\n" {
		t.Errorf("ReadFile = %q, %v", data, err)
	}
	if _, err := b.ReadFile(t.Context(), "/etc/y", 10); !errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("uncollected file: %v", err)
	}
	tests := []struct {
		name    string
		members []tarMember
		want    string
	}{
		{"traversal", append([]tarMember{{"vigil-evidence/../../etc/passwd", tar.TypeReg, "x"}}, good...), "path not allowed"},
		{"absolute", append([]tarMember{{"/vigil-evidence/manifest", tar.TypeReg, "x"}}, good...), "path not allowed"},
		{"symlink", append([]tarMember{{"vigil-evidence/e/2/data", tar.TypeSymlink, ""}}, good...), "only regular files"},
		{"hardlink", append([]tarMember{{"vigil-evidence/e/2/data", tar.TypeLink, ""}}, good...), "only regular files"},
		{"stray", append([]tarMember{{"vigil-evidence/e/2/extra", tar.TypeReg, ""}}, good...), "unexpected member"},
		{"no manifest", good[1:], "no manifest"},
		{"format", append([]tarMember{{"vigil-evidence/manifest", tar.TypeReg, "format other\n"}}, good[1:]...), "format"},
		{"relative path", []tarMember{manifest, item("1", "kind", "file"), item("1", "name", "etc/x"), item("1", "state", "regular")}, "not an absolute path"},
		{"state", []tarMember{manifest, item("1", "kind", "file"), item("1", "name", "/etc/x"), item("1", "state", "weird")}, "state"},
		{"kind", []tarMember{manifest, item("1", "kind", "socket"), item("1", "name", "/x"), item("1", "state", "x")}, "kind"},
		{"status", []tarMember{manifest, item("1", "kind", "cmd"), item("1", "name", "id"), item("1", "state", "ran"), item("1", "status", "-1")}, "exit status"},
		{"shell command", []tarMember{manifest, item("1", "kind", "cmd"), item("1", "name", "id; rm -rf /"), item("1", "state", "ran")}, "shell syntax"},
		{"leading zero", append([]tarMember{item("01", "kind", "file")}, good...), "unexpected member"},
		{"dir without list", []tarMember{manifest, item("1", "kind", "dir"), item("1", "name", "/etc"), item("1", "state", "dir")}, "without a listing"},
	}
	for _, tt := range tests {
		_, err := ReadBundle(bytes.NewReader(makeTarGz(t, tt.members)))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err %v, want %q", tt.name, err, tt.want)
		}
	}
	big := []tarMember{manifest, item("1", "data", strings.Repeat("x", bundleMaxMember+1))}
	if _, err := ReadBundle(bytes.NewReader(makeTarGz(t, big))); err == nil || !strings.Contains(err.Error(), "size") {
		t.Errorf("oversized member: %v", err)
	}
	if _, err := ReadBundle(strings.NewReader("not gzip")); err == nil {
		t.Error("garbage accepted")
	}
}

func TestShQuote(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	for _, s := range []string{"", "a b", "it's", `$(id)`, "`id`", "a\nb", `\'"`, "*"} {
		out, err := exec.CommandContext(context.Background(), sh, "-c", "printf '%s' "+shQuote(s)).Output()
		if err != nil || string(out) != s {
			t.Errorf("shQuote(%q): sh printed %q, %v", s, out, err)
		}
	}
}

func FuzzReadBundle(f *testing.F) {
	f.Add(makeTarGz(f, []tarMember{
		{"vigil-evidence/manifest", tar.TypeReg, "format vigil-evidence/1\n"},
		{"vigil-evidence/e/1/kind", tar.TypeReg, "dir"},
		{"vigil-evidence/e/1/name", tar.TypeReg, "/etc"},
		{"vigil-evidence/e/1/state", tar.TypeReg, "dir"},
		{"vigil-evidence/e/1/list", tar.TypeReg, "f/passwd\nd/ssh\n"},
	}))
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := ReadBundle(bytes.NewReader(data))
		if err != nil {
			return
		}
		ctx := context.Background()
		for name := range b.dirs {
			_, _ = b.ReadDir(ctx, name, 100)
			_, _ = b.Stat(ctx, name)
		}
		for name := range b.files {
			_, _ = b.ReadFile(ctx, name, 100)
		}
		_, _ = b.Processes(ctx)
	})
}

// TestBundleBackgroundOutput checks that output printed by a command the
// checked command left running in the background (as the corpus's
// `sh -c "a & b"` rules do) reaches the evidence, as it reaches the direct
// run: the collector must wait for every writer of the output, not only
// for the command it started.
func TestBundleBackgroundOutput(t *testing.T) {
	const policy = `policy:
  id: bg_test
  file: bg.yml
  name: background output
  description: background output
checks:
  - id: 1
    title: late output of a background command is read
    condition: all
    rules:
      - 'c:sh -c "sleep 1 && echo late-line & echo early-line" -> r:^late-line$'
`
	p, err := Parse([]byte(policy), "bg.yml")
	if err != nil {
		t.Fatal(err)
	}
	local, err := Evaluate(t.Context(), p, Options{FS: os.DirFS(t.TempDir()), AllowCommands: true, IgnoreRequirements: true})
	if err != nil {
		t.Fatal(err)
	}
	off, err := Evaluate(t.Context(), p, Options{Target: collect(t, p, "", true), AllowCommands: true, IgnoreRequirements: true})
	if err != nil {
		t.Fatal(err)
	}
	if local.Checks[0].Result != Passed || off.Checks[0].Result != Passed {
		t.Errorf("local %s (%q), bundle %s (%q); want both passed", local.Checks[0].Result, local.Checks[0].Evidence, off.Checks[0].Result, off.Checks[0].Evidence)
	}
}
