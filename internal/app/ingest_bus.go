package app

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/bus"
	"github.com/vigil-sec/vigil/internal/httpserver"
	"github.com/vigil-sec/vigil/internal/logs"
	"github.com/vigil-sec/vigil/internal/pipeline"
)

// Ingest over the bus. When the node's bus is NATS JetStream (a shared
// deployment), ingest does not store events itself: HTTP ingest and the
// syslog spool hand each accepted batch to the durable queue EventsQueue
// (subject "events.p<partition>.<tenant ID>", see event_workers.go) and answer the sender (HTTP 202, spool
// commit) only once JetStream acknowledged the publish. Worker nodes
// consume the queue and acknowledge a message only after its events are
// stored and matched against the rules. A message can be delivered more
// than once (a worker dies before its ack, a sender resends after a lost
// answer); events keep the IDs they were given at ingest, the store skips
// IDs it already holds and an alert counts each event ID once, so a
// redelivered batch is stored and alerted once. The embedded default
// (in-process bus) keeps storing directly on the receiving node.

// EventsQueue is the durable queue of accepted event batches.
const EventsQueue = "events"

const (
	// eventsSubjectRoot is the first token of every events subject.
	eventsSubjectRoot = "events"
	// eventsWorkers is the single consumer group of the worker nodes
	// before the queue was partitioned; workers remove it at start.
	eventsWorkers = "event-workers"
	// maxBusBatchBytes bounds one queue message (NATS refuses payloads
	// above its max_payload, 1 MiB by default); bigger batches are split.
	maxBusBatchBytes = 512 << 10
	// maxBusBatchEvents bounds the events of one queue message, so a
	// worker's store transaction stays short.
	maxBusBatchEvents = 500
	// eventsAckWait is how long a worker may hold a batch before it is
	// handed to another worker.
	eventsAckWait = 30 * time.Second
	// eventsMaxDeliver bounds deliveries of one batch; with the retry
	// delays below it outlasts a database outage of over an hour.
	eventsMaxDeliver = 200
)

// syslogEventNamespace makes the content-derived IDs of syslog events
// on the bus path.
var syslogEventNamespace = uuid.MustParse("8b0c6a52-5f1e-4c77-9e43-6d2f0a7b91c4")

// busIngest reports whether accepted events go through the events queue:
// only on a shared bus, where other nodes store them.
func (a *App) busIngest() bool { return a.Config.Bus != "" }

// ingestSink is where the node's listeners hand accepted events: the
// events queue on a shared bus, else the store and detection directly.
// contentIDs gives each event an ID derived from its tenant and raw
// record (syslog, which carries no ID of its own) on the bus path.
func (a *App) ingestSink(contentIDs bool) logs.Sink {
	if !a.busIngest() {
		return a.eventSink()
	}
	return busSink{a: a, contentIDs: contentIDs}
}

// busSink publishes accepted events to the events queue.
type busSink struct {
	a          *App
	contentIDs bool
}

var _ logs.Sink = busSink{}

// Write implements logs.Sink: it returns nil once JetStream stored every
// message of the batch. On an error some messages may be stored already;
// the sender's resend lands on the same event IDs where those are stable
// (agent event IDs, syslog content IDs).
func (s busSink) Write(ctx context.Context, events []logs.Event) error {
	if s.contentIDs {
		for i := range events {
			events[i].ID = syslogEventID(&events[i])
		}
	}
	msgs, err := busMessages(events)
	if err != nil {
		return err
	}
	for _, m := range msgs {
		if err := s.a.Bus.Enqueue(ctx, EventsQueue, m); err != nil {
			return fmt.Errorf("events queue: %w", err)
		}
	}
	return nil
}

// syslogEventID derives an event's ID from its tenant, format and raw
// record. A shipper resending lines after a lost connection (syslog has
// no acknowledgement of its own) then lands on the IDs of the first
// attempt. Two byte-identical records of one tenant share the ID, so the
// store keeps one of them.
func syslogEventID(e *logs.Event) string {
	return uuid.NewSHA1(syslogEventNamespace, []byte(e.Tenant+"\x00"+e.Format+"\x00"+e.Original)).String()
}

// busMessages splits events into queue messages of one tenant each, at
// most maxBusBatchEvents events and (but for a single larger event)
// maxBusBatchBytes of JSON, keeping their order.
func busMessages(events []logs.Event) ([]bus.Message, error) {
	var msgs []bus.Message
	var buf bytes.Buffer
	tenant, n := "", 0
	flush := func() {
		if n == 0 {
			return
		}
		buf.WriteByte(']')
		msgs = append(msgs, bus.Message{Subject: eventsSubject(tenant), Data: bytes.Clone(buf.Bytes()),
			Header: map[string]string{"tenant": tenant}})
		buf.Reset()
		n = 0
	}
	for i := range events {
		e := &events[i]
		if e.Tenant == "" {
			return nil, fmt.Errorf("%w (from %s)", pipeline.ErrNoTenant, e.Source)
		}
		b, err := json.Marshal(e)
		if err != nil {
			return nil, fmt.Errorf("event %s: %w", e.ID, err)
		}
		if n > 0 && (e.Tenant != tenant || n >= maxBusBatchEvents || buf.Len()+1+len(b)+1 > maxBusBatchBytes) {
			flush()
		}
		if n == 0 {
			tenant = e.Tenant
			buf.WriteByte('[')
		} else {
			buf.WriteByte(',')
		}
		buf.Write(b)
		n++
	}
	flush()
	return msgs, nil
}

