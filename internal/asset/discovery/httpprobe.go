package discovery

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/net/html"
	"golang.org/x/net/html/charset"
)

// Bounds of the HTTP probe.
const (
	// maxBody is how much of a page's body is read for its title.
	maxBody = 64 << 10
	// maxFavicon is the largest icon hashed; a larger one has no hash
	// (a hash of part of it would match nothing).
	maxFavicon = 256 << 10
	// maxRedirects is how many redirects the probe follows.
	maxRedirects = 4
	// maxURLLen bounds the URLs kept (redirect chain, icon).
	maxURLLen = 512
)

// HTTP is what the HTTP probe learned: the answer of the port to GET /,
// the redirects that followed, the title of the last page and the hash of
// the site's icon.
type HTTP struct {
	// Status and Server are the port's own answer to GET /.
	Status string `json:"status"`
	Server string `json:"server,omitempty"`
	// Title is the <title> of the last page fetched (after the
	// redirects), as UTF-8 whatever the page's charset.
	Title string `json:"title,omitempty"`
	// Redirects is the redirect chain, one hop per 3xx answer with a
	// Location.
	Redirects []Redirect `json:"redirects,omitempty"`
	// FaviconHash is the icon's hash as Shodan and FOFA compute it (see
	// FaviconHash), when the icon could be fetched.
	FaviconHash *int32 `json:"favicon_hash,omitempty"`
	FaviconURL  string `json:"favicon_url,omitempty"`
}

// Redirect is one hop of a redirect chain.
type Redirect struct {
	// URL answered Status with Location (made absolute).
	URL      string `json:"url"`
	Status   int    `json:"status"`
	Location string `json:"location"`
	// NotFollowed says why Location was not fetched: it is outside the
	// scan's scope, names a host by name, is not HTTP, or the chain is
	// too long. Empty when it was fetched.
	NotFollowed string `json:"not_followed,omitempty"`
}

// Reasons a redirect was not followed.
const (
	redirOutOfScope = "outside the scan's scope"
	redirHostName   = "host name (only addresses are followed)"
	redirScheme     = "not http or https"
	redirTooMany    = "too many redirects"
	redirBad        = "invalid location"
	redirLoop       = "already fetched"
)

// page is one HTTP response as the probe read it, bounded.
type page struct {
	status      int
	location    string
	contentType string
	body        []byte
	truncated   bool // the body was longer than the read allowed
}

// readPage reads an HTTP response to a GET from r, keeping at most limit
// bytes of the body. A body cut short by a timeout or a closed
// connection is kept as far as it came.
func readPage(r io.Reader, limit int) (*page, error) {
	resp, err := http.ReadResponse(bufio.NewReader(r), &http.Request{Method: http.MethodGet})
	if err != nil {
		return nil, err
	}
	defer func() { _ = resp.Body.Close() }()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, int64(limit)+1))
	p := &page{status: resp.StatusCode, location: resp.Header.Get("Location"), contentType: resp.Header.Get("Content-Type"), body: body}
	if len(p.body) > limit {
		p.body, p.truncated = p.body[:limit], true
	}
	return p, nil
}

// pageInfo reads a page's title and the href of its icon link from its
// HTML, decoded from the charset that the Content-Type, a byte order mark
// or a <meta> tag declares (UTF-8 when valid and undeclared).
func pageInfo(body []byte, contentType string) (title, icon string) {
	enc, _, _ := charset.DetermineEncoding(body, contentType)
	if dec, err := enc.NewDecoder().Bytes(body); err == nil {
		body = dec
	}
	z := html.NewTokenizer(bytes.NewReader(body))
	z.SetMaxBuf(maxBody * 4)
	gotTitle := false
	svg := 0 // depth in <svg>, whose <title> is an image's
	for {
		tt := z.Next()
		switch tt {
		case html.ErrorToken:
			return title, icon
		case html.EndTagToken:
			if name, _ := z.TagName(); string(name) == "svg" && svg > 0 {
				svg--
			}
		case html.StartTagToken, html.SelfClosingTagToken:
			name, hasAttr := z.TagName()
			switch string(name) {
			case "svg":
				if tt == html.StartTagToken {
					svg++
				}
			case "title":
				if gotTitle || svg > 0 {
					continue
				}
				gotTitle = true
				if z.Next() == html.TextToken {
					title = cleanTitle(string(z.Text()), maxFieldLen)
				}
			case "link":
				if icon != "" || !hasAttr {
					continue
				}
				var rel, href string
				for {
					k, v, more := z.TagAttr()
					switch string(k) {
					case "rel":
						rel = string(v)
					case "href":
						href = string(v)
					}
					if !more {
						break
					}
				}
				if isIconRel(rel) {
					icon = strings.TrimSpace(href)
				}
			case "body":
				if gotTitle {
					return title, icon
				}
			}
		}
	}
}

