package notify

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// captured is one request a test server received.
type captured struct {
	Path   string
	Query  url.Values
	Header http.Header
	Body   []byte
}

// recorder is an httptest server that records requests and answers with
// the given status and body.
func recorder(t *testing.T, status int, answer string) (*httptest.Server, func() []captured) {
	t.Helper()
	var mu sync.Mutex
	var got []captured
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, captured{Path: r.URL.Path, Query: r.URL.Query(), Header: r.Header.Clone(), Body: body})
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, answer)
	}))
	t.Cleanup(srv.Close)
	return srv, func() []captured {
		mu.Lock()
		defer mu.Unlock()
		return append([]captured(nil), got...)
	}
}

var fixedNow = time.Date(2026, 11, 29, 8, 0, 0, 0, time.UTC)

func buildChannel(t *testing.T, cfgJSON string) Channel {
	t.Helper()
	cfg, err := ParseChannelConfig([]byte(cfgJSON))
	if err != nil {
		t.Fatal(err)
	}
	ch, _, err := DefaultRegistry().Build(cfg, Env{Now: func() time.Time { return fixedNow }})
	if err != nil {
		t.Fatal(err)
	}
	return ch
}

func testMessage() Message {
	return Message{
		ID: "msg-1", Tenant: "acme", Kind: KindAlert, Severity: SeverityHigh,
		Subject: "Brute force on web-1", Text: "5 failed logins *root*",
		Link: "https://vigil.example/alerts/1",
	}
}

func decodeJSON(t *testing.T, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("server got invalid JSON %q: %v", b, err)
	}
	return m
}

func TestWeComMarkdown(t *testing.T) {
	srv, got := recorder(t, 200, `{"errcode":0,"errmsg":"ok"}`)
	ch := buildChannel(t, `{"kind":"wecom","name":"ops-wecom","allow_private":true,
		"settings":{"endpoint":"`+srv.URL+`/cgi-bin/webhook/send"},"secrets":{"key":"robot-key-1"}}`)
	rc, err := ch.Send(context.Background(), testMessage())
	if err != nil {
		t.Fatal(err)
	}
	if rc.Channel != "ops-wecom" || rc.MessageID != "msg-1" || rc.Status != 200 {
		t.Errorf("receipt %+v", rc)
	}
	reqs := got()
	if len(reqs) != 1 {
		t.Fatalf("%d requests", len(reqs))
	}
	if k := reqs[0].Query.Get("key"); k != "robot-key-1" {
		t.Errorf("key = %q", k)
	}
	body := decodeJSON(t, reqs[0].Body)
	if body["msgtype"] != "markdown" {
		t.Errorf("msgtype %v", body["msgtype"])
	}
	content := body["markdown"].(map[string]any)["content"].(string)
	for _, want := range []string{`**Brute force on web\-1**`, `5 failed logins \*root\*`, "(https://vigil.example/alerts/1)"} {
		if !strings.Contains(content, want) {
			t.Errorf("content %q lacks %q", content, want)
		}
	}
}

func TestWeComErrcode(t *testing.T) {
	for _, tc := range []struct {
		answer    string
		transient bool
	}{
		{`{"errcode":93000,"errmsg":"invalid webhook url"}`, false},
		{`{"errcode":45009,"errmsg":"api freq out of limit"}`, true},
	} {
		srv, _ := recorder(t, 200, tc.answer)
		ch := buildChannel(t, `{"kind":"wecom","name":"w","allow_private":true,"settings":{"endpoint":"`+srv.URL+`","msgtype":"text"},"secrets":{"key":"k"}}`)
		_, err := ch.Send(context.Background(), testMessage())
		if err == nil {
			t.Fatalf("%s: no error", tc.answer)
		}
		if IsTransient(err) != tc.transient {
			t.Errorf("%s: transient = %v, want %v (%v)", tc.answer, IsTransient(err), tc.transient, err)
		}
	}
}

