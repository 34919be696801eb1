package inproc

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver

	"github.com/vigil-sec/vigil/internal/bus"
)

// schemaVersion is stored in PRAGMA user_version.
const schemaVersion = 1

const schema = `
CREATE TABLE IF NOT EXISTS queues (
	name        TEXT PRIMARY KEY,
	subjects    TEXT NOT NULL,
	ack_wait_ns INTEGER NOT NULL,
	max_deliver INTEGER NOT NULL,
	max_bytes   INTEGER NOT NULL,
	bytes       INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS messages (
	id          INTEGER PRIMARY KEY AUTOINCREMENT,
	queue       TEXT NOT NULL,
	subject     TEXT NOT NULL,
	header      TEXT,
	data        BLOB,
	size        INTEGER NOT NULL,
	deliveries  INTEGER NOT NULL DEFAULT 0,
	visible_at  INTEGER NOT NULL,
	enqueued_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS messages_visible ON messages (queue, visible_at, id);
CREATE TABLE IF NOT EXISTS dead_letters (
	id          INTEGER PRIMARY KEY AUTOINCREMENT,
	queue       TEXT NOT NULL,
	subject     TEXT NOT NULL,
	header      TEXT,
	data        BLOB,
	attempts    INTEGER NOT NULL,
	reason      TEXT NOT NULL,
	enqueued_at INTEGER NOT NULL,
	died_at     INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS dead_letters_queue ON dead_letters (queue, id);
CREATE TRIGGER IF NOT EXISTS messages_bytes_insert AFTER INSERT ON messages BEGIN
	UPDATE queues SET bytes = bytes + NEW.size WHERE name = NEW.queue;
END;
CREATE TRIGGER IF NOT EXISTS messages_bytes_delete AFTER DELETE ON messages BEGIN
	UPDATE queues SET bytes = bytes - OLD.size WHERE name = OLD.queue;
END;
`

const (
	sqlEnqueue = `INSERT INTO messages (queue, subject, header, data, size, visible_at, enqueued_at)
SELECT name, ?, ?, ?, ?, ?, ? FROM queues
WHERE name = ? AND (max_bytes = 0 OR bytes + ? <= max_bytes)`
	sqlLease = `UPDATE messages SET deliveries = deliveries + 1, visible_at = ?
WHERE id = (SELECT id FROM messages WHERE queue = ? AND visible_at <= ? ORDER BY visible_at, id LIMIT 1)
RETURNING id, subject, header, data, deliveries`
	sqlAck         = `DELETE FROM messages WHERE id = ? AND queue = ?`
	sqlRelease     = `UPDATE messages SET visible_at = ? WHERE id = ? AND queue = ? AND deliveries = ?`
	sqlNextVisible = `SELECT visible_at FROM messages WHERE queue = ? ORDER BY visible_at LIMIT 1`
)

// sqlStore keeps queues in a SQLite database in WAL mode. Enqueues are
// group-committed with synchronous=FULL, so an enqueued message survives a
// process or machine crash; leases and acks commit with synchronous=NORMAL,
// which survives a process crash, and a machine crash can at worst cause a
// redelivery. It uses
// a single connection: SQLite serialises writers anyway, and queueing in Go
// avoids SQLITE_BUSY back-off sleeps between this process's own statements.
// Other processes may open the same file; the busy timeout arbitrates.
type sqlStore struct {
	db    *sql.DB
	stmts map[string]*sql.Stmt

	enqueues   chan *enqueueRequest // to writeEnqueues
	quit       chan struct{}        // stops writeEnqueues
	writerDone chan struct{}        // closed when writeEnqueues returns
}

func openSQLite(ctx context.Context, path string) (*sqlStore, error) {
	q := url.Values{}
	q.Set("_busy_timeout", "10000")
	q.Set("_journal_mode", "WAL")
	q.Set("_synchronous", "NORMAL")
	q.Set("_txlock", "immediate")
	dsn := (&url.URL{Scheme: "file", Path: path, RawQuery: q.Encode()}).String()
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	db.SetConnMaxIdleTime(0)
	db.SetConnMaxLifetime(0)
	s := &sqlStore{
		db:         db,
		stmts:      make(map[string]*sql.Stmt),
		enqueues:   make(chan *enqueueRequest),
		quit:       make(chan struct{}),
		writerDone: make(chan struct{}),
	}
	if err := s.init(ctx); err != nil {
		_ = db.Close()
		return nil, err
	}
	go s.writeEnqueues()
	return s, nil
}

