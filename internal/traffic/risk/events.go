package risk

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-sec/vigil/internal/audit"
	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/store"
	"github.com/vigil-sec/vigil/internal/traffic"
)

// KindEvents is an analysis of the tenant's collected events (Suricata
// EVE, Zeek and netfilter logs received by the log pipeline, NetFlow and
// IPFIX records received by the flow collector) over a window.
const KindEvents = "events"

// Bounds of an analysis of collected events: the window is read an hour
// at a time, at most MaxEventsPerHour events of each format an hour.
const (
	MaxEventsPerHour = 20_000
	eventWindowStep  = time.Hour
)

// eventFormats are the collected event formats the analysis reads.
var eventFormats = []string{"suricata", "netfilter", "netflow", "zeek"}

// zeekEventKinds are the Zeek logs read from collected events, in the
// order the analysis needs them: names (ssl, http, dns) before the
// connections they name.
var zeekEventKinds = []string{"ssl", "http", "dns", "conn"}

// eventWindow is the window of an analysis of collected events, kept in
// its summary.
type eventWindow struct {
	From time.Time `json:"window_from"`
	To   time.Time `json:"window_to"`
}

// EventsName names the analysis of collected events of a window.
func EventsName(from, to time.Time) string {
	return "collected events " + from.UTC().Format("2006-01-02 15:04") + " – " + to.UTC().Format("2006-01-02 15:04") + " UTC"
}

// AnalyseEvents analyses the tenant's collected Suricata EVE and
// netfilter events of [from, to), unless an analysis of that window
// exists or there is no such event; it reports whether it analysed.
func (s *Service) AnalyseEvents(ctx context.Context, tenantID string, from, to time.Time) (store.TrafficAnalysis, bool, error) {
	if err := auth.Require(ctx, auth.PermEventTriage, tenantID); err != nil {
		return store.TrafficAnalysis{}, false, err
	}
	name := EventsName(from, to)
	as, err := s.store.Traffic().ListAnalyses(ctx, tenantID, store.Page{Limit: store.MaxPageSize})
	if err != nil {
		return store.TrafficAnalysis{}, false, err
	}
	if i := slices.IndexFunc(as, func(a store.TrafficAnalysis) bool { return a.Kind == KindEvents && a.Name == name }); i >= 0 {
		return as[i], false, nil
	}
	n := 0
	for _, f := range eventFormats {
		c, err := s.store.Events().Count(ctx, tenantID, store.EventQuery{Since: from, Until: to, Terms: []store.FieldTerm{{Field: "format", Value: f}}})
		if err != nil {
			return store.TrafficAnalysis{}, false, err
		}
		n += c
	}
	if n == 0 {
		return store.TrafficAnalysis{}, false, nil
	}
	sum, err := json.Marshal(eventWindow{From: from.UTC(), To: to.UTC()})
	if err != nil {
		return store.TrafficAnalysis{}, false, err
	}
	a := store.TrafficAnalysis{TenantID: tenantID, Name: name, Kind: KindEvents, Status: store.TrafficPending, Summary: sum,
		CreatedBy: auth.FromContext(ctx).UserID}
	if err := s.store.Traffic().CreateAnalysis(ctx, &a, nil); err != nil {
		return a, false, err
	}
	if err := s.audit.Record(ctx, audit.Event{TenantID: tenantID, Action: "traffic.events", Object: "traffic_analysis:" + a.ID,
		Detail: map[string]any{"from": from.UTC(), "to": to.UTC(), "events": n}}); err != nil {
		return a, false, err
	}
	if err := s.Run(ctx, tenantID, a.ID); err != nil {
		return a, false, err
	}
	a, err = s.store.Traffic().GetAnalysis(ctx, tenantID, a.ID)
	return a, true, err
}

