// Package inproc is the embedded bus driver: events fan out in memory, and
// work queues live in memory or, when Options.Path is set, in a SQLite file
// so that enqueued work survives a restart.
//
// # Events
//
// Publish hands each matching subscriber its own copy of the message through
// a buffered channel (Options.EventBuffer, default 1024) drained by one
// goroutine per subscriber, so a subscriber sees events in publish order and
// Publish never waits for a handler. When a subscriber's buffer is full the
// event is dropped for that subscriber only; drops are counted
// (DroppedEvents) and logged at the first drop and every 1000th after it.
// Events are best-effort, as the bus contract says.
//
// # Queues
//
// A queued message is leased to one consumer for the queue's AckWait. Ack
// deletes it; Nak hides it for the requested delay; an expired lease makes
// it available again, and the next delivery carries Attempt+1. A delivery
// beyond MaxDeliver (a nak on the last attempt, or a lease that expires on
// it) moves the message to the dead letters (DeadLetters) and logs it.
// Consumers are woken at once by Enqueue and Nak in this process and poll
// every 250ms otherwise (leases that expire, other processes on the file).
// A handler that panics is logged and its delivery left to expire, as if
// the process had died. MaxBytes 0 means no limit; a full queue makes
// Enqueue fail. A Message.ID seen within the queue's DuplicateWindow makes
// Enqueue drop the message; the IDs are kept in memory, per process, so a
// restart or a second process on the same file does not know them.
//
// # Durability
//
// With Options.Path set, the file (which the bus owns: do not share it with
// other tables) is a SQLite database in WAL mode. Concurrent Enqueue calls
// are group-committed with synchronous=FULL and return once their
// transaction is on disk; leases, acks and naks commit with
// synchronous=NORMAL, which survives a crash of the process but may, after
// a power loss, forget an ack or a lease, which means a redelivery, never a
// lost message. Without Path, queues die with the process.
//
// # Groups
//
// A queue is a single work queue: each message is delivered to one of its
// consumers. ConsumeOptions.Group names the queue's consumer group, as the
// jetstream driver names its durable consumer after it; like a JetStream
// work-queue stream, a queue accepts one group at a time, and Consume with
// a different Group fails while consumers of another group are running.
// Every consumer of the group shares the work.
package inproc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vigil-sec/vigil/internal/bus"
	"github.com/vigil-sec/vigil/internal/bus/internal/contract"
)

// DefaultEventBuffer is the per-subscriber event buffer when
// Options.EventBuffer is zero.
const DefaultEventBuffer = 1024

// pollInterval bounds how long an idle consumer waits before looking at its
// queue again without being woken.
const pollInterval = 250 * time.Millisecond

// Options configures New.
type Options struct {
	// Path is the SQLite file holding the queues; "" keeps them in memory,
	// where they are lost when the process ends.
	Path string
	// Logger receives drops, dead letters and handler failures; nil
	// discards them.
	Logger *slog.Logger
	// EventBuffer is how many events may wait for each subscriber before
	// further events are dropped for it; 0 means DefaultEventBuffer.
	EventBuffer int
}

// Bus is the in-process bus. It is safe for concurrent use.
type Bus struct {
	log   *slog.Logger
	evBuf int

	mu        sync.RWMutex // guards closed, subs, consumers, queues
	closed    bool
	subs      map[*subscriber]struct{}
	consumers map[*consumer]struct{}
	queues    map[string]*queueState

	// storeMu is held shared by every store operation and exclusively to
	// close the store, so deliveries in flight can still settle while Close
	// waits for their handlers.
	storeMu     sync.RWMutex
	storeClosed bool
	store       store

	dropped atomic.Uint64
}

var _ bus.Bus = (*Bus)(nil)

// New opens the bus. With opts.Path set it creates or opens the SQLite file.
func New(ctx context.Context, opts Options) (*Bus, error) {
	if opts.EventBuffer < 0 {
		return nil, errors.New("inproc: negative EventBuffer")
	}
	b := &Bus{
		log:       contract.Logger(opts.Logger),
		evBuf:     opts.EventBuffer,
		subs:      make(map[*subscriber]struct{}),
		consumers: make(map[*consumer]struct{}),
		queues:    make(map[string]*queueState),
	}
	if b.evBuf == 0 {
		b.evBuf = DefaultEventBuffer
	}
	if opts.Path == "" {
		b.store = newMemStore()
		return b, nil
	}
	s, err := openSQLite(ctx, opts.Path)
	if err != nil {
		return nil, fmt.Errorf("inproc: open %s: %w", opts.Path, err)
	}
	b.store = s
	return b, nil
}

// DroppedEvents is how many events were dropped because a subscriber's
// buffer was full, since New.
func (b *Bus) DroppedEvents() uint64 {
	return b.dropped.Load()
}

// DeadLetters lists the messages of queue that exceeded MaxDeliver, oldest
// first. The memory store keeps the last 1000 of all queues; the SQLite
// store keeps them all.
func (b *Bus) DeadLetters(ctx context.Context, queue string) ([]DeadLetter, error) {
	if b.isClosed() {
		return nil, bus.ErrClosed
	}
	var out []DeadLetter
	err := b.withStore(func(s store) error {
		var err error
		out, err = s.deadLetters(ctx, queue)
		return err
	})
	if err != nil {
		return nil, wrap("dead letters", queue, err)
	}
	return out, nil
}

