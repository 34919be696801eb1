package hunt

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/intel"
	"github.com/vigil-sec/vigil/internal/logs"
	"github.com/vigil-sec/vigil/internal/pipeline"
	"github.com/vigil-sec/vigil/internal/store"
	"github.com/vigil-sec/vigil/internal/store/sqlite"
)

const (
	samplesDir = "../../logs/testdata/samples"
	stixDir    = "../../../../shared/corpus/stix/examples"
)

var (
	received = time.Date(2024, 3, 3, 0, 0, 0, 0, time.UTC)
	huntNow  = time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC)
	allSince = time.Date(1990, 1, 1, 0, 0, 0, 0, time.UTC)
	allUntil = time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
)

func openStore(t testing.TB) store.Store {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "vigil.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func newTenant(t testing.TB, st store.Store, slug string) store.Tenant {
	t.Helper()
	tn := store.Tenant{Slug: slug, Name: slug}
	must(t, st.Tenants().Create(context.Background(), &tn))
	return tn
}

// sample is one parsed record of the log samples with its raw line.
type sample struct {
	line string
	ev   logs.Event
}

// readSamples parses every record of the *.log samples with the parser the
// file is named after.
func readSamples(t testing.TB) []sample {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(samplesDir, "*.log"))
	must(t, err)
	if len(files) == 0 {
		t.Fatal("no log samples")
	}
	reg := logs.NewRegistry()
	var out []sample
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".log")
		p, err := reg.Lookup(name)
		if err != nil {
			p, err = reg.Lookup("auto")
			must(t, err)
		}
		data, err := os.ReadFile(f) // #nosec G304 -- test sample
		must(t, err)
		sc := bufio.NewScanner(bytes.NewReader(data))
		for sc.Scan() {
			line := sc.Text()
			if strings.TrimSpace(line) == "" {
				continue
			}
			ev, err := p.Parse([]byte(line), logs.Meta{Source: name, Received: received})
			if err != nil {
				continue // the samples' own malformed records
			}
			out = append(out, sample{line: line, ev: ev})
		}
	}
	return out
}

// ingest writes the samples for tenant through the pipeline, matching them
// live against m when it is not nil.
func ingest(t testing.TB, st store.Store, tenantID string, samples []sample, m *intel.Matcher) {
	t.Helper()
	evs := make([]logs.Event, len(samples))
	for i, s := range samples {
		evs[i] = s.ev
		evs[i].Tenant = tenantID
	}
	p := pipeline.New(st, pipeline.Options{Intel: m, Now: func() time.Time { return huntNow }})
	must(t, p.Write(context.Background(), evs))
}

// loadMatcher reads the test CSV list and, when stix is set, every STIX
// example of the corpus.
func loadMatcher(t testing.TB, stix bool) *intel.Matcher {
	t.Helper()
	ctx := context.Background()
	reg := intel.NewRegistry()
	m := intel.NewMatcher(intel.MatcherOptions{Now: func() time.Time { return huntNow }})
	paths := []string{"testdata/indicators.csv"}
	if stix {
		more, err := filepath.Glob(filepath.Join(stixDir, "*.json"))
		must(t, err)
		reports, err := filepath.Glob(filepath.Join(stixDir, "threat-reports", "*.json"))
		must(t, err)
		if len(more)+len(reports) == 0 {
			t.Fatal("no STIX examples in the corpus")
		}
		paths = append(paths, append(more, reports...)...)
	}
	for _, p := range paths {
		format := ""
		if strings.HasSuffix(p, ".csv") {
			format = "csv"
		}
		feed, err := reg.LoadPath(ctx, p, format, intel.ParseOptions{Confidence: 90, Now: func() time.Time { return huntNow }})
		must(t, err)
		for _, in := range feed.Indicators {
			must(t, m.Add(in))
		}
	}
	return m
}

type sighting struct{ rule, event string }

func huntSightings(t *testing.T, st store.Store, tenantID string, m *intel.Matcher, opts Options) (Result, []sighting) {
	t.Helper()
	res, err := Hunt(context.Background(), st, tenantID, m, allSince, allUntil, opts)
	must(t, err)
	var out []sighting
	for _, h := range res.Hits {
		if h.Count > len(h.SampleEventIDs) {
			t.Fatalf("%s: %d sightings, only %d sample IDs: raise MaxSamples", h.RuleID, h.Count, len(h.SampleEventIDs))
		}
		for _, id := range h.SampleEventIDs {
			out = append(out, sighting{h.RuleID, id})
		}
	}
	slices.SortFunc(out, func(a, b sighting) int { return strings.Compare(a.rule+a.event, b.rule+b.event) })
	return res, out
}

