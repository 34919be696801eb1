package notify

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Step is one stage of an escalation: notify Channels, then wait After for
// an acknowledgement before the next step.
type Step struct {
	Channels []string      `json:"channels"`
	After    time.Duration `json:"after"`
	// NotifyOnCall adds the current on-call person to the firing.
	NotifyOnCall bool `json:"notify_on_call,omitempty"`
}

// QuietHours hold back notifications between Start and End (HH:MM, in Zone;
// the window may cross midnight) unless their severity is in Bypass.
type QuietHours struct {
	Zone   string     `json:"zone"`
	Start  string     `json:"start"`
	End    string     `json:"end"`
	Bypass []Severity `json:"bypass,omitempty"`
}

// Rotation is an on-call rotation: People take turns, each for Period,
// counting from Start.
type Rotation struct {
	People []string      `json:"people"`
	Period time.Duration `json:"period"`
	Start  time.Time     `json:"start"`
}

// Rule says which notifications escalate and how.
type Rule struct {
	Name        string      `json:"name"`
	Tenant      string      `json:"tenant"`
	Kinds       []Kind      `json:"kinds,omitempty"` // empty: every kind
	MinSeverity Severity    `json:"min_severity,omitempty"`
	Steps       []Step      `json:"steps"`
	QuietHours  *QuietHours `json:"quiet_hours,omitempty"`
	OnCall      *Rotation   `json:"on_call,omitempty"`
	// OnCallShift makes the person on call whoever is on the monitoring
	// desk's shift (EngineOptions.OnShift), the rotation when nobody is.
	OnCallShift bool `json:"on_call_shift,omitempty"`
}

// Check validates the rule.
func (r Rule) Check() error {
	switch {
	case r.Name == "":
		return errors.New("escalation rule: missing name")
	case len(r.Steps) == 0 || len(r.Steps) > 20:
		return fmt.Errorf("escalation rule %q: want 1-20 steps", r.Name)
	case r.MinSeverity != "" && r.MinSeverity.Rank() == 0:
		return fmt.Errorf("escalation rule %q: unknown min_severity %q", r.Name, r.MinSeverity)
	}
	for _, k := range r.Kinds {
		if !k.Valid() {
			return fmt.Errorf("escalation rule %q: unknown kind %q", r.Name, k)
		}
	}
	for i, s := range r.Steps {
		if len(s.Channels) == 0 && !s.NotifyOnCall {
			return fmt.Errorf("escalation rule %q: step %d notifies nobody", r.Name, i+1)
		}
		if s.After < 0 || (s.After == 0 && i < len(r.Steps)-1) {
			return fmt.Errorf("escalation rule %q: step %d needs a positive after", r.Name, i+1)
		}
	}
	if q := r.QuietHours; q != nil {
		if _, _, _, err := q.parse(); err != nil {
			return fmt.Errorf("escalation rule %q: quiet hours: %w", r.Name, err)
		}
	}
	if o := r.OnCall; o != nil && (len(o.People) == 0 || o.Period <= 0) {
		return fmt.Errorf("escalation rule %q: on-call rotation needs people and a positive period", r.Name)
	}
	return nil
}

func (r Rule) matches(m Message) bool {
	if r.Tenant != m.Tenant {
		return false
	}
	if len(r.Kinds) > 0 && !slices.Contains(r.Kinds, m.Kind) {
		return false
	}
	return r.MinSeverity == "" || m.Severity.Rank() >= r.MinSeverity.Rank()
}

func parseClock(s string) (int, error) {
	h, m, ok := strings.Cut(s, ":")
	hh, err1 := strconv.Atoi(h)
	mm, err2 := strconv.Atoi(m)
	if !ok || err1 != nil || err2 != nil || hh < 0 || hh > 23 || mm < 0 || mm > 59 {
		return 0, fmt.Errorf("time %q: want HH:MM", s)
	}
	return hh*60 + mm, nil
}

func (q *QuietHours) parse() (*time.Location, int, int, error) {
	loc, err := time.LoadLocation(q.Zone)
	if err != nil {
		return nil, 0, 0, fmt.Errorf("zone: %w", err)
	}
	start, err := parseClock(q.Start)
	if err != nil {
		return nil, 0, 0, err
	}
	end, err := parseClock(q.End)
	if err != nil {
		return nil, 0, 0, err
	}
	if start == end {
		return nil, 0, 0, errors.New("start equals end")
	}
	return loc, start, end, nil
}

