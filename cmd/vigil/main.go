// Command vigil is the Vigil security operations platform: server, workers
// and offline engines in one binary. See 'vigil --help'.
package main

import (
	"context"
	"os"
	// Time zones for quiet hours and shift schedules on hosts without a
	// zoneinfo database.
	_ "time/tzdata"

	"github.com/vigil-sec/vigil/internal/cli"
)

func main() {
	os.Exit(cli.Execute(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}
