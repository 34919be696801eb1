// Package jetstream is the bus driver for NATS JetStream, for deployments
// with several nodes.
//
// Events are plain core NATS publish and subscribe: nothing is stored, and a
// subscriber that falls behind by more than the client's pending limits
// (65536 messages or 64 MiB) loses events, which is logged as a slow
// consumer. Stop discards the events a subscription has not handled yet.
// Header keys starting with "Nats-" are reserved by NATS; every driver
// rejects them.
//
// A queue is a stream named StreamPrefix+Name with work-queue retention,
// file storage and DiscardNew, so Enqueue fails rather than evicting work
// when MaxBytes is reached (MaxBytes 0 leaves the stream unbounded but for
// the server's limits). The stream has the queue's Replicas (a clustered
// server keeps that many copies, and the stream survives losing a minority
// of them) and MaxAge; EnsureQueue on an existing stream changes both, the
// server moving or adding copies. Its subjects live under their own namespace,
// "_bus.<stream>.<subject>", so they never collide with events or with
// another queue. The queue's AckWait and MaxDeliver are recorded in the
// stream description, so a process that did not call EnsureQueue consumes
// with the same settings.
//
// Consume uses a durable pull consumer named after the group, with explicit
// acks and the queue's AckWait. A work-queue stream accepts a single
// unfiltered consumer, so a queue has one consumer group: every consumer in
// it shares the work, and Consume with another Group fails while the first
// group's durable consumer exists (it outlives its subscribers; delete it to
// switch groups, or DeleteGroup). Groups with a ConsumeOptions.Filter are
// the exception: each is a consumer filtered on its subjects, and groups
// whose filters do not overlap share the queue (a message goes to the
// group whose filter it matches); MaxAckPending sets the consumer's
// max_ack_pending. Each consumer pulls only as many messages as it has free
// handler slots, so nothing waits in a client buffer while its AckWait runs.
//
// MaxDeliver is enforced by the driver so that it behaves like inproc: a nak
// on the last allowed attempt, or a redelivery beyond it (the lease expired
// on the last attempt), terminates the message and logs it as a dead letter.
// The server-side consumer allows one extra delivery for that purpose.
package jetstream

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/vigil-sec/vigil/internal/bus"
	"github.com/vigil-sec/vigil/internal/bus/internal/contract"
)

const (
	// wireRoot is the first token of every queue subject on the wire.
	wireRoot = "_bus"
	// descPrefix starts the stream description that records queue settings.
	descPrefix = "bus queue:"
	// drainTimeout bounds how long Close waits for the connection to drain.
	drainTimeout = 30 * time.Second
	// opTimeout bounds server round trips that have no caller context.
	opTimeout = 5 * time.Second
	// ensureAttempt bounds one stream create or update request, and
	// ensureWait all of EnsureQueue's attempts.
	ensureAttempt = 10 * time.Second
	ensureWait    = time.Minute
)

