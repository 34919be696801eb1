package store

import (
	"context"
	"time"
)

// PartitionLeaser shares a fixed number of numbered partitions (of the
// events queue) among the worker nodes sharing the store, each held by at
// most one node at a time under a lease that its holder renews. Callers
// type-assert the Store.
type PartitionLeaser interface {
	// BalancePartitions is one round of a worker node's lease keeping,
	// run every few seconds: it records that node is alive until now+ttl,
	// renews the leases node holds to now+ttl, gives up those beyond its
	// fair share (ceil(total / live nodes), the highest numbers first)
	// and takes partitions nobody holds, or whose holder's lease ran out,
	// up to that share. It returns the partitions node holds afterwards,
	// in ascending order. total must be in 1..MaxPartitions; a node name
	// is at most 200 bytes.
	BalancePartitions(ctx context.Context, node string, total int, ttl time.Duration, now time.Time) ([]int, error)
	// ReleasePartitions gives up every partition node holds and forgets
	// the node, so that others take its share at once.
	ReleasePartitions(ctx context.Context, node string) error
}

// PartitionHandover is a PartitionLeaser whose rounds can leave the
// giving up of partitions to the caller, so that a node stops consuming
// a partition, and finishes the batches it has in flight, before another
// node may take it.
type PartitionHandover interface {
	PartitionLeaser
	// KeepPartitions is BalancePartitions except that the partitions
	// beyond node's fair share are not given up: they stay held (and
	// renewed) and are returned in surplus too, the highest numbers. The
	// caller gives each up with ReleasePartition once it stopped
	// consuming it.
	KeepPartitions(ctx context.Context, node string, total int, ttl time.Duration, now time.Time) (held, surplus []int, err error)
	// ReleasePartition gives partition n up if node holds it.
	ReleasePartition(ctx context.Context, node string, n int) error
}

// MaxPartitions bounds the partitions a PartitionLeaser shares out.
const MaxPartitions = 1024
