package app

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
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
// subjects, so a partition's batches are stored by one worker, up to
// partitionBatches of them at once. Worker nodes
// share the partitions out through leases in the store
// (store.PartitionLeaser): each round a node renews its leases, gives up
// what is over its fair share and takes partitions nobody holds or whose
// holder's lease ran out (a dead node). A node consumes only the
// partitions it holds. Before it stores the first batch of a tenant on a
// partition it (re)gained, it rebuilds the tenant's correlation state
// from the stored events within the longest correlation timespan, so a
// correlation sees the events other workers handled before; alerts count
// each event ID once, so re-reading raises nothing twice.
//
// A node hands a partition over in two steps (store.PartitionHandover):
// a round leaves the partitions over its share held, the node stops
// taking their batches, waits for those in flight to be stored, matched
// and settled, and only then gives each lease up. So the next holder's
// replay reads everything the previous one stored. A store without
// PartitionHandover gives partitions up within the round; then each
// partition hands out one batch at a time, which makes the handover
// safe on JetStream's side instead (the new holder gets no batch before
// the old one settled its last).

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
	// drainGrace is how long a stopping node waits for the batches in
	// flight before it cancels them (they are then handed back).
	drainGrace = 20 * time.Second
	// partitionBatches is how many batches of one partition its holder
	// stores at once when the store hands partitions over in two steps.
	partitionBatches = 4
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
	a        *App
	leaser   store.PartitionLeaser
	handover store.PartitionHandover // nil: one batch at a time
	node     string
	total    int
	ttl      time.Duration
	batches  int // a partition's batches in flight at once

	cancel context.CancelFunc
	done   chan struct{}
	// hctx is the batches' context: stop cancels it only when they take
	// longer than drainGrace to settle, so a clean shutdown stores them.
	hctx     context.Context
	hcancel  context.CancelFunc
	stopOnce sync.Once
	stopErr  error

	mu       sync.Mutex // guards the maps and nextGen
	subs     map[int]bus.Subscription
	legacy   bus.Subscription
	draining map[int]bool      // partitions being handed over
	gen      map[int]uint64    // partition -> spell it was last taken in
	rebuilt  map[string]uint64 // tenant -> spell its state was rebuilt in
	nextGen  uint64
	drains   sync.WaitGroup // handovers in progress

	// rebuilding serialises the rebuild check of a partition's batches,
	// so that batches handled at once wait for one rebuild.
	rebuilding []sync.Mutex
	// beforeStore, when set (tests), runs before a batch of partition p
	// is stored.
	beforeStore atomic.Pointer[func(p int)]
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
	hctx, hcancel := context.WithCancel(context.WithoutCancel(ctx))
	w := &eventWorker{hctx: hctx, hcancel: hcancel, a: a, leaser: leaser, node: a.nodeID(), total: pipeline.DefaultPartitions, ttl: ttl, batches: 1,
		cancel: cancel, done: make(chan struct{}), subs: map[int]bus.Subscription{}, draining: map[int]bool{},
		gen: map[int]uint64{}, rebuilt: map[string]uint64{}, rebuilding: make([]sync.Mutex, pipeline.DefaultPartitions)}
	if h, ok := leaser.(store.PartitionHandover); ok {
		w.handover, w.batches = h, partitionBatches
	}
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
		held, surplus, err := w.balance(ctx, started)
		switch {
		case err == nil:
			lastOK = started
			w.consume(held, surplus)
		case ctx.Err() != nil:
			return
		default:
			w.a.Logger.Warn("events queue: partition leases not renewed", "err", err)
			// Stop consuming before the leases can run out, so that no
			// partition is consumed by two nodes.
			if time.Since(lastOK) > 2*w.ttl/3 {
				w.consume(nil, nil)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// balance is one lease round: the partitions the node holds and, of
// them, those over its share that it is to hand over.
func (w *eventWorker) balance(ctx context.Context, now time.Time) (held, surplus []int, err error) {
	if w.handover != nil {
		return w.handover.KeepPartitions(ctx, w.node, w.total, w.ttl, now)
	}
	held, err = w.leaser.BalancePartitions(ctx, w.node, w.total, w.ttl, now)
	return held, nil, err
}

// consume makes the node consume exactly the partitions in held but not
// in surplus. A partition no longer held (its lease ran out) is stopped
// at once; one in surplus is handed over in the background (handOver).
func (w *eventWorker) consume(held, surplus []int) {
	w.mu.Lock()
	var gone []bus.Subscription
	var lost []string
	for p, s := range w.subs {
		switch {
		case slices.Contains(surplus, p):
			delete(w.subs, p)
			w.draining[p] = true
			w.drains.Add(1)
			go w.handOver(p, s)
		case !slices.Contains(held, p):
			gone = append(gone, s)
			delete(w.subs, p)
			lost = append(lost, w.forget(p)...)
		}
	}
	for _, p := range surplus { // held but never consumed: give it up
		if _, have := w.subs[p]; !have && !w.draining[p] {
			w.draining[p] = true
			w.drains.Add(1)
			go w.handOver(p, nil)
		}
	}
	want := slices.DeleteFunc(slices.Clone(held), func(p int) bool { return slices.Contains(surplus, p) || w.draining[p] })
	if w.legacy != nil && !slices.Contains(want, 0) {
		gone = append(gone, w.legacy)
		w.legacy = nil
	}
	w.mu.Unlock()
	for _, s := range gone {
		_ = s.Stop()
	}
	w.resetCorrelations(lost)
	for _, p := range want {
		w.mu.Lock()
		_, have := w.subs[p]
		if !have {
			w.nextGen++
			w.gen[p] = w.nextGen
		}
		w.mu.Unlock()
		if have {
			continue
		}
		sub, err := w.a.Bus.Consume(w.hctx, EventsQueue, bus.ConsumeOptions{Group: eventsPartitionGroup + strconv.Itoa(p),
			Filter: eventsSubjectRoot + ".p" + strconv.Itoa(p) + ".>", Concurrency: w.batches, MaxAckPending: w.batches},
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
	if slices.Contains(want, 0) {
		w.mu.Lock()
		need := w.legacy == nil
		w.mu.Unlock()
		if need {
			sub, err := w.a.Bus.Consume(w.hctx, EventsQueue, bus.ConsumeOptions{Group: legacyEventsGroup,
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

// forget drops the rebuilt marks of partition p's tenants and returns
// them. Call with w.mu held.
func (w *eventWorker) forget(p int) []string {
	var out []string
	for t := range w.rebuilt {
		if pipeline.Partition(t, w.total) == p {
			out = append(out, t)
			delete(w.rebuilt, t)
		}
	}
	return out
}

// resetCorrelations drops the state of tenants another node now serves:
// it goes stale, so it must be neither used nor saved as the newest
// snapshot.
func (w *eventWorker) resetCorrelations(tenants []string) {
	if rules := w.a.Rules; rules != nil {
		for _, t := range tenants {
			rules.ResetCorrelation(t)
		}
	}
}

// handOver gives partition p up: it stops taking its batches, waits for
// those in flight to be settled (sub.Stop), and only then releases the
// lease, so that the next holder's replay reads all they stored. The
// lease stays renewed meanwhile by the rounds (or by stop).
func (w *eventWorker) handOver(p int, sub bus.Subscription) {
	defer w.drains.Done()
	if sub != nil {
		_ = sub.Stop()
	}
	w.mu.Lock()
	lost := w.forget(p)
	w.mu.Unlock()
	w.resetCorrelations(lost)
	// Released even when stop gave up waiting and cancelled the batches.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(w.hctx), 10*time.Second)
	defer cancel()
	if err := w.handover.ReleasePartition(ctx, w.node, p); err != nil {
		// The lease runs out instead.
		w.a.Logger.Warn("events queue: partition not released", "partition", p, "err", err)
	} else if sub != nil {
		w.a.Logger.Info("events queue: partition handed over", "partition", p, "node", w.node)
	}
	w.mu.Lock()
	delete(w.draining, p)
	w.mu.Unlock()
}

// handle stores one batch of partition p, first rebuilding its tenant's
// correlation state if this is the tenant's first batch since the node
// took the partition.
func (w *eventWorker) handle(ctx context.Context, p int, d bus.Delivery) error {
	if tenantID := d.Message().Header["tenant"]; tenantID != "" {
		// The partition's other batches in flight wait for the rebuild,
		// so that none is matched against the state it replaces.
		rb := &w.rebuilding[p]
		rb.Lock()
		w.mu.Lock()
		spell := w.gen[p]
		fresh := w.rebuilt[tenantID] != spell
		w.mu.Unlock()
		if fresh {
			if err := w.a.rebuildCorrelations(ctx, tenantID); err != nil {
				rb.Unlock()
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
		rb.Unlock()
	}
	if f := w.beforeStore.Load(); f != nil {
		(*f)(p)
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
		// Settle the batches in flight, renewing the leases meanwhile
		// so that nobody takes a partition before they are settled.
		settled := make(chan struct{})
		go func() {
			w.consume(nil, nil)
			w.drains.Wait()
			close(settled)
		}()
		t := time.NewTicker(w.ttl / 3)
		defer t.Stop()
		grace := time.NewTimer(drainGrace)
		defer grace.Stop()
		defer w.hcancel()
	wait:
		for {
			select {
			case <-settled:
				break wait
			case <-grace.C:
				w.hcancel() // Stop returns once the handlers did
			case <-t.C:
				if w.handover != nil {
					ctx, cancel := context.WithTimeout(context.Background(), w.ttl/3)
					_, _, _ = w.handover.KeepPartitions(ctx, w.node, w.total, w.ttl, time.Now())
					cancel()
				}
			}
		}
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
