package app

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/vigil-sec/vigil/internal/bus"
	"github.com/vigil-sec/vigil/internal/detect"
	"github.com/vigil-sec/vigil/internal/logs"
	"github.com/vigil-sec/vigil/internal/pipeline"
	"github.com/vigil-sec/vigil/internal/store"
)

// Partitioned consumption of the events queue (docs/scaling.md,
// "Partitioned consumption"). Ingest publishes a tenant's batches on
// events.p<N>.<tenant ID>, N = pipeline.Partition(tenant).
// Each partition has a durable consumer of its own, filtered on its
// subjects and handing out one batch at a time (max_ack_pending 1), so
// a partition's batches are stored in order by one worker. Worker nodes
// share the partitions out through leases in the store
// (store.PartitionLeaser): each round a node renews its leases, gives up
// what is over its fair share and takes partitions nobody holds or whose
// holder's lease ran out (a dead node). A node consumes only the
// partitions it holds. Before it stores the first batch of a tenant on a
// partition it (re)gained, it rebuilds the tenant's correlation state
// from the stored events within the longest correlation timespan, so a
// correlation sees the events other workers handled before; alerts count
// each event ID once, so re-reading raises nothing twice.

const (
	// defaultPartitionLease is how long a node's partition leases last
	// without renewal; a dead node's partitions are taken over after it.
	defaultPartitionLease = 15 * time.Second
	// eventsPartitionGroup prefixes a partition's consumer group.
	eventsPartitionGroup = "event-workers-p"
	// legacyEventsGroup consumes batches queued before partitioning (on
	// events.<tenant ID>); the holder of partition 0 drains them.
	legacyEventsGroup = "event-workers-legacy"
	// maxReplayEvents bounds the events read back to rebuild one
	// tenant's correlation state; past it the newest saved snapshot of
	// the tenant fills in the older part of the window.
	maxReplayEvents = 20_000
)

// eventsSubject is the subject of a tenant's batches.
func eventsSubject(tenantID string) string {
	return eventsSubjectRoot + ".p" + strconv.Itoa(pipeline.Partition(tenantID, pipeline.DefaultPartitions)) + "." + tenantID
}

// groupDeleter is a bus that can remove a consumer group (JetStream).
type groupDeleter interface {
	DeleteGroup(ctx context.Context, queue, group string) error
}

// eventWorker is a node's share of the events queue's partitions.
type eventWorker struct {
	a      *App
	leaser store.PartitionLeaser
	node   string
	total  int
	ttl    time.Duration

	cancel   context.CancelFunc
	done     chan struct{}
	stopOnce sync.Once
	stopErr  error

	mu      sync.Mutex // guards the maps and nextGen
	subs    map[int]bus.Subscription
	legacy  bus.Subscription
	gen     map[int]uint64    // partition -> spell it was last taken in
	rebuilt map[string]uint64 // tenant -> spell its state was rebuilt in
	nextGen uint64
}

// startEventWorker takes this node's share of the partitions and keeps
// it until ctx ends or the returned stop is called, which stops the
// consumers (waiting for batches in progress) and releases the leases.
func (a *App) startEventWorker(ctx context.Context) (*eventWorker, error) {
	leaser, ok := a.Store.(store.PartitionLeaser)
	if !ok {
		return nil, errors.New("events queue: the store cannot share partitions")
	}
	// The unpartitioned group of earlier releases would take every
	// batch (a work queue allows one unfiltered consumer): remove it.
	if gd, ok := a.Bus.(groupDeleter); ok {
		if err := gd.DeleteGroup(ctx, EventsQueue, eventsWorkers); err != nil {
			return nil, fmt.Errorf("events queue: %w", err)
		}
	}
	ttl := a.partitionLease
	if ttl <= 0 {
		ttl = defaultPartitionLease
	}
	lctx, cancel := context.WithCancel(ctx)
	w := &eventWorker{a: a, leaser: leaser, node: a.nodeID(), total: pipeline.DefaultPartitions, ttl: ttl,
		cancel: cancel, done: make(chan struct{}),
		subs: map[int]bus.Subscription{}, gen: map[int]uint64{}, rebuilt: map[string]uint64{}}
	go w.run(lctx)
	return w, nil
}