// TestHuntMatchesLivePipeline stores the log samples before the indicators
// are known, hunts them, and checks the sightings are exactly those the
// live pipeline raises when the same indicators are known at ingest.
func TestHuntMatchesLivePipeline(t *testing.T) {
	samples := readSamples(t)
	m := loadMatcher(t, true)

	past := openStore(t)
	tnPast := newTenant(t, past, "past")
	ingest(t, past, tnPast.ID, samples, nil)
	res, got := huntSightings(t, past, tnPast.ID, m, Options{MaxSamples: 1000})

	live := openStore(t)
	tnLive := newTenant(t, live, "live")
	ingest(t, live, tnLive.ID, samples, m)
	alerts, err := live.Alerts().List(context.Background(), tnLive.ID, store.AlertFilter{RulePrefix: RulePrefix, Page: store.Page{Limit: store.MaxPageSize}})
	must(t, err)
	var want []sighting
	for _, a := range alerts {
		for _, id := range a.EventIDs {
			want = append(want, sighting{a.RuleID, id})
		}
	}
	slices.SortFunc(want, func(a, b sighting) int { return strings.Compare(a.rule+a.event, b.rule+b.event) })
	want = slices.Compact(want)
	if len(want) == 0 {
		t.Fatal("the live pipeline raised nothing: the test proves nothing")
	}
	if !slices.Equal(got, want) {
		t.Errorf("retro-hunt sightings differ from live alerts:\n got %v\nwant %v", got, want)
	}
	if res.Scanned != len(samples) {
		t.Errorf("scanned %d events, stored %d", res.Scanned, len(samples))
	}
	t.Logf("%d events, %d matched, %d indicators hit, %d sightings", res.Scanned, res.Matched, len(res.Hits), len(got))
}

// TestHuntCountsRawSightings checks the sightings of each address indicator
// against the raw sample lines that contain the address.
func TestHuntCountsRawSightings(t *testing.T) {
	samples := readSamples(t)
	st := openStore(t)
	tn := newTenant(t, st, "raw")
	ingest(t, st, tn.ID, samples, nil)
	res, err := Hunt(context.Background(), st, tn.ID, loadMatcher(t, false), allSince, allUntil, Options{})
	must(t, err)
	for _, addr := range []string{"203.0.113.9", "203.0.113.50", "2001:db8::7", "192.0.2.254"} {
		re := regexp.MustCompile(`(^|[^0-9a-fA-F:.])` + regexp.QuoteMeta(addr) + `($|[^0-9a-fA-F:.])`)
		want := 0
		var hosts []string
		for _, s := range samples {
			if re.MatchString(s.line) {
				want++
			}
		}
		got := 0
		for _, h := range res.Hits {
			if h.Value == addr {
				got, hosts = h.Count, h.Hosts
			}
		}
		if got != want {
			t.Errorf("%s: %d sightings, %d sample lines name it", addr, got, want)
		}
		if want > 0 && len(hosts) == 0 {
			t.Errorf("%s: no hosts", addr)
		}
	}
}

// TestHuntPaging hunts with tiny pages over events that share instants and
// checks every event is read once and the result does not change.
func TestHuntPaging(t *testing.T) {
	samples := readSamples(t)
	st := openStore(t)
	tn := newTenant(t, st, "paging")
	ingest(t, st, tn.ID, samples, nil)
	// Seven more events at one instant, four of them naming an indicator.
	var extra []store.Event
	at := time.Date(2024, 3, 2, 12, 0, 0, 0, time.UTC)
	for i := range 7 {
		ip := "192.0.2.99"
		if i%2 == 0 {
			ip = "203.0.113.9"
		}
		extra = append(extra, store.Event{ID: fmt.Sprintf("same-instant-%d", i), TenantID: tn.ID, Time: at, Received: at,
			Host: "edge", SourceIP: ip, Fields: map[string]any{"source": map[string]any{"ip": ip}}})
	}
	_, err := st.Events().Append(context.Background(), extra)
	must(t, err)
	total, err := st.Events().Count(context.Background(), tn.ID, store.EventQuery{})
	must(t, err)
	m := loadMatcher(t, false)
	ref, refS := huntSightings(t, st, tn.ID, m, Options{MaxSamples: 1000})
	for _, size := range []int{1, 2, 3, 5} {
		res, got := huntSightings(t, st, tn.ID, m, Options{PageSize: size, MaxSamples: 1000})
		if res.Scanned != total {
			t.Errorf("page %d: scanned %d of %d events", size, res.Scanned, total)
		}
		if !slices.Equal(got, refS) || res.Matched != ref.Matched {
			t.Errorf("page %d: sightings differ:\n got %v\nwant %v", size, got, refS)
		}
	}
}

