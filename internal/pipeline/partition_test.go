package pipeline

import (
	"strconv"
	"testing"
)

// fnv1a is FNV-1a 32 written out from its definition (offset basis
// 2166136261, prime 16777619), the oracle of Partition.
func fnv1a(s string) uint32 {
	h := uint32(2166136261)
	for i := 0; i < len(s); i++ {
		h ^= uint32(s[i])
		h *= 16777619
	}
	return h
}

func TestPartition(t *testing.T) {
	seen := make([]int, DefaultPartitions)
	for i := range 1000 {
		id := "tenant-" + strconv.Itoa(i)
		p := Partition(id, DefaultPartitions)
		if want := int(fnv1a(id) % DefaultPartitions); p != want {
			t.Fatalf("Partition(%q) = %d, want %d", id, p, want)
		}
		if Partition(id, DefaultPartitions) != p {
			t.Fatalf("Partition(%q) not stable", id)
		}
		seen[p]++
	}
	for p, n := range seen {
		if n == 0 {
			t.Errorf("partition %d got none of 1000 tenants", p)
		}
	}
	if Partition("x", 1) != 0 || Partition("x", 0) != 0 {
		t.Error("one partition or none must be partition 0")
	}
}
