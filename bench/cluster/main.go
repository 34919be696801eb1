// Command cluster-bench measures sustained ingest through a Vigil cluster
// on this machine: for each size N it starts N ingest and N worker
// `vigil serve` processes on a fresh PostgreSQL database and a fresh set
// of JetStream streams, sends events to the ingest nodes' HTTP endpoint
// from several shippers at once, and times them from the first send
// until the last event is stored (and matched against the rules, when
// -rules names a directory). It prints events per second for each size
// and the ratio to one pair; it asserts nothing.
//
// It needs a PostgreSQL server (-pg, a URL whose user may create
// databases) and a NATS server with JetStream (-nats).
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx"

	"github.com/vigil-sec/vigil/internal/app"
	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/config"
	"github.com/vigil-sec/vigil/internal/store"
	"github.com/vigil-sec/vigil/internal/store/postgres"
	"github.com/vigil-sec/vigil/internal/tenant"
)

type options struct {
	pg, nats, vigil, rules string
	sizes                  []int
	events, batch, senders int
}

func main() {
	var o options
	var sizes string
	flag.StringVar(&o.pg, "pg", "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable", "PostgreSQL server URL (a database is created per size)")
	flag.StringVar(&o.nats, "nats", "nats://127.0.0.1:4222", "NATS server URL(s) with JetStream")
	flag.StringVar(&o.vigil, "vigil", "", "vigil binary (default: build ./cmd/vigil)")
	flag.StringVar(&o.rules, "rules", "", "Sigma rule directory the workers match events against (default: none)")
	flag.StringVar(&sizes, "sizes", "1,2,4", "cluster sizes: N ingest + N worker processes")
	flag.IntVar(&o.events, "events", 60_000, "events sent per size")
	flag.IntVar(&o.batch, "batch", 500, "events per HTTP request")
	flag.IntVar(&o.senders, "senders", 8, "concurrent shippers")
	flag.Parse()
	for f := range strings.SplitSeq(sizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			fmt.Fprintf(os.Stderr, "cluster-bench: bad size %q\n", f)
			os.Exit(2)
		}
		o.sizes = append(o.sizes, n)
	}
	if err := run(context.Background(), o); err != nil {
		fmt.Fprintln(os.Stderr, "cluster-bench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, o options) error {
	if o.events <= 0 || o.batch <= 0 || o.senders <= 0 {
		return errors.New("-events, -batch and -senders must be positive")
	}
	tmp, err := os.MkdirTemp("", "cluster-bench-")
	if err != nil {
		return err
	}
	defer func() { _ = os.RemoveAll(tmp) }()
	if o.vigil == "" {
		o.vigil = filepath.Join(tmp, "vigil")
		cmd := exec.Command("go", "build", "-o", o.vigil, "github.com/vigil-sec/vigil/cmd/vigil") // #nosec G204 -- a path in the bench's own temporary directory
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("go build: %w\n%s", err, out)
		}
	}
	fmt.Printf("cluster-bench: %d CPUs, %s/%s; %d events per size in HTTP batches of %d from %d shippers; rules: %q\n",
		runtime.NumCPU(), runtime.GOOS, runtime.GOARCH, o.events, o.batch, o.senders, o.rules)
	fmt.Printf("%-6s %-10s %12s %12s %10s\n", "size", "processes", "accepted/s", "stored/s", "vs size 1")
	var base float64
	for _, n := range o.sizes {
		acc, st, err := measure(ctx, o, tmp, n)
		if err != nil {
			return fmt.Errorf("size %d: %w", n, err)
		}
		if base == 0 {
			base = st
		}
		fmt.Printf("%-6d %-10s %12.0f %12.0f %9.2fx\n", n, fmt.Sprintf("%d+%d", n, n), acc, st, st/base)
	}
	return nil
}

