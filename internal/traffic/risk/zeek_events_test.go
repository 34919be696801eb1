package risk_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/fixture"
	"github.com/vigil-sec/vigil/internal/logs"
	"github.com/vigil-sec/vigil/internal/pipeline"
	"github.com/vigil-sec/vigil/internal/store"
	"github.com/vigil-sec/vigil/internal/testenv"
	"github.com/vigil-sec/vigil/internal/traffic/risk"
)

// zeekJSON turns a Zeek TSV log into the JSON lines Zeek writes with
// LogAscii::use_json: unset fields left out, sets and vectors as arrays,
// ts as a number, every other value as a string.
func zeekJSON(t *testing.T, tsv []byte) [][]byte {
	t.Helper()
	var fields, types []string
	var out [][]byte
	sc := bufio.NewScanner(bytes.NewReader(tsv))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "#fields\t"):
			fields = strings.Split(line, "\t")[1:]
			continue
		case strings.HasPrefix(line, "#types\t"):
			types = strings.Split(line, "\t")[1:]
			continue
		case strings.HasPrefix(line, "#"), line == "":
			continue
		}
		vals := strings.Split(line, "\t")
		if len(vals) != len(fields) || len(types) != len(fields) {
			t.Fatalf("line %q does not match its header", line)
		}
		rec := map[string]any{}
		for i, v := range vals {
			switch {
			case v == "-":
			case fields[i] == "ts":
				rec["ts"] = json.Number(v)
			case strings.HasPrefix(types[i], "set[") || strings.HasPrefix(types[i], "vector["):
				if v == "(empty)" {
					rec[fields[i]] = []string{}
				} else {
					rec[fields[i]] = strings.Split(v, ",")
				}
			default:
				rec[fields[i]] = v
			}
		}
		b, err := json.Marshal(rec)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

// TestZeekFromThePipeline: RITA's proxy sample, shipped as Zeek JSON
// logs (conn, dns, http, ssl) through the log pipeline, is analysed by
// the continuous analysis as the same logs uploaded as TSV files are:
// every record read, the same findings with the same scores, and the
// known beacon 10.136.0.18 → www.honestimnotevil.com on top.
func TestZeekFromThePipeline(t *testing.T) {
	t.Parallel()
	dir := testenv.RequireCorpus(t, filepath.Join(corpus, "rita-proxy"))
	e := fixture.New(t)
	ctx := systemCtx(t.Context())
	kinds := []string{"conn", "dns", "http", "ssl"}

	// The reference: the TSV logs uploaded.
	s := risk.NewService(e.Store, e.Audit, risk.Options{})
	var files []risk.File
	var batch []logs.Event
	auto, err := logs.NewRegistry().Lookup("auto")
	if err != nil {
		t.Fatal(err)
	}
	var first, last time.Time
	for _, k := range kinds {
		data, err := os.ReadFile(filepath.Join(dir, k+".log"))
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, risk.File{Name: k + ".log", Data: data})
		for _, line := range zeekJSON(t, data) {
			ev, err := logs.ParseRecord(auto, line, logs.Meta{Source: "zeek-host", Tenant: e.TenantB.ID}, false)
			if err != nil {
				t.Fatalf("%s: %v", line, err)
			}
			if ev.Format != "zeek" || ev.Fields["zeek.log"] != k {
				t.Fatalf("%s record parsed as format %q, log %v", k, ev.Format, ev.Fields["zeek.log"])
			}
			if first.IsZero() || ev.Time.Before(first) {
				first = ev.Time
			}
			if ev.Time.After(last) {
				last = ev.Time
			}
			batch = append(batch, ev)
		}
	}
	up, err := s.Upload(e.AdminCtx(t.Context()), e.TenantA.ID, risk.KindZeek, files)
	if err != nil || up.Status != store.TrafficDone {
		t.Fatalf("upload %+v: %v", up, err)
	}

	pl := pipeline.New(e.Store, pipeline.Options{})
	for i := 0; i < len(batch); i += 500 {
		if err := pl.Write(ctx, batch[i:min(i+500, len(batch))]); err != nil {
			t.Fatal(err)
		}
	}
	from, to := first.Truncate(time.Hour), last.Truncate(time.Hour).Add(time.Hour)
	a, ran, err := s.AnalyseEvents(ctx, e.TenantB.ID, from, to)
	if err != nil || !ran {
		t.Fatalf("analysis of collected events: ran %v, %v", ran, err)
	}
	if a.Status != store.TrafficDone || a.Skipped != 0 || a.Records != up.Records || a.Records != int64(len(batch)) {
		t.Fatalf("collected: %s, %d records, %d skipped; uploaded: %d records; %d events sent (%s)", a.Status, a.Records, a.Skipped,
			up.Records, len(batch), a.Error)
	}
	type key struct {
		Key   string
		Score float64
	}
	list := func(tenantID, analysisID string) []key {
		fs, err := s.Findings(ctx, tenantID, store.TrafficFindingFilter{AnalysisID: analysisID, Page: store.Page{Limit: store.MaxPageSize}})
		if err != nil {
			t.Fatal(err)
		}
		out := make([]key, 0, len(fs))
		for _, f := range fs {
			out = append(out, key{f.Key, f.Score})
		}
		slices.SortFunc(out, func(a, b key) int { return strings.Compare(a.Key, b.Key) })
		return out
	}
	want, got := list(e.TenantA.ID, up.ID), list(e.TenantB.ID, a.ID)
	if len(want) == 0 || !slices.Equal(got, want) {
		t.Fatalf("findings from the pipeline differ from the upload's\n got %v\nwant %v", got, want)
	}
	fs, err := s.Findings(ctx, e.TenantB.ID, store.TrafficFindingFilter{AnalysisID: a.ID, Class: "beacon", Page: store.Page{Limit: 1}})
	if err != nil || len(fs) == 0 || fs[0].Src != "10.136.0.18" || fs[0].Domain != "www.honestimnotevil.com" {
		t.Fatalf("top beacon %+v, %v", fs, err)
	}
}
