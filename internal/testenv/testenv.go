// Package testenv tells tests where the real PostgreSQL, NATS and Chromium
// are, and enforces the project rule: a test may skip for lack of one only
// when CI is unset; under CI=true a missing component fails the test.
package testenv

import (
	"net"
	"net/url"
	"os"
	"os/exec"
	"testing"
	"time"
)

// PostgresURL is the server used by tests (VIGIL_TEST_PG_URL, default the
// local trust-auth server).
func PostgresURL() string {
	if u := os.Getenv("VIGIL_TEST_PG_URL"); u != "" {
		return u
	}
	return "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
}

// NATSURL is the JetStream server used by tests (VIGIL_TEST_NATS_URL).
func NATSURL() string {
	if u := os.Getenv("VIGIL_TEST_NATS_URL"); u != "" {
		return u
	}
	return "nats://127.0.0.1:4222"
}

// InCI reports whether CI=true (or any non-empty CI value other than "false").
func InCI() bool {
	v := os.Getenv("CI")
	return v != "" && v != "false" && v != "0"
}

// Missing skips the test outside CI and fails it under CI.
func Missing(t testing.TB, what string) {
	t.Helper()
	if InCI() {
		t.Fatalf("%s is required under CI but is not available", what)
	}
	t.Skipf("%s not available (CI unset): skipping", what)
}

// RequirePostgres returns PostgresURL if its server answers a TCP connect.
func RequirePostgres(t testing.TB) string {
	t.Helper()
	u := PostgresURL()
	if !reachable(u, "5432") {
		Missing(t, "PostgreSQL at "+u)
	}
	return u
}

// RequireNATS returns NATSURL if its server answers a TCP connect.
func RequireNATS(t testing.TB) string {
	t.Helper()
	u := NATSURL()
	if !reachable(u, "4222") {
		Missing(t, "NATS at "+u)
	}
	return u
}

// RequireChromium returns the path of a Chromium binary (VIGIL_CHROMIUM or
// chromium on PATH).
func RequireChromium(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("VIGIL_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	Missing(t, "Chromium")
	return ""
}

func reachable(raw, defPort string) bool {
	u, err := url.Parse(raw)
	if err != nil || u.Hostname() == "" {
		return false
	}
	port := u.Port()
	if port == "" {
		port = defPort
	}
	c, err := net.DialTimeout("tcp", net.JoinHostPort(u.Hostname(), port), 2*time.Second)
	if err != nil {
		return false
	}
	_ = c.Close()
	return true
}

// RequireCorpus returns path, a file or directory of the shared corpus
// given relative to the test's package, after checking it is there: a
// missing corpus skips the test outside CI and fails it under CI.
func RequireCorpus(t testing.TB, path string) string {
	t.Helper()
	if _, err := os.Stat(path); err != nil {
		Missing(t, "the shared corpus at "+path)
	}
	return path
}
