package lifecycle

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/vigil-sec/vigil/internal/audit"
	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/store"
	"github.com/vigil-sec/vigil/internal/vuln"
	"github.com/vigil-sec/vigil/internal/vuln/enrich"
)

// DefaultSLA is the number of days to fix a finding, by severity, unless
// the tenant's contract says otherwise.
func DefaultSLA() map[string]int {
	return map[string]int{"critical": 7, "high": 30, "medium": 90, "low": 120}
}

// Limits.
const (
	// MaxImportBytes bounds one uploaded scan file.
	MaxImportBytes = vuln.MaxInputSize
	maxNoteLen     = 4000
	maxEvidenceLen = 16 << 10
	maxTextLen     = 64 << 10
	maxBulk        = 1000
)

// Service runs the vulnerability lifecycle.
type Service struct {
	store    store.Store
	audit    *audit.Log
	registry *vuln.Registry
	kev      atomic.Pointer[enrich.KEV]
	epss     atomic.Pointer[enrich.EPSS]
	sla      map[string]int
	logger   *slog.Logger
	now      func() time.Time
}

// Options configures a Service.
type Options struct {
	Logger *slog.Logger
	// KEV and EPSS feed the priority; either may be nil.
	KEV  *enrich.KEV
	EPSS *enrich.EPSS
	// SLA overrides DefaultSLA (days by severity).
	SLA map[string]int
	Now func() time.Time
}

