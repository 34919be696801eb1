package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/vigil-sec/vigil/internal/store"
)

// Errors returned to callers that map them to responses.
var (
	// ErrInvalidCredentials covers unknown user, wrong password and
	// disabled account alike, so a caller cannot tell which.
	ErrInvalidCredentials = errors.New("invalid username or password")
	// ErrRateLimited means too many failed logins from this client or for
	// this user; try again later.
	ErrRateLimited = errors.New("too many failed login attempts; try again later")
	// ErrUnauthenticated means no valid session or token.
	ErrUnauthenticated = errors.New("authentication required")
)

// TokenPrefix starts every API token so leaked tokens are easy to scan for.
const TokenPrefix = "vgl_"

// Service authenticates users, sessions and API tokens.
type Service struct {
	store      store.Store
	logger     *slog.Logger
	now        func() time.Time
	sessionTTL time.Duration
	limiter    *limiter
}

// Options configures a Service.
type Options struct {
	Logger *slog.Logger
	// SessionTTL is how long an idle browser session lasts (default 12h).
	SessionTTL time.Duration
	// MaxFailures within FailureWindow locks a client or username out for
	// the rest of the window (defaults 10 and 15m).
	MaxFailures   int
	FailureWindow time.Duration
	Now           func() time.Time
}

// NewService returns an authentication service over s.
func NewService(s store.Store, opts Options) *Service {
	svc := &Service{store: s, logger: opts.Logger, now: opts.Now, sessionTTL: opts.SessionTTL}
	if svc.logger == nil {
		svc.logger = slog.New(slog.DiscardHandler)
	}
	if svc.now == nil {
		svc.now = time.Now
	}
	if svc.sessionTTL <= 0 {
		svc.sessionTTL = 12 * time.Hour
	}
	maxF, win := opts.MaxFailures, opts.FailureWindow
	if maxF <= 0 {
		maxF = 10
	}
	if win <= 0 {
		win = 15 * time.Minute
	}
	svc.limiter = &limiter{max: maxF, window: win, fails: map[string][]time.Time{}}
	return svc
}

// Login checks a username and password. clientIP is used for rate limiting.
// On success it returns the user's principal.
func (s *Service) Login(ctx context.Context, username, password, clientIP string) (*Principal, store.User, error) {
	now := s.now()
	username = strings.TrimSpace(username)
	keys := []string{"ip:" + clientIP, "user:" + strings.ToLower(username)}
	if s.limiter.blocked(now, keys...) {
		return nil, store.User{}, ErrRateLimited
	}
	u, err := s.store.Users().GetByUsername(ctx, username)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, store.User{}, fmt.Errorf("login: %w", err)
	}
	ok := err == nil && !u.Disabled && VerifyPassword(u.PasswordHash, password)
	if err != nil {
		// Spend the same time as a real check so usernames cannot be probed.
		VerifyPassword(dummyHash(), password)
	}
	if !ok {
		s.limiter.fail(now, keys...)
		return nil, store.User{}, ErrInvalidCredentials
	}
	s.limiter.reset(keys...)
	u.LastLoginAt = now.UTC()
	if err := s.store.Users().Update(ctx, &u); err != nil {
		return nil, store.User{}, fmt.Errorf("login: %w", err)
	}
	p, err := s.UserPrincipal(ctx, u)
	return p, u, err
}

// dummyHash is verified for unknown users to keep timing uniform.
var dummyHash = sync.OnceValue(func() string {
	h, err := HashPassword("not-a-real-password-at-all")
	if err != nil {
		panic(err)
	}
	return h
})

// UserPrincipal builds the principal of a user from its memberships.
func (s *Service) UserPrincipal(ctx context.Context, u store.User) (*Principal, error) {
	ms, err := s.store.Users().Memberships(ctx, u.ID)
	if err != nil {
		return nil, fmt.Errorf("memberships: %w", err)
	}
	p := &Principal{UserID: u.ID, Username: u.Username, GlobalRole: u.GlobalRole, Locale: u.Locale,
		Roles: make(map[string]string, len(ms))}
	for _, m := range ms {
		p.Roles[m.TenantID] = m.Role
	}
	if u.GlobalRole != "" {
		return p, nil
	}
	// A compliance commission makes its members assessors of the
	// commissioned tenants for its period; a membership there wins.
	gs, err := s.store.Compliance().CommissionGrants(ctx, u.ID, s.now().UTC())
	if err != nil {
		return nil, fmt.Errorf("commission grants: %w", err)
	}
	for _, g := range gs {
		if _, member := p.Roles[g.TenantID]; member {
			continue
		}
		if p.Commissioned == nil {
			p.Commissioned = map[string]string{}
		}
		p.Roles[g.TenantID], p.Commissioned[g.TenantID] = RoleAssessor, g.CommissionID
	}
	return p, nil
}