// untilAnswered runs the JetStream API request op, each attempt bounded
// by ensureAttempt, again while it goes unanswered (a leader being
// elected, copies being placed) until ctx ends or ensureWait has passed.
// The requests it is used for are idempotent.
func (b *Bus) untilAnswered(ctx context.Context, what string, op func(context.Context) error) error {
	deadline := time.Now().Add(ensureWait)
	for {
		actx, cancel := context.WithTimeout(ctx, ensureAttempt)
		err := op(actx)
		cancel()
		if err == nil || !unanswered(err) || ctx.Err() != nil || time.Now().After(deadline) {
			return err
		}
		b.log.Warn("jetstream: request unanswered, retrying", "what", what, "error", err)
		select {
		case <-ctx.Done():
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// unanswered reports whether a JetStream API request got no answer (a
// timeout, or no server to take it yet), as opposed to a refusal.
func unanswered(err error) bool {
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, nats.ErrTimeout) ||
		errors.Is(err, nats.ErrNoResponders) || errors.Is(err, jetstream.ErrJetStreamNotEnabled)
}

// Options configures New.
type Options struct {
	// Logger receives connection changes, slow consumers, dead letters and
	// handler failures; nil discards them.
	Logger *slog.Logger
	// StreamPrefix is prepended to queue names to name their streams, so
	// several deployments (or test runs) can share a server. Letters,
	// digits, '-' and '_'.
	StreamPrefix string
}

// Bus is the NATS JetStream bus. It is safe for concurrent use.
type Bus struct {
	log    *slog.Logger
	prefix string
	nc     *nats.Conn
	js     jetstream.JetStream
	// connClosed is closed when the NATS connection is closed for good.
	connClosed chan struct{}

	mu     sync.Mutex // guards closed, subs, queues
	closed bool
	subs   map[bus.Subscription]struct{}
	queues map[string]bus.QueueConfig
}

var _ bus.Bus = (*Bus)(nil)

// New connects to the NATS server at url (a comma-separated list of server
// URLs is accepted) and checks that JetStream is enabled. The client
// reconnects forever after a lost connection; events published while
// disconnected are buffered up to 8 MiB, and Enqueue fails until the server
// is back.
func New(ctx context.Context, url string, opts Options) (*Bus, error) {
	if err := contract.ValidPrefix(opts.StreamPrefix); err != nil {
		return nil, fmt.Errorf("jetstream: stream prefix: %w", err)
	}
	b := &Bus{
		log:        contract.Logger(opts.Logger),
		prefix:     opts.StreamPrefix,
		connClosed: make(chan struct{}),
		subs:       make(map[bus.Subscription]struct{}),
		queues:     make(map[string]bus.QueueConfig),
	}
	no := []nats.Option{
		nats.Name("vigil"),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(time.Second),
		nats.ReconnectJitter(500*time.Millisecond, 2*time.Second),
		nats.PingInterval(20 * time.Second),
		nats.MaxPingsOutstanding(3),
		nats.DrainTimeout(drainTimeout),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				b.log.Warn("bus: NATS connection lost; reconnecting", "err", err)
			}
		}),
		nats.ReconnectHandler(func(c *nats.Conn) {
			b.log.Info("bus: NATS reconnected", "server", c.ConnectedUrlRedacted())
		}),
		nats.ClosedHandler(func(*nats.Conn) { close(b.connClosed) }),
		nats.ErrorHandler(func(_ *nats.Conn, sub *nats.Subscription, err error) {
			args := []any{"err", err}
			if sub != nil {
				dropped, _ := sub.Dropped()
				args = append(args, "subject", sub.Subject, "dropped", dropped)
			}
			b.log.Warn("bus: NATS asynchronous error", args...)
		}),
	}
	if dl, ok := ctx.Deadline(); ok {
		if d := time.Until(dl); d > 0 {
			no = append(no, nats.Timeout(d))
		}
	}
	nc, err := nats.Connect(url, no...)
	if err != nil {
		return nil, fmt.Errorf("jetstream: connect: %w", err)
	}
	js, err := jetstream.New(nc)
	if err == nil {
		_, err = js.AccountInfo(ctx)
	}
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("jetstream: %w", err)
	}
	b.nc, b.js = nc, js
	return b, nil
}

// Publish implements bus.Bus.
func (b *Bus) Publish(_ context.Context, m bus.Message) error {
	if err := contract.ValidSubject(m.Subject); err != nil {
		return fmt.Errorf("jetstream: publish: %w", err)
	}
	if err := contract.ValidHeader(m.Header); err != nil {
		return fmt.Errorf("jetstream: publish %s: %w", m.Subject, err)
	}
	if b.isClosed() {
		return bus.ErrClosed
	}
	if err := b.nc.PublishMsg(toNATS(m.Subject, m)); err != nil {
		return fmt.Errorf("jetstream: publish %s: %w", m.Subject, err)
	}
	return nil
}

