package inproc

import (
	"container/heap"
	"context"
	"errors"
	"slices"
	"sync"
	"time"

	"github.com/vigil-sec/vigil/internal/bus"
	"github.com/vigil-sec/vigil/internal/bus/internal/contract"
)

// errQueueFull is returned by store.enqueue when MaxBytes would be exceeded.
var errQueueFull = errors.New("queue is full (MaxBytes reached)")

// errNoQueue is returned when a queue was never ensured.
var errNoQueue = errors.New("queue does not exist")

// DeadLetter is a queued message that exhausted its queue's MaxDeliver.
type DeadLetter struct {
	Queue    string
	Message  bus.Message
	Attempts int
	Reason   string
	At       time.Time
}

// leased is a message a consumer holds until its lease expires.
type leased struct {
	id         int64
	msg        bus.Message
	deliveries int
}

// store keeps queue configurations and queued messages. A message is
// available when its visibleAt is not in the future; leasing, naking and
// acking move visibleAt or delete the message. Implementations are safe for
// concurrent use.
type store interface {
	// putQueue creates or updates a queue's configuration.
	putQueue(ctx context.Context, cfg bus.QueueConfig) error
	// queue returns a queue's configuration, or errNoQueue.
	queue(ctx context.Context, name string) (bus.QueueConfig, error)
	// enqueue stores m (whose subject is already checked) visible at now;
	// it returns errQueueFull when MaxBytes would be exceeded.
	enqueue(ctx context.Context, cfg bus.QueueConfig, m bus.Message, now time.Time) error
	// lease takes the first available message of queue, increments its
	// deliveries and hides it until until.
	lease(ctx context.Context, queue string, now, until time.Time) (leased, bool, error)
	// ack deletes a message whatever its deliveries count.
	ack(ctx context.Context, queue string, id int64) error
	// release makes a message visible at at, provided deliveries still
	// matches (a later lease owns it otherwise).
	release(ctx context.Context, queue string, id int64, deliveries int, at time.Time) error
	// bury moves a message to the dead letters, provided deliveries still
	// matches; it reports whether it did.
	bury(ctx context.Context, queue string, id int64, deliveries int, reason string, now time.Time) (bool, error)
	// nextVisible returns when the earliest hidden message of queue becomes
	// available; ok is false when the queue is empty.
	nextVisible(ctx context.Context, queue string) (t time.Time, ok bool, err error)
	// deadLetters lists the dead letters of queue, oldest first.
	deadLetters(ctx context.Context, queue string) ([]DeadLetter, error)
	ping(ctx context.Context) error
	close() error
}

// memDeadLetterCap bounds the dead letters kept by the memory store.
const memDeadLetterCap = 1000

// memStore keeps everything in memory: one min-heap per queue ordered by
// (visibleAt, id), so leasing, acking and naking are O(log n).
type memStore struct {
	mu     sync.Mutex
	queues map[string]*memQueue
	nextID int64
	dead   []DeadLetter
}

type memQueue struct {
	cfg   bus.QueueConfig
	bytes int64
	heap  msgHeap
	byID  map[int64]*memMsg
}

type memMsg struct {
	id         int64
	msg        bus.Message
	size       int64
	deliveries int
	visibleAt  time.Time
	index      int
}

func newMemStore() *memStore {
	return &memStore{queues: make(map[string]*memQueue)}
}

func (s *memStore) putQueue(_ context.Context, cfg bus.QueueConfig) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if q, ok := s.queues[cfg.Name]; ok {
		q.cfg = cfg
		return nil
	}
	s.queues[cfg.Name] = &memQueue{cfg: cfg, byID: make(map[int64]*memMsg)}
	return nil
}

func (s *memStore) queue(_ context.Context, name string) (bus.QueueConfig, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	q, ok := s.queues[name]
	if !ok {
		return bus.QueueConfig{}, errNoQueue
	}
	cfg := q.cfg
	cfg.Subjects = slices.Clone(cfg.Subjects)
	return cfg, nil
}