func TestHuntBounds(t *testing.T) {
	samples := readSamples(t)
	st := openStore(t)
	tn := newTenant(t, st, "bounds")
	ingest(t, st, tn.ID, samples, nil)
	m := loadMatcher(t, false)
	res, err := Hunt(context.Background(), st, tn.ID, m, allSince, allUntil, Options{MaxEvents: 5, PageSize: 2})
	must(t, err)
	if !res.Truncated || res.Scanned != 5 {
		t.Errorf("MaxEvents 5: scanned %d, truncated %v", res.Scanned, res.Truncated)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Hunt(ctx, st, tn.ID, m, allSince, allUntil, Options{}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
	if _, err := Hunt(context.Background(), st, tn.ID, m, allUntil, allSince, Options{}); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("reversed window: %v", err)
	}
	// A window that holds only the samples of 2024-03-02.
	day := time.Date(2024, 3, 2, 0, 0, 0, 0, time.UTC)
	res, err = Hunt(context.Background(), st, tn.ID, m, day, day.Add(24*time.Hour), Options{})
	must(t, err)
	want, err := st.Events().Count(context.Background(), tn.ID, store.EventQuery{Since: day, Until: day.Add(24 * time.Hour)})
	must(t, err)
	if res.Scanned != want || want == 0 || want == len(samples) {
		t.Errorf("one day: scanned %d, %d stored that day of %d", res.Scanned, want, len(samples))
	}
	for _, h := range res.Hits {
		if h.FirstSeen.Before(day) || !h.LastSeen.Before(day.Add(24*time.Hour)) {
			t.Errorf("%s seen %v..%v, outside the window", h.RuleID, h.FirstSeen, h.LastSeen)
		}
	}
}

// TestHuntRaiseIdempotent raises the hunt's alerts twice and checks the
// second raise changes nothing, and that sightings the live pipeline
// already alerted on are not raised again.
func TestHuntRaiseIdempotent(t *testing.T) {
	ctx := context.Background()
	samples := readSamples(t)
	m := loadMatcher(t, false)
	st := openStore(t)
	tn := newTenant(t, st, "raise")
	ingest(t, st, tn.ID, samples, nil)
	first, err := Hunt(ctx, st, tn.ID, m, allSince, allUntil, Options{Raise: true})
	must(t, err)
	pairs := 0
	for _, h := range first.Hits {
		pairs += len(h.Hosts)
	}
	if first.AlertsRaised != pairs || pairs == 0 {
		t.Fatalf("first hunt raised %d alerts for %d indicator/host pairs", first.AlertsRaised, pairs)
	}
	list := func() []store.Alert {
		as, err := st.Alerts().List(ctx, tn.ID, store.AlertFilter{RulePrefix: RulePrefix, Page: store.Page{Limit: store.MaxPageSize}})
		must(t, err)
		slices.SortFunc(as, func(a, b store.Alert) int { return strings.Compare(a.ID, b.ID) })
		return as
	}
	before := list()
	for _, a := range before {
		if !slices.Contains(a.Tags, Tag) || !strings.HasPrefix(a.RuleID, RulePrefix) {
			t.Errorf("alert %s: tags %v", a.RuleID, a.Tags)
		}
	}
	second, err := Hunt(ctx, st, tn.ID, m, allSince, allUntil, Options{Raise: true})
	must(t, err)
	after := list()
	if second.AlertsRaised != 0 || second.AlertsKept != pairs || len(after) != len(before) {
		t.Errorf("second hunt: raised %d, kept %d; %d alerts before, %d after", second.AlertsRaised, second.AlertsKept, len(before), len(after))
	}
	for i := range before {
		if i < len(after) && (after[i].Count != before[i].Count || after[i].LastSeen != before[i].LastSeen) {
			t.Errorf("alert %s changed: count %d -> %d", before[i].RuleID, before[i].Count, after[i].Count)
		}
	}

	// Events the live pipeline alerted on are not raised again.
	live := openStore(t)
	tl := newTenant(t, live, "live")
	ingest(t, live, tl.ID, samples, m)
	res, err := Hunt(ctx, live, tl.ID, m, allSince, allUntil, Options{Raise: true})
	must(t, err)
	if res.AlertsRaised != 0 || res.AlertsKept != pairs {
		t.Errorf("after live alerts: raised %d, kept %d of %d", res.AlertsRaised, res.AlertsKept, pairs)
	}
}
