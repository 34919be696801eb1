package intel

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func newTestTAXII(t *testing.T, objects int) (*httptest.Server, *MemorySource) {
	t.Helper()
	src := NewMemorySource()
	src.AddCollection(TAXIICollection{ID: "91a7b528-80eb-42ed-a74d-c6fbd5a26116", Title: "indicators", CanRead: true, MediaTypes: []string{"application/stix+json;version=2.1"}})
	src.AddCollection(TAXIICollection{ID: "52892447-4d7e-4f70-b94d-d7f22742ff63", Title: "write only", CanWrite: true})
	base := time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)
	for i := range objects {
		obj := fmt.Sprintf(`{"type":"indicator","spec_version":"2.1","id":"indicator--00000000-0000-4000-8000-%012d","created":"2026-10-01T00:00:00.000Z","modified":"2026-10-01T00:00:00.000Z","pattern":"[ipv4-addr:value = '198.51.100.%d']","pattern_type":"stix","valid_from":"2026-10-01T00:00:00Z"}`, i, i%256)
		src.AddObject("91a7b528-80eb-42ed-a74d-c6fbd5a26116", base.Add(time.Duration(i)*time.Minute), json.RawMessage(obj))
	}
	srv, err := NewTAXIIServer(TAXIIServerOptions{
		Title:       "test",
		APIRoot:     "api1",
		MaxPageSize: 100,
		Source:      src,
		Auth: func(r *http.Request) (string, error) {
			if r.Header.Get("Authorization") != "Bearer good-token" {
				return "", ErrUnauthorized
			}
			return "alice", nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv) // listens on 127.0.0.1
	t.Cleanup(ts.Close)
	return ts, src
}

func TestTAXIIClientServer(t *testing.T) {
	ts, _ := newTestTAXII(t, 250)
	ctx := context.Background()
	c := &TAXIIClient{BaseURL: ts.URL, Token: "good-token", HTTP: ts.Client()}

	d, err := c.Discovery(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.APIRoots) != 1 || d.APIRoots[0] != "/api1/" {
		t.Fatalf("discovery %+v", d)
	}
	cols, err := c.Collections(ctx, d.APIRoots[0])
	if err != nil || len(cols) != 2 {
		t.Fatalf("collections %+v, %v", cols, err)
	}
	var pages []int
	total := 0
	err = c.Objects(ctx, "/api1/", cols[0].ID, time.Time{}, 1000, func(objs []json.RawMessage) error {
		pages = append(pages, len(objs))
		total += len(objs)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// limit 1000 is capped at the server's page size of 100
	if fmt.Sprint(pages) != "[100 100 50]" || total != 250 {
		t.Errorf("pages %v, total %d", pages, total)
	}
	// added_after: objects are added one minute apart from 2026-10-01
	total = 0
	after := time.Date(2026, 10, 1, 3, 0, 0, 0, time.UTC) // after object 180
	err = c.Objects(ctx, "/api1/", cols[0].ID, after, 30, func(objs []json.RawMessage) error {
		total += len(objs)
		return nil
	})
	if err != nil || total != 69 {
		t.Errorf("added_after: %d objects, %v; want 69", total, err)
	}
	feed, err := c.FetchFeed(ctx, "/api1/", cols[0].ID, time.Time{}, ParseOptions{Source: "taxii"})
	if err != nil {
		t.Fatal(err)
	}
	if feed.Counts["indicator"] != 250 || len(feed.Indicators) != 250 || len(feed.Rejected) != 0 {
		t.Errorf("feed counts %v, %d indicators, %d rejected", feed.Counts, len(feed.Indicators), len(feed.Rejected))
	}
	// write-only collection is forbidden; unknown collection is 404
	if err := c.Objects(ctx, "/api1/", cols[1].ID, time.Time{}, 0, func([]json.RawMessage) error { return nil }); err == nil || !strings.Contains(err.Error(), "403") {
		t.Errorf("write-only collection: %v", err)
	}
	if err := c.Objects(ctx, "/api1/", "nope", time.Time{}, 0, func([]json.RawMessage) error { return nil }); err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("unknown collection: %v", err)
	}
}

func TestTAXIIAuthAndLimits(t *testing.T) {
	ts, _ := newTestTAXII(t, 10)
	ctx := context.Background()
	for _, tok := range []string{"", "bad-token"} {
		c := &TAXIIClient{BaseURL: ts.URL, Token: tok, HTTP: ts.Client()}
		if _, err := c.Discovery(ctx); err == nil || !strings.Contains(err.Error(), "401") {
			t.Errorf("token %q: %v, want 401", tok, err)
		}
	}
	get := func(path, accept string) *http.Response {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, ts.URL+path, nil)
		req.Header.Set("Authorization", "Bearer good-token")
		if accept != "" {
			req.Header.Set("Accept", accept)
		}
		resp, err := ts.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		return resp
	}
	col := "/api1/collections/91a7b528-80eb-42ed-a74d-c6fbd5a26116/objects/"
	cases := map[string]int{
		col + "?limit=0":               http.StatusBadRequest,
		col + "?limit=x":               http.StatusBadRequest,
		col + "?added_after=yesterday": http.StatusBadRequest,
		col + "?next=999":              http.StatusBadRequest,
		col + "?limit=5":               http.StatusOK,
		"/api1/":                       http.StatusOK,
		"/api2/":                       http.StatusNotFound,
	}
	for path, want := range cases {
		if got := get(path, TAXIIMediaType).StatusCode; got != want {
			t.Errorf("%s: %d, want %d", path, got, want)
		}
	}
	if got := get("/taxii2/", "text/html").StatusCode; got != http.StatusNotAcceptable {
		t.Errorf("Accept text/html: %d", got)
	}
	resp := get(col+"?limit=5", "")
	if resp.Header.Get("Content-Type") != TAXIIMediaType || resp.Header.Get("X-TAXII-Date-Added-First") == "" {
		t.Errorf("headers %v", resp.Header)
	}
	// A server that always says "more" with the same token stops the client.
	loop := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte(`{"more":true,"next":"1","objects":[]}`))
	}))
	defer loop.Close()
	c := &TAXIIClient{BaseURL: loop.URL, HTTP: loop.Client(), MaxPages: 5}
	if err := c.Objects(ctx, "/api/", "x", time.Time{}, 0, func([]json.RawMessage) error { return nil }); err == nil {
		t.Error("endless paging not stopped")
	}
	// Oversized responses are refused.
	c = &TAXIIClient{BaseURL: ts.URL, Token: "good-token", HTTP: ts.Client(), MaxResponseBytes: 64}
	if _, err := c.Collections(ctx, "/api1/"); err == nil || !strings.Contains(err.Error(), "too large") {
		t.Errorf("size bound: %v", err)
	}
	if _, err := NewTAXIIServer(TAXIIServerOptions{}); err == nil {
		t.Error("server without Auth/Source accepted")
	}
}
