package baseline

import (
	"bytes"
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// SSHOptions configure an agentless SSH target.
type SSHOptions struct {
	// Addr is host:port of the SSH server.
	Addr string
	User string
	// PrivateKey is a PEM private key (OpenSSH or PKCS#8); Passphrase
	// decrypts it when it is encrypted.
	PrivateKey []byte
	Passphrase []byte
	// Password authenticates when no key is given or the key is refused.
	Password string

	// The server's host key must be pinned by one of: Fingerprint
	// ("SHA256:..." as ssh-keygen -l prints it), KnownHosts (known_hosts
	// lines; the key of any line pins, whatever hosts it names) or
	// KnownHostsFile (a known_hosts file, hosts matched as OpenSSH does).
	// An unknown key is refused unless TrustOnFirstUse is set, in which
	// case it is accepted and, when KnownHostsFile is set, appended to it.
	// A key that differs from a pinned one is always refused.
	Fingerprint     string
	KnownHosts      []byte
	KnownHostsFile  string
	TrustOnFirstUse bool

	// Sudo runs every command through "sudo -n --" (no password prompt).
	Sudo bool
	// AllowCommands lets c: rules run their command on the host.
	AllowCommands bool
	// DialTimeout bounds connecting and the handshake; default 15s.
	DialTimeout time.Duration
	// CommandTimeout bounds each remote command; default 30s.
	CommandTimeout time.Duration
	// MaxSessions bounds the sessions open at once; default 6 (OpenSSH
	// allows 10 per connection by default).
	MaxSessions int
	Logger      *slog.Logger
}

// SSHTarget evaluates a remote host over SSH without an agent. Every
// command is sent as an argument vector quoted word by word for the remote
// shell; files, directories and processes are read by fixed scripts that
// take the path as a positional argument, never spliced into the script.
type SSHTarget struct {
	client      *ssh.Client
	opts        SSHOptions
	sem         chan struct{}
	fingerprint string
	log         *slog.Logger
}

var _ Target = (*SSHTarget)(nil)

// DialSSH connects and authenticates to the host.
func DialSSH(ctx context.Context, opts SSHOptions) (*SSHTarget, error) {
	if opts.DialTimeout <= 0 {
		opts.DialTimeout = 15 * time.Second
	}
	if opts.CommandTimeout <= 0 {
		opts.CommandTimeout = 30 * time.Second
	}
	if opts.MaxSessions <= 0 {
		opts.MaxSessions = 6
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if opts.User == "" {
		return nil, errors.New("ssh: user is required")
	}
	t := &SSHTarget{opts: opts, sem: make(chan struct{}, opts.MaxSessions), log: log}
	var auth []ssh.AuthMethod
	if len(opts.PrivateKey) > 0 {
		var signer ssh.Signer
		var err error
		if len(opts.Passphrase) > 0 {
			signer, err = ssh.ParsePrivateKeyWithPassphrase(opts.PrivateKey, opts.Passphrase)
		} else {
			signer, err = ssh.ParsePrivateKey(opts.PrivateKey)
		}
		if err != nil {
			return nil, fmt.Errorf("ssh: private key: %w", err)
		}
		auth = append(auth, ssh.PublicKeys(signer))
	}
	if opts.Password != "" {
		auth = append(auth, ssh.Password(opts.Password))
	}
	if len(auth) == 0 {
		return nil, errors.New("ssh: a private key or a password is required")
	}
	hostKey, err := t.hostKeyCallback()
	if err != nil {
		return nil, err
	}
	cfg := &ssh.ClientConfig{User: opts.User, Auth: auth, HostKeyCallback: hostKey, Timeout: opts.DialTimeout}
	d := net.Dialer{Timeout: opts.DialTimeout}
	conn, err := d.DialContext(ctx, "tcp", opts.Addr)
	if err != nil {
		return nil, fmt.Errorf("ssh: %w", err)
	}
	_ = conn.SetDeadline(time.Now().Add(opts.DialTimeout))
	c, chans, reqs, err := ssh.NewClientConn(conn, opts.Addr, cfg)
	if err != nil {
		_ = conn.Close()
		return nil, fmt.Errorf("ssh: %s: %w", opts.Addr, err)
	}
	_ = conn.SetDeadline(time.Time{})
	t.client = ssh.NewClient(c, chans, reqs)
	return t, nil
}

// HostKeyFingerprint is the SHA256 fingerprint of the server's host key.
func (t *SSHTarget) HostKeyFingerprint() string { return t.fingerprint }

// Close ends the connection.
func (t *SSHTarget) Close() error { return t.client.Close() }

func (t *SSHTarget) hostKeyCallback() (ssh.HostKeyCallback, error) {
	o := t.opts
	var pinned []ssh.PublicKey
	rest := o.KnownHosts
	for len(bytes.TrimSpace(rest)) > 0 {
		marker, _, key, _, r, err := ssh.ParseKnownHosts(rest)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("ssh: known hosts line: %w", err)
		}
		if marker == "" {
			pinned = append(pinned, key)
		}
		rest = r
	}
	var fileCB ssh.HostKeyCallback
	if o.KnownHostsFile != "" {
		cb, err := knownhosts.New(o.KnownHostsFile)
		switch {
		case err == nil:
			fileCB = cb
		case errors.Is(err, fs.ErrNotExist) && o.TrustOnFirstUse:
		default:
			return nil, fmt.Errorf("ssh: known hosts: %w", err)
		}
	}
	return func(hostname string, remote net.Addr, key ssh.PublicKey) error {
		fp := ssh.FingerprintSHA256(key)
		t.fingerprint = fp
		if o.Fingerprint != "" {
			if subtle.ConstantTimeCompare([]byte(fp), []byte(o.Fingerprint)) == 1 {
				return nil
			}
			return fmt.Errorf("host key %s does not match the pinned fingerprint", fp)
		}
		for _, k := range pinned {
			if bytes.Equal(k.Marshal(), key.Marshal()) {
				return nil
			}
		}
		if len(pinned) > 0 {
			return fmt.Errorf("host key %s does not match the pinned known hosts lines", fp)
		}
		if fileCB != nil {
			err := fileCB(hostname, remote, key)
			var ke *knownhosts.KeyError
			if err == nil || !errors.As(err, &ke) || len(ke.Want) > 0 {
				if err != nil {
					return fmt.Errorf("host key %s refused: %w", fp, err)
				}
				return nil
			}
		}
		if !o.TrustOnFirstUse {
			return fmt.Errorf("host key %s of %s is not pinned (give a known hosts file or fingerprint, or trust on first use)", fp, hostname)
		}
		t.log.Warn("trusting SSH host key on first use", "host", hostname, "fingerprint", fp)
		if o.KnownHostsFile != "" {
			line := knownhosts.Line([]string{knownhosts.Normalize(hostname)}, key) + "\n"
			// #nosec G304 -- the operator names the known hosts file
			f, err := os.OpenFile(o.KnownHostsFile, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
			if err != nil {
				return fmt.Errorf("recording host key: %w", err)
			}
			_, werr := f.WriteString(line)
			if err := errors.Join(werr, f.Close()); err != nil {
				return fmt.Errorf("recording host key: %w", err)
			}
		}
		return nil
	}, nil
}

// quoteArgv renders argv as one remote command line, every word quoted.
func quoteArgv(argv []string) string {
	words := make([]string, len(argv))
	for i, a := range argv {
		words[i] = shQuote(a)
	}
	return strings.Join(words, " ")
}

// lockedCap is a capWriter shared by a session's stdout and stderr.
type lockedCap struct {
	mu sync.Mutex
	capWriter
}

func (w *lockedCap) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.capWriter.Write(p)
}

// exec runs argv in a new session. Output beyond max ends the session; the
// exit status is then -1.
func (t *SSHTarget) exec(ctx context.Context, argv []string, max int64, mergeStderr bool) (out, errOut []byte, status int, err error) {
	if strings.ContainsRune(strings.Join(argv, ""), 0) {
		return nil, nil, -1, errors.New("argument contains a NUL byte")
	}
	if t.opts.Sudo {
		argv = append([]string{"sudo", "-n", "--"}, argv...)
	}
	select {
	case t.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, nil, -1, ctx.Err()
	}
	defer func() { <-t.sem }()
	sess, err := t.client.NewSession()
	if err != nil {
		return nil, nil, -1, fmt.Errorf("ssh session: %w", err)
	}
	defer sess.Close()
	ctx, cancel := context.WithTimeout(ctx, t.opts.CommandTimeout)
	defer cancel()
	stop := context.AfterFunc(ctx, func() { _ = sess.Close() })
	defer stop()

	stderr := &lockedCap{capWriter: capWriter{max: 64 << 10}}
	sess.Stderr = stderr
	var combined *lockedCap
	var stdout io.Reader
	if mergeStderr {
		combined = &lockedCap{capWriter: capWriter{max: max}}
		sess.Stdout, sess.Stderr = combined, combined
	} else if stdout, err = sess.StdoutPipe(); err != nil {
		return nil, nil, -1, fmt.Errorf("ssh session: %w", err)
	}
	if err := sess.Start(quoteArgv(argv)); err != nil {
		return nil, nil, -1, fmt.Errorf("ssh: %w", err)
	}
	truncated := false
	if stdout != nil {
		out, err = io.ReadAll(io.LimitReader(stdout, max))
		if err != nil {
			return nil, nil, -1, fmt.Errorf("ssh: reading output: %w", err)
		}
		if int64(len(out)) == max {
			// Possibly more: stop the command rather than transfer it.
			n, _ := io.ReadFull(stdout, make([]byte, 1))
			if n > 0 {
				truncated = true
				_ = sess.Close()
			}
		}
	}
	werr := sess.Wait()
	if ctx.Err() != nil {
		return nil, nil, -1, fmt.Errorf("ssh: %s: timed out or cancelled", argv[0])
	}
	if combined != nil {
		combined.mu.Lock()
		out = combined.buf.Bytes()
		combined.mu.Unlock()
	}
	stderr.mu.Lock()
	errOut = stderr.buf.Bytes()
	stderr.mu.Unlock()
	var ee *ssh.ExitError
	switch {
	case werr == nil:
		return out, errOut, 0, nil
	case errors.As(werr, &ee):
		return out, errOut, ee.ExitStatus(), nil
	case truncated:
		return out, errOut, -1, nil
	}
	return nil, nil, -1, fmt.Errorf("ssh: %s: %w", argv[0], werr)
}

// Fixed remote scripts; the path is "$1", never part of the script text.
const (
	sshReadScript = `if [ -d "$1" ]; then exit 3; elif [ ! -e "$1" ]; then exit 4; elif [ ! -f "$1" ]; then exit 5; elif [ ! -r "$1" ]; then exit 6; fi; exec cat -- "$1"`
	sshStatScript = `if [ -d "$1" ]; then echo d; elif [ -f "$1" ]; then echo f; elif [ -e "$1" ]; then echo o; else echo m; fi`
	sshDirScript  = `[ -d "$1" ] || { [ -e "$1" ] && exit 5; exit 4; }; [ -r "$1" ] && [ -x "$1" ] || exit 6
c=0; for f in "$1"/* "$1"/.[!.]* "$1"/..?*; do
[ -e "$f" ] || [ -L "$f" ] || continue; c=$((c+1)); [ "$c" -le "$2" ] || break
if [ -d "$f" ]; then if [ -L "$f" ]; then printf 'l/%s\n' "${f##*/}"; else printf 'd/%s\n' "${f##*/}"; fi
else printf 'f/%s\n' "${f##*/}"; fi; done`
	sshProcScript = `[ -d /proc ] || exit 4; for d in /proc/[0-9]*; do [ -d "$d" ] || continue
c=$(cat "$d/comm" 2>/dev/null) || c=; a=$(tr '\000' '\n' < "$d/cmdline" 2>/dev/null | head -n 1) || a=
[ -n "$c$a" ] || continue; printf '%s\t%s\t%s\n' "${d##*/}" "$c" "$a"; done`
)

func pathErr(op, name string, status int, stderr []byte) error {
	switch status {
	case 3:
		return fmt.Errorf("%s is a directory", name)
	case 4:
		return &fs.PathError{Op: op, Path: name, Err: fs.ErrNotExist}
	case 5:
		if op == "readdir" {
			return fmt.Errorf("%s: not a directory", name)
		}
		return fmt.Errorf("%s is not a regular file", name)
	case 6:
		return &fs.PathError{Op: op, Path: name, Err: fs.ErrPermission}
	}
	return fmt.Errorf("%s %s: exit status %d: %s", op, name, status, truncate(strings.TrimSpace(string(stderr)), 200))
}

func checkPath(name string) error {
	if !strings.HasPrefix(name, "/") {
		return fmt.Errorf("%s: not an absolute path", name)
	}
	return nil
}

// ReadFile implements Target.
func (t *SSHTarget) ReadFile(ctx context.Context, name string, max int64) ([]byte, error) {
	if err := checkPath(name); err != nil {
		return nil, err
	}
	out, stderr, status, err := t.exec(ctx, []string{"sh", "-c", sshReadScript, "sh", name}, max, false)
	if err != nil {
		return nil, err
	}
	if status != 0 && status != -1 {
		return nil, pathErr("open", name, status, stderr)
	}
	return out, nil
}

// Stat implements Target.
func (t *SSHTarget) Stat(ctx context.Context, name string) (FileInfo, error) {
	if err := checkPath(name); err != nil {
		return FileInfo{}, err
	}
	out, stderr, status, err := t.exec(ctx, []string{"sh", "-c", sshStatScript, "sh", name}, 16, false)
	if err != nil {
		return FileInfo{}, err
	}
	switch strings.TrimSpace(string(out)) {
	case "d":
		return FileInfo{IsDir: true}, nil
	case "f":
		return FileInfo{IsRegular: true}, nil
	case "o":
		return FileInfo{}, nil
	case "m":
		return FileInfo{}, &fs.PathError{Op: "stat", Path: name, Err: fs.ErrNotExist}
	}
	return FileInfo{}, pathErr("stat", name, status, stderr)
}

// ReadDir implements Target.
func (t *SSHTarget) ReadDir(ctx context.Context, name string, max int) ([]DirEntry, error) {
	if err := checkPath(name); err != nil {
		return nil, err
	}
	out, stderr, status, err := t.exec(ctx, []string{"sh", "-c", sshDirScript, "sh", name, strconv.Itoa(max)}, 16<<20, false)
	if err != nil {
		return nil, err
	}
	if status != 0 {
		return nil, pathErr("readdir", name, status, stderr)
	}
	var entries []DirEntry
	for line := range strings.SplitSeq(string(out), "\n") {
		typ, n, ok := strings.Cut(line, "/")
		if !ok || n == "" || (typ != "d" && typ != "f" && typ != "l") || len(entries) >= max {
			continue
		}
		entries = append(entries, DirEntry{Name: n, IsDir: typ != "f", Link: typ == "l"})
	}
	return entries, nil
}

// Processes implements Target.
func (t *SSHTarget) Processes(ctx context.Context) ([]Process, error) {
	out, stderr, status, err := t.exec(ctx, []string{"sh", "-c", sshProcScript}, 16<<20, false)
	if err != nil {
		return nil, err
	}
	if status != 0 {
		return nil, fmt.Errorf("process list: exit status %d: %s: %w", status, truncate(string(stderr), 200), errors.ErrUnsupported)
	}
	var procs []Process
	for line := range strings.SplitSeq(string(out), "\n") {
		f := strings.SplitN(line, "\t", 3)
		if len(f) != 3 || f[0] == "" || strings.Trim(f[0], "0123456789") != "" || len(procs) >= maxProcesses {
			continue
		}
		procs = append(procs, Process{PID: f[0], Comm: f[1], Argv0: f[2]})
	}
	return procs, nil
}

// Run implements Target: argv is sent word by word quoted, so the remote
// shell only ever sees literal words.
func (t *SSHTarget) Run(ctx context.Context, argv []string, max int64) (CommandResult, error) {
	if !t.opts.AllowCommands {
		return CommandResult{}, ErrCommandsNotAllowed
	}
	if len(argv) == 0 {
		return CommandResult{}, errors.New("empty command")
	}
	// "command -v" tells a missing program (which the shell would report
	// as status 127) from one that exits 127 itself.
	out, _, status, err := t.exec(ctx, append([]string{"sh", "-c", `command -v "$1" >/dev/null 2>&1 || exit 127; exec "$@"`, "sh"}, argv...), max, true)
	if err != nil {
		return CommandResult{}, err
	}
	if status == 127 && len(out) == 0 {
		return CommandResult{}, fmt.Errorf("%s: executable file not found", argv[0])
	}
	return CommandResult{Output: out, ExitStatus: status}, nil
}
