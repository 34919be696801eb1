package backup

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"
)

// Errors returned by Fetch, checked with errors.Is.
var (
	// ErrHostKeyChanged means the device presented a key other than the
	// pinned one. An admin must accept the new key before backups resume.
	ErrHostKeyChanged = errors.New("device host key changed")
	// ErrNoHostKey means no key is pinned and TOFU was not requested.
	ErrNoHostKey = errors.New("no pinned host key")
	// ErrTimeout means a step did not finish within its time budget.
	ErrTimeout = errors.New("device did not answer in time")
	// ErrTooLarge means the device sent more than MaxOutput bytes.
	ErrTooLarge = errors.New("device output too large")
)

// Defaults for Target's zero fields.
const (
	DefaultTimeout   = 30 * time.Second
	DefaultMaxOutput = 16 << 20
)

// Target is one device to back up.
type Target struct {
	Addr     string // host:port
	User     string
	Password string
	Signer   ssh.Signer // used when set, alongside Password if both are given
	// HostKey is the pinned key. When nil, Fetch refuses unless TOFU is
	// set, in which case the presented key is returned in Config.HostKey
	// for the caller to pin.
	HostKey ssh.PublicKey
	TOFU    bool
	// Timeout bounds the dial, the handshake and each command; zero means
	// DefaultTimeout. MaxOutput bounds all bytes read; zero means
	// DefaultMaxOutput.
	Timeout   time.Duration
	MaxOutput int
}

// Config is one fetched configuration.
type Config struct {
	Text    string // cleaned configuration, secrets included
	Masked  string // Text with secrets masked: the form to show and diff
	SHA256  string // hex digest of Text
	Fetched time.Time
	HostKey ssh.PublicKey // the key the device presented
}

// Fetch logs into the device with an interactive shell, turns the pager
// off, runs the profile's show-config command and returns the cleaned
// output.
func Fetch(ctx context.Context, t Target, p *Profile) (Config, error) {
	if p == nil || p.prompt == nil {
		return Config{}, errors.New("backup: profile not loaded")
	}
	if t.HostKey == nil && !t.TOFU {
		return Config{}, fmt.Errorf("backup %s: %w", t.Addr, ErrNoHostKey)
	}
	timeout := t.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	limit := t.MaxOutput
	if limit <= 0 {
		limit = DefaultMaxOutput
	}
	var presented ssh.PublicKey
	auth := []ssh.AuthMethod{}
	if t.Signer != nil {
		auth = append(auth, ssh.PublicKeys(t.Signer))
	}
	if t.Password != "" {
		pw := t.Password
		auth = append(auth, ssh.Password(pw), ssh.KeyboardInteractive(
			func(_, _ string, qs []string, _ []bool) ([]string, error) {
				ans := make([]string, len(qs))
				for i := range ans {
					ans[i] = pw
				}
				return ans, nil
			}))
	}
	if len(auth) == 0 {
		return Config{}, fmt.Errorf("backup %s: no password or key given", t.Addr)
	}
	cc := &ssh.ClientConfig{
		User: t.User,
		Auth: auth,
		HostKeyCallback: func(_ string, _ net.Addr, key ssh.PublicKey) error {
			presented = key
			if t.HostKey == nil {
				return nil // TOFU: the caller pins Config.HostKey
			}
			if !bytes.Equal(key.Marshal(), t.HostKey.Marshal()) {
				return fmt.Errorf("%w: pinned %s, presented %s", ErrHostKeyChanged,
					ssh.FingerprintSHA256(t.HostKey), ssh.FingerprintSHA256(key))
			}
			return nil
		},
		Timeout: timeout,
	}

	dctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(dctx, "tcp", t.Addr)
	if err != nil {
		return Config{}, fmt.Errorf("backup %s: dial: %w", t.Addr, err)
	}
	defer conn.Close()
	// Close the connection when ctx ends so that blocked reads return.
	stop := context.AfterFunc(ctx, func() { _ = conn.Close() })
	defer stop()

	_ = conn.SetDeadline(time.Now().Add(timeout))
	sc, chans, reqs, err := ssh.NewClientConn(conn, t.Addr, cc)
	if err != nil {
		if errors.Is(err, ErrHostKeyChanged) {
			return Config{}, fmt.Errorf("backup %s: %w", t.Addr, err)
		}
		return Config{}, fmt.Errorf("backup %s: handshake: %w", t.Addr, timeoutErr(err))
	}
	_ = conn.SetDeadline(time.Time{})
	client := ssh.NewClient(sc, chans, reqs)
	defer client.Close()

	text, err := runShell(ctx, client, p, timeout, limit)
	if err != nil {
		return Config{}, fmt.Errorf("backup %s (%s): %w", t.Addr, p.Name, err)
	}
	sum := sha256.Sum256([]byte(text))
	return Config{
		Text:    text,
		Masked:  Mask(text, p),
		SHA256:  hex.EncodeToString(sum[:]),
		Fetched: time.Now().UTC(),
		HostKey: presented,
	}, nil
}

