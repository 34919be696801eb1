package risk

import (
	"context"
	"encoding/json"
	"net/netip"
	"time"

	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/report"
	"github.com/vigil-sec/vigil/internal/store"
	"github.com/vigil-sec/vigil/internal/traffic/analyze"
)

// ReportDocument builds the tenant's traffic risk report for [from, to):
// the findings active in the period that no analyst marked false
// positive (a finding found by several analyses counts once, at its
// highest score) and the analyses whose records fall in the period.
func (s *Service) ReportDocument(ctx context.Context, t store.Tenant, from, to time.Time, lang string) (*report.Document, error) {
	if err := auth.Require(ctx, auth.PermReportRead, t.ID); err != nil {
		return nil, err
	}
	ts := s.store.Traffic()
	byKey := map[string]int{}
	var fs []analyze.Finding
	// The tenant's current safelist applies: a destination safelisted
	// after the analysis is left out of the report too.
	if err := s.scanFindings(ctx, t.ID, store.TrafficFindingFilter{Since: from, Until: to,
		States: []string{store.TrafficNew, store.TrafficConfirmed}}, func(f store.TrafficFinding) bool {
		af := fromStore(f)
		if i, ok := byKey[f.Key]; ok {
			if af.Score > fs[i].Score {
				fs[i] = af
			}
			return true
		}
		byKey[f.Key] = len(fs)
		fs = append(fs, af)
		return true
	}); err != nil {
		return nil, err
	}
	var sources []analyze.ReportSource
	as, err := ts.ListAnalyses(ctx, t.ID, store.Page{Limit: store.MaxPageSize})
	if err != nil {
		return nil, err
	}
	for _, a := range as {
		if a.Status != store.TrafficDone || a.To.Before(from) || !a.From.Before(to) {
			continue
		}
		sources = append(sources, analyze.ReportSource{Name: a.Name, Kind: a.Kind, Lines: a.Lines, Records: a.Records, Skipped: a.Skipped})
	}
	internal, err := s.Internal(ctx, t.ID)
	if err != nil {
		return nil, err
	}
	if lang != "zh-CN" {
		lang = "en"
	}
	return analyze.ReportDocument(analyze.ReportInput{Tenant: t.Name, Lang: lang, From: from, To: to, GeneratedAt: s.now().UTC(),
		Sources: sources, Findings: fs, Zones: analyze.NewZones(internal)})
}

// fromStore rebuilds the engine's finding from a stored one.
func fromStore(f store.TrafficFinding) analyze.Finding {
	af := analyze.Finding{Class: analyze.Class(f.Class), Proto: f.Proto, Domain: f.Domain, Score: f.Score,
		Severity: f.Severity, First: f.FirstSeen, Last: f.LastSeen, Count: f.Count, Bytes: f.Bytes, Distinct: f.Distinct,
		Rule: f.Rule, Indicator: f.Indicator, Explanation: f.Summary, DstPort: uint16(min(max(f.DstPort, 0), 65535))} // #nosec G115 -- clamped to the port range
	af.Src, _ = netip.ParseAddr(f.Src)
	af.Dst, _ = netip.ParseAddr(f.Dst)
	if len(f.Detail) > 0 {
		var d analyze.Finding
		if json.Unmarshal(f.Detail, &d) == nil {
			af.SubScores = d.SubScores
		}
	}
	return af
}
