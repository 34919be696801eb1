// Command vigil is the Vigil security operations platform: server, workers
// and offline engines in one binary. See 'vigil --help'.
package main

import (
	"context"
	"os"

	"github.com/vigil-sec/vigil/internal/cli"
)

func main() {
	os.Exit(cli.Execute(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}