func TestDingTalkSigned(t *testing.T) {
	srv, got := recorder(t, 200, `{"errcode":0,"errmsg":"ok"}`)
	ch := buildChannel(t, `{"kind":"dingtalk","name":"ops-ding","allow_private":true,
		"settings":{"endpoint":"`+srv.URL+`/robot/send","at_mobiles":["+8613800000000"]},
		"secrets":{"access_token":"tok","secret":"SECabc"}}`)
	if _, err := ch.Send(context.Background(), testMessage()); err != nil {
		t.Fatal(err)
	}
	r := got()[0]
	q := r.Query
	if q.Get("access_token") != "tok" {
		t.Errorf("access_token %q", q.Get("access_token"))
	}
	if q.Get("timestamp") != strconv.FormatInt(fixedNow.UnixMilli(), 10) {
		t.Errorf("timestamp %q", q.Get("timestamp"))
	}
	// Recompute the signature as DingTalk does on receipt.
	mac := hmac.New(sha256.New, []byte("SECabc"))
	mac.Write([]byte(q.Get("timestamp") + "\nSECabc"))
	if want := base64.StdEncoding.EncodeToString(mac.Sum(nil)); q.Get("sign") != want {
		t.Errorf("sign %q, want %q", q.Get("sign"), want)
	}
	body := decodeJSON(t, r.Body)
	md := body["markdown"].(map[string]any)
	if md["title"] != "Brute force on web-1" || !strings.Contains(md["text"].(string), `\*root\*`) {
		t.Errorf("markdown %v", md)
	}
	if diff := cmp.Diff(map[string]any{"atMobiles": []any{"+8613800000000"}}, body["at"]); diff != "" {
		t.Errorf("at (-want +got):\n%s", diff)
	}
}

func TestFeishuSigned(t *testing.T) {
	srv, got := recorder(t, 200, `{"code":0,"msg":"success"}`)
	ch := buildChannel(t, `{"kind":"feishu","name":"ops-feishu","allow_private":true,
		"settings":{"endpoint":"`+srv.URL+`/open-apis/bot/v2/hook","msgtype":"text"},
		"secrets":{"token":"hook-123","secret":"fs-secret"}}`)
	if _, err := ch.Send(context.Background(), testMessage()); err != nil {
		t.Fatal(err)
	}
	r := got()[0]
	if r.Path != "/open-apis/bot/v2/hook/hook-123" {
		t.Errorf("path %q", r.Path)
	}
	body := decodeJSON(t, r.Body)
	ts := body["timestamp"].(string)
	if ts != strconv.FormatInt(fixedNow.Unix(), 10) {
		t.Errorf("timestamp %q", ts)
	}
	mac := hmac.New(sha256.New, []byte(ts+"\nfs-secret"))
	if want := base64.StdEncoding.EncodeToString(mac.Sum(nil)); body["sign"] != want {
		t.Errorf("sign %v, want %q", body["sign"], want)
	}
	if body["msg_type"] != "text" || !strings.Contains(body["content"].(map[string]any)["text"].(string), "5 failed logins *root*") {
		t.Errorf("body %v", body)
	}
}

func TestFeishuCardAndError(t *testing.T) {
	srv, got := recorder(t, 200, `{"code":19021,"msg":"sign match fail or timestamp is not within one hour from current time"}`)
	ch := buildChannel(t, `{"kind":"feishu","name":"f","allow_private":true,"settings":{"endpoint":"`+srv.URL+`/"},"secrets":{"token":"t"}}`)
	_, err := ch.Send(context.Background(), testMessage())
	var se *SendError
	if !errors.As(err, &se) || se.Status != 19021 || se.Transient {
		t.Fatalf("err = %v", err)
	}
	body := decodeJSON(t, got()[0].Body)
	if body["msg_type"] != "interactive" || body["sign"] != nil {
		t.Errorf("body %v", body)
	}
}

