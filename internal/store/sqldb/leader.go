package sqldb

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"sync"
	"time"

	"github.com/vigil-sec/vigil/internal/store"
)

var _ store.LeaderElector = (*Store)(nil)

// leaseCheckEvery is how often a PostgreSQL lease checks that its
// connection still answers, and leaseCheckTimeout how long it waits.
const (
	leaseCheckEvery   = time.Second
	leaseCheckTimeout = 3 * time.Second
)

// TryLead implements store.LeaderElector. On SQLite, a single node's
// database, the caller always leads. On PostgreSQL the leader holds a
// session-level advisory lock on a connection of its own: the server
// releases it when that session ends, so a node that dies or loses its
// connection loses leadership, and another node's TryLead succeeds. The
// lease pings its connection every second and closes Lost when a ping
// fails.
func (s *Store) TryLead(ctx context.Context, name string) (store.Lease, error) {
	if s.d.Name != "postgres" {
		return newLease(nil, nil), nil
	}
	c, err := s.db.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("leader %s: %w", name, err)
	}
	var ok bool
	if err := c.QueryRowContext(ctx, `SELECT pg_try_advisory_lock(hashtextextended($1::text, 0))`, leaderKey(name)).Scan(&ok); err != nil {
		_ = c.Raw(func(any) error { return driver.ErrBadConn }) // do not return a doubtful session to the pool
		_ = c.Close()
		return nil, fmt.Errorf("leader %s: %w", name, err)
	}
	if !ok {
		_ = c.Close()
		return nil, nil
	}
	l := newLease(c, func(ctx context.Context) error {
		_, err := c.ExecContext(ctx, `SELECT pg_advisory_unlock(hashtextextended($1::text, 0))`, leaderKey(name))
		return err
	})
	go l.watch() // #nosec G118 -- the lease outlives the call that took it; Release stops the watch
	return l, nil
}

// leaderKey is the advisory lock key text of leadership name.
func leaderKey(name string) string { return "vigil.leader|" + name }

// lease is held leadership; c is nil on SQLite.
type lease struct {
	c      *sql.Conn
	unlock func(context.Context) error

	once    sync.Once // closes lost
	release sync.Once
	err     error // of the release
	broken  bool  // the connection failed: the server ended the session
	lost    chan struct{}
	stop    chan struct{}
	done    chan struct{}
}

func newLease(c *sql.Conn, unlock func(context.Context) error) *lease {
	l := &lease{c: c, unlock: unlock, lost: make(chan struct{}), stop: make(chan struct{}), done: make(chan struct{})}
	if c == nil {
		close(l.done)
	}
	return l
}

func (l *lease) Lost() <-chan struct{} { return l.lost }

// watch pings the connection until a ping fails or Release stops it.
func (l *lease) watch() {
	defer close(l.done)
	t := time.NewTicker(leaseCheckEvery)
	defer t.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), leaseCheckTimeout)
		err := l.c.PingContext(ctx)
		cancel()
		if err != nil {
			l.broken = true // read by Release after done
			l.once.Do(func() { close(l.lost) })
			return
		}
	}
}

// Release implements store.Lease: it unlocks and gives the connection
// back, or discards it if it is broken.
func (l *lease) Release() error {
	l.release.Do(func() {
		close(l.stop)
		<-l.done
		l.once.Do(func() { close(l.lost) })
		if l.c == nil {
			return
		}
		if l.broken {
			_ = l.c.Raw(func(any) error { return driver.ErrBadConn })
			_ = l.c.Close()
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), leaseCheckTimeout)
		defer cancel()
		if err := l.unlock(ctx); err != nil {
			// The session may still hold the lock: never pool it.
			_ = l.c.Raw(func(any) error { return driver.ErrBadConn })
			l.err = fmt.Errorf("release leadership: %w", err)
		}
		_ = l.c.Close()
	})
	return l.err
}
