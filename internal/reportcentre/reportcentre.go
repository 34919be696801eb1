// Package reportcentre owns the catalogue of Vigil's deliverable reports:
// every service registers the reports it produces (name, service,
// parameters, formats, how to build the document), and the centre
// generates them on demand or on the schedule set in each tenant's service
// catalogue, archives every version and sends it to the tenant's channels.
package reportcentre

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/vigil-sec/vigil/internal/archive"
	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/report"
	"github.com/vigil-sec/vigil/internal/store"
)

// Params are what one report is built from: a source object (a discovery
// run, a review, a case) or a period.
type Params struct {
	SourceID string
	From, To time.Time // the period, [From, To), UTC
	Lang     string    // "en" or "zh-CN"
}

// BuildFunc builds the document of one report.
type BuildFunc func(ctx context.Context, t store.Tenant, p Params) (*report.Document, error)

// Kind is one report of the catalogue.
type Kind struct {
	Code    string // stable name, also the archive's kind ("monitoring")
	Service string // the tenant.Catalogue code it belongs to
	NameEN  string
	NameZH  string
	// Periodic kinds cover a period and can be scheduled; the others report
	// on one source object, named by Source ("discovery-run").
	Periodic bool
	Source   string
	Formats  []report.Format
	Build    BuildFunc
}

// Archiver stores a rendered report; *archive.Service is one.
type Archiver interface {
	Generate(ctx context.Context, req archive.Request) (store.Report, error)
	List(ctx context.Context, tenantID string, f store.ReportFilter) ([]store.Report, error)
}

// Sender delivers an archived report to the tenant's channels;
// *alerting.Service is one.
type Sender interface {
	SendReport(ctx context.Context, r store.Report, summary string) error
}

// Options configure a Centre.
type Options struct {
	// Format of scheduled reports; default PDF when a browser is
	// configured (the caller decides), else HTML.
	Format report.Format
	// Lang of scheduled reports; default "zh-CN".
	Lang   string
	Sender Sender
	Now    func() time.Time
	Logger *slog.Logger
}

// Centre is the report catalogue and scheduler.
type Centre struct {
	store   store.Store
	archive Archiver
	kinds   []Kind
	opts    Options
	now     func() time.Time
	logger  *slog.Logger
}

// New returns an empty Centre; services register their kinds with Register.
func New(st store.Store, a Archiver, opts Options) *Centre {
	if opts.Format == "" {
		opts.Format = report.FormatHTML
	}
	if opts.Lang == "" {
		opts.Lang = "zh-CN"
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	l := opts.Logger
	if l == nil {
		l = slog.New(slog.DiscardHandler)
	}
	return &Centre{store: st, archive: a, opts: opts, now: now, logger: l}
}

// Register adds a kind to the catalogue.
func (c *Centre) Register(k Kind) error {
	switch {
	case k.Code == "" || k.Service == "" || k.NameEN == "" || k.NameZH == "" || k.Build == nil:
		return fmt.Errorf("report kind %q: code, service, names and build are required", k.Code)
	case len(k.Formats) == 0:
		return fmt.Errorf("report kind %q: no formats", k.Code)
	case k.Periodic == (k.Source != ""):
		return fmt.Errorf("report kind %q: a kind is either periodic or about a source", k.Code)
	case slices.ContainsFunc(c.kinds, func(x Kind) bool { return x.Code == k.Code }):
		return fmt.Errorf("report kind %q registered twice", k.Code)
	}
	c.kinds = append(c.kinds, k)
	return nil
}

// Kinds lists the catalogue in registration order.
func (c *Centre) Kinds() []Kind { return slices.Clone(c.kinds) }

// Kind returns one kind of the catalogue.
func (c *Centre) Kind(code string) (Kind, bool) {
	i := slices.IndexFunc(c.kinds, func(k Kind) bool { return k.Code == code })
	if i < 0 {
		return Kind{}, false
	}
	return c.kinds[i], true
}

// ErrUnknownKind is returned for a report code not in the catalogue.
var ErrUnknownKind = errors.New("unknown report")

// Generate builds, renders and archives one report for the caller, who
// must be allowed to read the tenant's reports.
func (c *Centre) Generate(ctx context.Context, t store.Tenant, code string, p Params, f report.Format) (store.Report, error) {
	if err := auth.Require(ctx, auth.PermReportRead, t.ID); err != nil {
		return store.Report{}, err
	}
	k, ok := c.Kind(code)
	if !ok {
		return store.Report{}, store.NewFieldError("kind", store.CodeOneOf, map[string]any{"allowed": c.codes()}, "%s: %q", ErrUnknownKind, code)
	}
	if !slices.Contains(k.Formats, f) {
		return store.Report{}, store.NewFieldError("format", store.CodeOneOf, map[string]any{"allowed": formats(k.Formats)},
			"the %s report comes as %v", k.Code, formats(k.Formats))
	}
	source := p.SourceID
	if k.Periodic {
		if p.From.IsZero() || !p.To.After(p.From) {
			return store.Report{}, store.NewFieldError("to", store.CodeEndBeforeStart, nil, "the period must end after it starts")
		}
		source = PeriodKey(p.From, p.To)
	} else if source == "" {
		return store.Report{}, store.NewFieldError("source", store.CodeRequired, nil, "the %s report needs a %s", k.Code, k.Source)
	}
	doc, err := k.Build(ctx, t, p)
	if err != nil {
		return store.Report{}, err
	}
	return c.archive.Generate(ctx, archive.Request{TenantID: t.ID, Service: k.Service, Kind: k.Code, SourceID: source, Format: f, Doc: doc})
}

func (c *Centre) codes() []string {
	out := make([]string, 0, len(c.kinds))
	for _, k := range c.kinds {
		out = append(out, k.Code)
	}
	return out
}

func formats(fs []report.Format) []string {
	out := make([]string, 0, len(fs))
	for _, f := range fs {
		out = append(out, string(f))
	}
	return out
}

// PeriodKey names a period in the archive: "2026-11-16..2026-11-23".
func PeriodKey(from, to time.Time) string {
	return from.UTC().Format(time.DateOnly) + ".." + to.UTC().Format(time.DateOnly)
}

// LastPeriod is the last complete period of a report frequency before
// now, in UTC: yesterday, last week (Monday to Monday), last month, last
// quarter or last year. Other frequencies (per-engagement) have none.
func LastPeriod(freq string, now time.Time) (from, to time.Time, ok bool) {
	now = now.UTC()
	day := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	switch freq {
	case "daily":
		return day.AddDate(0, 0, -1), day, true
	case "weekly":
		monday := day.AddDate(0, 0, -((int(day.Weekday()) + 6) % 7))
		return monday.AddDate(0, 0, -7), monday, true
	case "monthly":
		first := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC)
		return first.AddDate(0, -1, 0), first, true
	case "quarterly":
		q := time.Date(now.Year(), now.Month()-(now.Month()-1)%3, 1, 0, 0, 0, 0, time.UTC)
		return q.AddDate(0, -3, 0), q, true
	case "yearly":
		y := time.Date(now.Year(), 1, 1, 0, 0, 0, 0, time.UTC)
		return y.AddDate(-1, 0, 0), y, true
	}
	return time.Time{}, time.Time{}, false
}