func timeoutErr(err error) error {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return fmt.Errorf("%w: %w", ErrTimeout, err)
	}
	return err
}

// session reads the shell's output in the background, bounded.
type session struct {
	chunks chan []byte
	errc   chan error
	done   chan struct{}
	buf    []byte
	total  int
	limit  int
}

func runShell(ctx context.Context, client *ssh.Client, p *Profile, timeout time.Duration, limit int) (string, error) {
	s, err := client.NewSession()
	if err != nil {
		return "", fmt.Errorf("open session: %w", err)
	}
	defer s.Close()
	modes := ssh.TerminalModes{ssh.ECHO: 1, ssh.TTY_OP_ISPEED: 38400, ssh.TTY_OP_OSPEED: 38400}
	if err := s.RequestPty("vt100", 0, 511, modes); err != nil {
		return "", fmt.Errorf("request pty: %w", err)
	}
	stdin, err := s.StdinPipe()
	if err != nil {
		return "", fmt.Errorf("stdin: %w", err)
	}
	stdout, err := s.StdoutPipe()
	if err != nil {
		return "", fmt.Errorf("stdout: %w", err)
	}
	if err := s.Shell(); err != nil {
		return "", fmt.Errorf("start shell: %w", err)
	}
	sess := &session{chunks: make(chan []byte, 16), errc: make(chan error, 1), done: make(chan struct{}), limit: limit}
	defer close(sess.done)
	go sess.pump(stdout)

	if _, err := sess.expect(ctx, p, timeout, "login prompt"); err != nil {
		return "", err
	}
	for _, c := range p.PagerOff {
		if err := send(stdin, c); err != nil {
			return "", err
		}
		if _, err := sess.expect(ctx, p, timeout, "prompt after "+c); err != nil {
			return "", err
		}
	}
	if err := send(stdin, p.ShowConfig); err != nil {
		return "", err
	}
	raw, err := sess.expect(ctx, p, timeout, "end of "+p.ShowConfig)
	if err != nil {
		return "", err
	}
	_ = send(stdin, "exit")
	return normalize(raw, p.ShowConfig, p), nil
}

func send(w io.Writer, cmd string) error {
	if _, err := io.WriteString(w, cmd+"\r"); err != nil {
		return fmt.Errorf("send %q: %w", cmd, err)
	}
	return nil
}

func (s *session) pump(r io.Reader) {
	for {
		b := make([]byte, 32<<10)
		n, err := r.Read(b)
		if n > 0 {
			select {
			case s.chunks <- b[:n]:
			case <-s.done:
				return
			}
		}
		if err != nil {
			s.errc <- err
			close(s.chunks)
			return
		}
	}
}

// expect reads until the last line of output matches the prompt and
// returns everything read since the previous expect.
func (s *session) expect(ctx context.Context, p *Profile, timeout time.Duration, what string) (string, error) {
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		if atPrompt(s.buf, p) {
			out := string(s.buf)
			s.buf = s.buf[:0]
			return out, nil
		}
		select {
		case <-ctx.Done():
			return "", fmt.Errorf("waiting for %s: %w", what, ctx.Err())
		case <-timer.C:
			return "", fmt.Errorf("waiting for %s after %s: %w", what, timeout, ErrTimeout)
		case b, ok := <-s.chunks:
			if !ok {
				err := <-s.errc
				if errors.Is(err, io.EOF) {
					err = io.ErrUnexpectedEOF
				}
				return "", fmt.Errorf("waiting for %s: connection closed: %w", what, err)
			}
			s.total += len(b)
			if s.total > s.limit {
				return "", fmt.Errorf("waiting for %s: more than %d bytes: %w", what, s.limit, ErrTooLarge)
			}
			s.buf = append(s.buf, b...)
		}
	}
}

// atPrompt reports whether the unterminated last line of buf is a prompt.
func atPrompt(buf []byte, p *Profile) bool {
	const maxPrompt = 512
	tail := buf
	if len(tail) > maxPrompt+1 {
		tail = tail[len(tail)-maxPrompt-1:]
	}
	i := bytes.LastIndexByte(tail, '\n')
	if i < 0 && len(tail) > maxPrompt {
		return false // last line longer than any prompt
	}
	last := tail[i+1:]
	if len(last) == 0 {
		return false
	}
	line := strings.TrimRight(cleanTerminal(string(last)), " ")
	return line != "" && p.prompt.MatchString(line)
}