func (s *sqlStore) init(ctx context.Context) error {
	var version int
	if err := s.db.QueryRowContext(ctx, `PRAGMA user_version`).Scan(&version); err != nil {
		return err
	}
	if version > schemaVersion {
		return fmt.Errorf("database schema version %d is newer than this build (%d)", version, schemaVersion)
	}
	if _, err := s.db.ExecContext(ctx, schema); err != nil {
		return err
	}
	if _, err := s.db.ExecContext(ctx, fmt.Sprintf(`PRAGMA user_version = %d`, schemaVersion)); err != nil {
		return err
	}
	for _, q := range []string{sqlLease, sqlAck, sqlRelease, sqlNextVisible} {
		st, err := s.db.PrepareContext(ctx, q)
		if err != nil {
			return err
		}
		s.stmts[q] = st
	}
	return nil
}

func (s *sqlStore) putQueue(ctx context.Context, cfg bus.QueueConfig) error {
	subjects, err := json.Marshal(cfg.Subjects)
	if err != nil {
		return err
	}
	_, err = s.db.ExecContext(ctx, `INSERT INTO queues (name, subjects, ack_wait_ns, max_deliver, max_bytes)
VALUES (?, ?, ?, ?, ?)
ON CONFLICT (name) DO UPDATE SET subjects = excluded.subjects, ack_wait_ns = excluded.ack_wait_ns,
	max_deliver = excluded.max_deliver, max_bytes = excluded.max_bytes`,
		cfg.Name, string(subjects), int64(cfg.AckWait), cfg.MaxDeliver, cfg.MaxBytes)
	return err
}

func (s *sqlStore) queue(ctx context.Context, name string) (bus.QueueConfig, error) {
	cfg := bus.QueueConfig{Name: name}
	var subjects string
	var ackWait int64
	err := s.db.QueryRowContext(ctx, `SELECT subjects, ack_wait_ns, max_deliver, max_bytes FROM queues WHERE name = ?`, name).
		Scan(&subjects, &ackWait, &cfg.MaxDeliver, &cfg.MaxBytes)
	if errors.Is(err, sql.ErrNoRows) {
		return cfg, errNoQueue
	}
	if err != nil {
		return cfg, err
	}
	cfg.AckWait = time.Duration(ackWait)
	if err := json.Unmarshal([]byte(subjects), &cfg.Subjects); err != nil {
		return cfg, fmt.Errorf("decoding subjects of queue %s: %w", name, err)
	}
	return cfg, nil
}

// enqueueRequest is one Enqueue waiting for the group commit.
type enqueueRequest struct {
	ctx    context.Context
	queue  string
	m      bus.Message
	header any
	size   int64
	now    time.Time
	err    chan error
}

// maxBatch bounds how many enqueues share one commit.
const maxBatch = 256

func (s *sqlStore) enqueue(ctx context.Context, cfg bus.QueueConfig, m bus.Message, now time.Time) error {
	header, err := encodeHeader(m.Header)
	if err != nil {
		return err
	}
	r := &enqueueRequest{ctx: ctx, queue: cfg.Name, m: m, header: header, size: messageSize(m), now: now, err: make(chan error, 1)}
	select {
	case s.enqueues <- r:
	case <-ctx.Done():
		return ctx.Err()
	}
	// Once handed over the request may be committed: wait for the outcome
	// rather than report a cancellation for a stored message.
	return <-r.err
}

// writeEnqueues commits enqueues in groups: each waiting Enqueue joins the
// next transaction, so concurrent producers share one disk sync.
func (s *sqlStore) writeEnqueues() {
	defer close(s.writerDone)
	for {
		var batch []*enqueueRequest
		select {
		case r := <-s.enqueues:
			batch = append(batch, r)
		case <-s.quit:
			return
		}
	more:
		for len(batch) < maxBatch {
			select {
			case r := <-s.enqueues:
				batch = append(batch, r)
			default:
				break more
			}
		}
		errs := s.commitEnqueues(batch)
		for i, r := range batch {
			r.err <- errs[i]
		}
	}
}