// decodeBusBatch reads a queue message's events; numbers stay
// json.Number as on the HTTP ingest path.
func decodeBusBatch(m bus.Message) ([]logs.Event, error) {
	dec := json.NewDecoder(bytes.NewReader(m.Data))
	dec.UseNumber()
	var evs []logs.Event
	if err := dec.Decode(&evs); err != nil {
		return nil, err
	}
	want := m.Header["tenant"]
	for i := range evs {
		if evs[i].Tenant == "" || evs[i].Tenant != want || evs[i].ID == "" {
			return nil, fmt.Errorf("event %d: tenant %q or id %q does not match the message", i, evs[i].Tenant, evs[i].ID)
		}
	}
	return evs, nil
}

// startEventQueue makes sure the events queue exists and, on nodes that
// run workers, consumes it. The returned stop waits for batches in
// progress.
func (a *App) startEventQueue(ctx context.Context, consume bool) (func() error, error) {
	if err := a.Bus.EnsureQueue(ctx, eventsQueueConfig(a.Config)); err != nil {
		return nil, fmt.Errorf("events queue: %w", err)
	}
	if !consume {
		return func() error { return nil }, nil
	}
	// Rules first: a batch must not be stored unmatched.
	if a.Rules == nil {
		if err := a.loadRules(); err != nil {
			return nil, err
		}
	}
	w, err := a.startEventWorker(ctx)
	if err != nil {
		return nil, err
	}
	a.eventWorker.Store(w)
	return func() error { return w.stop(true) }, nil
}

// storeBusBatch stores one queue message's events and runs detection;
// returning nil acknowledges the message. A batch that can never be
// stored (undecodable, no tenant) is dropped with a logged reason; one
// that failed to store is handed back for a later attempt, waiting
// longer each time.
func (a *App) storeBusBatch(ctx context.Context, d bus.Delivery) error {
	m := d.Message()
	evs, err := decodeBusBatch(m)
	if err != nil {
		a.Logger.Error("events queue: batch dropped", "subject", m.Subject, "reason", err)
		return nil
	}
	err = a.eventSink().Write(ctx, evs)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, pipeline.ErrNoTenant):
		a.Logger.Error("events queue: batch without tenant dropped", "events", len(evs))
		return nil
	}
	delay := min(time.Duration(d.Attempt())*time.Second, 30*time.Second)
	a.Logger.Warn("events queue: store failed, retrying", "err", err, "attempt", d.Attempt(), "in", delay)
	if nerr := d.Nak(ctx, delay); nerr != nil {
		return errors.Join(err, nerr)
	}
	return nil
}

// serveIngestHTTP serves an ingest node's HTTP surface on Addr until ctx
// is done: POST /ingest/events and the operations endpoints, no API or
// UI.
func (a *App) serveIngestHTTP(ctx context.Context, ready func(addr string)) error {
	h := httpserver.New(httpserver.Options{Ingest: a.IngestHandler(), Logger: a.Logger, Ready: a.Ready,
		Registry: a.Registry, MaxBodyBytes: a.Config.MaxBodyBytes, TrustedProxies: a.Config.Prefixes()})
	return a.serveHTTP(ctx, h, ready, "vigil ingest serving")
}

// ingestTenantKey carries the ingestAuth authenticateIngest found.
type ingestTenantKey struct{}

// ingestAuth is who sent an ingest request: the tenant and the token.
type ingestAuth struct{ tenantID, tokenID string }

// authenticateIngest checks an ingest request's token before the ingest
// handler reads the body. A token that could not be checked because the
// store is unreachable (a database restart) is answered 503, so shippers
// send again, instead of the 401 that tells them the token is bad.
func (a *App) authenticateIngest(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && strings.HasPrefix(r.Header.Get("Authorization"), "Bearer ") {
			tenantID, tokenID, err := a.tokenAuth(r, auth.PermEventIngest)
			switch {
			case err == nil:
				r = r.WithContext(context.WithValue(r.Context(), ingestTenantKey{}, ingestAuth{tenantID, tokenID}))
			case !errors.Is(err, auth.ErrUnauthenticated) && !errors.Is(err, auth.ErrForbidden):
				a.Logger.Warn("ingest: token not checked", "err", err)
				w.Header().Set("Content-Type", "application/json")
				w.Header().Set("Retry-After", "1")
				w.WriteHeader(http.StatusServiceUnavailable)
				_, _ = w.Write([]byte(`{"error":"token not checked; retry"}` + "\n"))
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// ingestTenant is the ingest handler's authentication: the tenant
// authenticateIngest found, else the token check.
func (a *App) ingestTenant(r *http.Request) (string, error) {
	if ia, ok := r.Context().Value(ingestTenantKey{}).(ingestAuth); ok && ia.tenantID != "" {
		return ia.tenantID, nil
	}
	return a.tokenTenant(r)
}

// ingestCredential names the token an ingest request came with ("" when
// authenticateIngest did not check one).
func ingestCredential(ctx context.Context) string {
	if ia, ok := ctx.Value(ingestTenantKey{}).(ingestAuth); ok && ia.tokenID != "" {
		return "token:" + ia.tokenID
	}
	return ""
}
