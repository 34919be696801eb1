// Package archive keeps the deliverable reports Vigil generates for a
// tenant: it renders a report.Document to HTML, PDF or XLSX, stores the
// bytes with their SHA-256, and lists and serves them. Every service ends
// in one of these.
package archive

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"time"

	"github.com/vigil-sec/vigil/internal/audit"
	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/report"
	"github.com/vigil-sec/vigil/internal/store"
)

// Service renders and archives reports.
type Service struct {
	store  store.ReportStore
	audit  *audit.Log
	render report.Options
	now    func() time.Time
}

// Options configures a Service.
type Options struct {
	Logger *slog.Logger
	// BrowserPath is the Chromium binary for PDF output ("" looks it up).
	BrowserPath string
	Now         func() time.Time
}

// NewService returns an archive Service.
func NewService(s store.ReportStore, a *audit.Log, opts Options) *Service {
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	return &Service{store: s, audit: a, render: report.Options{Logger: opts.Logger, BrowserPath: opts.BrowserPath}, now: now}
}

// Request is one report to generate. The caller has checked the user may
// produce it; the archive checks only that the tenant is the caller's.
type Request struct {
	TenantID string
	Service  string // catalogue code
	Kind     string
	SourceID string
	Format   report.Format
	Doc      *report.Document
}

// ContentType is the media type of an archived report's format.
func ContentType(format string) string {
	switch report.Format(format) {
	case report.FormatPDF:
		return "application/pdf"
	case report.FormatXLSX:
		return "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
	}
	return "text/html; charset=utf-8"
}

// Generate renders the document and archives it.
func (s *Service) Generate(ctx context.Context, req Request) (store.Report, error) {
	if err := auth.Require(ctx, auth.PermTenantRead, req.TenantID); err != nil {
		return store.Report{}, err
	}
	if req.Doc.GeneratedAt.IsZero() {
		req.Doc.GeneratedAt = s.now().UTC()
	}
	if req.Doc.Author == "" {
		req.Doc.Author = auth.FromContext(ctx).Name()
	}
	var buf bytes.Buffer
	if err := report.Render(ctx, req.Doc, req.Format, &buf, s.render); err != nil {
		return store.Report{}, fmt.Errorf("render %s report: %w", req.Format, err)
	}
	sum := sha256.Sum256(buf.Bytes())
	r := store.Report{TenantID: req.TenantID, Service: req.Service, Kind: req.Kind, SourceID: req.SourceID,
		Title: req.Doc.Title, Format: string(req.Format), Lang: req.Doc.Lang, Content: buf.Bytes(),
		SHA256: hex.EncodeToString(sum[:]), CreatedBy: auth.FromContext(ctx).UserID}
	if err := s.store.Create(ctx, &r); err != nil {
		return store.Report{}, fmt.Errorf("archive report: %w", err)
	}
	return r, s.audit.Record(ctx, audit.Event{TenantID: req.TenantID, Action: "report.generate", Object: "report:" + r.ID,
		Detail: map[string]any{"kind": r.Kind, "format": r.Format, "source": r.SourceID, "sha256": r.SHA256, "size": r.Size}})
}

// List returns a tenant's archived reports, newest first.
func (s *Service) List(ctx context.Context, tenantID string, f store.ReportFilter) ([]store.Report, error) {
	if err := auth.Require(ctx, auth.PermReportRead, tenantID); err != nil {
		return nil, err
	}
	return s.store.List(ctx, tenantID, f)
}

// Get returns one archived report with its content, after checking the
// stored bytes still hash to the recorded SHA-256.
func (s *Service) Get(ctx context.Context, tenantID, id string) (store.Report, error) {
	if err := auth.Require(ctx, auth.PermReportRead, tenantID); err != nil {
		return store.Report{}, err
	}
	r, err := s.store.Get(ctx, tenantID, id)
	if err != nil {
		return store.Report{}, err
	}
	sum := sha256.Sum256(r.Content)
	if hex.EncodeToString(sum[:]) != r.SHA256 {
		return store.Report{}, fmt.Errorf("report %s: stored content does not match its SHA-256; refusing to serve it", id)
	}
	return r, s.audit.Record(ctx, audit.Event{TenantID: tenantID, Action: "report.download", Object: "report:" + id})
}