// commitEnqueues stores batch in one transaction and returns each request's
// outcome.
//
// The connection runs with synchronous=NORMAL, which in WAL mode survives a
// process crash but not a power loss. Enqueues alone commit with FULL, so
// that they are on disk before Enqueue returns; losing a lease or an ack to
// a power loss only means a redelivery.
func (s *sqlStore) commitEnqueues(batch []*enqueueRequest) []error {
	errs := make([]error, len(batch))
	fail := func(err error) []error {
		for i := range errs {
			if errs[i] == nil {
				errs[i] = err
			}
		}
		return errs
	}
	ctx := context.Background()
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return fail(err)
	}
	defer func() { _ = conn.Close() }()
	if _, err := conn.ExecContext(ctx, `PRAGMA synchronous = FULL`); err != nil {
		return fail(err)
	}
	defer func() { _, _ = conn.ExecContext(ctx, `PRAGMA synchronous = NORMAL`) }()
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return fail(err)
	}
	defer func() { _ = tx.Rollback() }()
	insert, err := tx.PrepareContext(ctx, sqlEnqueue)
	if err != nil {
		return fail(err)
	}
	for i, r := range batch {
		if err := r.ctx.Err(); err != nil {
			errs[i] = err
			continue
		}
		ns := r.now.UnixNano()
		res, err := insert.ExecContext(ctx, r.m.Subject, r.header, r.m.Data, r.size, ns, ns, r.queue, r.size)
		if err != nil {
			return fail(err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return fail(err)
		}
		if n == 0 {
			errs[i] = errQueueFull
			var exists bool
			if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM queues WHERE name = ?)`, r.queue).Scan(&exists); err != nil {
				return fail(err)
			}
			if !exists {
				errs[i] = errNoQueue
			}
		}
	}
	if err := tx.Commit(); err != nil {
		return fail(err)
	}
	return errs
}

func (s *sqlStore) lease(ctx context.Context, queue string, now, until time.Time) (leased, bool, error) {
	var l leased
	var header sql.NullString
	err := s.stmts[sqlLease].QueryRowContext(ctx, until.UnixNano(), queue, now.UnixNano()).
		Scan(&l.id, &l.msg.Subject, &header, &l.msg.Data, &l.deliveries)
	if errors.Is(err, sql.ErrNoRows) {
		return l, false, nil
	}
	if err != nil {
		return l, false, err
	}
	if l.msg.Header, err = decodeHeader(header); err != nil {
		return l, false, err
	}
	if len(l.msg.Data) == 0 {
		l.msg.Data = nil
	}
	return l, true, nil
}

func (s *sqlStore) ack(ctx context.Context, queue string, id int64) error {
	_, err := s.stmts[sqlAck].ExecContext(ctx, id, queue)
	return err
}

func (s *sqlStore) release(ctx context.Context, queue string, id int64, deliveries int, at time.Time) error {
	_, err := s.stmts[sqlRelease].ExecContext(ctx, at.UnixNano(), id, queue, deliveries)
	return err
}

func (s *sqlStore) bury(ctx context.Context, queue string, id int64, deliveries int, reason string, now time.Time) (buried bool, err error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return false, err
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	res, err := tx.ExecContext(ctx, `INSERT INTO dead_letters (queue, subject, header, data, attempts, reason, enqueued_at, died_at)
SELECT queue, subject, header, data, deliveries, ?, enqueued_at, ? FROM messages WHERE id = ? AND queue = ? AND deliveries = ?`,
		reason, now.UnixNano(), id, queue, deliveries)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, err
	}
	if n == 0 {
		return false, tx.Rollback()
	}
	if _, err = tx.ExecContext(ctx, `DELETE FROM messages WHERE id = ?`, id); err != nil {
		return false, err
	}
	return true, tx.Commit()
}

func (s *sqlStore) nextVisible(ctx context.Context, queue string) (time.Time, bool, error) {
	var ns int64
	err := s.stmts[sqlNextVisible].QueryRowContext(ctx, queue).Scan(&ns)
	if errors.Is(err, sql.ErrNoRows) {
		return time.Time{}, false, nil
	}
	if err != nil {
		return time.Time{}, false, err
	}
	return time.Unix(0, ns), true, nil
}

func (s *sqlStore) deadLetters(ctx context.Context, queue string) ([]DeadLetter, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT subject, header, data, attempts, reason, died_at
FROM dead_letters WHERE queue = ? ORDER BY id`, queue)
	if err != nil {
		return nil, err
	}
	defer func() { _ = rows.Close() }()
	var out []DeadLetter
	for rows.Next() {
		d := DeadLetter{Queue: queue}
		var header sql.NullString
		var died int64
		if err := rows.Scan(&d.Message.Subject, &header, &d.Message.Data, &d.Attempts, &d.Reason, &died); err != nil {
			return nil, err
		}
		if d.Message.Header, err = decodeHeader(header); err != nil {
			return nil, err
		}
		d.At = time.Unix(0, died)
		out = append(out, d)
	}
	return out, rows.Err()
}

func (s *sqlStore) ping(ctx context.Context) error {
	return s.db.PingContext(ctx)
}

// close stops the enqueue writer and closes the database. The caller
// guarantees that no store method is running.
func (s *sqlStore) close() error {
	close(s.quit)
	<-s.writerDone
	return s.db.Close()
}

func encodeHeader(h map[string]string) (any, error) {
	if len(h) == 0 {
		return nil, nil
	}
	b, err := json.Marshal(h)
	if err != nil {
		return nil, err
	}
	return string(b), nil
}

func decodeHeader(s sql.NullString) (map[string]string, error) {
	if !s.Valid || s.String == "" {
		return nil, nil
	}
	var h map[string]string
	if err := json.Unmarshal([]byte(s.String), &h); err != nil {
		return nil, fmt.Errorf("decoding header: %w", err)
	}
	return h, nil
}