// NewSession creates a browser session for a user and returns the cookie
// value (only its hash is stored).
func (s *Service) NewSession(ctx context.Context, u store.User, ip, userAgent string) (string, store.Session, error) {
	raw, err := randomToken(32)
	if err != nil {
		return "", store.Session{}, err
	}
	csrf, err := randomToken(32)
	if err != nil {
		return "", store.Session{}, err
	}
	now := s.now().UTC()
	if len(userAgent) > 256 {
		userAgent = userAgent[:256]
	}
	sess := store.Session{ID: HashToken(raw), UserID: u.ID, CSRFToken: csrf, CreatedAt: now,
		ExpiresAt: now.Add(s.sessionTTL), LastSeenAt: now, IP: ip, UserAgent: userAgent}
	if err := s.store.Sessions().Create(ctx, &sess); err != nil {
		return "", store.Session{}, fmt.Errorf("create session: %w", err)
	}
	return raw, sess, nil
}

// Session resolves a session cookie to its session, user and principal,
// sliding its expiry. It returns ErrUnauthenticated for unknown, expired or
// disabled-user sessions.
func (s *Service) Session(ctx context.Context, cookie string) (store.Session, *Principal, error) {
	if cookie == "" || len(cookie) > 128 {
		return store.Session{}, nil, ErrUnauthenticated
	}
	sess, err := s.store.Sessions().Get(ctx, HashToken(cookie))
	if errors.Is(err, store.ErrNotFound) {
		return store.Session{}, nil, ErrUnauthenticated
	}
	if err != nil {
		return store.Session{}, nil, fmt.Errorf("session: %w", err)
	}
	now := s.now().UTC()
	if !now.Before(sess.ExpiresAt) {
		_ = s.store.Sessions().Delete(ctx, sess.ID)
		return store.Session{}, nil, ErrUnauthenticated
	}
	u, err := s.store.Users().Get(ctx, sess.UserID)
	if errors.Is(err, store.ErrNotFound) || (err == nil && u.Disabled) {
		_ = s.store.Sessions().Delete(ctx, sess.ID)
		return store.Session{}, nil, ErrUnauthenticated
	}
	if err != nil {
		return store.Session{}, nil, fmt.Errorf("session user: %w", err)
	}
	if now.Sub(sess.LastSeenAt) > time.Minute {
		sess.LastSeenAt = now
		sess.ExpiresAt = now.Add(s.sessionTTL)
		if err := s.store.Sessions().Update(ctx, &sess); err != nil {
			return store.Session{}, nil, fmt.Errorf("session touch: %w", err)
		}
	}
	p, err := s.UserPrincipal(ctx, u)
	if err != nil {
		return store.Session{}, nil, err
	}
	return sess, p, nil
}

// Logout ends a session.
func (s *Service) Logout(ctx context.Context, cookie string) error {
	if cookie == "" {
		return nil
	}
	if err := s.store.Sessions().Delete(ctx, HashToken(cookie)); err != nil && !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("logout: %w", err)
	}
	return nil
}

// NewTokenInput describes an API token to create.
type NewTokenInput struct {
	Name     string
	TenantID string // "" for a global token
	Role     string
	UserID   string
	TTL      time.Duration // 0 for no expiry
}

// maxTokenName bounds a token name, in bytes.
const maxTokenName = 100

// check validates what a user chose for a token.
func (in NewTokenInput) check() error {
	const msg = "token name must be 1 to %d characters"
	switch name := strings.TrimSpace(in.Name); {
	case name == "":
		return store.NewFieldError("name", store.CodeRequired, nil, msg, maxTokenName)
	case len(name) > maxTokenName:
		return store.NewFieldError("name", store.CodeTooLong, map[string]any{"max": maxTokenName}, msg, maxTokenName)
	}
	if in.TenantID == "" && !ValidGlobalRole(in.Role) {
		return store.NewFieldError("role", store.CodeOneOf, map[string]any{"allowed": GlobalRoles(), "value": in.Role},
			"role %q cannot be held globally", in.Role)
	}
	if in.TenantID != "" && !ValidRole(in.Role) {
		return store.NewFieldError("role", store.CodeOneOf, map[string]any{"allowed": Roles(), "value": in.Role},
			"unknown role %q", in.Role)
	}
	return nil
}

