// Package bustest is the conformance suite every bus driver must pass. A
// driver's tests call Run with a constructor; the suite checks events
// (subject matching, fan-out, unsubscribe) and queues (acks, naks,
// redelivery after a dead consumer, consumer groups, MaxDeliver, MaxBytes,
// concurrency, Stop and Close).
//
// The suite relies on one behaviour beyond the bus.Handler contract: a
// queue handler that panics leaves its delivery unacknowledged, as if the
// consumer had died, so that it is redelivered after AckWait. That is how
// it simulates a consumer that dies without acking.
package bustest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/bus"
)

// eventually is how long the suite waits for something that should happen.
const eventually = 15 * time.Second

// settle is how long the suite waits to see that something does not happen
// when ordering cannot tell it.
const settle = 200 * time.Millisecond

// Run runs the suite. newBus must return a new bus for each call, isolated
// from every other bus it returned and from concurrent runs (queue names
// are unique per subtest, but a driver with a shared server should also
// namespace its state), and must arrange for the bus to be closed, ignoring
// bus.ErrClosed, and its server-side state removed when t ends. Subtests run
// concurrently whatever -parallel says.
func Run(t *testing.T, newBus func(t *testing.T) bus.Bus) {
	tests := []struct {
		name string
		fn   func(*testing.T, bus.Bus)
	}{
		{"PublishSubscribeExact", testExact},
		{"Wildcards", testWildcards},
		{"InvalidSubjectsAndHeaders", testInvalidSubjects},
		{"MultipleSubscribers", testMultipleSubscribers},
		{"Unsubscribe", testUnsubscribe},
		{"SubscriptionStopWaitsForHandler", testSubscriptionStopWaits},
		{"QueueAckOnce", testAckOnce},
		{"QueueDefaultSubject", testDefaultSubject},
		{"QueueValidation", testQueueValidation},
		{"NakDelayRedelivers", testNakDelay},
		{"HandlerErrorRedelivers", testHandlerError},
		{"RedeliveryAfterConsumerDies", testConsumerDies},
		{"GroupSplitsWork", testGroupSplit},
		{"MaxDeliverAfterNaks", testMaxDeliverNak},
		{"MaxDeliverAfterExpiredLeases", testMaxDeliverExpiry},
		{"MaxBytes", testMaxBytes},
		{"ConcurrentEnqueuers", testConcurrentEnqueuers},
		{"MessageIDDeduplicates", testMessageID},
		{"ConsumeConcurrency", testConcurrency},
		{"ConsumerStopWaitsForHandlers", testConsumerStopWaits},
		{"ConsumeContextCancel", testConsumeCancel},
		{"Close", testClose},
	}
	// The subtests mostly wait for timers, so they all run at once rather
	// than in t.Parallel batches of GOMAXPROCS.
	var wg sync.WaitGroup
	for _, tc := range tests {
		wg.Go(func() {
			t.Run(tc.name, func(t *testing.T) { tc.fn(t, newBus(t)) })
		})
	}
	wg.Wait()
}

// Unique returns prefix followed by a random suffix, for queue names and
// subject roots that must not collide across tests and runs.
func Unique(prefix string) string {
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err)
	}
	return prefix + hex.EncodeToString(b[:])
}

// waitFor fails the test unless cond becomes true within eventually.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(eventually)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", eventually, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// inbox records events.
type inbox struct {
	mu   sync.Mutex
	msgs []bus.Message
}

func (in *inbox) handle(_ context.Context, m bus.Message) {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.msgs = append(in.msgs, m)
}

func (in *inbox) all() []bus.Message {
	in.mu.Lock()
	defer in.mu.Unlock()
	return slices.Clone(in.msgs)
}

func (in *inbox) len() int {
	in.mu.Lock()
	defer in.mu.Unlock()
	return len(in.msgs)
}

func (in *inbox) subjects() []string {
	var out []string
	for _, m := range in.all() {
		out = append(out, m.Subject)
	}
	return out
}

// ledger records queue deliveries.
type ledger struct {
	mu    sync.Mutex
	seen  []record
	count map[string]int
}

type record struct {
	msg     bus.Message
	attempt int
	at      time.Time
	who     string
}

func newLedger() *ledger { return &ledger{count: make(map[string]int)} }

func (l *ledger) add(who string, d bus.Delivery) {
	l.mu.Lock()
	defer l.mu.Unlock()
	m := d.Message()
	l.seen = append(l.seen, record{msg: m, attempt: d.Attempt(), at: time.Now(), who: who})
	l.count[string(m.Data)]++
}