// heldUntil returns when the quiet window containing now ends, or false when
// now is outside quiet hours or sev bypasses them.
func (q *QuietHours) heldUntil(now time.Time, sev Severity) (time.Time, bool) {
	if q == nil || slices.Contains(q.Bypass, sev) {
		return time.Time{}, false
	}
	loc, start, end, err := q.parse()
	if err != nil {
		return time.Time{}, false
	}
	t := now.In(loc)
	mins := t.Hour()*60 + t.Minute()
	midnight := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, loc)
	at := func(day time.Time, m int) time.Time {
		return time.Date(day.Year(), day.Month(), day.Day(), m/60, m%60, 0, 0, loc)
	}
	if start < end {
		if mins >= start && mins < end {
			return at(midnight, end), true
		}
		return time.Time{}, false
	}
	// The window crosses midnight.
	switch {
	case mins >= start:
		return at(midnight.AddDate(0, 0, 1), end), true
	case mins < end:
		return at(midnight, end), true
	}
	return time.Time{}, false
}

// Person returns who is on call at t.
func (o *Rotation) Person(t time.Time) string {
	if o == nil || len(o.People) == 0 || o.Period <= 0 {
		return ""
	}
	n := int64(t.Sub(o.Start) / o.Period)
	if t.Before(o.Start) && t.Sub(o.Start)%o.Period != 0 {
		n--
	}
	i := n % int64(len(o.People))
	if i < 0 {
		i += int64(len(o.People))
	}
	return o.People[i]
}

// Escalation is the state of one raised notification under one rule.
type Escalation struct {
	ID       string    `json:"id"`
	Rule     string    `json:"rule"`
	Message  Message   `json:"message"`
	Raised   time.Time `json:"raised"`
	NextStep int       `json:"next_step"` // index of the step to fire next
	NextAt   time.Time `json:"next_at"`   // when it fires
	Done     bool      `json:"done"`      // acknowledged or every step fired
	AckedAt  time.Time `json:"acked_at,omitzero"`
	AckedBy  string    `json:"acked_by,omitempty"`
	// Rev counts the writes of the escalation: Put succeeds only over the
	// revision it was read at, so two nodes never fire the same step.
	Rev int `json:"rev"`
}

// EscalationStore keeps escalation state; MemoryEscalations is the
// in-memory implementation, the store layer a durable one.
type EscalationStore interface {
	// Put writes e if the stored escalation is still at revision e.Rev
	// (an escalation not stored yet is at revision 0) and stores it at
	// e.Rev+1; otherwise it returns ErrEscalationConflict.
	Put(ctx context.Context, e Escalation) error
	Get(ctx context.Context, id string) (Escalation, error)
	// Due returns the open escalations whose NextAt is not after now.
	Due(ctx context.Context, now time.Time) ([]Escalation, error)
}

// ErrEscalationNotFound is returned by EscalationStore.Get for an unknown id.
var ErrEscalationNotFound = errors.New("escalation not found")

// ErrEscalationConflict is returned by EscalationStore.Put when another
// writer changed the escalation since it was read.
var ErrEscalationConflict = errors.New("escalation changed meanwhile")

// MemoryEscalations is an in-memory EscalationStore.
type MemoryEscalations struct {
	mu sync.Mutex
	m  map[string]Escalation
}

var _ EscalationStore = (*MemoryEscalations)(nil)

// Put stores e.
func (s *MemoryEscalations) Put(_ context.Context, e Escalation) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = map[string]Escalation{}
	}
	if s.m[e.ID].Rev != e.Rev {
		return fmt.Errorf("%w: %s", ErrEscalationConflict, e.ID)
	}
	e.Rev++
	s.m[e.ID] = e
	return nil
}

// Get returns the escalation with id.
func (s *MemoryEscalations) Get(_ context.Context, id string) (Escalation, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.m[id]
	if !ok {
		return Escalation{}, fmt.Errorf("%w: %s", ErrEscalationNotFound, id)
	}
	return e, nil
}

// Due returns the open escalations due at now, oldest first.
func (s *MemoryEscalations) Due(_ context.Context, now time.Time) ([]Escalation, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Escalation
	for _, k := range slices.Sorted(maps.Keys(s.m)) {
		if e := s.m[k]; !e.Done && !e.NextAt.After(now) {
			out = append(out, e)
		}
	}
	slices.SortStableFunc(out, func(a, b Escalation) int { return a.NextAt.Compare(b.NextAt) })
	return out, nil
}

// Firing is one escalation step going out.
type Firing struct {
	EscalationID string
	Rule         string
	Step         int // 1-based
	Channels     []string
	OnCall       string
	Message      Message // AckURL set to the signed acknowledgement link
}