// CreateToken creates an API token and returns its secret, shown once.
func (s *Service) CreateToken(ctx context.Context, in NewTokenInput) (string, store.APIToken, error) {
	if err := in.check(); err != nil {
		return "", store.APIToken{}, err
	}
	name := strings.TrimSpace(in.Name)
	raw, err := randomToken(30)
	if err != nil {
		return "", store.APIToken{}, err
	}
	secret := TokenPrefix + raw
	now := s.now().UTC()
	t := store.APIToken{Name: name, TenantID: in.TenantID, Role: in.Role, UserID: in.UserID,
		Prefix: secret[:len(TokenPrefix)+6], Hash: HashToken(secret), CreatedAt: now}
	if in.TTL > 0 {
		t.ExpiresAt = now.Add(in.TTL)
	}
	if err := s.store.Tokens().Create(ctx, &t); err != nil {
		return "", store.APIToken{}, fmt.Errorf("create token: %w", err)
	}
	return secret, t, nil
}

// Token resolves a bearer token to its principal.
func (s *Service) Token(ctx context.Context, secret string) (*Principal, error) {
	if !strings.HasPrefix(secret, TokenPrefix) || len(secret) > 128 {
		return nil, ErrUnauthenticated
	}
	t, err := s.store.Tokens().GetByHash(ctx, HashToken(secret))
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrUnauthenticated
	}
	if err != nil {
		return nil, fmt.Errorf("token: %w", err)
	}
	now := s.now().UTC()
	if t.Revoked || (!t.ExpiresAt.IsZero() && !now.Before(t.ExpiresAt)) {
		return nil, ErrUnauthenticated
	}
	username := ""
	if t.UserID != "" {
		u, err := s.store.Users().Get(ctx, t.UserID)
		switch {
		case errors.Is(err, store.ErrNotFound) || (err == nil && u.Disabled):
			return nil, ErrUnauthenticated
		case err != nil:
			return nil, fmt.Errorf("token owner: %w", err)
		}
		username = u.Username
	}
	if now.Sub(t.LastUsedAt) > time.Minute {
		if err := s.store.Tokens().Touch(ctx, t.ID, now); err != nil {
			s.logger.Warn("token touch failed", "token", t.ID, "err", err)
		}
	}
	p := &Principal{TokenID: t.ID, UserID: t.UserID, Username: username, Roles: map[string]string{}}
	if t.TenantID == "" {
		p.GlobalRole = t.Role
	} else {
		p.Roles[t.TenantID] = t.Role
	}
	return p, nil
}

// HashToken is the stored form of a session cookie or token secret.
func HashToken(raw string) string {
	sum := sha256.Sum256([]byte(raw))
	return hex.EncodeToString(sum[:])
}

func randomToken(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("random: %w", err)
	}
	return strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b)), nil
}

// limiter counts failed logins per key in a sliding window. It lives in
// memory on each API node; the window is short, so per-node counting is
// enough to stop online guessing.
type limiter struct {
	mu     sync.Mutex
	max    int
	window time.Duration
	fails  map[string][]time.Time
}

const maxLimiterKeys = 100000

func (l *limiter) prune(now time.Time, key string) []time.Time {
	ts := l.fails[key]
	i := 0
	for i < len(ts) && now.Sub(ts[i]) >= l.window {
		i++
	}
	ts = ts[i:]
	if len(ts) == 0 {
		delete(l.fails, key)
		return nil
	}
	l.fails[key] = ts
	return ts
}

func (l *limiter) blocked(now time.Time, keys ...string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, k := range keys {
		if len(l.prune(now, k)) >= l.max {
			return true
		}
	}
	return false
}

func (l *limiter) fail(now time.Time, keys ...string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.fails) > maxLimiterKeys {
		for k := range l.fails {
			l.prune(now, k)
		}
	}
	for _, k := range keys {
		ts := l.prune(now, k)
		if len(ts) < l.max {
			l.fails[k] = append(ts, now)
		}
	}
}

func (l *limiter) reset(keys ...string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, k := range keys {
		delete(l.fails, k)
	}
}

// ErrForbidden means the principal lacks the permission for this tenant.
var ErrForbidden = errors.New("permission denied")

// Require returns ErrForbidden unless the principal in ctx holds perm in
// tenantID ("" for platform-wide).
func Require(ctx context.Context, perm Perm, tenantID string) error {
	if FromContext(ctx).Anonymous() {
		return ErrUnauthenticated
	}
	if !FromContext(ctx).Can(perm, tenantID) {
		return ErrForbidden
	}
	return nil
}
