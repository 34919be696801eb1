// Package contract holds what every bus driver must do identically: name and
// subject validation, NATS-style subject matching, queue configuration
// defaults, and the Handler contract (auto ack or nak, panic handling). The
// drivers share it so that their semantics cannot drift apart.
package contract

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/vigil-sec/vigil/internal/bus"
)

const (
	// DefaultAckWait applies when QueueConfig.AckWait is zero.
	DefaultAckWait = 30 * time.Second
	// DefaultDuplicateWindow applies when QueueConfig.DuplicateWindow is
	// zero; it is JetStream's default too.
	DefaultDuplicateWindow = 2 * time.Minute
	// MaxReplicas bounds QueueConfig.Replicas (JetStream's limit).
	MaxReplicas = 5
	// MaxIDLen bounds Message.ID.
	MaxIDLen = 256
	// DefaultGroup is the consumer group used when ConsumeOptions.Group is
	// empty.
	DefaultGroup = "default"
	// SettleTimeout bounds the automatic ack or nak issued after a handler
	// returns.
	SettleTimeout = 10 * time.Second
	// maxNameLen bounds queue, group and prefix names.
	maxNameLen = 128
)

// ErrSettled is returned by Ack or Nak on a delivery that was already acked
// or naked.
var ErrSettled = errors.New("delivery already acknowledged")

// ValidName reports whether s is a valid queue or group name: 1 to 128
// letters, digits, '-' and '_'.
func ValidName(s string) error {
	if s == "" || len(s) > maxNameLen {
		return fmt.Errorf("invalid name %q: want 1 to %d characters", s, maxNameLen)
	}
	for _, r := range s {
		if !nameRune(r) {
			return fmt.Errorf("invalid name %q: only letters, digits, '-' and '_' are allowed", s)
		}
	}
	return nil
}

// ValidPrefix is ValidName that also accepts the empty string.
func ValidPrefix(s string) error {
	if s == "" {
		return nil
	}
	return ValidName(s)
}

func nameRune(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_'
}

// ValidSubject reports whether s is a literal subject one can publish to:
// non-empty dot-separated tokens without wildcards or whitespace.
func ValidSubject(s string) error {
	return validSubject(s, false)
}

// ValidPattern reports whether s is a subject one can subscribe to: like
// ValidSubject, but a token may be "*" (exactly one token) and the last
// token may be ">" (one or more tokens).
func ValidPattern(s string) error {
	return validSubject(s, true)
}

func validSubject(s string, wildcards bool) error {
	if s == "" {
		return errors.New("empty subject")
	}
	toks := strings.Split(s, ".")
	for i, t := range toks {
		if t == "" {
			return fmt.Errorf("invalid subject %q: empty token", s)
		}
		if strings.ContainsAny(t, " \t\r\n") {
			return fmt.Errorf("invalid subject %q: whitespace", s)
		}
		switch {
		case t == "*" || t == ">":
			if !wildcards {
				return fmt.Errorf("invalid subject %q: wildcards are only allowed when subscribing", s)
			}
			if t == ">" && i != len(toks)-1 {
				return fmt.Errorf("invalid subject %q: '>' must be the last token", s)
			}
		case strings.ContainsAny(t, "*>"):
			return fmt.Errorf("invalid subject %q: '*' and '>' must be whole tokens", s)
		}
	}
	return nil
}

// ValidHeader reports whether h can travel on every driver: keys are
// printable ASCII without ':' or spaces and do not start with "Nats-"
// (reserved by NATS), and values hold no line breaks.
func ValidHeader(h map[string]string) error {
	for k, v := range h {
		if k == "" {
			return errors.New("invalid header: empty key")
		}
		for i := 0; i < len(k); i++ {
			if c := k[i]; c <= ' ' || c >= 0x7f || c == ':' {
				return fmt.Errorf("invalid header key %q: want printable ASCII without ':' or spaces", k)
			}
		}
		if len(k) >= 5 && strings.EqualFold(k[:5], "Nats-") {
			return fmt.Errorf("invalid header key %q: the Nats- prefix is reserved", k)
		}
		if strings.ContainsAny(v, "\r\n") {
			return fmt.Errorf("invalid value for header %q: line break", k)
		}
	}
	return nil
}

