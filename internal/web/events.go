package web

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/store"
	"github.com/vigil-sec/vigil/internal/triage"
)

const eventPageSize = 50

// eventRanges are the time ranges of the event search, in the order shown.
var eventRanges = []struct {
	Key  string
	Span time.Duration
	Step time.Duration
}{
	{"1h", time.Hour, 2 * time.Minute},
	{"24h", 24 * time.Hour, time.Hour},
	{"7d", 7 * 24 * time.Hour, 6 * time.Hour},
	{"30d", 30 * 24 * time.Hour, 24 * time.Hour},
}

// bar is one histogram bucket.
type bar struct {
	Label string
	Count int
	Max   int
}

type eventsPage struct {
	Base
	formState
	URL       string
	Q         string
	Range     string
	Ranges    []string
	Events    []store.Event
	Total     int
	Histogram []bar
	Pager     pager
	// Rules links the tenant's detection rules when the node has them.
	Rules bool
}

func eventsBase(t *store.Tenant) string { return "/t/" + t.Slug + "/events" }

// eventSearch is the event search page: field:value terms and free text
// over a time range, a histogram, and the newest matching events.
func (s *server) eventSearch(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	t := state(r).tenant
	q := r.URL.Query()
	v := &eventsPage{URL: eventsBase(t), Q: strings.TrimSpace(q.Get("q")), Range: q.Get("range"), Rules: s.opts.Rules != nil}
	span, step := 24*time.Hour, time.Hour
	for _, rg := range eventRanges {
		v.Ranges = append(v.Ranges, rg.Key)
		if rg.Key == v.Range {
			span, step = rg.Span, rg.Step
		}
	}
	if !slices.Contains(v.Ranges, v.Range) {
		v.Range = "24h"
	}
	until := time.Now().UTC().Truncate(step).Add(step)
	since := until.Add(-span)
	pg := pageParam(q)
	list, total, err := s.opts.Triage.Search(ctx, t.ID, v.Q, since, until, store.Page{Limit: eventPageSize, Offset: (pg - 1) * eventPageSize})
	status := http.StatusOK
	if err != nil {
		var ok bool
		if status, ok = s.formError(r, err, &v.formState, []formField{{"q", "q"}}); !ok {
			return err
		}
	} else {
		v.Events, v.Total = list, total
		counts, err := s.opts.Triage.Histogram(ctx, t.ID, v.Q, since, until, step)
		if err != nil {
			return err
		}
		mx := 0
		for _, c := range counts {
			mx = max(mx, c)
		}
		layout := "15:04"
		if step >= 24*time.Hour {
			layout = "01-02"
		} else if span > 24*time.Hour {
			layout = "01-02 15h"
		}
		for i, c := range counts {
			v.Histogram = append(v.Histogram, bar{Label: since.Add(time.Duration(i) * step).Format(layout), Count: c, Max: max(mx, 1)})
		}
	}
	v.Pager = newPager(v.Total, pg, eventPageSize, func(n int) string {
		return withQuery(v.URL, url.Values{"q": {v.Q}, "range": {v.Range}, "page": {strconv.Itoa(n)}})
	})
	s.render(w, r, status, "events", v)
	return nil
}

// field is one key/value of an event, for the detail page.
type field struct{ Key, Value string }

type eventPage struct {
	Base
	E      store.Event
	Fields []field
}

func (s *server) eventView(w http.ResponseWriter, r *http.Request) error {
	t := state(r).tenant
	e, err := s.opts.Triage.Event(r.Context(), t.ID, chi.URLParam(r, "event"))
	if err != nil {
		return err
	}
	v := &eventPage{E: e}
	for k, val := range e.Fields {
		v.Fields = append(v.Fields, field{Key: k, Value: fieldText(val)})
	}
	slices.SortFunc(v.Fields, func(a, b field) int { return strings.Compare(a.Key, b.Key) })
	s.render(w, r, http.StatusOK, "event", v)
	return nil
}

func fieldText(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = fieldText(e)
		}
		return strings.Join(parts, ", ")
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	case nil:
		return ""
	}
	return "…"
}

const alertPageSize = 50

type alertsPage struct {
	Base
	URL      string
	Status   string
	Level    string
	Q        string
	Statuses []string
	Levels   []string
	Alerts   []store.Alert
	Total    int
	Pager    pager
	CanWrite bool
	// CanPromote: the user may open a case from the selected alerts.
	CanPromote bool
	Changed    string
}

func alertLevels() []string { return []string{"critical", "high", "medium", "low", "informational"} }

// alertQueue is the alert queue with filters and bulk status changes.
func (s *server) alertQueue(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	t := state(r).tenant
	q := r.URL.Query()
	v := &alertsPage{URL: eventsBase(t) + "/alerts", Status: q.Get("status"), Level: q.Get("level"), Q: strings.TrimSpace(q.Get("q")),
		Statuses: triage.Statuses(), Levels: alertLevels(), CanWrite: auth.FromContext(ctx).Can(auth.PermEventTriage, t.ID),
		Changed: q.Get("changed")}
	v.CanPromote = v.CanWrite && s.opts.Incidents != nil && auth.FromContext(ctx).Can(auth.PermIncidentWrite, t.ID)
	f := store.AlertFilter{Query: v.Q}
	switch {
	case v.Status == "":
		v.Status = "open"
		f.Statuses = []string{triage.StatusNew, triage.StatusAcknowledged}
	case v.Status == "open":
		f.Statuses = []string{triage.StatusNew, triage.StatusAcknowledged}
	case v.Status == "all":
	case slices.Contains(triage.Statuses(), v.Status):
		f.Statuses = []string{v.Status}
	default:
		v.Status = "all"
	}
	if slices.Contains(alertLevels(), v.Level) {
		f.Level = v.Level
	} else {
		v.Level = ""
	}
	if len(v.Q) > 200 {
		v.Q = v.Q[:200]
		f.Query = v.Q
	}
	pg := pageParam(q)
	f.Page = store.Page{Limit: alertPageSize, Offset: (pg - 1) * alertPageSize}
	list, total, err := s.opts.Triage.Alerts(ctx, t.ID, f)
	if err != nil {
		return err
	}
	v.Alerts, v.Total = list, total
	v.Pager = newPager(total, pg, alertPageSize, func(n int) string {
		return withQuery(v.URL, url.Values{"status": {v.Status}, "level": {v.Level}, "q": {v.Q}, "page": {strconv.Itoa(n)}})
	})
	s.render(w, r, http.StatusOK, "alerts", v)
	return nil
}

// alertBulk changes the status of the checked alerts.
func (s *server) alertBulk(w http.ResponseWriter, r *http.Request) error {
	t := state(r).tenant
	n, err := s.opts.Triage.SetStatus(r.Context(), t.ID, r.PostForm["id"], r.PostFormValue("status"), r.PostFormValue("note"))
	if err != nil {
		return err
	}
	redirect(w, r, eventsBase(t)+"/alerts?changed="+strconv.Itoa(n))
	return nil
}

type alertPage struct {
	Base
	A        store.Alert
	Events   []store.Event
	Statuses []string
	CanWrite bool
}

func (s *server) alertView(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	t := state(r).tenant
	a, evs, err := s.opts.Triage.Alert(ctx, t.ID, chi.URLParam(r, "alert"))
	if err != nil {
		return err
	}
	v := &alertPage{A: a, Events: evs, Statuses: triage.Statuses(), CanWrite: auth.FromContext(ctx).Can(auth.PermEventTriage, t.ID)}
	s.render(w, r, http.StatusOK, "alert", v)
	return nil
}
