package baseline

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// needService skips (or fails in CI) when nothing listens on addr.
func needService(t *testing.T, addr string) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is required in CI: %v", addr, err)
		}
		t.Skipf("nothing listens on %s", addr)
	}
	_ = c.Close()
}

// oracle runs a client program and returns its output, or skips.
func oracle(t *testing.T, name string, args ...string) string {
	t.Helper()
	if _, err := exec.LookPath(name); err != nil {
		t.Skipf("no %s to compare with", name)
	}
	out, err := exec.CommandContext(t.Context(), name, args...).Output()
	if err != nil {
		t.Fatalf("%s %q: %v", name, args, err)
	}
	return strings.TrimRight(string(out), "\n")
}

func evalRule(t *testing.T, target Target, rule string) Result {
	t.Helper()
	doc := fmt.Sprintf("policy:\n  id: db\nchecks:\n  - id: 1\n    title: t\n    condition: all\n    rules:\n      - %q\n", rule)
	p, err := Parse([]byte(doc), "db.yml")
	if err != nil || len(p.Problems) > 0 {
		t.Fatalf("%v %v", err, p.Problems)
	}
	rep, err := Evaluate(t.Context(), p, Options{Target: target})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s => %s %q", rule, rep.Checks[0].Result, rep.Checks[0].Evidence)
	return rep.Checks[0].Result
}

