package notify

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// fakeChannel reports every Send on sends and answers with result(n), n
// counting calls from 1.
type fakeChannel struct {
	name   string
	sends  chan Message
	result func(n int) error
	mu     sync.Mutex
	n      int
}

var _ Channel = (*fakeChannel)(nil)

func newFakeChannel(name string, result func(n int) error) *fakeChannel {
	return &fakeChannel{name: name, sends: make(chan Message, 1000), result: result}
}

func (f *fakeChannel) Send(_ context.Context, m Message) (Receipt, error) {
	f.mu.Lock()
	f.n++
	n := f.n
	f.mu.Unlock()
	var err error
	if f.result != nil {
		err = f.result(n)
	}
	f.sends <- m
	if err != nil {
		return Receipt{}, err
	}
	return Receipt{Channel: f.name, MessageID: m.ID}, nil
}

func (f *fakeChannel) calls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.n
}

// receive waits for the next send; the real-time bound only turns a hang
// into a failure.
func receive(t *testing.T, ch <-chan Message) Message {
	t.Helper()
	select {
	case m := <-ch:
		return m
	case <-time.After(10 * time.Second):
		t.Fatal("no send")
		return Message{}
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func msgN(i int) Message {
	m := testMessage()
	m.ID = fmt.Sprintf("m%d", i)
	return m
}

func TestSlowChannelDoesNotBlockOthers(t *testing.T) {
	release := make(chan struct{})
	slow := &blockingChannel{release: release, entered: make(chan struct{}, 10)}
	healthy := newFakeChannel("healthy", nil)
	d := NewDispatcher(DispatcherOptions{Clock: newManualClock(fixedNow)})
	defer d.Close()
	defer close(release)
	if err := d.AddChannel("slow", slow, RateLimit{}); err != nil {
		t.Fatal(err)
	}
	if err := d.AddChannel("healthy", healthy, RateLimit{}); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if err := d.Enqueue(context.Background(), "slow", msgN(i)); err != nil {
			t.Fatal(err)
		}
	}
	<-slow.entered // the slow channel is now stuck in Send
	for i := range 5 {
		if err := d.Enqueue(context.Background(), "healthy", msgN(10+i)); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 5 {
		if got := receive(t, healthy.sends); got.ID != msgN(10+i).ID {
			t.Errorf("healthy got %s, want %s", got.ID, msgN(10+i).ID)
		}
	}
	if n := d.Pending("slow"); n != 2 {
		t.Errorf("slow pending %d, want 2", n)
	}
}

type blockingChannel struct {
	release <-chan struct{}
	entered chan struct{}
}

func (b *blockingChannel) Send(ctx context.Context, m Message) (Receipt, error) {
	b.entered <- struct{}{}
	select {
	case <-b.release:
	case <-ctx.Done():
	}
	return Receipt{MessageID: m.ID}, nil
}

func TestFailingChannelDoesNotBlockOthers(t *testing.T) {
	clock := newManualClock(fixedNow)
	failing := newFakeChannel("failing", func(int) error {
		return &SendError{Channel: "failing", Status: 503, Transient: true, Err: errors.New("down")}
	})
	healthy := newFakeChannel("healthy", nil)
	d := NewDispatcher(DispatcherOptions{Clock: clock, Rand: func() float64 { return 0.5 }})
	defer d.Close()
	_ = d.AddChannel("failing", failing, RateLimit{})
	_ = d.AddChannel("healthy", healthy, RateLimit{})
	_ = d.Enqueue(context.Background(), "failing", msgN(1))
	receive(t, failing.sends)
	clock.BlockUntil(t, 1) // failing waits in backoff
	_ = d.Enqueue(context.Background(), "healthy", msgN(2))
	if got := receive(t, healthy.sends); got.ID != "m2" {
		t.Errorf("healthy got %s", got.ID)
	}
}

// WeCom allows 20 messages a minute per robot: the 21st waits in the queue
// for the window to move, it is not dropped.
func TestRateLimitQueuesTheTwentyFirst(t *testing.T) {
	cfg, err := ParseChannelConfig([]byte(`{"kind":"wecom","name":"w","secrets":{"key":"k"}}`))
	if err != nil {
		t.Fatal(err)
	}
	_, limit, err := DefaultRegistry().Build(cfg, Env{})
	if err != nil {
		t.Fatal(err)
	}
	if limit != (RateLimit{Count: 20, Per: time.Minute}) {
		t.Fatalf("wecom default limit %+v", limit)
	}
	clock := newManualClock(fixedNow)
	ch := newFakeChannel("w", nil)
	log := &MemoryLog{}
	d := NewDispatcher(DispatcherOptions{Clock: clock, Log: log})
	defer d.Close()
	if err := d.AddChannel("w", ch, limit); err != nil {
		t.Fatal(err)
	}
	for i := range 21 {
		if err := d.Enqueue(context.Background(), "w", msgN(i)); err != nil {
			t.Fatal(err)
		}
	}
	for range 20 {
		receive(t, ch.sends)
	}
	clock.BlockUntil(t, 1)
	if diff := cmp.Diff([]time.Duration{time.Minute}, clock.Waits()); diff != "" {
		t.Errorf("rate wait (-want +got):\n%s", diff)
	}
	if n := ch.calls(); n != 20 {
		t.Fatalf("%d sends before the window moved", n)
	}
	clock.Advance(59 * time.Second)
	if n := ch.calls(); n != 20 || len(clock.Waits()) != 1 {
		t.Fatalf("sent %d at 59s", n)
	}
	clock.Advance(time.Second)
	if got := receive(t, ch.sends); got.ID != "m20" {
		t.Errorf("21st message %s", got.ID)
	}
	waitFor(t, "21 deliveries", func() bool { return len(log.Deliveries()) == 21 })
	last := log.Deliveries()[20]
	if last.Status != StatusSent || !last.At.Equal(fixedNow.Add(time.Minute)) {
		t.Errorf("last delivery %+v", last)
	}
}

func TestRetryWithBackoff(t *testing.T) {
	clock := newManualClock(fixedNow)
	ch := newFakeChannel("hook", func(n int) error {
		if n <= 2 {
			return &SendError{Channel: "hook", Status: 502, Transient: true, Err: errors.New("bad gateway")}
		}
		return nil
	})
	log := &MemoryLog{}
	d := NewDispatcher(DispatcherOptions{Clock: clock, Log: log, Rand: func() float64 { return 1 },
		Retry: RetryPolicy{MaxAttempts: 5, Base: time.Second, Max: time.Minute, Jitter: 0.2}})
	defer d.Close()
	_ = d.AddChannel("hook", ch, RateLimit{})
	_ = d.Enqueue(context.Background(), "hook", msgN(1))

	receive(t, ch.sends)
	clock.BlockUntil(t, 1)
	// Rand 1 is the top of the jitter range: 1s·1.2.
	if diff := cmp.Diff([]time.Duration{1200 * time.Millisecond}, clock.Waits()); diff != "" {
		t.Errorf("first backoff (-want +got):\n%s", diff)
	}
	clock.Advance(1200 * time.Millisecond)
	receive(t, ch.sends)
	clock.BlockUntil(t, 1)
	if diff := cmp.Diff([]time.Duration{2400 * time.Millisecond}, clock.Waits()); diff != "" {
		t.Errorf("second backoff (-want +got):\n%s", diff)
	}
	clock.Advance(2400 * time.Millisecond)
	receive(t, ch.sends)
	waitFor(t, "3 records", func() bool { return len(log.Deliveries()) == 3 })
	want := []Delivery{
		{MessageID: "m1", Channel: "hook", Attempt: 1, Status: StatusRetry, At: fixedNow},
		{MessageID: "m1", Channel: "hook", Attempt: 2, Status: StatusRetry, At: fixedNow.Add(1200 * time.Millisecond)},
		{MessageID: "m1", Channel: "hook", Attempt: 3, Status: StatusSent, At: fixedNow.Add(3600 * time.Millisecond)},
	}
	if diff := cmp.Diff(want, log.Deliveries(), cmpopts.IgnoreFields(Delivery{}, "Error")); diff != "" {
		t.Errorf("deliveries (-want +got):\n%s", diff)
	}
}

func TestNoRetryOn4xx(t *testing.T) {
	clock := newManualClock(fixedNow)
	ch := newFakeChannel("hook", func(int) error { return &SendError{Channel: "hook", Status: 400, Err: errors.New("bad request")} })
	log := &MemoryLog{}
	d := NewDispatcher(DispatcherOptions{Clock: clock, Log: log})
	defer d.Close()
	_ = d.AddChannel("hook", ch, RateLimit{})
	_ = d.Enqueue(context.Background(), "hook", msgN(1))
	receive(t, ch.sends)
	waitFor(t, "1 record", func() bool { return len(log.Deliveries()) == 1 })
	if got := log.Deliveries()[0]; got.Status != StatusFailed || got.Attempt != 1 || got.Error == "" {
		t.Errorf("delivery %+v", got)
	}
	if n := ch.calls(); n != 1 {
		t.Errorf("%d calls", n)
	}
}

func TestRetryGivesUp(t *testing.T) {
	clock := newManualClock(fixedNow)
	ch := newFakeChannel("hook", func(int) error {
		return &SendError{Channel: "hook", Status: 500, Transient: true, Err: errors.New("boom")}
	})
	log := &MemoryLog{}
	d := NewDispatcher(DispatcherOptions{Clock: clock, Log: log, Rand: func() float64 { return 0.5 },
		Retry: RetryPolicy{MaxAttempts: 3, Base: time.Second, Max: time.Minute}})
	defer d.Close()
	_ = d.AddChannel("hook", ch, RateLimit{})
	_ = d.Enqueue(context.Background(), "hook", msgN(1))
	for i := range 2 {
		receive(t, ch.sends)
		clock.BlockUntil(t, 1)
		clock.Advance(time.Second << i)
	}
	receive(t, ch.sends)
	waitFor(t, "3 records", func() bool { return len(log.Deliveries()) == 3 })
	var statuses []string
	for _, d := range log.Deliveries() {
		statuses = append(statuses, d.Status)
	}
	if diff := cmp.Diff([]string{StatusRetry, StatusRetry, StatusFailed}, statuses); diff != "" {
		t.Errorf("statuses (-want +got):\n%s", diff)
	}
}

func TestBackoffBounds(t *testing.T) {
	p := RetryPolicy{MaxAttempts: 10, Base: 2 * time.Second, Max: 5 * time.Minute, Jitter: 0.2}
	for n := 1; n <= 12; n++ {
		mid := p.Backoff(n, 0.5)
		lo, hi := p.Backoff(n, 0), p.Backoff(n, 0.999999)
		if lo > mid || mid > hi || mid > p.Max {
			t.Errorf("attempt %d: lo %v mid %v hi %v", n, lo, mid, hi)
		}
		if n > 1 && mid < p.Max && mid != 2*p.Backoff(n-1, 0.5) {
			t.Errorf("attempt %d: %v is not twice %v", n, mid, p.Backoff(n-1, 0.5))
		}
	}
}

func TestEnqueueErrors(t *testing.T) {
	d := NewDispatcher(DispatcherOptions{Clock: newManualClock(fixedNow), QueueSize: 1})
	defer d.Close()
	if err := d.Enqueue(context.Background(), "nope", msgN(1)); !errors.Is(err, ErrUnknownChannel) {
		t.Errorf("unknown channel: %v", err)
	}
	bad := msgN(1)
	bad.Subject = ""
	release := make(chan struct{})
	defer close(release)
	b := &blockingChannel{release: release, entered: make(chan struct{}, 10)}
	_ = d.AddChannel("b", b, RateLimit{})
	if err := d.Enqueue(context.Background(), "b", bad); !errors.Is(err, ErrInvalidMessage) {
		t.Errorf("invalid message: %v", err)
	}
	_ = d.Enqueue(context.Background(), "b", msgN(1))
	<-b.entered
	_ = d.Enqueue(context.Background(), "b", msgN(2))
	if err := d.Enqueue(context.Background(), "b", msgN(3)); !errors.Is(err, ErrQueueFull) {
		t.Errorf("full queue: %v", err)
	}
}
