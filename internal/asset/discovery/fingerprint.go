package discovery

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Bounds on what fingerprinting reads and keeps.
const (
	maxRead      = 8 << 10
	maxBannerLen = 256
	maxFieldLen  = 256
	maxSANs      = 64
)

// Service is what fingerprinting learned about an open port.
type Service struct {
	// Name is the identified protocol: ssh, ftp, smtp, pop3, imap, redis,
	// memcached, mysql, mongodb, nats, mqtt, amqp, ldap, smb, rdp, http,
	// https, tls, or unknown (see fingerprints.yaml).
	Name string `json:"name"`
	// Product and Version name the software when its answer tells (the
	// HTTP Server header, the SSH banner, a Redis INFO reply, ...).
	Product string `json:"product,omitempty"`
	Version string `json:"version,omitempty"`
	// Banner is the first line the server sent, bounded and with
	// non-printable bytes escaped.
	Banner string   `json:"banner,omitempty"`
	HTTP   *HTTP    `json:"http,omitempty"`
	TLS    *TLSInfo `json:"tls,omitempty"`
}

// TLSInfo describes a TLS endpoint and its leaf certificate.
type TLSInfo struct {
	Version   string    `json:"version"`
	Subject   string    `json:"subject"`
	Issuer    string    `json:"issuer"`
	SANs      []string  `json:"sans,omitempty"`
	NotBefore time.Time `json:"not_before"`
	NotAfter  time.Time `json:"not_after"`
}

// fingerprint identifies the service on an open connection, which it
// closes. It waits briefly for a banner; if the server stays silent it
// sends the probes of fingerprints.yaml hinted for the port, then those
// that must come before HTTP (Redis), tries a TLS handshake, an HTTP GET
// request (see httpprobe.go), and, when that got no answer, the other
// probes (see the order in fingerprints.yaml). Each step after the first uses a fresh
// connection once the previous one has been written to.
func (s *Scanner) fingerprint(ctx context.Context, conn net.Conn, host netip.Addr, port uint16) *Service {
	fc := &fpConn{s: s, host: host, port: port, conn: conn}
	defer fc.close()
	stop := context.AfterFunc(ctx, fc.abort)
	defer stop()

	if b := readBounded(conn, s.opts.BannerWait, nil); len(b) > 0 {
		svc, _ := s.fps.identify(answerBanner, b)
		return svc
	}
	if ctx.Err() != nil {
		return nil
	}
	hinted, beforeHTTP, rest := s.fps.forPort(port)
	for _, p := range hinted {
		if svc, ok := s.sendProbe(ctx, fc, p, s.opts.Timeout); ok {
			return svc
		}
	}
	for _, p := range beforeHTTP {
		if svc, ok := s.sendProbe(ctx, fc, p, s.opts.BannerWait); ok {
			return svc
		}
	}
	c, ok := fc.take(ctx)
	if !ok {
		return fc.unknown(ctx)
	}
	if svc := s.probeTLS(ctx, c, host, port); svc != nil {
		return svc
	}
	c, ok = fc.take(ctx)
	if !ok {
		return fc.unknown(ctx)
	}
	var unknown *Service
	if svc, ok := s.webProbe(ctx, c, portURL("http", host, port)); ok {
		return svc
	} else if svc != nil {
		unknown = svc
	}
	if ctx.Err() != nil {
		return nil
	}
	if unknown == nil && len(rest) > 0 {
		if svc := s.probeAll(ctx, host, port, rest); svc != nil {
			return svc
		}
	}
	if unknown != nil {
		return unknown
	}
	return &Service{Name: "unknown"}
}

// fpConn hands out the connections of one fingerprint: the scan's own
// first, as long as nothing was written to it, then fresh ones.
type fpConn struct {
	s    *Scanner
	host netip.Addr
	port uint16
	mu   sync.Mutex
	conn net.Conn // the connection in use; nil once closed
	used bool     // something was written to conn
	gone bool     // the context ended: no more connections
}

