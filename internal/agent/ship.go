package agent

import (
	"bytes"
	"cmp"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/vigil-sec/vigil/internal/logs"
)

// Client talks to the Vigil server for the agent: the bearer token and the
// agent id go with every request.
type Client struct {
	// Server is the base URL, e.g. https://vigil.example:8443.
	Server string
	// Token is the API token (event.ingest and the agent permissions).
	Token string
	// AgentID is sent as X-Vigil-Agent.
	AgentID string
	// Tenant, when set, is sent as X-Vigil-Tenant: the tenant (id or
	// slug) the data belongs to, needed when the token holds several.
	Tenant string
	// HTTP is the client; nil means one with a 30 s timeout.
	HTTP *http.Client
	// UserAgent is sent as User-Agent; empty means "vigil-agent".
	UserAgent string
}

// StatusError is a response other than 2xx from the server.
type StatusError struct {
	Status int
	// Body is the start of the answer, for the log.
	Body string
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("server answered %d: %s", e.Status, e.Body)
}

// Post sends body to path (joined to Server) and returns the answer body
// (at most 64 KiB) for a 2xx answer, else a *StatusError.
func (c *Client) Post(ctx context.Context, path, contentType, encoding string, body []byte) ([]byte, error) {
	u, err := url.JoinPath(c.Server, path) // #nosec G125 -- path is one of the package's constant endpoint paths
	if err != nil {
		return nil, fmt.Errorf("agent: server URL: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("agent: %w", err)
	}
	req.Header.Set("Content-Type", contentType)
	if encoding != "" {
		req.Header.Set("Content-Encoding", encoding)
	}
	req.Header.Set("Authorization", "Bearer "+c.Token)
	if c.AgentID != "" {
		req.Header.Set("X-Vigil-Agent", c.AgentID)
	}
	if c.Tenant != "" {
		req.Header.Set("X-Vigil-Tenant", c.Tenant)
	}
	ua := c.UserAgent
	if ua == "" {
		ua = "vigil-agent"
	}
	req.Header.Set("User-Agent", ua)
	hc := c.HTTP
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	resp, err := hc.Do(req) // #nosec G704 -- the server URL is the operator's configuration
	if err != nil {
		return nil, fmt.Errorf("agent: post %s: %w", path, err)
	}
	defer func() { _ = resp.Body.Close() }()
	ans, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode/100 != 2 {
		return ans, &StatusError{Status: resp.StatusCode, Body: strings.TrimSpace(clipForError(string(ans)))}
	}
	return ans, nil
}

// PostJSON marshals v and posts it as application/json.
func (c *Client) PostJSON(ctx context.Context, path string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("agent: %w", err)
	}
	_, err = c.Post(ctx, path, "application/json", "", b)
	return err
}

// Paths of the server's agent endpoints.
const (
	IngestPath    = "/ingest/events"
	InventoryPath = "/api/v1/agent/inventory"
	BaselinePath  = "/api/v1/agent/baseline"
	// EnrolPath exchanges an enrolment token for the agent's credential.
	EnrolPath = "/api/v1/agent/enrol"
	// HeartbeatPath takes the agent's status and answers its
	// configuration.
	HeartbeatPath = "/api/v1/agent/heartbeat"
	// AgentEventsPath takes an enrolled agent's events (NDJSON, as
	// /ingest/events).
	AgentEventsPath = "/api/v1/agent/events"
)

// ShipperOptions configures a Shipper.
type ShipperOptions struct {
	Client *Client
	// Hostname and AgentID are added to every event (host.name, agent.id)
	// unless the event has its own host.name.
	Hostname string
	AgentID  string
	// MaxBatchEvents and MaxBatchBytes bound one request; zero means 1000
	// events and 1 MiB (the server takes up to 8 MiB).
	MaxBatchEvents int
	MaxBatchBytes  int
	// FlushInterval is how long a partial batch waits for more events;
	// zero means 1 s.
	FlushInterval time.Duration
	// MinBackoff and MaxBackoff bound the wait between retries of a failed
	// request; zero means 500 ms and 1 min.
	MinBackoff, MaxBackoff time.Duration
	// Gzip compresses request bodies (Content-Encoding: gzip); Vigil's
	// ingest endpoint decodes them.
	Gzip bool
	// Path is the endpoint events are posted to; empty means IngestPath
	// (an enrolled agent posts to AgentEventsPath).
	Path   string
	Logger *slog.Logger
}