func (l *ledger) records() []record {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.seen)
}

// deliveries is the number of deliveries, distinct the number of distinct
// payloads delivered.
func (l *ledger) deliveries() (total, distinct int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.seen), len(l.count)
}

// acker returns a handler that acks each delivery and records it.
func (l *ledger) acker(t *testing.T, who string) bus.Handler {
	return func(ctx context.Context, d bus.Delivery) error {
		if err := d.Ack(ctx); err != nil {
			if ctx.Err() == nil { // not just the end of the test
				t.Errorf("ack: %v", err)
			}
			return err
		}
		l.add(who, d)
		return nil
	}
}

func mustSubscribe(t *testing.T, b bus.Bus, subject string, fn func(context.Context, bus.Message)) bus.Subscription {
	t.Helper()
	s, err := b.Subscribe(t.Context(), subject, fn)
	if err != nil {
		t.Fatalf("Subscribe(%q): %v", subject, err)
	}
	t.Cleanup(func() { _ = s.Stop() })
	return s
}

func mustPublish(t *testing.T, b bus.Bus, m bus.Message) {
	t.Helper()
	if err := b.Publish(t.Context(), m); err != nil {
		t.Fatalf("Publish(%q): %v", m.Subject, err)
	}
}

func mustQueue(t *testing.T, b bus.Bus, cfg bus.QueueConfig) string {
	t.Helper()
	if cfg.Name == "" {
		cfg.Name = Unique("q")
	}
	if err := b.EnsureQueue(t.Context(), cfg); err != nil {
		t.Fatalf("EnsureQueue(%+v): %v", cfg, err)
	}
	return cfg.Name
}

func mustEnqueue(t *testing.T, b bus.Bus, queue string, m bus.Message) {
	t.Helper()
	if err := b.Enqueue(t.Context(), queue, m); err != nil {
		t.Fatalf("Enqueue(%s, %q): %v", queue, m.Data, err)
	}
}

func mustConsume(t *testing.T, b bus.Bus, queue string, opts bus.ConsumeOptions, fn bus.Handler) bus.Subscription {
	t.Helper()
	s, err := b.Consume(t.Context(), queue, opts, fn)
	if err != nil {
		t.Fatalf("Consume(%s, %+v): %v", queue, opts, err)
	}
	t.Cleanup(func() { _ = s.Stop() })
	return s
}

func payload(i int) []byte { return []byte(strconv.Itoa(i)) }

func testExact(t *testing.T, b bus.Bus) {
	root := Unique("t")
	var in inbox
	mustSubscribe(t, b, root+".a.b", in.handle)
	for _, s := range []string{".a.c", ".a", ".a.b.c", ".x.b"} {
		mustPublish(t, b, bus.Message{Subject: root + s, Data: []byte("no")})
	}
	want := bus.Message{Subject: root + ".a.b", Data: []byte("yes"), Header: map[string]string{"Tenant": "t1", "trace-id": "abc"}}
	mustPublish(t, b, want)
	// Events from one publisher arrive in order, so anything wrongly
	// delivered would precede the matching event.
	waitFor(t, "the matching event", func() bool { return in.len() >= 1 })
	got := in.all()
	if len(got) != 1 {
		t.Fatalf("got %d events (%v), want only %s", len(got), in.subjects(), want.Subject)
	}
	if got[0].Subject != want.Subject || string(got[0].Data) != "yes" || !equalHeader(got[0].Header, want.Header) {
		t.Fatalf("got %+v, want %+v", got[0], want)
	}
}

