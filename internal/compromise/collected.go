package compromise

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/store"
)

// Bounds of an analysis of collected access logs.
const (
	// MaxCollectedLines is the most access log lines read for one tenant
	// and window; the newest are read first, so a flood keeps the latest.
	MaxCollectedLines = 500_000
	// maxSystemsScanned bounds the tenant's assets read to find systems.
	maxSystemsScanned = 10_000
)

// CollectedName names the analysis of a system's collected access logs
// of a window; it is also the run's name, so a window is analysed once.
func CollectedName(from, to time.Time) string {
	return "collected access logs " + from.UTC().Format("2006-01-02 15:04") + " – " + to.UTC().Format("2006-01-02 15:04") + " UTC"
}

type collectedLine struct {
	at   time.Time
	line string
}

// AnalyseCollected analyses, for each web system of the tenant, the access
// log lines the log pipeline received in [from, to): lines parsed as
// access logs at ingest (alone or inside a syslog message), and lines an
// agent tailed from an access log (its event.module is "access"). A line belongs to the system whose asset
// name or address is the line's host.name (the host that wrote the log);
// lines of hosts that are no asset of the tenant are left out. Each system
// is analysed like an upload, at most once per window. It returns the
// runs made.
func (s *Service) AnalyseCollected(ctx context.Context, tenantID string, from, to time.Time) ([]store.WeblogRun, error) {
	if err := auth.Require(ctx, auth.PermEventTriage, tenantID); err != nil {
		return nil, err
	}
	byHost, err := s.collectedLines(ctx, tenantID, from, to)
	if err != nil || len(byHost) == 0 {
		return nil, err
	}
	systems, err := s.systemsByHost(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	name := CollectedName(from, to)
	done, err := s.analysedAs(ctx, tenantID, name)
	if err != nil {
		return nil, err
	}
	lines := map[string][]collectedLine{}
	for host, ls := range byHost {
		if a, ok := systems[strings.ToLower(host)]; ok && !done[a.ID] {
			lines[a.ID] = append(lines[a.ID], ls...)
		}
	}
	ids := make([]string, 0, len(lines))
	for id := range lines {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	var runs []store.WeblogRun
	for _, id := range ids {
		ls := lines[id]
		slices.SortStableFunc(ls, func(a, b collectedLine) int { return a.at.Compare(b.at) })
		var b strings.Builder
		for _, l := range ls {
			if b.Len()+len(l.line)+1 > MaxUpload {
				break
			}
			b.WriteString(l.line)
			b.WriteByte('\n')
		}
		// Several nodes may run the daily job at once: the one holding
		// the lease analyses the system; the run it stores then marks the
		// day done for everyone, so the lease is kept, not released.
		now := time.Now()
		claimed, err := s.store.Weblog().Claim(ctx, tenantID, id, name, now, now.Add(collectedLease))
		if err != nil {
			return runs, err
		}
		if !claimed {
			continue
		}
		run, err := s.Analyze(ctx, tenantID, id, []File{{Name: name, Data: []byte(b.String())}})
		if err != nil {
			if rerr := s.store.Weblog().Release(ctx, tenantID, id, name); rerr != nil {
				err = errors.Join(err, rerr)
			}
			return runs, fmt.Errorf("collected access logs of %s: %w", id, err)
		}
		runs = append(runs, run)
	}
	return runs, nil
}

// collectedLines reads the window's access log lines by the host that
// wrote them, newest first up to MaxCollectedLines.
func (s *Service) collectedLines(ctx context.Context, tenantID string, from, to time.Time) (map[string][]collectedLine, error) {
	out := map[string][]collectedLine{}
	n := 0
	for _, term := range []store.FieldTerm{{Field: "format", Value: "access"}, {Field: "format", Value: "rfc3164+access"},
		{Field: "format", Value: "rfc5424+access"}, {Field: "event.module", Value: "access"}} {
		for off := 0; n < MaxCollectedLines; off += store.MaxPageSize {
			page, err := s.store.Events().Search(ctx, tenantID, store.EventQuery{Since: from, Until: to, Terms: []store.FieldTerm{term},
				Page: store.Page{Limit: store.MaxPageSize, Offset: off}})
			if err != nil {
				return nil, err
			}
			for _, e := range page {
				line := e.Original
				if v, ok := e.Fields["event.original"].(string); ok && v != "" {
					line = v // an agent's event carries the log line as it was written
				} else if v, ok := e.Fields["message"].(string); ok && v != "" && e.Format != "access" {
					line = v // the access line inside a syslog message
				}
				host, _ := e.Fields["host.name"].(string)
				if host == "" || e.Truncated || strings.ContainsAny(line, "\r\n") {
					continue
				}
				out[host] = append(out[host], collectedLine{at: e.Time, line: line})
				if n++; n >= MaxCollectedLines {
					break
				}
			}
			if len(page) < store.MaxPageSize {
				break
			}
		}
	}
	return out, nil
}

// systemsByHost maps the lower-case name and address of each asset of the
// tenant to the asset.
func (s *Service) systemsByHost(ctx context.Context, tenantID string) (map[string]store.Asset, error) {
	out := map[string]store.Asset{}
	for off := 0; off < maxSystemsScanned; off += store.MaxPageSize {
		as, err := s.store.Assets().List(ctx, tenantID, store.AssetFilter{Page: store.Page{Limit: store.MaxPageSize, Offset: off}})
		if err != nil {
			return nil, err
		}
		for _, a := range as {
			for _, k := range []string{a.Name, a.Address} {
				if k = strings.ToLower(strings.TrimSpace(k)); k != "" {
					if _, taken := out[k]; !taken {
						out[k] = a
					}
				}
			}
		}
		if len(as) < store.MaxPageSize {
			break
		}
	}
	return out, nil
}

// analysedAs reports the systems that already have a run of that name.
func (s *Service) analysedAs(ctx context.Context, tenantID, name string) (map[string]bool, error) {
	done := map[string]bool{}
	for off := 0; off < 10*store.MaxPageSize; off += store.MaxPageSize {
		runs, err := s.store.Weblog().ListRuns(ctx, tenantID, store.Page{Limit: store.MaxPageSize, Offset: off})
		if err != nil {
			return nil, err
		}
		for _, r := range runs {
			if r.Name == name {
				done[r.AssetID] = true
			}
		}
		if len(runs) < store.MaxPageSize {
			break
		}
	}
	return done, nil
}

// collectedLease is how long a node holds the analysis of one system's
// day before another may take it over (when the first died doing it).
const collectedLease = time.Hour

// AnalyseAllCollected analyses, for every enabled tenant, the collected
// access logs of the last complete period of length every before now
// (aligned to every). It runs as the system; it reports the runs made.
func (s *Service) AnalyseAllCollected(ctx context.Context, now time.Time, every time.Duration) (int, error) {
	to := now.UTC().Truncate(every)
	from := to.Add(-every)
	ts, err := s.store.Tenants().List(ctx)
	if err != nil {
		return 0, err
	}
	n := 0
	var first error
	for _, t := range ts {
		if t.Disabled {
			continue
		}
		runs, err := s.AnalyseCollected(ctx, t.ID, from, to)
		n += len(runs)
		if err != nil && first == nil {
			first = fmt.Errorf("tenant %s: %w", t.Slug, err)
		}
	}
	return n, first
}
