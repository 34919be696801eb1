// Package audit keeps Vigil's tamper-evident audit log: every change and
// every login is appended to a hash chain in which each entry's hash covers
// the previous entry's hash, so editing, deleting or reordering any stored
// row breaks verification from that row on.
package audit

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/store"
)

// Log appends to and verifies the audit chain.
type Log struct {
	store  store.AuditStore
	logger *slog.Logger
	now    func() time.Time
}

// Options configures a Log.
type Options struct {
	Logger *slog.Logger
	// Now overrides the clock (tests).
	Now func() time.Time
}

// New returns a Log writing to s.
func New(s store.AuditStore, opts Options) *Log {
	l := &Log{store: s, logger: opts.Logger, now: opts.Now}
	if l.logger == nil {
		l.logger = slog.New(slog.DiscardHandler)
	}
	if l.now == nil {
		l.now = time.Now
	}
	return l
}

// Event is what a caller records.
type Event struct {
	TenantID string
	Action   string // dotted verb, e.g. "asset.create"
	Object   string // "kind:id"
	Detail   any    // marshalled to JSON; never put secrets here
	IP       string
}

type ipKey struct{}

// WithClientIP returns ctx carrying the client address recorded in entries.
func WithClientIP(ctx context.Context, ip string) context.Context {
	return context.WithValue(ctx, ipKey{}, ip)
}

// Record appends one entry for the principal in ctx.
func (l *Log) Record(ctx context.Context, ev Event) error {
	p := auth.FromContext(ctx)
	return l.RecordAs(ctx, p, ev)
}

// RecordAs appends one entry for an explicit principal (used at login,
// before the principal is in the context).
func (l *Log) RecordAs(ctx context.Context, p *auth.Principal, ev Event) error {
	detail := "{}"
	if ev.Detail != nil {
		b, err := json.Marshal(ev.Detail)
		if err != nil {
			return fmt.Errorf("audit detail: %w", err)
		}
		detail = string(b)
	}
	ip := ev.IP
	if ip == "" {
		ip, _ = ctx.Value(ipKey{}).(string)
	}
	e := &store.AuditEntry{
		Time:      l.now().UTC().Truncate(time.Microsecond),
		ActorID:   p.ActorID(),
		ActorName: p.Name(),
		TenantID:  ev.TenantID,
		Action:    ev.Action,
		Object:    ev.Object,
		Detail:    detail,
		IP:        ip,
	}
	if err := l.store.Append(ctx, e, Hash); err != nil {
		l.logger.Error("audit append failed", "action", ev.Action, "err", err)
		return fmt.Errorf("audit append: %w", err)
	}
	return nil
}

// Hash is the chain function: SHA-256 over the previous hash and every field
// of the entry, each length-prefixed so no two different entries encode
// alike.
func Hash(e *store.AuditEntry) string {
	h := sha256.New()
	for _, f := range []string{
		e.PrevHash,
		strconv.FormatInt(e.Seq, 10),
		e.Time.UTC().Format(time.RFC3339Nano),
		e.ActorID, e.ActorName, e.TenantID, e.Action, e.Object, e.Detail, e.IP,
	} {
		fmt.Fprintf(h, "%d:%s;", len(f), f)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// Problem is one break in the chain.
type Problem struct {
	Seq    int64
	Reason string
}

// Result is the outcome of Verify.
type Result struct {
	Entries  int64
	LastHash string
	Problems []Problem
}

// OK reports whether the chain verified.
func (r Result) OK() bool { return len(r.Problems) == 0 }

// maxProblems bounds the report of a badly damaged chain.
const maxProblems = 100

// errPastHead stops a walk at entries appended after it began.
var errPastHead = errors.New("past the head")

// Verify walks the whole chain and reports every entry whose sequence, link
// or hash does not check out, and whether the chain ends where the head
// (kept apart from the entries) says it does, so entries cut off the end
// are noticed too. Entries appended while it runs are not checked.
func (l *Log) Verify(ctx context.Context) (Result, error) {
	var res Result
	headSeq, headHash, err := l.store.Head(ctx)
	if err != nil {
		return res, fmt.Errorf("audit verify: %w", err)
	}
	prev := ""
	var want int64 = 1
	add := func(seq int64, format string, args ...any) {
		if len(res.Problems) < maxProblems {
			res.Problems = append(res.Problems, Problem{Seq: seq, Reason: fmt.Sprintf(format, args...)})
		}
	}
	err = l.store.Walk(ctx, 1, func(e store.AuditEntry) error {
		if e.Seq > headSeq {
			return errPastHead
		}
		res.Entries++
		if e.Seq != want {
			add(e.Seq, "sequence gap: expected %d", want)
		}
		if e.PrevHash != prev {
			add(e.Seq, "previous-hash link broken")
		}
		if got := Hash(&e); got != e.Hash {
			add(e.Seq, "entry hash mismatch: content was altered")
		}
		prev = e.Hash
		want = e.Seq + 1
		return nil
	})
	if err != nil && !errors.Is(err, errPastHead) {
		return res, fmt.Errorf("audit verify: %w", err)
	}
	res.LastHash = prev
	if want-1 != headSeq || prev != headHash {
		add(want, "chain head records %d entries ending in %s: entries at the end are missing or the head was altered",
			headSeq, shortHash(headHash))
	}
	return res, nil
}

// String summarises a result for the CLI.
func (r Result) String() string {
	if r.OK() {
		return fmt.Sprintf("audit chain OK: %d entries, head %s", r.Entries, shortHash(r.LastHash))
	}
	var b strings.Builder
	fmt.Fprintf(&b, "audit chain BROKEN: %d problem(s) in %d entries\n", len(r.Problems), r.Entries)
	for _, p := range r.Problems {
		fmt.Fprintf(&b, "  seq %d: %s\n", p.Seq, p.Reason)
	}
	return b.String()
}

func shortHash(h string) string {
	if len(h) > 16 {
		return h[:16]
	}
	return h
}

// List returns audit entries. Asking for every tenant (f.TenantID "")
// needs a global audit.read; asking for one tenant needs audit.read there.
func (l *Log) List(ctx context.Context, f store.AuditFilter) ([]store.AuditEntry, error) {
	if err := auth.Require(ctx, auth.PermAuditRead, f.TenantID); err != nil {
		return nil, err
	}
	return l.store.List(ctx, f)
}