// take returns an unused connection, dialling a new one if the current one
// was written to. ok is false when none could be had.
func (f *fpConn) take(ctx context.Context) (net.Conn, bool) {
	f.mu.Lock()
	if f.conn != nil && !f.used {
		c := f.conn
		f.used = true
		f.mu.Unlock()
		return c, true
	}
	if f.conn != nil {
		_ = f.conn.Close()
		f.conn = nil
	}
	f.mu.Unlock()
	c, err := f.s.dialFresh(ctx, f.host, f.port)
	if err != nil {
		return nil, false
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.gone {
		_ = c.Close()
		return nil, false
	}
	f.conn, f.used = c, true
	return c, true
}

// abort ends the connection in use when the context is done.
func (f *fpConn) abort() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.gone = true
	if f.conn != nil {
		_ = f.conn.SetDeadline(time.Now())
	}
}

func (f *fpConn) close() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.conn != nil {
		_ = f.conn.Close()
		f.conn = nil
	}
}

// unknown is the result when no more connections could be had.
func (f *fpConn) unknown(ctx context.Context) *Service {
	if ctx.Err() != nil {
		return nil
	}
	return &Service{Name: "unknown"}
}

// dialFresh opens another connection to host:port within the rate limit.
func (s *Scanner) dialFresh(ctx context.Context, host netip.Addr, port uint16) (net.Conn, error) {
	if err := s.limiter.Wait(ctx); err != nil {
		return nil, err
	}
	return s.dialer.DialContext(ctx, "tcp", net.JoinHostPort(host.String(), strconv.Itoa(int(port))))
}

// sendProbe sends p on a connection of fc and names the service from the
// answer read within wait.
func (s *Scanner) sendProbe(ctx context.Context, fc *fpConn, p *svcProbe, wait time.Duration) (*Service, bool) {
	c, ok := fc.take(ctx)
	if !ok {
		return nil, false
	}
	b := writeRead(c, p.payload, s.opts.Timeout, wait)
	if len(b) == 0 {
		return nil, false
	}
	svc, ok := s.fps.identify(p.Name, b)
	if !ok || svc.Name == "http" {
		// An HTTP server's complaint about the probe: the GET request
		// tells more.
		return nil, false
	}
	return svc, true
}

// probeAll sends every probe of ps on a connection of its own, all at
// once, and returns the service named by the first of ps whose answer a
// rule matched, or nil.
func (s *Scanner) probeAll(ctx context.Context, host netip.Addr, port uint16, ps []*svcProbe) *Service {
	found := make([]*Service, len(ps))
	var wg sync.WaitGroup
	for i, p := range ps {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := s.dialFresh(ctx, host, port)
			if err != nil {
				return
			}
			defer func() { _ = c.Close() }()
			stop := context.AfterFunc(ctx, func() { _ = c.SetDeadline(time.Now()) })
			defer stop()
			if b := writeRead(c, p.payload, s.opts.Timeout, s.opts.BannerWait); len(b) > 0 {
				if svc, ok := s.fps.identify(p.Name, b); ok {
					found[i] = svc
				}
			}
		}()
	}
	wg.Wait()
	for _, svc := range found {
		if svc != nil {
			return svc
		}
	}
	return nil
}

// writeRead writes payload and returns the first bytes of the answer that
// arrive within wait: one read's worth, which is the whole answer of the
// probed services, bounded by maxRead.
func writeRead(c net.Conn, payload []byte, writeWait, wait time.Duration) []byte {
	_ = c.SetWriteDeadline(time.Now().Add(writeWait))
	if _, err := c.Write(payload); err != nil {
		return nil
	}
	_ = c.SetReadDeadline(time.Now().Add(wait))
	buf := make([]byte, maxRead)
	n, _ := c.Read(buf)
	return buf[:n]
}

