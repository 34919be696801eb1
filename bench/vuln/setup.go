package main

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// runSetup runs the statements of the -setup file, one a line (blank
// lines and lines starting with -- are skipped), on the benchmark's fresh
// database before anything is imported: a scratch database, so dropping
// an index or disabling a trigger there measures what it costs.
func runSetup(ctx context.Context, c config, dir string, srv *serverCPU) error {
	data, err := os.ReadFile(c.setup) // #nosec G304 -- an operator-chosen file
	if err != nil {
		return err
	}
	var db *sql.DB
	if c.driver == "postgres" {
		db = srv.db
	} else {
		if db, err = sql.Open("sqlite", filepath.Join(dir, "vigil.db")); err != nil {
			return err
		}
		defer func() { _ = db.Close() }()
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "--") {
			continue
		}
		if _, err := db.ExecContext(ctx, line); err != nil {
			return fmt.Errorf("setup: %s: %w", line, err)
		}
		fmt.Println("setup:", line)
	}
	return sc.Err()
}
