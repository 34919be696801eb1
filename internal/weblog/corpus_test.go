package weblog

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
)

// httpParamsCSV is the labelled HTTP parameter corpus (payload, length,
// attack_type, label) of the shared sample set.
const httpParamsCSV = "../../../shared/corpus/weblogs/httpparams/payload_train.csv"

// corpusRow is one labelled payload.
type corpusRow struct {
	payload, class string
	heldOut        bool
	hash           uint64
}

// heldOutRow splits the corpus deterministically: the FNV-1a hash of the
// payload decides, so a payload that occurs twice always lands in the same
// half and the held-out half never leaks into tuning.
func heldOutRow(payload string) bool {
	return rowHash(payload)%2 == 1
}

func rowHash(payload string) uint64 {
	h := fnv.New64a()
	_, _ = h.Write([]byte(payload))
	return h.Sum64()
}

func readHTTPParams(t testing.TB) []corpusRow {
	t.Helper()
	f, err := os.Open(httpParamsCSV)
	if err != nil {
		t.Skipf("corpus not available: %v", err)
	}
	defer func() { _ = f.Close() }()
	r := csv.NewReader(f)
	head, err := r.Read()
	if err != nil {
		t.Fatal(err)
	}
	col := map[string]int{}
	for i, h := range head {
		col[h] = i
	}
	pi, okP := col["payload"]
	ci, okC := col["attack_type"]
	if !okP || !okC {
		t.Fatalf("corpus header %v lacks payload/attack_type", head)
	}
	var out []corpusRow
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, corpusRow{payload: rec[pi], class: rec[ci], heldOut: heldOutRow(rec[pi]), hash: rowHash(rec[pi])})
	}
}

// classTally counts detections of one class in one half.
type classTally struct {
	rows, either, form, pct int
	missed                  []string
}

func (c *classTally) rate(n int) float64 { return 100 * float64(n) / float64(max(c.rows, 1)) }

// runHTTPParams wraps every row into two combined-log GET lines (the
// value form-encoded as the only parameter of one script, and
// percent-encoded as the second parameter of another), analyses them and
// counts, per half and class, the rows a payload layer flagged.
func runHTTPParams(t testing.TB, a *Analyzer, rows []corpusRow) (tune, held map[string]*classTally) {
	t.Helper()
	var b strings.Builder
	ts := time.Date(2024, 10, 10, 12, 0, 0, 0, time.UTC)
	for i, r := range rows {
		tm := ts.Add(time.Duration(i) * time.Second).Format("02/Jan/2006:15:04:05 -0700")
		ip := fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255)
		fmt.Fprintf(&b, "%s - - [%s] \"GET /search.php?q=%s HTTP/1.1\" 200 1000 \"-\" \"Mozilla/5.0 (X11; Linux x86_64)\"\n", ip, tm, url.QueryEscape(r.payload))
		fmt.Fprintf(&b, "%s - - [%s] \"GET /app/view?lang=en&v=%s HTTP/1.1\" 200 1000 \"-\" \"Mozilla/5.0 (X11; Linux x86_64)\"\n", ip, tm, url.PathEscape(r.payload))
	}
	path := filepath.Join(t.TempDir(), "payloads.log")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	flagged := map[int]bool{}
	_, _, err := a.AnalyzeFile(context.Background(), path, func(h Hit) error {
		for _, l := range h.Layers {
			if !strings.HasPrefix(l, "behaviour:") || l == "behaviour:jndi-lookup" {
				flagged[h.Line] = true
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	tune, held = map[string]*classTally{}, map[string]*classTally{}
	for i, r := range rows {
		m := tune
		if r.heldOut {
			m = held
		}
		c := m[r.class]
		if c == nil {
			c = &classTally{}
			m[r.class] = c
		}
		c.rows++
		f, p := flagged[2*i+1], flagged[2*i+2]
		if f {
			c.form++
		}
		if p {
			c.pct++
		}
		if f || p {
			c.either++
		}
		if (r.class == "norm") == (f || p) {
			c.missed = append(c.missed, fmt.Sprintf("form=%v pct=%v %q", f, p, r.payload))
		}
	}
	return tune, held
}

func logTallies(t testing.TB, half string, m map[string]*classTally, misses bool) {
	t.Helper()
	var classes []string
	for c := range m {
		classes = append(classes, c)
	}
	sort.Strings(classes)
	for _, c := range classes {
		k := m[c]
		what := "detected"
		if c == "norm" {
			what = "false positives"
		}
		t.Logf("%-8s %-15s rows %5d  %s: either %6.2f%% (%d)  form-encoded %6.2f%%  percent-encoded %6.2f%%",
			half, c, k.rows, what, k.rate(k.either), k.either, k.rate(k.form), k.rate(k.pct))
		if misses {
			for _, s := range k.missed {
				t.Logf("    %s %s", c, s)
			}
		}
	}
}

// TestHTTPParamsCorpus measures the payload layers on the labelled HTTP
// parameter corpus, the way bench/weblog does (detected = any payload
// layer flagged either of the two log lines of a row; the class comes from
// the corpus label, which the analyser never sees). Rules and decoders are
// tuned on one half only; the assertions are on the other (held-out) half. Set
// VIGIL_WEBLOG_MISSES=tuning to print the rows the tuning half gets wrong
// (the ones to study), =all to print the held-out ones too.
func TestHTTPParamsCorpus(t *testing.T) {
	if testing.Short() {
		t.Skip("corpus evaluation runs CRS on thousands of lines")
	}
	rows := readHTTPParams(t)
	if len(rows) < 1000 {
		t.Fatalf("corpus has %d rows", len(rows))
	}
	// SQL injection is 35% of the corpus and every row of it goes through
	// CRS: the test keeps one row in eight of it (by hash, so the same
	// rows every run); bench/weblog measures all of them.
	// The tuning half is evaluated only when its misses are asked for
	// (bench/weblog prints both halves in full).
	show := os.Getenv("VIGIL_WEBLOG_MISSES")
	var sample []corpusRow
	for _, r := range rows {
		if (r.heldOut || show != "") && (r.class != "sqli" || r.hash>>1%8 == 0) {
			sample = append(sample, r)
		}
	}
	a := testAnalyzer(t)
	tune, held := runHTTPParams(t, a, sample)
	logTallies(t, "tuning", tune, show == "tuning" || show == "all")
	logTallies(t, "held-out", held, show == "all")
	for class, k := range held {
		if class == "norm" {
			if k.either > 0 {
				t.Errorf("held-out norm: %d false positives in %d rows: %v", k.either, k.rows, k.missed)
			}
			continue
		}
		if k.rows < 20 {
			t.Errorf("held-out %s has only %d rows; the split is broken", class, k.rows)
		}
		if got := k.rate(k.either); got < heldOutFloor[class] {
			t.Errorf("held-out %s: detection %.2f%% < %.2f%%; missed %v", class, got, heldOutFloor[class], k.missed)
		}
	}
}

// heldOutFloor is the detection rate each class reached on the held-out
// half, rounded down to a whole percent (measured: cmdi 28/29, path
// traversal 69/73, xss 172/173, sqli 445/446 of the one-in-eight sample).
// The classes are small: one more miss fails the test, which is the point.
var heldOutFloor = map[string]float64{"cmdi": 96, "path-traversal": 94, "xss": 99, "sqli": 99}
