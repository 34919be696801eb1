package jetstream

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/vigil-sec/vigil/internal/bus"
	"github.com/vigil-sec/vigil/internal/bus/internal/contract"
)

const (
	// fetchWait is how long one pull request waits for messages.
	fetchWait = 5 * time.Second
	// retryMin and retryMax bound the pause after a failed pull request;
	// it doubles with each consecutive failure.
	retryMin = 250 * time.Millisecond
	retryMax = 5 * time.Second
)

// Consume implements bus.Bus. Handlers get ctx: cancelling it stops the
// consumer and cancels its handlers, while Stop lets running handlers
// finish.
func (b *Bus) Consume(ctx context.Context, queue string, opts bus.ConsumeOptions, fn bus.Handler) (bus.Subscription, error) {
	opts, err := contract.ConsumeOptions(opts)
	if err != nil {
		return nil, fmt.Errorf("jetstream: consume %s: %w", queue, err)
	}
	if fn == nil {
		return nil, fmt.Errorf("jetstream: consume %s: nil handler", queue)
	}
	if b.isClosed() {
		return nil, bus.ErrClosed
	}
	cfg, err := b.queueConfig(ctx, queue, true)
	if err != nil {
		return nil, fmt.Errorf("jetstream: consume %s: %w", queue, err)
	}
	serverMax := -1
	if cfg.MaxDeliver > 0 {
		serverMax = cfg.MaxDeliver + 1 // the extra delivery is terminated as a dead letter
	}
	var cons jetstream.Consumer
	err = b.untilAnswered(ctx, "consumer "+opts.Group, func(actx context.Context) error {
		var err error
		cc := jetstream.ConsumerConfig{
			Durable:       opts.Group,
			Description:   "bus consumer group " + opts.Group,
			DeliverPolicy: jetstream.DeliverAllPolicy,
			AckPolicy:     jetstream.AckExplicitPolicy,
			AckWait:       cfg.AckWait,
			MaxDeliver:    serverMax,
			ReplayPolicy:  jetstream.ReplayInstantPolicy,
			MaxAckPending: opts.MaxAckPending,
		}
		if opts.Filter != "" {
			cc.FilterSubject = wireSubject(b.stream(queue), opts.Filter)
		}
		cons, err = b.js.CreateOrUpdateConsumer(actx, b.stream(queue), cc)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("jetstream: consume %s as group %s: %w", queue, opts.Group, err)
	}
	loopCtx, cancel := context.WithCancel(ctx)
	c := &consumer{
		b:      b,
		cons:   cons,
		queue:  queue,
		cfg:    cfg,
		fn:     fn,
		ctx:    ctx,
		loop:   loopCtx,
		cancel: cancel,
		slots:  make(chan struct{}, opts.Concurrency),
		done:   make(chan struct{}),
	}
	if !b.track(ctx, c, &c.unwatch) {
		cancel()
		return nil, bus.ErrClosed
	}
	go c.run()
	return c, nil
}

// consumer is one Consume call: a loop that pulls as many messages as it has
// free handler slots and runs the handler on each.
type consumer struct {
	b     *Bus
	cons  jetstream.Consumer
	queue string
	cfg   bus.QueueConfig
	fn    bus.Handler
	ctx   context.Context // handlers' context

	loop     context.Context // the pull loop's context, cancelled by Stop
	cancel   context.CancelFunc
	slots    chan struct{} // one token per running handler
	done     chan struct{} // closed when run returns
	handlers sync.WaitGroup
	once     sync.Once
	unwatch  func() bool // guarded by b.mu
}

// Stop implements bus.Subscription: the pending pull request is withdrawn
// and Stop returns when running handlers have returned and settled, so it
// must not be called from one of them. The durable consumer stays on the
// server.
func (c *consumer) Stop() error {
	c.once.Do(func() {
		c.b.untrack(c, &c.unwatch)
		c.cancel()
	})
	<-c.done
	c.handlers.Wait()
	return nil
}

func (c *consumer) run() {
	defer close(c.done)
	pause := retryMin
	for {
		n, ok := c.acquire()
		if !ok {
			return
		}
		got, err := c.fetch(n)
		for range n - got {
			<-c.slots
		}
		if err == nil || c.loop.Err() != nil {
			pause = retryMin
			continue
		}
		c.b.log.Warn("bus: pulling from queue failed; retrying", "queue", c.queue, "in", pause, "err", err)
		select {
		case <-time.After(pause):
		case <-c.loop.Done():
		}
		pause = min(2*pause, retryMax)
	}
}

// acquire waits for one free handler slot, then takes every other free one.
func (c *consumer) acquire() (int, bool) {
	select {
	case c.slots <- struct{}{}:
	case <-c.loop.Done():
		return 0, false
	}
	n := 1
	for n < cap(c.slots) {
		select {
		case c.slots <- struct{}{}:
			n++
		default:
			return n, true
		}
	}
	return n, true
}

// fetch pulls up to n messages and starts a handler for each as it
// arrives, returning how many arrived.
func (c *consumer) fetch(n int) (int, error) {
	fctx, cancel := context.WithTimeout(c.loop, fetchWait)
	defer cancel()
	batch, err := c.cons.Fetch(n, jetstream.FetchContext(fctx))
	if err != nil {
		return 0, err
	}
	got := 0
	for msg := range batch.Messages() {
		got++
		c.handlers.Add(1)
		go func() {
			defer func() {
				<-c.slots
				c.handlers.Done()
			}()
			c.handle(msg)
		}()
	}
	err = batch.Error()
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) || errors.Is(err, nats.ErrTimeout) {
		err = nil
	}
	return got, err
}

