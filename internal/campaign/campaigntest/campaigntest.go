// Package campaigntest provides loopback targets for campaign tests:
// certificates made on the fly, TLS servers and plain listeners on
// 127.0.0.1, and filesystem roots for baseline runs. It is used by tests
// only.
package campaigntest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// Cert describes a certificate to make.
type Cert struct {
	CommonName string
	DNSNames   []string
	IPs        []net.IP
	NotBefore  time.Time
	NotAfter   time.Time
	// Parent signs the certificate; nil makes it self-signed.
	Parent *tls.Certificate
	IsCA   bool
	// RSABits makes an RSA key of that size instead of P-256.
	RSABits int
}

// MakeCert makes a certificate (P-256 unless RSABits is set).
func MakeCert(t testing.TB, c Cert) tls.Certificate {
	t.Helper()
	var key crypto.Signer
	var err error
	if c.RSABits > 0 {
		key, err = rsa.GenerateKey(rand.Reader, c.RSABits)
	} else {
		key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	}
	if err != nil {
		t.Fatal(err)
	}
	serial, err := rand.Int(rand.Reader, big.NewInt(1<<62))
	if err != nil {
		t.Fatal(err)
	}
	tpl := &x509.Certificate{
		SerialNumber: serial, Subject: pkix.Name{CommonName: c.CommonName}, DNSNames: c.DNSNames, IPAddresses: c.IPs,
		NotBefore: c.NotBefore, NotAfter: c.NotAfter, KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, BasicConstraintsValid: true, IsCA: c.IsCA,
	}
	parent, signer := tpl, any(key)
	if c.Parent != nil {
		parent = c.Parent.Leaf
		signer = c.Parent.PrivateKey
	}
	der, err := x509.CreateCertificate(rand.Reader, tpl, parent, key.Public(), signer)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}
}

// TLSServer serves TLS with cfg on a free port of 127.0.0.1 until the test
// ends, completing handshakes and closing each connection. It returns the
// port.
func TLSServer(t testing.TB, cfg *tls.Config) uint16 {
	t.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				_ = c.SetDeadline(time.Now().Add(5 * time.Second))
				_ = c.(*tls.Conn).Handshake()
				_ = c.Close()
			}()
		}
	}()
	return Port(t, ln.Addr())
}

// Listener is a plain TCP listener on 127.0.0.1 that accepts and closes
// connections.
type Listener struct {
	ln   net.Listener
	Port uint16
}

// Listen opens a Listener on a free port; it is closed when the test ends
// or by Close.
func Listen(t testing.TB) *Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := &Listener{ln: ln, Port: Port(t, ln.Addr())}
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			_ = c.Close()
		}
	}()
	return l
}

// Close stops listening: the port is then closed (connection refused).
func (l *Listener) Close() { _ = l.ln.Close() }

// FreePort returns a port of 127.0.0.1 that was free a moment ago (nothing
// listens on it).
func FreePort(t testing.TB) uint16 {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := Port(t, ln.Addr())
	_ = ln.Close()
	return p
}

// Port returns the port of a TCP address.
func Port(t testing.TB, a net.Addr) uint16 {
	t.Helper()
	_, ps, err := net.SplitHostPort(a.String())
	if err != nil {
		t.Fatal(err)
	}
	n, err := strconv.ParseUint(ps, 10, 16)
	if err != nil {
		t.Fatal(err)
	}
	return uint16(n)
}

// Root writes files (path relative to the root: content) under a new
// temporary directory and returns it.
func Root(t testing.TB, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	WriteFiles(t, dir, files)
	return dir
}

// WriteFiles writes files under dir, creating directories.
func WriteFiles(t testing.TB, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o750); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
}
