// Command weblog-bench measures the quality and speed of internal/weblog:
// detection rate per attack class and false-positive rate on the HTTP
// parameter corpus, and throughput on a generated, mostly benign log with
// and without the prefilter. It prints figures; it asserts nothing.
package main

import (
	"bufio"
	"context"
	"encoding/csv"
	"errors"
	"flag"
	"fmt"
	"hash/fnv"
	"io"
	"math/rand/v2"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"time"

	"github.com/vigil-sec/vigil/internal/weblog"
)

func main() {
	corpus := flag.String("corpus", "../../../shared/corpus/weblogs/httpparams/payload_train.csv", "payload CSV (payload,length,attack_type,label)")
	lines := flag.Int("lines", 1_000_000, "lines of the generated throughput log")
	skipQuality := flag.Bool("throughput-only", false, "skip the corpus quality run")
	raw := flag.Int("raw-lines", 3000, "lines evaluated without prefilter (CRS on every line)")
	flag.IntVar(&showMisses, "misses", 0, "print up to this many missed payloads per attack class (and flagged norm rows)")
	flag.Parse()
	if err := run(*corpus, *lines, *raw, *skipQuality); err != nil {
		fmt.Fprintln(os.Stderr, "weblog-bench:", err)
		os.Exit(1)
	}
}

type row struct {
	payload, class string
	heldOut        bool
}

// heldOut splits the corpus as internal/weblog's corpus test does: the
// FNV-1a hash of the payload, odd = held-out half (never used for tuning).
func heldOut(payload string) bool {
	h := fnv.New64a()
	_, _ = h.Write([]byte(payload))
	return h.Sum64()%2 == 1
}

func readCorpus(path string) ([]row, error) {
	f, err := os.Open(path) // #nosec G304 -- benchmark input named on the command line.
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r := csv.NewReader(f)
	head, err := r.Read()
	if err != nil {
		return nil, err
	}
	col := map[string]int{}
	for i, h := range head {
		col[h] = i
	}
	var out []row
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		p := rec[col["payload"]]
		out = append(out, row{p, rec[col["attack_type"]], heldOut(p)})
	}
}

