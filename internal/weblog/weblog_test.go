package weblog

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

func parseWith(t *testing.T, format, line string) Record {
	t.Helper()
	p, err := NewParser(format)
	if err != nil {
		t.Fatal(err)
	}
	var r Record
	if err := p.Parse(line, &r); err != nil {
		t.Fatalf("%s: %v", format, err)
	}
	return r
}

func TestFormats(t *testing.T) {
	combined := `203.0.113.9 - alice [10/Oct/2024:13:55:36 -0700] "GET /item.php?id=5&x=\"q\" HTTP/1.1" 200 2326 "https://shop.example/list" "Mozilla/5.0 (X11; Linux x86_64)"`
	r := parseWith(t, FormatCombined, combined)
	if r.ClientIP != "203.0.113.9" || r.Method != "GET" || r.Path != "/item.php" || r.Query != `id=5&x="q"` || r.Status != 200 || r.Size != 2326 ||
		r.UA != "Mozilla/5.0 (X11; Linux x86_64)" || r.Referer != "https://shop.example/list" || r.Proto != "HTTP/1.1" || r.Time.UTC().Hour() != 20 {
		t.Errorf("combined: %+v", r)
	}
	r = parseWith(t, FormatCommon, `::1 - - [10/Oct/2024:13:55:36 +0000] "POST /login HTTP/1.0" 401 -`)
	if r.ClientIP != "::1" || r.Status != 401 || r.Size != 0 || r.Method != "POST" {
		t.Errorf("common: %+v", r)
	}
	r = parseWith(t, FormatVHostCombined, `shop.example:443 198.51.100.7 - - [10/Oct/2024:13:55:36 +0000] "GET / HTTP/2.0" 200 512 "-" "curl/8.5.0"`)
	if r.Host != "shop.example" || r.ClientIP != "198.51.100.7" || r.Referer != "" || r.UA != "curl/8.5.0" {
		t.Errorf("vhost_combined: %+v", r)
	}
	r = parseWith(t, FormatTomcat, `10.0.0.5 - - [10/Oct/2024:13:55:36 +0000] "GET /app/index.jsp HTTP/1.1" 200 1043 15`)
	if r.Duration != 15*time.Millisecond || r.Path != "/app/index.jsp" {
		t.Errorf("tomcat: %+v", r)
	}
	r = parseWith(t, FormatJSON, `{"time_iso8601":"2024-10-10T13:55:36+00:00","remote_addr":"192.0.2.1","request":"GET /a?b=1 HTTP/1.1","status":"404","body_bytes_sent":153,"http_referer":"","http_user_agent":"nuclei","request_time":"0.004","host":"api.example"}`)
	if r.ClientIP != "192.0.2.1" || r.Status != 404 || r.Size != 153 || r.Query != "b=1" || r.Duration != 4*time.Millisecond || r.Host != "api.example" {
		t.Errorf("json: %+v", r)
	}
	nginx := `$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent" $request_time`
	r = parseWith(t, nginx, `192.0.2.44 - - [10/Oct/2024:13:55:36 +0000] "GET /x\x22y HTTP/1.1" 200 10 "-" "Go-http-client/1.1" 0.250`)
	if r.Path != `/x"y` || r.Duration != 250*time.Millisecond {
		t.Errorf("nginx custom: %+v", r)
	}
	r = parseWith(t, `%a %{Host}i %t "%r" %>s %B %D`, `192.0.2.45 www.example [10/Oct/2024:13:55:36 +0000] "GET / HTTP/1.1" 302 0 1500`)
	if r.Host != "www.example" || r.Duration != 1500*time.Microsecond || r.Status != 302 {
		t.Errorf("apache custom: %+v", r)
	}
}