func TestWebhookSigned(t *testing.T) {
	srv, got := recorder(t, 202, ``)
	ch := buildChannel(t, `{"kind":"webhook","name":"soar","allow_private":true,
		"settings":{"url":"`+srv.URL+`/hook","headers":{"X-Team":"blue"}},
		"secrets":{"signing_secret":"whsec","bearer_token":"bt"}}`)
	msg := testMessage()
	msg.Attachments = []Attachment{{Name: "evidence.txt", ContentType: "text/plain", Data: []byte("abc")}}
	rc, err := ch.Send(context.Background(), msg)
	if err != nil {
		t.Fatal(err)
	}
	if rc.Status != 202 {
		t.Errorf("status %d", rc.Status)
	}
	r := got()[0]
	if err := VerifyWebhook("whsec", r.Header.Get(HeaderSignature), r.Header.Get(HeaderTimestamp), r.Body, fixedNow, time.Minute); err != nil {
		t.Errorf("server-side verification: %v", err)
	}
	// Recompute by hand too, independent of VerifyWebhook.
	mac := hmac.New(sha256.New, []byte("whsec"))
	mac.Write([]byte(r.Header.Get(HeaderTimestamp) + "." + string(r.Body)))
	if want := "sha256=" + strings.ToLower(hexString(mac.Sum(nil))); r.Header.Get(HeaderSignature) != want {
		t.Errorf("signature %q, want %q", r.Header.Get(HeaderSignature), want)
	}
	if r.Header.Get("Authorization") != "Bearer bt" || r.Header.Get("X-Team") != "blue" || r.Header.Get(HeaderMessageID) != "msg-1" {
		t.Errorf("headers %v", r.Header)
	}
	var p webhookPayload
	if err := json.Unmarshal(r.Body, &p); err != nil {
		t.Fatal(err)
	}
	want := webhookPayload{ID: "msg-1", Tenant: "acme", Kind: KindAlert, Severity: SeverityHigh, Subject: msg.Subject, Text: msg.Text,
		Link: msg.Link, Attachments: []webhookAttachment{{Name: "evidence.txt", ContentType: "text/plain", Size: 3}}, SentAt: fixedNow}
	if diff := cmp.Diff(want, p); diff != "" {
		t.Errorf("payload (-want +got):\n%s", diff)
	}
}

func hexString(b []byte) string {
	const digits = "0123456789abcdef"
	out := make([]byte, 0, 2*len(b))
	for _, c := range b {
		out = append(out, digits[c>>4], digits[c&15])
	}
	return string(out)
}

func TestWebhookStatusClasses(t *testing.T) {
	for _, tc := range []struct {
		status    int
		transient bool
	}{{500, true}, {503, true}, {429, true}, {400, false}, {404, false}} {
		srv, _ := recorder(t, tc.status, `{}`)
		ch := buildChannel(t, `{"kind":"webhook","name":"w","allow_private":true,"settings":{"url":"`+srv.URL+`"}}`)
		_, err := ch.Send(context.Background(), testMessage())
		if err == nil || IsTransient(err) != tc.transient {
			t.Errorf("status %d: err %v transient %v, want %v", tc.status, err, IsTransient(err), tc.transient)
		}
	}
}

func TestWebhookBoundedResponse(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(200)
		chunk := strings.Repeat("x", 1<<16)
		for range 64 { // 4 MiB, far over the read bound
			if _, err := io.WriteString(w, chunk); err != nil {
				return
			}
		}
	}))
	defer srv.Close()
	ch := buildChannel(t, `{"kind":"webhook","name":"w","allow_private":true,"settings":{"url":"`+srv.URL+`"}}`)
	if _, err := ch.Send(context.Background(), testMessage()); err != nil {
		t.Fatal(err)
	}
}

