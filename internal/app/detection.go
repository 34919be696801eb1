package app

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/vigil-sec/vigil/internal/detect"
	"github.com/vigil-sec/vigil/internal/logs"
	"github.com/vigil-sec/vigil/internal/logs/evtx"
	"github.com/vigil-sec/vigil/internal/pipeline"
	"github.com/vigil-sec/vigil/internal/store"
)

// Detection wiring: the Sigma rules run by a detect.Service (per-tenant
// settings, custom rules, correlations whose state survives restarts)
// behind the pipeline that stores events, and EVTX files accepted on the
// HTTP ingest path.

// maxAlertEvents bounds the event IDs one alert keeps (as the pipeline's).
const maxAlertEvents = 100

// MaxEVTXUpload bounds an .evtx file sent to the ingest endpoint.
const MaxEVTXUpload = 64 << 20

// newRulesService builds the detection service with no built-in rules;
// loadRules gives it the rule set.
func (a *App) newRulesService() *detect.Service {
	def, err := detect.DefaultPipeline()
	var ps *detect.PipelineSet
	if err == nil {
		ps = detect.NewPipelineSet(def)
	} else {
		a.Logger.Warn("default sigma pipeline not loaded", "err", err)
	}
	auto, _ := logs.NewRegistry().Lookup("auto")
	return detect.NewService(nil, nil, detect.ServiceOptions{Logger: a.Logger, Store: a.Store.Detection(), Pipelines: ps,
		Audit: a.Audit, NodeID: a.nodeID(), Sample: func(line []byte) (map[string]any, error) {
			ev, err := logs.ParseRecord(auto, line, logs.Meta{}, false)
			if err != nil {
				return nil, err
			}
			return ev.DetectFields(), nil
		}})
}

// setRules hands the loaded rule set to the detection service and, the
// first time, reads the tenants' custom rules, settings and saved
// correlation state.
func (a *App) setRules(ctx context.Context, res *detect.LoadResult) error {
	if a.Rules == nil {
		a.Rules = a.newRulesService()
	}
	a.Rules.SetBase(res.Rules, res.Correlations)
	var err error
	a.rulesLoaded.Do(func() { err = a.Rules.Load(ctx) })
	return err
}

// startDetection saves the correlation state every minute and at
// shutdown.
func (a *App) startDetection(ctx context.Context) func() error {
	if a.Rules == nil {
		return func() error { return nil }
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); a.Rules.Run(ctx, 0) }()
	return func() error { cancel(); <-done; return nil }
}

// detectSink is the sink of ingested events: the pipeline stores them
// (and matches threat indicators), then the detection service matches
// the tenant's rules and correlations and raises their alerts.
type detectSink struct{ a *App }

var _ logs.Sink = detectSink{}

// eventSink returns the sink listeners and the spool write to.
func (a *App) eventSink() logs.Sink { return detectSink{a} }

// Write implements logs.Sink. A batch redelivered after a failure is
// matched again; its alerts join the open ones of the same rule and host,
// and correlations count each event ID once, so the redelivery does not
// inflate their counts.
func (d detectSink) Write(ctx context.Context, events []logs.Event) error {
	if err := d.a.Pipeline.Write(ctx, events); err != nil {
		return err
	}
	d.a.deviceChanges(ctx, events) // device config-change lines: live backups (traps.go)
	svc := d.a.Rules
	if svc == nil {
		return nil
	}
	for i := range events {
		e := &events[i]
		det := svc.DetectEvent(e.Tenant, e.ID, detect.NewEvent(e.DetectFields()), e.Time)
		host := eventHost(e.Fields)
		for _, r := range det.Rules {
			al := store.Alert{TenantID: e.Tenant, RuleID: storable(r.ID), RuleTitle: storable(r.Title), Level: alertLevel(r.Level),
				Tags: storableAll(r.Tags), Host: host, EventIDs: []string{e.ID}, Status: "new", FirstSeen: e.Time, LastSeen: e.Time}
			if al.RuleID == "" {
				al.RuleID = detect.RuleKey(r)
			}
			al.GroupKey = al.RuleID + "|" + host
			if err := d.raise(ctx, al); err != nil {
				return err
			}
		}
		if err := d.raiseCorrelations(ctx, e, host, det.Correlations); err != nil {
			return err
		}
	}
	return nil
}

// raiseCorrelations raises the alerts of the correlations that fired
// with event e on host.
func (d detectSink) raiseCorrelations(ctx context.Context, e *logs.Event, host string, fired []*detect.CorrelationAlert) error {
	for _, c := range fired {
		group := make([]string, 0, len(c.Group))
		for k, v := range c.Group {
			group = append(group, k+"="+v)
		}
		slices.Sort(group)
		h := host
		if len(group) > 0 {
			h = storable(strings.Join(group, ", "))
		}
		id := storable(c.RuleID)
		if id == "" {
			id = "correlation:" + storable(c.RuleTitle)
		}
		al := store.Alert{TenantID: e.Tenant, GroupKey: id + "|" + h, RuleID: id, RuleTitle: storable(c.RuleTitle),
			Level: alertLevel(c.Level), Tags: append(storableAll(c.Tags), "correlation:"+string(c.Type)), Host: cutText(h, 512),
			EventIDs: []string{e.ID}, Status: "new", FirstSeen: c.First, LastSeen: c.Last}
		if err := d.raise(ctx, al); err != nil {
			return err
		}
	}
	return nil
}