// handle runs the handler on one message, or dead-letters it when it was
// delivered more often than MaxDeliver allows.
func (c *consumer) handle(msg jetstream.Msg) {
	attempt := 1
	if md, err := msg.Metadata(); err == nil {
		if md.NumDelivered > math.MaxInt32 {
			attempt = math.MaxInt32
		} else {
			attempt = int(md.NumDelivered)
		}
	} else {
		c.b.log.Warn("bus: message without JetStream metadata", "queue", c.queue, "err", err)
	}
	stream := c.b.stream(c.queue)
	subject := strings.TrimPrefix(msg.Subject(), wireSubject(stream, ""))
	d := &delivery{
		c:       c,
		msg:     msg,
		m:       fromNATS(&nats.Msg{Data: msg.Data(), Header: msg.Headers()}, subject),
		attempt: attempt,
	}
	if max := c.cfg.MaxDeliver; max > 0 && attempt > max {
		_ = d.settle.Begin()
		if err := d.bury("lease expired on the last allowed attempt"); err != nil {
			c.b.log.Error("bus: dropping dead letter failed", "queue", c.queue, "err", err)
		}
		return
	}
	contract.Dispatch(c.ctx, c.b.log, c.queue, c.fn, d)
}

// delivery is a message pulled from the queue's stream.
type delivery struct {
	c       *consumer
	msg     jetstream.Msg
	m       bus.Message
	attempt int
	settle  contract.Settle
}

var _ contract.Delivery = (*delivery)(nil)

func (d *delivery) Message() bus.Message { return d.m }
func (d *delivery) Attempt() int         { return d.attempt }
func (d *delivery) Settled() bool        { return d.settle.Done() }

// Ack implements bus.Delivery; it waits for the server to confirm the ack.
func (d *delivery) Ack(ctx context.Context) error {
	if err := d.settle.Begin(); err != nil {
		return err
	}
	if err := d.msg.DoubleAck(ctx); err != nil {
		return fmt.Errorf("jetstream: ack %s: %w", d.c.queue, err)
	}
	return nil
}

// Nak implements bus.Delivery. On the queue's last allowed attempt the
// message is terminated and logged as a dead letter instead.
func (d *delivery) Nak(_ context.Context, delay time.Duration) error {
	if err := d.settle.Begin(); err != nil {
		return err
	}
	if max := d.c.cfg.MaxDeliver; max > 0 && d.attempt >= max {
		return d.bury("naked on the last allowed attempt")
	}
	var err error
	if delay > 0 {
		err = d.msg.NakWithDelay(delay)
	} else {
		err = d.msg.Nak()
	}
	if err != nil {
		return fmt.Errorf("jetstream: nak %s: %w", d.c.queue, err)
	}
	return nil
}

// bury terminates the message so the stream drops it, and logs it.
func (d *delivery) bury(reason string) error {
	d.c.b.log.Warn("bus: message exceeded MaxDeliver; dropped as dead letter",
		"queue", d.c.queue, "subject", d.m.Subject, "attempts", d.attempt, "bytes", len(d.m.Data), "reason", reason)
	if err := d.msg.Term(); err != nil {
		return fmt.Errorf("jetstream: terminate %s: %w", d.c.queue, err)
	}
	return nil
}

// DeleteGroup removes the durable consumer of a queue's group, with the
// deliveries it had not settled (the stream keeps their messages for the
// next consumer). A group that does not exist is not an error. Use it
// to switch a queue from one group to others, with the group's
// consumers stopped.
func (b *Bus) DeleteGroup(ctx context.Context, queue, group string) error {
	if err := contract.ValidName(group); err != nil {
		return fmt.Errorf("jetstream: delete group: %w", err)
	}
	if b.isClosed() {
		return bus.ErrClosed
	}
	err := b.js.DeleteConsumer(ctx, b.stream(queue), group)
	if err != nil && !errors.Is(err, jetstream.ErrConsumerNotFound) {
		return fmt.Errorf("jetstream: delete group %s of %s: %w", group, queue, err)
	}
	return nil
}
