package pipeline

import "hash/fnv"

// DefaultPartitions is how many partitions the events queue is split
// into by tenant when several worker nodes share it: each partition is
// consumed by one worker at a time, so one tenant's events, and with them
// its correlation state, stay on one worker. Changing it re-homes tenants
// and is done with the queue drained (docs/scaling.md).
const DefaultPartitions = 16

// Partition is the partition of a tenant's events among n: FNV-1a of the
// tenant ID modulo n, stable across nodes, releases and restarts. n <= 1
// puts every tenant in partition 0.
func Partition(tenantID string, n int) int {
	if n <= 1 {
		return 0
	}
	h := fnv.New32a()
	_, _ = h.Write([]byte(tenantID))
	return int(h.Sum32() % uint32(n)) // #nosec G115 -- n is a small positive partition count
}