func TestW3CRemap(t *testing.T) {
	p, _ := NewParser(FormatW3C)
	lines := []string{
		"#Software: Microsoft Internet Information Services 10.0",
		"#Fields: date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip cs(User-Agent) cs(Referer) sc-status sc-substatus sc-win32-status time-taken",
		"2024-10-10 13:55:36 10.0.0.1 GET /default.aspx id=1 443 - 203.0.113.5 Mozilla/5.0+(Windows+NT+10.0) - 200 0 0 46",
		"#Fields: date time c-ip cs-method cs-uri-stem sc-status sc-bytes",
		"2024-10-10 13:55:37 203.0.113.6 POST /upload.aspx 500 1234",
	}
	var got []Record
	for _, l := range lines {
		var r Record
		if err := p.Parse(l, &r); err == nil {
			got = append(got, r)
		}
	}
	if len(got) != 2 {
		t.Fatalf("got %d records", len(got))
	}
	if got[0].UA != "Mozilla/5.0 (Windows NT 10.0)" || got[0].URI != "/default.aspx?id=1" || got[0].Duration != 46*time.Millisecond {
		t.Errorf("first: %+v", got[0])
	}
	if got[1].Method != "POST" || got[1].Status != 500 || got[1].Size != 1234 || got[1].ClientIP != "203.0.113.6" {
		t.Errorf("remapped: %+v", got[1])
	}
}

func TestDetect(t *testing.T) {
	cases := map[string]string{
		FormatCombined:      `1.2.3.4 - - [10/Oct/2024:13:55:36 +0000] "GET / HTTP/1.1" 200 1 "-" "x"`,
		FormatCommon:        `1.2.3.4 - - [10/Oct/2024:13:55:36 +0000] "GET / HTTP/1.1" 200 1`,
		FormatVHostCombined: `h:80 1.2.3.4 - - [10/Oct/2024:13:55:36 +0000] "GET / HTTP/1.1" 200 1 "-" "x"`,
		FormatTomcat:        `1.2.3.4 - - [10/Oct/2024:13:55:36 +0000] "GET / HTTP/1.1" 200 1 12`,
		FormatJSON:          `{"remote_addr":"1.2.3.4","status":200}`,
		FormatW3C:           `#Fields: date time c-ip sc-status`,
	}
	for want, line := range cases {
		got, err := Detect([]string{line})
		if err != nil || got != want {
			t.Errorf("Detect(%q) = %q, %v; want %q", line, got, err, want)
		}
	}
	if _, err := Detect([]string{"hello world"}); err == nil {
		t.Error("garbage detected as a format")
	}
}

