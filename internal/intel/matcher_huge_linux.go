//go:build linux

package intel

import (
	"syscall"
	"unsafe"
)

// hugeMem maps the matcher's large arrays outside the Go heap: the entry
// records and the exact tables, hundreds of MiB of plain numbers that the
// garbage collector need not see. Two reasons:
//
//   - The collector lets the heap grow to twice what was live after the
//     last collection before it collects again. While 10 million
//     indicators are added, the garbage of the build (the arrays a table
//     outgrows, the strings of normalising) would pile up to as much as
//     the matcher itself. Mapped arrays are not part of the heap, so the
//     heap the collector paces on is only the values and the metadata, and
//     an outgrown array is unmapped at once.
//   - The mapping is asked for transparent huge pages (madvise
//     MADV_HUGEPAGE): with 4 KiB pages nearly every lookup in a table of
//     hundreds of MiB read at random also misses the TLB, and the page
//     walk costs as much as the read. It is advice: a kernel without
//     transparent huge pages changes nothing.
//
// Only arrays of types without pointers are mapped, and only the matcher
// reads them: a hit hands out strings and slices of the Go heap only. The
// matcher's cleanup unmaps what is left when the matcher is unreachable;
// AppendMatch keeps the matcher reachable while it reads the arrays.
// If mapping fails, the array is made on the heap as usual.
type hugeMem struct {
	maps map[uintptr][]byte // by address of the first element
}

func newHugeMem() *hugeMem { return &hugeMem{maps: map[uintptr][]byte{}} }

// free unmaps every array left.
func (h *hugeMem) free() {
	for p, b := range h.maps {
		_ = syscall.Munmap(b)
		delete(h.maps, p)
	}
}

// makeHuge is make([]T, n) for a large array read at random; T must
// hold no pointers.
func makeHuge[T any](h *hugeMem, n int) []T {
	var zero T
	size := uintptr(n) * unsafe.Sizeof(zero)
	if h == nil || n == 0 || size < hugeAdviceMin {
		return make([]T, n)
	}
	// A huge page backs only a 2 MiB-aligned 2 MiB of the mapping: map
	// 2 MiB more and start the array at the first boundary.
	b, err := syscall.Mmap(-1, 0, int(size+hugePage), syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_PRIVATE|syscall.MAP_ANONYMOUS) // #nosec G115 -- the size of an array that make would accept
	if err != nil {
		return make([]T, n)
	}
	_ = syscall.Madvise(b, syscall.MADV_HUGEPAGE)
	base := uintptr(unsafe.Pointer(unsafe.SliceData(b))) // #nosec G103 -- the address of the mapping, to align the array in it
	off := (hugePage - base%hugePage) % hugePage
	p := unsafe.Pointer(&b[off]) // #nosec G103 -- the mapping holds n values of T, which has no pointers, from off on
	h.maps[uintptr(p)] = b
	return unsafe.Slice((*T)(p), n) // #nosec G103 -- n values of T fit in the mapping from p on
}

const hugePage = 2 << 20

// freeHuge unmaps s if makeHuge mapped it; s must not be used after.
func freeHuge[T any](h *hugeMem, s []T) {
	if h == nil || cap(s) == 0 {
		return
	}
	p := uintptr(unsafe.Pointer(unsafe.SliceData(s))) // #nosec G103 -- the address is a key only
	if b, ok := h.maps[p]; ok {
		delete(h.maps, p)
		_ = syscall.Munmap(b)
	}
}

// hugeMapped is the number of arrays mapped, for tests.
func hugeMapped(h *hugeMem) int { return len(h.maps) }