// Publish implements bus.Bus.
func (b *Bus) Publish(_ context.Context, m bus.Message) error {
	if err := contract.ValidSubject(m.Subject); err != nil {
		return fmt.Errorf("inproc: publish: %w", err)
	}
	if err := contract.ValidHeader(m.Header); err != nil {
		return fmt.Errorf("inproc: publish %s: %w", m.Subject, err)
	}
	b.mu.RLock()
	defer b.mu.RUnlock()
	if b.closed {
		return bus.ErrClosed
	}
	for s := range b.subs {
		if contract.Match(s.pattern, m.Subject) {
			s.offer(m)
		}
	}
	return nil
}

// Subscribe implements bus.Bus. The subscription ends when Stop is called,
// ctx is done, or the bus is closed; fn gets a context derived from ctx.
func (b *Bus) Subscribe(ctx context.Context, subject string, fn func(context.Context, bus.Message)) (bus.Subscription, error) {
	if err := contract.ValidPattern(subject); err != nil {
		return nil, fmt.Errorf("inproc: subscribe: %w", err)
	}
	if fn == nil {
		return nil, errors.New("inproc: subscribe: nil handler")
	}
	s := &subscriber{
		b:       b,
		pattern: subject,
		fn:      fn,
		ch:      make(chan bus.Message, b.evBuf),
		quit:    make(chan struct{}),
		done:    make(chan struct{}),
	}
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil, bus.ErrClosed
	}
	b.subs[s] = struct{}{}
	s.unwatch = context.AfterFunc(ctx, func() { _ = s.Stop() })
	b.mu.Unlock()
	go s.run(ctx)
	return s, nil
}

// subscriber is one Subscribe call.
type subscriber struct {
	b       *Bus
	pattern string
	fn      func(context.Context, bus.Message)
	ch      chan bus.Message
	quit    chan struct{} // closed by Stop
	done    chan struct{} // closed when run returns
	once    sync.Once
	unwatch func() bool // guarded by b.mu
	dropped atomic.Uint64
}

// offer queues a copy of m without blocking; b.mu is held shared.
func (s *subscriber) offer(m bus.Message) {
	select {
	case s.ch <- contract.CloneMessage(m):
	default:
		n := s.dropped.Add(1)
		s.b.dropped.Add(1)
		if n == 1 || n%1000 == 0 {
			s.b.log.Warn("bus: subscriber too slow; event dropped",
				"pattern", s.pattern, "subject", m.Subject, "dropped", n)
		}
	}
}

func (s *subscriber) run(ctx context.Context) {
	defer close(s.done)
	for {
		select {
		case <-s.quit:
			return
		case m := <-s.ch:
			select {
			case <-s.quit:
				return
			default:
			}
			contract.Notify(ctx, s.b.log, s.pattern, s.fn, m)
		}
	}
}

// Stop implements bus.Subscription. Events still buffered are discarded.
// It must not be called from the subscription's own handler, whose return
// it waits for.
func (s *subscriber) Stop() error {
	s.once.Do(func() {
		s.b.mu.Lock()
		delete(s.b.subs, s)
		unwatch := s.unwatch
		s.b.mu.Unlock()
		unwatch()
		close(s.quit)
	})
	<-s.done
	return nil
}

// Ping implements bus.Bus.
func (b *Bus) Ping(ctx context.Context) error {
	if b.isClosed() {
		return bus.ErrClosed
	}
	if err := b.withStore(func(s store) error { return s.ping(ctx) }); err != nil {
		return fmt.Errorf("inproc: ping: %w", err)
	}
	return nil
}

// Close implements bus.Bus: it stops every subscription and consumer, waits
// for their handlers, and closes the store. It must not be called from a
// handler. A second Close returns bus.ErrClosed.
func (b *Bus) Close() error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return bus.ErrClosed
	}
	b.closed = true
	subs := make([]bus.Subscription, 0, len(b.subs)+len(b.consumers))
	for s := range b.subs {
		subs = append(subs, s)
	}
	for c := range b.consumers {
		subs = append(subs, c)
	}
	b.mu.Unlock()

	var wg sync.WaitGroup
	for _, s := range subs {
		wg.Go(func() { _ = s.Stop() })
	}
	wg.Wait()

	b.storeMu.Lock()
	defer b.storeMu.Unlock()
	b.storeClosed = true
	if err := b.store.close(); err != nil {
		return fmt.Errorf("inproc: close: %w", err)
	}
	return nil
}

func (b *Bus) isClosed() bool {
	b.mu.RLock()
	defer b.mu.RUnlock()
	return b.closed
}

// withStore runs fn unless the store is closed.
func (b *Bus) withStore(fn func(store) error) error {
	b.storeMu.RLock()
	defer b.storeMu.RUnlock()
	if b.storeClosed {
		return bus.ErrClosed
	}
	return fn(b.store)
}

// wrap prefixes a store error with the operation, leaving ErrClosed bare.
func wrap(op, queue string, err error) error {
	if errors.Is(err, bus.ErrClosed) {
		return err
	}
	return fmt.Errorf("inproc: %s %s: %w", op, queue, err)
}