// Subscribe implements bus.Bus. The subscription ends when Stop is called,
// ctx is done, or the bus is closed; fn gets ctx and runs for one event at
// a time.
func (b *Bus) Subscribe(ctx context.Context, subject string, fn func(context.Context, bus.Message)) (bus.Subscription, error) {
	if err := contract.ValidPattern(subject); err != nil {
		return nil, fmt.Errorf("jetstream: subscribe: %w", err)
	}
	if fn == nil {
		return nil, errors.New("jetstream: subscribe: nil handler")
	}
	if b.isClosed() {
		return nil, bus.ErrClosed
	}
	s := &subscription{b: b, pattern: subject, fn: fn, ctx: ctx}
	sub, err := b.nc.Subscribe(subject, s.deliver)
	if err == nil {
		s.sub = sub
		// Make sure the server knows of the subscription before returning,
		// so that an event published next is received. While reconnecting
		// the client resubscribes on its own.
		if err = b.nc.FlushTimeout(opTimeout); err != nil && b.nc.IsReconnecting() {
			err = nil
		}
	}
	if err != nil {
		if sub != nil {
			_ = sub.Unsubscribe()
		}
		return nil, fmt.Errorf("jetstream: subscribe %s: %w", subject, err)
	}
	if !b.track(ctx, s, &s.unwatch) {
		_ = sub.Unsubscribe()
		return nil, bus.ErrClosed
	}
	return s, nil
}

// subscription is one Subscribe call.
type subscription struct {
	b       *Bus
	pattern string
	fn      func(context.Context, bus.Message)
	ctx     context.Context
	sub     *nats.Subscription
	unwatch func() bool // guarded by b.mu

	once     sync.Once
	mu       sync.Mutex // guards stopped and adding to inflight
	stopped  bool
	inflight sync.WaitGroup
}

func (s *subscription) deliver(msg *nats.Msg) {
	s.mu.Lock()
	if s.stopped {
		s.mu.Unlock()
		return
	}
	s.inflight.Add(1)
	s.mu.Unlock()
	defer s.inflight.Done()
	contract.Notify(s.ctx, s.b.log, s.pattern, s.fn, fromNATS(msg, msg.Subject))
}

// Stop implements bus.Subscription. It must not be called from the
// subscription's own handler, whose return it waits for.
func (s *subscription) Stop() error {
	s.once.Do(func() {
		s.b.untrack(s, &s.unwatch)
		_ = s.sub.Unsubscribe()
		s.mu.Lock()
		s.stopped = true
		s.mu.Unlock()
	})
	s.inflight.Wait()
	return nil
}

// EnsureQueue implements bus.Bus.
func (b *Bus) EnsureQueue(ctx context.Context, cfg bus.QueueConfig) error {
	cfg, err := contract.NormalizeQueue(cfg)
	if err != nil {
		return fmt.Errorf("jetstream: ensure queue: %w", err)
	}
	if b.isClosed() {
		return bus.ErrClosed
	}
	stream := b.stream(cfg.Name)
	subjects := make([]string, len(cfg.Subjects))
	for i, s := range cfg.Subjects {
		subjects[i] = wireSubject(stream, s)
	}
	maxBytes := cfg.MaxBytes
	if maxBytes == 0 {
		maxBytes = -1
	}
	sc := jetstream.StreamConfig{
		Name:        stream,
		Description: encodeSettings(cfg),
		Subjects:    subjects,
		Retention:   jetstream.WorkQueuePolicy,
		Storage:     jetstream.FileStorage,
		Discard:     jetstream.DiscardNew,
		MaxBytes:    maxBytes,
		MaxMsgs:     -1,
		MaxAge:      cfg.MaxAge,
		Replicas:    cfg.Replicas,
		Duplicates:  cfg.DuplicateWindow,
	}
	// A replicated stream is placed by the cluster's meta leader, which
	// may still be being elected, or slow to place the copies, when nodes
	// start together: a request that goes unanswered is sent again (the
	// call is idempotent) until ctx ends or ensureWait has passed.
	err = b.untilAnswered(ctx, "stream "+stream, func(actx context.Context) error {
		_, err := b.js.CreateOrUpdateStream(actx, sc)
		return err
	})
	if err != nil {
		return fmt.Errorf("jetstream: ensure queue %s: %w", cfg.Name, err)
	}
	b.mu.Lock()
	b.queues[cfg.Name] = cfg
	b.mu.Unlock()
	return nil
}

