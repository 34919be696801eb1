// Package compromise owns the application compromise detection service:
// an analyst uploads a system's access logs, the weblog engine finds and
// scores attacks, the analyst marks hits true or false positive (a false
// positive can become an exclusion for the system's next analyses), an
// expert gives the verdict — compromised, attacked but not compromised, or
// clean — and the per-system report is delivered.
package compromise

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/vigil-sec/vigil/internal/audit"
	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/store"
	"github.com/vigil-sec/vigil/internal/weblog"
)

// Limits.
const (
	// MaxUpload bounds the log files of one analysis, together.
	MaxUpload = 256 << 20
	// MaxHits bounds the hits one analysis keeps (highest scores first).
	MaxHits  = 20_000
	maxFiles = 32
	maxNote  = 4000
)

// Marks an analyst gives a hit.
const (
	TruePositive  = "true-positive"
	FalsePositive = "false-positive"
)

// Verdicts returns the expert's verdicts.
func Verdicts() []string {
	return []string{string(weblog.VerdictCompromised), string(weblog.VerdictAttackedNotCompromised), string(weblog.VerdictClean)}
}

// Service runs analyses and keeps them.
type Service struct {
	store  store.Store
	audit  *audit.Log
	logger *slog.Logger
	now    func() time.Time
}

// NewService returns a compromise detection Service.
func NewService(s store.Store, a *audit.Log, logger *slog.Logger) *Service {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Service{store: s, audit: a, logger: logger, now: time.Now}
}

// File is one uploaded access log (plain or gzip).
type File struct {
	Name string
	Data []byte
}

// Result is what an analysis found.
type Result struct {
	System    string            `json:"system"`
	Coverage  []weblog.Coverage `json:"coverage"`
	Stats     weblog.Stats      `json:"stats"`
	Hits      []weblog.Hit      `json:"hits"`
	Truncated bool              `json:"truncated,omitempty"` // more than MaxHits hits; the highest scores kept
}

func invalid(field, code string, a map[string]any, format string, fa ...any) error {
	return store.NewFieldError(field, code, a, format, fa...)
}

// Analyze runs the engine over the files with the system's exclusions and
// stores the run.
func (s *Service) Analyze(ctx context.Context, tenantID, assetID string, files []File) (store.WeblogRun, error) {
	if err := auth.Require(ctx, auth.PermEventTriage, tenantID); err != nil {
		return store.WeblogRun{}, err
	}
	sys, err := s.store.Assets().Get(ctx, tenantID, assetID)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return store.WeblogRun{}, invalid("asset", store.CodeNotInTenant, nil, "choose a system of this organisation")
		}
		return store.WeblogRun{}, err
	}
	total := 0
	for _, f := range files {
		total += len(f.Data)
	}
	switch {
	case len(files) == 0 || total == 0:
		return store.WeblogRun{}, invalid("files", store.CodeRequired, nil, "upload at least one access log")
	case len(files) > maxFiles:
		return store.WeblogRun{}, invalid("files", store.CodeTooMany, map[string]any{"max": maxFiles}, "at most %d files", maxFiles)
	case total > MaxUpload:
		return store.WeblogRun{}, invalid("files", store.CodeTooLarge, map[string]any{"max": MaxUpload}, "at most %d bytes in all", MaxUpload)
	}
	exs, err := s.store.Weblog().Exclusions(ctx, tenantID, assetID)
	if err != nil {
		return store.WeblogRun{}, err
	}
	var wex []weblog.Exclusion
	for _, e := range exs {
		wex = append(wex, weblog.Exclusion{Rule: e.Rule, PathPrefix: e.PathPrefix, Reason: e.Reason})
	}
	an, err := weblog.New(weblog.Options{System: sys.Name, Exclusions: wex, Logger: s.logger})
	if err != nil {
		return store.WeblogRun{}, err
	}
	dir, err := os.MkdirTemp("", "vigil-weblog-")
	if err != nil {
		return store.WeblogRun{}, err
	}
	defer func() { _ = os.RemoveAll(dir) }()
	res := Result{System: sys.Name}
	var names []string
	for i, f := range files {
		name := filepath.Base(strings.TrimSpace(f.Name))
		if name == "." || name == "/" || name == "" {
			name = fmt.Sprintf("log-%d", i+1)
		}
		names = append(names, name)
		path := filepath.Join(dir, fmt.Sprintf("%02d-%s", i, name))
		if err := os.WriteFile(path, f.Data, 0o600); err != nil {
			return store.WeblogRun{}, err
		}
		cov, st, err := an.AnalyzeFile(ctx, path, func(h weblog.Hit) error {
			h.File = name
			res.Hits = append(res.Hits, h)
			return nil
		})
		if err != nil {
			if ctx.Err() != nil {
				return store.WeblogRun{}, ctx.Err()
			}
			reason := name + ": " + strings.ReplaceAll(err.Error(), path, name)
			return store.WeblogRun{}, invalid("files", store.CodeInvalidConfig, map[string]any{"reason": reason}, "%s", reason)
		}
		cov.File = name
		res.Coverage = append(res.Coverage, cov)
		res.Stats.Records += st.Records
		res.Stats.Prefiltered += st.Prefiltered
		res.Stats.CRSHits += st.CRSHits
		res.Stats.Hits += st.Hits
		res.Stats.Excluded += st.Excluded
	}
	slices.SortStableFunc(res.Hits, func(a, b weblog.Hit) int { return b.Score - a.Score })
	if len(res.Hits) > MaxHits {
		res.Hits, res.Truncated = res.Hits[:MaxHits], true
	}
	blob, err := json.Marshal(res)
	if err != nil {
		return store.WeblogRun{}, err
	}
	run := store.WeblogRun{TenantID: tenantID, AssetID: assetID, Name: strings.Join(names, ", "), Result: blob,
		Hits: len(res.Hits), CreatedBy: auth.FromContext(ctx).UserID}
	if utf8.RuneCountInString(run.Name) > 500 {
		run.Name = string([]rune(run.Name)[:500])
	}
	if err := s.store.Weblog().CreateRun(ctx, &run); err != nil {
		return store.WeblogRun{}, err
	}
	return run, s.audit.Record(ctx, audit.Event{TenantID: tenantID, Action: "weblog.analyze", Object: "weblog_run:" + run.ID,
		Detail: map[string]any{"system": sys.Name, "files": names, "records": res.Stats.Records, "hits": len(res.Hits)}})
}