func (s *memStore) enqueue(_ context.Context, cfg bus.QueueConfig, m bus.Message, now time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	q, ok := s.queues[cfg.Name]
	if !ok {
		return errNoQueue
	}
	size := messageSize(m)
	if q.cfg.MaxBytes > 0 && q.bytes+size > q.cfg.MaxBytes {
		return errQueueFull
	}
	s.nextID++
	mm := &memMsg{id: s.nextID, msg: m, size: size, visibleAt: now}
	heap.Push(&q.heap, mm)
	q.byID[mm.id] = mm
	q.bytes += size
	return nil
}

func (s *memStore) lease(_ context.Context, queue string, now, until time.Time) (leased, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	q, ok := s.queues[queue]
	if !ok {
		return leased{}, false, errNoQueue
	}
	if len(q.heap) == 0 || q.heap[0].visibleAt.After(now) {
		return leased{}, false, nil
	}
	mm := q.heap[0]
	mm.deliveries++
	mm.visibleAt = until
	heap.Fix(&q.heap, mm.index)
	return leased{id: mm.id, msg: contract.CloneMessage(mm.msg), deliveries: mm.deliveries}, true, nil
}

func (s *memStore) ack(_ context.Context, queue string, id int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if q, ok := s.queues[queue]; ok {
		q.remove(id)
	}
	return nil
}

func (s *memStore) release(_ context.Context, queue string, id int64, deliveries int, at time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	q, ok := s.queues[queue]
	if !ok {
		return nil
	}
	if mm, ok := q.byID[id]; ok && mm.deliveries == deliveries {
		mm.visibleAt = at
		heap.Fix(&q.heap, mm.index)
	}
	return nil
}

func (s *memStore) bury(_ context.Context, queue string, id int64, deliveries int, reason string, now time.Time) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	q, ok := s.queues[queue]
	if !ok {
		return false, nil
	}
	mm, ok := q.byID[id]
	if !ok || mm.deliveries != deliveries {
		return false, nil
	}
	q.remove(id)
	if len(s.dead) == memDeadLetterCap {
		s.dead = slices.Delete(s.dead, 0, 1)
	}
	s.dead = append(s.dead, DeadLetter{Queue: queue, Message: mm.msg, Attempts: mm.deliveries, Reason: reason, At: now})
	return true, nil
}

func (s *memStore) nextVisible(_ context.Context, queue string) (time.Time, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	q, ok := s.queues[queue]
	if !ok || len(q.heap) == 0 {
		return time.Time{}, false, nil
	}
	return q.heap[0].visibleAt, true, nil
}

func (s *memStore) deadLetters(_ context.Context, queue string) ([]DeadLetter, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []DeadLetter
	for _, d := range s.dead {
		if d.Queue == queue {
			out = append(out, d)
		}
	}
	return out, nil
}

func (s *memStore) ping(context.Context) error { return nil }

func (s *memStore) close() error { return nil }

func (q *memQueue) remove(id int64) {
	mm, ok := q.byID[id]
	if !ok {
		return
	}
	heap.Remove(&q.heap, mm.index)
	delete(q.byID, id)
	q.bytes -= mm.size
}

// messageSize is what a message counts against MaxBytes.
func messageSize(m bus.Message) int64 {
	n := len(m.Subject) + len(m.Data)
	for k, v := range m.Header {
		n += len(k) + len(v)
	}
	return int64(n)
}

// msgHeap orders messages by visibility time, then by arrival.
type msgHeap []*memMsg

func (h msgHeap) Len() int { return len(h) }
func (h msgHeap) Less(i, j int) bool {
	if !h[i].visibleAt.Equal(h[j].visibleAt) {
		return h[i].visibleAt.Before(h[j].visibleAt)
	}
	return h[i].id < h[j].id
}
func (h msgHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index = i
	h[j].index = j
}
func (h *msgHeap) Push(x any) {
	mm := x.(*memMsg)
	mm.index = len(*h)
	*h = append(*h, mm)
}
func (h *msgHeap) Pop() any {
	old := *h
	mm := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	mm.index = -1
	return mm
}
