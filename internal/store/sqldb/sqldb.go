// Package sqldb is the one SQL implementation of store.Store, shared by the
// sqlite and postgres drivers over database/sql. The drivers differ only in
// a small Dialect (placeholder style, how a constraint violation looks, how
// timestamps and JSON arrays are stored) and in how they open, migrate and
// back up the database.
//
// Conventions every query follows:
//   - queries are written with ? placeholders and rebound for the dialect;
//   - every query on a tenant-owned table filters on tenant_id, so a row of
//     another tenant is indistinguishable from a missing one (ErrNotFound);
//   - IDs are UUIDv7 strings generated here when the caller leaves them empty;
//   - timestamps are stored in UTC truncated to microseconds, a zero
//     time.Time as NULL;
//   - lists have a deterministic ORDER BY.
package sqldb

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/vigil-sec/vigil/internal/store"
)

// Dialect describes how one database differs from the others.
type Dialect struct {
	// Name is what Store.Driver reports: "sqlite" or "postgres".
	Name string
	// NumberedParams rebinds ? placeholders to $1, $2, ... (PostgreSQL).
	NumberedParams bool
	// TimeAsText stores timestamps as fixed-width RFC 3339 text, which sorts
	// and compares correctly as a string (SQLite has no timestamp type).
	// Otherwise time.Time values are passed to the driver as they are.
	TimeAsText bool
	// IsUniqueViolation reports whether err is a unique or primary key
	// constraint violation; it is mapped to store.ErrConflict.
	IsUniqueViolation func(err error) bool
	// IsForeignKeyViolation reports whether err is a foreign key violation:
	// the referenced row does not exist, mapped to store.ErrNotFound.
	IsForeignKeyViolation func(err error) bool
	// JSONArrayHas returns a boolean SQL condition that is true when the
	// JSON array of strings in column contains the one value bound to the
	// single ? placeholder in the condition.
	JSONArrayHas func(column string) string
	// KeyLock is a statement with one ? placeholder, a string key, that
	// takes a lock held until the transaction ends, so writers that read
	// then write the same logical row take turns (PostgreSQL: an advisory
	// transaction lock). Empty when a write transaction already excludes
	// every other writer (SQLite's BEGIN IMMEDIATE).
	KeyLock string
	// CopyFrom, when set, bulk-loads rows into table through driverConn,
	// the driver connection of a database/sql connection, inside the
	// transaction open on it (PostgreSQL's COPY). Large writes such as
	// the import of findings use it.
	CopyFrom func(ctx context.Context, driverConn any, table string, cols []string, rows [][]any) error
}

// Store implements store.Store over a *sql.DB. Drivers wrap it to provide
// Backup when they can.
type Store struct {
	db *sql.DB
	d  *Dialect
	// now is the clock that stamps CreatedAt and UpdatedAt.
	now func() time.Time
}

var _ store.Store = (*Store)(nil)

// New returns a Store using db, which must already be migrated. The Store
// owns db and closes it in Close.
func New(db *sql.DB, d Dialect) *Store {
	return &Store{db: db, d: &d, now: time.Now}
}

// DB returns the underlying database handle, for driver-specific work such
// as backups.
func (s *Store) DB() *sql.DB { return s.db }

// Driver returns the dialect name.
func (s *Store) Driver() string { return s.d.Name }

// Ping checks the database answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.db.PingContext(ctx); err != nil {
		return fmt.Errorf("ping %s: %w", s.d.Name, err)
	}
	return nil
}

// Backup returns store.ErrUnsupported; drivers that can back up override it.
func (s *Store) Backup(context.Context, string) error {
	return fmt.Errorf("backup of %s: %w", s.d.Name, store.ErrUnsupported)
}

// Close closes the database.
func (s *Store) Close() error {
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("close %s: %w", s.d.Name, err)
	}
	return nil
}

// Tenants returns the tenant store.
func (s *Store) Tenants() store.TenantStore { return tenants{s} }

// Users returns the user and membership store.
func (s *Store) Users() store.UserStore { return users{s} }

// Tokens returns the API token store.
func (s *Store) Tokens() store.TokenStore { return tokens{s} }

