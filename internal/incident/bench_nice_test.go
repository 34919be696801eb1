package incident_test

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

// reniceForTiming gives the timed part of a benchmark the nice value in
// VIGIL_BENCH_NICE (e.g. -20, which needs root), when it is set: every
// thread of this process, and the PostgreSQL backends connected to the
// benchmark's database when db is one, so that the other work of a
// shared machine disturbs the figures less. Seeding runs at the usual
// priority. It logs what it reniced.
func reniceForTiming(b *testing.B, db *sql.DB, postgres bool) {
	v := os.Getenv("VIGIL_BENCH_NICE")
	if v == "" {
		return
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		b.Fatalf("VIGIL_BENCH_NICE=%q is not a number", v)
	}
	threads := 0
	tasks, err := os.ReadDir("/proc/self/task") // Linux: one entry a thread
	if err != nil {
		b.Logf("renice: %v", err)
		return
	}
	for _, t := range tasks {
		if tid, err := strconv.Atoi(t.Name()); err == nil && syscall.Setpriority(syscall.PRIO_PROCESS, tid, n) == nil {
			threads++
		}
	}
	var backends []int
	if postgres && db != nil {
		for _, pid := range backendPIDs(b, db) {
			if err := syscall.Setpriority(syscall.PRIO_PROCESS, pid, n); err != nil {
				b.Logf("renice backend %d: %v", pid, err)
				continue
			}
			backends = append(backends, pid)
		}
	}
	b.Logf("nice %d: %d threads, PostgreSQL backends %v", n, threads, backends)
}

// backendPIDs lists the PostgreSQL backends connected to db's database.
func backendPIDs(b *testing.B, db *sql.DB) []int {
	rows, err := db.QueryContext(context.Background(), `SELECT pid FROM pg_stat_activity WHERE datname = current_database()`)
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = rows.Close() }()
	var pids []int
	for rows.Next() {
		var pid int
		if err := rows.Scan(&pid); err != nil {
			b.Fatal(err)
		}
		pids = append(pids, pid)
	}
	if err := rows.Err(); err != nil {
		b.Fatal(err)
	}
	return pids
}

// pidsCPU sums the CPU time of single-threaded processes (a local
// PostgreSQL's backends) from /proc/PID/schedstat, in nanoseconds where
// /proc/PID/stat counts ticks; those it cannot read count nothing.
func pidsCPU(pids []int) time.Duration {
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