// isIconRel reports whether a link's rel names the site icon ("icon",
// "shortcut icon"), not a touch or mask icon.
func isIconRel(rel string) bool {
	for _, f := range strings.Fields(rel) {
		if strings.EqualFold(f, "icon") {
			return true
		}
	}
	return false
}

// cleanTitle collapses white space, drops control and invalid characters
// and bounds s to n bytes without splitting a character.
func cleanTitle(s string, n int) string {
	s = strings.ToValidUTF8(s, "")
	s = strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) {
			return ' '
		}
		if unicode.IsControl(r) || r == utf8.RuneError || unicode.Is(unicode.Cf, r) {
			return -1
		}
		return r
	}, s)
	s = strings.Join(strings.Fields(s), " ")
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut]
}

// nextHop resolves a Location against the URL that answered it and says
// whether the scan may fetch it: an http or https URL whose host is an
// address in scope. why is empty when it may.
func nextHop(base *url.URL, location string, scope Scope) (next *url.URL, why string) {
	loc, err := url.Parse(strings.TrimSpace(location))
	if err != nil || location == "" {
		return nil, redirBad
	}
	next = base.ResolveReference(loc)
	next.Fragment, next.RawFragment = "", ""
	if next.Scheme != "http" && next.Scheme != "https" {
		return next, redirScheme
	}
	a, err := netip.ParseAddr(next.Hostname())
	switch {
	case err != nil:
		return next, redirHostName
	case a.Zone() != "":
		return next, redirOutOfScope
	case !scope.ContainsAddr(a.Unmap()):
		return next, redirOutOfScope
	}
	if _, ok := urlPort(next); !ok {
		return next, redirBad
	}
	return next, ""
}

// urlPort is the port of an http or https URL.
func urlPort(u *url.URL) (uint16, bool) {
	if p := u.Port(); p != "" {
		n, err := strconv.ParseUint(p, 10, 16)
		return uint16(n), err == nil && n > 0
	}
	if u.Scheme == "https" {
		return 443, true
	}
	return 80, true
}

// portURL is the URL of / on host:port.
func portURL(scheme string, host netip.Addr, port uint16) *url.URL {
	return &url.URL{Scheme: scheme, Host: net.JoinHostPort(host.String(), strconv.Itoa(int(port))), Path: "/"}
}

// webProbe sends GET / on conn (plain, or TLS for https) and names the
// service from the answer. When it is HTTP it reads the page's title,
// follows redirects within the scan's scope and hashes the site's icon.
// ok is false when no rule matched the answer.
func (s *Scanner) webProbe(ctx context.Context, conn net.Conn, u *url.URL) (*Service, bool) {
	_ = conn.SetWriteDeadline(time.Now().Add(s.opts.Timeout))
	if _, err := conn.Write(getRequest(u)); err != nil {
		return nil, false
	}
	head := readBounded(conn, s.opts.Timeout, []byte("\r\n\r\n"))
	if len(head) == 0 {
		return nil, false
	}
	svc, ok := s.fps.identify(answerHTTP, head)
	if !ok || svc.Name != "http" || svc.HTTP == nil {
		return svc, ok
	}
	_ = conn.SetReadDeadline(time.Now().Add(s.opts.Timeout))
	p, err := readPage(io.MultiReader(bytes.NewReader(head), io.LimitReader(conn, maxBody+maxRead)), maxBody)
	if err != nil {
		return svc, ok
	}
	_ = conn.Close()
	s.followPage(ctx, svc.HTTP, u, p)
	return svc, ok
}

