//go:build !linux

package intel

// adviseHuge does nothing outside Linux.
func adviseHuge[T any](s []T) {}