// Sessions returns the browser session store.
func (s *Store) Sessions() store.SessionStore { return sessions{s} }

// Teams returns the team store.
func (s *Store) Teams() store.TeamStore { return teams{s} }

// Contacts returns the contact store.
func (s *Store) Contacts() store.ContactStore { return contacts{s} }

// Services returns the subscription store.
func (s *Store) Services() store.ServiceStore { return services{s} }

// Assets returns the asset store.
func (s *Store) Assets() store.AssetStore { return assets{s} }

// Audit returns the audit chain store.
func (s *Store) Audit() store.AuditStore { return audit{s} }

// Secrets returns the secret store.
func (s *Store) Secrets() store.SecretStore { return secrets{s} }

// PolicyReviews returns the policy review store.
func (s *Store) PolicyReviews() store.PolicyReviewStore { return policyReviews{s} }

// Reports returns the report archive.
func (s *Store) Reports() store.ReportStore { return reports{s} }

// Vulns returns the vulnerability lifecycle store.
func (s *Store) Vulns() store.VulnStore { return vulns{s} }

// DiscoveryRuns returns the discovery run store.
func (s *Store) DiscoveryRuns() store.DiscoveryRunStore { return discoveryRuns{s} }

// Events returns the event store.
func (s *Store) Events() store.EventStore { return events{s} }

// Alerts returns the alert store.
func (s *Store) Alerts() store.AlertStore { return alerts{s} }

// NotifyChannels returns the notification channel store.
func (s *Store) NotifyChannels() store.NotifyChannelStore { return notifyChannels{s} }

// Weblog returns the compromise-detection store.
func (s *Store) Weblog() store.WeblogStore { return weblogs{s} }

// Traffic returns the traffic risk analysis store.
func (s *Store) Traffic() store.TrafficStore { return traffics{s} }

// Incidents returns the incident response store.
func (s *Store) Incidents() store.IncidentStore { return incidents{s} }

// Posture returns the posture snapshot store.
func (s *Store) Posture() store.PostureStore { return postures{s} }

// WorkOrders returns the work order store.
func (s *Store) WorkOrders() store.WorkOrderStore { return workOrders{s} }

// Escalations returns the notification escalation store.
func (s *Store) Escalations() store.EscalationStore { return escalations{s} }

// Detection returns the custom Sigma rule, rule setting and correlation state store.
func (s *Store) Detection() store.DetectionStore { return detection{s} }

// Compliance returns the assessment project store.
func (s *Store) Compliance() store.ComplianceStore { return complianceStore{s} }

// Baseline returns the baseline run, hardening and schedule store.
func (s *Store) Baseline() store.BaselineStore { return baselineStore{s} }

// Devices returns the security device O&M store.
func (s *Store) Devices() store.DeviceStore { return devices{s} }

// Campaigns returns the campaign store.
func (s *Store) Campaigns() store.CampaignStore { return campaignStore{s} }

// Drills returns the drill store.
func (s *Store) Drills() store.DrillStore { return drills{s} }

// VulnSettings returns the vulnerability scan settings store.
func (s *Store) VulnSettings() store.VulnSettingsStore { return vulnSettings{s} }

// Desk returns the monitoring desk store.
func (s *Store) Desk() store.DeskStore { return desk{s} }

// ---- query plumbing ----

// querier is what *sql.DB and *sql.Tx have in common.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// conn runs ?-placeholder queries on a database or transaction.
type conn struct {
	q querier
	d *Dialect
}

func (c conn) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return c.q.ExecContext(ctx, c.d.rebind(query), args...)
}

func (c conn) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return c.q.QueryContext(ctx, c.d.rebind(query), args...)
}

func (c conn) queryRow(ctx context.Context, query string, args ...any) *sql.Row {
	return c.q.QueryRowContext(ctx, c.d.rebind(query), args...)
}

// conn returns a conn on the pool.
func (s *Store) conn() conn { return conn{q: s.db, d: s.d} }

