package baseline

import (
	"bufio"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// noHost is the Target half of a database target: a database has no files,
// directories, processes or commands, so every such rule is undecided.
type noHost struct{ what string }

func (n noHost) unsupported(op string) error {
	return fmt.Errorf("%s: a %s target has no %s: %w", op, n.what, op, errors.ErrUnsupported)
}

// ReadFile implements Target: a database has none.
func (n noHost) ReadFile(context.Context, string, int64) ([]byte, error) {
	return nil, n.unsupported("files")
}

// Stat implements Target: a database has none.
func (n noHost) Stat(context.Context, string) (FileInfo, error) {
	return FileInfo{}, n.unsupported("files")
}

// ReadDir implements Target: a database has none.
func (n noHost) ReadDir(context.Context, string, int) ([]DirEntry, error) {
	return nil, n.unsupported("directories")
}

// Processes implements Target: a database has none.
func (n noHost) Processes(context.Context) ([]Process, error) {
	return nil, n.unsupported("processes")
}

// Run implements Target: a database has none.
func (n noHost) Run(context.Context, []string, int64) (CommandResult, error) {
	return CommandResult{}, n.unsupported("commands")
}

// Bounds of database answers.
const (
	maxValueBytes  = 64 << 10
	dbQueryTimeout = 10 * time.Second
)

// SQLDatabase answers sql: rules against PostgreSQL or MariaDB/MySQL. Every
// statement runs in its own read-only transaction, which is rolled back.
// It is a Target (without files or commands) and a Querier.
type SQLDatabase struct {
	noHost
	db *sql.DB
}

var (
	_ Target  = (*SQLDatabase)(nil)
	_ Querier = (*SQLDatabase)(nil)
)

// OpenPostgres connects to PostgreSQL with a pgx connection string
// ("postgres://user@host:5432/db" or "host=... user=...").
func OpenPostgres(ctx context.Context, connString string) (*SQLDatabase, error) {
	cfg, err := pgx.ParseConfig(connString)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	return openSQL(ctx, "postgres", stdlib.OpenDB(*cfg))
}

// OpenMySQL connects to MariaDB or MySQL. dsn is either a URL
// "mysql://user:password@host:3306/db" or the driver's own DSN
// "user:password@tcp(host:3306)/db".
func OpenMySQL(ctx context.Context, dsn string) (*SQLDatabase, error) {
	var cfg *mysql.Config
	if strings.HasPrefix(dsn, "mysql://") || strings.HasPrefix(dsn, "mariadb://") {
		u, err := url.Parse(dsn)
		if err != nil {
			return nil, fmt.Errorf("mysql: %w", err)
		}
		cfg = mysql.NewConfig()
		cfg.Net, cfg.Addr = "tcp", u.Host
		if u.Port() == "" {
			cfg.Addr = net.JoinHostPort(u.Hostname(), "3306")
		}
		cfg.User = u.User.Username()
		cfg.Passwd, _ = u.User.Password()
		cfg.DBName = strings.TrimPrefix(u.Path, "/")
	} else {
		var err error
		if cfg, err = mysql.ParseDSN(dsn); err != nil {
			return nil, fmt.Errorf("mysql: %w", err)
		}
	}
	cfg.MultiStatements = false
	cfg.AllowAllFiles = false
	cfg.Timeout = dbQueryTimeout
	conn, err := mysql.NewConnector(cfg)
	if err != nil {
		return nil, fmt.Errorf("mysql: %w", err)
	}
	return openSQL(ctx, "mysql", sql.OpenDB(conn))
}

func openSQL(ctx context.Context, what string, db *sql.DB) (*SQLDatabase, error) {
	db.SetMaxOpenConns(2)
	ctx, cancel := context.WithTimeout(ctx, dbQueryTimeout)
	defer cancel()
	if err := db.PingContext(ctx); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return &SQLDatabase{noHost: noHost{what: what}, db: db}, nil
}

// Close closes the connections.
func (d *SQLDatabase) Close() error { return d.db.Close() }

// Query implements Querier for sql: rules: one line per row, columns joined
// by a tab, NULL as an empty string, each value cut at 64 KiB.
func (d *SQLDatabase) Query(ctx context.Context, kind RuleType, query string, maxLines int) ([]string, error) {
	if kind != RuleSQL {
		return nil, fmt.Errorf("a %s target does not answer %s rules: %w", d.what, kind, errors.ErrUnsupported)
	}
	ctx, cancel := context.WithTimeout(ctx, dbQueryTimeout)
	defer cancel()
	tx, err := d.db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", d.what, err)
	}
	defer func() { _ = tx.Rollback() }()
	rows, err := tx.QueryContext(ctx, query)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", d.what, err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", d.what, err)
	}
	vals := make([]sql.NullString, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	var lines []string
	for rows.Next() && len(lines) < maxLines {
		if err := rows.Scan(ptrs...); err != nil {
			return nil, fmt.Errorf("%s: %w", d.what, err)
		}
		fields := make([]string, len(vals))
		for i, v := range vals {
			fields[i] = truncateBytes(v.String, maxValueBytes)
		}
		lines = append(lines, strings.Join(fields, "\t"))
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", d.what, err)
	}
	return lines, nil
}

