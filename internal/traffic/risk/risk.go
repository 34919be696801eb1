// Package risk owns the traffic risk analysis service: an analyst uploads
// a tenant's traffic metadata (Zeek logs, Suricata EVE JSON, a pcap), a
// worker analyses it with the traffic engine (internal/traffic/analyze),
// telling internal from external by the tenant's assets, matching the
// loaded threat intelligence, and stores the findings; findings scoring
// above a threshold become alerts (one per finding key, whatever the
// number of analyses that find it). Analysts mark findings confirmed or
// false positive, trace a finding's host through the uploaded input, and
// get the periodic traffic risk report.
package risk

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/vigil-sec/vigil/internal/audit"
	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/intel"
	"github.com/vigil-sec/vigil/internal/store"
	"github.com/vigil-sec/vigil/internal/traffic"
	"github.com/vigil-sec/vigil/internal/traffic/analyze"
)

// Limits.
const (
	// MaxUpload bounds the files of one analysis, together.
	MaxUpload = 128 << 20
	// MaxFiles bounds the files of one analysis.
	MaxFiles = 32
	// MaxFindings bounds the findings one analysis keeps (highest scores).
	MaxFindings = 5000
	// MaxTraceEvents bounds the events a finding's trace returns.
	MaxTraceEvents = analyze.MaxTraceEvents
	// DefaultAlertScore is the score from which a finding becomes an alert.
	DefaultAlertScore = 0.7
	maxNote           = 4000
	maxName           = 200
	maxText           = 2000
	maxHosts          = 50
	maxSkips          = 20
	alertWindow       = 10 * 365 * 24 * time.Hour
)

// Input kinds.
const (
	KindZeek = "zeek"
	KindEVE  = "eve"
	KindPcap = "pcap"
)

// Kinds are the input kinds an analysis accepts.
func Kinds() []string { return []string{KindZeek, KindEVE, KindPcap} }

// Finding categories.
const (
	CategoryCompromised    = "compromised"
	CategoryExternalAttack = "external-attack"
	CategoryInternalAttack = "internal-attack"
	CategoryViolation      = "violation"
)

// Categories are the finding categories in display order.
func Categories() []string {
	return []string{CategoryCompromised, CategoryExternalAttack, CategoryInternalAttack, CategoryViolation}
}

// States are the states an analyst gives a finding.
func States() []string {
	return []string{store.TrafficNew, store.TrafficConfirmed, store.TrafficFalsePositive}
}

// techniques are the MITRE ATT&CK techniques of the finding classes.
var techniques = map[analyze.Class]string{
	analyze.ClassBeacon:          "T1071",
	analyze.ClassLongConnection:  "T1571",
	analyze.ClassDNSTunnel:       "T1071.004",
	analyze.ClassDGA:             "T1568.002",
	analyze.ClassScanHorizontal:  "T1046",
	analyze.ClassScanVertical:    "T1046",
	analyze.ClassBruteForce:      "T1110",
	analyze.ClassLateralMovement: "T1021",
	analyze.ClassExternalAttack:  "T1190",
}

// Technique is the MITRE ATT&CK technique of a finding class, or "".
func Technique(class string) string { return techniques[analyze.Class(class)] }

// Options configure a Service.
type Options struct {
	Logger *slog.Logger
	// Enqueue hands an analysis to the workers; nil runs it during Upload.
	Enqueue func(ctx context.Context, tenantID, analysisID string) error
	// AlertScore is the score from which a finding becomes an alert;
	// default DefaultAlertScore.
	AlertScore float64
	// OnAlert is told about each alert raised (notifications); optional.
	OnAlert func(ctx context.Context, a store.Alert) error
}

// Service runs traffic analyses and keeps their findings.
type Service struct {
	store  store.Store
	audit  *audit.Log
	opts   Options
	logger *slog.Logger
	intel  atomic.Pointer[intel.Matcher]
	now    func() time.Time
}

// NewService returns a traffic risk analysis Service.
func NewService(s store.Store, a *audit.Log, opts Options) *Service {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.AlertScore <= 0 || opts.AlertScore > 1 {
		opts.AlertScore = DefaultAlertScore
	}
	return &Service{store: s, audit: a, opts: opts, logger: opts.Logger, now: time.Now}
}

// SetIntel replaces the threat indicators analyses match; nil removes them.
func (s *Service) SetIntel(m *intel.Matcher) { s.intel.Store(m) }