func TestPostgresRules(t *testing.T) {
	needService(t, "127.0.0.1:5432")
	db, err := OpenPostgres(t.Context(), "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	method := oracle(t, "psql", "-h", "127.0.0.1", "-U", "postgres", "-At", "-c", "SHOW password_encryption")
	lines, err := db.Query(t.Context(), RuleSQL, "SHOW password_encryption", 10)
	if err != nil || len(lines) != 1 || lines[0] != method {
		t.Fatalf("SHOW password_encryption = %q, %v; psql says %q", lines, err, method)
	}
	// Several columns, NULLs, and the tab-joined line psql -At -F TAB prints.
	const q = "SELECT name, setting, NULL::text FROM pg_settings WHERE name IN ('ssl','log_connections') ORDER BY name"
	want := oracle(t, "psql", "-h", "127.0.0.1", "-U", "postgres", "-At", "-F", "\t", "-c", q)
	lines, err = db.Query(t.Context(), RuleSQL, q, 10)
	if err != nil || strings.Join(lines, "\n") != want {
		t.Errorf("rows %q, %v; psql says %q", lines, err, want)
	}
	if got := evalRule(t, db, `sql:SHOW password_encryption -> r:^`+regexpQuote(method)+`$`); got != Passed {
		t.Errorf("matching rule: %s", got)
	}
	if got := evalRule(t, db, `sql:SHOW password_encryption -> r:^no-such-method$`); got != Failed {
		t.Errorf("non-matching rule: %s", got)
	}
	// Statements run read-only: a write is an error, so undecided.
	if got := evalRule(t, db, `sql:CREATE TABLE vigil_readonly_probe (a int)`); got != NotApplicable {
		t.Errorf("write statement: %s", got)
	}
	if got := evalRule(t, db, `f:/etc/passwd`); got != NotApplicable {
		t.Errorf("file rule on a database target: %s", got)
	}
}

func regexpQuote(s string) string {
	var b strings.Builder
	for _, c := range s {
		if strings.ContainsRune(`\.+*?()|[]{}^$-`, c) {
			b.WriteByte('\\')
		}
		b.WriteRune(c)
	}
	return b.String()
}

func TestMariaDBRules(t *testing.T) {
	needService(t, "127.0.0.1:3306")
	db, err := OpenMySQL(t.Context(), "mysql://root@127.0.0.1:3306/")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	const q = "SHOW VARIABLES WHERE Variable_name IN ('local_infile', 'have_ssl', 'skip_networking')"
	want := oracle(t, "mysql", "-h", "127.0.0.1", "-uroot", "-N", "-B", "-e", q)
	lines, err := db.Query(t.Context(), RuleSQL, q, 10)
	if err != nil || strings.Join(lines, "\n") != want {
		t.Fatalf("rows %q, %v; mysql says %q", lines, err, want)
	}
	li := oracle(t, "mysql", "-h", "127.0.0.1", "-uroot", "-N", "-B", "-e", "SELECT @@local_infile")
	wantLocalInfileOff := Failed
	if li == "0" {
		wantLocalInfileOff = Passed
	}
	if got := evalRule(t, db, `sql:SHOW VARIABLES LIKE 'local_infile' -> r:\tOFF$`); got != wantLocalInfileOff {
		t.Errorf("local_infile rule: %s, mysql says @@local_infile=%s", got, li)
	}
	if got := evalRule(t, db, `redis:maxmemory`); got != NotApplicable {
		t.Errorf("redis rule on MariaDB: %s", got)
	}
}

// startRedis runs redis-server on a free loopback port with a password
// and a setting the test then reads back.
func startRedis(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("redis-server is required in CI")
		}
		t.Skip("no redis-server")
	}
	dir := t.TempDir()
	port := freePort(t)
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, "--port", fmt.Sprint(port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", dir, "--requirepass", "s3cret",
		"--maxmemory-policy", "allkeys-lru", "--protected-mode", "yes")
	cmd.Stdout, cmd.Stderr = nil, nil
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); _ = cmd.Wait() })
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	for i := 0; ; i++ {
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			_ = c.Close()
			return addr
		}
		if i == 100 {
			t.Fatal("redis-server did not listen")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestRedisRules(t *testing.T) {
	addr := startRedis(t)
	if _, err := DialRedis(t.Context(), RedisOptions{Addr: addr, Password: "wrong"}); err == nil {
		t.Error("wrong password accepted")
	}
	noAuth, err := DialRedis(t.Context(), RedisOptions{Addr: addr})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := noAuth.ConfigGet(t.Context(), "maxmemory-policy"); err == nil || !strings.Contains(err.Error(), "NOAUTH") {
		t.Errorf("unauthenticated CONFIG GET: %v", err)
	}
	_ = noAuth.Close()
	r, err := DialRedis(t.Context(), RedisOptions{Addr: addr, Password: "s3cret"})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	pairs, err := r.ConfigGet(t.Context(), "maxmemory-policy")
	if err != nil || len(pairs) != 1 || pairs[0] != [2]string{"maxmemory-policy", "allkeys-lru"} {
		t.Fatalf("CONFIG GET maxmemory-policy = %q, %v", pairs, err)
	}
	for rule, want := range map[string]Result{
		`redis:protected-mode -> r:^protected-mode yes$`:  Passed,
		`redis:requirepass -> r:^requirepass \(set\)$`:    Passed,
		`redis:maxmemory-policy -> r:noeviction$`:         Failed,
		`not redis:no-such-parameter-at-all`:              Passed,
		`redis:bind -> r:127\.0\.0\.1`:                    Passed,
		`sql:SELECT 1`:                                    NotApplicable,
		`redis:maxmemory-policy -> r:^maxmemory-policy .`: Passed,
	} {
		if got := evalRule(t, r, rule); got != want {
			t.Errorf("%s: %s, want %s", rule, got, want)
		}
	}
}

func TestReadRESP(t *testing.T) {
	tests := []struct {
		in   string
		want string // fmt %v of the value, or "error"
	}{
		{"+OK\r\n", "OK"},
		{":42\r\n", "42"},
		{"$5\r\nhello\r\n", "hello"},
		{"$-1\r\n", "<nil>"},
		{"*2\r\n$3\r\nfoo\r\n:1\r\n", "[foo 1]"},
		{"-ERR nope\r\n", "error"},
		{"$5\r\nhelloXX", "error"},
		{"$999999999\r\n", "error"},
		{"*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n:1\r\n", "error"},
		{"?x\r\n", "error"},
		{"+no crlf\n", "error"},
		{"+" + strings.Repeat("a", respMaxLine+10) + "\r\n", "error"},
	}
	for _, tt := range tests {
		v, err := readRESP(bufio.NewReader(strings.NewReader(tt.in)), 0)
		got := fmt.Sprint(v)
		if err != nil {
			got = "error"
		}
		if got != tt.want {
			t.Errorf("readRESP(%q) = %s (%v), want %s", truncate(tt.in, 40), got, err, tt.want)
		}
	}
}

func FuzzReadRESP(f *testing.F) {
	for _, s := range []string{"+OK\r\n", "*2\r\n$3\r\nfoo\r\n$3\r\nbar\r\n", "-ERR x\r\n", ":1\r\n", "$-1\r\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _ = readRESP(bufio.NewReader(strings.NewReader(string(data))), 0)
	})
}

// TestDatabasePolicyFile evaluates the example database policy shipped
// with the tests against Redis.
func TestDatabasePolicyFile(t *testing.T) {
	addr := startRedis(t)
	r, err := DialRedis(t.Context(), RedisOptions{Addr: addr, Password: "s3cret"})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	data, err := os.ReadFile(filepath.Join("testdata", "redis_example.yml"))
	if err != nil {
		t.Fatal(err)
	}
	p, err := Parse(data, "redis_example.yml")
	if err != nil || len(p.Problems) > 0 {
		t.Fatalf("%v %v", err, p.Problems)
	}
	rep, err := Evaluate(t.Context(), p, Options{Target: r})
	if err != nil {
		t.Fatal(err)
	}
	// The server above runs with a password, protected mode and
	// allkeys-lru; the example policy expects noeviction.
	want := map[string]Result{"r1": Passed, "r2": Passed, "r3": Failed, "r4": Manual}
	for _, c := range rep.Checks {
		if c.Result != want[c.ID] {
			t.Errorf("%s: %s, want %s (%q)", c.ID, c.Result, want[c.ID], c.Evidence)
		}
	}
}