func (d detectSink) raise(ctx context.Context, al store.Alert) error {
	al.RuleID, al.GroupKey = cutText(al.RuleID, 512), cutText(al.GroupKey, 1024)
	created, err := d.a.Store.Alerts().Raise(ctx, &al, pipeline.DefaultWindow, pipeline.OpenAlertStatuses(), maxAlertEvents)
	if err != nil {
		return fmt.Errorf("raise alert for %s: %w", al.RuleID, err)
	}
	if created && d.a.Alerting != nil {
		if err := d.a.Alerting.Alerted(asSystem(ctx), al); err != nil {
			d.a.Logger.WarnContext(ctx, "alert not notified", "alert", al.ID, "err", err)
		}
	}
	return nil
}

func alertLevel(l string) string {
	if l = strings.ToLower(l); l == "" {
		return "medium"
	}
	return l
}

// eventHost is the host an alert is grouped by, as the pipeline stores it.
func eventHost(f map[string]any) string {
	for _, k := range []string{"host.name", "host.hostname", "Computer", "observer.hostname", "source.ip", "client.ip"} {
		if s, ok := f[k].(string); ok && s != "" {
			return cutText(storable(s), 512)
		}
	}
	return ""
}

// storable makes text storable in both drivers (no NUL, valid UTF-8).
func storable(s string) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	return strings.ReplaceAll(s, "\x00", "\uFFFD")
}

func storableAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = storable(s)
	}
	return out
}

func cutText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// ingestWithEVTX serves POST /ingest/events: a body that starts with the
// EVTX signature is read as a Windows event log file (at most
// MaxEVTXUpload bytes); anything else goes to the JSON handler. An EVTX
// file whose header cannot be read is refused with 400 and nothing is
// stored; its events are stored in batches, and the answer (202) counts
// them and the records that had to be skipped.
func (a *App) ingestWithEVTX(jsonH http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			jsonH.ServeHTTP(w, r)
			return
		}
		br := bufio.NewReaderSize(r.Body, 512)
		head, _ := br.Peek(8)
		r.Body = struct {
			io.Reader
			io.Closer
		}{br, r.Body}
		if !evtx.IsEVTX(head) {
			jsonH.ServeHTTP(w, r)
			return
		}
		reply := func(status int, v any) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			_ = json.NewEncoder(w).Encode(v)
		}
		tenantID, err := a.ingestTenant(r)
		if err != nil {
			reply(http.StatusUnauthorized, map[string]string{"error": "unauthorised"})
			return
		}
		data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxEVTXUpload))
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			reply(http.StatusRequestEntityTooLarge, map[string]string{"error": fmt.Sprintf("EVTX file larger than %d bytes", MaxEVTXUpload)})
			return
		}
		if err != nil {
			reply(http.StatusBadRequest, map[string]string{"error": "body could not be read"})
			return
		}
		n, skipped, err := a.importEVTX(r.Context(), data, logs.Meta{Source: r.RemoteAddr, Tenant: tenantID})
		var bad *evtxRefused
		switch {
		case errors.As(err, &bad):
			reply(http.StatusBadRequest, map[string]string{"error": bad.Error()})
		case err != nil:
			a.Logger.Warn("evtx ingest failed", "err", err)
			reply(http.StatusServiceUnavailable, map[string]any{"error": "events not stored; retry", "accepted": n})
		default:
			reply(http.StatusAccepted, map[string]int{"accepted": n, "dead_lettered": skipped})
		}
	})
}

// evtxRefused is a file that is not a readable EVTX file.
type evtxRefused struct{ err error }

func (e *evtxRefused) Error() string { return e.err.Error() }

// evtxBatch is how many events go to the sink at once.
const evtxBatch = 500

// importEVTX parses an EVTX file and writes its events to the ingest sink
// (the events queue on a shared bus), under IDs derived from the records
// and the sender's credential (stableIngestIDs), so an upload sent again
// after a lost answer is stored once. It returns the events accepted and
// the records skipped.
func (a *App) importEVTX(ctx context.Context, data []byte, meta logs.Meta) (int, int, error) {
	res, err := evtx.Events(data, meta, evtx.Limits{MaxFileSize: MaxEVTXUpload})
	if err != nil {
		return 0, 0, &evtxRefused{err}
	}
	for _, s := range res.Skipped {
		a.Logger.Debug("evtx record skipped", "source", meta.Source, "reason", s.Error())
	}
	stableIngestIDs(ingestCredential(ctx), res.Events)
	sink := a.ingestSink(false)
	stored := 0
	for len(res.Events) > 0 {
		n := min(evtxBatch, len(res.Events))
		if err := sink.Write(ctx, res.Events[:n]); err != nil {
			return stored, len(res.Skipped), err
		}
		stored += n
		res.Events = res.Events[n:]
	}
	return stored, len(res.Skipped), nil
}
