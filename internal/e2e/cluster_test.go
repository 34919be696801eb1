package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/vigil-sec/vigil/internal/app"
	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/config"
	"github.com/vigil-sec/vigil/internal/store"
	"github.com/vigil-sec/vigil/internal/store/postgres"
	"github.com/vigil-sec/vigil/internal/tenant"
	"github.com/vigil-sec/vigil/internal/testenv"
)

// The cluster failure test runs Vigil as it is deployed when one machine
// is not enough: separate `vigil serve` processes (two ingest, two
// worker) on a private PostgreSQL instance and a private three-node NATS
// JetStream cluster, all on loopback. Shippers send over syslog TCP and
// HTTP at once while one ingest process and one worker process are
// killed with SIGKILL, the NATS node holding the events stream is
// restarted and PostgreSQL is restarted. Every event whose send was
// acknowledged must be stored exactly once, and every alert the test's
// Sigma rule should raise must be raised once.
//
// Acknowledged means what a shipper sees:
//   - HTTP: a 202 answer. Each event carries the shipper's own event.id
//     (as a Vigil agent's do), so a resend after a lost answer lands on
//     the same event IDs.
//   - syslog TCP, which has no acknowledgement of its own: the shipper
//     sends a batch on a fresh connection, half-closes it and waits for
//     the node to close its side, which the node does only after the
//     batch is in its disk spool. A close caused by the process being
//     killed is no acknowledgement, so a batch whose node was killed while
//     it was open counts as unacknowledged and is sent again.
//
// Shippers resend every unacknowledged batch (to the other ingest node
// first) until it is acknowledged.

const (
	clusterSenders   = 2  // per protocol
	clusterBatches   = 40 // per sender
	clusterBatchSize = 25
	clusterAlertEach = 50 // every 50th event of a sender matches the rule
	clusterRuleID    = "6c0f3e52-9a1d-4b7e-8f20-3d5e7a9b1c04"
)

const clusterRule = `title: Cluster test marker
id: ` + clusterRuleID + `
status: test
level: high
logsource: {}
detection:
  keywords: ['cluster-alert']
  condition: keywords
`

