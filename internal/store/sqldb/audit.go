package sqldb

import (
	"context"
	"errors"
	"fmt"

	"github.com/vigil-sec/vigil/internal/store"
)

// audit implements store.AuditStore. It has no method that updates or
// deletes an entry: the chain is append-only through the store.
type audit struct{ s *Store }

// walkBatch is how many entries Walk reads per query.
const walkBatch = 256

const auditCols = "seq, occurred_at, actor_id, actor_name, tenant_id, action, object, detail, ip, prev_hash, hash"

func scanAudit(r rowScanner) (store.AuditEntry, error) {
	var e store.AuditEntry
	err := r.Scan(&e.Seq, timeDest{&e.Time}, &e.ActorID, &e.ActorName, &e.TenantID, &e.Action, &e.Object,
		&e.Detail, &e.IP, &e.PrevHash, &e.Hash)
	return e, err
}

// Append assigns e.Seq and e.PrevHash from the chain head, sets e.Hash to
// chain(e) and writes the entry. The head row is updated first in the
// transaction, which takes its row lock on PostgreSQL (and the database
// write lock on SQLite), so appends from every connection and node are
// serialised and Seq stays gapless: a failed append rolls its increment
// back. A zero e.Time is set to now; e.Time is normalised before chain
// sees it, so the hash covers exactly what is stored.
func (x audit) Append(ctx context.Context, e *store.AuditEntry, chain store.ChainFunc) error {
	s := x.s
	if chain == nil {
		return fmt.Errorf("append audit entry: %w: nil chain function", store.ErrInvalid)
	}
	e.Time = norm(e.Time)
	if e.Time.IsZero() {
		e.Time = s.stamp()
	}
	err := s.inTx(ctx, func(c conn) error {
		var seq int64
		var prev string
		if err := c.queryRow(ctx, `UPDATE audit_head SET seq = seq + 1 WHERE id = 1 RETURNING seq, hash`).
			Scan(&seq, &prev); err != nil {
			if isNoRows(err) {
				return errors.New("audit chain head row is missing")
			}
			return err
		}
		e.Seq, e.PrevHash = seq, prev
		e.Hash = chain(e)
		if _, err := c.exec(ctx, `INSERT INTO audit_log (`+auditCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			e.Seq, s.t(e.Time), e.ActorID, e.ActorName, e.TenantID, e.Action, e.Object, e.Detail, e.IP,
			e.PrevHash, e.Hash); err != nil {
			return err
		}
		_, err := c.exec(ctx, `UPDATE audit_head SET hash = ? WHERE id = 1`, e.Hash)
		return err
	})
	if err != nil {
		e.Seq, e.PrevHash, e.Hash = 0, "", ""
		return s.wrap("append audit entry", err)
	}
	return nil
}

// List returns one page of entries matching f, newest first. TenantID ""
// matches every tenant; Actor matches the actor's ID or name; Action is an
// exact match; Since is inclusive and Until exclusive.
func (x audit) List(ctx context.Context, f store.AuditFilter) ([]store.AuditEntry, error) {
	s := x.s
	var w where
	if f.TenantID != "" {
		w.add("tenant_id = ?", f.TenantID)
	}
	if f.Actor != "" {
		w.add("(actor_id = ? OR actor_name = ?)", f.Actor, f.Actor)
	}
	if f.Action != "" {
		w.add("action = ?", f.Action)
	}
	if !f.Since.IsZero() {
		w.add("occurred_at >= ?", s.t(f.Since))
	}
	if !f.Until.IsZero() {
		w.add("occurred_at < ?", s.t(f.Until))
	}
	limit, offset := PageBounds(f.Page)
	es, err := collect(ctx, s.conn(), scanAudit,
		`SELECT `+auditCols+` FROM audit_log`+w.String()+` ORDER BY seq DESC LIMIT ? OFFSET ?`,
		append(w.args, limit, offset)...)
	return es, s.wrap("list audit entries", err)
}

// Walk calls fn for every entry with Seq >= fromSeq in Seq order. It reads
// the chain in batches and calls fn with no query open, so fn may use the
// store and memory stays bounded. An error from fn stops the walk and is
// returned as is.
func (x audit) Walk(ctx context.Context, fromSeq int64, fn func(store.AuditEntry) error) error {
	s := x.s
	next := fromSeq
	for {
		batch, err := collect(ctx, s.conn(), scanAudit,
			`SELECT `+auditCols+` FROM audit_log WHERE seq >= ? ORDER BY seq LIMIT ?`, next, walkBatch)
		if err != nil {
			return s.wrap("walk audit entries", err)
		}
		for _, e := range batch {
			if err := fn(e); err != nil {
				return err
			}
		}
		if len(batch) < walkBatch {
			return nil
		}
		next = batch[len(batch)-1].Seq + 1
	}
}

// Head returns the chain head: the last Seq assigned and its Hash.
func (x audit) Head(ctx context.Context) (int64, string, error) {
	var seq int64
	var hash string
	err := x.s.conn().queryRow(ctx, `SELECT seq, hash FROM audit_head WHERE id = 1`).Scan(&seq, &hash)
	return seq, hash, x.s.wrap("audit head", err)
}
