package devicetest

import (
	"crypto/ed25519"
	"crypto/rand"
	"io"
	"net"
	"strings"
	"sync"
	"testing"

	"golang.org/x/crypto/ssh"
)

// SSHDevice is a loopback SSH server replaying a vendor CLI: it echoes
// input like a pty, answers pager commands silently, pages the config
// ("--More--", never a prompt) until every pager command was sent, and
// prints the config on the show command.
type SSHDevice struct {
	// Set by StartSSH.
	Addr string        // host:port
	Key  ssh.PublicKey // the host key it presents

	Banner      string
	Prompt      string
	ModePrompts map[string]string // command -> prompt after it
	Pager       []string          // commands that turn the pager off
	Show        string            // the show-config command
	Config      string
	// Session, when set, replaces the CLI after login.
	Session func(w io.Writer)

	t  testing.TB
	ln net.Listener
	wg sync.WaitGroup
	mu sync.Mutex
}

// The login the device accepts.
const (
	SSHUser     = "backup"
	SSHPassword = "device-pass"
)

// NewSigner returns a fresh ed25519 signer.
func NewSigner(t testing.TB) ssh.Signer {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// StartSSH starts d on a loopback port; it stops when the test ends.
func StartSSH(t testing.TB, d *SSHDevice) *SSHDevice {
	t.Helper()
	host := NewSigner(t)
	cfg := &ssh.ServerConfig{
		PasswordCallback: func(c ssh.ConnMetadata, pw []byte) (*ssh.Permissions, error) {
			if c.User() == SSHUser && string(pw) == SSHPassword {
				return nil, nil
			}
			return nil, io.EOF
		},
	}
	cfg.AddHostKey(host)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	d.t, d.ln, d.Addr, d.Key = t, ln, ln.Addr().String(), host.PublicKey()
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			d.wg.Add(1)
			go func() {
				defer d.wg.Done()
				d.serveConn(c, cfg)
			}()
		}
	}()
	t.Cleanup(func() {
		_ = ln.Close()
		d.wg.Wait()
	})
	return d
}

func (d *SSHDevice) serveConn(c net.Conn, cfg *ssh.ServerConfig) {
	defer c.Close()
	sc, chans, reqs, err := ssh.NewServerConn(c, cfg)
	if err != nil {
		return
	}
	defer sc.Close()
	go ssh.DiscardRequests(reqs)
	for nc := range chans {
		if nc.ChannelType() != "session" {
			_ = nc.Reject(ssh.UnknownChannelType, "no")
			continue
		}
		ch, rq, err := nc.Accept()
		if err != nil {
			return
		}
		shell := make(chan struct{})
		go func() {
			for r := range rq {
				ok := r.Type == "pty-req" || r.Type == "shell"
				if r.WantReply {
					_ = r.Reply(ok, nil)
				}
				if r.Type == "shell" {
					close(shell)
				}
			}
		}()
		<-shell
		d.cli(ch)
		_ = ch.Close()
	}
}

func crlf(s string) string { return strings.ReplaceAll(s, "\n", "\r\n") }

func (d *SSHDevice) cli(ch ssh.Channel) {
	d.mu.Lock()
	banner, prompt, session := d.Banner, d.Prompt, d.Session
	d.mu.Unlock()
	if session != nil {
		session(ch)
		return
	}
	_, _ = io.WriteString(ch, banner+prompt)
	sent := map[string]bool{}
	var line []byte
	buf := make([]byte, 256)
	for {
		n, err := ch.Read(buf)
		if err != nil {
			return
		}
		for _, c := range buf[:n] {
			if c != '\r' && c != '\n' {
				line = append(line, c)
				_, _ = ch.Write([]byte{c}) // echo
				continue
			}
			cmd := strings.TrimSpace(string(line))
			line = line[:0]
			_, _ = io.WriteString(ch, "\r\n")
			d.mu.Lock()
			if p, ok := d.ModePrompts[cmd]; ok {
				prompt = p
			}
			pagerDone := true
			for _, p := range d.Pager {
				if p == cmd {
					sent[cmd] = true
				}
				pagerDone = pagerDone && sent[p]
			}
			show, config := d.Show, d.Config
			d.mu.Unlock()
			switch {
			case cmd == "exit":
				return
			case cmd == "" || sent[cmd]:
			case cmd == show && !pagerDone:
				first, _, _ := strings.Cut(config, "\n")
				_, _ = io.WriteString(ch, crlf(first+"\n")+" --More-- ")
				continue // a pager waits for a key: no prompt
			case cmd == show:
				_, _ = io.WriteString(ch, crlf(config))
			default:
				_, _ = io.WriteString(ch, "% Invalid input detected at '^' marker.\r\n")
			}
			_, _ = io.WriteString(ch, prompt)
		}
	}
}

// SetConfig replaces the configuration the device prints.
func (d *SSHDevice) SetConfig(s string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.Config = s
}