func TestClusterFailover(t *testing.T) {
	if testing.Short() {
		t.Skip("cluster failure test skipped in -short mode")
	}
	if os.Geteuid() != 0 {
		testenv.Missing(t, "root (the test runs its private PostgreSQL as the postgres user)")
	}
	natsBin := lookTool(t, "nats-server", "/usr/sbin/nats-server")
	pgBin := postgresBin(t)
	if _, err := exec.LookPath("runuser"); err != nil {
		testenv.Missing(t, "runuser")
	}
	cluster := startNATSCluster(t, natsBin)
	pg := startPostgres(t, pgBin)
	bin := buildVigil(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	suffix := make([]byte, 4)
	_, _ = rand.Read(suffix)
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	dbURL, err := postgres.CreateDatabase(ctx, pg.url("postgres"), "vigil")
	if err != nil {
		t.Fatal(err)
	}
	cfg.DB = dbURL
	cfg.Bus = cluster.urls()
	cfg.BusPrefix = "CT" + hex.EncodeToString(suffix)
	cfg.SecretKey = base64.StdEncoding.EncodeToString(key)

	// The tenant, and the token its shippers use, made on the shared
	// database before the nodes start.
	tenantID, token := clusterTenant(t, ctx, cfg)

	rules := filepath.Join(t.TempDir(), "rules")
	if err := os.MkdirAll(rules, 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(rules, "marker.yml"), []byte(clusterRule), 0o600); err != nil {
		t.Fatal(err)
	}
	logs := t.TempDir()
	env := []string{"VIGIL_DB=" + cfg.DB, "VIGIL_BUS=" + cfg.Bus, "VIGIL_BUS_PREFIX=" + cfg.BusPrefix,
		"VIGIL_SECRET_KEY=" + cfg.SecretKey, "VIGIL_RULES_DIR=" + rules, "VIGIL_LOG_LEVEL=warn",
		"VIGIL_SHUTDOWN_TIMEOUT=5s"}
	var ingest, workers []*vigilProc
	for i := range 2 {
		p := &vigilProc{name: fmt.Sprintf("ingest-%d", i), bin: bin, logDir: logs,
			httpAddr: freeAddr(t), syslogAddr: freeAddr(t)}
		p.env = append(cloneEnv(env), "VIGIL_ROLE=ingest", "VIGIL_DATA_DIR="+t.TempDir(), "VIGIL_ADDR="+p.httpAddr,
			"VIGIL_SYSLOG_TCP="+p.syslogAddr, "VIGIL_SYSLOG_TENANT=acme", "VIGIL_NODE_ID="+p.name)
		p.start(t)
		ingest = append(ingest, p)
	}
	for i := range 2 {
		p := &vigilProc{name: fmt.Sprintf("worker-%d", i), bin: bin, logDir: logs}
		p.env = append(cloneEnv(env), "VIGIL_ROLE=worker", "VIGIL_DATA_DIR="+t.TempDir(), "VIGIL_NODE_ID="+p.name)
		p.start(t)
		workers = append(workers, p)
	}
	t.Cleanup(func() {
		for _, p := range append(ingest, workers...) {
			p.stop()
		}
		if t.Failed() {
			for _, p := range append(ingest, workers...) {
				p.dumpLog(t)
			}
		}
	})
	for _, p := range ingest {
		p.waitReady(t, ctx)
	}

	// Senders and the faults, driven by the number of acknowledged events.
	total := 2 * clusterSenders * clusterBatches * clusterBatchSize
	var acked atomic.Int64
	var wg sync.WaitGroup
	var sendErr error
	var errOnce sync.Once
	fail := func(err error) { errOnce.Do(func() { sendErr = err; cancel() }) }
	var mu sync.Mutex
	want := map[string]bool{} // message -> acknowledged
	alertHosts := map[string]bool{}
	record := func(batch []clusterEvent) {
		mu.Lock()
		for _, e := range batch {
			want[e.message] = true
			if e.alert {
				alertHosts[e.host] = true
			}
		}
		mu.Unlock()
		acked.Add(int64(len(batch)))
	}
	for k := range clusterSenders {
		wg.Go(func() {
			if err := sendHTTP(ctx, k, ingest, token, record); err != nil {
				fail(fmt.Errorf("http sender %d: %w", k, err))
			}
		})
		wg.Go(func() {
			if err := sendSyslog(ctx, k, ingest, record); err != nil {
				fail(fmt.Errorf("syslog sender %d: %w", k, err))
			}
		})
	}
	faults := []struct {
		at   float64
		what string
		do   func() error
	}{
		{0.15, "SIGKILL ingest-0, restart it 2 s later", func() error {
			ingest[0].kill()
			time.Sleep(2 * time.Second)
			return ingest[0].restart(t, ctx)
		}},
		{0.30, "SIGKILL worker-0", func() error { workers[0].kill(); return nil }},
		{0.45, "restart the NATS node holding the events stream", func() error {
			return cluster.restartStreamLeader(t, ctx, cfg.BusPrefix+app.EventsQueue)
		}},
		{0.60, "restart PostgreSQL", pg.restart},
	}
	wg.Go(func() {
		for _, f := range faults {
			for float64(acked.Load()) < f.at*float64(total) {
				if ctx.Err() != nil {
					return
				}
				time.Sleep(20 * time.Millisecond)
			}
			t.Logf("after %d acknowledged events: %s", acked.Load(), f.what)
			if err := f.do(); err != nil {
				fail(fmt.Errorf("%s: %w", f.what, err))
				return
			}
			t.Logf("done: %s", f.what)
		}
	})
	wg.Wait()
	if sendErr != nil {
		t.Fatal(sendErr)
	}
	if len(want) != total {
		t.Fatalf("%d distinct events acknowledged, %d sent", len(want), total)
	}

	// Wait until the queue is drained (redeliveries of the killed worker's
	// batches included) and every event is stored.
	db, err := sql.Open("pgx", dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = db.Close() }()
	t.Logf("all %d events acknowledged; waiting for the queue to drain", total)
	waitDrained(t, ctx, cluster, cfg.BusPrefix+app.EventsQueue)
	var stored map[string]int
	for {
		stored = storedMessages(t, ctx, db, tenantID)
		if len(stored) >= total || ctx.Err() != nil {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	var missing, twice, unknown []string
	for m := range want {
		switch stored[m] {
		case 0:
			missing = append(missing, m)
		case 1:
		default:
			twice = append(twice, fmt.Sprintf("%s (%d)", m, stored[m]))
		}
	}
	for m := range stored {
		if !want[m] {
			unknown = append(unknown, m)
		}
	}
	if len(missing)+len(twice)+len(unknown) > 0 {
		t.Fatalf("of %d acknowledged events: %d missing %v; %d stored more than once %v; %d stored but never sent %v",
			total, len(missing), head(missing), len(twice), head(twice), len(unknown), head(unknown))
	}

	// One alert per matching event's host, counting that one event.
	rows, err := db.QueryContext(ctx, `SELECT host, count FROM alerts WHERE tenant_id = $1 AND rule_id = $2`, tenantID, clusterRuleID)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = rows.Close() }()
	alerts := map[string]int{}
	for rows.Next() {
		var host string
		var n int
		if err := rows.Scan(&host, &n); err != nil {
			t.Fatal(err)
		}
		if _, dup := alerts[host]; dup {
			t.Errorf("alert for %s raised twice", host)
		}
		alerts[host] = n
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	for h := range alertHosts {
		if n, ok := alerts[h]; !ok || n != 1 {
			t.Errorf("alert for %s: raised %v, count %d (want once, count 1)", h, ok, n)
		}
	}
	if len(alerts) != len(alertHosts) {
		t.Errorf("%d alerts for %d matching events", len(alerts), len(alertHosts))
	}
	t.Logf("%d events acknowledged and stored once; %d alerts raised once", total, len(alertHosts))
}

func cloneEnv(s []string) []string { return append([]string(nil), s...) }

// createAdmin adds a platform administrator straight to the store.
func createAdmin(t *testing.T, ctx context.Context, a *app.App) store.User {
	t.Helper()
	u := store.User{Username: "cluster-admin", GlobalRole: auth.RoleAdmin}
	if err := a.Store.Users().Create(ctx, &u); err != nil {
		t.Fatal(err)
	}
	return u
}

func head(s []string) []string { return s[:min(len(s), 5)] }

// clusterEvent is one event a test shipper sends.
type clusterEvent struct {
	message, host string
	alert         bool
	seq           int
}

// clusterEvents are a sender's events, in batches; the message names
// the protocol, sender and sequence number, so the store can be counted
// per event.
func clusterEvents(proto string, sender int) [][]clusterEvent {
	batches := make([][]clusterEvent, clusterBatches)
	for b := range batches {
		for i := range clusterBatchSize {
			seq := b*clusterBatchSize + i
			e := clusterEvent{seq: seq, message: fmt.Sprintf("cluster-test %s sender=%d seq=%d", proto, sender, seq),
				host: fmt.Sprintf("%s-%d", proto, sender)}
			if seq%clusterAlertEach == 7 {
				e.alert = true
				e.message += " cluster-alert"
				e.host = fmt.Sprintf("alert-%s-%d-%d", proto, sender, seq)
			}
			batches[b] = append(batches[b], e)
		}
	}
	return batches
}

// sendHTTP posts the sender's batches as NDJSON, each until a node
// answers 202, switching nodes after a failure.
func sendHTTP(ctx context.Context, sender int, nodes []*vigilProc, token string, ack func([]clusterEvent)) error {
	client := &http.Client{Timeout: 10 * time.Second}
	node := sender
	for _, batch := range clusterEvents("http", sender) {
		var body bytes.Buffer
		// The event keeps its time with its ID on every resend, as a
		// shipper's spool does: the store's dedupe key holds both.
		now := time.Now().UTC().Format(time.RFC3339Nano)
		for _, e := range batch {
			line, _ := json.Marshal(map[string]any{"@timestamp": now, "message": e.message, "host": map[string]any{"name": e.host},
				"agent": map[string]any{"type": "vigil", "id": fmt.Sprintf("http-sender-%d", sender)},
				"event": map[string]any{"id": strconv.Itoa(e.seq)}})
			body.Write(line)
			body.WriteByte('\n')
		}
		for {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			req, _ := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+nodes[node%len(nodes)].httpAddr+"/ingest/events",
				bytes.NewReader(body.Bytes()))
			req.Header.Set("Authorization", "Bearer "+token)
			resp, err := client.Do(req)
			if err == nil {
				_, _ = io.Copy(io.Discard, resp.Body)
				_ = resp.Body.Close()
				if resp.StatusCode == http.StatusAccepted {
					ack(batch)
					break
				}
				if resp.StatusCode < 500 {
					return fmt.Errorf("ingest answered %d", resp.StatusCode)
				}
			}
			node++
			time.Sleep(200 * time.Millisecond)
		}
		time.Sleep(300 * time.Millisecond)
	}
	return nil
}

// sendSyslog sends the sender's batches as RFC 5424 lines, one TCP
// connection per batch, each until acknowledged (see the top of the file).
func sendSyslog(ctx context.Context, sender int, nodes []*vigilProc, ack func([]clusterEvent)) error {
	node := sender
	for _, batch := range clusterEvents("syslog", sender) {
		var body bytes.Buffer
		now := time.Now().UTC()
		for _, e := range batch {
			fmt.Fprintf(&body, "<134>1 %s %s clustertest - - - %s\n", now.Format(time.RFC3339Nano), e.host, e.message)
		}
		for {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if nodes[node%len(nodes)].sendSyslogBatch(body.Bytes()) {
				ack(batch)
				break
			}
			node++
			time.Sleep(200 * time.Millisecond)
		}
		time.Sleep(300 * time.Millisecond)
	}
	return nil
}

// vigilProc is one `vigil serve` process, restartable with the same
// settings.
type vigilProc struct {
	name, bin, logDir    string
	env                  []string
	httpAddr, syslogAddr string

	// gen changes before the process is killed, so a syslog batch whose
	// connection spanned the kill does not count as acknowledged.
	gen  atomic.Int64
	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
}

func (p *vigilProc) start(t *testing.T) {
	t.Helper()
	if err := p.spawn(); err != nil {
		t.Fatal(err)
	}
}

func (p *vigilProc) spawn() error {
	f, err := os.OpenFile(filepath.Join(p.logDir, p.name+".log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	cmd := exec.Command(p.bin, "serve") // #nosec G204 -- the binary the test built
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "VIGIL_") {
			env = append(env, kv)
		}
	}
	cmd.Env = append(env, p.env...)
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		_ = f.Close()
		return fmt.Errorf("start %s: %w", p.name, err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); _ = f.Close(); close(done) }()
	p.mu.Lock()
	p.cmd, p.done = cmd, done
	p.mu.Unlock()
	return nil
}

// kill sends SIGKILL and waits for the process to be gone.
func (p *vigilProc) kill() {
	p.gen.Add(1)
	p.mu.Lock()
	cmd, done := p.cmd, p.done
	p.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Kill()
	<-done
}

// stop ends the process with SIGTERM (SIGKILL after 10 s).
func (p *vigilProc) stop() {
	p.mu.Lock()
	cmd, done := p.cmd, p.done
	p.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = cmd.Process.Kill()
		<-done
	}
}

