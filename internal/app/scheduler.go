package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/vigil-sec/vigil/internal/bus"
	"github.com/vigil-sec/vigil/internal/store"
)

// SchedulerLeader names the leadership the scheduler nodes compete for.
const SchedulerLeader = "scheduler"

// SlotHeader is the header of a scheduled job that names its time slot.
const SlotHeader = "Slot"

// SchedulerOptions configures a Scheduler.
type SchedulerOptions struct {
	// Elector picks the one node that schedules.
	Elector store.LeaderElector
	// Bus and Queue receive the jobs.
	Bus   bus.Bus
	Queue string
	// Jobs are the subjects queued once per slot.
	Jobs []string
	// Every is the slot length: each job is queued once per slot, at its
	// start (or when a node takes over within it).
	Every time.Duration
	// Retry is how often a node that does not lead tries to take over, and
	// how soon a failed enqueue is tried again. Default 2s.
	Retry time.Duration
	// Node names this node in the log.
	Node   string
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Scheduler queues the housekeeping jobs on one node of the deployment at
// a time. Nodes that run it compete for leadership through the store; the
// leader queues every job once per slot with the message ID job@slot, so a
// node that takes over within a slot the old leader already queued adds
// nothing: the queue drops the second copy (its duplicate window must
// cover a slot).
type Scheduler struct {
	o SchedulerOptions

	mu     sync.Mutex
	leader bool
	since  time.Time
}

// NewScheduler returns a scheduler; Run starts it.
func NewScheduler(o SchedulerOptions) *Scheduler {
	if o.Retry <= 0 {
		o.Retry = 2 * time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return &Scheduler{o: o}
}

// SchedulerStatus is what a node knows of its scheduler.
type SchedulerStatus struct {
	Leader bool      `json:"leader"`
	Since  time.Time `json:"since,omitzero"` // when this node took the lead
	Node   string    `json:"node"`
}

// Status reports whether this node leads.
func (s *Scheduler) Status() SchedulerStatus {
	s.mu.Lock()
	defer s.mu.Unlock()
	return SchedulerStatus{Leader: s.leader, Since: s.since, Node: s.o.Node}
}

func (s *Scheduler) setLeader(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.leader = on
	s.since = time.Time{}
	if on {
		s.since = s.o.Now()
	}
}

// Run competes for leadership and schedules while it leads, until ctx is
// done.
func (s *Scheduler) Run(ctx context.Context) {
	for {
		lease, err := s.o.Elector.TryLead(ctx, SchedulerLeader)
		switch {
		case err != nil && ctx.Err() == nil:
			s.o.Logger.Warn("scheduler: leader election", "err", err)
		case lease != nil:
			s.lead(ctx, lease)
		}
		if !sleep(ctx, s.o.Retry) {
			return
		}
	}
}

// Slot returns the start of the slot holding t.
func (s *Scheduler) Slot(t time.Time) time.Time { return t.UTC().Truncate(s.o.Every) }

// JobID is the message ID of job in the slot starting at slot.
func JobID(job string, slot time.Time) string {
	return job + "@" + slot.UTC().Format("20060102T150405Z")
}

// lead schedules until the lease is lost or ctx is done.
func (s *Scheduler) lead(ctx context.Context, lease store.Lease) {
	s.setLeader(true)
	s.o.Logger.Info("scheduler: this node leads", "node", s.o.Node)
	defer func() {
		if err := lease.Release(); err != nil {
			s.o.Logger.Warn("scheduler: release leadership", "err", err)
		}
		s.setLeader(false)
		s.o.Logger.Info("scheduler: this node no longer leads", "node", s.o.Node)
	}()
	for {
		slot := s.Slot(s.o.Now())
		next := slot.Add(s.o.Every)
		pending := s.o.Jobs
		for {
			select {
			case <-lease.Lost():
				s.o.Logger.Warn("scheduler: leadership lost (database connection)", "node", s.o.Node)
				return
			default:
			}
			pending = s.enqueue(ctx, slot, pending)
			wait := next.Sub(s.o.Now())
			if len(pending) > 0 {
				wait = min(wait, s.o.Retry)
			}
			if ctx.Err() != nil {
				return
			}
			if wait <= 0 {
				break
			}
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-lease.Lost():
				t.Stop()
				s.o.Logger.Warn("scheduler: leadership lost (database connection)", "node", s.o.Node)
				return
			case <-t.C:
			}
			if !s.o.Now().Before(next) {
				if len(pending) > 0 {
					s.o.Logger.Warn("scheduler: jobs not queued in their slot", "slot", slot, "jobs", pending)
				}
				break
			}
		}
	}
}

// enqueue queues jobs for slot and returns those that failed.
func (s *Scheduler) enqueue(ctx context.Context, slot time.Time, jobs []string) []string {
	var failed []string
	stamp := slot.UTC().Format(time.RFC3339)
	for _, job := range jobs {
		m := bus.Message{Subject: job, ID: JobID(job, slot), Header: map[string]string{SlotHeader: stamp}}
		if err := s.o.Bus.Enqueue(ctx, s.o.Queue, m); err != nil {
			if ctx.Err() == nil && !errors.Is(err, bus.ErrClosed) {
				s.o.Logger.Warn("scheduler: queue job", "job", job, "err", err)
			}
			failed = append(failed, job)
		}
	}
	return failed
}

// sleep waits d or until ctx is done, reporting whether ctx is still live.
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

// JobEventPartitions prepares the coming days' event storage and drops
// events past the retention (store.EventRetention).
const JobEventPartitions = "jobs.events.partitions"

// eventDaysAhead is how many days ahead event partitions are made.
const eventDaysAhead = 3

// housekeepingJobs are queued once per housekeepingEvery slot.
var housekeepingJobs = []string{JobSessionCleanup, JobVulnExpire, JobPostureRecord, JobReportsDue, JobIncidentSLA, JobDiscoveryDue,
	JobBaselineDue, JobVulnScanDue, JobTrafficEvents, JobWeblogCollected, JobDevicesRun, JobCampaignsCheck, JobKEVMatches, JobDigestDue,
	JobEventPartitions}

// jobsQueueConfig is the jobs queue. Its duplicate window covers two
// slots, so a scheduler that takes over within a slot cannot queue the
// slot's jobs again.
func jobsQueueConfig() bus.QueueConfig {
	return bus.QueueConfig{Name: JobsQueue, Subjects: []string{"jobs.>"}, AckWait: time.Minute, MaxDeliver: 5,
		DuplicateWindow: 2 * housekeepingEvery}
}

// startScheduler runs this node's scheduler: on PostgreSQL it competes with
// the other scheduler nodes and queues the housekeeping jobs while it
// leads; on SQLite it always leads.
func (a *App) startScheduler(ctx context.Context) (func() error, error) {
	el, ok := a.Store.(store.LeaderElector)
	if !ok {
		return nil, errors.New("scheduler: the store cannot elect a leader")
	}
	if err := a.Bus.EnsureQueue(ctx, jobsQueueConfig()); err != nil {
		return nil, fmt.Errorf("jobs queue: %w", err)
	}
	a.Scheduler = NewScheduler(SchedulerOptions{Elector: el, Bus: a.Bus, Queue: JobsQueue, Jobs: housekeepingJobs,
		Every: housekeepingEvery, Node: a.nodeID(), Logger: a.Logger})
	g := prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "vigil_scheduler_leader",
		Help: "1 while this node's scheduler leads (queues the housekeeping jobs), else 0."}, func() float64 {
		if a.Scheduler.Status().Leader {
			return 1
		}
		return 0
	})
	if err := a.Registry.Register(g); err != nil {
		return nil, fmt.Errorf("scheduler metric: %w", err)
	}
	sctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		a.Scheduler.Run(sctx)
	}()
	return func() error {
		cancel()
		<-done
		a.Registry.Unregister(g)
		return nil
	}, nil
}

// maintainEventPartitions is JobEventPartitions.
func (a *App) maintainEventPartitions(ctx context.Context) error {
	r, ok := a.Store.(store.EventRetention)
	if !ok {
		return nil
	}
	now := time.Now()
	n, err := r.PrepareEventDays(ctx, now.AddDate(0, 0, -1), now.AddDate(0, 0, eventDaysAhead))
	if err != nil {
		return err
	}
	if n > 0 {
		a.Logger.Info("event days prepared", "added", n)
	}
	if a.Config.EventRetention <= 0 {
		return a.dropTenantEvents(ctx, now) // event_retention.go
	}
	d, err := r.DropEventsBefore(ctx, now.Add(-a.Config.EventRetention))
	if len(d.Days) > 0 || d.Rows > 0 {
		a.Logger.Info("events past retention removed", "days", len(d.Days), "rows", d.Rows)
	}
	return errors.Join(err, a.dropTenantEvents(ctx, now))
}