// NewService returns a lifecycle Service.
func NewService(s store.Store, a *audit.Log, opts Options) *Service {
	l := opts.Logger
	if l == nil {
		l = slog.New(slog.DiscardHandler)
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	sla := DefaultSLA()
	for k, v := range opts.SLA {
		sla[k] = v
	}
	svc := &Service{store: s, audit: a, registry: vuln.DefaultRegistry(), sla: sla, logger: l, now: now}
	svc.SetFeeds(opts.KEV, opts.EPSS)
	return svc
}

// SetFeeds replaces the KEV catalogue and EPSS scores used for the
// priority of findings imported from now on; nil keeps the current one.
func (s *Service) SetFeeds(kev *enrich.KEV, epss *enrich.EPSS) {
	if kev != nil {
		s.kev.Store(kev)
	}
	if epss != nil {
		s.epss.Store(epss)
	}
}

// Formats lists the scanner formats an import accepts.
func (s *Service) Formats() []string { return s.registry.Formats() }

// SLA returns the days to fix a finding of the severity (0: no due date).
func (s *Service) SLA(severity string) int { return s.sla[severity] }

func invalid(field, code string, a map[string]any, format string, fa ...any) error {
	return store.NewFieldError(field, code, a, format, fa...)
}

// ImportInput is one scanner output to import.
type ImportInput struct {
	Filename string
	Format   string // "" detects it
	Data     []byte
	// Full says the scan covered its assets completely: their open
	// findings it did not report are marked fixed-pending-verification.
	Full bool
}

// Import parses scanner output and applies it to the tenant's findings in
// one transaction. A file that fails to parse imports nothing and is a
// field error on "file" naming the line or offset.
func (s *Service) Import(ctx context.Context, tenantID string, in ImportInput) (store.VulnScan, error) {
	if err := auth.Require(ctx, auth.PermVulnWrite, tenantID); err != nil {
		return store.VulnScan{}, err
	}
	switch {
	case len(in.Data) == 0:
		return store.VulnScan{}, invalid("file", store.CodeRequired, nil, "a scan file is required")
	case len(in.Data) > MaxImportBytes:
		return store.VulnScan{}, invalid("file", store.CodeTooLarge, map[string]any{"max": MaxImportBytes},
			"the scan file must be at most %d bytes", MaxImportBytes)
	}
	name := filepath.Base(strings.TrimSpace(in.Filename))
	if name == "." || name == "/" {
		name = ""
	}
	var (
		imp vuln.Importer
		err error
	)
	if in.Format == "" {
		imp, err = s.registry.Detect(name, in.Data)
	} else {
		imp, err = s.registry.Lookup(in.Format)
	}
	if err != nil {
		return store.VulnScan{}, invalid("format", store.CodeOneOf, map[string]any{"values": strings.Join(s.Formats(), ", ")},
			"the format is not known or could not be detected; choose one of %s", strings.Join(s.Formats(), ", "))
	}
	// The tenant's asset index is read while the file parses: with many
	// assets it takes about as long.
	type indexed struct {
		assets map[string]store.Asset
		err    error
	}
	ictx, cancel := context.WithCancel(ctx)
	defer cancel()
	idx := make(chan indexed, 1)
	go func() {
		a, err := s.assetIndex(ictx, tenantID)
		idx <- indexed{a, err}
	}()
	fs, err := imp.Import(ctx, bytes.NewReader(in.Data))
	if err != nil {
		if ctx.Err() != nil {
			return store.VulnScan{}, ctx.Err()
		}
		reason := err.Error()
		if name != "" {
			reason = name + ": " + reason
		}
		return store.VulnScan{}, invalid("file", store.CodeInvalidConfig, map[string]any{"reason": reason}, "%s", reason)
	}
	ix := <-idx
	if ix.err != nil {
		return store.VulnScan{}, ix.err
	}
	assets := ix.assets
	now := s.now().UTC()
	sum := sha256.Sum256(in.Data)
	p := auth.FromContext(ctx)
	sc := store.VulnScan{TenantID: tenantID, Scanner: imp.Format(), Format: imp.Format(), Filename: name,
		SHA256: hex.EncodeToString(sum[:]), Full: in.Full, CreatedBy: p.UserID}
	sla, err := s.TenantSLA(ctx, tenantID)
	if err != nil {
		return store.VulnScan{}, err
	}
	rows := make([]store.VulnFinding, 0, len(fs))
	for _, f := range fs {
		rows = append(rows, s.row(f, assets, sla, now))
	}
	if err := s.store.Vulns().Import(ctx, store.VulnImport{Scan: &sc, Findings: rows, ReopenStates: reopenStates,
		AbsentStates: absentStates, AbsentTo: StateFixedPending, Initial: StateNew, Reopened: StateReopened, At: now}); err != nil {
		return store.VulnScan{}, fmt.Errorf("import %s: %w", name, err)
	}
	return sc, s.audit.Record(ctx, audit.Event{TenantID: tenantID, Action: "vuln.import", Object: "vuln_scan:" + sc.ID,
		Detail: map[string]any{"file": name, "format": sc.Format, "sha256": sc.SHA256, "full": sc.Full, "total": sc.Total,
			"added": sc.Added, "updated": sc.Updated, "reopened": sc.Reopened, "absent": sc.Absent}})
}

// assetIndex maps addresses and names of the tenant's assets to them, to
// link findings and take the asset's importance into the priority.
func (s *Service) assetIndex(ctx context.Context, tenantID string) (map[string]store.Asset, error) {
	idx := map[string]store.Asset{}
	for off := 0; ; off += store.MaxPageSize {
		as, err := s.store.Assets().List(ctx, tenantID, store.AssetFilter{Page: store.Page{Limit: store.MaxPageSize, Offset: off}})
		if err != nil {
			return nil, fmt.Errorf("vulnerability import: assets: %w", err)
		}
		for _, a := range as {
			for _, k := range []string{a.Address, a.Name} {
				if k = strings.ToLower(strings.TrimSpace(k)); k != "" {
					if _, dup := idx[k]; !dup {
						idx[k] = a
					}
				}
			}
		}
		if len(as) < store.MaxPageSize || off > 100*store.MaxPageSize {
			return idx, nil
		}
	}
}

// assetKey is what a finding was found on: its IP, host, target, or the
// host of its URL.
func assetKey(a vuln.Asset) string {
	for _, k := range []string{a.IP, a.Host, a.Target} {
		if k = strings.ToLower(strings.TrimSpace(k)); k != "" {
			return k
		}
	}
	if u, err := url.Parse(a.URL); err == nil && u.Hostname() != "" {
		return strings.ToLower(u.Hostname())
	}
	return ""
}

// layer classifies a finding as network, os, application or
// configuration from what the scanner reported.
func layer(f vuln.Finding) string {
	if f.Layer != "" {
		return f.Layer // the scanner's format told
	}
	a := f.Asset
	switch {
	case strings.HasPrefix(strings.ToUpper(f.RuleID), "AVD-") || strings.HasPrefix(strings.ToUpper(f.RuleID), "KSV") ||
		strings.HasPrefix(strings.ToUpper(f.RuleID), "DS"):
		return "configuration"
	case a.Package != "" && strings.Contains(a.Target, "("):
		return "os" // Trivy names OS package targets "image (distro version)"
	case a.Package != "" || a.URL != "" || f.Scanner == "sarif":
		return "application"
	case a.Port > 0:
		return "network"
	}
	return "application"
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + " …[truncated]"
}

func (s *Service) row(f vuln.Finding, assets map[string]store.Asset, sla map[string]int, now time.Time) store.VulnFinding {
	key := assetKey(f.Asset)
	r := store.VulnFinding{Fingerprint: f.Fingerprint, AssetKey: key, Scanner: f.Scanner, RuleID: f.RuleID,
		Title: clip(f.Title, 1000), Description: clip(f.Description, maxTextLen), Severity: string(f.Severity), Layer: layer(f),
		Host: f.Asset.Host, IP: f.Asset.IP, Port: f.Asset.Port, Protocol: f.Asset.Protocol, URL: clip(f.Asset.URL, 4096),
		Target: f.Asset.Target, Package: f.Asset.Package, Version: f.Asset.Version, CVEs: f.CVEs, CWEs: f.CWEs,
		References: f.References, CVSSVector: f.CVSSVector, CVSSScore: f.CVSSScore, CVSS4Vector: f.CVSS4Vector,
		CVSS4Score: f.CVSS4Score, FixedIn: f.FixedIn, Remediation: clip(f.Remediation, maxTextLen),
		Evidence: clip(f.Evidence, maxEvidenceLen), Occurrences: f.Occurrences}
	if r.Title == "" {
		r.Title = f.RuleID
	}
	importance, internet := 0, false
	for _, k := range []string{key, strings.ToLower(f.Asset.Host)} {
		if a, ok := assets[k]; ok && k != "" {
			r.AssetID, importance = a.ID, a.Importance
			internet = slices.Contains(a.Tags, "internet") || slices.Contains(a.Tags, "internet-facing")
			break
		}
	}
	en := enrich.Enricher{KEV: s.kev.Load(), EPSS: s.epss.Load(), Importance: importance, InternetFacing: internet}
	e := en.Enrich(f)
	r.KEV = e.KEV != nil
	if e.EPSS != nil {
		p := e.EPSS.Probability
		r.EPSS = &p
	}
	r.Priority, r.PriorityReason = e.Priority, e.PriorityReason
	if days := sla[r.Severity]; days > 0 {
		r.DueAt = now.Add(time.Duration(days) * 24 * time.Hour)
	}
	return r
}

// ChangeInput is a state change asked by a user.
type ChangeInput struct {
	To       string
	Note     string
	Assignee string    // for assigned: the user who fixes it
	Control  string    // for mitigated: the compensating control
	Expires  time.Time // for risk-accepted and mitigated
}

// Change moves one finding to another state. Risk acceptance and
// mitigation need a note, an expiry in the future and (mitigation) the
// control; false positives need a note; assignment needs a user of the
// tenant.
func (s *Service) Change(ctx context.Context, tenantID, id string, in ChangeInput) error {
	if err := auth.Require(ctx, auth.PermVulnWrite, tenantID); err != nil {
		return err
	}
	f, err := s.store.Vulns().Get(ctx, tenantID, id)
	if err != nil {
		return err
	}
	c, err := s.change(ctx, tenantID, f, in)
	if err != nil {
		return err
	}
	if err := s.store.Vulns().Change(ctx, tenantID, id, c); err != nil {
		return fmt.Errorf("vulnerability %s: %w", id, err)
	}
	return s.audit.Record(ctx, audit.Event{TenantID: tenantID, Action: "vuln.change", Object: "vuln:" + id,
		Detail: map[string]any{"from": c.From, "to": c.To, "note": c.Note, "assignee": in.Assignee, "control": in.Control}})
}

func (s *Service) change(ctx context.Context, tenantID string, f store.VulnFinding, in ChangeInput) (store.VulnChange, error) {
	in.Note, in.Control = strings.TrimSpace(in.Note), strings.TrimSpace(in.Control)
	if !slices.Contains(States(), in.To) {
		return store.VulnChange{}, invalid("state", store.CodeOneOf, map[string]any{"values": strings.Join(States(), ", ")},
			"state must be one of %s", strings.Join(States(), ", "))
	}
	if !Allowed(f.State, in.To) {
		return store.VulnChange{}, invalid("state", store.CodeOneOf, map[string]any{"values": strings.Join(Next(f.State), ", ")},
			"a %s finding can move to %s", f.State, strings.Join(Next(f.State), ", "))
	}
	if utf8.RuneCountInString(in.Note) > maxNoteLen || utf8.RuneCountInString(in.Control) > maxNoteLen {
		return store.VulnChange{}, invalid("note", store.CodeTooLong, map[string]any{"max": maxNoteLen}, "at most %d characters", maxNoteLen)
	}
	now := s.now().UTC()
	c := store.VulnChange{From: f.State, To: in.To, Note: in.Note, ActorID: auth.FromContext(ctx).UserID, At: now}
	switch in.To {
	case StateRiskAccepted, StateMitigated:
		if in.Note == "" {
			return store.VulnChange{}, invalid("note", store.CodeRequired, nil, "say why, for the record")
		}
		if !in.Expires.After(now) {
			return store.VulnChange{}, invalid("expires", store.CodeOutOfRange, nil, "the expiry must be in the future")
		}
		if in.To == StateMitigated {
			if in.Control == "" {
				return store.VulnChange{}, invalid("control", store.CodeRequired, nil, "name the compensating control")
			}
			c.Control = &in.Control
		}
		c.ExpiresAt = &in.Expires
	case StateFalsePos:
		if in.Note == "" {
			return store.VulnChange{}, invalid("note", store.CodeRequired, nil, "say why it is a false positive")
		}
	case StateAssigned:
		if in.Assignee == "" {
			return store.VulnChange{}, invalid("assignee", store.CodeRequired, nil, "choose who fixes it")
		}
		ok, err := s.canAssign(ctx, tenantID, in.Assignee)
		if err != nil {
			return store.VulnChange{}, err
		}
		if !ok {
			return store.VulnChange{}, invalid("assignee", store.CodeNotInTenant, nil, "the assignee is not a user of this tenant who may work on findings")
		}
		c.Assignee = &in.Assignee
	}
	if in.To == StateReopened {
		none, zero := "", time.Time{}
		c.Control, c.ExpiresAt = &none, &zero
	}
	return c, nil
}

// BulkResult is the outcome of a bulk change.
type BulkResult struct {
	Changed int
	Failed  map[string]string // finding ID → reason
}

// Bulk applies one change to many findings; each succeeds or fails on its
// own.
func (s *Service) Bulk(ctx context.Context, tenantID string, ids []string, in ChangeInput) (BulkResult, error) {
	if err := auth.Require(ctx, auth.PermVulnWrite, tenantID); err != nil {
		return BulkResult{}, err
	}
	if len(ids) > maxBulk {
		return BulkResult{}, invalid("ids", store.CodeTooMany, map[string]any{"max": maxBulk}, "at most %d findings at once", maxBulk)
	}
	res := BulkResult{Failed: map[string]string{}}
	for _, id := range ids {
		if err := s.Change(ctx, tenantID, id, in); err != nil {
			var fe *store.FieldError
			switch {
			case errors.As(err, &fe):
				res.Failed[id] = fe.Message
			case errors.Is(err, store.ErrNotFound):
				res.Failed[id] = "not found"
			case errors.Is(err, store.ErrConflict):
				res.Failed[id] = "changed meanwhile"
			default:
				return res, err
			}
			continue
		}
		res.Changed++
	}
	return res, nil
}

// Expire reopens risk-accepted and mitigated findings whose expiry has
// passed, for every tenant; the scheduler runs it.
func (s *Service) Expire(ctx context.Context, tenantID string) (int, error) {
	now := s.now().UTC()
	n := 0
	for _, st := range []string{StateRiskAccepted, StateMitigated} {
		list, err := s.store.Vulns().List(ctx, tenantID, store.VulnFilter{States: []string{st}, Page: store.Page{Limit: store.MaxPageSize}})
		if err != nil {
			return n, err
		}
		for _, f := range list {
			if f.ExpiresAt.IsZero() || f.ExpiresAt.After(now) {
				continue
			}
			none, zero := "", time.Time{}
			err := s.store.Vulns().Change(ctx, tenantID, f.ID, store.VulnChange{From: st, To: StateReopened, At: now,
				Note: "the " + st + " decision expired", Control: &none, ExpiresAt: &zero})
			if err != nil && !errors.Is(err, store.ErrConflict) {
				return n, err
			}
			if err == nil {
				n++
			}
		}
	}
	return n, nil
}

// Get returns one finding and its timeline.
func (s *Service) Get(ctx context.Context, tenantID, id string) (store.VulnFinding, []store.VulnEvent, error) {
	if err := auth.Require(ctx, auth.PermAssetRead, tenantID); err != nil {
		return store.VulnFinding{}, nil, err
	}
	f, err := s.store.Vulns().Get(ctx, tenantID, id)
	if err != nil {
		return store.VulnFinding{}, nil, err
	}
	evs, err := s.store.Vulns().Events(ctx, tenantID, id)
	return f, evs, err
}

// Filter is a finding list query as a user gives it.
type Filter struct {
	State    string // one state, "open" for every open state, "" for all
	Severity string
	KEV      bool
	Overdue  bool
	AssetID  string
	Scanner  string
	Query    string
	// CountLimit, when positive, caps the total List counts: a total
	// equal to it means "at least" (shown as "10,000+"), and the count
	// reads at most that many findings.
	CountLimit int
	store.Page
}

// MaxCount is the count limit of the findings page and the API list: a
// larger total is shown as "10,000+" (and flagged total_capped), since
// counting a million findings exactly costs more than the page itself.
const MaxCount = 10_000

// List returns a page of findings and the total matching count.
func (s *Service) List(ctx context.Context, tenantID string, f Filter) ([]store.VulnFinding, int, error) {
	if err := auth.Require(ctx, auth.PermAssetRead, tenantID); err != nil {
		return nil, 0, err
	}
	if len(f.Query) > 200 {
		return nil, 0, invalid("q", store.CodeTooLong, map[string]any{"max": 200}, "search text must be at most 200 characters")
	}
	sf := store.VulnFilter{Severity: f.Severity, KEV: f.KEV, Overdue: f.Overdue, OpenStates: OpenStates(),
		Now: s.now().UTC(), AssetID: f.AssetID, Scanner: f.Scanner, Query: f.Query, CountLimit: f.CountLimit, Page: f.Page}
	switch {
	case f.State == "open":
		sf.States = OpenStates()
	case f.State != "":
		sf.States = []string{f.State}
	}
	list, err := s.store.Vulns().List(ctx, tenantID, sf)
	if err != nil {
		return nil, 0, err
	}
	n, err := s.store.Vulns().Count(ctx, tenantID, sf)
	return list, n, err
}

// Overdue reports whether an open finding is past its due date.
func (s *Service) Overdue(f store.VulnFinding) bool {
	return slices.Contains(OpenStates(), f.State) && !f.DueAt.IsZero() && s.now().After(f.DueAt)
}

// Scans returns the tenant's latest imports.
func (s *Service) Scans(ctx context.Context, tenantID string, p store.Page) ([]store.VulnScan, error) {
	if err := auth.Require(ctx, auth.PermAssetRead, tenantID); err != nil {
		return nil, err
	}
	return s.store.Vulns().Scans(ctx, tenantID, p)
}

// Summary counts a tenant's findings by state and severity.
func (s *Service) Summary(ctx context.Context, tenantID string) (map[[2]string]int, error) {
	if err := auth.Require(ctx, auth.PermAssetRead, tenantID); err != nil {
		return nil, err
	}
	return s.store.Vulns().CountBy(ctx, tenantID)
}

// ReadAll reads an upload up to MaxImportBytes.
func ReadAll(r io.Reader) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, MaxImportBytes+1))
	if err != nil {
		return nil, err
	}
	if len(b) > MaxImportBytes {
		return nil, invalid("file", store.CodeTooLarge, map[string]any{"max": MaxImportBytes}, "the scan file must be at most %d bytes", MaxImportBytes)
	}
	return b, nil
}

