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
	// mysql, nats, http, https, tls, or unknown.
	Name string `json:"name"`
	// Banner is the first line the server sent, bounded and with
	// non-printable bytes escaped.
	Banner string   `json:"banner,omitempty"`
	HTTP   *HTTP    `json:"http,omitempty"`
	TLS    *TLSInfo `json:"tls,omitempty"`
}

// HTTP is the answer to a HEAD / request.
type HTTP struct {
	Status string `json:"status"`
	Server string `json:"server,omitempty"`
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
// closes. It waits briefly for a banner; if the server stays silent it tries
// a TLS handshake on the same connection, then an HTTP HEAD request (over
// TLS, or on a fresh connection if TLS failed).
func (s *Scanner) fingerprint(ctx context.Context, conn net.Conn, host netip.Addr, port uint16) *Service {
	defer func() { _ = conn.Close() }()
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Now()) })
	defer stop()

	if b := readBounded(conn, s.opts.BannerWait, nil); len(b) > 0 {
		return classify(b)
	}
	if ctx.Err() != nil {
		return nil
	}
	if svc := s.probeTLS(ctx, conn, host); svc != nil {
		return svc
	}
	// The handshake spoiled the connection: use a fresh one for HTTP.
	if err := s.limiter.Wait(ctx); err != nil {
		return nil
	}
	c2, err := s.dialer.DialContext(ctx, "tcp", net.JoinHostPort(host.String(), strconv.Itoa(int(port))))
	if err != nil {
		return &Service{Name: "unknown"}
	}
	defer func() { _ = c2.Close() }()
	stop2 := context.AfterFunc(ctx, func() { _ = c2.SetDeadline(time.Now()) })
	defer stop2()
	if b := s.headRequest(c2, host); len(b) > 0 {
		return classify(b)
	}
	return &Service{Name: "unknown"}
}

// probeTLS handshakes on conn and, on success, returns the certificate and
// whatever an HTTP HEAD request over TLS tells.
func (s *Scanner) probeTLS(ctx context.Context, conn net.Conn, host netip.Addr) *Service {
	// #nosec G402 -- discovery must read the certificate of any TLS service,
	// including self-signed, expired and mis-named ones; the connection only
	// records the certificate and a HEAD response, never sends credentials
	// or trusts the peer.
	cfg := &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS10}
	// The banner wait left an expired read deadline behind.
	_ = conn.SetDeadline(time.Now().Add(s.opts.Timeout))
	tc := tls.Client(conn, cfg)
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
	if b := s.headRequest(tc, host); len(b) > 0 {
		inner := classify(b)
		svc.Banner, svc.HTTP = inner.Banner, inner.HTTP
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

// headRequest sends HEAD / and returns the bounded answer.
func (s *Scanner) headRequest(conn net.Conn, host netip.Addr) []byte {
	hostHdr := host.String()
	if host.Is6() {
		hostHdr = "[" + hostHdr + "]"
	}
	_ = conn.SetWriteDeadline(time.Now().Add(s.opts.Timeout))
	req := "HEAD / HTTP/1.0\r\nHost: " + hostHdr + "\r\nUser-Agent: vigil-discovery\r\nConnection: close\r\n\r\n"
	if _, err := conn.Write([]byte(req)); err != nil {
		return nil
	}
	return readBounded(conn, s.opts.Timeout, []byte("\r\n\r\n"))
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

// classify names the protocol of a server's first bytes.
func classify(b []byte) *Service {
	first := b
	if i := bytes.IndexByte(first, '\n'); i >= 0 {
		first = first[:i]
	}
	first = bytes.TrimRight(first, "\r")
	svc := &Service{Name: "unknown", Banner: sanitize(first, maxBannerLen)}
	upper := strings.ToUpper(string(first))
	switch {
	case bytes.HasPrefix(b, []byte("HTTP/")):
		svc.Name = "http"
		svc.HTTP = parseHTTP(b)
	case bytes.HasPrefix(b, []byte("SSH-")):
		svc.Name = "ssh"
	case bytes.HasPrefix(b, []byte("220")):
		switch {
		case strings.Contains(upper, "FTP"):
			svc.Name = "ftp"
		case strings.Contains(upper, "SMTP"), strings.Contains(upper, "MAIL"):
			svc.Name = "smtp"
		default:
			svc.Name = "ftp-or-smtp"
		}
	case bytes.HasPrefix(b, []byte("* OK")):
		svc.Name = "imap"
	case bytes.HasPrefix(b, []byte("+OK")):
		svc.Name = "pop3"
	case bytes.HasPrefix(b, []byte("-ERR")), bytes.HasPrefix(b, []byte("-NOAUTH")),
		bytes.HasPrefix(b, []byte("-DENIED")), bytes.HasPrefix(b, []byte("+PONG")):
		svc.Name = "redis"
	case bytes.HasPrefix(b, []byte("INFO {")):
		svc.Name = "nats"
	case len(b) > 5 && b[3] == 0 && b[4] == 0x0a && int(b[0])|int(b[1])<<8|int(b[2])<<16 == len(b)-4:
		// MySQL/MariaDB initial handshake, protocol 10: the banner is the
		// NUL-terminated server version.
		svc.Name = "mysql"
		v := b[5:]
		if i := bytes.IndexByte(v, 0); i >= 0 {
			v = v[:i]
		}
		svc.Banner = sanitize(v, maxBannerLen)
	}
	return svc
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