// followPage follows p's redirects within scope, reads the last page's
// title and hashes the icon of its site into h.
func (s *Scanner) followPage(ctx context.Context, h *HTTP, u *url.URL, p *page) {
	seen := map[string]bool{u.String(): true}
	for p.status >= 300 && p.status < 400 && p.location != "" {
		next, why := nextHop(u, p.location, s.opts.Scope)
		hop := Redirect{URL: bound(u.String(), maxURLLen), Status: p.status, Location: bound(sanitizeString(p.location), maxURLLen)}
		if next != nil {
			hop.Location = bound(next.String(), maxURLLen)
			if why == "" && seen[next.String()] {
				why = redirLoop
			}
		}
		if why == "" && len(h.Redirects) >= maxRedirects {
			why = redirTooMany
		}
		hop.NotFollowed = why
		h.Redirects = append(h.Redirects, hop)
		if why != "" {
			break
		}
		np, err := s.fetch(ctx, next, maxBody)
		if err != nil {
			return
		}
		seen[next.String()] = true
		u, p = next, np
	}
	title, icon := pageInfo(p.body, p.contentType)
	h.Title = title
	s.favicon(ctx, h, u, icon)
}

// favicon fetches the icon of the site of u (the page's icon link when it
// is on the same host, else /favicon.ico) and records its hash in h,
// unless the answer is an HTML page.
func (s *Scanner) favicon(ctx context.Context, h *HTTP, u *url.URL, href string) {
	iu := u.ResolveReference(&url.URL{Path: "/favicon.ico"})
	if href != "" {
		if ref, err := url.Parse(href); err == nil {
			r := u.ResolveReference(ref)
			if (r.Scheme == "http" || r.Scheme == "https") && r.Hostname() == u.Hostname() {
				iu = r
			}
		}
	}
	iu.Fragment, iu.RawFragment = "", ""
	if ctx.Err() != nil {
		return
	}
	p, err := s.fetch(ctx, iu, maxFavicon)
	if err != nil || p.status != http.StatusOK || p.truncated || len(p.body) == 0 {
		return
	}
	if strings.HasPrefix(http.DetectContentType(p.body), "text/html") {
		// A page served for any path (a soft 404), not an icon.
		return
	}
	hash := FaviconHash(p.body)
	h.FaviconHash, h.FaviconURL = &hash, bound(iu.String(), maxURLLen)
}

// errNotInScope refuses a fetch of an address the scan may not touch.
var errNotInScope = errors.New("discovery: address outside the scan's scope")

// fetch GETs u, an http or https URL whose host is an address in scope,
// on a connection of its own, and reads the answer with at most limit
// bytes of body.
func (s *Scanner) fetch(ctx context.Context, u *url.URL, limit int) (*page, error) {
	a, err := netip.ParseAddr(u.Hostname())
	if err != nil || a.Zone() != "" || !s.opts.Scope.ContainsAddr(a.Unmap()) {
		return nil, errNotInScope
	}
	port, ok := urlPort(u)
	if !ok {
		return nil, errNotInScope
	}
	conn, err := s.dialFresh(ctx, a.Unmap(), port)
	if err != nil {
		return nil, err
	}
	defer func() { _ = conn.Close() }()
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Now()) })
	defer stop()
	_ = conn.SetDeadline(time.Now().Add(s.opts.Timeout))
	if u.Scheme == "https" {
		tc := tls.Client(conn, tlsProbeConfig())
		if err := tc.HandshakeContext(ctx); err != nil {
			return nil, err
		}
		conn = tc
	}
	if _, err := conn.Write(getRequest(u)); err != nil {
		return nil, err
	}
	return readPage(io.LimitReader(conn, int64(limit)+maxRead), limit)
}

// tlsProbeConfig is the TLS configuration of every probe.
func tlsProbeConfig() *tls.Config {
	// #nosec G402 -- discovery must read the certificate of any TLS service,
	// including self-signed, expired and mis-named ones; the connection only
	// records the certificate and the answer to a GET, never sends
	// credentials or trusts the peer.
	return &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS10}
}

// getRequest is an HTTP/1.0 GET of u's path and query.
func getRequest(u *url.URL) []byte {
	return []byte("GET " + u.RequestURI() + " HTTP/1.0\r\nHost: " + u.Host +
		"\r\nUser-Agent: vigil-discovery\r\nAccept: */*\r\nConnection: close\r\n\r\n")
}
