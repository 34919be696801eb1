//go:build !linux

package main

// resetPeakRSS is not available on this platform.
func resetPeakRSS() {}

// peakRSS is not measured on this platform.
func peakRSS() int64 { return 0 }
