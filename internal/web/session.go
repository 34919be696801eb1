package web

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode"

	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/httpmw"
	"github.com/vigil-sec/vigil/internal/store"
)

// Cookie names.
const (
	sessionCookie = "vigil_session"
	// loginCSRFCookie holds the double-submit token of pages served
	// without a session (the login form and its language switch).
	loginCSRFCookie = "vigil_csrf"
	langCookie      = "lang"
	// csrfField and csrfHeader carry the token of a state-changing request.
	csrfField  = "csrf"
	csrfHeader = "X-CSRF-Token"
)

// csp is the Content-Security-Policy of every UI response: no inline
// script or style, nothing from other origins.
const csp = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"

// reqState is what the UI middleware learns about a request.
type reqState struct {
	sess   *store.Session // nil when nobody is signed in
	user   store.User
	cookie string // the raw session cookie
	locale string
	tenant *store.Tenant // the tenant of a /t/{tenant}/ route
	// loginCSRF is the pre-session token; set when a page is rendered
	// without a session.
	loginCSRF string
}

type stateKey struct{}

// state returns the request state set by loadSession.
func state(r *http.Request) *reqState {
	if st, ok := r.Context().Value(stateKey{}).(*reqState); ok {
		return st
	}
	return &reqState{locale: defaultLocale}
}

// signedIn reports whether the request has a session.
func (st *reqState) signedIn() bool { return st.sess != nil }

// csrfToken is the token forms of this request must carry.
func (st *reqState) csrfToken() string {
	if st.sess != nil {
		return st.sess.CSRFToken
	}
	return st.loginCSRF
}

// securityHeaders sets the CSP and caching headers of every UI response.
func (s *server) securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", csp)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("Cache-Control", "no-store")
		next.ServeHTTP(w, r)
	})
}

// loadSession is the one place a session cookie becomes a principal: it
// resolves the cookie, puts the principal in the context for the domain
// services, and picks the language of the response. It never refuses a
// request; each route's access check does.
func (s *server) loadSession(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		st := &reqState{}
		// Static files need no session; skipping it saves the lookups.
		if c, err := r.Cookie(sessionCookie); err == nil && c.Value != "" && !strings.HasPrefix(r.URL.Path, "/static/") {
			sess, p, err := s.opts.Auth.Session(ctx, c.Value)
			if err == nil {
				var u store.User
				u, err = s.opts.Store.Users().Get(ctx, sess.UserID)
				if err == nil {
					st.sess, st.user, st.cookie = &sess, u, c.Value
					ctx = auth.WithPrincipal(ctx, p)
				}
			}
			switch {
			case err == nil:
			case errors.Is(err, auth.ErrUnauthenticated) || errors.Is(err, store.ErrNotFound):
				s.clearCookie(w, sessionCookie)
			default:
				st.locale = s.pickLocale(r, st)
				s.fail(w, r.WithContext(context.WithValue(ctx, stateKey{}, st)), err)
				return
			}
		}
		if c, err := r.Cookie(loginCSRFCookie); err == nil && validToken(c.Value) {
			st.loginCSRF = c.Value
		}
		st.locale = s.pickLocale(r, st)
		next.ServeHTTP(w, r.WithContext(context.WithValue(ctx, stateKey{}, st)))
	})
}

// crossOrigin refuses state-changing requests that a browser marks as
// coming from another site (Sec-Fetch-Site, else Origin against Host).
func (s *server) crossOrigin(next http.Handler) http.Handler {
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.errorPage(w, r, http.StatusForbidden, "error.cross_site")
	}))
	return cop.Handler(next)
}

// multipartMemory is how much of a multipart form is kept in memory; the
// rest of an upload is spooled to temporary files, removed after the
// request.
const multipartMemory = 8 << 20

// checkCSRF requires the CSRF token on every state-changing request: the
// session's token when signed in, else the double-submit token of the
// login cookie. The token comes in the csrf form field or the
// X-CSRF-Token header and is compared in constant time.
func (s *server) checkCSRF(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodGet, http.MethodHead, http.MethodOptions:
			next.ServeHTTP(w, r)
			return
		}
		st := state(r)
		want := st.csrfToken()
		// Handlers read r.PostForm, so the form is parsed here for every
		// state-changing request.
		parse := r.ParseForm
		if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err == nil && mt == "multipart/form-data" {
			// #nosec G120 -- the body is capped by httpmw.LimitBodyUpload before it gets here; files over multipartMemory spool to disk.
			parse = func() error { return r.ParseMultipartForm(multipartMemory) }
			defer func() {
				if r.MultipartForm != nil {
					_ = r.MultipartForm.RemoveAll()
				}
			}()
		}
		if err := parse(); err != nil {
			var mbe *http.MaxBytesError
			if !errors.As(err, &mbe) {
				err = fmt.Errorf("%w: the form could not be read", store.ErrInvalid)
			}
			s.fail(w, r, err)
			return
		}
		got := r.Header.Get(csrfHeader)
		if got == "" {
			got = r.PostForm.Get(csrfField)
		}
		if want == "" || got == "" || subtle.ConstantTimeCompare([]byte(want), []byte(got)) != 1 {
			s.errorPage(w, r, http.StatusForbidden, "error.csrf")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// ensureLoginCSRF gives a request without a session its double-submit
// token, setting the cookie when the browser has none yet.
func (s *server) ensureLoginCSRF(w http.ResponseWriter, r *http.Request) {
	st := state(r)
	if st.sess != nil || st.loginCSRF != "" {
		return
	}
	st.loginCSRF = newToken()
	// #nosec G124 -- Secure follows the deployment (https base URL); HttpOnly and SameSite are set.
	http.SetCookie(w, &http.Cookie{Name: loginCSRFCookie, Value: st.loginCSRF, Path: "/",
		HttpOnly: true, Secure: s.opts.SecureCookies, SameSite: http.SameSiteStrictMode,
		MaxAge: int((12 * time.Hour).Seconds())})
}

func (s *server) setSessionCookie(w http.ResponseWriter, value string) {
	// #nosec G124 -- Secure follows the deployment (https base URL); HttpOnly and SameSite are set.
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: value, Path: "/",
		HttpOnly: true, Secure: s.opts.SecureCookies, SameSite: http.SameSiteLaxMode})
}

func (s *server) clearCookie(w http.ResponseWriter, name string) {
	// #nosec G124 -- Secure follows the deployment (https base URL); HttpOnly and SameSite are set.
	http.SetCookie(w, &http.Cookie{Name: name, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: s.opts.SecureCookies, SameSite: http.SameSiteLaxMode})
}

// newToken returns 32 random bytes, URL-safe encoded.
func newToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // never fails on supported platforms
	return base64.RawURLEncoding.EncodeToString(b)
}

func validToken(s string) bool {
	if len(s) != 43 {
		return false
	}
	_, err := base64.RawURLEncoding.DecodeString(s)
	return err == nil
}

// clientIP is the address used for rate limiting and the audit log.
func clientIP(r *http.Request) string {
	if ip := httpmw.IP(r.Context()); ip != "" {
		return ip
	}
	return httpmw.RemoteIP(r, nil)
}

// localPath returns next when it is a path on this site, else fallback.
// It keeps redirects after login or a language switch from leaving Vigil.
func localPath(next, fallback string) string {
	if next == "" || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") ||
		strings.HasPrefix(next, "/\\") || strings.IndexFunc(next, unicode.IsControl) >= 0 {
		return fallback
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" {
		return fallback
	}
	return next
}