func (p *vigilProc) restart(t *testing.T, ctx context.Context) error {
	if err := p.spawn(); err != nil {
		return err
	}
	p.waitReady(t, ctx)
	return nil
}

// waitReady waits for an ingest node's HTTP and syslog listeners.
func (p *vigilProc) waitReady(t *testing.T, ctx context.Context) {
	t.Helper()
	for ctx.Err() == nil {
		resp, err := http.Get("http://" + p.httpAddr + "/healthz")
		if err == nil {
			_ = resp.Body.Close()
			if c, err := net.DialTimeout("tcp", p.syslogAddr, time.Second); err == nil {
				_ = c.Close()
				return
			}
		}
		p.mu.Lock()
		done := p.done
		p.mu.Unlock()
		select {
		case <-done:
			t.Errorf("%s exited", p.name)
			return
		case <-time.After(100 * time.Millisecond):
		}
	}
	t.Errorf("%s not ready", p.name)
}

// sendSyslogBatch sends lines on a new connection, half-closes it and
// reports whether the node closed its side while it was not killed.
func (p *vigilProc) sendSyslogBatch(lines []byte) bool {
	gen := p.gen.Load()
	c, err := net.DialTimeout("tcp", p.syslogAddr, 2*time.Second)
	if err != nil {
		return false
	}
	defer func() { _ = c.Close() }()
	_ = c.SetDeadline(time.Now().Add(15 * time.Second))
	if _, err := c.Write(lines); err != nil {
		return false
	}
	if err := c.(*net.TCPConn).CloseWrite(); err != nil {
		return false
	}
	if _, err := io.Copy(io.Discard, c); err != nil {
		return false
	}
	return p.gen.Load() == gen
}