// Match reports whether the literal subject matches pattern, both already
// validated.
func Match(pattern, subject string) bool {
	for {
		pt, prest, pmore := strings.Cut(pattern, ".")
		st, srest, smore := strings.Cut(subject, ".")
		switch {
		case pt == ">":
			return true
		case pt != "*" && pt != st:
			return false
		case !pmore || !smore:
			return pmore == smore
		}
		pattern, subject = prest, srest
	}
}

// MatchAny reports whether subject matches one of patterns.
func MatchAny(patterns []string, subject string) bool {
	for _, p := range patterns {
		if Match(p, subject) {
			return true
		}
	}
	return false
}

// NormalizeQueue validates cfg and fills in its defaults: Subjects becomes
// [Name] when empty and AckWait DefaultAckWait when zero.
func NormalizeQueue(cfg bus.QueueConfig) (bus.QueueConfig, error) {
	if err := ValidName(cfg.Name); err != nil {
		return cfg, fmt.Errorf("queue: %w", err)
	}
	if len(cfg.Subjects) == 0 {
		cfg.Subjects = []string{cfg.Name}
	} else {
		cfg.Subjects = slices.Clone(cfg.Subjects)
	}
	for _, s := range cfg.Subjects {
		if err := ValidPattern(s); err != nil {
			return cfg, fmt.Errorf("queue %s: %w", cfg.Name, err)
		}
	}
	switch {
	case cfg.AckWait < 0:
		return cfg, fmt.Errorf("queue %s: negative AckWait", cfg.Name)
	case cfg.AckWait == 0:
		cfg.AckWait = DefaultAckWait
	}
	if cfg.MaxDeliver < 0 {
		return cfg, fmt.Errorf("queue %s: negative MaxDeliver", cfg.Name)
	}
	if cfg.MaxBytes < 0 {
		return cfg, fmt.Errorf("queue %s: negative MaxBytes", cfg.Name)
	}
	if cfg.MaxAge < 0 {
		return cfg, fmt.Errorf("queue %s: negative MaxAge", cfg.Name)
	}
	switch {
	case cfg.Replicas < 0 || cfg.Replicas > MaxReplicas:
		return cfg, fmt.Errorf("queue %s: Replicas %d not between 1 and %d", cfg.Name, cfg.Replicas, MaxReplicas)
	case cfg.Replicas == 0:
		cfg.Replicas = 1
	}
	switch {
	case cfg.DuplicateWindow < 0:
		return cfg, fmt.Errorf("queue %s: negative DuplicateWindow", cfg.Name)
	case cfg.DuplicateWindow == 0:
		cfg.DuplicateWindow = DefaultDuplicateWindow
	}
	return cfg, nil
}

// EnqueueSubject returns the subject m is enqueued under: m.Subject, or the
// queue name when it is empty. It must be a literal subject matching one of
// the queue's subjects.
func EnqueueSubject(cfg bus.QueueConfig, m bus.Message) (string, error) {
	s := m.Subject
	if s == "" {
		s = cfg.Name
	}
	if err := ValidSubject(s); err != nil {
		return "", err
	}
	if !MatchAny(cfg.Subjects, s) {
		return "", fmt.Errorf("subject %q is not routed to queue %s (subjects %v)", s, cfg.Name, cfg.Subjects)
	}
	return s, nil
}

// ValidID reports whether id can serve as a Message.ID on every driver:
// empty (no ID), or up to MaxIDLen printable ASCII characters without
// spaces.
func ValidID(id string) error {
	if len(id) > MaxIDLen {
		return fmt.Errorf("invalid message ID: longer than %d bytes", MaxIDLen)
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; c <= ' ' || c >= 0x7f {
			return fmt.Errorf("invalid message ID %q: want printable ASCII without spaces", id)
		}
	}
	return nil
}

