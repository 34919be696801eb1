package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"
)

// Delivery statuses recorded in the DeliveryLog.
const (
	StatusSent      = "sent"
	StatusRetry     = "retry"
	StatusFailed    = "failed"
	StatusAbandoned = "abandoned"
)

// Delivery is one attempt to deliver a message through a channel.
type Delivery struct {
	MessageID string    `json:"message_id"`
	Channel   string    `json:"channel"`
	Attempt   int       `json:"attempt"`
	Status    string    `json:"status"`
	Error     string    `json:"error,omitempty"`
	At        time.Time `json:"at"`
}

// DeliveryLog records delivery attempts; the store implements it durably.
type DeliveryLog interface {
	Record(ctx context.Context, d Delivery) error
}

// MemoryLog is an in-memory DeliveryLog for tests and the CLI.
type MemoryLog struct {
	mu   sync.Mutex
	list []Delivery
}

var _ DeliveryLog = (*MemoryLog)(nil)

// Record appends d.
func (l *MemoryLog) Record(_ context.Context, d Delivery) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.list = append(l.list, d)
	return nil
}

// Deliveries returns a copy of the recorded attempts in order.
func (l *MemoryLog) Deliveries() []Delivery {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]Delivery(nil), l.list...)
}

// RateLimit allows Count sends per Per window; Count 0 means unlimited.
type RateLimit struct {
	Count int
	Per   time.Duration
}

// RetryPolicy says how often and how patiently transient failures are
// retried: the wait before attempt n+1 is Base·2^(n-1), capped at Max, then
// spread by ±Jitter (a fraction).
type RetryPolicy struct {
	MaxAttempts int
	Base        time.Duration
	Max         time.Duration
	Jitter      float64
}

// DefaultRetryPolicy retries four times, from 2s up to 5m, with 20% jitter.
func DefaultRetryPolicy() RetryPolicy {
	return RetryPolicy{MaxAttempts: 5, Base: 2 * time.Second, Max: 5 * time.Minute, Jitter: 0.2}
}

// Backoff returns the wait after failed attempt n (1-based), given r in
// [0,1) from the jitter source.
func (p RetryPolicy) Backoff(n int, r float64) time.Duration {
	d := p.Base
	for i := 1; i < n && d < p.Max; i++ {
		d *= 2
	}
	if d > p.Max {
		d = p.Max
	}
	if p.Jitter > 0 {
		d = time.Duration(float64(d) * (1 - p.Jitter + 2*p.Jitter*r))
	}
	return d
}

// DispatcherOptions configure a Dispatcher; zero values get defaults.
type DispatcherOptions struct {
	Clock  Clock
	Log    DeliveryLog
	Retry  RetryPolicy
	Logger *slog.Logger
	// Rand returns jitter in [0,1); tests fix it.
	Rand func() float64
	// QueueSize bounds each channel's queue (default 10000).
	QueueSize int
}

// ErrQueueFull is returned when a channel's queue is at its bound.
var ErrQueueFull = errors.New("notify: channel queue full")

// ErrClosed is returned by Enqueue and AddChannel after Close.
var ErrClosed = errors.New("notify: dispatcher closed")

// ErrUnknownChannel is returned for a channel name never added.
var ErrUnknownChannel = errors.New("notify: unknown channel")

// Dispatcher delivers messages through named channels, each with its own
// queue and worker, so a slow or failing channel never holds up another.
// Sends over a channel's rate wait in its queue rather than being dropped.
type Dispatcher struct {
	opts   DispatcherOptions
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu     sync.Mutex
	queues map[string]*queue
}

type queue struct {
	name  string
	ch    Channel
	limit RateLimit

	mu    sync.Mutex
	items []Message
	wake  chan struct{}

	sent []time.Time // send times within the rate window, oldest first
}

