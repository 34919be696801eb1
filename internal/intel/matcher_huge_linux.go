//go:build linux

package intel

import (
	"syscall"
	"unsafe"
)

// adviseHuge asks Linux to back the memory of s with transparent huge
// pages (madvise MADV_HUGEPAGE), for the matcher's large arrays that are
// read at random: with 4 KiB pages nearly every lookup in a table of
// hundreds of MiB also misses the TLB, and the page walk costs as much as
// the read. The advice only applies to pages not yet touched, so it is
// given right after the array is made. It is advice: an error (a kernel
// without transparent huge pages) changes nothing.
func adviseHuge[T any](s []T) {
	if len(s) == 0 {
		return
	}
	size := uintptr(len(s)) * unsafe.Sizeof(s[0])
	if size < hugeAdviceMin {
		return
	}
	p := uintptr(unsafe.Pointer(unsafe.SliceData(s))) // #nosec G103 -- the address of s's own memory, for madvise
	const page = 4096
	start := (p + page - 1) &^ (page - 1)
	if start >= p+size {
		return
	}
	b := unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(s))), size) // #nosec G103 -- a byte view of s for madvise; s outlives the call
	_ = syscall.Madvise(b[start-p:], syscall.MADV_HUGEPAGE)
}