func run(corpus string, n, raw int, skipQuality bool) error {
	dir, err := os.MkdirTemp("", "weblog-bench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	if skipQuality {
		return throughput(dir, n, raw)
	}
	rows, err := readCorpus(corpus)
	if err != nil {
		return err
	}
	// Two variants per row: the payload as a form-encoded search
	// parameter, and percent-encoded (%20 spaces) as the second of two
	// parameters of another script.
	logPath := filepath.Join(dir, "payloads.log")
	var b strings.Builder
	ts := time.Date(2024, 10, 10, 12, 0, 0, 0, time.UTC)
	for i, r := range rows {
		t := ts.Add(time.Duration(i) * time.Second).Format("02/Jan/2006:15:04:05 -0700")
		ip := fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255)
		fmt.Fprintf(&b, "%s - - [%s] \"GET /search.php?q=%s HTTP/1.1\" 200 1000 \"-\" \"Mozilla/5.0 (X11; Linux x86_64)\"\n", ip, t, url.QueryEscape(r.payload))
		fmt.Fprintf(&b, "%s - - [%s] \"GET /app/view?lang=en&v=%s HTTP/1.1\" 200 1000 \"-\" \"Mozilla/5.0 (X11; Linux x86_64)\"\n", ip, t, url.PathEscape(r.payload))
	}
	if err := os.WriteFile(logPath, []byte(b.String()), 0o600); err != nil {
		return err
	}
	a, err := weblog.New(weblog.Options{System: "bench"})
	if err != nil {
		return err
	}
	flagged := map[int]bool{}
	_, _, err = a.AnalyzeFile(context.Background(), logPath, func(h weblog.Hit) error {
		for _, l := range h.Layers {
			if !strings.HasPrefix(l, "behaviour:") || l == "behaviour:jndi-lookup" {
				flagged[h.Line] = true
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	type tally struct{ rows, hit, v1, v2, tRows, tHit, hRows, hHit int }
	per := map[string]*tally{}
	for i, r := range rows {
		t := per[r.class]
		if t == nil {
			t = &tally{}
			per[r.class] = t
		}
		t.rows++
		l1, l2 := flagged[2*i+1], flagged[2*i+2]
		if l1 {
			t.v1++
		}
		if l2 {
			t.v2++
		}
		if l1 || l2 {
			t.hit++
		}
		if r.heldOut {
			t.hRows++
			if l1 || l2 {
				t.hHit++
			}
		} else {
			t.tRows++
			if l1 || l2 {
				t.tHit++
			}
		}
	}
	fmt.Printf("quality: %d corpus rows, 2 log lines each\n", len(rows))
	var classes []string
	for c := range per {
		classes = append(classes, c)
	}
	sort.Strings(classes)
	for _, c := range classes {
		t := per[c]
		label := "detected"
		if c == "norm" {
			label = "false positives"
		}
		fmt.Printf("  %-15s rows %5d  %s: either %6.2f%% (%d)  form-encoded %6.2f%%  percent-encoded %6.2f%%  tuning half %6.2f%% (%d/%d)  held-out half %6.2f%% (%d/%d)\n", c, t.rows, label,
			pct(t.hit, t.rows), t.hit, pct(t.v1, t.rows), pct(t.v2, t.rows), pct(t.tHit, t.tRows), t.tHit, t.tRows, pct(t.hHit, t.hRows), t.hHit, t.hRows)
	}
	if t := per["norm"]; t != nil && t.hit > 0 {
		fmt.Printf("  FP rate: 1 in %d norm rows\n", t.rows/t.hit)
	}
	if showMisses > 0 {
		printMisses(rows, flagged)
	}
	return throughput(dir, n, raw)
}

// showMisses is how many missed payloads per class the quality run prints.
var showMisses int

func printMisses(rows []row, flagged map[int]bool) {
	shown := map[string]int{}
	for i, r := range rows {
		hit := flagged[2*i+1] || flagged[2*i+2]
		if hit == (r.class != "norm") || shown[r.class] >= showMisses {
			continue
		}
		shown[r.class]++
		fmt.Printf("  %s %s: %q\n", map[bool]string{true: "flagged", false: "missed"}[hit], r.class, r.payload)
	}
}

func pct(n, d int) float64 { return 100 * float64(n) / float64(max(d, 1)) }

var (
	pages  = []string{"/", "/index.php", "/products", "/product.php", "/cart", "/checkout", "/blog/", "/about", "/contact", "/search.php", "/api/items", "/login"}
	static = []string{"/static/app.js", "/static/site.css", "/img/logo.png", "/favicon.ico", "/fonts/inter.woff2"}
	uas    = []string{"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36",
		"Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1",
		"Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0", "Googlebot/2.1 (+http://www.google.com/bot.html)"}
	words = []string{"shoes", "red dress", "laptop 15", "garden chair", "coffee", "gift card", "usb-c cable"}
)

// genLog writes n lines: mostly browsing, static files and searches, with
// one attack line in a thousand.
func genLog(path string, n int) error {
	f, err := os.Create(path) // #nosec G304 -- temporary benchmark file.
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	rng := rand.New(rand.NewPCG(1, 2)) // #nosec G404 -- synthetic data, not security.
	ts := time.Date(2024, 10, 10, 0, 0, 0, 0, time.UTC)
	attacks := []string{"/product.php?id=1%27%20OR%201=1--", "/search.php?q=%3Cscript%3Ealert(1)%3C/script%3E", "/index.php?page=../../../etc/passwd", "/.env"}
	for i := range n {
		t := ts.Add(time.Duration(i) * 50 * time.Millisecond).Format("02/Jan/2006:15:04:05 -0700")
		ip := fmt.Sprintf("198.51.%d.%d", rng.IntN(40), rng.IntN(250)+1)
		var uri string
		status, size := 200, 800+rng.IntN(20000)
		switch x := rng.IntN(1000); {
		case x == 0:
			uri = attacks[rng.IntN(len(attacks))]
		case x < 450:
			uri = static[rng.IntN(len(static))]
		case x < 600:
			uri = "/search.php?q=" + url.QueryEscape(words[rng.IntN(len(words))]) + fmt.Sprintf("&page=%d", rng.IntN(5)+1)
		case x < 700:
			uri = fmt.Sprintf("/product.php?id=%d&ref=home", rng.IntN(5000))
		case x < 720:
			uri, status = fmt.Sprintf("/missing/%d", rng.IntN(100)), 404
		default:
			uri = pages[rng.IntN(len(pages))]
		}
		fmt.Fprintf(w, "%s - - [%s] \"GET %s HTTP/1.1\" %d %d \"https://shop.example/\" \"%s\"\n", ip, t, uri, status, size, uas[rng.IntN(len(uas))])
	}
	if err := w.Flush(); err != nil {
		return err
	}
	return f.Close()
}

func throughput(dir string, n, raw int) error {
	big := filepath.Join(dir, "big.log")
	if err := genLog(big, n); err != nil {
		return err
	}
	small := filepath.Join(dir, "small.log")
	if err := genLog(small, raw); err != nil {
		return err
	}
	// Lines per wall-clock second and per CPU-second: on a shared machine
	// the wall clock also counts the time other processes held the core.
	measure := func(path string, noPre bool) (wall, cpu float64, st weblog.Stats, err error) {
		a, err := weblog.New(weblog.Options{System: "bench", Workers: 1, NoPrefilter: noPre})
		if err != nil {
			return 0, 0, weblog.Stats{}, err
		}
		runtime.GC()
		start, startCPU := time.Now(), cpuTime()
		_, st, err = a.AnalyzeFile(context.Background(), path, func(weblog.Hit) error { return nil })
		n := float64(st.Records)
		return n / time.Since(start).Seconds(), n / max((cpuTime()-startCPU).Seconds(), 1e-9), st, err
	}
	fmt.Printf("throughput (1 CRS worker, both passes):\n")
	with, withCPU, st, err := measure(big, false)
	if err != nil {
		return err
	}
	fmt.Printf("  with prefilter:    %8.0f lines/s wall, %8.0f lines per CPU-second on %d lines (%d sent to CRS, %d hits)\n", with, withCPU, st.Records, st.Prefiltered, st.Hits)
	without, withoutCPU, st, err := measure(small, true)
	if err != nil {
		return err
	}
	fmt.Printf("  without prefilter: %8.0f lines/s wall, %8.0f lines per CPU-second on %d lines (every line to CRS, %d hits)\n", without, withoutCPU, st.Records, st.Hits)
	fmt.Printf("  speed-up: %.0f× wall, %.0f× CPU\n", with/without, withCPU/withoutCPU)
	return nil
}
