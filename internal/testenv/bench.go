package testenv

import (
	"context"
	"database/sql"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// ReniceForTiming gives the timed part of a benchmark the nice value in
// VIGIL_BENCH_NICE (e.g. -20, which needs root), when it is set: every
// thread of this process and the processes pids (a local PostgreSQL's
// backends serving the benchmark), so that the other work of a shared
// machine disturbs the figures less. Seeding runs at the usual priority.
// It logs what it reniced.
func ReniceForTiming(tb testing.TB, pids []int) {
	tb.Helper()
	v := os.Getenv("VIGIL_BENCH_NICE")
	if v == "" {
		return
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		tb.Fatalf("VIGIL_BENCH_NICE=%q is not a number", v)
	}
	threads := 0
	tasks, err := os.ReadDir("/proc/self/task") // Linux: one entry a thread
	if err != nil {
		tb.Logf("renice: %v", err)
		return
	}
	for _, t := range tasks {
		if tid, err := strconv.Atoi(t.Name()); err == nil && syscall.Setpriority(syscall.PRIO_PROCESS, tid, n) == nil {
			threads++
		}
	}
	var reniced []int
	for _, pid := range pids {
		if err := syscall.Setpriority(syscall.PRIO_PROCESS, pid, n); err != nil {
			tb.Logf("renice backend %d: %v", pid, err)
			continue
		}
		reniced = append(reniced, pid)
	}
	tb.Logf("nice %d: %d threads, PostgreSQL backends %v", n, threads, reniced)
}

// PostgresBackendPIDs lists the PostgreSQL backends connected to db's
// database.
func PostgresBackendPIDs(tb testing.TB, db *sql.DB) []int {
	tb.Helper()
	rows, err := db.QueryContext(context.Background(), `SELECT pid FROM pg_stat_activity WHERE datname = current_database()`)
	if err != nil {
		tb.Fatal(err)
	}
	defer func() { _ = rows.Close() }()
	var pids []int
	for rows.Next() {
		var pid int
		if err := rows.Scan(&pid); err != nil {
			tb.Fatal(err)
		}
		pids = append(pids, pid)
	}
	if err := rows.Err(); err != nil {
		tb.Fatal(err)
	}
	return pids
}

// PidsCPU sums the CPU time of single-threaded processes (a local
// PostgreSQL's backends) from /proc/PID/schedstat, in nanoseconds where
// /proc/PID/stat counts ticks; those it cannot read count nothing.
func PidsCPU(pids []int) time.Duration {
	var sum time.Duration
	for _, pid := range pids {
		b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/schedstat")
		if err != nil {
			continue
		}
		if f := strings.Fields(string(b)); len(f) > 0 {
			if ns, err := strconv.ParseInt(f[0], 10, 64); err == nil {
				sum += time.Duration(ns)
			}
		}
	}
	return sum
}