// ShipperCounters count what a Shipper did; safe for concurrent use.
type ShipperCounters struct {
	Sent         atomic.Uint64 // events the server acknowledged
	Requests     atomic.Uint64 // requests acknowledged
	Retries      atomic.Uint64 // failed requests that were retried
	Refused      atomic.Uint64 // events the server refused for good (400/413 for one event)
	DeadLettered atomic.Uint64 // events the server accepted but could not parse
}

// Shipper sends the events of a spool to the server's /ingest/events as
// NDJSON, in order, and commits the spool only after the server
// acknowledged every event read before the commit point. A request that
// fails is retried with exponential backoff and jitter for as long as it
// takes; the events wait in the spool meanwhile.
type Shipper struct {
	opts     ShipperOptions
	counters ShipperCounters
}

// NewShipper returns a shipper; opts.Client is required.
func NewShipper(opts ShipperOptions) *Shipper {
	if opts.MaxBatchEvents <= 0 {
		opts.MaxBatchEvents = 1000
	}
	if opts.MaxBatchBytes <= 0 {
		opts.MaxBatchBytes = 1 << 20
	}
	if opts.FlushInterval <= 0 {
		opts.FlushInterval = time.Second
	}
	if opts.MinBackoff <= 0 {
		opts.MinBackoff = 500 * time.Millisecond
	}
	if opts.MaxBackoff <= 0 {
		opts.MaxBackoff = time.Minute
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &Shipper{opts: opts}
}

// Counters returns the shipper's counters.
func (s *Shipper) Counters() *ShipperCounters { return &s.counters }

// Run ships spool until ctx is done, then returns nil (events not yet
// acknowledged stay in the spool for the next run).
func (s *Shipper) Run(ctx context.Context, spool *logs.Spool) error {
	return s.run(ctx, plainSource{spool})
}

// RunBounded ships a bounded spool: events the spool dropped while they
// waited (see BoundedSpool) are given up, even in the middle of a send
// that keeps failing.
func (s *Shipper) RunBounded(ctx context.Context, b *BoundedSpool) error {
	return s.run(ctx, b)
}

// shipSource is the spool a shipper reads: Mark is the position before
// which everything was dropped.
type shipSource interface {
	Reader() (*logs.SpoolReader, error)
	ReaderAt(p logs.Position) *logs.SpoolReader
	Commit(p logs.Position) error
	Mark() logs.Position
}

type plainSource struct{ *logs.Spool }

func (plainSource) Mark() logs.Position { return logs.Position{} }

func (s *Shipper) run(ctx context.Context, spool shipSource) error {
	r, err := spool.Reader()
	if err != nil {
		return fmt.Errorf("shipper: %w", err)
	}
	defer func() { _ = r.Close() }()
	var (
		pending [][]byte // encoded events read but not yet acknowledged
		bounds  []bound  // where each spool batch ends in pending
		size    int
		since   time.Time // when the oldest pending event was read
	)
	// skipDropped gives up the pending batches the spool dropped and moves
	// the reader past them.
	skipDropped := func() {
		mark := spool.Mark()
		k := 0
		for k < len(bounds) && !mark.Less(bounds[k].pos) {
			k++
		}
		if k > 0 {
			cut := bounds[k-1].n
			for _, l := range pending[:cut] {
				size -= len(l) + 1
			}
			pending = append(pending[:0], pending[cut:]...)
			rest := bounds[k:]
			for i := range rest {
				rest[i].n -= cut
			}
			bounds = append(bounds[:0], rest...)
			if len(pending) == 0 {
				since = time.Time{}
			}
		}
		if r.Position().Less(mark) {
			_ = r.Close()
			r = spool.ReaderAt(mark)
		}
	}
	for ctx.Err() == nil {
		skipDropped()
		evs, err := r.Next()
		switch {
		case err == nil:
			for i := range evs {
				line, err := s.encode(&evs[i])
				if err != nil {
					s.opts.Logger.Warn("shipper: event not encodable; skipped", "id", evs[i].ID, "err", err)
					continue
				}
				pending = append(pending, line)
				size += len(line) + 1
			}
			bounds = append(bounds, bound{n: len(pending), pos: r.Position()})
			if since.IsZero() {
				since = time.Now()
			}
			if len(pending) < s.opts.MaxBatchEvents && size < s.opts.MaxBatchBytes {
				continue // read on while there is more
			}
		case errors.Is(err, io.EOF):
			if len(pending) == 0 || time.Since(since) < s.opts.FlushInterval {
				if !sleep(ctx, 100*time.Millisecond) {
					return nil
				}
				continue
			}
		default:
			return fmt.Errorf("shipper: %w", err)
		}
		// Commit each spool batch as soon as all its events are done, so
		// a stop in the middle of a long send repeats as little as
		// possible.
		committed := 0
		var commitErr error
		first := spool.Mark()
		stale := func() bool { return len(bounds) > 0 && !spool.Mark().Less(bounds[0].pos) && spool.Mark() != first }
		ok := s.send(ctx, pending, stale, func(done int) {
			last := -1
			for i := committed; i < len(bounds) && bounds[i].n <= done; i++ {
				last = i
			}
			if last < 0 || commitErr != nil {
				return
			}
			commitErr = spool.Commit(bounds[last].pos)
			committed = last + 1
		})
		if commitErr != nil {
			return fmt.Errorf("shipper: commit: %w", commitErr)
		}
		if ctx.Err() != nil {
			return nil
		}
		if !ok {
			// The spool dropped what was being sent: keep what remains
			// of the batches not yet committed.
			done := 0
			if committed > 0 {
				done = bounds[committed-1].n
			}
			for _, l := range pending[:done] {
				size -= len(l) + 1
			}
			pending = append(pending[:0], pending[done:]...)
			rest := bounds[committed:]
			for i := range rest {
				rest[i].n -= done
			}
			bounds = append(bounds[:0], rest...)
			continue
		}
		pending, bounds, size, since = pending[:0], bounds[:0], 0, time.Time{}
	}
	return nil
}

// bound is the end of one spool batch among the pending events: its
// first n events, and the spool position after it.
type bound struct {
	n   int
	pos logs.Position
}

// encode turns a spooled event into the JSON object sent to the server:
// its fields under their ECS names plus @timestamp, event.id (the id the
// agent minted, for deduplication), event.original, log.file.path,
// host.name, agent.id and agent.type, and the Sigma logsource as an
// object when known.
func (s *Shipper) encode(ev *logs.Event) ([]byte, error) {
	m := make(map[string]any, len(ev.Fields)+8)
	for k, v := range ev.Fields {
		m[k] = v
	}
	m["@timestamp"] = ev.Time.UTC().Format(time.RFC3339Nano)
	m["event.id"] = ev.ID
	m["event.original"] = ev.Original
	if ev.Source != "" {
		m["log.file.path"] = ev.Source
	}
	if _, ok := m["host.name"]; !ok && s.opts.Hostname != "" {
		m["host.name"] = s.opts.Hostname
	}
	if s.opts.AgentID != "" {
		m["agent.id"] = s.opts.AgentID
	}
	m["agent.type"] = "vigil"
	if ev.Format != "" {
		m["event.module"] = ev.Format
	}
	if ls := ev.LogSource; ls != (logs.LogSource{}) {
		m["logsource"] = ls
	}
	if ev.Truncated {
		m["event.original_truncated"] = true
	}
	return json.Marshal(m)
}

// send posts pending in requests of bounded size, each retried until the
// server acknowledges it, and calls done with the number of leading events
// finished (acknowledged, or refused for good) after each request; it
// reports false when ctx ended first or, between retries, stale reported
// that the spool dropped the events.
func (s *Shipper) send(ctx context.Context, pending [][]byte, stale func() bool, done func(n int)) bool {
	maxEvents, maxBytes := s.opts.MaxBatchEvents, s.opts.MaxBatchBytes
	backoff := s.opts.MinBackoff
	total := len(pending)
	for len(pending) > 0 {
		n, size := 0, 0
		for n < len(pending) && n < maxEvents && (n == 0 || size+len(pending[n])+1 <= maxBytes) {
			size += len(pending[n]) + 1
			n++
		}
		err := s.post(ctx, pending[:n])
		if err == nil {
			pending = pending[n:]
			backoff = s.opts.MinBackoff
			done(total - len(pending))
			continue
		}
		if ctx.Err() != nil {
			return false
		}
		var se *StatusError
		if errors.As(err, &se) && (se.Status == http.StatusRequestEntityTooLarge || se.Status == http.StatusBadRequest) {
			if n > 1 {
				// Split: find the request the server cannot take.
				maxEvents = max(1, n/2)
				continue
			}
			s.counters.Refused.Add(1)
			s.opts.Logger.Error("shipper: server refused an event; dropped", "status", se.Status, "answer", se.Body)
			pending = pending[1:]
			done(total - len(pending))
			continue
		}
		s.counters.Retries.Add(1)
		wait := backoff/2 + rand.N(backoff/2+1) // #nosec G404 -- jitter, not a secret
		s.opts.Logger.Warn("shipper: send failed; retrying", "events", n, "err", err, "in", wait)
		if !sleep(ctx, wait) || stale() {
			return false
		}
		backoff = min(2*backoff, s.opts.MaxBackoff)
	}
	return true
}

func (s *Shipper) post(ctx context.Context, lines [][]byte) error {
	var buf bytes.Buffer
	var w io.Writer = &buf
	var zw *gzip.Writer
	encoding := ""
	if s.opts.Gzip {
		zw = gzip.NewWriter(&buf)
		w, encoding = zw, "gzip"
	}
	for _, l := range lines {
		_, _ = w.Write(l)
		_, _ = w.Write([]byte{'\n'})
	}
	if zw != nil {
		if err := zw.Close(); err != nil {
			return fmt.Errorf("shipper: gzip: %w", err)
		}
	}
	ans, err := s.opts.Client.Post(ctx, cmp.Or(s.opts.Path, IngestPath), "application/x-ndjson", encoding, buf.Bytes())
	if err != nil {
		return err
	}
	var res struct {
		Accepted     int `json:"accepted"`
		DeadLettered int `json:"dead_lettered"`
	}
	if json.Unmarshal(ans, &res) == nil && res.DeadLettered > 0 {
		s.counters.DeadLettered.Add(uint64(res.DeadLettered)) // #nosec G115 -- positive
		s.opts.Logger.Warn("shipper: server could not parse some events", "dead_lettered", res.DeadLettered)
	}
	s.counters.Sent.Add(uint64(len(lines)))
	s.counters.Requests.Add(1)
	return nil
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// BoundedSpool is a logs.Sink in front of a logs.Spool that holds at most
// about Max bytes the server has not acknowledged yet: when a write finds
// the spool at its limit, the oldest segment is dropped, its events
// counted in Dropped, until the spool is under the limit or only the
// segment being written remains (size segments at most Max/4 for a close
// bound). A shipper reading it with RunBounded gives up dropped events it
// had read but not yet delivered. An event in a batch that was
// acknowledged in part when its segment was dropped is counted as
// dropped, so Dropped may count a few delivered events; it never misses a
// lost one.
type BoundedSpool struct {
	Spool *logs.Spool
	Dir   string
	Max   int64
	// Dropped counts events dropped; Drops counts dropped segments.
	Dropped atomic.Uint64
	Drops   atomic.Uint64

	mu   sync.Mutex
	mark logs.Position // everything before it was dropped
}

var _ logs.Sink = (*BoundedSpool)(nil)

// Write implements logs.Sink.
func (b *BoundedSpool) Write(ctx context.Context, events []logs.Event) error {
	for {
		n, err := b.Pending()
		if err != nil || n < b.Max {
			break
		}
		dropped, err := b.dropOldest()
		if err != nil {
			return fmt.Errorf("agent spool: drop oldest: %w", err)
		}
		if !dropped {
			break
		}
	}
	return b.Spool.Write(ctx, events)
}

// dropOldest drops the oldest unacknowledged segment unless it is the one
// being written, counting its events.
func (b *BoundedSpool) dropOldest() (bool, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	c, err := b.committedLocked()
	if err != nil {
		return false, err
	}
	if c.Segment >= b.Spool.End().Segment {
		return false, nil
	}
	r := b.Spool.ReaderAt(c)
	var n uint64
	for {
		evs, err := r.Next()
		if err != nil || r.Position().Segment != c.Segment {
			break
		}
		n += uint64(len(evs))
	}
	_ = r.Close()
	next := logs.Position{Segment: c.Segment + 1}
	if err := b.Spool.Commit(next); err != nil {
		return false, err
	}
	b.mark = next
	b.Dropped.Add(n)
	b.Drops.Add(1)
	return true, nil
}

func (b *BoundedSpool) committedLocked() (logs.Position, error) {
	c, err := b.Spool.Committed()
	if err != nil {
		return c, err
	}
	if c.Less(b.mark) {
		c = b.mark
	}
	return c, nil
}

// Mark is the position before which events were dropped.
func (b *BoundedSpool) Mark() logs.Position {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.mark
}

// Reader returns a reader from the committed position (or the drop mark).
func (b *BoundedSpool) Reader() (*logs.SpoolReader, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	c, err := b.committedLocked()
	if err != nil {
		return nil, err
	}
	return b.Spool.ReaderAt(c), nil
}

// ReaderAt returns a reader from p.
func (b *BoundedSpool) ReaderAt(p logs.Position) *logs.SpoolReader { return b.Spool.ReaderAt(p) }

// Commit records that everything before p was acknowledged; a position
// before the drop mark changes nothing.
func (b *BoundedSpool) Commit(p logs.Position) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if p.Less(b.mark) {
		return nil
	}
	return b.Spool.Commit(p)
}

// Pending is the number of spooled bytes after the committed position.
func (b *BoundedSpool) Pending() (int64, error) {
	b.mu.Lock()
	c, err := b.committedLocked()
	b.mu.Unlock()
	if err != nil {
		return 0, err
	}
	ents, err := os.ReadDir(b.Dir)
	if err != nil {
		return 0, err
	}
	var n int64
	for _, e := range ents {
		name, ok := strings.CutSuffix(e.Name(), ".wal")
		if !ok {
			continue
		}
		seg, err := strconv.ParseUint(name, 10, 64)
		if err != nil || seg < c.Segment {
			continue
		}
		fi, err := e.Info()
		if err != nil {
			continue
		}
		n += fi.Size()
		if seg == c.Segment {
			n -= min(c.Offset, fi.Size())
		}
	}
	return n, nil
}

// lineParser parses a tailed line with the log ingest's parser and keeps a
// line no parser recognises as a "raw" event with the text as its message,
// so nothing read from a file is left behind.
type lineParser struct{ inner logs.Parser }

var _ logs.Parser = lineParser{}

// Name implements logs.Parser.
func (p lineParser) Name() string { return p.inner.Name() }

// Parse implements logs.Parser.
func (p lineParser) Parse(line []byte, meta logs.Meta) (logs.Event, error) {
	ev, err := p.inner.Parse(line, meta)
	if err == nil {
		return ev, nil
	}
	id, idErr := uuid.NewV7()
	if idErr != nil {
		id = uuid.New()
	}
	rcv := meta.Received
	if rcv.IsZero() {
		rcv = time.Now().UTC()
	}
	text := string(bytes.TrimRight(line, "\r\n"))
	return logs.Event{
		ID: id.String(), Time: rcv, Received: rcv, Tenant: meta.Tenant, Source: meta.Source,
		Format: "raw", Fields: map[string]any{"message": text}, Original: text,
	}, nil
}
