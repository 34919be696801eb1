package web

import (
	"errors"
	"net/http"
	"time"
	"unicode/utf8"

	"github.com/vigil-sec/vigil/internal/audit"
	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/httpmw"
)

type loginPage struct {
	Base
	Username string
	Next     string
	Error    string
}

func (s *server) loginForm(w http.ResponseWriter, r *http.Request) error {
	next := localPath(r.URL.Query().Get("next"), "/")
	if state(r).signedIn() {
		redirect(w, r, next)
		return nil
	}
	s.render(w, r, http.StatusOK, "login", &loginPage{Next: next})
	return nil
}

// login checks the credentials, records the attempt in the audit log and
// starts a session. Errors never tell whether the user exists.
func (s *server) login(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	st := state(r)
	username, password := r.PostForm.Get("username"), r.PostForm.Get("password")
	v := &loginPage{Username: username, Next: localPath(r.PostForm.Get("next"), "/")}
	ip := clientIP(r)
	p, u, err := s.opts.Auth.Login(ctx, username, password, ip)
	if err != nil {
		reason := ""
		switch {
		case errors.Is(err, auth.ErrInvalidCredentials):
			reason, v.Error = "invalid_credentials", s.msgs.T(st.locale, "signin.error.invalid")
		case errors.Is(err, auth.ErrRateLimited):
			reason, v.Error = "rate_limited", s.msgs.T(st.locale, "signin.error.rate_limited")
		default:
			return err
		}
		if aerr := s.opts.Audit.RecordAs(ctx, &auth.Principal{}, audit.Event{Action: "login.failed",
			Detail: map[string]string{"username": truncate(username, 64), "reason": reason}, IP: ip}); aerr != nil {
			s.log.Error("audit failed login", "err", aerr)
		}
		status, _ := httpmw.Status(err)
		s.render(w, r, status, "login", v)
		return nil
	}
	if err := s.opts.Audit.RecordAs(ctx, p, audit.Event{Action: "login", Object: "user:" + u.ID, IP: ip}); err != nil {
		return err
	}
	if st.cookie != "" {
		if err := s.opts.Auth.Logout(ctx, st.cookie); err != nil {
			s.log.Warn("end previous session", "err", err)
		}
	}
	raw, _, err := s.opts.Auth.NewSession(ctx, u, ip, r.UserAgent())
	if err != nil {
		return err
	}
	s.setSessionCookie(w, raw)
	if u.MustChangePassword {
		redirect(w, r, "/account/password")
		return nil
	}
	redirect(w, r, v.Next)
	return nil
}

// logout ends the session. It is audited first; a failure to audit is
// logged but does not keep anyone signed in.
func (s *server) logout(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	st := state(r)
	p := auth.FromContext(ctx)
	if err := s.opts.Audit.RecordAs(ctx, p, audit.Event{Action: "logout", Object: "user:" + p.UserID, IP: clientIP(r)}); err != nil {
		s.log.Error("audit logout", "err", err)
	}
	if err := s.opts.Auth.Logout(ctx, st.cookie); err != nil {
		return err
	}
	s.clearCookie(w, sessionCookie)
	redirect(w, r, "/login")
	return nil
}

// switchLanguage sets the UI language: in the lang cookie, and for a
// signed-in user in their profile.
func (s *server) switchLanguage(w http.ResponseWriter, r *http.Request) error {
	tag := r.PostForm.Get("lang")
	if !validLocale(tag) {
		return errInvalid("unknown language")
	}
	if state(r).signedIn() {
		if err := s.opts.Tenants.SetOwnLocale(r.Context(), tag); err != nil {
			return err
		}
	}
	// #nosec G124 -- Secure follows the deployment (https base URL); HttpOnly and SameSite are set.
	http.SetCookie(w, &http.Cookie{Name: langCookie, Value: tag, Path: "/", HttpOnly: true,
		Secure: s.opts.SecureCookies, SameSite: http.SameSiteLaxMode, MaxAge: int((365 * 24 * time.Hour).Seconds())})
	redirect(w, r, localPath(r.PostForm.Get("next"), "/"))
	return nil
}

func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n])
}