// RunDue generates, archives and sends every scheduled report whose last
// period has no archived version yet: for each enabled tenant, each
// enabled subscription and each periodic kind of its service. It runs as
// the system (the caller passes a system principal in ctx). One report's
// failure is logged and does not stop the others; it returns how many
// reports it made.
func (c *Centre) RunDue(ctx context.Context) (int, error) {
	ts, err := c.store.Tenants().List(ctx)
	if err != nil {
		return 0, err
	}
	made := 0
	now := c.now()
	for _, t := range ts {
		if t.Disabled {
			continue
		}
		subs, err := c.store.Services().List(ctx, t.ID)
		if err != nil {
			return made, err
		}
		for _, sub := range subs {
			from, to, ok := LastPeriod(sub.ReportFrequency, now)
			if !sub.Enabled || !ok || (!sub.StartsOn.IsZero() && to.Before(sub.StartsOn)) ||
				(!sub.EndsOn.IsZero() && from.After(sub.EndsOn)) {
				continue
			}
			for _, k := range c.kinds {
				if !k.Periodic || k.Service != sub.Service {
					continue
				}
				done, err := c.archived(ctx, t.ID, k, PeriodKey(from, to))
				if err != nil {
					return made, err
				}
				if done {
					continue
				}
				f := c.opts.Format
				if !slices.Contains(k.Formats, f) {
					f = k.Formats[0]
				}
				r, err := c.Generate(ctx, t, k.Code, Params{From: from, To: to, Lang: c.opts.Lang}, f)
				if err != nil {
					c.logger.Error("scheduled report", "tenant", t.Slug, "report", k.Code, "error", err)
					continue
				}
				made++
				if c.opts.Sender != nil {
					if err := c.opts.Sender.SendReport(ctx, r, PeriodKey(from, to)); err != nil {
						c.logger.Warn("scheduled report not sent", "tenant", t.Slug, "report", k.Code, "error", err)
					}
				}
			}
		}
	}
	return made, nil
}

// archived reports whether a report of kind k for source is in the archive.
func (c *Centre) archived(ctx context.Context, tenantID string, k Kind, source string) (bool, error) {
	rs, err := c.archive.List(ctx, tenantID, store.ReportFilter{Service: k.Service, SourceID: source})
	if err != nil {
		return false, err
	}
	return slices.ContainsFunc(rs, func(r store.Report) bool { return r.Kind == k.Code }), nil
}
