//go:build unix

package discovery

import "syscall"

// openFileLimit is the process's limit on open files (the soft limit,
// which the Go runtime raises to the hard one at start).
func openFileLimit() int {
	var r syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &r); err != nil {
		return 1024
	}
	return int(min(r.Cur, 1<<20)) // #nosec G115 -- bounded above
}