// inTx runs fn in a transaction, committing when it returns nil. On SQLite
// the driver begins transactions with BEGIN IMMEDIATE, so a transaction
// holds the write lock from its start.
func (s *Store) inTx(ctx context.Context, fn func(c conn) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(conn{q: tx, d: s.d}); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}

// lock takes the dialect's transaction-scoped lock on key; c must be a
// transaction.
func (c conn) lock(ctx context.Context, key string) error {
	if c.d.KeyLock == "" {
		return nil
	}
	_, err := c.exec(ctx, c.d.KeyLock, key)
	return err
}

// rebind rewrites ? placeholders outside quoted literals to $n when the
// dialect numbers its parameters.
func (d *Dialect) rebind(query string) string {
	if !d.NumberedParams || !strings.Contains(query, "?") {
		return query
	}
	var b strings.Builder
	b.Grow(len(query) + 16)
	n := 0
	var quote byte
	for i := 0; i < len(query); i++ {
		c := query[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '\'' || c == '"':
			quote = c
		case c == '?':
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// ---- errors ----

// wrap maps a driver error to the store sentinels and adds the operation:
// sql.ErrNoRows becomes store.ErrNotFound, a unique violation
// store.ErrConflict and a foreign key violation (a referenced row that does
// not exist) store.ErrNotFound.
func (s *Store) wrap(op string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, sql.ErrNoRows), errors.Is(err, store.ErrNotFound):
		return fmt.Errorf("%s: %w", op, store.ErrNotFound)
	case s.d.IsUniqueViolation != nil && s.d.IsUniqueViolation(err):
		return fmt.Errorf("%s: %w: %w", op, store.ErrConflict, err)
	case s.d.IsForeignKeyViolation != nil && s.d.IsForeignKeyViolation(err):
		return fmt.Errorf("%s: referenced row: %w: %w", op, store.ErrNotFound, err)
	}
	return fmt.Errorf("%s: %w", op, err)
}

// affected turns a zero-row update or delete into store.ErrNotFound.
func affected(res sql.Result, err error) error {
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return store.ErrNotFound
	}
	return nil
}

// ---- values ----

// newID returns a fresh UUIDv7 string.
func newID() (string, error) {
	id, err := uuid.NewV7()
	if err != nil {
		return "", fmt.Errorf("generate id: %w", err)
	}
	return id.String(), nil
}

// ensureID sets *id to a new UUIDv7 when it is empty.
func ensureID(id *string) error {
	if *id != "" {
		return nil
	}
	v, err := newID()
	if err != nil {
		return err
	}
	*id = v
	return nil
}

// norm returns t in UTC truncated to microseconds, the precision both
// drivers store, so what a caller holds after a write equals what a read
// returns. The zero time stays zero.
func norm(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC().Truncate(time.Microsecond)
}

// stamp returns the store clock normalised.
func (s *Store) stamp() time.Time { return norm(s.now()) }

// textTimeLayout is the fixed-width text form of a timestamp; equal widths
// make string order equal time order.
const textTimeLayout = "2006-01-02T15:04:05.000000Z"

// t converts a time to a query argument: NULL for the zero time, else UTC
// microseconds as the dialect stores them.
func (s *Store) t(v time.Time) any {
	if v.IsZero() {
		return nil
	}
	v = norm(v)
	if s.d.TimeAsText {
		return v.Format(textTimeLayout)
	}
	return v
}

// timeDest scans a timestamp column (text, time or NULL) into *t, in UTC.
type timeDest struct{ t *time.Time }

// Scan implements sql.Scanner.
func (d timeDest) Scan(v any) error {
	switch x := v.(type) {
	case nil:
		*d.t = time.Time{}
	case time.Time:
		*d.t = norm(x)
	case string:
		return d.parse(x)
	case []byte:
		return d.parse(string(x))
	default:
		return fmt.Errorf("scan timestamp: unexpected %T", v)
	}
	return nil
}

func (d timeDest) parse(s string) error {
	if s == "" {
		*d.t = time.Time{}
		return nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return fmt.Errorf("scan timestamp: %w", err)
	}
	*d.t = norm(t)
	return nil
}

// nullable converts "" to NULL for optional references.
func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// strDest scans a possibly NULL text column into *s ("" for NULL).
type strDest struct{ s *string }

