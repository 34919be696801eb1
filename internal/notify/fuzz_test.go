package notify

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func FuzzChannelConfig(f *testing.F) {
	for _, s := range []string{
		`{"kind":"wecom","name":"w","settings":{"msgtype":"text"},"secrets":{"key":"k"}}`,
		`{"kind":"dingtalk","name":"d","secrets":{"access_token":"t","secret":"SEC"}}`,
		`{"kind":"feishu","name":"f","settings":{"endpoint":"https://open.larksuite.com/open-apis/bot/v2/hook/"},"secrets":{"token":"t"}}`,
		`{"kind":"webhook","name":"h","timeout":"3s","settings":{"url":"https://example.com/x","headers":{"X-A":"b"}},"secrets":{"signing_secret":"s"}}`,
		`{"kind":"sms","name":"s","settings":{"url":"https://example.com","numbers":["+8613800000000"]}}`,
		`{"kind":"email","name":"m","settings":{"host":"smtp.example.com","tls":"implicit","auth":"login","username":"u","from":"a@example.com","to":["b@example.com"]},"secrets":{"password":"p"}}`,
		`{"kind":"webhook","name":"h","settings":{"url":"http://169.254.169.254/"}}`,
		`{"kind":"email","name":"m","settings":{"host":"x","ca_pem":"-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----"}}`,
		`{}`, `[]`, `null`, `{"kind":1}`,
	} {
		f.Add([]byte(s))
	}
	reg := DefaultRegistry()
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := ParseChannelConfig(data)
		if err != nil {
			return
		}
		shown, err := json.Marshal(cfg.Redacted())
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range cfg.Secrets() {
			if len(v) >= 8 && !strings.Contains(k, v) && strings.Contains(string(shown), v) && !strings.Contains(string(cfg.Settings), v) && cfg.Name != v && cfg.Kind != v {
				t.Fatalf("redacted config shows secret %q: %s", k, shown)
			}
		}
		_, _, _ = reg.Build(cfg, Env{Now: func() time.Time { return fixedNow }})
	})
}

func FuzzPreview(f *testing.F) {
	seed, _ := json.Marshal(sampleData())
	f.Add("alert", "en", seed)
	f.Add("digest", "zh-CN", []byte(`{"title":"{{.}}<script>","items":[{"title":"**x**","link":"javascript:1"}],"lines":["</pre>"]}`))
	f.Add("test", "fr", []byte(`{"title":""}`))
	f.Add("case", "zh", []byte(`{"title":"a","time":"2026-01-02T03:04:05Z","severity":"low"}`))
	f.Add("kev-match", "en", []byte(`{"fields":[{"name":"<b>","value":"[a](b)"}]}`))
	tm, err := NewTemplates()
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, kind, lang string, data []byte) {
		r, err := tm.Preview(Kind(kind), lang, data)
		if err != nil {
			return
		}
		if strings.Contains(strings.ToLower(r.HTML), "<script") {
			t.Fatalf("script in HTML: %s", r.HTML)
		}
		if strings.Contains(r.Markdown, "<") {
			t.Fatalf("raw < in Markdown: %s", r.Markdown)
		}
		if len(r.Subject) > MaxSubjectBytes || strings.ContainsAny(r.Subject, "\r\n") {
			t.Fatalf("subject %q", r.Subject)
		}
	})
}
