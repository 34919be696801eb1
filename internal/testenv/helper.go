package testenv

import (
	"bufio"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// StartHelper starts cmd (usually the test binary re-run as a helper
// process, for example inside a network namespace) and waits until it
// prints "ready" on standard output. When the test ends its standard input
// is closed, which tells the helper to stop, and the process is waited for.
func StartHelper(t testing.TB, cmd *exec.Cmd) {
	t.Helper()
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = stdin.Close()
		_ = cmd.Wait()
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || strings.TrimSpace(line) != "ready" {
		t.Fatalf("helper %s: %q %v", cmd.Path, line, err)
	}
}
