package baseline

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/crypto/ssh"
)

// testSSHD is an OpenSSH server started for one test on a loopback port.
type testSSHD struct {
	addr       string
	userKey    []byte // PEM
	hostPub    ssh.PublicKey
	knownHosts string // one known_hosts line for the server
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

// startSSHD runs /usr/sbin/sshd -D -e with a throwaway host key and an
// authorized user key, as root, on a free loopback port.
func startSSHD(t *testing.T) *testSSHD {
	t.Helper()
	const sshd = "/usr/sbin/sshd"
	if _, err := os.Stat(sshd); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("sshd is required in CI: %v", err)
		}
		t.Skip("no OpenSSH server (apt-get install openssh-server)")
	}
	if os.Geteuid() != 0 {
		if os.Getenv("CI") != "" {
			t.Fatal("the SSH test logs in as root and must run as root in CI")
		}
		t.Skip("the SSH test logs in as root")
	}
	// sshd refuses to start without its privilege separation directory.
	if err := os.MkdirAll("/run/sshd", 0o755); err != nil { // #nosec G301 -- sshd's own requirement
		t.Skipf("privilege separation directory: %v", err)
	}
	dir := t.TempDir()
	hostKey, hostPub := genKey(t)
	userKey, userPub := genKey(t)
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	hostKeyFile := write("host_ed25519", hostKey)
	authKeys := write("authorized_keys", ssh.MarshalAuthorizedKey(userPub))
	port := freePort(t)
	cfg := write("sshd_config", fmt.Appendf(nil, `Port %d
ListenAddress 127.0.0.1
HostKey %s
PidFile %s
AuthorizedKeysFile %s
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
MaxSessions 10
MaxStartups 50
`, port, hostKeyFile, filepath.Join(dir, "sshd.pid"), authKeys))
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, sshd, "-f", cfg, "-D", "-e")
	logFile, err := os.Create(filepath.Join(dir, "sshd.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		_ = cmd.Wait()
		_ = logFile.Close()
		if t.Failed() {
			log, _ := os.ReadFile(logFile.Name())
			t.Logf("sshd log:\n%s", log)
		}
	})
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	for i := 0; ; i++ {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			_ = c.Close()
			break
		}
		if i == 100 {
			log, _ := os.ReadFile(logFile.Name())
			t.Fatalf("sshd did not listen: %v\n%s", err, log)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return &testSSHD{
		addr:       addr,
		userKey:    userKey,
		hostPub:    hostPub,
		knownHosts: fmt.Sprintf("[127.0.0.1]:%d %s", port, ssh.MarshalAuthorizedKey(hostPub)),
	}
}

func TestSSHHostKeyPinning(t *testing.T) {
	s := startSSHD(t)
	ctx := t.Context()
	base := SSHOptions{Addr: s.addr, User: "root", PrivateKey: s.userKey}

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
	o.Fingerprint = ssh.FingerprintSHA256(s.hostPub)
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
	o.KnownHosts = []byte(s.knownHosts)
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
	line := fmt.Sprintf("[127.0.0.1]:%s %s", strings.Split(s.addr, ":")[1], ssh.MarshalAuthorizedKey(otherPub))
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
	s := startSSHD(t)
	tg, err := DialSSH(t.Context(), SSHOptions{
		Addr: s.addr, User: "root", PrivateKey: s.userKey,
		KnownHosts: []byte(s.knownHosts), AllowCommands: true,
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
			Addr: s.addr, User: "root", PrivateKey: s.userKey,
			KnownHosts: []byte(s.knownHosts), AllowCommands: true, Sudo: true,
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
