// Package bus defines how Vigil's components hand events and work to each
// other: fan-out publish/subscribe for notifications, and durable work queues
// with explicit acknowledgement and redelivery. Drivers: inproc (embedded
// default) and jetstream (NATS JetStream, for several nodes).
package bus

import (
	"context"
	"errors"
	"time"
)

// ErrClosed is returned by every method once the bus is closed.
var ErrClosed = errors.New("bus closed")

// Message is one event or one unit of work.
type Message struct {
	Subject string
	Data    []byte
	// Header carries small metadata such as the tenant ID or a trace ID.
	Header map[string]string
	// ID, if set, makes Enqueue idempotent: a message whose ID the queue
	// stored within its DuplicateWindow is dropped (Enqueue returns nil).
	// Publish ignores it, and deliveries do not carry it back.
	ID string
}

// Delivery is a message taken from a durable queue. The handler must call
// exactly one of Ack or Nak; a delivery that is neither acked nor naked
// within the queue's AckWait is redelivered to some consumer.
type Delivery interface {
	Message() Message
	// Attempt is 1 on first delivery, 2 on the first redelivery, and so on.
	Attempt() int
	Ack(ctx context.Context) error
	// Nak asks for redelivery after delay.
	Nak(ctx context.Context, delay time.Duration) error
}

// Handler processes a delivery. Returning an error naks it with a short delay
// unless the handler already acked or naked it; returning nil acks it unless
// the handler already did. A handler that panics is logged and its delivery
// left unacknowledged, so it is redelivered after AckWait. Stopping a
// subscription does not cancel the handler's context (cancelling the ctx
// given to Consume does); Stop and Close must not be called from inside a
// handler, since they wait for it.
type Handler func(ctx context.Context, d Delivery) error

// QueueConfig describes a durable work queue.
type QueueConfig struct {
	// Name is the queue (and stream) name: letters, digits, '-' and '_'.
	Name string
	// Subjects routed into the queue; Enqueue subjects must match one.
	// Empty means the single subject Name.
	Subjects []string
	// AckWait before an unacknowledged delivery is redelivered. Default 30s.
	AckWait time.Duration
	// MaxDeliver bounds delivery attempts; 0 means unlimited.
	MaxDeliver int
	// MaxBytes bounds what the queue retains; 0 means the driver default.
	// A full queue refuses Enqueue rather than dropping queued work.
	MaxBytes int64
	// MaxAge drops a message that waited longer than this unconsumed
	// (JetStream only; inproc keeps it); 0 keeps it until consumed.
	MaxAge time.Duration
	// Replicas is how many servers of a clustered bus hold a copy of the
	// queue (JetStream: the stream's replicas, at most 5, no more than the
	// cluster has); 0 means 1. The in-process bus has one copy.
	Replicas int
	// DuplicateWindow is how long the queue remembers enqueued message
	// IDs (Message.ID). Default 2 minutes.
	DuplicateWindow time.Duration
}

// ConsumeOptions tunes a queue consumer.
type ConsumeOptions struct {
	// Group is the durable consumer name; consumers sharing a Group split
	// the work (each message goes to one of them). A queue has exactly one
	// group: Consume with another Group fails while the first exists.
	// Empty means "default".
	Group string
	// Concurrency is how many handlers run at once (default 1).
	Concurrency int
	// Filter, if set, consumes only the queue's messages whose subject
	// matches this pattern ("*" and a trailing ">" as in Subscribe). A
	// filtered group is its own consumer: several groups with filters
	// that do not overlap can consume one queue, each message going to
	// the group whose filter it matches (JetStream only; inproc refuses
	// a filter).
	Filter string
	// MaxAckPending bounds the messages the group has delivered and not
	// yet settled, over all its consumers; 1 hands the group's messages
	// out one at a time, in order. 0 means no bound but Concurrency.
	MaxAckPending int
}

// Subscription stops a subscriber or consumer.
type Subscription interface {
	// Stop stops receiving and waits for in-flight handlers to finish.
	Stop() error
}

// Bus is implemented by each driver. All methods are safe for concurrent use.
type Bus interface {
	// Publish sends an event to every current subscriber of the subject.
	// Events are not stored: a subscriber that is not running misses them.
	Publish(ctx context.Context, m Message) error
	// Subscribe receives events published on subject. A trailing ".>"
	// matches any subject with that prefix; "*" matches one token.
	Subscribe(ctx context.Context, subject string, fn func(context.Context, Message)) (Subscription, error)

	// EnsureQueue creates the queue or updates its configuration.
	EnsureQueue(ctx context.Context, cfg QueueConfig) error
	// Enqueue stores a message durably; when it returns nil the message
	// will be delivered at least once even if this process dies.
	Enqueue(ctx context.Context, queue string, m Message) error
	// Consume delivers queued messages to fn until the subscription is
	// stopped or ctx is done.
	Consume(ctx context.Context, queue string, opts ConsumeOptions, fn Handler) (Subscription, error)

	// Ping checks the bus is reachable.
	Ping(ctx context.Context) error
	// Close stops every subscription, waits for in-flight handlers, and
	// releases resources. A second Close returns ErrClosed.
	Close() error
}