// AnalyseAllEvents analyses, for every enabled tenant, its collected
// events of the last complete period of length every before now (aligned
// to every). It runs as the system.
func (s *Service) AnalyseAllEvents(ctx context.Context, now time.Time, every time.Duration) (int, error) {
	to := now.UTC().Truncate(every)
	from := to.Add(-every)
	ts, err := s.store.Tenants().List(ctx)
	if err != nil {
		return 0, err
	}
	done := 0
	var errs []error
	for _, t := range ts {
		if t.Disabled {
			continue
		}
		_, ran, err := s.AnalyseEvents(ctx, t.ID, from, to)
		if err != nil {
			errs = append(errs, fmt.Errorf("tenant %s: %w", t.Slug, err))
			continue
		}
		if ran {
			done++
		}
	}
	if len(errs) > 0 {
		return done, fmt.Errorf("traffic analysis of collected events: %w", errs[0])
	}
	return done, nil
}

// readEvents feeds an analysis of collected events to h: hour by hour,
// the Suricata events as one EVE stream and the netfilter events as
// connections, oldest first.
func (s *Service) readEvents(ctx context.Context, a store.TrafficAnalysis, h traffic.Handler) (traffic.Stats, error) {
	var w eventWindow
	if err := json.Unmarshal(a.Summary, &w); err != nil || w.From.IsZero() || !w.To.After(w.From) {
		return traffic.Stats{}, fmt.Errorf("analysis %s has no event window", a.ID)
	}
	pr, pw := io.Pipe()
	var nf traffic.Stats
	go func() {
		pw.CloseWithError(s.streamEvents(ctx, a.TenantID, w, pw, &nf))
	}()
	st, err := traffic.ReadEVE(ctx, pr, "suricata events", h)
	_ = pr.CloseWithError(io.ErrClosedPipe) // unblocks the writer when the reader stopped early
	st.Skipped += nf.Skipped
	if err != nil {
		return st, err
	}
	zst, err := s.readZeekEvents(ctx, a.TenantID, w, h)
	st.Lines += zst.Lines
	st.Records += zst.Records
	st.Skipped += zst.Skipped
	for _, sk := range zst.Skips {
		if len(st.Skips) < traffic.MaxSkips {
			st.Skips = append(st.Skips, sk)
		}
	}
	return st, err
}

// readZeekEvents feeds the window's collected Zeek records (format
// "zeek": conn, dns, http and ssl logs as JSON lines) to h, hour by hour,
// each hour's ssl, http and dns records before its connections so that
// connections get their names, as a Zeek log directory is read.
func (s *Service) readZeekEvents(ctx context.Context, tenantID string, win eventWindow, h traffic.Handler) (traffic.Stats, error) {
	var total traffic.Stats
	for from := win.From; from.Before(win.To); from = from.Add(eventWindowStep) {
		to := from.Add(eventWindowStep)
		if to.After(win.To) {
			to = win.To
		}
		evs, err := s.hourOf(ctx, tenantID, "zeek", from, to)
		if err != nil {
			return total, err
		}
		if len(evs) == 0 {
			continue
		}
		byKind := map[string]*strings.Builder{}
		for _, e := range evs {
			kind := field(e, "zeek.log")
			if e.Truncated || !slices.Contains(zeekEventKinds, kind) {
				total.Lines++
				total.Skipped++
				continue
			}
			b := byKind[kind]
			if b == nil {
				b = &strings.Builder{}
				byKind[kind] = b
			}
			b.WriteString(strings.TrimSpace(e.Original))
			b.WriteByte('\n')
		}
		for _, kind := range zeekEventKinds {
			b := byKind[kind]
			if b == nil {
				continue
			}
			st, err := traffic.ReadZeek(ctx, strings.NewReader(b.String()), kind+".log", h)
			total.Lines += st.Lines
			total.Records += st.Records
			total.Skipped += st.Skipped
			for _, sk := range st.Skips {
				if len(total.Skips) < traffic.MaxSkips {
					total.Skips = append(total.Skips, sk)
				}
			}
			if err != nil {
				return total, err
			}
		}
	}
	return total, nil
}

