package inproc

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/vigil-sec/vigil/internal/bus"
	"github.com/vigil-sec/vigil/internal/bus/internal/contract"
)

// queueState is what this process knows of a queue beyond the store: its
// configuration, the channel that wakes idle consumers, and the groups that
// consume it.
type queueState struct {
	name string

	mu     sync.Mutex
	cfg    bus.QueueConfig
	wakeCh chan struct{}
	groups map[string]int // running consumers per group
	// ids are the message IDs enqueued within the duplicate window, with
	// when; pruned is when expired ones were last removed.
	ids    map[string]time.Time
	pruned time.Time
}

// claimID records id as enqueued at now and reports whether it was new
// (not seen within the duplicate window).
func (q *queueState) claimID(id string, now time.Time) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	window := q.cfg.DuplicateWindow
	if window <= 0 {
		window = contract.DefaultDuplicateWindow
	}
	if q.ids == nil {
		q.ids = make(map[string]time.Time)
	}
	if now.Sub(q.pruned) >= window {
		for k, at := range q.ids {
			if now.Sub(at) >= window {
				delete(q.ids, k)
			}
		}
		q.pruned = now
	}
	if at, ok := q.ids[id]; ok && now.Sub(at) < window {
		return false
	}
	q.ids[id] = now
	return true
}

// releaseID forgets id again after its enqueue failed.
func (q *queueState) releaseID(id string, at time.Time) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.ids[id].Equal(at) {
		delete(q.ids, id)
	}
}

func (q *queueState) config() bus.QueueConfig {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.cfg
}

func (q *queueState) setConfig(cfg bus.QueueConfig) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.cfg = cfg
}

// waiter returns a channel that is closed by the next wake.
func (q *queueState) waiter() <-chan struct{} {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.wakeCh
}

// wake wakes every consumer waiting on the queue.
func (q *queueState) wake() {
	q.mu.Lock()
	defer q.mu.Unlock()
	close(q.wakeCh)
	q.wakeCh = make(chan struct{})
}

// join registers a consumer of group, failing if another group consumes
// the queue.
func (q *queueState) join(group string) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	for g, n := range q.groups {
		if g != group && n > 0 {
			return fmt.Errorf("queue %s is consumed by group %q; a queue has one consumer group", q.name, g)
		}
	}
	q.groups[group]++
	return nil
}

func (q *queueState) leave(group string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.groups[group]--; q.groups[group] <= 0 {
		delete(q.groups, group)
	}
}

// queueState returns the state of a queue, loading its configuration from
// the store the first time (another process may have created it).
func (b *Bus) queueState(ctx context.Context, name string) (*queueState, error) {
	b.mu.RLock()
	q, ok := b.queues[name]
	b.mu.RUnlock()
	if ok {
		return q, nil
	}
	var cfg bus.QueueConfig
	err := b.withStore(func(s store) error {
		var err error
		cfg, err = s.queue(ctx, name)
		return err
	})
	if err != nil {
		return nil, err
	}
	return b.addQueue(cfg), nil
}

// addQueue records cfg, creating the queue state if needed.
func (b *Bus) addQueue(cfg bus.QueueConfig) *queueState {
	b.mu.Lock()
	defer b.mu.Unlock()
	q, ok := b.queues[cfg.Name]
	if !ok {
		q = &queueState{name: cfg.Name, cfg: cfg, wakeCh: make(chan struct{}), groups: make(map[string]int)}
		b.queues[cfg.Name] = q
		return q
	}
	q.setConfig(cfg)
	return q
}

// EnsureQueue implements bus.Bus. MaxBytes 0 means unlimited.
func (b *Bus) EnsureQueue(ctx context.Context, cfg bus.QueueConfig) error {
	cfg, err := contract.NormalizeQueue(cfg)
	if err != nil {
		return fmt.Errorf("inproc: ensure queue: %w", err)
	}
	if b.isClosed() {
		return bus.ErrClosed
	}
	if err := b.withStore(func(s store) error { return s.putQueue(ctx, cfg) }); err != nil {
		return wrap("ensure queue", cfg.Name, err)
	}
	b.addQueue(cfg).wake()
	return nil
}