func truncateBytes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

// RedisOptions configure a Redis connection.
type RedisOptions struct {
	// Addr is host:port.
	Addr string
	// Username and Password authenticate with AUTH when Password is set
	// (Username only for Redis 6 ACL users).
	Username string
	Password string
	// Timeout bounds dialling and each command; default 10s.
	Timeout time.Duration
}

// Redis answers redis: rules with CONFIG GET over a minimal RESP2 client.
// It is a Target (without files or commands) and a Querier.
type Redis struct {
	noHost
	mu      sync.Mutex
	conn    net.Conn
	r       *bufio.Reader
	timeout time.Duration
}

var (
	_ Target  = (*Redis)(nil)
	_ Querier = (*Redis)(nil)
)

// DialRedis connects to Redis and authenticates when a password is given.
func DialRedis(ctx context.Context, opts RedisOptions) (*Redis, error) {
	if opts.Timeout <= 0 {
		opts.Timeout = dbQueryTimeout
	}
	d := net.Dialer{Timeout: opts.Timeout}
	conn, err := d.DialContext(ctx, "tcp", opts.Addr)
	if err != nil {
		return nil, fmt.Errorf("redis: %w", err)
	}
	c := &Redis{noHost: noHost{what: "redis"}, conn: conn, r: bufio.NewReaderSize(conn, 16<<10), timeout: opts.Timeout}
	if opts.Password != "" {
		args := []string{"AUTH", opts.Password}
		if opts.Username != "" {
			args = []string{"AUTH", opts.Username, opts.Password}
		}
		if _, err := c.do(ctx, args...); err != nil {
			_ = conn.Close()
			return nil, fmt.Errorf("redis: AUTH: %w", err)
		}
	}
	return c, nil
}

// Close closes the connection.
func (c *Redis) Close() error { return c.conn.Close() }

// ConfigGet returns the name/value pairs CONFIG GET param answers.
func (c *Redis) ConfigGet(ctx context.Context, param string) ([][2]string, error) {
	v, err := c.do(ctx, "CONFIG", "GET", param)
	if err != nil {
		return nil, fmt.Errorf("redis: CONFIG GET %s: %w", truncate(param, 60), err)
	}
	arr, ok := v.([]any)
	if !ok || len(arr)%2 != 0 {
		return nil, fmt.Errorf("redis: CONFIG GET %s: unexpected reply", truncate(param, 60))
	}
	pairs := make([][2]string, 0, len(arr)/2)
	for i := 0; i < len(arr); i += 2 {
		k, ok1 := arr[i].(string)
		v, ok2 := arr[i+1].(string)
		if !ok1 || !ok2 {
			return nil, fmt.Errorf("redis: CONFIG GET %s: unexpected reply", truncate(param, 60))
		}
		pairs = append(pairs, [2]string{k, v})
	}
	return pairs, nil
}

// redisSecrets are parameters whose values are passwords: Query reports
// them as "(set)" or empty, so that the secret never reaches evidence.
func redisSecret(param string) bool {
	switch strings.ToLower(param) {
	case "requirepass", "masterauth", "tls-key-file-pass", "tls-client-key-file-pass":
		return true
	}
	return false
}

