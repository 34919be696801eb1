package api

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/store"
	"github.com/vigil-sec/vigil/internal/traffic/analyze"
	"github.com/vigil-sec/vigil/internal/traffic/risk"
)

// TrafficAnalysis is one traffic risk analysis of uploaded traffic
// metadata.
type TrafficAnalysis struct {
	ID         string          `json:"id"`
	Name       string          `json:"name" doc:"The uploaded files' names"`
	Kind       string          `json:"kind" enum:"zeek,eve,pcap,events" doc:"events: the tenant's collected Suricata and netfilter events of an hour"`
	Status     string          `json:"status" enum:"pending,running,done,failed"`
	Error      string          `json:"error,omitempty"`
	From       *time.Time      `json:"from,omitempty" doc:"First record time"`
	To         *time.Time      `json:"to,omitempty" doc:"Last record time"`
	Lines      int64           `json:"lines"`
	Records    int64           `json:"records"`
	Skipped    int64           `json:"skipped"`
	Findings   int             `json:"findings"`
	Alerts     int             `json:"alerts" doc:"Findings that have an alert"`
	CreatedAt  time.Time       `json:"created_at"`
	FinishedAt *time.Time      `json:"finished_at,omitempty"`
	Summary    *TrafficSummary `json:"summary,omitempty" doc:"First skipped lines and the internal hosts at risk; absent in lists"`
}

// TrafficSummary is what an analysis found besides its findings.
type TrafficSummary struct {
	Skips     []TrafficSkip `json:"first_skips"`
	Hosts     []TrafficHost `json:"hosts"`
	Total     int           `json:"total_findings"`
	Truncated bool          `json:"truncated,omitempty" doc:"More findings than stored; the highest scores are kept"`
}

// TrafficSkip is a skipped input line or packet.
type TrafficSkip struct {
	Source string `json:"source"`
	Line   int64  `json:"line"`
	Reason string `json:"reason"`
}

// TrafficHost is an internal host's combined risk.
type TrafficHost struct {
	Host        string  `json:"host"`
	Score       float64 `json:"score"`
	Findings    int     `json:"findings"`
	Explanation string  `json:"explanation"`
}

// TrafficSubScore is one named part of a finding's score.
type TrafficSubScore struct {
	Name   string  `json:"name"`
	Value  float64 `json:"value"`
	Detail string  `json:"detail,omitempty"`
}

// TrafficEvent is one line of a host's timeline.
type TrafficEvent struct {
	Time    time.Time `json:"time"`
	Kind    string    `json:"kind" doc:"conn, dns, http, tls, alert, file"`
	Src     string    `json:"src"`
	Dst     string    `json:"dst,omitempty"`
	DstPort uint16    `json:"dst_port,omitempty"`
	Summary string    `json:"summary"`
}

func summaryDTO(sum risk.Summary) *TrafficSummary {
	out := &TrafficSummary{Skips: []TrafficSkip{}, Hosts: []TrafficHost{}, Total: sum.Total, Truncated: sum.Truncated}
	for _, sk := range sum.Skips {
		out.Skips = append(out.Skips, TrafficSkip{Source: sk.Source, Line: sk.Line, Reason: sk.Reason})
	}
	for _, h := range sum.Hosts {
		out.Hosts = append(out.Hosts, TrafficHost{Host: h.Host.String(), Score: h.Score, Findings: h.Findings, Explanation: h.Explanation})
	}
	return out
}

func trafficDTO(a store.TrafficAnalysis, sum *TrafficSummary) TrafficAnalysis {
	return TrafficAnalysis{ID: a.ID, Name: a.Name, Kind: a.Kind, Status: a.Status, Error: a.Error, From: optTime(a.From), To: optTime(a.To),
		Lines: a.Lines, Records: a.Records, Skipped: a.Skipped, Findings: a.Findings, Alerts: a.Alerts, CreatedAt: a.CreatedAt,
		FinishedAt: optTime(a.FinishedAt), Summary: sum}
}