func equalHeader(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func testWildcards(t *testing.T, b bus.Bus) {
	r := Unique("t")
	patterns := []string{r + ".*.b", r + ".>", r + ".a.>", r + ".*", r + ".a.*.c"}
	inboxes := make([]*inbox, len(patterns))
	for i, p := range patterns {
		inboxes[i] = &inbox{}
		mustSubscribe(t, b, p, inboxes[i].handle)
	}
	for _, s := range []string{r, r + ".a.b", r + ".x.b", r + ".a.c", r + ".a", r + ".a.b.c", r + ".b.b.b", r + "x.a"} {
		mustPublish(t, b, bus.Message{Subject: s})
	}
	want := [][]string{
		{r + ".a.b", r + ".x.b"},
		{r + ".a.b", r + ".x.b", r + ".a.c", r + ".a", r + ".a.b.c", r + ".b.b.b"},
		{r + ".a.b", r + ".a.c", r + ".a.b.c"},
		{r + ".a"},
		{r + ".a.b.c"},
	}
	for i, in := range inboxes {
		waitFor(t, fmt.Sprintf("%d events on %s", len(want[i]), patterns[i]), func() bool { return in.len() >= len(want[i]) })
	}
	time.Sleep(settle)
	for i, in := range inboxes {
		if got := in.subjects(); !slices.Equal(got, want[i]) {
			t.Errorf("%s received %v, want %v", patterns[i], got, want[i])
		}
	}
}

func testInvalidSubjects(t *testing.T, b bus.Bus) {
	noop := func(context.Context, bus.Message) {}
	for _, s := range []string{"", "a..b", ".a", "a.", "a.>.b", "a b", "a*.b"} {
		if sub, err := b.Subscribe(t.Context(), s, noop); err == nil {
			_ = sub.Stop()
			t.Errorf("Subscribe(%q) succeeded", s)
		}
	}
	for _, s := range []string{"", "a.*", "a.>", "a..b", "a b"} {
		if err := b.Publish(t.Context(), bus.Message{Subject: s}); err == nil {
			t.Errorf("Publish(%q) succeeded", s)
		}
	}
	q := mustQueue(t, b, bus.QueueConfig{})
	for _, h := range []map[string]string{
		{"Nats-Msg-Id": "1"},
		{"nats-expected-stream": "x"},
		{"Bad Key": "v"},
		{"Key:": "v"},
		{"": "v"},
		{"K": "line\r\nbreak"},
	} {
		if err := b.Publish(t.Context(), bus.Message{Subject: Unique("t"), Header: h}); err == nil {
			t.Errorf("Publish with header %q succeeded", h)
		}
		if err := b.Enqueue(t.Context(), q, bus.Message{Header: h}); err == nil {
			t.Errorf("Enqueue with header %q succeeded", h)
		}
	}
}

func testMultipleSubscribers(t *testing.T, b bus.Bus) {
	r := Unique("t")
	ins := []*inbox{{}, {}, {}}
	for _, in := range ins {
		mustSubscribe(t, b, r+".ev", in.handle)
	}
	var other inbox
	mustSubscribe(t, b, r+".other", other.handle)
	const n = 20
	for i := range n {
		mustPublish(t, b, bus.Message{Subject: r + ".ev", Data: payload(i)})
	}
	for i, in := range ins {
		waitFor(t, fmt.Sprintf("subscriber %d to get %d events", i, n), func() bool { return in.len() >= n })
	}
	time.Sleep(settle)
	for i, in := range ins {
		got := in.all()
		if len(got) != n {
			t.Fatalf("subscriber %d got %d events, want %d", i, len(got), n)
		}
		for j, m := range got {
			if string(m.Data) != string(payload(j)) {
				t.Fatalf("subscriber %d event %d is %q, want %q (publish order)", i, j, m.Data, payload(j))
			}
		}
	}
	if other.len() != 0 {
		t.Fatalf("subscriber of another subject got %d events", other.len())
	}
}

func testUnsubscribe(t *testing.T, b bus.Bus) {
	r := Unique("t")
	var a, c inbox
	sa := mustSubscribe(t, b, r+".ev", a.handle)
	mustSubscribe(t, b, r+".ev", c.handle)
	mustPublish(t, b, bus.Message{Subject: r + ".ev", Data: []byte("1")})
	waitFor(t, "both subscribers to get the first event", func() bool { return a.len() == 1 && c.len() == 1 })
	if err := sa.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if err := sa.Stop(); err != nil {
		t.Fatalf("second Stop: %v", err)
	}
	mustPublish(t, b, bus.Message{Subject: r + ".ev", Data: []byte("2")})
	waitFor(t, "the remaining subscriber to get the second event", func() bool { return c.len() == 2 })
	time.Sleep(settle)
	if a.len() != 1 {
		t.Fatalf("stopped subscriber got %d events, want 1", a.len())
	}

	// A subscription ends with its context.
	ctx, cancel := context.WithCancel(t.Context())
	var d inbox
	sd, err := b.Subscribe(ctx, r+".ev", d.handle)
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := sd.Stop(); err != nil {
		t.Fatalf("Stop after cancel: %v", err)
	}
	mustPublish(t, b, bus.Message{Subject: r + ".ev", Data: []byte("3")})
	waitFor(t, "the remaining subscriber to get the third event", func() bool { return c.len() == 3 })
	time.Sleep(settle)
	if d.len() != 0 {
		t.Fatalf("subscription with a cancelled context got %d events", d.len())
	}
}

func testSubscriptionStopWaits(t *testing.T, b bus.Bus) {
	r := Unique("t")
	started := make(chan struct{})
	var finished atomic.Bool
	s := mustSubscribe(t, b, r+".ev", func(context.Context, bus.Message) {
		close(started)
		time.Sleep(300 * time.Millisecond)
		finished.Store(true)
	})
	mustPublish(t, b, bus.Message{Subject: r + ".ev"})
	select {
	case <-started:
	case <-time.After(eventually):
		t.Fatal("handler did not start")
	}
	if err := s.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if !finished.Load() {
		t.Fatal("Stop returned before the running handler finished")
	}
}

func testAckOnce(t *testing.T, b bus.Bus) {
	r := Unique("t")
	q := mustQueue(t, b, bus.QueueConfig{Subjects: []string{r + ".job.*"}, AckWait: 500 * time.Millisecond})
	if err := b.Enqueue(t.Context(), q, bus.Message{Subject: r + ".other", Data: []byte("x")}); err == nil {
		t.Error("Enqueue with a subject outside the queue's subjects succeeded")
	}
	if err := b.Enqueue(t.Context(), q, bus.Message{Subject: r + ".job.*", Data: []byte("x")}); err == nil {
		t.Error("Enqueue with a wildcard subject succeeded")
	}
	if err := b.Enqueue(t.Context(), Unique("missing"), bus.Message{Data: []byte("x")}); err == nil {
		t.Error("Enqueue to a queue that was never ensured succeeded")
	}
	const n = 20
	for i := range n {
		mustEnqueue(t, b, q, bus.Message{Subject: r + ".job.k" + strconv.Itoa(i%3), Data: payload(i), Header: map[string]string{"N": strconv.Itoa(i)}})
	}
	l := newLedger()
	var doubleAck atomic.Int32
	mustConsume(t, b, q, bus.ConsumeOptions{Group: "workers"}, func(ctx context.Context, d bus.Delivery) error {
		l.add("c", d)
		if err := d.Ack(ctx); err != nil {
			t.Errorf("ack: %v", err)
		}
		if err := d.Ack(ctx); err != nil {
			doubleAck.Add(1)
		}
		return nil
	})
	waitFor(t, "all messages", func() bool { _, d := l.deliveries(); return d == n })
	time.Sleep(3 * 500 * time.Millisecond) // well past AckWait
	total, _ := l.deliveries()
	if total != n {
		t.Fatalf("%d deliveries of %d acked messages, want exactly one each", total, n)
	}
	if got := doubleAck.Load(); got != n {
		t.Errorf("a second Ack returned nil %d times, want an error every time", n-int(got))
	}
	for _, rec := range l.records() {
		i, _ := strconv.Atoi(string(rec.msg.Data))
		wantSubject := r + ".job.k" + strconv.Itoa(i%3)
		if rec.attempt != 1 || rec.msg.Subject != wantSubject || rec.msg.Header["N"] != strconv.Itoa(i) || len(rec.msg.Header) != 1 {
			t.Errorf("delivery %+v: want attempt 1, subject %s, header N=%d only", rec, wantSubject, i)
		}
	}
}

func testDefaultSubject(t *testing.T, b bus.Bus) {
	q := mustQueue(t, b, bus.QueueConfig{AckWait: time.Second})
	mustEnqueue(t, b, q, bus.Message{Data: []byte("implicit")})
	mustEnqueue(t, b, q, bus.Message{Subject: q, Data: []byte("explicit")})
	if err := b.Enqueue(t.Context(), q, bus.Message{Subject: q + ".x", Data: []byte("x")}); err == nil {
		t.Error("Enqueue with a subject other than the queue name succeeded")
	}
	l := newLedger()
	mustConsume(t, b, q, bus.ConsumeOptions{}, l.acker(t, "c"))
	waitFor(t, "both messages", func() bool { _, d := l.deliveries(); return d == 2 })
	for _, rec := range l.records() {
		if rec.msg.Subject != q {
			t.Errorf("message %q has subject %q, want the queue name %q", rec.msg.Data, rec.msg.Subject, q)
		}
	}
}

func testQueueValidation(t *testing.T, b bus.Bus) {
	for _, cfg := range []bus.QueueConfig{
		{Name: ""},
		{Name: "a.b"},
		{Name: "a b"},
		{Name: "a*"},
		{Name: Unique("q"), AckWait: -time.Second},
		{Name: Unique("q"), MaxDeliver: -1},
		{Name: Unique("q"), Subjects: []string{"a..b"}},
	} {
		if err := b.EnsureQueue(t.Context(), cfg); err == nil {
			t.Errorf("EnsureQueue(%+v) succeeded", cfg)
		}
	}
	q := mustQueue(t, b, bus.QueueConfig{AckWait: time.Second})
	// Updating a queue is allowed.
	mustQueue(t, b, bus.QueueConfig{Name: q, AckWait: 2 * time.Second, MaxDeliver: 5})
	noop := func(context.Context, bus.Delivery) error { return nil }
	if s, err := b.Consume(t.Context(), Unique("missing"), bus.ConsumeOptions{}, noop); err == nil {
		_ = s.Stop()
		t.Error("Consume of a queue that was never ensured succeeded")
	}
	if s, err := b.Consume(t.Context(), q, bus.ConsumeOptions{Group: "bad.group"}, noop); err == nil {
		_ = s.Stop()
		t.Error("Consume with an invalid group name succeeded")
	}
}

func testNakDelay(t *testing.T, b bus.Bus) {
	const delay = 700 * time.Millisecond
	q := mustQueue(t, b, bus.QueueConfig{AckWait: 10 * time.Second})
	l := newLedger()
	mustConsume(t, b, q, bus.ConsumeOptions{}, func(ctx context.Context, d bus.Delivery) error {
		l.add("c", d)
		if d.Attempt() == 1 {
			return d.Nak(ctx, delay)
		}
		return d.Ack(ctx)
	})
	mustEnqueue(t, b, q, bus.Message{Data: []byte("m")})
	waitFor(t, "the redelivery", func() bool { n, _ := l.deliveries(); return n >= 2 })
	time.Sleep(settle)
	recs := l.records()
	if len(recs) != 2 || recs[0].attempt != 1 || recs[1].attempt != 2 {
		t.Fatalf("deliveries %+v, want attempts 1 and 2", recs)
	}
	if gap := recs[1].at.Sub(recs[0].at); gap < delay/2 {
		t.Fatalf("redelivered %s after the nak, want about %s", gap, delay)
	}
}

func testHandlerError(t *testing.T, b bus.Bus) {
	q := mustQueue(t, b, bus.QueueConfig{AckWait: 10 * time.Second})
	l := newLedger()
	mustConsume(t, b, q, bus.ConsumeOptions{}, func(_ context.Context, d bus.Delivery) error {
		l.add("c", d)
		if d.Attempt() == 1 {
			return errors.New("transient failure")
		}
		return nil
	})
	mustEnqueue(t, b, q, bus.Message{Data: []byte("m")})
	waitFor(t, "the redelivery", func() bool { n, _ := l.deliveries(); return n >= 2 })
	time.Sleep(time.Second) // a nil return must have acked the second delivery
	recs := l.records()
	if len(recs) != 2 || recs[0].attempt != 1 || recs[1].attempt != 2 {
		t.Fatalf("deliveries %+v, want attempts 1 and 2 only", recs)
	}
}

func testConsumerDies(t *testing.T, b bus.Bus) {
	const ackWait = 600 * time.Millisecond
	q := mustQueue(t, b, bus.QueueConfig{AckWait: ackWait})
	got1 := make(chan time.Time, 1)
	c1 := mustConsume(t, b, q, bus.ConsumeOptions{Group: "g"}, func(context.Context, bus.Delivery) error {
		got1 <- time.Now()
		panic("simulated consumer death: no ack, no nak")
	})
	mustEnqueue(t, b, q, bus.Message{Data: []byte("orphan")})
	var first time.Time
	select {
	case first = <-got1:
	case <-time.After(eventually):
		t.Fatal("first consumer never received the message")
	}
	if err := c1.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	l := newLedger()
	mustConsume(t, b, q, bus.ConsumeOptions{Group: "g"}, l.acker(t, "c2"))
	waitFor(t, "the second consumer to get the orphaned message", func() bool { n, _ := l.deliveries(); return n >= 1 })
	recs := l.records()
	if string(recs[0].msg.Data) != "orphan" || recs[0].attempt < 2 {
		t.Fatalf("second consumer got %q attempt %d, want \"orphan\" attempt >= 2", recs[0].msg.Data, recs[0].attempt)
	}
	if gap := recs[0].at.Sub(first); gap < ackWait/2 {
		t.Fatalf("redelivered %s after the first delivery, want about AckWait (%s)", gap, ackWait)
	}
	time.Sleep(2 * ackWait)
	if n, _ := l.deliveries(); n != 1 {
		t.Fatalf("%d deliveries after the ack, want 1", n)
	}
}

func testGroupSplit(t *testing.T, b bus.Bus) {
	q := mustQueue(t, b, bus.QueueConfig{AckWait: 2 * time.Second})
	l := newLedger()
	handler := func(who string) bus.Handler {
		return func(ctx context.Context, d bus.Delivery) error {
			l.add(who, d)
			time.Sleep(2 * time.Millisecond)
			return d.Ack(ctx)
		}
	}
	mustConsume(t, b, q, bus.ConsumeOptions{Group: "split", Concurrency: 2}, handler("c1"))
	mustConsume(t, b, q, bus.ConsumeOptions{Group: "split", Concurrency: 2}, handler("c2"))
	noop := func(context.Context, bus.Delivery) error { return nil }
	if s, err := b.Consume(t.Context(), q, bus.ConsumeOptions{Group: "another"}, noop); err == nil {
		_ = s.Stop()
		t.Error("Consume with a second group succeeded; a queue has one consumer group")
	}
	const n = 200
	for i := range n {
		mustEnqueue(t, b, q, bus.Message{Data: payload(i)})
	}
	waitFor(t, "all messages", func() bool { _, d := l.deliveries(); return d == n })
	time.Sleep(time.Second)
	total, _ := l.deliveries()
	if total != n {
		t.Fatalf("%d deliveries of %d messages, want no duplicates", total, n)
	}
	per := map[string]int{}
	for _, rec := range l.records() {
		per[rec.who]++
	}
	if per["c1"] == 0 || per["c2"] == 0 {
		t.Fatalf("work was not split: %v", per)
	}
}

func testMaxDeliverNak(t *testing.T, b bus.Bus) {
	q := mustQueue(t, b, bus.QueueConfig{AckWait: 500 * time.Millisecond, MaxDeliver: 3})
	l := newLedger()
	mustConsume(t, b, q, bus.ConsumeOptions{}, func(ctx context.Context, d bus.Delivery) error {
		l.add("c", d)
		if string(d.Message().Data) == "poison" {
			return errors.New("always fails")
		}
		return d.Ack(ctx)
	})
	mustEnqueue(t, b, q, bus.Message{Data: []byte("poison")})
	waitFor(t, "three attempts", func() bool { n, _ := l.deliveries(); return n >= 3 })
	time.Sleep(1500 * time.Millisecond) // AckWait and retry delays several times over
	mustEnqueue(t, b, q, bus.Message{Data: []byte("fine")})
	waitFor(t, "the next message", func() bool { _, d := l.deliveries(); return d == 2 })
	time.Sleep(settle)
	var attempts []int
	for _, rec := range l.records() {
		if string(rec.msg.Data) == "poison" {
			attempts = append(attempts, rec.attempt)
		}
	}
	if !slices.Equal(attempts, []int{1, 2, 3}) {
		t.Fatalf("poison message attempts %v, want [1 2 3] and then dropped", attempts)
	}
}

func testMaxDeliverExpiry(t *testing.T, b bus.Bus) {
	const ackWait = 400 * time.Millisecond
	q := mustQueue(t, b, bus.QueueConfig{AckWait: ackWait, MaxDeliver: 2})
	l := newLedger()
	mustConsume(t, b, q, bus.ConsumeOptions{}, func(ctx context.Context, d bus.Delivery) error {
		l.add("c", d)
		if string(d.Message().Data) == "poison" {
			panic("simulated consumer death")
		}
		return d.Ack(ctx)
	})
	mustEnqueue(t, b, q, bus.Message{Data: []byte("poison")})
	waitFor(t, "two attempts", func() bool { n, _ := l.deliveries(); return n >= 2 })
	time.Sleep(4 * ackWait)
	mustEnqueue(t, b, q, bus.Message{Data: []byte("fine")})
	waitFor(t, "the next message", func() bool { _, d := l.deliveries(); return d == 2 })
	time.Sleep(settle)
	var attempts []int
	for _, rec := range l.records() {
		if string(rec.msg.Data) == "poison" {
			attempts = append(attempts, rec.attempt)
		}
	}
	if !slices.Equal(attempts, []int{1, 2}) {
		t.Fatalf("poison message attempts %v, want [1 2] and then dropped", attempts)
	}
}

func testMaxBytes(t *testing.T, b bus.Bus) {
	q := mustQueue(t, b, bus.QueueConfig{AckWait: time.Second, MaxBytes: 4096})
	body := make([]byte, 1000)
	accepted := 0
	var full error
	for range 10 {
		if full = b.Enqueue(t.Context(), q, bus.Message{Data: body}); full != nil {
			break
		}
		accepted++
	}
	if accepted == 0 || full == nil {
		t.Fatalf("accepted %d messages of 1000 bytes into a 4096-byte queue (last error %v); want some, then an error", accepted, full)
	}
	l := newLedger()
	mustConsume(t, b, q, bus.ConsumeOptions{}, l.acker(t, "c"))
	waitFor(t, "the accepted messages", func() bool { n, _ := l.deliveries(); return n == accepted })
	waitFor(t, "room after the acks", func() bool {
		return b.Enqueue(t.Context(), q, bus.Message{Data: body}) == nil
	})
}

func testConcurrentEnqueuers(t *testing.T, b bus.Bus) {
	const producers, each = 4, 250
	q := mustQueue(t, b, bus.QueueConfig{AckWait: 10 * time.Second})
	l := newLedger()
	mustConsume(t, b, q, bus.ConsumeOptions{Concurrency: 8}, l.acker(t, "c"))
	var wg sync.WaitGroup
	for p := range producers {
		wg.Go(func() {
			for i := range each {
				if err := b.Enqueue(t.Context(), q, bus.Message{Data: fmt.Appendf(nil, "%d-%d", p, i)}); err != nil {
					t.Errorf("Enqueue: %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
	waitFor(t, "every message", func() bool { _, d := l.deliveries(); return d == producers*each })
	time.Sleep(settle)
	if total, _ := l.deliveries(); total != producers*each {
		t.Fatalf("%d deliveries of %d messages", total, producers*each)
	}
}

func testConcurrency(t *testing.T, b bus.Bus) {
	const conc = 4
	q := mustQueue(t, b, bus.QueueConfig{AckWait: 10 * time.Second})
	var running, peak atomic.Int32
	release := make(chan struct{})
	var releaseOnce sync.Once
	unblock := func() { releaseOnce.Do(func() { close(release) }) }
	l := newLedger()
	c := mustConsume(t, b, q, bus.ConsumeOptions{Concurrency: conc}, func(ctx context.Context, d bus.Delivery) error {
		n := running.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		l.add("c", d)
		<-release
		running.Add(-1)
		return nil
	})
	// Cleanups run last in, first out: unblock the handlers before the
	// consumer's Stop waits for them.
	t.Cleanup(func() { unblock(); _ = c.Stop() })
	for i := range 2 * conc {
		mustEnqueue(t, b, q, bus.Message{Data: payload(i)})
	}
	waitFor(t, fmt.Sprintf("%d handlers to run at once", conc), func() bool { return running.Load() == conc })
	time.Sleep(settle)
	if p := peak.Load(); p != conc {
		t.Fatalf("%d handlers ran at once, want %d", p, conc)
	}
	unblock()
	waitFor(t, "every message", func() bool { _, d := l.deliveries(); return d == 2*conc })
}

func testConsumerStopWaits(t *testing.T, b bus.Bus) {
	const ackWait = 500 * time.Millisecond
	q := mustQueue(t, b, bus.QueueConfig{AckWait: ackWait})
	var started, finished atomic.Int32
	c := mustConsume(t, b, q, bus.ConsumeOptions{Group: "g", Concurrency: 3}, func(context.Context, bus.Delivery) error {
		started.Add(1)
		time.Sleep(300 * time.Millisecond)
		finished.Add(1)
		return nil // acked by the driver after the handler returns
	})
	for i := range 3 {
		mustEnqueue(t, b, q, bus.Message{Data: payload(i)})
	}
	waitFor(t, "three handlers to start", func() bool { return started.Load() == 3 })
	if err := c.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if f := finished.Load(); f != 3 {
		t.Fatalf("Stop returned with %d of 3 handlers finished", f)
	}
	if err := c.Stop(); err != nil {
		t.Fatalf("second Stop: %v", err)
	}
	// The handlers' results were acked before Stop returned.
	l := newLedger()
	mustConsume(t, b, q, bus.ConsumeOptions{Group: "g"}, l.acker(t, "c2"))
	time.Sleep(3 * ackWait)
	if n, _ := l.deliveries(); n != 0 {
		t.Fatalf("%d messages redelivered after their handlers returned nil before Stop", n)
	}
}

func testConsumeCancel(t *testing.T, b bus.Bus) {
	// A message arriving just as a consumer stops may be delivered to it
	// in flight and come back only after AckWait: keep that short.
	q := mustQueue(t, b, bus.QueueConfig{AckWait: time.Second})
	ctx, cancel := context.WithCancel(t.Context())
	l1 := newLedger()
	c1, err := b.Consume(ctx, q, bus.ConsumeOptions{Group: "g"}, l1.acker(t, "c1"))
	if err != nil {
		t.Fatal(err)
	}
	mustEnqueue(t, b, q, bus.Message{Data: []byte("before")})
	waitFor(t, "the first message", func() bool { n, _ := l1.deliveries(); return n == 1 })
	cancel()
	if err := c1.Stop(); err != nil {
		t.Fatalf("Stop after cancel: %v", err)
	}
	mustEnqueue(t, b, q, bus.Message{Data: []byte("after")})
	l2 := newLedger()
	mustConsume(t, b, q, bus.ConsumeOptions{Group: "g"}, l2.acker(t, "c2"))
	waitFor(t, "the second consumer to get the message", func() bool { n, _ := l2.deliveries(); return n == 1 })
	if n, _ := l1.deliveries(); n != 1 {
		t.Fatalf("cancelled consumer got %d messages, want 1", n)
	}
	if rec := l2.records()[0]; string(rec.msg.Data) != "after" {
		t.Fatalf("second consumer got %q, want \"after\"", rec.msg.Data)
	}
}

func testClose(t *testing.T, b bus.Bus) {
	ctx := t.Context()
	if err := b.Ping(ctx); err != nil {
		t.Fatalf("Ping: %v", err)
	}
	r := Unique("t")
	q := mustQueue(t, b, bus.QueueConfig{AckWait: 5 * time.Second})
	var evDone, jobDone atomic.Bool
	evStarted, jobStarted := make(chan struct{}), make(chan struct{})
	mustSubscribe(t, b, r+".ev", func(context.Context, bus.Message) {
		close(evStarted)
		time.Sleep(300 * time.Millisecond)
		evDone.Store(true)
	})
	mustConsume(t, b, q, bus.ConsumeOptions{}, func(context.Context, bus.Delivery) error {
		close(jobStarted)
		time.Sleep(300 * time.Millisecond)
		jobDone.Store(true)
		return nil
	})
	mustPublish(t, b, bus.Message{Subject: r + ".ev"})
	mustEnqueue(t, b, q, bus.Message{Data: []byte("m")})
	for _, ch := range []chan struct{}{evStarted, jobStarted} {
		select {
		case <-ch:
		case <-time.After(eventually):
			t.Fatal("handler did not start")
		}
	}
	if err := b.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if !evDone.Load() || !jobDone.Load() {
		t.Fatalf("Close returned before handlers finished (event %v, job %v)", evDone.Load(), jobDone.Load())
	}
	noop := func(context.Context, bus.Message) {}
	noopJob := func(context.Context, bus.Delivery) error { return nil }
	checks := map[string]error{
		"Publish":     b.Publish(ctx, bus.Message{Subject: r + ".ev"}),
		"EnsureQueue": b.EnsureQueue(ctx, bus.QueueConfig{Name: q}),
		"Enqueue":     b.Enqueue(ctx, q, bus.Message{Data: []byte("x")}),
		"Ping":        b.Ping(ctx),
		"Close":       b.Close(),
	}
	_, checks["Subscribe"] = b.Subscribe(ctx, r+".ev", noop)
	_, checks["Consume"] = b.Consume(ctx, q, bus.ConsumeOptions{}, noopJob)
	for name, err := range checks {
		if !errors.Is(err, bus.ErrClosed) {
			t.Errorf("%s after Close returned %v, want bus.ErrClosed", name, err)
		}
	}
}