func writeLog(t *testing.T, lines []string, gz bool) string {
	t.Helper()
	var buf bytes.Buffer
	data := []byte(strings.Join(lines, "\n") + "\n")
	name := "access.log"
	if gz {
		zw := gzip.NewWriter(&buf)
		_, _ = zw.Write(data)
		_ = zw.Close()
		data, name = buf.Bytes(), "access.log.gz"
	}
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestCoverageAndGzip(t *testing.T) {
	good := `1.2.3.4 - - [10/Oct/2024:13:55:36 +0000] "GET / HTTP/1.1" 200 1 "-" "x"`
	lines := []string{good, good, "", "garbage line", `1.2.3.4 - - [99/Xyz/2024:13:55:36 +0000] "GET / HTTP/1.1" 200 1 "-" "x"`,
		`1.2.3.4 - - [10/Oct/2024:13:55:36 +0000] "GET /` + strings.Repeat("A", 300) + ` HTTP/1.1" 200 1 "-" "x"`, "\x00\xff\xfe binary", good}
	for _, gz := range []bool{false, true} {
		f, err := os.Open(writeLog(t, lines, gz))
		if err != nil {
			t.Fatal(err)
		}
		rd, err := NewReader(f, "t", ReaderOptions{MaxLine: 200})
		if err != nil {
			t.Fatal(err)
		}
		var r Record
		var got []int
		for rd.Next(&r) {
			got = append(got, r.Line)
		}
		_ = f.Close()
		c := rd.Coverage()
		if !slices.Equal(got, []int{1, 2, 8}) || c.Format != FormatCombined || c.Lines != 8 || c.Parsed != 3 ||
			c.Skipped["blank"] != 1 || c.Skipped["malformed"] != 2 || c.Skipped["bad-time"] != 1 || c.Skipped["too-long"] != 1 {
			t.Errorf("gz=%v: lines %v coverage %+v", gz, got, c)
		}
		if len(c.Examples) == 0 || c.Examples[0].Line != 3 {
			t.Errorf("examples: %+v", c.Examples)
		}
	}
}

func TestJNDI(t *testing.T) {
	for _, s := range []string{"${jndi:ldap://x/a}", "${${lower:j}ndi:ldap://x}", "${${::-j}${::-n}${::-d}${::-i}:rmi://x}", "${${env:NOPE:-j}ndi${env:X:-:}ldap://x}", "${${upper:J}NDI:dns://x}"} {
		if !hasJNDI(normalize(s)) {
			t.Errorf("missed %s", s)
		}
	}
	for _, s := range []string{"${HOME}", "price ${5}", "jndi"} {
		if hasJNDI(normalize(s)) {
			t.Errorf("false hit %s", s)
		}
	}
}

var (
	analyzerOnce sync.Once
	analyzer     *Analyzer
	analyzerErr  error
)

func testAnalyzer(t *testing.T) *Analyzer {
	t.Helper()
	analyzerOnce.Do(func() { analyzer, analyzerErr = New(Options{System: "shop"}) })
	if analyzerErr != nil {
		t.Fatal(analyzerErr)
	}
	return analyzer
}

func analyze(t *testing.T, a *Analyzer, lines []string) []Hit {
	t.Helper()
	var hits []Hit
	_, _, err := a.AnalyzeFile(context.Background(), writeLog(t, lines, false), func(h Hit) error {
		hits = append(hits, h)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return hits
}

func line(ip string, sec int, method, uri string, status int, size int, ua string) string {
	ts := time.Date(2024, 10, 10, 12, 0, 0, 0, time.UTC).Add(time.Duration(sec) * time.Second).Format("02/Jan/2006:15:04:05 -0700")
	return fmt.Sprintf(`%s - - [%s] "%s %s HTTP/1.1" %d %d "-" "%s"`, ip, ts, method, uri, status, size, ua)
}

const browser = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/120.0 Safari/537.36"

func TestClassicPayloads(t *testing.T) {
	a := testAnalyzer(t)
	cases := map[string]Category{
		"/item.php?id=1%27%20OR%201=1--":                  CatSQLi,
		"/search?q=%3Cscript%3Ealert(1)%3C/script%3E":     CatXSS,
		"/view.php?file=../../etc/passwd":                 CatLFI,
		"/ping.php?host=127.0.0.1;cat%20/etc/passwd":      CatRCE,
		"/index.php?x=%24%7Bjndi%3Aldap%3A%2F%2Fx%7D":     CatLog4Shell,
		"/search?q=running+shoes&page=2":                  "",
		"/static/app.3f9a.js?v=1700000000":                "",
		"/blog/2024/10/what-we-learned-this-year":         "",
		"/api/items?sort=price&order=asc&filter=in-stock": "",
	}
	for uri, want := range cases {
		hits := analyze(t, a, []string{line("203.0.113.9", 0, "GET", uri, 200, 1000, browser)})
		var got []Category
		for _, h := range hits {
			got = append(got, h.Category)
		}
		switch {
		case want == "" && len(hits) > 0:
			t.Errorf("%s: false hit %+v", uri, hits)
		case want != "" && !slices.Contains(got, want):
			t.Errorf("%s: categories %v, want %s (%+v)", uri, got, want, hits)
		}
	}
}

func TestSuccessScoring(t *testing.T) {
	a := testAnalyzer(t)
	var lines []string
	for i := range 20 {
		lines = append(lines, line(fmt.Sprintf("198.51.100.%d", i+1), i, "GET", fmt.Sprintf("/item.php?id=%d", i), 200, 1000+i%3, browser))
	}
	lines = append(lines,
		line("203.0.113.9", 100, "GET", "/item.php?id=1%27%20UNION%20SELECT%20user,pass%20FROM%20users--", 200, 14500, browser),
		line("203.0.113.9", 120, "GET", "/uploads/x7.php", 200, 40, browser),
		line("203.0.113.10", 130, "GET", "/item.php?id=1%27%20UNION%20SELECT%20user,pass%20FROM%20users--", 403, 200, browser),
	)
	hits := analyze(t, a, lines)
	var ok, blocked *Hit
	for i := range hits {
		switch hits[i].ClientIP {
		case "203.0.113.9":
			if hits[i].Category == CatSQLi {
				ok = &hits[i]
			}
		case "203.0.113.10":
			blocked = &hits[i]
		}
	}
	if ok == nil || blocked == nil {
		t.Fatalf("hits: %+v", hits)
	}
	if !strings.Contains(ok.Explanation, "SQLi payload, 200, response 14× median size for /item.php") || !strings.Contains(ok.Explanation, "then 1 successful") {
		t.Errorf("explanation: %q", ok.Explanation)
	}
	if ok.Score < 80 || blocked.Score > 30 || !slices.Contains(ok.CWEs, "CWE-89") {
		t.Errorf("scores: success %d blocked %d", ok.Score, blocked.Score)
	}
}

func hasLayer(hits []Hit, layer string) *Hit {
	for i := range hits {
		if slices.Contains(hits[i].Layers, layer) {
			return &hits[i]
		}
	}
	return nil
}

func TestBehaviour(t *testing.T) {
	a := testAnalyzer(t)
	var lines []string
	lines = append(lines, line("192.0.2.1", 0, "GET", "/", 200, 500, "sqlmap/1.7.2#stable (https://sqlmap.org)"))
	for i := range 35 {
		lines = append(lines, line("192.0.2.2", i, "GET", fmt.Sprintf("/admin%d/", i), 404, 100, browser))
	}
	for i := range 12 {
		lines = append(lines, line("192.0.2.3", 100+i, "POST", "/wp-login.php", 200, 3000, browser))
	}
	lines = append(lines, line("192.0.2.3", 130, "POST", "/wp-login.php", 302, 0, browser))
	lines = append(lines,
		line("192.0.2.4", 200, "GET", "/wp-content/uploads/c99.php", 200, 8000, browser),
		line("192.0.2.5", 210, "GET", "/.git/config", 200, 250, browser),
		line("192.0.2.6", 220, "PUT", "/uploads/a.jsp", 201, 0, browser),
		line("192.0.2.7", 230, "PROPFIND", "/", 405, 0, browser),
		line("192.0.2.8", 240, "POST", "/images/thumb.php", 200, 20, browser),
	)
	hits := analyze(t, a, lines)
	for _, l := range []string{"behaviour:scanner-ua", "behaviour:error-burst", "behaviour:auth-failure-burst", "behaviour:brute-force-success",
		"behaviour:webshell-name", "behaviour:probe-vcs-metadata", "behaviour:write-method", "behaviour:abnormal-method", "behaviour:rare-script-post"} {
		if hasLayer(hits, l) == nil {
			t.Errorf("missing %s", l)
		}
	}
	if h := hasLayer(hits, "behaviour:brute-force-success"); h != nil && (h.ClientIP != "192.0.2.3" || h.Score < 60) {
		t.Errorf("brute force: %+v", h)
	}
}

func TestExclusions(t *testing.T) {
	ex, err := ParseExclusions([]byte("- system: shop\n  rule: \"942100\"\n  path_prefix: /search\n  param: q\n- rule: behaviour:abnormal-method\n"))
	if err != nil {
		t.Fatal(err)
	}
	a, err := New(Options{System: "shop", Exclusions: ex})
	if err != nil {
		t.Fatal(err)
	}
	lines := []string{
		line("203.0.113.9", 0, "GET", "/search?q=1%27%20OR%201=1--", 200, 100, browser),
		line("203.0.113.9", 1, "OPTIONS", "/", 200, 0, browser),
		line("203.0.113.9", 2, "PROPFIND", "/", 405, 0, browser),
		line("203.0.113.9", 3, "GET", "/item?id=1%27%20OR%201=1--", 200, 100, browser),
	}
	hits := analyze(t, a, lines)
	for _, h := range hits {
		if h.Line == 3 || slices.Contains(h.Layers, "crs:942100") && h.Line == 1 {
			t.Errorf("excluded layer reported: %+v", h)
		}
	}
	if hasLayer(hits, "crs:942100") == nil {
		t.Error("exclusion applied outside its path")
	}
	if _, err := ParseExclusions([]byte("- path_prefix: /x\n")); err == nil {
		t.Error("exclusion without rule accepted")
	}
}

func TestHostileLines(t *testing.T) {
	a := testAnalyzer(t)
	lines := []string{
		strings.Repeat("\xff\x00", 1000),
		`1.2.3.4 - - [10/Oct/2024:13:55:36 +0000] "` + strings.Repeat("%", 5000) + `" 200 1 "-" "x"`,
		`1.2.3.4 - - [10/Oct/2024:13:55:36 +0000] "GET /\xff\xfe%c0%ae%c0%ae/ HTTP/1.1" 200 1 "-" "${${${"`,
		strings.Repeat("A", 200_000),
		`1.2.3.4 - - [10/Oct/2024:13:55:36 +0000] "GET / HTTP/1.1" 200 1 "-" "x"`,
	}
	_ = analyze(t, a, lines)
}

// FuzzParsers feeds arbitrary lines to every parser: errors are fine,
// panics are not.
func FuzzParsers(f *testing.F) {
	f.Add(`1.2.3.4 - - [10/Oct/2024:13:55:36 +0000] "GET / HTTP/1.1" 200 1 "-" "x"`)
	f.Add(`h:80 1.2.3.4 - - [10/Oct/2024:13:55:36 +0000] "GET / HTTP/1.1" 200 1 "-" "x"`)
	f.Add(`{"remote_addr":"1.2.3.4","status":200,"request":"GET / HTTP/1.1"}`)
	f.Add("#Fields: date time c-ip sc-status\n2024-10-10 13:55:36 1.2.3.4 200")
	f.Add(`1.2.3.4 - - [10/Oct/2024:13:55:36 +0000] "GET /\"x\\ HTTP/1.1" 200 - 7`)
	formats := append(Formats(), `$remote_addr [$time_local] "$request" $status $body_bytes_sent`, `%h %t "%r" %>s %b %D`)
	f.Fuzz(func(t *testing.T, in string) {
		for _, name := range formats {
			p, err := NewParser(name)
			if err != nil {
				t.Fatal(err)
			}
			for l := range strings.SplitSeq(in, "\n") {
				var r Record
				if p.Parse(l, &r) == nil && r.Status == 0 {
					t.Fatalf("%s: record without status from %q", name, l)
				}
			}
		}
		_, _ = Detect(strings.Split(in, "\n"))
		_ = hasJNDI(in)
		_ = normalize(in)
	})
}

// FuzzFormatString compiles arbitrary format strings.
func FuzzFormatString(f *testing.F) {
	f.Add(`%h %l %u %t "%r" %>s %b`, `1.2.3.4 - - [10/Oct/2024:13:55:36 +0000] "GET / HTTP/1.1" 200 1`)
	f.Add(`$remote_addr - $remote_user [$time_local] "$request"`, `1.2.3.4 - - [x] "y"`)
	f.Add(`%{`, ``)
	f.Fuzz(func(t *testing.T, format, line string) {
		if len(format) > 500 {
			return
		}
		if p, err := NewParser(format); err == nil {
			var r Record
			_ = p.Parse(line, &r)
		}
	})
}

func TestLogOnlyFalseRules(t *testing.T) {
	for pl := 1; pl <= 4; pl++ {
		c, err := NewCRS(pl)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range []Record{
			{Method: "GET", URI: "/index.html"},
			{Method: "POST", URI: "/login.php"},
			{Method: "POST", URI: "/login.php", Host: "10.0.0.1", UA: "Mozilla/5.0"},
			{Method: "GET", URI: "/a?b=c", Host: "10.0.0.1:8080", UA: "Mozilla/5.0"},
		} {
			r.setURI(r.URI)
			if m := c.Evaluate(&r, ""); len(m.RuleIDs) > 0 {
				t.Errorf("PL%d %s %s host %q: benign log line fires %v", pl, r.Method, r.URI, r.Host, m.RuleIDs)
			}
		}
	}
	if _, err := NewCRS(5); err == nil {
		t.Error("paranoia 5 accepted")
	}
}