// TrafficFinding is one finding of a traffic analysis.
type TrafficFinding struct {
	ID         string            `json:"id"`
	AnalysisID string            `json:"analysis_id"`
	Key        string            `json:"key" doc:"Names the finding across analyses"`
	Class      string            `json:"class"`
	Category   string            `json:"category" enum:"compromised,external-attack,internal-attack,violation"`
	Severity   string            `json:"severity"`
	Score      float64           `json:"score"`
	Src        string            `json:"src"`
	Dst        string            `json:"dst,omitempty"`
	DstPort    int               `json:"dst_port,omitempty"`
	Proto      string            `json:"proto,omitempty"`
	Domain     string            `json:"domain,omitempty"`
	Rule       string            `json:"rule,omitempty"`
	Indicator  string            `json:"indicator,omitempty"`
	Technique  string            `json:"technique,omitempty" doc:"MITRE ATT&CK technique"`
	Summary    string            `json:"summary"`
	SubScores  []TrafficSubScore `json:"sub_scores,omitempty" doc:"Absent in lists"`
	Count      int64             `json:"count"`
	Bytes      int64             `json:"bytes,omitempty"`
	FirstSeen  *time.Time        `json:"first_seen,omitempty"`
	LastSeen   *time.Time        `json:"last_seen,omitempty"`
	State      string            `json:"state" enum:"new,confirmed,false-positive"`
	Note       string            `json:"note,omitempty"`
	AlertID    string            `json:"alert_id,omitempty"`
}

func trafficFindingDTO(f store.TrafficFinding, subs []analyze.SubScore) TrafficFinding {
	var sub []TrafficSubScore
	for _, x := range subs {
		sub = append(sub, TrafficSubScore{Name: x.Name, Value: x.Value, Detail: x.Detail})
	}
	return TrafficFinding{ID: f.ID, AnalysisID: f.AnalysisID, Key: f.Key, Class: f.Class, Category: f.Category, Severity: f.Severity,
		Score: f.Score, Src: f.Src, Dst: f.Dst, DstPort: f.DstPort, Proto: f.Proto, Domain: f.Domain, Rule: f.Rule,
		Indicator: f.Indicator, Technique: f.Technique, Summary: f.Summary, SubScores: sub, Count: f.Count, Bytes: f.Bytes,
		FirstSeen: optTime(f.FirstSeen), LastSeen: optTime(f.LastSeen), State: f.State, Note: f.Note, AlertID: f.AlertID}
}

// TrafficFile is one uploaded file, base64 in JSON.
type TrafficFile struct {
	Name string `json:"name" minLength:"1" maxLength:"255"`
	Data []byte `json:"data" doc:"The file's content, base64"`
}

// TrafficUpload starts an analysis.
type TrafficUpload struct {
	Kind  string        `json:"kind" enum:"zeek,eve,pcap" doc:"zeek: Zeek logs named conn.log, dns.log...; eve: Suricata EVE JSON; pcap: pcap or pcapng"`
	Files []TrafficFile `json:"files" minItems:"1" maxItems:"32"`
}

type trafficUploadIn struct {
	TenantParam
	Body TrafficUpload
}

type trafficListIn struct {
	TenantParam
	Limit  int `query:"limit" minimum:"1" maximum:"1000" default:"100"`
	Offset int `query:"offset" minimum:"0"`
}

type trafficParamIn struct {
	TenantParam
	Analysis string `path:"analysis" maxLength:"100" doc:"Traffic analysis ID"`
}

type trafficFindingsIn struct {
	TenantParam
	Analysis string `path:"analysis" maxLength:"100" doc:"Traffic analysis ID"`
	Category string `query:"category" enum:"compromised,external-attack,internal-attack,violation," doc:"Only this category"`
	State    string `query:"state" enum:"new,confirmed,false-positive," doc:"Only this state"`
	Limit    int    `query:"limit" minimum:"1" maximum:"1000" default:"100"`
	Offset   int    `query:"offset" minimum:"0"`
}

type trafficFindingIn struct {
	TenantParam
	Analysis string `path:"analysis" maxLength:"100" doc:"Traffic analysis ID"`
	Finding  string `path:"finding" maxLength:"100" doc:"Finding ID"`
}