// NewDispatcher returns a running dispatcher with no channels.
func NewDispatcher(opts DispatcherOptions) *Dispatcher {
	if opts.Clock == nil {
		opts.Clock = SystemClock{}
	}
	if opts.Log == nil {
		opts.Log = &MemoryLog{}
	}
	if opts.Retry.MaxAttempts <= 0 {
		opts.Retry = DefaultRetryPolicy()
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Rand == nil {
		opts.Rand = rand.Float64 // #nosec G404 -- retry jitter, not a secret
	}
	if opts.QueueSize <= 0 {
		opts.QueueSize = 10000
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Dispatcher{opts: opts, ctx: ctx, cancel: cancel, queues: map[string]*queue{}}
}

// AddChannel starts a worker for ch under name.
func (d *Dispatcher) AddChannel(name string, ch Channel, limit RateLimit) error {
	if limit.Count > 0 && limit.Per <= 0 {
		limit.Per = time.Minute
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.ctx.Err() != nil {
		return ErrClosed
	}
	if _, dup := d.queues[name]; dup {
		return fmt.Errorf("notify: channel %q already added", name)
	}
	q := &queue{name: name, ch: ch, limit: limit, wake: make(chan struct{}, 1)}
	d.queues[name] = q
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		d.work(q)
	}()
	return nil
}

// Enqueue queues msg for delivery through the named channel and returns at
// once; the outcome goes to the DeliveryLog.
func (d *Dispatcher) Enqueue(_ context.Context, channel string, msg Message) error {
	if err := msg.Validate(); err != nil {
		return err
	}
	d.mu.Lock()
	q, ok := d.queues[channel]
	closed := d.ctx.Err() != nil
	d.mu.Unlock()
	if closed {
		return ErrClosed
	}
	if !ok {
		return fmt.Errorf("%w: %q", ErrUnknownChannel, channel)
	}
	q.mu.Lock()
	if len(q.items) >= d.opts.QueueSize {
		q.mu.Unlock()
		return fmt.Errorf("%w: %q", ErrQueueFull, channel)
	}
	q.items = append(q.items, msg)
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
	return nil
}

// Pending returns how many messages wait in the named channel's queue.
func (d *Dispatcher) Pending(channel string) int {
	d.mu.Lock()
	q, ok := d.queues[channel]
	d.mu.Unlock()
	if !ok {
		return 0
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.items)
}

// Close stops the workers and waits for them; messages still queued are
// recorded as abandoned.
func (d *Dispatcher) Close() {
	d.mu.Lock()
	d.cancel()
	d.mu.Unlock()
	d.wg.Wait()
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, q := range d.queues {
		q.mu.Lock()
		for _, m := range q.items {
			d.record(q.name, m.ID, 0, StatusAbandoned, errors.New("dispatcher closed"))
		}
		q.items = nil
		q.mu.Unlock()
	}
}

func (q *queue) pop(ctx context.Context) (Message, bool) {
	for {
		q.mu.Lock()
		if len(q.items) > 0 {
			m := q.items[0]
			q.items[0] = Message{}
			q.items = q.items[1:]
			q.mu.Unlock()
			return m, true
		}
		q.mu.Unlock()
		select {
		case <-ctx.Done():
			return Message{}, false
		case <-q.wake:
		}
	}
}

func (d *Dispatcher) work(q *queue) {
	for {
		msg, ok := q.pop(d.ctx)
		if !ok {
			return
		}
		d.deliver(q, msg)
	}
}

// sleep waits dur on the dispatcher clock; false when closed meanwhile.
func (d *Dispatcher) sleep(dur time.Duration) bool {
	if dur <= 0 {
		return d.ctx.Err() == nil
	}
	select {
	case <-d.ctx.Done():
		return false
	case <-d.opts.Clock.After(dur):
		return true
	}
}

// waitRate blocks until the channel may send again.
func (d *Dispatcher) waitRate(q *queue) bool {
	if q.limit.Count <= 0 {
		return d.ctx.Err() == nil
	}
	for {
		now := d.opts.Clock.Now()
		cut := 0
		for cut < len(q.sent) && !q.sent[cut].Add(q.limit.Per).After(now) {
			cut++
		}
		q.sent = q.sent[cut:]
		if len(q.sent) < q.limit.Count {
			q.sent = append(q.sent, now)
			return true
		}
		if !d.sleep(q.sent[0].Add(q.limit.Per).Sub(now)) {
			return false
		}
	}
}

func (d *Dispatcher) deliver(q *queue, msg Message) {
	p := d.opts.Retry
	for attempt := 1; ; attempt++ {
		if !d.waitRate(q) {
			d.record(q.name, msg.ID, attempt, StatusAbandoned, errors.New("dispatcher closed"))
			return
		}
		_, err := q.ch.Send(d.ctx, msg)
		switch {
		case err == nil:
			d.record(q.name, msg.ID, attempt, StatusSent, nil)
			return
		case !IsTransient(err) || attempt >= p.MaxAttempts || d.ctx.Err() != nil:
			d.opts.Logger.Warn("notification failed", "channel", q.name, "message", msg.ID, "attempt", attempt, "err", err)
			d.record(q.name, msg.ID, attempt, StatusFailed, err)
			return
		}
		d.record(q.name, msg.ID, attempt, StatusRetry, err)
		if !d.sleep(p.Backoff(attempt, d.opts.Rand())) {
			d.record(q.name, msg.ID, attempt, StatusAbandoned, errors.New("dispatcher closed"))
			return
		}
	}
}

func (d *Dispatcher) record(channel, id string, attempt int, status string, err error) {
	del := Delivery{MessageID: id, Channel: channel, Attempt: attempt, Status: status, At: d.opts.Clock.Now().UTC()}
	if err != nil {
		del.Error = truncate(err.Error(), 1000)
	}
	if rerr := d.opts.Log.Record(context.WithoutCancel(d.ctx), del); rerr != nil {
		d.opts.Logger.Error("recording delivery", "channel", channel, "message", id, "err", rerr)
	}
}

// FireTo returns an escalation Fire function that enqueues each step's
// message on every channel the step names. Unknown channels are reported
// together after the known ones are queued.
func FireTo(d *Dispatcher) func(ctx context.Context, f Firing) error {
	return func(ctx context.Context, f Firing) error {
		var errs []error
		for _, ch := range f.Channels {
			if err := d.Enqueue(ctx, ch, f.Message); err != nil {
				errs = append(errs, err)
			}
		}
		return errors.Join(errs...)
	}
}
