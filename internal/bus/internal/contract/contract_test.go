package contract

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/bus"
)

func TestMatch(t *testing.T) {
	for _, tc := range []struct {
		pattern, subject string
		want             bool
	}{
		{"a.b", "a.b", true},
		{"a.b", "a.c", false},
		{"a.b", "a.b.c", false},
		{"a.b.c", "a.b", false},
		{"a.*", "a.b", true},
		{"a.*", "a", false},
		{"a.*", "a.b.c", false},
		{"*.b", "a.b", true},
		{"*", "a", true},
		{"*", "a.b", false},
		{"a.>", "a.b", true},
		{"a.>", "a.b.c", true},
		{"a.>", "a", false},
		{">", "a", true},
		{">", "a.b.c", true},
		{"a.*.>", "a.b", false},
		{"a.*.>", "a.b.c", true},
		{"ab.>", "a.b", false},
	} {
		if got := Match(tc.pattern, tc.subject); got != tc.want {
			t.Errorf("Match(%q, %q) = %v, want %v", tc.pattern, tc.subject, got, tc.want)
		}
	}
}

// matchRef is a plain token-by-token reference for FuzzMatch.
func matchRef(pattern, subject string) bool {
	p, s := strings.Split(pattern, "."), strings.Split(subject, ".")
	for i, pt := range p {
		if pt == ">" {
			return len(s) > i
		}
		if i >= len(s) || pt != "*" && pt != s[i] {
			return false
		}
	}
	return len(p) == len(s)
}

func FuzzMatch(f *testing.F) {
	f.Add("a.*.>", "a.b.c")
	f.Add(">", "x")
	f.Add("a.b", "a.b")
	f.Fuzz(func(t *testing.T, pattern, subject string) {
		if ValidPattern(pattern) != nil || ValidSubject(subject) != nil {
			return
		}
		if got, want := Match(pattern, subject), matchRef(pattern, subject); got != want {
			t.Fatalf("Match(%q, %q) = %v, reference says %v", pattern, subject, got, want)
		}
	})
}

func TestValidation(t *testing.T) {
	for _, s := range []string{"a", "a.b", "A-1_b.c"} {
		if err := ValidSubject(s); err != nil {
			t.Errorf("ValidSubject(%q): %v", s, err)
		}
	}
	for _, s := range []string{"", ".", "a.", ".a", "a..b", "a b", "a.*", "a.>", "a*"} {
		if ValidSubject(s) == nil {
			t.Errorf("ValidSubject(%q) accepted", s)
		}
	}
	for _, s := range []string{"a.*", "*", ">", "a.>", "*.b.>"} {
		if err := ValidPattern(s); err != nil {
			t.Errorf("ValidPattern(%q): %v", s, err)
		}
	}
	for _, s := range []string{"a.>.b", ">.a", "a*", "a.b>", ""} {
		if ValidPattern(s) == nil {
			t.Errorf("ValidPattern(%q) accepted", s)
		}
	}
	for _, s := range []string{"q", "Queue-1_x"} {
		if err := ValidName(s); err != nil {
			t.Errorf("ValidName(%q): %v", s, err)
		}
	}
	for _, s := range []string{"", "a.b", "a b", "a*", "a>", "a/b", strings.Repeat("x", 129)} {
		if ValidName(s) == nil {
			t.Errorf("ValidName(%q) accepted", s)
		}
	}
}

func TestNormalizeQueue(t *testing.T) {
	cfg, err := NormalizeQueue(bus.QueueConfig{Name: "jobs"})
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Subjects) != 1 || cfg.Subjects[0] != "jobs" || cfg.AckWait != DefaultAckWait {
		t.Fatalf("defaults not applied: %+v", cfg)
	}
	if _, err := EnqueueSubject(cfg, bus.Message{}); err != nil {
		t.Fatalf("empty subject on a default queue: %v", err)
	}
	cfg, err = NormalizeQueue(bus.QueueConfig{Name: "jobs", Subjects: []string{"scan.*"}})
	if err != nil {
		t.Fatal(err)
	}
	if s, err := EnqueueSubject(cfg, bus.Message{Subject: "scan.web"}); err != nil || s != "scan.web" {
		t.Fatalf("EnqueueSubject = %q, %v", s, err)
	}
	for _, m := range []bus.Message{{}, {Subject: "scan.*"}, {Subject: "scan.a.b"}} {
		if _, err := EnqueueSubject(cfg, m); err == nil {
			t.Errorf("EnqueueSubject accepted %q", m.Subject)
		}
	}
}

func TestRetryDelay(t *testing.T) {
	want := []time.Duration{200 * time.Millisecond, 400 * time.Millisecond, 800 * time.Millisecond}
	for i, w := range want {
		if got := RetryDelay(i + 1); got != w {
			t.Errorf("RetryDelay(%d) = %s, want %s", i+1, got, w)
		}
	}
	if got := RetryDelay(1000); got != 30*time.Second {
		t.Errorf("RetryDelay(1000) = %s, want the 30s ceiling", got)
	}
}

type fakeDelivery struct {
	settle     Settle
	acks, naks int
	delay      time.Duration
}

func (d *fakeDelivery) Message() bus.Message { return bus.Message{Subject: "s"} }
func (d *fakeDelivery) Attempt() int         { return 2 }
func (d *fakeDelivery) Settled() bool        { return d.settle.Done() }
func (d *fakeDelivery) Ack(context.Context) error {
	if err := d.settle.Begin(); err != nil {
		return err
	}
	d.acks++
	return nil
}
func (d *fakeDelivery) Nak(_ context.Context, delay time.Duration) error {
	if err := d.settle.Begin(); err != nil {
		return err
	}
	d.naks++
	d.delay = delay
	return nil
}

func TestDispatch(t *testing.T) {
	log := Logger(nil)
	ctx := t.Context()
	d := &fakeDelivery{}
	Dispatch(ctx, log, "q", func(context.Context, bus.Delivery) error { return nil }, d)
	if d.acks != 1 || d.naks != 0 {
		t.Fatalf("nil result: %d acks %d naks, want an ack", d.acks, d.naks)
	}
	d = &fakeDelivery{}
	Dispatch(ctx, log, "q", func(context.Context, bus.Delivery) error { return errors.New("x") }, d)
	if d.naks != 1 || d.delay != RetryDelay(2) {
		t.Fatalf("error result: %d naks after %s, want one after %s", d.naks, d.delay, RetryDelay(2))
	}
	d = &fakeDelivery{}
	Dispatch(ctx, log, "q", func(ctx context.Context, d bus.Delivery) error { return d.Nak(ctx, time.Second) }, d)
	if d.acks != 0 || d.naks != 1 || d.delay != time.Second {
		t.Fatalf("handler nak: %d acks %d naks, want only the handler's nak", d.acks, d.naks)
	}
	d = &fakeDelivery{}
	Dispatch(ctx, log, "q", func(context.Context, bus.Delivery) error { panic("boom") }, d)
	if d.acks != 0 || d.naks != 0 {
		t.Fatalf("panic: %d acks %d naks, want the delivery left alone", d.acks, d.naks)
	}
}
