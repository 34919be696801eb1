package sqldb

import (
	"context"
	"errors"
	"strings"
)

// copier bulk-loads rows into a table of the transaction's connection.
type copier func(ctx context.Context, table string, cols []string, rows [][]any) error

// inCopyTx runs fn in a transaction like inTx. When the dialect can COPY
// (PostgreSQL), the transaction runs on a connection of its own and fn
// gets a copier that loads rows through that connection, inside the
// transaction; otherwise the copier is nil.
func (s *Store) inCopyTx(ctx context.Context, fn func(c conn, cp copier) error) error {
	if s.d.CopyFrom == nil {
		return s.inTx(ctx, func(c conn) error { return fn(c, nil) })
	}
	sc, err := s.db.Conn(ctx)
	if err != nil {
		return err
	}
	defer func() { _ = sc.Close() }()
	tx, err := sc.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	// Ended before the connection is closed, which waits for it, even
	// when fn panics (after a commit, a no-op).
	defer func() { _ = tx.Rollback() }()
	cp := func(ctx context.Context, table string, cols []string, rows [][]any) error {
		// The copy's error is returned past Raw: Raw would close the
		// connection on an error that says it is bad, which waits for
		// the open transaction to end, and so forever.
		var cerr error
		if err := sc.Raw(func(dc any) error {
			cerr = s.d.CopyFrom(ctx, dc, table, cols, rows)
			return nil
		}); err != nil {
			return err
		}
		return cerr
	}
	if err := fn(conn{q: tx, d: s.d}, cp); err != nil {
		return err
	}
	return tx.Commit()
}

// bulkCap is how many findings an import on a COPY-capable database
// queues before writing them (and their events): a few MiB. A test
// crosses it (TestImportPathsAgree in package postgres).
const bulkCap = 5000

// bulkLookup is how many fingerprints one lookup query of such an import
// passes, as one array parameter.
const bulkLookup = 10000

// stageTable holds, for the transaction of one import, the rows that
// update stored findings: they are copied into it and merged from it with
// the same ON CONFLICT clause the statement-batched import uses, so both
// leave the same rows.
const stageTable = "vuln_import_stage"

// bulkWriter writes an import's findings and timeline events by COPY.
// Findings new to the tenant are copied into vuln_findings; the others —
// stored findings seen again, and a fingerprint's later rows in the same
// import — are copied into a staging table and merged from it, one round
// per occurrence so that no merge sees a fingerprint twice and a
// fingerprint's rows apply in the order the import gave them. Events are
// copied after the findings they belong to.
type bulkWriter struct {
	cp copier
	c  conn
	// known are the fingerprints stored before the import.
	known map[string]bool
	// fresh are the queued first rows of fingerprints new to the tenant;
	// rounds[r] the queued rows that are a fingerprint's (r+1)th in the
	// queue, or its first when the fingerprint is stored.
	fresh  [][]any
	rounds [][][]any
	queued map[string]int // rows queued per fingerprint
	n      int            // rows queued
	events [][]any
	staged bool // the staging table exists
}

// lookup returns the stored findings among fps, bulkLookup a query.
func (b *bulkWriter) lookup(ctx context.Context, c conn, tenantID string, fps []string) (map[string]known, error) {
	out := make(map[string]known, len(fps))
	b.known = make(map[string]bool, len(fps))
	for lo := 0; lo < len(fps); lo += bulkLookup {
		chunk := fps[lo:min(lo+bulkLookup, len(fps))]
		rows, err := c.query(ctx, `SELECT id, fingerprint, state FROM vuln_findings WHERE tenant_id = ? AND fingerprint = ANY(?)`,
			tenantID, chunk)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var k known
			var fp string
			if err := rows.Scan(&k.id, &fp, &k.state); err != nil {
				_ = rows.Close()
				return nil, err
			}
			out[fp] = k
			b.known[fp] = true
		}
		if err := errors.Join(rows.Err(), rows.Close()); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// add queues the row of a finding with fingerprint fp.
func (b *bulkWriter) add(ctx context.Context, fp string, row []any) error {
	r := b.queued[fp]
	b.queued[fp] = r + 1
	if r == 0 && !b.known[fp] {
		b.fresh = append(b.fresh, row)
		// Any later row of fp updates it.
		b.known[fp] = true
	} else {
		for len(b.rounds) <= r {
			b.rounds = append(b.rounds, nil)
		}
		b.rounds[r] = append(b.rounds[r], row)
	}
	b.n++
	if b.n >= bulkCap {
		return b.flush(ctx)
	}
	return nil
}

// event queues a timeline event.
func (b *bulkWriter) event(ctx context.Context, row []any) error {
	b.events = append(b.events, row)
	if len(b.events) >= bulkCap {
		return b.flush(ctx)
	}
	return nil
}

// flush writes the queued findings, then the queued events.
func (b *bulkWriter) flush(ctx context.Context) error {
	cols := vulnCopyCols()
	if len(b.fresh) > 0 {
		if err := b.cp(ctx, "vuln_findings", cols, b.fresh); err != nil {
			return err
		}
	}
	for _, rows := range b.rounds {
		if len(rows) == 0 {
			continue
		}
		if err := b.merge(ctx, cols, rows); err != nil {
			return err
		}
	}
	if len(b.events) > 0 {
		if err := b.cp(ctx, "vuln_events", []string{"id", "tenant_id", "finding_id", "at", "actor_id", "kind", "from_state",
			"to_state", "note"}, b.events); err != nil {
			return err
		}
	}
	clear(b.fresh)
	clear(b.events)
	b.fresh, b.rounds, b.events, b.n = b.fresh[:0], b.rounds[:0], b.events[:0], 0
	clear(b.queued)
	return nil
}

// merge copies rows, of distinct fingerprints, into the staging table and
// merges them into vuln_findings.
func (b *bulkWriter) merge(ctx context.Context, cols []string, rows [][]any) error {
	list := strings.Join(cols, ", ")
	if !b.staged {
		if _, err := b.c.exec(ctx, `CREATE TEMP TABLE `+stageTable+` ON COMMIT DROP AS SELECT `+list+
			` FROM vuln_findings WITH NO DATA`); err != nil {
			return err
		}
		b.staged = true
	} else if _, err := b.c.exec(ctx, `TRUNCATE `+stageTable); err != nil {
		return err
	}
	if err := b.cp(ctx, stageTable, cols, rows); err != nil {
		return err
	}
	// The ORDER BY makes the merge's row order, and so its locking
	// order, the index's.
	_, err := b.c.exec(ctx, `INSERT INTO vuln_findings (`+list+`) SELECT `+list+` FROM `+stageTable+
		` ORDER BY tenant_id, fingerprint`+upsertConflict)
	return err
}

// vulnCopyCols are the columns of a finding's row in an import: vulnCols
// and the severity rank.
func vulnCopyCols() []string {
	f := strings.Split(vulnCols, ",")
	for i := range f {
		f[i] = strings.TrimSpace(f[i])
	}
	return append(f, "severity_rank")
}