// Scan implements sql.Scanner.
func (d strDest) Scan(v any) error {
	switch x := v.(type) {
	case nil:
		*d.s = ""
	case string:
		*d.s = x
	case []byte:
		*d.s = string(x)
	default:
		return fmt.Errorf("scan text: unexpected %T", v)
	}
	return nil
}

// jsonArg encodes v as JSON text for a JSON column.
func jsonArg(v any) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("encode json: %w", err)
	}
	return string(b), nil
}

// tagsArg encodes tags, storing nil as an empty array.
func tagsArg(tags []string) (string, error) {
	if tags == nil {
		tags = []string{}
	}
	return jsonArg(tags)
}

// attrsArg encodes attributes, storing nil as an empty object.
func attrsArg(m map[string]string) (string, error) {
	if m == nil {
		m = map[string]string{}
	}
	return jsonArg(m)
}

// jsonDest decodes a JSON column into v; empty arrays and objects decode to
// nil so a round trip of a nil field gives nil.
type jsonDest struct{ v any }

// Scan implements sql.Scanner.
func (d jsonDest) Scan(src any) error {
	var b []byte
	switch x := src.(type) {
	case nil:
		return nil
	case string:
		b = []byte(x)
	case []byte:
		b = x
	default:
		return fmt.Errorf("scan json: unexpected %T", src)
	}
	if err := json.Unmarshal(b, d.v); err != nil {
		return fmt.Errorf("scan json: %w", err)
	}
	switch p := d.v.(type) {
	case *[]string:
		if len(*p) == 0 {
			*p = nil
		}
	case *map[string]string:
		if len(*p) == 0 {
			*p = nil
		}
	}
	return nil
}

// ---- lists ----

// DefaultPageSize is the page size when Page.Limit is 0.
const DefaultPageSize = 100

// PageBounds returns the LIMIT and OFFSET for p: a limit of 0 (or less)
// means DefaultPageSize, limits are capped at store.MaxPageSize and a
// negative offset counts as 0.
func PageBounds(p store.Page) (limit, offset int) {
	limit = p.Limit
	if limit <= 0 {
		limit = DefaultPageSize
	}
	limit = min(limit, store.MaxPageSize)
	return limit, max(p.Offset, 0)
}

// rowScanner is *sql.Row or *sql.Rows.
type rowScanner interface{ Scan(dest ...any) error }

// collect runs a query and scans every row with scan.
func collect[T any](ctx context.Context, c conn, scan func(rowScanner) (T, error), query string, args ...any) ([]T, error) {
	rows, err := c.query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer func() { _ = rows.Close() }()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// where accumulates AND-ed conditions and their arguments.
type where struct {
	conds []string
	args  []any
}

func (w *where) add(cond string, args ...any) {
	w.conds = append(w.conds, cond)
	w.args = append(w.args, args...)
}

// in adds "col IN (values...)"; no values adds nothing.
func (w *where) in(col string, values []string) {
	if len(values) == 0 {
		return
	}
	args := make([]any, len(values))
	for i, v := range values {
		args[i] = v
	}
	w.add(col+" IN ("+placeholders(len(values))+")", args...)
}

// placeholders is n comma-separated ? parameters.
func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}

func (w *where) String() string {
	if len(w.conds) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(w.conds, " AND ")
}

// likeEscaper escapes LIKE wildcards; patterns use ESCAPE '!' (not a
// backslash, whose meaning in a string literal depends on server settings).
var likeEscaper = strings.NewReplacer(`!`, `!!`, `%`, `!%`, `_`, `!_`)

// containsPattern is a LIKE pattern matching s anywhere, lower-cased for a
// case-insensitive match against lower(column).
func containsPattern(s string) string {
	return "%" + likeEscaper.Replace(strings.ToLower(s)) + "%"
}

// errIDTaken reports a caller-chosen ID already used by another tenant.
var errIDTaken = fmt.Errorf("%w: the id belongs to another tenant", store.ErrConflict)

func isNoRows(err error) bool { return errors.Is(err, sql.ErrNoRows) }