// EngineOptions configure an escalation Engine.
type EngineOptions struct {
	Rules []Rule
	Store EscalationStore
	Clock Clock
	// Key signs acknowledgement tokens; at least 32 bytes.
	Key []byte
	// AckBaseURL is the acknowledgement endpoint; the token is added as ?token=.
	AckBaseURL string
	// AckTTL bounds how long an ack link stays valid (default 72h).
	AckTTL time.Duration
	// Fire sends a step, typically by enqueueing on the Dispatcher.
	Fire   func(ctx context.Context, f Firing) error
	Logger *slog.Logger
	// OnShift tells who is on the desk's shift at a time, for rules with
	// OnCallShift ("" for nobody).
	OnShift func(ctx context.Context, at time.Time) string
}

// Engine walks escalation steps until a notification is acknowledged.
type Engine struct {
	opts EngineOptions
	mu   sync.Mutex // serialises Raise, Tick and Ack
}

// NewEngine checks the rules and returns an engine.
func NewEngine(opts EngineOptions) (*Engine, error) {
	if len(opts.Key) < 32 {
		return nil, errors.New("escalation: key must be at least 32 bytes")
	}
	if opts.Fire == nil {
		return nil, errors.New("escalation: missing Fire")
	}
	for _, r := range opts.Rules {
		if err := r.Check(); err != nil {
			return nil, err
		}
	}
	if opts.Store == nil {
		opts.Store = &MemoryEscalations{}
	}
	if opts.Clock == nil {
		opts.Clock = SystemClock{}
	}
	if opts.AckTTL <= 0 {
		opts.AckTTL = 72 * time.Hour
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &Engine{opts: opts}, nil
}

func (e *Engine) rule(name string) (Rule, bool) {
	for _, r := range e.opts.Rules {
		if r.Name == name {
			return r, true
		}
	}
	return Rule{}, false
}

// Raise starts an escalation for every rule msg matches and fires each
// first step at once (or when quiet hours end). It returns the escalation ids.
func (e *Engine) Raise(ctx context.Context, msg Message) ([]string, error) {
	if err := msg.Validate(); err != nil {
		return nil, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	now := e.opts.Clock.Now()
	var ids []string
	for _, r := range e.opts.Rules {
		if !r.matches(msg) {
			continue
		}
		esc := Escalation{ID: msg.ID + "/" + r.Name, Rule: r.Name, Message: msg, Raised: now, NextAt: now}
		if err := e.opts.Store.Put(ctx, esc); errors.Is(err, ErrEscalationConflict) {
			continue // raised before, here or on another node
		} else if err != nil {
			return ids, fmt.Errorf("escalation: %w", err)
		}
		esc.Rev++
		ids = append(ids, esc.ID)
		if err := e.advance(ctx, esc, r, now); err != nil {
			return ids, err
		}
	}
	return ids, nil
}

// Tick fires every step due at the clock's current time; Run calls it, tests
// call it after advancing a manual clock.
func (e *Engine) Tick(ctx context.Context) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	now := e.opts.Clock.Now()
	due, err := e.opts.Store.Due(ctx, now)
	if err != nil {
		return fmt.Errorf("escalation: %w", err)
	}
	var errs []error
	for _, esc := range due {
		r, ok := e.rule(esc.Rule)
		if !ok {
			esc.Done = true
			if err := e.opts.Store.Put(ctx, esc); err != nil && !errors.Is(err, ErrEscalationConflict) {
				errs = append(errs, err)
			}
			continue
		}
		errs = append(errs, e.advance(ctx, esc, r, now))
	}
	return errors.Join(errs...)
}

// Run ticks every interval until ctx ends.
func (e *Engine) Run(ctx context.Context, interval time.Duration) error {
	for {
		if err := e.Tick(ctx); err != nil {
			e.opts.Logger.Error("escalation tick", "err", err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-e.opts.Clock.After(interval):
		}
	}
}

// advance fires esc's due step (or holds it for quiet hours) and schedules
// the next one.
func (e *Engine) advance(ctx context.Context, esc Escalation, r Rule, now time.Time) error {
	if until, held := r.QuietHours.heldUntil(now, esc.Message.Severity); held {
		esc.NextAt = until
		if err := e.opts.Store.Put(ctx, esc); err != nil && !errors.Is(err, ErrEscalationConflict) {
			return err
		}
		return nil
	}
	step := r.Steps[esc.NextStep]
	f := Firing{EscalationID: esc.ID, Rule: r.Name, Step: esc.NextStep + 1, Channels: slices.Clone(step.Channels), Message: esc.Message}
	if step.NotifyOnCall {
		f.OnCall = r.OnCall.Person(now)
		if r.OnCallShift && e.opts.OnShift != nil {
			if p := e.opts.OnShift(ctx, now); p != "" {
				f.OnCall = p
			}
		}
	}
	if e.opts.AckBaseURL != "" {
		f.Message.AckURL = e.ackURL(esc.ID, now.Add(e.opts.AckTTL))
	}
	esc.NextStep++
	if esc.NextStep >= len(r.Steps) {
		esc.Done = true
	} else {
		esc.NextAt = now.Add(step.After)
	}
	// Persist before firing: a crash in between loses a step rather than
	// repeating it forever. A conflict means another node took this step
	// (or the escalation was acknowledged meanwhile): it is not fired here.
	if err := e.opts.Store.Put(ctx, esc); errors.Is(err, ErrEscalationConflict) {
		return nil
	} else if err != nil {
		return fmt.Errorf("escalation: %w", err)
	}
	if err := e.opts.Fire(ctx, f); err != nil {
		return fmt.Errorf("escalation %s step %d: %w", esc.ID, f.Step, err)
	}
	return nil
}

// ErrBadAckToken is returned (wrapped) for a forged, malformed or expired
// acknowledgement token.
var ErrBadAckToken = errors.New("invalid acknowledgement token")

// AckToken returns a signed token acknowledging escalation id until expiry.
func (e *Engine) AckToken(id string, expiry time.Time) string {
	payload := base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(expiry.Unix(), 10) + "|" + id))
	mac := hmac.New(sha256.New, e.opts.Key)
	mac.Write([]byte(payload))
	return payload + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

func (e *Engine) ackURL(id string, expiry time.Time) string {
	return e.opts.AckBaseURL + "?token=" + url.QueryEscape(e.AckToken(id, expiry))
}

// verify returns the escalation id a token acknowledges.
func (e *Engine) verify(token string, now time.Time) (string, error) {
	if len(token) > 2048 {
		return "", fmt.Errorf("%w: too long", ErrBadAckToken)
	}
	payload, sig, ok := strings.Cut(token, ".")
	if !ok {
		return "", fmt.Errorf("%w: malformed", ErrBadAckToken)
	}
	got, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil {
		return "", fmt.Errorf("%w: malformed", ErrBadAckToken)
	}
	mac := hmac.New(sha256.New, e.opts.Key)
	mac.Write([]byte(payload))
	if !hmac.Equal(got, mac.Sum(nil)) {
		return "", fmt.Errorf("%w: bad signature", ErrBadAckToken)
	}
	raw, err := base64.RawURLEncoding.DecodeString(payload)
	if err != nil {
		return "", fmt.Errorf("%w: malformed", ErrBadAckToken)
	}
	exp, id, ok := strings.Cut(string(raw), "|")
	sec, err := strconv.ParseInt(exp, 10, 64)
	if !ok || err != nil || id == "" {
		return "", fmt.Errorf("%w: malformed", ErrBadAckToken)
	}
	if now.After(time.Unix(sec, 0)) {
		return "", fmt.Errorf("%w: expired", ErrBadAckToken)
	}
	return id, nil
}

// Verify returns the escalation id a token acknowledges, without
// acknowledging it; a forged, malformed or expired token is ErrBadAckToken.
func (e *Engine) Verify(token string) (string, error) { return e.verify(token, e.opts.Clock.Now()) }

// Ack stops the escalation a token names; acknowledging twice is not an
// error. It returns the escalation id.
func (e *Engine) Ack(ctx context.Context, token, by string) (string, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	now := e.opts.Clock.Now()
	id, err := e.verify(token, now)
	if err != nil {
		return "", err
	}
	for range 5 {
		esc, err := e.opts.Store.Get(ctx, id)
		if err != nil {
			return "", fmt.Errorf("escalation ack: %w", err)
		}
		if !esc.AckedAt.IsZero() {
			return id, nil
		}
		esc.Done, esc.AckedAt, esc.AckedBy = true, now.UTC(), by
		err = e.opts.Store.Put(ctx, esc)
		if errors.Is(err, ErrEscalationConflict) {
			continue // a step went out meanwhile: read it again
		}
		if err != nil {
			return "", fmt.Errorf("escalation ack: %w", err)
		}
		return id, nil
	}
	return "", fmt.Errorf("escalation ack: %w: %s", ErrEscalationConflict, id)
}