// measure runs one cluster size and returns the rate at which the ingest
// nodes accepted events and the rate at which they were stored.
func measure(ctx context.Context, o options, tmp string, n int) (accepted, stored float64, err error) {
	suffix := make([]byte, 4)
	_, _ = rand.Read(suffix)
	name := "vigil_cluster_bench_" + hex.EncodeToString(suffix)
	dbURL, err := postgres.CreateDatabase(ctx, o.pg, name)
	if err != nil {
		return 0, 0, err
	}
	defer func() { _ = postgres.DropDatabase(context.Background(), o.pg, name) }()
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	cfg := config.Default()
	cfg.DataDir = filepath.Join(tmp, name)
	cfg.DB, cfg.Bus = dbURL, o.nats
	cfg.BusPrefix = "CB" + hex.EncodeToString(suffix)
	cfg.SecretKey = base64.StdEncoding.EncodeToString(key)
	tenantID, token, err := setup(ctx, cfg)
	if err != nil {
		return 0, 0, err
	}
	env := []string{"VIGIL_DB=" + cfg.DB, "VIGIL_BUS=" + cfg.Bus, "VIGIL_BUS_PREFIX=" + cfg.BusPrefix,
		"VIGIL_SECRET_KEY=" + cfg.SecretKey, "VIGIL_LOG_LEVEL=error", "VIGIL_RULES_DIR=" + o.rules}
	var procs []*exec.Cmd
	defer func() {
		for _, p := range procs {
			_ = p.Process.Signal(syscall.SIGTERM)
			_ = p.Wait()
		}
	}()
	var addrs []string
	for i := range 2 * n {
		e := append([]string(nil), env...)
		e = append(e, "VIGIL_DATA_DIR="+filepath.Join(cfg.DataDir, strconv.Itoa(i)))
		if i < n {
			addr, err := freeAddr()
			if err != nil {
				return 0, 0, err
			}
			addrs = append(addrs, addr)
			e = append(e, "VIGIL_ROLE=ingest", "VIGIL_ADDR="+addr)
		} else {
			e = append(e, "VIGIL_ROLE=worker")
		}
		cmd := exec.Command(o.vigil, "serve") // #nosec G204 -- the binary the bench built or was given
		cmd.Env = append(os.Environ(), e...)
		cmd.Stderr = os.Stderr
		cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
		if err := cmd.Start(); err != nil {
			return 0, 0, err
		}
		procs = append(procs, cmd)
	}
	for _, a := range addrs {
		if err := waitHealthy(ctx, a); err != nil {
			return 0, 0, err
		}
	}
	db, err := sql.Open("pgx", dbURL)
	if err != nil {
		return 0, 0, err
	}
	defer func() { _ = db.Close() }()

	// Shippers take batches off one counter and post them round robin.
	batches := (o.events + o.batch - 1) / o.batch
	var next atomic.Int64
	var wg sync.WaitGroup
	errc := make(chan error, o.senders)
	client := &http.Client{Timeout: time.Minute, Transport: &http.Transport{MaxIdleConnsPerHost: o.senders}}
	start := time.Now()
	for s := range o.senders {
		wg.Go(func() {
			for {
				b := int(next.Add(1)) - 1
				if b >= batches {
					return
				}
				body := batchBody(s, b, min(o.batch, o.events-b*o.batch))
				if err := post(ctx, client, addrs[b%len(addrs)], token, body); err != nil {
					errc <- err
					return
				}
			}
		})
	}
	wg.Wait()
	acceptedIn := time.Since(start)
	close(errc)
	if err := <-errc; err != nil {
		return 0, 0, err
	}
	for {
		var c int
		if err := db.QueryRowContext(ctx, `SELECT count(*) FROM events WHERE tenant_id = $1`, tenantID).Scan(&c); err != nil {
			return 0, 0, err
		}
		if c >= o.events {
			break
		}
		if time.Since(start) > 30*time.Minute {
			return 0, 0, fmt.Errorf("only %d of %d events stored after 30 minutes", c, o.events)
		}
		time.Sleep(100 * time.Millisecond)
	}
	storedIn := time.Since(start)
	return float64(o.events) / acceptedIn.Seconds(), float64(o.events) / storedIn.Seconds(), nil
}

// batchBody is one request's NDJSON: sshd-like events with the shipper's
// own event IDs, as a Vigil agent sends them.
func batchBody(sender, batch, n int) []byte {
	var b bytes.Buffer
	now := time.Now().UTC().Format(time.RFC3339Nano)
	for i := range n {
		line, _ := json.Marshal(map[string]any{
			"@timestamp": now,
			"message":    fmt.Sprintf("Failed password for user%d from 198.51.100.%d port %d ssh2", i%50, i%250, 40000+i),
			"host":       map[string]any{"name": fmt.Sprintf("web-%02d", i%20)},
			"agent":      map[string]any{"type": "vigil", "id": fmt.Sprintf("bench-%d", sender)},
			"event":      map[string]any{"id": fmt.Sprintf("%d-%d", batch, i)},
		})
		b.Write(line)
		b.WriteByte('\n')
	}
	return b.Bytes()
}

func post(ctx context.Context, c *http.Client, addr, token string, body []byte) error {
	for attempt := 0; ; attempt++ {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+addr+"/ingest/events", bytes.NewReader(body))
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := c.Do(req)
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusAccepted {
				return nil
			}
			err = fmt.Errorf("ingest answered %d", resp.StatusCode)
		}
		if attempt == 5 {
			return err
		}
		time.Sleep(time.Second)
	}
}

// setup creates the tenant and a shipper's token.
func setup(ctx context.Context, cfg config.Config) (tenantID, token string, err error) {
	a, err := app.Open(ctx, cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		return "", "", err
	}
	defer func() { _ = a.Close() }()
	u := store.User{Username: "bench-admin", GlobalRole: auth.RoleAdmin}
	if err := a.Store.Users().Create(ctx, &u); err != nil {
		return "", "", err
	}
	p, err := a.Auth.UserPrincipal(ctx, u)
	if err != nil {
		return "", "", err
	}
	actx := auth.WithPrincipal(ctx, p)
	t, err := a.Tenants.CreateTenant(actx, tenant.TenantInput{Slug: "bench", Name: "Bench"})
	if err != nil {
		return "", "", err
	}
	token, _, err = a.Tenants.CreateToken(actx, tenant.TokenInput{Name: "shipper", TenantID: t.ID, Role: auth.RoleOperator})
	return t.ID, token, err
}

func waitHealthy(ctx context.Context, addr string) error {
	for range 600 {
		resp, err := http.Get("http://" + addr + "/healthz")
		if err == nil {
			_ = resp.Body.Close()
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	return fmt.Errorf("ingest node %s did not come up", addr)
}

func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer func() { _ = ln.Close() }()
	return ln.Addr().String(), nil
}