// Enqueue implements bus.Bus. With a file-backed bus it returns once the
// message is committed to disk.
func (b *Bus) Enqueue(ctx context.Context, queue string, m bus.Message) error {
	if b.isClosed() {
		return bus.ErrClosed
	}
	q, err := b.queueState(ctx, queue)
	if err != nil {
		return wrap("enqueue", queue, err)
	}
	cfg := q.config()
	subject, err := contract.EnqueueSubject(cfg, m)
	if err == nil {
		err = contract.ValidHeader(m.Header)
	}
	if err == nil {
		err = contract.ValidID(m.ID)
	}
	if err != nil {
		return wrap("enqueue", queue, err)
	}
	now := time.Now()
	if m.ID != "" && !q.claimID(m.ID, now) {
		return nil // a duplicate within the window
	}
	id := m.ID
	m = contract.CloneMessage(m) // drops the ID: deliveries do not carry it
	m.Subject = subject
	if err := b.withStore(func(s store) error { return s.enqueue(ctx, cfg, m, now) }); err != nil {
		if id != "" {
			q.releaseID(id, now)
		}
		return wrap("enqueue", queue, err)
	}
	q.wake()
	return nil
}

// Consume implements bus.Bus. Handlers get ctx: cancelling it stops the
// consumer and cancels its handlers, while Stop lets running handlers
// finish.
func (b *Bus) Consume(ctx context.Context, queue string, opts bus.ConsumeOptions, fn bus.Handler) (bus.Subscription, error) {
	opts, err := contract.ConsumeOptions(opts)
	if err != nil {
		return nil, fmt.Errorf("inproc: consume %s: %w", queue, err)
	}
	if fn == nil {
		return nil, fmt.Errorf("inproc: consume %s: nil handler", queue)
	}
	if opts.Filter != "" {
		// One process holds the whole queue: there is nothing to share out.
		return nil, fmt.Errorf("inproc: consume %s: filtered groups are not supported (JetStream only)", queue)
	}
	if b.isClosed() {
		return nil, bus.ErrClosed
	}
	// Reload the configuration: another process may have changed it.
	var cfg bus.QueueConfig
	err = b.withStore(func(s store) error {
		var err error
		cfg, err = s.queue(ctx, queue)
		return err
	})
	if err != nil {
		return nil, wrap("consume", queue, err)
	}
	q := b.addQueue(cfg)
	if err := q.join(opts.Group); err != nil {
		return nil, fmt.Errorf("inproc: consume: %w", err)
	}
	c := &consumer{
		b:     b,
		q:     q,
		group: opts.Group,
		fn:    fn,
		ctx:   ctx,
		slots: make(chan struct{}, opts.Concurrency),
		quit:  make(chan struct{}),
		done:  make(chan struct{}),
	}
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		q.leave(opts.Group)
		return nil, bus.ErrClosed
	}
	b.consumers[c] = struct{}{}
	c.unwatch = context.AfterFunc(ctx, func() { _ = c.Stop() })
	b.mu.Unlock()
	go c.run()
	return c, nil
}

// consumer is one Consume call: a loop that leases a message whenever one
// of its Concurrency slots is free and runs the handler on it.
type consumer struct {
	b     *Bus
	q     *queueState
	group string
	fn    bus.Handler
	ctx   context.Context

	slots    chan struct{}  // one token per running handler
	quit     chan struct{}  // closed by Stop
	done     chan struct{}  // closed when run returns
	handlers sync.WaitGroup // running handlers
	once     sync.Once      // closes quit
	left     sync.Once      // leaves the group
	unwatch  func() bool    // guarded by b.mu
}

// Stop implements bus.Subscription: no new message is leased, and Stop
// returns when the running handlers have returned and settled, so it must
// not be called from one of them.
func (c *consumer) Stop() error {
	c.once.Do(func() {
		c.b.mu.Lock()
		delete(c.b.consumers, c)
		unwatch := c.unwatch
		c.b.mu.Unlock()
		unwatch()
		close(c.quit)
	})
	<-c.done
	c.handlers.Wait()
	c.left.Do(func() { c.q.leave(c.group) })
	return nil
}