// ConsumeOptions validates opts and fills in its defaults.
func ConsumeOptions(opts bus.ConsumeOptions) (bus.ConsumeOptions, error) {
	if opts.Group == "" {
		opts.Group = DefaultGroup
	}
	if err := ValidName(opts.Group); err != nil {
		return opts, fmt.Errorf("group: %w", err)
	}
	if opts.Filter != "" {
		if err := ValidPattern(opts.Filter); err != nil {
			return opts, fmt.Errorf("filter: %w", err)
		}
	}
	switch {
	case opts.MaxAckPending < 0:
		return opts, errors.New("negative MaxAckPending")
	case opts.Concurrency < 0:
		return opts, errors.New("negative Concurrency")
	case opts.Concurrency == 0:
		opts.Concurrency = 1
	}
	return opts, nil
}

// RetryDelay is the nak delay applied when a handler returns an error on
// the given attempt: 200ms doubling per attempt, capped at 30s.
func RetryDelay(attempt int) time.Duration {
	const base, ceiling = 200 * time.Millisecond, 30 * time.Second
	d := base
	for i := 1; i < attempt && d < ceiling; i++ {
		d *= 2
	}
	return min(d, ceiling)
}

// CloneMessage returns a deep copy of m. An empty header becomes nil so that
// every driver hands out the same shape.
func CloneMessage(m bus.Message) bus.Message {
	out := bus.Message{Subject: m.Subject}
	if m.Data != nil {
		out.Data = slices.Clone(m.Data)
	}
	if len(m.Header) > 0 {
		out.Header = maps.Clone(m.Header)
	}
	return out
}

// Settle records that a delivery was acked or naked.
type Settle struct {
	mu   sync.Mutex
	done bool
}

// Begin marks the delivery settled; it returns ErrSettled if it already was.
func (s *Settle) Begin() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.done {
		return ErrSettled
	}
	s.done = true
	return nil
}

// Done reports whether Begin was called.
func (s *Settle) Done() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.done
}

// Delivery is a driver delivery that can tell whether it was settled.
type Delivery interface {
	bus.Delivery
	Settled() bool
}

// Dispatch runs fn on d and applies the bus.Handler contract: when fn
// returns without settling d, a nil result acks it and an error naks it
// after RetryDelay(attempt).
//
// A handler that panics is logged with its stack and its delivery is left
// unsettled, exactly as if the consumer had died: it is redelivered after
// the queue's AckWait. The process keeps running.
func Dispatch(ctx context.Context, logger *slog.Logger, queue string, fn bus.Handler, d Delivery) {
	defer func() {
		if r := recover(); r != nil {
			logger.Error("bus: queue handler panicked; delivery left for redelivery after AckWait",
				"queue", queue, "subject", d.Message().Subject, "attempt", d.Attempt(),
				"panic", fmt.Sprint(r), "stack", string(debug.Stack()))
		}
	}()
	err := fn(ctx, d)
	if d.Settled() {
		return
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), SettleTimeout)
	defer cancel()
	if err != nil {
		logger.Warn("bus: queue handler failed; retrying",
			"queue", queue, "subject", d.Message().Subject, "attempt", d.Attempt(), "err", err)
		if nerr := d.Nak(sctx, RetryDelay(d.Attempt())); nerr != nil && !errors.Is(nerr, ErrSettled) {
			logger.Error("bus: nak after handler error failed", "queue", queue, "err", nerr)
		}
		return
	}
	if aerr := d.Ack(sctx); aerr != nil && !errors.Is(aerr, ErrSettled) {
		logger.Error("bus: ack after handler success failed", "queue", queue, "err", aerr)
	}
}

// Notify runs fn for an event, logging instead of crashing if it panics.
func Notify(ctx context.Context, logger *slog.Logger, pattern string, fn func(context.Context, bus.Message), m bus.Message) {
	defer func() {
		if r := recover(); r != nil {
			logger.Error("bus: event handler panicked",
				"pattern", pattern, "subject", m.Subject, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
		}
	}()
	fn(ctx, m)
}

// Logger returns l, or a logger that discards everything when l is nil.
func Logger(l *slog.Logger) *slog.Logger {
	if l == nil {
		return slog.New(slog.DiscardHandler)
	}
	return l
}
