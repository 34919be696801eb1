package hunt

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/intel"
	"github.com/vigil-sec/vigil/internal/report"
	"github.com/vigil-sec/vigil/internal/store"
)

func figureOf(doc *report.Document, label string) string {
	for _, f := range doc.Summary {
		if f.Label == label {
			return f.Value
		}
	}
	return "(missing)"
}

// TestReport builds the report of a tenant whose stored sample events were
// retro-hunted, with a hostile live alert, feed and asset, in both
// languages.
func TestReport(t *testing.T) {
	ctx := context.Background()
	samples := readSamples(t)
	st := openStore(t)
	tn := store.Tenant{Slug: "hostile", Name: "Acme <script>alert(1)</script>\x00\x1b[31m \xff"}
	must(t, st.Tenants().Create(ctx, &tn))
	ingest(t, st, tn.ID, samples, nil)
	from := time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)
	to := from.Add(3 * 24 * time.Hour)
	m := loadMatcher(t, false)
	hunt, err := Hunt(ctx, st, tn.ID, m, from, to, Options{Raise: true})
	must(t, err)
	if len(hunt.Hits) == 0 {
		t.Fatal("the hunt found nothing: the report test proves nothing")
	}
	huntEvents := 0
	huntHosts := map[string]bool{}
	for _, h := range hunt.Hits {
		huntEvents += h.Count
		for _, host := range h.Hosts {
			huntHosts[host] = true
		}
	}
	// A live alert with hostile text, inside the period, three events.
	evil := "intel:domain:<b>evil</b>\x07.example" + strings.Repeat("x", 600)
	for i := range 3 {
		a := store.Alert{TenantID: tn.ID, GroupKey: evil + "|h", RuleID: evil, RuleTitle: "live", Level: "high",
			Host: "host\x00<i>1</i>", Status: "new", LastSeen: from.Add(time.Duration(i+1) * time.Hour)}
		_, err := st.Alerts().Raise(ctx, &a, time.Hour, []string{"new"}, 10)
		must(t, err)
	}
	feed, err := intel.NewRegistry().LoadPath(ctx, "testdata/indicators.csv", "csv", intel.ParseOptions{})
	must(t, err)
	kev, _ := loadKEV(t)
	var adv Advisory
	for _, a := range kev {
		if a.ID == "CVE-2025-48384" {
			adv = a
		}
	}
	asset := store.Asset{TenantID: tn.ID, Kind: "host", Name: "build\x1b<script>", Attributes: map[string]string{"product": "Git"}}
	must(t, st.Assets().Create(ctx, &asset))
	match, err := MatchAssets(ctx, st, tn.ID, adv, MatchOptions{})
	must(t, err)
	if len(match.Assets) != 1 {
		t.Fatalf("advisory matched %d assets", len(match.Assets))
	}

	for _, lang := range []string{"en", "zh-CN"} {
		w := intelWords[lang]
		for _, withHunts := range []bool{true, false} {
			in := ReportInput{Tenant: tn, From: from, To: to, Lang: lang, Feeds: []FeedSummary{SummarizeFeed("indicators <csv>\x01", feed)},
				Advisories: []AdvisoryMatch{match, {Advisory: Advisory{ID: "unrelated"}}}}
			if withHunts {
				in.Hunts = []Result{hunt}
			}
			doc, err := Report(ctx, st, in)
			if err != nil {
				t.Fatalf("%s: %v", lang, err)
			}
			// Without hunt results, the alerts the hunt raised stand
			// for them and give the same figures.
			checks := map[string]string{
				"indicators":   strconv.Itoa(len(feed.Indicators)),
				"live":         "3",
				"retro":        strconv.Itoa(huntEvents),
				"hosts_n":      strconv.Itoa(len(huntHosts) + 1),
				"advisories_n": "1",
			}
			for k, want := range checks {
				if got := figureOf(doc, w[k]); got != want {
					t.Errorf("%s hunts=%v: %s = %s, want %s", lang, withHunts, k, got, want)
				}
			}
			var b strings.Builder
			must(t, report.Render(ctx, doc, report.FormatHTML, &b, report.Options{}))
			html := b.String()
			if strings.Contains(html, "<script>") || strings.Contains(html, "<b>evil") || strings.ContainsRune(html, 0) {
				t.Errorf("%s: hostile text reached the HTML unescaped", lang)
			}
			if !strings.Contains(html, w["advice_sec"]) || !strings.Contains(html, "CVE-2025-48384") {
				t.Errorf("%s: recommendations or advisory missing", lang)
			}
		}
	}

	// Bad periods.
	if _, err := Report(ctx, st, ReportInput{Tenant: tn, From: to, To: from}); err == nil {
		t.Error("reversed period accepted")
	}
	if _, err := Report(ctx, st, ReportInput{Tenant: tn, From: from, To: from.Add(500 * 24 * time.Hour)}); err == nil {
		t.Error("500-day period accepted")
	}
}

// TestReportEmpty checks a tenant with nothing to report gets the
// all-clear recommendation.
func TestReportEmpty(t *testing.T) {
	st := openStore(t)
	tn := newTenant(t, st, "quiet")
	now := time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)
	doc, err := Report(context.Background(), st, ReportInput{Tenant: tn, From: now, To: now.Add(24 * time.Hour), Lang: "zh-CN"})
	must(t, err)
	adv := doc.Sections[len(doc.Sections)-1]
	if !slices.Equal(adv.Paragraphs, []string{intelWords["zh-CN"]["advice_ok"]}) {
		t.Errorf("recommendations: %v", adv.Paragraphs)
	}
	if got := fmt.Sprint(figureOf(doc, intelWords["zh-CN"]["live"])); got != "0" {
		t.Errorf("live sightings %s", got)
	}
}