func (p *vigilProc) dumpLog(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(p.logDir, p.name+".log"))
	if err != nil {
		return
	}
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	t.Logf("--- %s (end of log)\n%s", p.name, b)
}

// clusterTenant creates tenant acme and a shipper's token for it.
func clusterTenant(t *testing.T, ctx context.Context, cfg config.Config) (tenantID, token string) {
	t.Helper()
	cfg.Role = config.RoleAll
	a, err := app.Open(ctx, cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = a.Close() }()
	admin, err := a.Auth.UserPrincipal(ctx, createAdmin(t, ctx, a))
	if err != nil {
		t.Fatal(err)
	}
	actx := auth.WithPrincipal(ctx, admin)
	acme, err := a.Tenants.CreateTenant(actx, tenant.TenantInput{Slug: "acme", Name: "Acme"})
	if err != nil {
		t.Fatal(err)
	}
	token, _, err = a.Tenants.CreateToken(actx, tenant.TokenInput{Name: "shipper", TenantID: acme.ID, Role: auth.RoleOperator})
	if err != nil {
		t.Fatal(err)
	}
	return acme.ID, token
}

// storedMessages counts the stored events of the test per message.
func storedMessages(t *testing.T, ctx context.Context, db *sql.DB, tenantID string) map[string]int {
	t.Helper()
	out := map[string]int{}
	rows, err := db.QueryContext(ctx, `SELECT message FROM events WHERE tenant_id = $1 AND message LIKE 'cluster-test %'`, tenantID)
	if err != nil {
		t.Logf("count events: %v", err)
		return out
	}
	defer func() { _ = rows.Close() }()
	for rows.Next() {
		var m string
		if err := rows.Scan(&m); err != nil {
			t.Fatal(err)
		}
		out[m]++
	}
	if err := rows.Err(); err != nil {
		t.Logf("count events: %v", err)
	}
	return out
}