// Enqueue implements bus.Bus: it returns once the server acknowledged that
// the stream stored the message.
func (b *Bus) Enqueue(ctx context.Context, queue string, m bus.Message) error {
	if b.isClosed() {
		return bus.ErrClosed
	}
	cfg, err := b.queueConfig(ctx, queue, false)
	if err != nil {
		return fmt.Errorf("jetstream: enqueue %s: %w", queue, err)
	}
	subject, err := contract.EnqueueSubject(cfg, m)
	if err == nil {
		err = contract.ValidHeader(m.Header)
	}
	if err == nil {
		err = contract.ValidID(m.ID)
	}
	if err != nil {
		return fmt.Errorf("jetstream: enqueue %s: %w", queue, err)
	}
	stream := b.stream(queue)
	opts := []jetstream.PublishOpt{jetstream.WithExpectStream(stream)}
	if m.ID != "" {
		// The server drops a message whose ID the stream stored within
		// its Duplicates window and acknowledges it as a duplicate.
		opts = append(opts, jetstream.WithMsgID(m.ID))
	}
	_, err = b.js.PublishMsg(ctx, toNATS(wireSubject(stream, subject), m), opts...)
	if err != nil {
		if errors.Is(err, jetstream.ErrNoStreamResponse) {
			b.forget(queue) // the stream may have been deleted or changed
		}
		return fmt.Errorf("jetstream: enqueue %s: %w", queue, err)
	}
	return nil
}

// queueConfig returns the queue settings, from the cache unless fresh is
// set, else from the stream.
func (b *Bus) queueConfig(ctx context.Context, queue string, fresh bool) (bus.QueueConfig, error) {
	if !fresh {
		b.mu.Lock()
		cfg, ok := b.queues[queue]
		b.mu.Unlock()
		if ok {
			return cfg, nil
		}
	}
	if err := contract.ValidName(queue); err != nil {
		return bus.QueueConfig{}, err
	}
	stream := b.stream(queue)
	st, err := b.js.Stream(ctx, stream)
	if err != nil {
		return bus.QueueConfig{}, err
	}
	sc := st.CachedInfo().Config
	cfg := bus.QueueConfig{Name: queue, MaxBytes: max(sc.MaxBytes, 0), DuplicateWindow: max(sc.Duplicates, 0),
		MaxAge: max(sc.MaxAge, 0), Replicas: sc.Replicas}
	for _, s := range sc.Subjects {
		if rest, ok := strings.CutPrefix(s, wireSubject(stream, "")); ok {
			cfg.Subjects = append(cfg.Subjects, rest)
		}
	}
	cfg.AckWait, cfg.MaxDeliver = decodeSettings(sc.Description)
	if cfg, err = contract.NormalizeQueue(cfg); err != nil {
		return cfg, fmt.Errorf("stream %s was not created by this driver: %w", stream, err)
	}
	b.mu.Lock()
	b.queues[queue] = cfg
	b.mu.Unlock()
	return cfg, nil
}

func (b *Bus) forget(queue string) {
	b.mu.Lock()
	delete(b.queues, queue)
	b.mu.Unlock()
}