// run balances the leases every third of their length until ctx ends.
func (w *eventWorker) run(ctx context.Context) {
	defer close(w.done)
	every := w.ttl / 3
	t := time.NewTicker(every)
	defer t.Stop()
	var lastOK time.Time
	for {
		started := time.Now()
		held, err := w.leaser.BalancePartitions(ctx, w.node, w.total, w.ttl, started)
		switch {
		case err == nil:
			lastOK = started
			w.consume(ctx, held)
		case ctx.Err() != nil:
			return
		default:
			w.a.Logger.Warn("events queue: partition leases not renewed", "err", err)
			// Stop consuming before the leases can run out, so that no
			// partition is consumed by two nodes.
			if time.Since(lastOK) > 2*w.ttl/3 {
				w.consume(ctx, nil)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// consume makes the node consume exactly the partitions in held.
func (w *eventWorker) consume(ctx context.Context, held []int) {
	w.mu.Lock()
	var gone []bus.Subscription
	var lost []string
	for p, s := range w.subs {
		if !slices.Contains(held, p) {
			gone = append(gone, s)
			delete(w.subs, p)
			for t := range w.rebuilt {
				if pipeline.Partition(t, w.total) == p {
					lost = append(lost, t)
					delete(w.rebuilt, t)
				}
			}
		}
	}
	if w.legacy != nil && !slices.Contains(held, 0) {
		gone = append(gone, w.legacy)
		w.legacy = nil
	}
	w.mu.Unlock()
	for _, s := range gone {
		_ = s.Stop()
	}
	// The state of tenants another node now serves goes stale: drop it,
	// so that it is neither used nor saved as the newest snapshot.
	if rules := w.a.Rules; rules != nil {
		for _, t := range lost {
			rules.ResetCorrelation(t)
		}
	}
	for _, p := range held {
		w.mu.Lock()
		_, have := w.subs[p]
		w.mu.Unlock()
		if have {
			continue
		}
		w.mu.Lock()
		w.nextGen++
		w.gen[p] = w.nextGen
		w.mu.Unlock()
		sub, err := w.a.Bus.Consume(ctx, EventsQueue, bus.ConsumeOptions{Group: eventsPartitionGroup + strconv.Itoa(p),
			Filter: eventsSubjectRoot + ".p" + strconv.Itoa(p) + ".>", Concurrency: 1, MaxAckPending: 1},
			func(ctx context.Context, d bus.Delivery) error { return w.handle(ctx, p, d) })
		if err != nil {
			w.a.Logger.Warn("events queue: partition not consumed", "partition", p, "err", err)
			continue
		}
		w.mu.Lock()
		w.subs[p] = sub
		w.mu.Unlock()
		w.a.Logger.Info("events queue: partition taken", "partition", p, "node", w.node)
	}
	if slices.Contains(held, 0) {
		w.mu.Lock()
		need := w.legacy == nil
		w.mu.Unlock()
		if need {
			sub, err := w.a.Bus.Consume(ctx, EventsQueue, bus.ConsumeOptions{Group: legacyEventsGroup,
				Filter: eventsSubjectRoot + ".*", Concurrency: 1, MaxAckPending: 1}, w.a.storeBusBatch)
			if err != nil {
				w.a.Logger.Warn("events queue: earlier batches not consumed", "err", err)
				return
			}
			w.mu.Lock()
			w.legacy = sub
			w.mu.Unlock()
		}
	}
}

// handle stores one batch of partition p, first rebuilding its tenant's
// correlation state if this is the tenant's first batch since the node
// took the partition.
func (w *eventWorker) handle(ctx context.Context, p int, d bus.Delivery) error {
	tenantID := d.Message().Header["tenant"]
	w.mu.Lock()
	spell := w.gen[p]
	fresh := tenantID != "" && w.rebuilt[tenantID] != spell
	w.mu.Unlock()
	if fresh {
		if err := w.a.rebuildCorrelations(ctx, tenantID); err != nil {
			delay := min(time.Duration(d.Attempt())*time.Second, 30*time.Second)
			w.a.Logger.Warn("events queue: correlation state not rebuilt, retrying", "tenant", tenantID, "err", err, "in", delay)
			if nerr := d.Nak(ctx, delay); nerr != nil {
				return errors.Join(err, nerr)
			}
			return nil
		}
		w.mu.Lock()
		w.rebuilt[tenantID] = spell
		w.mu.Unlock()
	}
	return w.a.storeBusBatch(ctx, d)
}

// stop stops consuming; release gives the leases up for others to take
// at once (a clean shutdown), else they run out (as when a node dies).
// Calls after the first do nothing.
func (w *eventWorker) stop(release bool) error {
	w.stopOnce.Do(func() {
		w.cancel()
		<-w.done
		w.consume(context.Background(), nil)
		if release {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			w.stopErr = w.leaser.ReleasePartitions(ctx, w.node)
		}
	})
	return w.stopErr
}

// held lists the partitions the node consumes.
func (w *eventWorker) held() []int {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make([]int, 0, len(w.subs))
	for p := range w.subs {
		out = append(out, p)
	}
	slices.Sort(out)
	return out
}

// rebuildCorrelations replaces a tenant's correlation state with one
// rebuilt from its stored events of the longest correlation timespan
// (the newest maxReplayEvents of them, the newest saved snapshot of the
// tenant standing in for older ones when there are more), raising the
// correlation alerts that fire on the way: if the node that handled the
// events died before raising one, it is raised now; if it had raised it,
// the alert is joined, as alerts count each event ID once.
func (a *App) rebuildCorrelations(ctx context.Context, tenantID string) error {
	svc := a.Rules
	if svc == nil {
		return nil
	}
	span := svc.LongestTimespan(tenantID)
	svc.ResetCorrelation(tenantID)
	if span <= 0 {
		return nil
	}
	since := time.Now().Add(-span)
	var evs []store.Event
	for len(evs) < maxReplayEvents {
		page, err := a.Store.Events().Search(ctx, tenantID, store.EventQuery{Since: since,
			Page: store.Page{Limit: store.MaxPageSize, Offset: len(evs)}})
		if err != nil {
			return fmt.Errorf("replay events: %w", err)
		}
		evs = append(evs, page...)
		if len(page) < store.MaxPageSize {
			break
		}
	}
	if len(evs) >= maxReplayEvents {
		if err := a.restoreNewestSnapshot(ctx, tenantID); err != nil {
			a.Logger.Warn("correlation snapshot not restored", "tenant", tenantID, "err", err)
		}
	}
	slices.Reverse(evs) // Search returns the newest first
	reg := logs.NewRegistry()
	auto, _ := reg.Lookup("auto")
	sink := detectSink{a}
	for i := range evs {
		e := replayEvent(&evs[i], reg, auto)
		det := svc.DetectEvent(tenantID, e.ID, detect.NewEvent(e.DetectFields()), e.Time)
		if err := sink.raiseCorrelations(ctx, &e, eventHost(e.Fields), det.Correlations); err != nil {
			return err
		}
	}
	a.Logger.Info("correlation state rebuilt", "tenant", tenantID, "events", len(evs), "since", since)
	return nil
}

// replayEvent turns a stored event back into the parsed form detection
// saw. The store keeps no Sigma logsource, so it is read again from the
// original record by the parser that produced the event.
func replayEvent(se *store.Event, reg *logs.Registry, auto logs.Parser) logs.Event {
	e := logs.Event{ID: se.ID, Tenant: se.TenantID, Time: se.Time, Received: se.Received, Source: se.Source,
		Format: se.Format, Fields: se.Fields, Original: se.Original, Truncated: se.Truncated}
	if se.Original == "" {
		return e
	}
	p, err := reg.Lookup(se.Format)
	if err != nil {
		p = auto
	}
	if p == nil {
		return e
	}
	if pe, err := logs.ParseRecord(p, []byte(se.Original), logs.Meta{Tenant: se.TenantID}, se.Truncated); err == nil {
		e.LogSource = pe.LogSource
	}
	return e
}

// restoreNewestSnapshot adds the tenant's most recently saved correlation
// snapshot, of any node, to its state.
func (a *App) restoreNewestSnapshot(ctx context.Context, tenantID string) error {
	states, err := a.Store.Detection().CorrelationStates(ctx)
	if err != nil {
		return err
	}
	var newest *store.CorrelationState
	for i := range states {
		if s := &states[i]; s.TenantID == tenantID && (newest == nil || s.SavedAt.After(newest.SavedAt)) {
			newest = s
		}
	}
	if newest == nil {
		return nil
	}
	_, err = a.Rules.RestoreCorrelation(tenantID, newest.State)
	return err
}