// waitDrained waits until the events stream holds no message and its
// consumer none unacknowledged.
func waitDrained(t *testing.T, ctx context.Context, c *natsCluster, stream string) {
	t.Helper()
	nc, err := nats.Connect(c.urls())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	for ctx.Err() == nil {
		s, err := js.Stream(ctx, stream)
		if err == nil {
			if info, err := s.Info(ctx); err == nil && info.State.Msgs == 0 {
				return
			}
		}
		time.Sleep(250 * time.Millisecond)
	}
	t.Fatalf("events stream %s not drained", stream)
}

// lookTool finds an external program on PATH or at its usual place.
func lookTool(t *testing.T, name, usual string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	if _, err := os.Stat(usual); err == nil {
		return usual
	}
	testenv.Missing(t, name)
	return ""
}

// postgresBin is the directory of initdb and pg_ctl.
func postgresBin(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("pg_ctl"); err == nil {
		return filepath.Dir(p)
	}
	m, _ := filepath.Glob("/usr/lib/postgresql/*/bin/pg_ctl")
	if len(m) == 0 {
		testenv.Missing(t, "PostgreSQL server programs (initdb, pg_ctl)")
	}
	return filepath.Dir(m[len(m)-1])
}

// buildVigil builds the vigil binary once for the test.
func buildVigil(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "vigil")
	cmd := exec.Command("go", "build", "-o", bin, "github.com/vigil-sec/vigil/cmd/vigil")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = ln.Close() }()
	return ln.Addr().String()
}