// AlertScore is the score from which a finding becomes an alert.
func (s *Service) AlertScore() float64 { return s.opts.AlertScore }

// File is one uploaded file.
type File struct {
	Name string
	Data []byte
}

func invalid(field, code string, a map[string]any, format string, fa ...any) error {
	return store.NewFieldError(field, code, a, format, fa...)
}

// zeekLogKinds are the Zeek logs the engine reads.
var zeekLogKinds = []string{"conn", "dns", "http", "ssl", "x509", "files", "notice"}

// cleanName is a file's base name without control characters, bounded.
func cleanName(name string, i int) string {
	name = filepath.Base(strings.ReplaceAll(strings.TrimSpace(name), `\`, "/"))
	name = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r) || r == '/' {
			return -1
		}
		return r
	}, name)
	if name == "." || name == "" || name == ".." {
		name = fmt.Sprintf("input-%d", i+1)
	}
	return clip(name, maxName)
}

// clip cuts s to n runes.
func clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n])
}

// Upload stores an analysis of the uploaded files and hands it to the
// workers (or runs it now when no queue is configured).
func (s *Service) Upload(ctx context.Context, tenantID, kind string, files []File) (store.TrafficAnalysis, error) {
	if err := auth.Require(ctx, auth.PermEventTriage, tenantID); err != nil {
		return store.TrafficAnalysis{}, err
	}
	if !slices.Contains(Kinds(), kind) {
		return store.TrafficAnalysis{}, invalid("kind", store.CodeOneOf, map[string]any{"values": strings.Join(Kinds(), ", ")},
			"the input must be one of %s", strings.Join(Kinds(), ", "))
	}
	total := 0
	for _, f := range files {
		total += len(f.Data)
	}
	switch {
	case len(files) == 0 || total == 0:
		return store.TrafficAnalysis{}, invalid("files", store.CodeRequired, nil, "upload at least one file")
	case len(files) > MaxFiles:
		return store.TrafficAnalysis{}, invalid("files", store.CodeTooMany, map[string]any{"max": MaxFiles}, "at most %d files", MaxFiles)
	case total > MaxUpload:
		return store.TrafficAnalysis{}, invalid("files", store.CodeTooLarge, map[string]any{"max": MaxUpload}, "at most %d bytes in all", MaxUpload)
	}
	inputs := make([]store.TrafficInput, 0, len(files))
	names := make([]string, 0, len(files))
	for i, f := range files {
		name := cleanName(f.Name, i)
		if kind == KindZeek {
			k, _, _ := strings.Cut(name, ".")
			if !strings.Contains(name, ".log") || !slices.Contains(zeekLogKinds, k) {
				return store.TrafficAnalysis{}, invalid("files", store.CodeInvalidConfig, map[string]any{"reason": name},
					"%s is not a Zeek log name the analysis reads (%s: conn.log, dns.log...)", name, strings.Join(zeekLogKinds, ", "))
			}
			if slices.Contains(names, name) {
				return store.TrafficAnalysis{}, invalid("files", store.CodeInvalidConfig, map[string]any{"reason": name}, "%s is uploaded twice", name)
			}
		}
		names = append(names, name)
		inputs = append(inputs, store.TrafficInput{Name: name, Data: f.Data})
	}
	a := store.TrafficAnalysis{TenantID: tenantID, Name: clip(strings.Join(names, ", "), 500), Kind: kind,
		Status: store.TrafficPending, CreatedBy: auth.FromContext(ctx).UserID}
	if err := s.store.Traffic().CreateAnalysis(ctx, &a, inputs); err != nil {
		return store.TrafficAnalysis{}, err
	}
	if err := s.audit.Record(ctx, audit.Event{TenantID: tenantID, Action: "traffic.upload", Object: "traffic_analysis:" + a.ID,
		Detail: map[string]any{"kind": kind, "files": names, "bytes": total}}); err != nil {
		return a, err
	}
	if s.opts.Enqueue == nil {
		if err := s.Run(ctx, tenantID, a.ID); err != nil {
			return a, err
		}
		return s.store.Traffic().GetAnalysis(ctx, tenantID, a.ID)
	}
	if err := s.opts.Enqueue(ctx, tenantID, a.ID); err != nil {
		a.Status, a.Error = store.TrafficFailed, "not queued: "+err.Error()
		if ferr := s.store.Traffic().Finish(context.WithoutCancel(ctx), &a, nil); ferr != nil {
			return a, errors.Join(err, ferr)
		}
		return a, err
	}
	return a, nil
}

// Summary is an analysis's result besides its findings.
type Summary struct {
	Skips     []traffic.Skip     `json:"first_skips,omitempty"`
	Hosts     []analyze.HostRisk `json:"hosts,omitempty"`
	Total     int                `json:"total_findings"`
	Truncated bool               `json:"truncated,omitempty"` // more than MaxFindings; the highest scores kept
	Internal  []string           `json:"internal,omitempty"`  // the internal prefixes used
	Intel     int                `json:"intel_indicators,omitempty"`
	// Safelisted counts the findings the tenant's safelist removed when
	// the analysis ran (they are stored and shown again if the safelist
	// changes).
	Safelisted int `json:"safelisted,omitempty"`
	// WindowFrom and WindowTo bound an analysis of collected events.
	WindowFrom time.Time `json:"window_from,omitzero"`
	WindowTo   time.Time `json:"window_to,omitzero"`
}

// Run analyses one queued analysis; a redelivered job finds it started and
// does nothing. A failed analysis is stored with its error.
func (s *Service) Run(ctx context.Context, tenantID, id string) error {
	if err := auth.Require(ctx, auth.PermEventTriage, tenantID); err != nil {
		return err
	}
	ts := s.store.Traffic()
	if err := ts.Start(ctx, tenantID, id); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return nil
		}
		return err
	}
	a, err := ts.GetAnalysis(ctx, tenantID, id)
	if err != nil {
		return err
	}
	findings, err := s.analyse(ctx, &a)
	if err != nil {
		if ctx.Err() != nil {
			// Stopped, not failed: the analysis stays running, the job is
			// retried by the queue and finds it started.
			return ctx.Err()
		}
		a.Status, a.Error = store.TrafficFailed, clip(err.Error(), maxText)
		findings = nil
	} else {
		a.Status = store.TrafficDone
	}
	a.FinishedAt = s.now()
	if err := ts.Finish(context.WithoutCancel(ctx), &a, findings); err != nil {
		return err
	}
	s.logger.InfoContext(ctx, "traffic analysis", "tenant", tenantID, "analysis", id, "status", a.Status,
		"records", a.Records, "findings", a.Findings, "alerts", a.Alerts)
	return s.audit.Record(ctx, audit.Event{TenantID: tenantID, Action: "traffic.analyze", Object: "traffic_analysis:" + id,
		Detail: map[string]any{"status": a.Status, "records": a.Records, "findings": a.Findings, "alerts": a.Alerts, "error": a.Error}})
}

// Internal returns the tenant's internal prefixes: the private ranges
// (analyze.DefaultInternal) and the addresses and networks of its assets,
// which are internal to the tenant even when public.
func (s *Service) Internal(ctx context.Context, tenantID string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, p := range analyze.DefaultInternal {
		out = append(out, netip.MustParsePrefix(p))
	}
	for off := 0; off < 20*store.MaxPageSize; off += store.MaxPageSize {
		as, err := s.store.Assets().List(ctx, tenantID, store.AssetFilter{Page: store.Page{Limit: store.MaxPageSize, Offset: off}})
		if err != nil {
			return nil, err
		}
		for _, a := range as {
			addr := strings.TrimSpace(a.Address)
			if p, err := netip.ParsePrefix(addr); err == nil {
				out = append(out, p.Masked())
			} else if ip, err := netip.ParseAddr(addr); err == nil {
				ip = ip.Unmap()
				out = append(out, netip.PrefixFrom(ip, ip.BitLen()))
			}
		}
		if len(as) < store.MaxPageSize {
			break
		}
	}
	return out, nil
}

// indicators adapts the intel matcher to the engine.
type indicators struct{ m *intel.Matcher }

func describe(hs []intel.Hit) (string, bool) {
	if len(hs) == 0 {
		return "", false
	}
	in := hs[0].Indicator
	d := string(in.Type) + " " + in.Value
	if in.Source != "" {
		d += " (" + in.Source + ")"
	}
	return d, true
}

func (i indicators) MatchIP(a netip.Addr) (string, bool) {
	return describe(i.m.Match(intel.Event{"destination.ip": a.String()}))
}

func (i indicators) MatchDomain(name string) (string, bool) {
	return describe(i.m.Match(intel.Event{"dns.question.name": name}))
}

// read feeds an analysis's input to h: its uploaded files, or the
// collected events of its window.
func (s *Service) read(ctx context.Context, a store.TrafficAnalysis, inputs []store.TrafficInput, h traffic.Handler) (traffic.Stats, error) {
	if a.Kind == KindEvents {
		return s.readEvents(ctx, a, h)
	}
	return readFiles(ctx, a.Kind, inputs, h)
}

// readFiles feeds uploaded files to h.
func readFiles(ctx context.Context, kind string, inputs []store.TrafficInput, h traffic.Handler) (traffic.Stats, error) {
	var total traffic.Stats
	add := func(st traffic.Stats) {
		total.Lines += st.Lines
		total.Records += st.Records
		total.Skipped += st.Skipped
		for _, sk := range st.Skips {
			if len(total.Skips) < traffic.MaxSkips {
				total.Skips = append(total.Skips, sk)
			}
		}
	}
	switch kind {
	case KindZeek:
		// The directory reader orders the logs (names before connections).
		dir, err := os.MkdirTemp("", "vigil-traffic-")
		if err != nil {
			return total, err
		}
		defer func() { _ = os.RemoveAll(dir) }()
		for _, in := range inputs {
			if err := os.WriteFile(filepath.Join(dir, filepath.Base(in.Name)), in.Data, 0o600); err != nil {
				return total, err
			}
		}
		st, err := traffic.ReadZeekDir(ctx, dir, h)
		add(st)
		return total, err
	case KindEVE, KindPcap:
		rd := traffic.ReadEVE
		if kind == KindPcap {
			rd = traffic.ReadPcap
		}
		for _, in := range inputs {
			st, err := rd(ctx, bytes.NewReader(in.Data), in.Name, h)
			add(st)
			if err != nil {
				return total, fmt.Errorf("%s: %w", in.Name, err)
			}
		}
		return total, nil
	}
	return total, fmt.Errorf("unknown input kind %q", kind)
}

// analyse runs the engine over an analysis's inputs, raises the alerts of
// its strong findings and fills a's counts and summary.
func (s *Service) analyse(ctx context.Context, a *store.TrafficAnalysis) ([]store.TrafficFinding, error) {
	inputs, err := s.store.Traffic().Inputs(ctx, a.TenantID, a.ID)
	if err != nil {
		return nil, err
	}
	prefixes, err := s.Internal(ctx, a.TenantID)
	if err != nil {
		return nil, err
	}
	policy, safe, err := s.tenantRules(ctx, a.TenantID)
	if err != nil {
		return nil, err
	}
	// Every finding is stored; the tenant's safelist is applied when they
	// are read, so that changing it needs no new analysis.
	opt := analyze.Options{Internal: prefixes, Logger: s.logger, Policy: policy, Safelist: analyze.NoSafelist()}
	var sum Summary
	if len(a.Summary) > 0 {
		if err := json.Unmarshal(a.Summary, &sum); err != nil {
			return nil, err
		}
	}
	if m := s.intel.Load(); m != nil && m.Len() > 0 {
		opt.Intel = indicators{m}
		sum.Intel = m.Len()
	}
	an, err := analyze.New(opt)
	if err != nil {
		return nil, err
	}
	st, err := s.read(ctx, *a, inputs, an)
	a.Lines, a.Records, a.Skipped = st.Lines, st.Records, st.Skipped
	if err != nil {
		return nil, err
	}
	fs := an.Findings()
	a.From, a.To = an.Period()
	sum.Total = len(fs)
	sum.Skips = st.Skips[:min(len(st.Skips), maxSkips)]
	kept := make([]analyze.Finding, 0, len(fs))
	for _, f := range fs {
		if !safe.Safelisted(f) {
			kept = append(kept, f)
		}
	}
	sum.Safelisted = len(fs) - len(kept)
	hosts := analyze.RankHosts(kept, an.Zones())
	sum.Hosts = hosts[:min(len(hosts), maxHosts)]
	for _, p := range prefixes {
		if len(sum.Internal) < 100 {
			sum.Internal = append(sum.Internal, p.String())
		}
	}
	if len(fs) > MaxFindings {
		fs, sum.Truncated = fs[:MaxFindings], true
	}
	out := make([]store.TrafficFinding, 0, len(fs))
	zones := an.Zones()
	safelistedNow := map[int]bool{}
	for i, f := range fs {
		sf, err := toStore(f, zones)
		if err != nil {
			return nil, err
		}
		if safe.Safelisted(f) {
			safelistedNow[i] = true
		}
		out = append(out, sf)
	}
	alerts, err := s.raise(ctx, a.TenantID, out, func(i int) bool { return safelistedNow[i] })
	if err != nil {
		return nil, err
	}
	a.Alerts = alerts
	if a.Summary, err = json.Marshal(sum); err != nil {
		return nil, err
	}
	return out, nil
}

// Key names a finding across analyses.
func Key(f analyze.Finding) string {
	return strings.Join([]string{string(f.Class), addr(f.Src), addr(f.Dst), strconv.Itoa(int(f.DstPort)),
		clip(f.Domain, 300), clip(f.Rule, 200)}, "|")
}

func addr(a netip.Addr) string {
	if !a.IsValid() {
		return ""
	}
	return a.Unmap().String()
}

// category places a finding in the analyst's view.
func category(f analyze.Finding, zones *analyze.Zones) string {
	switch f.Class {
	case analyze.ClassViolation:
		return CategoryViolation
	case analyze.ClassExternalAttack:
		return CategoryExternalAttack
	case analyze.ClassLateralMovement:
		return CategoryInternalAttack
	case analyze.ClassScanHorizontal, analyze.ClassScanVertical, analyze.ClassBruteForce:
		if zones.Internal(f.Src) {
			return CategoryInternalAttack
		}
		return CategoryExternalAttack
	}
	if !zones.Internal(f.Src) {
		return CategoryExternalAttack
	}
	return CategoryCompromised
}

// clean removes control characters from traffic-borne text and bounds it.
func clean(s string, n int) string {
	return clip(strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r) {
			return ' '
		}
		return r
	}, s), n)
}

func toStore(f analyze.Finding, zones *analyze.Zones) (store.TrafficFinding, error) {
	f.Domain, f.Rule, f.Indicator = clean(f.Domain, 500), clean(f.Rule, 500), clean(f.Indicator, 500)
	f.Explanation = clean(f.Explanation, maxText)
	for i := range f.SubScores {
		f.SubScores[i].Detail = clean(f.SubScores[i].Detail, 500)
	}
	detail, err := json.Marshal(f)
	if err != nil {
		return store.TrafficFinding{}, err
	}
	return store.TrafficFinding{Key: Key(f), Class: string(f.Class), Category: category(f, zones), Severity: f.Severity,
		Score: f.Score, Src: addr(f.Src), Dst: addr(f.Dst), DstPort: int(f.DstPort), Proto: clean(f.Proto, 20),
		Domain: f.Domain, Rule: f.Rule, Indicator: f.Indicator, Technique: Technique(string(f.Class)), Summary: f.Explanation,
		Detail: detail, Count: f.Count, Bytes: f.Bytes, Distinct: f.Distinct, FirstSeen: f.First, LastSeen: f.Last,
		State: store.TrafficNew}, nil
}

// alertLevel maps a finding severity to an alert level.
func alertLevel(sev string) string {
	if sev == "info" {
		return "informational"
	}
	return sev
}

// Host is the tenant's host a finding is about: the destination of an
// external attack, else the source.
func Host(f store.TrafficFinding) string {
	if f.Category == CategoryExternalAttack && f.Dst != "" {
		return f.Dst
	}
	return f.Src
}

// raise makes an alert of each finding scoring at least the alert score,
// unless its key already has one; it sets AlertID on the findings and
// returns how many have an alert.
func (s *Service) raise(ctx context.Context, tenantID string, fs []store.TrafficFinding, skip func(int) bool) (int, error) {
	n := 0
	for i := range fs {
		f := &fs[i]
		if f.Score < s.opts.AlertScore || skip(i) {
			continue
		}
		id, err := s.store.Traffic().AlertForKey(ctx, tenantID, f.Key)
		if err != nil {
			return n, err
		}
		if id == "" {
			target := f.Domain
			if target == "" {
				target = f.Dst
			}
			title := "Traffic: " + f.Class + " " + f.Src
			if target != "" {
				title += " → " + target
			}
			if f.DstPort != 0 {
				title += ":" + strconv.Itoa(f.DstPort)
			}
			tags := []string{"traffic", f.Class, f.Category}
			if f.Technique != "" {
				tags = append(tags, "attack."+strings.ToLower(f.Technique))
			}
			al := store.Alert{TenantID: tenantID, GroupKey: "traffic|" + f.Key, RuleID: "traffic:" + f.Class, RuleTitle: clip(title, 500),
				Level: alertLevel(f.Severity), Tags: tags, Host: Host(*f), Count: int(min(f.Count, 1<<30)), Status: "new",
				FirstSeen: f.FirstSeen, LastSeen: f.LastSeen}
			if al.FirstSeen.IsZero() {
				al.FirstSeen, al.LastSeen = s.now(), s.now()
			}
			created, err := s.store.Alerts().Raise(ctx, &al, alertWindow, []string{"new", "acknowledged", "escalated"}, 1)
			if err != nil {
				return n, fmt.Errorf("raise traffic alert: %w", err)
			}
			id = al.ID
			if created && s.opts.OnAlert != nil {
				if err := s.opts.OnAlert(ctx, al); err != nil {
					s.logger.WarnContext(ctx, "traffic alert not notified", "alert", al.ID, "err", err)
				}
			}
		}
		f.AlertID = id
		n++
	}
	return n, nil
}

// List returns the tenant's latest analyses.
func (s *Service) List(ctx context.Context, tenantID string, p store.Page) ([]store.TrafficAnalysis, error) {
	if err := auth.Require(ctx, auth.PermEventRead, tenantID); err != nil {
		return nil, err
	}
	return s.store.Traffic().ListAnalyses(ctx, tenantID, p)
}

// Get returns an analysis and its summary.
func (s *Service) Get(ctx context.Context, tenantID, id string) (store.TrafficAnalysis, Summary, error) {
	if err := auth.Require(ctx, auth.PermEventRead, tenantID); err != nil {
		return store.TrafficAnalysis{}, Summary{}, err
	}
	a, err := s.store.Traffic().GetAnalysis(ctx, tenantID, id)
	if err != nil {
		return a, Summary{}, err
	}
	var sum Summary
	if len(a.Summary) > 0 {
		if err := json.Unmarshal(a.Summary, &sum); err != nil {
			return a, Summary{}, fmt.Errorf("traffic analysis %s: %w", id, err)
		}
	}
	if a.Status == store.TrafficDone {
		// The host ranking follows the current safelist, as the findings do.
		if sum.Hosts, err = s.rankHosts(ctx, a, sum); err != nil {
			return a, Summary{}, err
		}
	}
	return a, sum, nil
}

// rankHosts ranks the internal hosts of an analysis by the findings the
// tenant's current safelist keeps.
func (s *Service) rankHosts(ctx context.Context, a store.TrafficAnalysis, sum Summary) ([]analyze.HostRisk, error) {
	var fs []analyze.Finding
	if err := s.scanFindings(ctx, a.TenantID, store.TrafficFindingFilter{AnalysisID: a.ID}, func(f store.TrafficFinding) bool {
		fs = append(fs, fromStore(f))
		return true
	}); err != nil {
		return nil, err
	}
	var prefixes []netip.Prefix
	for _, p := range sum.Internal {
		if pr, err := netip.ParsePrefix(p); err == nil {
			prefixes = append(prefixes, pr)
		}
	}
	hosts := analyze.RankHosts(fs, analyze.NewZones(prefixes))
	return hosts[:min(len(hosts), maxHosts)], nil
}

// Findings lists a page of findings the tenant's current safelist keeps.
func (s *Service) Findings(ctx context.Context, tenantID string, f store.TrafficFindingFilter) ([]store.TrafficFinding, error) {
	if err := auth.Require(ctx, auth.PermEventRead, tenantID); err != nil {
		return nil, err
	}
	limit, skip := f.Limit, max(f.Offset, 0)
	if limit <= 0 {
		limit = defaultPageSize
	}
	limit = min(limit, store.MaxPageSize)
	out := []store.TrafficFinding{}
	err := s.scanFindings(ctx, tenantID, f, func(x store.TrafficFinding) bool {
		if skip > 0 {
			skip--
			return true
		}
		out = append(out, x)
		return len(out) < limit
	})
	return out, err
}

// CountFindings counts the findings the tenant's current safelist keeps.
func (s *Service) CountFindings(ctx context.Context, tenantID string, f store.TrafficFindingFilter) (int, error) {
	if err := auth.Require(ctx, auth.PermEventRead, tenantID); err != nil {
		return 0, err
	}
	n := 0
	err := s.scanFindings(ctx, tenantID, f, func(store.TrafficFinding) bool { n++; return true })
	return n, err
}

// Finding returns one finding and the engine's view of it (sub-scores).
func (s *Service) Finding(ctx context.Context, tenantID, id string) (store.TrafficFinding, analyze.Finding, error) {
	if err := auth.Require(ctx, auth.PermEventRead, tenantID); err != nil {
		return store.TrafficFinding{}, analyze.Finding{}, err
	}
	f, err := s.store.Traffic().GetFinding(ctx, tenantID, id)
	if err != nil {
		return f, analyze.Finding{}, err
	}
	var af analyze.Finding
	if len(f.Detail) > 0 {
		if err := json.Unmarshal(f.Detail, &af); err != nil {
			return f, af, fmt.Errorf("traffic finding %s: %w", id, err)
		}
	}
	return f, af, nil
}

// Mark records an analyst's state on a finding; a false positive also
// closes its alert as a false positive.
func (s *Service) Mark(ctx context.Context, tenantID, id, state, note string) error {
	if err := auth.Require(ctx, auth.PermEventTriage, tenantID); err != nil {
		return err
	}
	if !slices.Contains(States(), state) {
		return invalid("state", store.CodeOneOf, map[string]any{"values": strings.Join(States(), ", ")},
			"the state must be one of %s", strings.Join(States(), ", "))
	}
	if utf8.RuneCountInString(note) > maxNote {
		return invalid("note", store.CodeTooLong, map[string]any{"max": maxNote}, "at most %d characters", maxNote)
	}
	f, err := s.store.Traffic().GetFinding(ctx, tenantID, id)
	if err != nil {
		return err
	}
	user := auth.FromContext(ctx).UserID
	if err := s.store.Traffic().MarkFinding(ctx, tenantID, id, state, note, user, s.now()); err != nil {
		return err
	}
	if state == store.TrafficFalsePositive && f.AlertID != "" {
		if err := s.store.Alerts().SetStatus(ctx, tenantID, f.AlertID, "false-positive", note, user, s.now()); err != nil &&
			!errors.Is(err, store.ErrNotFound) {
			return err
		}
	}
	return s.audit.Record(ctx, audit.Event{TenantID: tenantID, Action: "traffic.mark", Object: "traffic_finding:" + id,
		Detail: map[string]any{"state": state, "note": note, "analysis": f.AnalysisID}})
}

// Trace rebuilds the timeline of a finding's host from its analysis's
// input: every record of the host from a quarter of an hour before the
// finding was first seen to a quarter of an hour after it was last seen
// (at most a day either side of its middle), the earliest MaxTraceEvents.
func (s *Service) Trace(ctx context.Context, tenantID, findingID string) ([]analyze.Event, bool, error) {
	if err := auth.Require(ctx, auth.PermEventRead, tenantID); err != nil {
		return nil, false, err
	}
	f, err := s.store.Traffic().GetFinding(ctx, tenantID, findingID)
	if err != nil {
		return nil, false, err
	}
	host, err := netip.ParseAddr(Host(f))
	if err != nil {
		return nil, false, nil
	}
	a, err := s.store.Traffic().GetAnalysis(ctx, tenantID, f.AnalysisID)
	if err != nil {
		return nil, false, err
	}
	inputs, err := s.store.Traffic().Inputs(ctx, tenantID, f.AnalysisID)
	if err != nil {
		return nil, false, err
	}
	first, last := f.FirstSeen, f.LastSeen
	if first.IsZero() {
		first = last
	}
	span := last.Sub(first)
	around := first.Add(span / 2)
	window := min(span/2+15*time.Minute, 24*time.Hour)
	events, truncated, err := analyze.Trace(ctx, host, around, window, func(ctx context.Context, h traffic.Handler) error {
		_, err := s.read(ctx, a, inputs, h)
		return err
	})
	if err != nil {
		return nil, false, err
	}
	if len(events) > MaxTraceEvents {
		events, truncated = events[:MaxTraceEvents], true
	}
	for i := range events {
		events[i].Summary = clean(events[i].Summary, 500)
	}
	return events, truncated, nil
}
