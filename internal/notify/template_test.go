package notify

import (
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/preview")

func sampleData() TemplateData {
	return TemplateData{
		Tenant: "ACME 制造", Title: "SSH brute force against web-1", Severity: SeverityHigh,
		Summary: "37 failed logins for root in 2 minutes, then 1 success.",
		Source:  "sshd / web-1", Time: time.Date(2026, 11, 29, 7, 12, 0, 0, time.UTC),
		Fields: []Field{{Name: "src_ip", Value: "203.0.113.9"}, {Name: "rule", Value: "sigma: ssh_bruteforce"}},
		Items:  []Item{{Title: "CVE-2024-6387", Severity: SeverityCritical, Note: "regreSSHion", Link: "https://nvd.nist.gov/vuln/detail/CVE-2024-6387"}},
		Lines:  []string{"Nov 29 07:11:58 web-1 sshd[811]: Failed password for root from 203.0.113.9 port 52314 ssh2"},
		Link:   "https://vigil.example/alerts/42", AckURL: "https://vigil.example/ack?token=abc",
	}
}

// TestTemplatesGolden renders every kind in both languages and compares
// with testdata/preview/<kind>.<lang>.golden (go test -update rewrites).
func TestTemplatesGolden(t *testing.T) {
	tm, err := NewTemplates()
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range Kinds() {
		for _, lang := range []string{LangEN, LangZH} {
			r, err := tm.Render(k, lang, sampleData())
			if err != nil {
				t.Fatalf("%s %s: %v", k, lang, err)
			}
			if r.Subject == "" || r.Text == "" || r.Markdown == "" || r.HTML == "" {
				t.Errorf("%s %s: empty format in %+v", k, lang, r)
			}
			got := "SUBJECT: " + r.Subject + "\n--- text\n" + r.Text + "--- markdown\n" + r.Markdown + "--- html\n" + r.HTML + "\n"
			path := filepath.Join("testdata", "preview", string(k)+"."+lang+".golden")
			if *update {
				if err := os.WriteFile(path, []byte(got), 0o600); err != nil {
					t.Fatal(err)
				}
				continue
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(string(want), got); diff != "" {
				t.Errorf("%s (-want +got):\n%s", path, diff)
			}
		}
	}
}

// User content is data: template actions in it are not executed, HTML in
// it is escaped, Markdown in it is escaped, and unsafe links are dropped.
func TestTemplateInjectionIsInert(t *testing.T) {
	tm, err := NewTemplates()
	if err != nil {
		t.Fatal(err)
	}
	d := TemplateData{
		Title:    `{{.}} <script>alert(1)</script> **bold** [x](javascript:alert(1))`,
		Severity: SeverityCritical,
		Summary:  `{{template "body" .}}{{printf "%s" "pwned"}}`,
		Fields:   []Field{{Name: "<img src=x onerror=alert(1)>", Value: "`code` | table |"}},
		Lines:    []string{`{{range .}}loop{{end}}`, `</pre><script>x()</script>`},
		Link:     "javascript:alert(document.cookie)",
		AckURL:   "data:text/html,<script>alert(1)</script>",
	}
	for _, lang := range []string{LangEN, LangZH} {
		r, err := tm.Render(KindAlert, lang, d)
		if err != nil {
			t.Fatal(err)
		}
		// Text keeps the user's characters verbatim: nothing was evaluated.
		for _, want := range []string{`{{.}}`, `{{template "body" .}}{{printf "%s" "pwned"}}`, `{{range .}}loop{{end}}`} {
			if !strings.Contains(r.Text, want) {
				t.Errorf("%s text lacks literal %q:\n%s", lang, want, r.Text)
			}
		}
		if strings.Contains(r.Text, "pwned\n") || strings.Contains(r.Text, "loop") && !strings.Contains(r.Text, "{{range .}}loop") {
			t.Errorf("%s text evaluated user input:\n%s", lang, r.Text)
		}
		low := strings.ToLower(r.HTML)
		for _, bad := range []string{"<script", "<img", `href="javascript`, `href="data:`, "&lt;/pre&gt;<"} {
			if strings.Contains(low, bad) {
				t.Errorf("%s html contains %q:\n%s", lang, bad, r.HTML)
			}
		}
		if !strings.Contains(r.HTML, "&lt;script&gt;alert(1)&lt;/script&gt;") || !strings.Contains(r.HTML, "{{.}}") || !strings.Contains(r.HTML, "&lt;/pre&gt;&lt;script&gt;") {
			t.Errorf("%s html does not show the title as text:\n%s", lang, r.HTML)
		}
		for _, bad := range []string{"<script", "<img", "**bold**", "](javascript", "](data:", "`code`"} {
			if strings.Contains(r.Markdown, bad) {
				t.Errorf("%s markdown contains %q:\n%s", lang, bad, r.Markdown)
			}
		}
		if !strings.Contains(r.Markdown, `\*\*bold\*\*`) || !strings.Contains(r.Markdown, `\{\{\.\}\}`) {
			t.Errorf("%s markdown not escaped:\n%s", lang, r.Markdown)
		}
	}
}

func TestPreviewErrors(t *testing.T) {
	for name, tc := range map[string]struct {
		kind Kind
		data string
	}{
		"unknown kind":     {"spam", `{"title":"x"}`},
		"unknown field":    {KindAlert, `{"title":"x","colour":"red"}`},
		"bad severity":     {KindAlert, `{"title":"x","severity":"apocalyptic"}`},
		"not json":         {KindAlert, `title: x`},
		"too many lines":   {KindAlert, `{"title":"x","lines":[` + strings.Repeat(`"l",`, maxLines) + `"l"]}`},
		"too large":        {KindAlert, `{"title":"` + strings.Repeat("a", MaxTemplateDataBytes) + `"}`},
		"long title":       {KindAlert, `{"title":"` + strings.Repeat("a", maxValueBytes+1) + `"}`},
		"trailing content": {KindAlert, `{"title":"x"} {"title":"y"}`},
	} {
		if _, err := Preview(tc.kind, "en", []byte(tc.data)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestNormalizeLang(t *testing.T) {
	for in, want := range map[string]string{"zh": LangZH, "zh-CN": LangZH, "zh-Hans-CN": LangZH, "en-GB": LangEN, "": LangEN, "fr": LangEN} {
		if got := NormalizeLang(in); got != want {
			t.Errorf("%q: %q, want %q", in, got, want)
		}
	}
}

// A rendered message travels through a Markdown robot with the user's
// Markdown still escaped.
func TestRenderedMessageThroughDingTalk(t *testing.T) {
	tm, err := NewTemplates()
	if err != nil {
		t.Fatal(err)
	}
	d := sampleData()
	d.Title = "**urgent** [click](http://evil.example)"
	msg, err := tm.Message("m-42", KindAlert, "zh-CN", d)
	if err != nil {
		t.Fatal(err)
	}
	srv, got := recorder(t, 200, `{"errcode":0,"errmsg":"ok"}`)
	ch := buildChannel(t, `{"kind":"dingtalk","name":"d","allow_private":true,"settings":{"endpoint":"`+srv.URL+`"},"secrets":{"access_token":"t"}}`)
	if _, err := ch.Send(context.Background(), msg); err != nil {
		t.Fatal(err)
	}
	var body struct {
		Markdown struct{ Title, Text string }
	}
	if err := json.Unmarshal(got()[0].Body, &body); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(body.Markdown.Text, `\*\*urgent\*\* \[click\]\(http://evil\.example\)`) || !strings.HasPrefix(body.Markdown.Title, "【高危】安全告警") {
		t.Errorf("dingtalk markdown %+v", body.Markdown)
	}
}
