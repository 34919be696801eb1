package sqldb

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/vigil-sec/vigil/internal/store"
)

var (
	_ store.PartitionLeaser   = (*Store)(nil)
	_ store.PartitionHandover = (*Store)(nil)
)

// maxLeaseNode bounds a node name in the lease tables.
const maxLeaseNode = 200

// BalancePartitions implements store.PartitionLeaser. One round runs in
// a transaction under a lock of its own (PostgreSQL: an advisory
// transaction lock; SQLite's transactions take the write lock), so the
// nodes' rounds see each other's outcome and never hand one partition to
// two nodes.
func (s *Store) BalancePartitions(ctx context.Context, node string, total int, ttl time.Duration, now time.Time) ([]int, error) {
	held, _, err := s.balancePartitions(ctx, node, total, ttl, now, false)
	return held, err
}

// KeepPartitions implements store.PartitionHandover.
func (s *Store) KeepPartitions(ctx context.Context, node string, total int, ttl time.Duration, now time.Time) (held, surplus []int, err error) {
	return s.balancePartitions(ctx, node, total, ttl, now, true)
}

// balancePartitions is one lease round; with keep the partitions beyond
// the share stay held and are returned in surplus.
func (s *Store) balancePartitions(ctx context.Context, node string, total int, ttl time.Duration, now time.Time, keep bool) ([]int, []int, error) {
	switch {
	case node == "" || len(node) > maxLeaseNode:
		return nil, nil, fmt.Errorf("balance partitions: %w: node name of %d bytes", store.ErrInvalid, len(node))
	case total < 1 || total > store.MaxPartitions:
		return nil, nil, fmt.Errorf("balance partitions: %w: %d partitions", store.ErrInvalid, total)
	case ttl <= 0:
		return nil, nil, fmt.Errorf("balance partitions: %w: lease of %s", store.ErrInvalid, ttl)
	}
	until := now.Add(ttl)
	var held, surplus []int
	err := s.inTx(ctx, func(c conn) error {
		held, surplus = held[:0], surplus[:0]
		if err := c.lock(ctx, "vigil.event_worker_leases"); err != nil {
			return err
		}
		if _, err := c.exec(ctx, `INSERT INTO event_workers (node, seen_until) VALUES (?, ?)
			ON CONFLICT (node) DO UPDATE SET seen_until = excluded.seen_until`, node, s.t(until)); err != nil {
			return err
		}
		if _, err := c.exec(ctx, `DELETE FROM event_workers WHERE seen_until < ?`, s.t(now)); err != nil {
			return err
		}
		var live int
		if err := c.queryRow(ctx, `SELECT COUNT(*) FROM event_workers`).Scan(&live); err != nil {
			return err
		}
		if _, err := c.exec(ctx, `DELETE FROM event_worker_leases WHERE n >= ?`, total); err != nil {
			return err
		}
		type row struct {
			n     int
			owner string
			until time.Time
		}
		rows, err := collect(ctx, c, func(r rowScanner) (row, error) {
			var x row
			return x, r.Scan(&x.n, &x.owner, timeDest{&x.until})
		}, `SELECT n, owner, lease_until FROM event_worker_leases ORDER BY n`)
		if err != nil {
			return err
		}
		have := make([]bool, total)
		var free []int
		for _, r := range rows {
			have[r.n] = true
			switch {
			case r.owner == node:
				held = append(held, r.n)
			case r.owner == "" || r.until.IsZero() || r.until.Before(now):
				free = append(free, r.n)
			}
		}
		for n, ok := range have {
			if !ok {
				if _, err := c.exec(ctx, `INSERT INTO event_worker_leases (n, owner) VALUES (?, '') ON CONFLICT (n) DO NOTHING`, n); err != nil {
					return err
				}
				free = append(free, n)
			}
		}
		slices.Sort(free)
		share := (total + max(live, 1) - 1) / max(live, 1)
		if keep && len(held) > share { // the caller hands the highest over
			surplus = append(surplus, held[share:]...)
		}
		for !keep && len(held) > share { // rebalance: hand the highest over
			n := held[len(held)-1]
			held = held[:len(held)-1]
			if _, err := c.exec(ctx, `UPDATE event_worker_leases SET owner = '', lease_until = NULL WHERE n = ?`, n); err != nil {
				return err
			}
		}
		for _, n := range free {
			if len(held) >= share {
				break
			}
			if _, err := c.exec(ctx, `UPDATE event_worker_leases SET owner = ? WHERE n = ?`, node, n); err != nil {
				return err
			}
			held = append(held, n)
		}
		_, err = c.exec(ctx, `UPDATE event_worker_leases SET lease_until = ? WHERE owner = ?`, s.t(until), node)
		return err
	})
	if err != nil {
		return nil, nil, s.wrap("balance partitions", err)
	}
	slices.Sort(held)
	return held, surplus, nil
}

// ReleasePartition implements store.PartitionHandover.
func (s *Store) ReleasePartition(ctx context.Context, node string, n int) error {
	err := s.inTx(ctx, func(c conn) error {
		if err := c.lock(ctx, "vigil.event_worker_leases"); err != nil {
			return err
		}
		_, err := c.exec(ctx, `UPDATE event_worker_leases SET owner = '', lease_until = NULL WHERE n = ? AND owner = ?`, n, node)
		return err
	})
	return s.wrap("release partition", err)
}

// ReleasePartitions implements store.PartitionLeaser.
func (s *Store) ReleasePartitions(ctx context.Context, node string) error {
	err := s.inTx(ctx, func(c conn) error {
		if err := c.lock(ctx, "vigil.event_worker_leases"); err != nil {
			return err
		}
		if _, err := c.exec(ctx, `UPDATE event_worker_leases SET owner = '', lease_until = NULL WHERE owner = ?`, node); err != nil {
			return err
		}
		_, err := c.exec(ctx, `DELETE FROM event_workers WHERE node = ?`, node)
		return err
	})
	return s.wrap("release partitions", err)
}
