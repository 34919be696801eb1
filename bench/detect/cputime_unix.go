//go:build unix

package main

import (
	"syscall"
	"time"
)

// cpuTime is the user plus system CPU time the process has used, so a
// figure per CPU-second does not depend on how busy the other cores are.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