// TrafficMark is an analyst's marking of a finding.
type TrafficMark struct {
	State string `json:"state" enum:"new,confirmed,false-positive" doc:"A false positive also closes the finding's alert as one"`
	Note  string `json:"note,omitempty" maxLength:"4000"`
}

type trafficMarkIn struct {
	TenantParam
	Analysis string `path:"analysis" maxLength:"100" doc:"Traffic analysis ID"`
	Finding  string `path:"finding" maxLength:"100" doc:"Finding ID"`
	Body     TrafficMark
}

// TrafficTrace is a finding's host timeline.
type TrafficTrace struct {
	Host      string         `json:"host"`
	Events    []TrafficEvent `json:"events"`
	Truncated bool           `json:"truncated,omitempty" doc:"More records matched; the earliest are listed"`
}

// maxTrafficUpload bounds an upload's body: the service's limit in base64.
const maxTrafficUpload = risk.MaxUpload/3*4 + 64<<10

func (s *server) registerTraffic() {
	if s.opts.Traffic == nil {
		return
	}
	tags := []string{"traffic"}
	base := "/tenants/{tenant}/traffic-analyses"
	register(s, inTenant(auth.PermEventTriage), huma.Operation{OperationID: "upload-traffic", Method: http.MethodPost, Path: base,
		Summary: "Upload traffic metadata for analysis", Description: "Zeek logs, a Suricata EVE JSON file or a pcap; the analysis " +
			"is done by a worker, internal hosts told from the tenant's assets. Findings scoring at least the alert score become alerts.",
		DefaultStatus: http.StatusAccepted, Tags: tags, MaxBodyBytes: maxTrafficUpload}, s.uploadTraffic)
	register(s, inTenant(auth.PermEventRead), huma.Operation{OperationID: "list-traffic-analyses", Method: http.MethodGet, Path: base,
		Summary: "List traffic analyses", Description: "Newest first.", Tags: tags}, s.listTraffic)
	register(s, inTenant(auth.PermEventRead), huma.Operation{OperationID: "get-traffic-analysis", Method: http.MethodGet,
		Path: base + "/{analysis}", Summary: "Get a traffic analysis with its summary", Tags: tags}, s.getTraffic)
	register(s, inTenant(auth.PermEventRead), huma.Operation{OperationID: "list-traffic-findings", Method: http.MethodGet,
		Path: base + "/{analysis}/findings", Summary: "List an analysis's findings", Description: "Highest score first.", Tags: tags},
		s.listTrafficFindings)
	register(s, inTenant(auth.PermEventRead), huma.Operation{OperationID: "get-traffic-finding", Method: http.MethodGet,
		Path: base + "/{analysis}/findings/{finding}", Summary: "Get a finding with its sub-scores", Tags: tags}, s.getTrafficFinding)
	register(s, inTenant(auth.PermEventRead), huma.Operation{OperationID: "trace-traffic-finding", Method: http.MethodGet,
		Path: base + "/{analysis}/findings/{finding}/trace", Summary: "Trace a finding's host",
		Description: "The host's connections, DNS, HTTP, TLS, alerts and files around the finding, re-read from the uploaded input.",
		Tags:        tags}, s.traceTrafficFinding)
	register(s, inTenant(auth.PermEventTriage), huma.Operation{OperationID: "mark-traffic-finding", Method: http.MethodPost,
		Path: base + "/{analysis}/findings/{finding}/mark", Summary: "Mark a finding", Tags: tags}, s.markTrafficFinding)
	s.registerTrafficSettings()
}

func (s *server) uploadTraffic(ctx context.Context, in *trafficUploadIn) (*out[TrafficAnalysis], error) {
	t, err := pathTenant(ctx)
	if err != nil {
		return nil, err
	}
	files := make([]risk.File, 0, len(in.Body.Files))
	for _, f := range in.Body.Files {
		files = append(files, risk.File{Name: f.Name, Data: f.Data})
	}
	a, err := s.opts.Traffic.Upload(ctx, t.ID, in.Body.Kind, files)
	if err != nil {
		return nil, err
	}
	return reply(trafficDTO(a, nil))
}