// probeTLS handshakes on conn and, on success, returns the certificate and
// whatever an HTTP GET request over TLS tells.
func (s *Scanner) probeTLS(ctx context.Context, conn net.Conn, host netip.Addr, port uint16) *Service {
	// The banner wait left an expired read deadline behind.
	_ = conn.SetDeadline(time.Now().Add(s.opts.Timeout))
	tc := tls.Client(conn, tlsProbeConfig())
	hctx, cancel := context.WithTimeout(ctx, s.opts.Timeout)
	defer cancel()
	if err := tc.HandshakeContext(hctx); err != nil {
		return nil
	}
	st := tc.ConnectionState()
	info := &TLSInfo{Version: tls.VersionName(st.Version)}
	if len(st.PeerCertificates) > 0 {
		c := st.PeerCertificates[0]
		info.Subject = bound(c.Subject.String(), maxFieldLen)
		info.Issuer = bound(c.Issuer.String(), maxFieldLen)
		info.NotBefore, info.NotAfter = c.NotBefore.UTC(), c.NotAfter.UTC()
		for _, n := range c.DNSNames {
			info.SANs = append(info.SANs, bound(n, maxFieldLen))
		}
		for _, ip := range c.IPAddresses {
			info.SANs = append(info.SANs, ip.String())
		}
		if len(info.SANs) > maxSANs {
			info.SANs = info.SANs[:maxSANs]
		}
	}
	svc := &Service{Name: "tls", TLS: info}
	if inner, _ := s.webProbe(ctx, tc, portURL("https", host, port)); inner != nil {
		svc.Banner, svc.HTTP, svc.Product, svc.Version = inner.Banner, inner.HTTP, inner.Product, inner.Version
		switch inner.Name {
		case "http":
			svc.Name = "https"
		case "unknown":
		default:
			svc.Name = inner.Name
		}
	}
	return svc
}

// readBounded reads at most maxRead bytes within d, stopping early at stop
// (when given) or when the peer closes.
func readBounded(conn net.Conn, d time.Duration, stop []byte) []byte {
	_ = conn.SetReadDeadline(time.Now().Add(d))
	buf := make([]byte, 0, 1024)
	tmp := make([]byte, 1024)
	for len(buf) < maxRead {
		n, err := conn.Read(tmp[:min(len(tmp), maxRead-len(buf))])
		buf = append(buf, tmp[:n]...)
		if err != nil {
			break
		}
		if stop == nil {
			// A server that speaks first sends its greeting at once; a
			// full line is enough.
			if bytes.IndexByte(buf, '\n') >= 0 {
				break
			}
		} else if bytes.Contains(buf, stop) {
			break
		}
	}
	return buf
}

func parseHTTP(b []byte) *HTTP {
	h := &HTTP{}
	first := b
	if i := bytes.IndexByte(first, '\n'); i >= 0 {
		first = first[:i]
	}
	h.Status = sanitize(bytes.TrimRight(first, "\r"), maxFieldLen)
	resp, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(b)), &http.Request{Method: http.MethodHead})
	if err != nil {
		return h
	}
	_ = resp.Body.Close()
	h.Server = bound(sanitizeString(resp.Header.Get("Server")), maxFieldLen)
	return h
}

// sanitize keeps printable ASCII and escapes every other byte as \xNN, then
// bounds the length, so a hostile banner is stored inert.
func sanitize(b []byte, n int) string {
	var sb strings.Builder
	for _, c := range b {
		if sb.Len() >= n {
			break
		}
		if c >= 0x20 && c < 0x7f && c != '\\' {
			sb.WriteByte(c)
			continue
		}
		sb.WriteString(`\x`)
		sb.WriteString(strconv.FormatUint(uint64(c)>>4, 16))
		sb.WriteString(strconv.FormatUint(uint64(c)&0xf, 16))
	}
	return bound(sb.String(), n)
}

func sanitizeString(s string) string { return sanitize([]byte(s), maxFieldLen) }

func bound(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
