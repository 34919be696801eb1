package main

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"os"
	"strconv"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver
)

// serverCPU measures the CPU time of the PostgreSQL server processes that
// serve the benchmark's database, read from /proc (the server runs on the
// same machine). On a loaded machine the import's wall time says little;
// the CPU time of the client and of its server backends does.
type serverCPU struct {
	db *sql.DB // a connection of its own to the benchmark's database
	// base is each backend's CPU time at the start of a phase.
	base map[int]time.Duration
}

// newServerCPU connects to dbURL; a nil serverCPU measures nothing.
func newServerCPU(ctx context.Context, dbURL string) (*serverCPU, error) {
	db, err := sql.Open("pgx", dbURL)
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	if err := db.PingContext(ctx); err != nil {
		_ = db.Close()
		return nil, err
	}
	return &serverCPU{db: db}, nil
}

// sample returns the CPU time of every other backend on the database.
func (s *serverCPU) sample(ctx context.Context) (map[int]time.Duration, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()`)
	if err != nil {
		return nil, err
	}
	defer func() { _ = rows.Close() }()
	out := map[int]time.Duration{}
	for rows.Next() {
		var pid int
		if err := rows.Scan(&pid); err != nil {
			return nil, err
		}
		if d, ok := procCPU(pid); ok {
			out[pid] = d
		}
	}
	return out, rows.Err()
}

// start records the backends' CPU times at the start of a phase.
func (s *serverCPU) start() {
	if s == nil {
		return
	}
	b, err := s.sample(context.Background())
	if err != nil {
		fmt.Fprintln(os.Stderr, "server CPU:", err)
	}
	s.base = b
}

// since is the backends' CPU time since start: backends that ended in
// between are not counted (the pool keeps its idle connections for
// minutes, so an import's are still there).
func (s *serverCPU) since() time.Duration {
	if s == nil {
		return 0
	}
	now, err := s.sample(context.Background())
	if err != nil {
		fmt.Fprintln(os.Stderr, "server CPU:", err)
		return 0
	}
	var d time.Duration
	for pid, t := range now {
		d += t - s.base[pid]
	}
	return d
}

func (s *serverCPU) close() error {
	if s == nil {
		return nil
	}
	return s.db.Close()
}

// procCPU is the user plus system time of process pid, from
// /proc/PID/stat, in clock ticks of 1/100 s (Linux's USER_HZ).
func procCPU(pid int) (time.Duration, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, false
	}
	// The command name, in parentheses, may hold spaces: the fields
	// counted from 3 start after its closing parenthesis.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, false
	}
	f := bytes.Fields(b[i+1:])
	if len(f) < 13 {
		return 0, false
	}
	ut, err1 := strconv.ParseInt(string(f[11]), 10, 64)
	st, err2 := strconv.ParseInt(string(f[12]), 10, 64)
	if err1 != nil || err2 != nil {
		return 0, false
	}
	return time.Duration(ut+st) * (time.Second / 100), true
}