func (s *server) listTraffic(ctx context.Context, in *trafficListIn) (*out[[]TrafficAnalysis], error) {
	t, err := pathTenant(ctx)
	if err != nil {
		return nil, err
	}
	as, err := s.opts.Traffic.List(ctx, t.ID, store.Page{Limit: in.Limit, Offset: in.Offset})
	if err != nil {
		return nil, err
	}
	return reply(items(as, func(a store.TrafficAnalysis) TrafficAnalysis { return trafficDTO(a, nil) }))
}

func (s *server) getTraffic(ctx context.Context, in *trafficParamIn) (*out[TrafficAnalysis], error) {
	t, err := pathTenant(ctx)
	if err != nil {
		return nil, err
	}
	a, sum, err := s.opts.Traffic.Get(ctx, t.ID, in.Analysis)
	if err != nil {
		return nil, err
	}
	return reply(trafficDTO(a, summaryDTO(sum)))
}

func (s *server) listTrafficFindings(ctx context.Context, in *trafficFindingsIn) (*out[[]TrafficFinding], error) {
	t, err := pathTenant(ctx)
	if err != nil {
		return nil, err
	}
	if _, _, err := s.opts.Traffic.Get(ctx, t.ID, in.Analysis); err != nil {
		return nil, err
	}
	f := store.TrafficFindingFilter{AnalysisID: in.Analysis, Category: in.Category, Page: store.Page{Limit: in.Limit, Offset: in.Offset}}
	if in.State != "" {
		f.States = []string{in.State}
	}
	fs, err := s.opts.Traffic.Findings(ctx, t.ID, f)
	if err != nil {
		return nil, err
	}
	return reply(items(fs, func(f store.TrafficFinding) TrafficFinding { return trafficFindingDTO(f, nil) }))
}

// finding returns a finding of the analysis in the path.
func (s *server) trafficFinding(ctx context.Context, in *trafficFindingIn) (store.TrafficFinding, analyze.Finding, error) {
	t, err := pathTenant(ctx)
	if err != nil {
		return store.TrafficFinding{}, analyze.Finding{}, err
	}
	f, d, err := s.opts.Traffic.Finding(ctx, t.ID, in.Finding)
	if err != nil {
		return f, d, err
	}
	if f.AnalysisID != in.Analysis {
		return f, d, store.ErrNotFound
	}
	return f, d, nil
}

func (s *server) getTrafficFinding(ctx context.Context, in *trafficFindingIn) (*out[TrafficFinding], error) {
	f, d, err := s.trafficFinding(ctx, in)
	if err != nil {
		return nil, err
	}
	return reply(trafficFindingDTO(f, d.SubScores))
}

func (s *server) traceTrafficFinding(ctx context.Context, in *trafficFindingIn) (*out[TrafficTrace], error) {
	f, _, err := s.trafficFinding(ctx, in)
	if err != nil {
		return nil, err
	}
	events, truncated, err := s.opts.Traffic.Trace(ctx, f.TenantID, f.ID)
	if err != nil {
		return nil, err
	}
	out := make([]TrafficEvent, 0, len(events))
	for _, e := range events {
		ev := TrafficEvent{Time: e.Time, Kind: e.Kind, Src: e.Src.String(), DstPort: e.DstPort, Summary: e.Summary}
		if e.Dst.IsValid() {
			ev.Dst = e.Dst.String()
		}
		out = append(out, ev)
	}
	return reply(TrafficTrace{Host: risk.Host(f), Events: out, Truncated: truncated})
}

func (s *server) markTrafficFinding(ctx context.Context, in *trafficMarkIn) (*out[TrafficFinding], error) {
	fin := &trafficFindingIn{TenantParam: in.TenantParam, Analysis: in.Analysis, Finding: in.Finding}
	f, _, err := s.trafficFinding(ctx, fin)
	if err != nil {
		return nil, err
	}
	if err := s.opts.Traffic.Mark(ctx, f.TenantID, f.ID, in.Body.State, in.Body.Note); err != nil {
		return nil, err
	}
	f, d, err := s.trafficFinding(ctx, fin)
	if err != nil {
		return nil, err
	}
	return reply(trafficFindingDTO(f, d.SubScores))
}