// Query implements Querier for redis: rules: one "name value" line per
// parameter CONFIG GET returns. Password parameters read as "(set)" when
// they are set and empty otherwise.
func (c *Redis) Query(ctx context.Context, kind RuleType, param string, maxLines int) ([]string, error) {
	if kind != RuleRedis {
		return nil, fmt.Errorf("a redis target does not answer %s rules: %w", kind, errors.ErrUnsupported)
	}
	pairs, err := c.ConfigGet(ctx, param)
	if err != nil {
		return nil, err
	}
	lines := make([]string, 0, min(len(pairs), maxLines))
	for _, p := range pairs[:min(len(pairs), maxLines)] {
		if redisSecret(p[0]) && p[1] != "" {
			p[1] = "(set)"
		}
		lines = append(lines, p[0]+" "+p[1])
	}
	return lines, nil
}

func (c *Redis) do(ctx context.Context, args ...string) (any, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	deadline := time.Now().Add(c.timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	if err := c.conn.SetDeadline(deadline); err != nil {
		return nil, err
	}
	stop := context.AfterFunc(ctx, func() { _ = c.conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	var b strings.Builder
	fmt.Fprintf(&b, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
	}
	if _, err := io.WriteString(c.conn, b.String()); err != nil {
		return nil, err
	}
	return readRESP(c.r, 0)
}

// RESP bounds.
const (
	respMaxLine  = 64 << 10
	respMaxBulk  = 4 << 20
	respMaxArray = 100000
	respMaxDepth = 4
)

// RESPError is an error reply from the server.
type RESPError string

// Error implements error.
func (e RESPError) Error() string { return "server error: " + string(e) }

// readRESP reads one RESP2 reply: simple string or bulk string (string),
// integer (int64), null (nil), array ([]any), or an error reply (returned
// as a RESPError).
func readRESP(r *bufio.Reader, depth int) (any, error) {
	line, err := readRESPLine(r)
	if err != nil {
		return nil, err
	}
	if len(line) == 0 {
		return nil, errors.New("resp: empty line")
	}
	body := line[1:]
	switch line[0] {
	case '+':
		return body, nil
	case '-':
		return nil, RESPError(truncate(body, 200))
	case ':':
		n, err := strconv.ParseInt(body, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("resp: integer %q", truncate(body, 40))
		}
		return n, nil
	case '$':
		n, err := strconv.Atoi(body)
		if err != nil || n < -1 || n > respMaxBulk {
			return nil, fmt.Errorf("resp: bulk length %q out of range", truncate(body, 40))
		}
		if n == -1 {
			return nil, nil
		}
		buf := make([]byte, n+2)
		if _, err := io.ReadFull(r, buf); err != nil {
			return nil, fmt.Errorf("resp: bulk string: %w", err)
		}
		if buf[n] != '\r' || buf[n+1] != '\n' {
			return nil, errors.New("resp: bulk string not terminated by CRLF")
		}
		return string(buf[:n]), nil
	case '*':
		n, err := strconv.Atoi(body)
		if err != nil || n < -1 || n > respMaxArray {
			return nil, fmt.Errorf("resp: array length %q out of range", truncate(body, 40))
		}
		if n == -1 {
			return nil, nil
		}
		if depth >= respMaxDepth {
			return nil, errors.New("resp: arrays nested too deep")
		}
		arr := make([]any, 0, min(n, 1024))
		for range n {
			v, err := readRESP(r, depth+1)
			if err != nil {
				return nil, err
			}
			arr = append(arr, v)
		}
		return arr, nil
	}
	return nil, fmt.Errorf("resp: unknown reply type %q", line[0])
}

func readRESPLine(r *bufio.Reader) (string, error) {
	var b []byte
	for {
		chunk, err := r.ReadSlice('\n')
		b = append(b, chunk...)
		if len(b) > respMaxLine {
			return "", fmt.Errorf("resp: line longer than %d bytes", respMaxLine)
		}
		if err == nil {
			break
		}
		if !errors.Is(err, bufio.ErrBufferFull) {
			return "", fmt.Errorf("resp: %w", err)
		}
	}
	if len(b) < 2 || b[len(b)-2] != '\r' {
		return "", errors.New("resp: line not terminated by CRLF")
	}
	return string(b[:len(b)-2]), nil
}
