package api

import (
	"encoding/json"
	"net/http"
	"testing"
)

// FuzzCreateAsset posts arbitrary bodies to a create endpoint: whatever
// arrives, the API answers with a client error or a created asset, never a
// server error, and always with a JSON body. Seeds live in
// testdata/fuzz/FuzzCreateAsset as well.
func FuzzCreateAsset(f *testing.F) {
	h := newHarness(f, func(o *Options) { o.MaxBodyBytes = 64 << 10 })
	for _, seed := range []string{
		`{"kind":"host","name":"web-02","address":"10.0.0.6","importance":2,"tags":["prod"]}`,
		`{"kind":"url","address":"https://acme.example/login"}`,
		`{"kind":"service","address":"[::1]:22","attributes":{"banner":"ssh"}}`,
		`{"kind":"ip","address":"192.0.2.0/24","tags":["", " a ", "a"]}`,
		`{"kind":"host","name":"\u0000\ud800"}`,
		`{"kind":"host","importance":1e309}`,
		`{"kind":"host","tags":null,"attributes":{"":""}}`,
		`{"kind":["host"]}`,
		`[]`,
		`null`,
		`{`,
		"",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		h.t = t
		r := h.do(http.MethodPost, "/api/v1/tenants/acme/assets", h.adminA, body)
		if r.Code >= 500 {
			t.Fatalf("status %d for body %q: %s", r.Code, body, r.Body)
		}
		if r.Code != http.StatusCreated && (r.Code < 400 || r.Code > 499) {
			t.Fatalf("unexpected status %d for body %q: %s", r.Code, body, r.Body)
		}
		if !json.Valid(r.Body) {
			t.Fatalf("status %d: body is not JSON: %q", r.Code, r.Body)
		}
	})
}