// Assignees lists who may be assigned a tenant's findings (see mayWork).
func (s *Service) Assignees(ctx context.Context, tenantID string) ([]store.User, error) {
	if err := auth.Require(ctx, auth.PermVulnWrite, tenantID); err != nil {
		return nil, err
	}
	ms, err := s.store.Users().TenantMembers(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	role := make(map[string]string, len(ms))
	for _, m := range ms {
		role[m.UserID] = m.Role
	}
	users, err := s.store.Users().List(ctx)
	if err != nil {
		return nil, err
	}
	var out []store.User
	for _, u := range users {
		if mayWork(u, role[u.ID]) {
			out = append(out, u)
		}
	}
	return out, nil
}

// mayWork reports whether a user may work on a tenant's findings, given
// the user's role in that tenant ("" for none): enabled, and platform
// staff or a member whose role may.
func mayWork(u store.User, tenantRole string) bool {
	if u.Disabled {
		return false
	}
	return (u.GlobalRole != "" && auth.RoleHas(u.GlobalRole, auth.PermVulnWrite)) ||
		(tenantRole != "" && auth.RoleHas(tenantRole, auth.PermVulnWrite))
}

// canAssign reports whether a user may be assigned a tenant's findings.
func (s *Service) canAssign(ctx context.Context, tenantID, userID string) (bool, error) {
	u, err := s.store.Users().Get(ctx, userID)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	ms, err := s.store.Users().Memberships(ctx, userID)
	if err != nil {
		return false, err
	}
	role := ""
	for _, m := range ms {
		if m.TenantID == tenantID {
			role = m.Role
		}
	}
	return mayWork(u, role), nil
}
