package alerting_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/alerting"
	"github.com/vigil-sec/vigil/internal/fixture"
	"github.com/vigil-sec/vigil/internal/store"
)

// FuzzNoticeLink feeds arbitrary tokens to the public notice link: none
// may panic, and only the token Vigil signed opens a notice. The seeds
// are a real signed token, it damaged in several ways, and an escalation
// acknowledgement token.
func FuzzNoticeLink(f *testing.F) {
	e := fixture.New(f)
	admin := e.AdminCtx(f.Context())
	svc, err := alerting.NewService(e.Store, e.Secrets, e.Audit, alerting.Options{BaseURL: "https://soc.example",
		AckKey: []byte("0123456789abcdef0123456789abcdef-ack")})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(svc.Close)
	if err := e.Store.Contacts().Create(admin, &store.Contact{TenantID: e.TenantA.ID, Kind: "ops", Name: "Ops", Phone: "+8613900000002"}); err != nil {
		f.Fatal(err)
	}
	gw := &receiver{}
	srv := startReceiver(f, gw)
	if _, err := svc.Create(admin, e.TenantA.ID, alerting.Input{Name: "sms", Kind: "sms", MinLevel: "high", AllowPrivate: true,
		Settings: []byte(`{"url":"` + srv + `","numbers":["+8613800000000"],"max_runes":500}`),
		Secrets:  map[string]string{"signing_secret": "hook-secret"}}); err != nil {
		f.Fatal(err)
	}
	if _, err := svc.PublishNotice(admin, []string{e.TenantA.ID}, alerting.Notice{Title: "t", Severity: "high", Harm: "h"}); err != nil {
		f.Fatal(err)
	}
	var good string
	deadline := time.Now().Add(20 * time.Second)
	for good == "" && time.Now().Before(deadline) {
		for _, b := range gw.got() {
			if i := strings.Index(b, "token="); i >= 0 && strings.Contains(b, "+8613900000002") {
				raw := b[i+len("token="):]
				raw = raw[:strings.IndexAny(raw, "\" ")]
				good, _ = url.QueryUnescape(raw)
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	if good == "" {
		f.Fatal("no personal link sent")
	}
	esc, err := svc.AckLink(e.TenantA.ID+"/x", time.Now().Add(time.Hour))
	if err != nil {
		f.Fatal(err)
	}
	u, _ := url.Parse(esc)
	for _, s := range []string{good, good + "x", good[:len(good)/2], strings.Replace(good, ".", "..", 1), "." + good,
		u.Query().Get("token"), "", ".", "a.b"} {
		f.Add(s)
	}
	want, err := svc.OpenNotice(f.Context(), good)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, token string) {
		// Base64 ignores the unused low bits of a last character, so a
		// token may differ from the signed one and still name the same
		// recipient; no token may name another.
		res, err := svc.OpenNotice(t.Context(), token)
		if err == nil && res.Recipient.ID != want.Recipient.ID {
			t.Fatalf("token %q opened %+v", token, res.Recipient)
		}
	})
}

func startReceiver(tb testing.TB, h http.Handler) string {
	srv := httptest.NewServer(h)
	tb.Cleanup(srv.Close)
	return srv.URL
}