func (c *consumer) run() {
	defer close(c.done)
	for {
		select {
		case c.slots <- struct{}{}:
		case <-c.quit:
			return
		case <-c.ctx.Done():
			return
		}
		d := c.next()
		if d == nil {
			<-c.slots
			return
		}
		c.handlers.Add(1)
		go func() {
			defer func() {
				<-c.slots
				c.handlers.Done()
			}()
			contract.Dispatch(c.ctx, c.b.log, c.q.name, c.fn, d)
		}()
	}
}

// next leases the next available message, waiting for one; it returns nil
// when the consumer stops.
func (c *consumer) next() *delivery {
	sctx := context.WithoutCancel(c.ctx)
	for {
		wake := c.q.waiter()
		cfg := c.q.config()
		wait := pollInterval
		now := time.Now()
		var l leased
		var ok bool
		err := c.b.withStore(func(s store) error {
			var err error
			l, ok, err = s.lease(sctx, c.q.name, now, now.Add(cfg.AckWait))
			if err != nil || ok {
				return err
			}
			t, pending, err := s.nextVisible(sctx, c.q.name)
			if err == nil && pending {
				wait = min(wait, max(time.Until(t), time.Millisecond))
			}
			return err
		})
		switch {
		case errors.Is(err, bus.ErrClosed):
			return nil
		case err != nil:
			c.b.log.Error("bus: lease failed", "queue", c.q.name, "err", err)
		case ok && cfg.MaxDeliver > 0 && l.deliveries > cfg.MaxDeliver:
			_ = c.b.bury(sctx, c.q.name, l, "lease expired on the last allowed attempt") // logged by bury
			continue
		case ok:
			return &delivery{b: c.b, q: c.q, id: l.id, msg: l.msg, attempt: l.deliveries}
		}
		t := time.NewTimer(wait)
		select {
		case <-wake:
		case <-t.C:
		case <-c.quit:
			t.Stop()
			return nil
		case <-c.ctx.Done():
			t.Stop()
			return nil
		}
		t.Stop()
	}
}

// bury moves a leased message to the dead letters and logs it.
func (b *Bus) bury(ctx context.Context, queue string, l leased, reason string) error {
	var buried bool
	err := b.withStore(func(s store) error {
		var err error
		buried, err = s.bury(ctx, queue, l.id, l.deliveries, reason, time.Now())
		return err
	})
	if err != nil {
		b.log.Error("bus: moving message to dead letters failed", "queue", queue, "err", err)
		return wrap("dead-letter", queue, err)
	}
	if buried {
		b.log.Warn("bus: message exceeded MaxDeliver; moved to dead letters",
			"queue", queue, "subject", l.msg.Subject, "attempts", l.deliveries, "reason", reason)
	}
	return nil
}

// delivery is a leased message.
type delivery struct {
	b       *Bus
	q       *queueState
	id      int64
	msg     bus.Message
	attempt int
	settle  contract.Settle
}

var _ contract.Delivery = (*delivery)(nil)

func (d *delivery) Message() bus.Message { return d.msg }
func (d *delivery) Attempt() int         { return d.attempt }
func (d *delivery) Settled() bool        { return d.settle.Done() }

// Ack implements bus.Delivery. It deletes the message even if its lease
// expired meanwhile.
func (d *delivery) Ack(ctx context.Context) error {
	if err := d.settle.Begin(); err != nil {
		return err
	}
	if err := d.b.withStore(func(s store) error { return s.ack(ctx, d.q.name, d.id) }); err != nil {
		return wrap("ack", d.q.name, err)
	}
	return nil
}

// Nak implements bus.Delivery. On the queue's last allowed attempt the
// message goes to the dead letters instead. A nak after the lease expired
// and the message was leased again does nothing.
func (d *delivery) Nak(ctx context.Context, delay time.Duration) error {
	if err := d.settle.Begin(); err != nil {
		return err
	}
	if cfg := d.q.config(); cfg.MaxDeliver > 0 && d.attempt >= cfg.MaxDeliver {
		return d.b.bury(ctx, d.q.name, leased{id: d.id, msg: d.msg, deliveries: d.attempt}, "naked on the last allowed attempt")
	}
	at := time.Now().Add(max(delay, 0))
	if err := d.b.withStore(func(s store) error { return s.release(ctx, d.q.name, d.id, d.attempt, at) }); err != nil {
		return wrap("nak", d.q.name, err)
	}
	d.q.wake()
	return nil
}