func TestSMSGateway(t *testing.T) {
	srv, got := recorder(t, 200, `{"ok":true}`)
	ch := buildChannel(t, `{"kind":"sms","name":"oncall-sms","allow_private":true,
		"settings":{"url":"`+srv.URL+`/sms","numbers":["+8613800000000","+14155550100"],"max_runes":20,"mode":"voice"},
		"secrets":{"signing_secret":"smssec"}}`)
	msg := testMessage()
	msg.Subject = "数据库服务器 CPU 使用率超过 95% 已持续十分钟"
	if _, err := ch.Send(context.Background(), msg); err != nil {
		t.Fatal(err)
	}
	r := got()[0]
	if err := VerifyWebhook("smssec", r.Header.Get(HeaderSignature), r.Header.Get(HeaderTimestamp), r.Body, fixedNow, time.Minute); err != nil {
		t.Error(err)
	}
	var p smsPayload
	if err := json.Unmarshal(r.Body, &p); err != nil {
		t.Fatal(err)
	}
	if n := len([]rune(p.Text)); n != 20 || p.Mode != "voice" || len(p.To) != 2 {
		t.Errorf("payload %+v (%d runes)", p, n)
	}
}

func TestConfigErrors(t *testing.T) {
	for name, cfg := range map[string]string{
		"unknown kind":        `{"kind":"pager","name":"x"}`,
		"unknown field":       `{"kind":"webhook","name":"x","settings":{"url":"https://example.com"},"colour":1}`,
		"unknown setting":     `{"kind":"webhook","name":"x","settings":{"url":"https://example.com","verb":"PUT"}}`,
		"unknown secret":      `{"kind":"wecom","name":"x","secrets":{"key":"k","pin":"1"}}`,
		"missing key":         `{"kind":"wecom","name":"x"}`,
		"bad scheme":          `{"kind":"webhook","name":"x","settings":{"url":"file:///etc/passwd"}}`,
		"gopher":              `{"kind":"webhook","name":"x","settings":{"url":"gopher://example.com/"}}`,
		"userinfo":            `{"kind":"webhook","name":"x","settings":{"url":"https://u:p@example.com/"}}`,
		"bad number":          `{"kind":"sms","name":"x","settings":{"url":"https://example.com","numbers":["12345"]}}`,
		"bad name":            `{"kind":"webhook","name":"a b","settings":{"url":"https://example.com"}}`,
		"auth without secret": `{"kind":"email","name":"x","settings":{"host":"smtp.example.com","auth":"plain","username":"u","from":"a@example.com","to":["b@example.com"]}}`,
		"bad recipient":       `{"kind":"email","name":"x","settings":{"host":"smtp.example.com","from":"a@example.com","to":["not an address"]}}`,
		"header injection":    `{"kind":"webhook","name":"x","settings":{"url":"https://example.com","headers":{"X-A":"b\r\nX-B: c"}}}`,
		"trailing":            `{"kind":"webhook","name":"x","settings":{"url":"https://example.com"}} {}`,
	} {
		cfg, err := ParseChannelConfig([]byte(cfg))
		if err == nil {
			_, _, err = DefaultRegistry().Build(cfg, Env{})
		}
		if err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestRedacted(t *testing.T) {
	cfg, err := ParseChannelConfig([]byte(`{"kind":"dingtalk","name":"d","settings":{"msgtype":"text"},"secrets":{"access_token":"tok","secret":"SEC1"}}`))
	if err != nil {
		t.Fatal(err)
	}
	shown, err := json.Marshal(cfg.Redacted())
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(shown), `"tok"`) || strings.Contains(string(shown), "SEC1") || !strings.Contains(string(shown), `"access_token":"[redacted]"`) {
		t.Errorf("redacted config %s", shown)
	}
	if diff := cmp.Diff(map[string]string{"access_token": "tok", "secret": "SEC1"}, cfg.Secrets()); diff != "" {
		t.Errorf("secrets (-want +got):\n%s", diff)
	}
	if cfg.SecretValues["access_token"] != "tok" {
		t.Error("Redacted changed the original")
	}
}