// Ping implements bus.Bus: it checks the connection and JetStream.
func (b *Bus) Ping(ctx context.Context) error {
	if b.isClosed() {
		return bus.ErrClosed
	}
	if _, err := b.js.AccountInfo(ctx); err != nil {
		return fmt.Errorf("jetstream: ping: %w", err)
	}
	return nil
}

// Close implements bus.Bus: it stops every subscription and consumer, waits
// for their handlers, then drains the connection. It must not be called
// from a handler. A second Close returns bus.ErrClosed.
func (b *Bus) Close() error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return bus.ErrClosed
	}
	b.closed = true
	subs := make([]bus.Subscription, 0, len(b.subs))
	for s := range b.subs {
		subs = append(subs, s)
	}
	b.mu.Unlock()

	var wg sync.WaitGroup
	for _, s := range subs {
		wg.Go(func() { _ = s.Stop() })
	}
	wg.Wait()

	if err := b.nc.Drain(); err != nil {
		b.nc.Close()
		if !errors.Is(err, nats.ErrConnectionClosed) {
			return fmt.Errorf("jetstream: close: %w", err)
		}
	}
	select {
	case <-b.connClosed:
	case <-time.After(drainTimeout + time.Second):
		b.nc.Close()
		return errors.New("jetstream: close: connection drain timed out")
	}
	return nil
}

func (b *Bus) isClosed() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.closed
}

// track registers a subscription so that Close stops it and so does the end
// of ctx; it stores the function that forgets ctx in *unwatch, under b.mu.
// It reports false when the bus is closed.
func (b *Bus) track(ctx context.Context, s bus.Subscription, unwatch *func() bool) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return false
	}
	b.subs[s] = struct{}{}
	*unwatch = context.AfterFunc(ctx, func() { _ = s.Stop() })
	return true
}

// untrack undoes track.
func (b *Bus) untrack(s bus.Subscription, unwatch *func() bool) {
	b.mu.Lock()
	delete(b.subs, s)
	u := *unwatch
	b.mu.Unlock()
	if u != nil {
		u()
	}
}

func (b *Bus) stream(queue string) string {
	return b.prefix + queue
}

// wireSubject is the NATS subject that carries subject into stream.
func wireSubject(stream, subject string) string {
	return wireRoot + "." + stream + "." + subject
}

// encodeSettings records what the stream configuration cannot hold.
func encodeSettings(cfg bus.QueueConfig) string {
	return fmt.Sprintf("%s ack_wait=%s max_deliver=%d", descPrefix, cfg.AckWait, cfg.MaxDeliver)
}

// decodeSettings reads what encodeSettings wrote; missing values are zero.
func decodeSettings(desc string) (ackWait time.Duration, maxDeliver int) {
	rest, ok := strings.CutPrefix(desc, descPrefix)
	if !ok {
		return 0, 0
	}
	for f := range strings.FieldsSeq(rest) {
		k, v, _ := strings.Cut(f, "=")
		switch k {
		case "ack_wait":
			ackWait, _ = time.ParseDuration(v)
		case "max_deliver":
			maxDeliver, _ = strconv.Atoi(v)
		}
	}
	return max(ackWait, 0), max(maxDeliver, 0)
}

// toNATS builds the NATS message for m on subject.
func toNATS(subject string, m bus.Message) *nats.Msg {
	msg := nats.NewMsg(subject)
	msg.Data = m.Data
	for k, v := range m.Header {
		msg.Header[k] = []string{v}
	}
	return msg
}

// fromNATS converts a received message, reporting it under subject.
func fromNATS(msg *nats.Msg, subject string) bus.Message {
	m := bus.Message{Subject: subject}
	if len(msg.Data) > 0 {
		m.Data = msg.Data
	}
	for k, v := range msg.Header {
		if len(v) == 0 || strings.HasPrefix(k, "Nats-") {
			continue
		}
		if m.Header == nil {
			m.Header = make(map[string]string, len(msg.Header))
		}
		m.Header[k] = v[0]
	}
	return m
}
