package baseline

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/vigil-sec/vigil/internal/testenv"
	"golang.org/x/crypto/ssh"
)

func TestSSHHostKeyPinning(t *testing.T) {
	s := testenv.StartSSHD(t)
	ctx := t.Context()
	base := SSHOptions{Addr: s.Addr(), User: "root", PrivateKey: s.UserKey}

	// Unknown key, no pin: refused.
	if _, err := DialSSH(ctx, base); err == nil || !strings.Contains(err.Error(), "not pinned") {
		t.Errorf("unpinned host accepted: %v", err)
	}
	// Wrong fingerprint: refused.
	_, otherPub := genKey(t)
	o := base
	o.Fingerprint = ssh.FingerprintSHA256(otherPub)
	if _, err := DialSSH(ctx, o); err == nil || !strings.Contains(err.Error(), "does not match") {
		t.Errorf("wrong fingerprint accepted: %v", err)
	}
	// Right fingerprint: accepted.
	o.Fingerprint = ssh.FingerprintSHA256(s.HostKey)
	tg, err := DialSSH(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	if tg.HostKeyFingerprint() != o.Fingerprint {
		t.Errorf("fingerprint %s", tg.HostKeyFingerprint())
	}
	_ = tg.Close()
	// Known hosts line.
	o = base
	o.KnownHosts = []byte(s.KnownHosts())
	tg, err = DialSSH(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	_ = tg.Close()
	// Trust on first use records the key; the file then pins it.
	khFile := filepath.Join(t.TempDir(), "known_hosts")
	o = base
	o.KnownHostsFile, o.TrustOnFirstUse = khFile, true
	tg, err = DialSSH(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	_ = tg.Close()
	o.TrustOnFirstUse = false
	tg, err = DialSSH(ctx, o)
	if err != nil {
		t.Fatalf("recorded key not accepted: %v", err)
	}
	_ = tg.Close()
	// A changed key is refused even with trust on first use.
	line := fmt.Sprintf("[127.0.0.1]:%s %s", strconv.Itoa(s.Port), ssh.MarshalAuthorizedKey(otherPub))
	if err := os.WriteFile(khFile, []byte(line), 0o600); err != nil {
		t.Fatal(err)
	}
	o.TrustOnFirstUse = true
	if _, err := DialSSH(ctx, o); err == nil {
		t.Error("changed host key accepted")
	}
}

// TestSSHMatchesLocal evaluates a policy over SSH against this host and
// compares with the local run.
func TestSSHMatchesLocal(t *testing.T) {
	s := testenv.StartSSHD(t)
	tg, err := DialSSH(t.Context(), SSHOptions{
		Addr: s.Addr(), User: "root", PrivateKey: s.UserKey,
		KnownHosts: []byte(s.KnownHosts()), AllowCommands: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer tg.Close()

	// Reads on the remote side, including names a shell would expand.
	dir := t.TempDir()
	odd := filepath.Join(dir, "$(touch pwned) `id`;*")
	if err := os.WriteFile(odd, []byte("line one\nline two\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	data, err := tg.ReadFile(t.Context(), odd, 5)
	if err != nil || string(data) != "line " {
		t.Errorf("bounded read = %q, %v", data, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "pwned")); err == nil {
		t.Error("a file name was run by the remote shell")
	}
	res, err := tg.Run(t.Context(), []string{"printf", "%s|", "a b", "$HOME", "'q'"}, 1024)
	if err != nil || string(res.Output) != "a b|$HOME|'q'|" {
		t.Errorf("argv quoting: %q, %v", res.Output, err)
	}
	if _, err := tg.Run(t.Context(), []string{"/nonexistent/cmd"}, 10); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Errorf("missing command: %v", err)
	}
	res, err = tg.Run(t.Context(), []string{"sh", "-c", "exit 3"}, 10)
	if err != nil || res.ExitStatus != 3 {
		t.Errorf("exit status: %+v %v", res, err)
	}

	// Sudo wraps every command in "sudo -n --", only when asked.
	if _, err := exec.LookPath("sudo"); err == nil {
		st, err := DialSSH(t.Context(), SSHOptions{
			Addr: s.Addr(), User: "root", PrivateKey: s.UserKey,
			KnownHosts: []byte(s.KnownHosts()), AllowCommands: true, Sudo: true,
		})
		if err != nil {
			t.Fatal(err)
		}
		res, err := st.Run(t.Context(), []string{"sh", "-c", "echo $SUDO_USER"}, 100)
		if err != nil || strings.TrimSpace(string(res.Output)) != "root" {
			t.Errorf("sudo run: %q %v", res.Output, err)
		}
		_ = st.Close()
		res, err = tg.Run(t.Context(), []string{"sh", "-c", "echo ${SUDO_USER:-none}"}, 100)
		if err != nil || strings.TrimSpace(string(res.Output)) != "none" {
			t.Errorf("run without sudo: %q %v", res.Output, err)
		}
	}

	policy := filepath.Join(corpusDir, "debian", "cis_debian12.yml")
	pdata, err := os.ReadFile(policy)
	if err != nil {
		t.Skipf("corpus not present: %v", err)
	}
	p, err := Parse(pdata, "cis_debian12.yml")
	if err != nil {
		t.Fatal(err)
	}
	if testing.Short() {
		p.Checks = p.Checks[:40]
	}
	opts := Options{FS: os.DirFS("/"), AllowCommands: true, IgnoreRequirements: true}
	local, err := Evaluate(t.Context(), p, opts)
	if err != nil {
		t.Fatal(err)
	}
	opts.Target = tg
	remote, err := Evaluate(t.Context(), p, opts)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(outcomes(local), outcomes(remote)); d != "" {
		t.Errorf("SSH results differ from local (-local +ssh):\n%s", d)
		for i := range local.Checks {
			if local.Checks[i].Result != remote.Checks[i].Result {
				t.Logf("%s local %q\n ssh %q", local.Checks[i].ID, local.Checks[i].Evidence, remote.Checks[i].Evidence)
			}
		}
	}
	t.Logf("%d checks over SSH: %d passed, %d failed, %d n/a", len(p.Checks), remote.Passed, remote.Failed, remote.NotApplicable)
}

func genKey(t *testing.T) ([]byte, ssh.PublicKey) {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatal(err)
	}
	sshPub, err := ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(block), sshPub
}
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