// streamEvents writes the window's records to w as one EVE stream: the
// Suricata records as they came, each netfilter record as a flow record,
// so only the EVE reader calls the handler. nf counts the netfilter
// records and the records left out.
func (s *Service) streamEvents(ctx context.Context, tenantID string, win eventWindow, w io.Writer, nf *traffic.Stats) error {
	for from := win.From; from.Before(win.To); from = from.Add(eventWindowStep) {
		to := from.Add(eventWindowStep)
		if to.After(win.To) {
			to = win.To
		}
		for _, format := range eventFormats {
			if format == "zeek" {
				continue // read as Zeek logs by readZeekEvents
			}
			evs, err := s.hourOf(ctx, tenantID, format, from, to)
			if err != nil {
				return err
			}
			for _, e := range evs {
				if format == "suricata" {
					if e.Truncated {
						nf.Skipped++
						continue
					}
					if _, err := io.WriteString(w, strings.TrimSpace(e.Original)+"\n"); err != nil {
						return err
					}
					continue
				}
				nf.Lines++
				line, ok := netfilterFlow(e)
				if format == "netflow" {
					line, ok = netflowFlow(e)
				}
				if !ok {
					nf.Skipped++
					continue
				}
				if _, err := w.Write(line); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// hourOf returns the events of one format in [from, to), oldest first.
func (s *Service) hourOf(ctx context.Context, tenantID, format string, from, to time.Time) ([]store.Event, error) {
	var out []store.Event
	for off := 0; off < MaxEventsPerHour; off += store.MaxPageSize {
		page, err := s.store.Events().Search(ctx, tenantID, store.EventQuery{Since: from, Until: to,
			Terms: []store.FieldTerm{{Field: "format", Value: format}}, Page: store.Page{Limit: store.MaxPageSize, Offset: off}})
		if err != nil {
			return nil, err
		}
		out = append(out, page...)
		if len(page) < store.MaxPageSize {
			break
		}
	}
	slices.Reverse(out)
	return out, nil
}

// field returns an event field as text.
func field(e store.Event, name string) string {
	v, ok := e.Fields[name]
	if !ok || v == nil {
		return ""
	}
	switch x := v.(type) {
	case string:
		return x
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	}
	return fmt.Sprint(v)
}

// netfilterFlow turns a netfilter log record into an EVE flow line (one
// packet seen), so the EVE reader hands it to the analyses in order.
func netfilterFlow(e store.Event) ([]byte, bool) {
	return flowLine(e, 1, 0, 0, 0, 0, "new")
}

// netflowFlow turns a collected NetFlow or IPFIX record into an EVE flow
// line with its packets, bytes and duration. Flow records are one
// direction: the answer, when the exporter saw it, is a record of its own.
func netflowFlow(e store.Event) ([]byte, bool) {
	n := func(name string) int64 {
		v, err := strconv.ParseInt(field(e, name), 10, 64)
		if err != nil || v < 0 {
			return 0
		}
		return v
	}
	return flowLine(e, max(n("source.packets"), 1), n("source.bytes"), n("destination.packets"), n("destination.bytes"),
		time.Duration(n("event.duration")), "closed")
}

// flowLine is an EVE flow record of an event with ECS source and
// destination fields, started at the event's time.
func flowLine(e store.Event, pktsTo, bytesTo, pktsBack, bytesBack int64, dur time.Duration, state string) ([]byte, bool) {
	src, err1 := netip.ParseAddr(field(e, "source.ip"))
	dst, err2 := netip.ParseAddr(field(e, "destination.ip"))
	if err1 != nil || err2 != nil || e.Time.IsZero() {
		return nil, false
	}
	port := func(name string) int {
		n, err := strconv.Atoi(field(e, name))
		if err != nil || n < 0 || n > 65535 {
			return 0
		}
		return n
	}
	proto := strings.ToUpper(field(e, "network.transport"))
	if proto == "" {
		proto = "TCP"
	}
	const layout = "2006-01-02T15:04:05.000000-0700"
	start := e.Time.UTC()
	rec := map[string]any{"timestamp": start.Format(layout), "event_type": "flow", "src_ip": src.String(), "src_port": port("source.port"),
		"dest_ip": dst.String(), "dest_port": port("destination.port"), "proto": proto,
		"flow": map[string]any{"pkts_toserver": pktsTo, "pkts_toclient": pktsBack, "bytes_toserver": bytesTo, "bytes_toclient": bytesBack,
			"start": start.Format(layout), "end": start.Add(dur).Format(layout), "state": state, "reason": "timeout"}}
	b, err := json.Marshal(rec)
	if err != nil {
		return nil, false
	}
	return append(b, '\n'), true
}