// Get returns a run, its result and the marks by hit index.
func (s *Service) Get(ctx context.Context, tenantID, id string) (store.WeblogRun, Result, map[int]store.WeblogMark, error) {
	if err := auth.Require(ctx, auth.PermEventRead, tenantID); err != nil {
		return store.WeblogRun{}, Result{}, nil, err
	}
	run, err := s.store.Weblog().GetRun(ctx, tenantID, id)
	if err != nil {
		return run, Result{}, nil, err
	}
	var res Result
	if err := json.Unmarshal(run.Result, &res); err != nil {
		return run, Result{}, nil, fmt.Errorf("weblog run %s: %w", id, err)
	}
	ms, err := s.store.Weblog().Marks(ctx, tenantID, id)
	if err != nil {
		return run, res, nil, err
	}
	marks := make(map[int]store.WeblogMark, len(ms))
	for _, m := range ms {
		marks[m.Hit] = m
	}
	return run, res, marks, nil
}

// List returns the tenant's latest runs.
func (s *Service) List(ctx context.Context, tenantID string, p store.Page) ([]store.WeblogRun, error) {
	if err := auth.Require(ctx, auth.PermEventRead, tenantID); err != nil {
		return nil, err
	}
	return s.store.Weblog().ListRuns(ctx, tenantID, p)
}

// hitPath is the path of a hit's request line.
func hitPath(h weblog.Hit) string {
	f := strings.Fields(h.Request)
	if len(f) < 2 {
		return ""
	}
	p, _, _ := strings.Cut(f[1], "?")
	return p
}

// Mark marks hits of a run. A false positive with exclude set also
// excludes each of its detection layers on its path for the system's next
// analyses.
func (s *Service) Mark(ctx context.Context, tenantID, runID string, hits []int, mark, note string, exclude bool) error {
	if err := auth.Require(ctx, auth.PermEventTriage, tenantID); err != nil {
		return err
	}
	if mark != TruePositive && mark != FalsePositive {
		return invalid("mark", store.CodeOneOf, map[string]any{"values": TruePositive + ", " + FalsePositive}, "mark true-positive or false-positive")
	}
	if utf8.RuneCountInString(note) > maxNote {
		return invalid("note", store.CodeTooLong, map[string]any{"max": maxNote}, "at most %d characters", maxNote)
	}
	run, res, _, err := s.Get(ctx, tenantID, runID)
	if err != nil {
		return err
	}
	p := auth.FromContext(ctx)
	var ms []store.WeblogMark
	for _, i := range hits {
		if i < 0 || i >= len(res.Hits) {
			return invalid("hits", store.CodeOutOfRange, nil, "no hit %d in this analysis", i)
		}
		ms = append(ms, store.WeblogMark{Hit: i, Mark: mark, Note: note, MarkedBy: p.UserID, MarkedAt: s.now()})
	}
	if err := s.store.Weblog().Mark(ctx, tenantID, runID, ms); err != nil {
		return err
	}
	if exclude && mark == FalsePositive {
		seen := map[string]bool{}
		for _, i := range hits {
			h := res.Hits[i]
			for _, l := range h.Layers {
				key := l + "|" + hitPath(h)
				if seen[key] {
					continue
				}
				seen[key] = true
				if err := s.store.Weblog().AddExclusion(ctx, &store.WeblogExclusion{TenantID: tenantID, AssetID: run.AssetID,
					Rule: l, PathPrefix: hitPath(h), Reason: note, CreatedBy: p.UserID}); err != nil {
					return err
				}
			}
		}
	}
	return s.audit.Record(ctx, audit.Event{TenantID: tenantID, Action: "weblog.mark", Object: "weblog_run:" + runID,
		Detail: map[string]any{"hits": hits, "mark": mark, "exclude": exclude, "note": note}})
}

// SetVerdict records the expert's verdict on the system.
func (s *Service) SetVerdict(ctx context.Context, tenantID, runID, verdict, note string) error {
	if err := auth.Require(ctx, auth.PermIncidentWrite, tenantID); err != nil {
		return err
	}
	if !slices.Contains(Verdicts(), verdict) {
		return invalid("verdict", store.CodeOneOf, map[string]any{"values": strings.Join(Verdicts(), ", ")},
			"the verdict must be one of %s", strings.Join(Verdicts(), ", "))
	}
	if utf8.RuneCountInString(note) > maxNote {
		return invalid("note", store.CodeTooLong, map[string]any{"max": maxNote}, "at most %d characters", maxNote)
	}
	if err := s.store.Weblog().SetVerdict(ctx, tenantID, runID, verdict, note, auth.FromContext(ctx).UserID, s.now()); err != nil {
		return err
	}
	return s.audit.Record(ctx, audit.Event{TenantID: tenantID, Action: "weblog.verdict", Object: "weblog_run:" + runID,
		Detail: map[string]string{"verdict": verdict, "note": note}})
}
