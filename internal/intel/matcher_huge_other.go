//go:build !linux

package intel

// hugeMem is the Linux matcher's mapped memory; elsewhere the large arrays
// are on the Go heap.
type hugeMem struct{}

func newHugeMem() *hugeMem { return nil }

func (h *hugeMem) free() {}

// makeHuge is make([]T, n).
func makeHuge[T any](_ *hugeMem, n int) []T { return make([]T, n) }

func freeHuge[T any](*hugeMem, []T) {}

func hugeMapped(*hugeMem) int { return 0 }
