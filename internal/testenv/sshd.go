package testenv

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
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

// SSHD is an OpenSSH server started for one test on a loopback port; it
// lets root in with UserKey only.
type SSHD struct {
	Host string // 127.0.0.1
	Port int
	// UserKey is the PEM private key (OpenSSH format) authorised for root.
	UserKey []byte
	// HostFingerprint is the server's host key as ssh-keygen -l prints it.
	HostFingerprint string
	// HostKey is the server's public host key.
	HostKey ssh.PublicKey
}

// KnownHosts is a known_hosts line for the server.
func (s *SSHD) KnownHosts() string {
	return fmt.Sprintf("[%s]:%d %s", s.Host, s.Port, ssh.MarshalAuthorizedKey(s.HostKey))
}

// Addr is host:port.
func (s *SSHD) Addr() string { return net.JoinHostPort(s.Host, fmt.Sprint(s.Port)) }

func sshKey(t testing.TB) ([]byte, ssh.PublicKey) {
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

// StartSSHD runs /usr/sbin/sshd -D -e with throwaway host and user keys on
// a free loopback port until the test ends. It needs root (the server logs
// the user in as root); without sshd or root the test is skipped, or
// fails under CI.
func StartSSHD(t testing.TB) *SSHD {
	t.Helper()
	const sshd = "/usr/sbin/sshd"
	if _, err := os.Stat(sshd); err != nil {
		Missing(t, "OpenSSH server (apt-get install openssh-server)")
	}
	if os.Geteuid() != 0 {
		Missing(t, "root, to log in to a test sshd as root")
	}
	// sshd refuses to start without its privilege separation directory.
	if err := os.MkdirAll("/run/sshd", 0o755); err != nil { // #nosec G301 -- sshd's own requirement
		Missing(t, "the sshd privilege separation directory")
	}
	dir := t.TempDir()
	hostKey, hostPub := sshKey(t)
	userKey, userPub := sshKey(t)
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	hostKeyFile := write("host_ed25519", hostKey)
	authKeys := write("authorized_keys", ssh.MarshalAuthorizedKey(userPub))
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	_ = l.Close()
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
	cmd := exec.CommandContext(ctx, sshd, "-f", cfg, "-D", "-e") // #nosec G204 -- fixed binary, test-made config
	logFile, err := os.Create(filepath.Join(dir, "sshd.log"))    // #nosec G304 -- a file in the test's temp dir
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		_ = cmd.Wait()
		_ = logFile.Close()
		if t.Failed() {
			log, _ := os.ReadFile(logFile.Name()) // #nosec G304 -- the test's own log
			t.Logf("sshd log:\n%s", log)
		}
	})
	s := &SSHD{Host: "127.0.0.1", Port: port, UserKey: userKey, HostFingerprint: ssh.FingerprintSHA256(hostPub), HostKey: hostPub}
	// Wait until the server accepts connections (it binds after reading
	// its keys).
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", s.Addr(), time.Second)
		if err == nil {
			_ = c.Close()
			return s
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(logFile.Name()) // #nosec G304 -- the test's own log
			t.Fatalf("sshd did not listen: %v\n%s", err, log)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
