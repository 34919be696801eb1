package cli

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
	_ "modernc.org/sqlite"
)

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"vigil": func() {
			os.Exit(Execute(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
		},
	})
}

// TestScripts runs the CLI scenarios in testdata/script.
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir: "testdata/script",
		// $CORPUS is the shared corpus of real samples.
		Setup: func(env *testscript.Env) error {
			c, err := filepath.Abs(filepath.Join("..", "..", "..", "shared", "corpus"))
			env.Setenv("CORPUS", c)
			return err
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			// sqlexec FILE STATEMENT runs one SQL statement on a SQLite
			// file, standing in for someone editing the database by hand.
			"sqlexec": func(ts *testscript.TestScript, neg bool, args []string) {
				if len(args) != 2 {
					ts.Fatalf("usage: sqlexec FILE STATEMENT")
				}
				db, err := sql.Open("sqlite", ts.MkAbs(args[0]))
				ts.Check(err)
				defer func() { _ = db.Close() }()
				res, err := db.Exec(args[1])
				if neg {
					if err == nil {
						ts.Fatalf("statement succeeded unexpectedly")
					}
					return
				}
				ts.Check(err)
				n, err := res.RowsAffected()
				ts.Check(err)
				if n == 0 {
					ts.Fatalf("statement changed no row")
				}
			},
		},
	})
}