func freePort(t *testing.T) int {
	_, port, _ := net.SplitHostPort(freeAddr(t))
	n, _ := strconv.Atoi(port)
	return n
}

// pgServer is a private PostgreSQL instance run as the postgres user in
// a temporary directory, so restarting it disturbs no other test.
type pgServer struct {
	bin, data, log, opts string
	port                 int
}

func startPostgres(t *testing.T, bin string) *pgServer {
	t.Helper()
	u, err := user.Lookup("postgres")
	if err != nil {
		testenv.Missing(t, "the postgres OS user")
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	dir, err := os.MkdirTemp("", "vigil-cluster-pg-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	// #nosec G302 -- the postgres user must reach its directory below
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	home := filepath.Join(dir, "pg")
	if err := os.Mkdir(home, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(home, uid, gid); err != nil {
		t.Fatal(err)
	}
	pg := &pgServer{bin: bin, data: filepath.Join(home, "data"), port: freePort(t)}
	if out, err := pg.run("initdb", "-D", pg.data, "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync"); err != nil {
		t.Fatalf("initdb: %v\n%s", err, out)
	}
	pg.log = filepath.Join(home, "log")
	pg.opts = fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c max_connections=200", pg.port, home)
	if err := pg.start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = pg.run("pg_ctl", "-D", pg.data, "-m", "immediate", "-w", "stop") })
	return pg
}

func (pg *pgServer) run(prog string, args ...string) ([]byte, error) {
	// #nosec G204 -- PostgreSQL's own programs with the test's arguments
	cmd := exec.Command("runuser", append([]string{"-u", "postgres", "--", filepath.Join(pg.bin, prog)}, args...)...)
	return cmd.CombinedOutput()
}

func (pg *pgServer) url(db string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", pg.port, db)
}

// start starts the server with its log in a file, so that pg_ctl's
// output ends when pg_ctl does.
func (pg *pgServer) start() error {
	if out, err := pg.run("pg_ctl", "-D", pg.data, "-l", pg.log, "-o", pg.opts, "-w", "start"); err != nil {
		return fmt.Errorf("pg_ctl start: %w\n%s", err, out)
	}
	return nil
}

// restart stops PostgreSQL (fast shutdown: open connections are cut) and
// starts it again.
func (pg *pgServer) restart() error {
	if out, err := pg.run("pg_ctl", "-D", pg.data, "-m", "fast", "-w", "stop"); err != nil {
		return fmt.Errorf("pg_ctl stop: %w\n%s", err, out)
	}
	time.Sleep(time.Second)
	return pg.start()
}

// natsCluster is a private three-node NATS cluster with JetStream.
type natsCluster struct {
	bin   string
	nodes []*natsNode
}

type natsNode struct {
	name       string
	port       int
	args       []string
	mu         sync.Mutex
	cmd        *exec.Cmd
	done       chan struct{}
	logPath    string
	clusterURL string
}

func startNATSCluster(t *testing.T, bin string) *natsCluster {
	t.Helper()
	dir := t.TempDir()
	c := &natsCluster{bin: bin}
	var routes []string
	for i := range 3 {
		n := &natsNode{name: fmt.Sprintf("n%d", i), port: freePort(t)}
		n.clusterURL = fmt.Sprintf("nats://127.0.0.1:%d", freePort(t))
		routes = append(routes, n.clusterURL)
		c.nodes = append(c.nodes, n)
	}
	for _, n := range c.nodes {
		n.logPath = filepath.Join(dir, n.name+".log")
		n.args = []string{"-n", n.name, "-a", "127.0.0.1", "-p", strconv.Itoa(n.port), "-js", "-sd", filepath.Join(dir, n.name),
			"--cluster_name", "vigil-test", "--cluster", n.clusterURL, "--routes", strings.Join(routes, ","), "-l", n.logPath}
		if err := n.start(bin); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		for _, n := range c.nodes {
			n.stop()
		}
	})
	// Wait for the JetStream meta leader.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	nc, err := nats.Connect(c.urls(), nats.MaxReconnects(-1))
	for err != nil && ctx.Err() == nil {
		time.Sleep(100 * time.Millisecond)
		nc, err = nats.Connect(c.urls(), nats.MaxReconnects(-1))
	}
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	for {
		actx, acancel := context.WithTimeout(ctx, 2*time.Second)
		_, err = js.AccountInfo(actx)
		acancel()
		if err == nil {
			return c
		}
		if ctx.Err() != nil {
			for _, n := range c.nodes {
				b, _ := os.ReadFile(n.logPath)
				t.Logf("--- NATS %s\n%s", n.name, b[max(0, len(b)-3000):])
			}
			t.Fatalf("NATS cluster without JetStream: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func (c *natsCluster) urls() string {
	var u []string
	for _, n := range c.nodes {
		u = append(u, fmt.Sprintf("nats://127.0.0.1:%d", n.port))
	}
	return strings.Join(u, ",")
}

// restartStreamLeader stops the node whose JetStream holds the stream
// (SIGTERM) and starts it again on the same store.
func (c *natsCluster) restartStreamLeader(t *testing.T, ctx context.Context, stream string) error {
	nc, err := nats.Connect(c.urls())
	if err != nil {
		return err
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return err
	}
	s, err := js.Stream(ctx, stream)
	if err != nil {
		return err
	}
	leader := ""
	if ci := s.CachedInfo().Cluster; ci != nil {
		leader = ci.Leader
	}
	for _, n := range c.nodes {
		if n.name == leader {
			t.Logf("stream %s is on NATS node %s", stream, leader)
			n.stop()
			time.Sleep(time.Second)
			return n.start(c.bin)
		}
	}
	return fmt.Errorf("no node leads stream %s (leader %q)", stream, leader)
}

func (n *natsNode) start(bin string) error {
	cmd := exec.Command(bin, n.args...) // #nosec G204 -- nats-server with the test's arguments
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("nats-server %s: %w", n.name, err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	n.mu.Lock()
	n.cmd, n.done = cmd, done
	n.mu.Unlock()
	// Wait until it accepts clients.
	for range 100 {
		if c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", n.port), time.Second); err == nil {
			_ = c.Close()
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return errors.New("nats-server " + n.name + " does not listen")
}

func (n *natsNode) stop() {
	n.mu.Lock()
	cmd, done := n.cmd, n.done
	n.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = cmd.Process.Kill()
		<-done
	}
}
