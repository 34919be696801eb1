package logs

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// waitFor polls cond until it holds; the test's own deadline bounds it.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for !cond() {
		if t.Context().Err() != nil {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

type streamFixture struct {
	sink *MemorySink
	dls  *DeadLetterMemory
	srv  *StreamServer
	addr string
	done chan error
}

func startStream(t *testing.T, wrap func(net.Listener) net.Listener) *streamFixture {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if wrap != nil {
		ln = wrap(ln)
	}
	fx := &streamFixture{sink: &MemorySink{}, dls: &DeadLetterMemory{}, addr: ln.Addr().String(), done: make(chan error, 1)}
	fx.srv = NewStreamServer(Options{Sink: fx.sink, DeadLetters: fx.dls, Tenant: "t1", Logger: quietLogger()})
	ctx, cancel := context.WithCancel(context.Background())
	go func() { fx.done <- fx.srv.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-fx.done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return fx
}

const (
	line1 = "<34>1 2003-10-11T22:14:15.003Z host1 su - ID47 - first"
	line2 = "<13>Feb  5 17:32:18 10.0.0.99 app: second"
	bad   = "this is not syslog"
)

func TestStreamFraming(t *testing.T) {
	for _, tc := range []struct {
		name string
		data string
	}{
		{"newline", line1 + "\n" + bad + "\n" + line2 + "\n"},
		{"newline-crlf-no-final-newline", line1 + "\r\n" + bad + "\r\n" + line2},
		{"octet-counting", fmt.Sprintf("%d %s%d %s%d %s", len(line1), line1, len(bad), bad, len(line2), line2)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fx := startStream(t, nil)
			c, err := net.Dial("tcp", fx.addr)
			if err != nil {
				t.Fatal(err)
			}
			// Write in small pieces so frames straddle reads.
			for i := 0; i < len(tc.data); i += 7 {
				if _, err := c.Write([]byte(tc.data[i:min(i+7, len(tc.data))])); err != nil {
					t.Fatal(err)
				}
			}
			_ = c.Close()
			waitFor(t, "events", func() bool { return fx.sink.Len() == 2 && len(fx.dls.Letters()) == 1 })
			evs := fx.sink.Events()
			if evs[0].Fields["message"] != "first" || evs[1].Fields["message"] != "second" || evs[0].Tenant != "t1" {
				t.Errorf("events %v / %v", evs[0].Fields, evs[1].Fields)
			}
			if dl := fx.dls.Letters()[0]; dl.Raw != bad || dl.Line != 2 {
				t.Errorf("dead letter %+v", dl)
			}
			c2 := fx.srv.Counters().Snapshot()
			if c2.Received != 3 || c2.Parsed != 2 || c2.DeadLettered != 1 {
				t.Errorf("counters %+v", c2)
			}
		})
	}
}

func TestStreamOversizeFrameTruncated(t *testing.T) {
	fx := startStream(t, nil)
	c, err := net.Dial("tcp", fx.addr)
	if err != nil {
		t.Fatal(err)
	}
	big := "<13>Feb  5 17:32:18 host app: " + strings.Repeat("A", MaxRecordSize+100)
	if _, err := fmt.Fprintf(c, "%d %s%d %s", len(big), big, len(line1), line1); err != nil {
		t.Fatal(err)
	}
	_ = c.Close()
	waitFor(t, "events", func() bool { return fx.sink.Len() == 2 })
	evs := fx.sink.Events()
	if !evs[0].Truncated || len(evs[0].Original) != MaxRecordSize || evs[1].Fields["message"] != "first" {
		t.Errorf("truncated=%v len=%d next=%v", evs[0].Truncated, len(evs[0].Original), evs[1].Fields["message"])
	}
	if fx.srv.Counters().Snapshot().Truncated != 1 {
		t.Errorf("truncated counter %+v", fx.srv.Counters().Snapshot())
	}
}

// selfSigned makes a certificate for 127.0.0.1.
func selfSigned(t *testing.T) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "vigil-test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

func TestTLSSyslog(t *testing.T) {
	cert := selfSigned(t)
	fx := startStream(t, func(ln net.Listener) net.Listener {
		return tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
	})
	pool := x509.NewCertPool()
	leaf, err := x509.ParseCertificate(cert.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	pool.AddCert(leaf)
	c, err := tls.Dial("tcp", fx.addr, &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fmt.Fprintf(c, "%d %s%d %s", len(line1), line1, len(line2), line2); err != nil {
		t.Fatal(err)
	}
	_ = c.Close()
	waitFor(t, "events", func() bool { return fx.sink.Len() == 2 })
}

func TestStreamSinkFailureClosesConnection(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := NewStreamServer(Options{Sink: SinkFunc(func(context.Context, []Event) error { return errors.New("disk full") }), Logger: quietLogger()})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	defer func() { cancel(); <-done }()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.Close() }()
	if _, err := fmt.Fprintf(c, "%s\n", line1); err != nil {
		t.Fatal(err)
	}
	// The server closes the connection: the read sees EOF or a reset.
	_ = c.SetReadDeadline(time.Now().Add(time.Minute))
	if _, err := c.Read(make([]byte, 1)); err == nil {
		t.Error("connection still open after the sink failed")
	}
}

func TestUDPSyslog(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	sink, dls := &MemorySink{}, &DeadLetterMemory{}
	srv := NewUDPServer(Options{Sink: sink, DeadLetters: dls, Logger: quietLogger()})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, pc) }()
	c, err := net.Dial("udp", pc.LocalAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range []string{line1, bad, line2} {
		if _, err := c.Write([]byte(l + "\n")); err != nil {
			t.Fatal(err)
		}
	}
	_ = c.Close()
	waitFor(t, "datagrams", func() bool { return sink.Len() == 2 && len(dls.Letters()) == 1 })
	cancel()
	if err := <-done; err != nil {
		t.Error(err)
	}
}

func TestHTTPIngest(t *testing.T) {
	var mu sync.Mutex
	fail := false
	sink := &MemorySink{}
	h := NewHTTPHandler(HTTPOptions{
		Options: Options{Sink: SinkFunc(func(ctx context.Context, evs []Event) error {
			mu.Lock()
			defer mu.Unlock()
			if fail {
				return errors.New("store down")
			}
			return sink.Write(ctx, evs)
		}), Logger: quietLogger()},
		Authenticate: func(r *http.Request) (string, error) {
			if r.Header.Get("Authorization") != "Bearer good" {
				return "", errors.New("bad token")
			}
			return "acme", nil
		},
		MaxBodySize: 1024,
	})
	post := func(auth, body string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(http.MethodPost, "/ingest", strings.NewReader(body))
		r.Header.Set("Authorization", auth)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	if w := post("Bearer bad", `{"a":1}`); w.Code != http.StatusUnauthorized {
		t.Errorf("bad token: %d", w.Code)
	}
	w := post("Bearer good", "{\"message\":\"one\"}\n{\"message\":\"two\"}\nnot json\n")
	if w.Code != http.StatusAccepted || !strings.Contains(w.Body.String(), `"accepted":2`) || !strings.Contains(w.Body.String(), `"dead_lettered":1`) {
		t.Errorf("ndjson: %d %s", w.Code, w.Body)
	}
	if w := post("Bearer good", `[{"message":"three"}]`); w.Code != http.StatusAccepted {
		t.Errorf("array: %d %s", w.Code, w.Body)
	}
	if evs := sink.Events(); len(evs) != 3 || evs[0].Tenant != "acme" || evs[2].Fields["message"] != "three" {
		t.Errorf("stored %d events", len(evs))
	}
	if w := post("Bearer good", `{"m":"`+strings.Repeat("x", 2000)+`"}`); w.Code != http.StatusRequestEntityTooLarge {
		t.Errorf("oversize: %d", w.Code)
	}
	// Gzip bodies are decoded, and bounded once decoded: a bomb that
	// expands past the limit is refused, and nothing of it is stored.
	gz := func(body string) string {
		var b bytes.Buffer
		zw := gzip.NewWriter(&b)
		_, _ = zw.Write([]byte(body))
		_ = zw.Close()
		return b.String()
	}
	postGzip := func(body string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(http.MethodPost, "/ingest", strings.NewReader(body))
		r.Header.Set("Authorization", "Bearer good")
		r.Header.Set("Content-Encoding", "gzip")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	if w := postGzip(gz(`{"message":"zipped"}`)); w.Code != http.StatusAccepted || !strings.Contains(w.Body.String(), `"accepted":1`) {
		t.Errorf("gzip: %d %s", w.Code, w.Body)
	}
	bomb := gz(`{"m":"` + strings.Repeat("x", 100_000) + `"}`)
	if len(bomb) > 1024 {
		t.Fatalf("the bomb is %d bytes compressed; the test needs it under the limit", len(bomb))
	}
	if w := postGzip(bomb); w.Code != http.StatusRequestEntityTooLarge {
		t.Errorf("gzip bomb: %d", w.Code)
	}
	if w := postGzip("not gzip at all"); w.Code != http.StatusBadRequest {
		t.Errorf("bad gzip: %d", w.Code)
	}
	r := httptest.NewRequest(http.MethodPost, "/ingest", strings.NewReader(`{"a":1}`))
	r.Header.Set("Authorization", "Bearer good")
	r.Header.Set("Content-Encoding", "br")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	if rec.Code != http.StatusUnsupportedMediaType {
		t.Errorf("brotli: %d", rec.Code)
	}
	if sink.Len() != 4 {
		t.Errorf("sink has %d events after the gzip posts", sink.Len())
	}
	mu.Lock()
	fail = true
	mu.Unlock()
	if w := post("Bearer good", `{"message":"four"}`); w.Code != http.StatusServiceUnavailable || strings.Contains(w.Body.String(), "store down") {
		t.Errorf("sink failure: %d %s", w.Code, w.Body)
	}
	if sink.Len() != 4 {
		t.Errorf("sink has %d events", sink.Len())
	}
}

// TestStreamBackpressure: while the Sink blocks, the server reads no more
// than one batch plus one buffer from the connection, whatever the sender
// pushes; once the Sink accepts, every record arrives in order.
func TestStreamBackpressure(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	entered := make(chan struct{}, 1)
	mem := &MemorySink{}
	sink := SinkFunc(func(ctx context.Context, evs []Event) error {
		select {
		case entered <- struct{}{}:
		default:
		}
		<-release
		return mem.Write(ctx, evs)
	})
	const batch = 100
	srv := NewStreamServer(Options{Sink: sink, BatchSize: batch, Logger: quietLogger()})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	defer func() { cancel(); <-done }()

	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	const total = 20000
	var sent atomic.Int64
	writeErr := make(chan error, 1)
	go func() {
		for i := range total {
			n, err := fmt.Fprintf(c, "<13>Feb  5 17:32:18 host app: record %06d %s\n", i, strings.Repeat("p", 60))
			if err != nil {
				writeErr <- err
				return
			}
			sent.Add(int64(n))
		}
		writeErr <- c.Close()
	}()
	<-entered
	waitFor(t, "the sender to push 512 KiB", func() bool { return sent.Load() >= 512<<10 })
	lineLen := int64(len(fmt.Sprintf("<13>Feb  5 17:32:18 host app: record %06d %s\n", 0, strings.Repeat("p", 60))))
	// One batch in the blocked Write, at most one pending behind it, one
	// being parsed, and what the read buffer held.
	bound := uint64(3*batch + (MaxRecordSize+16)/lineLen + 1)
	if got := srv.Counters().Snapshot().Received; got > bound {
		t.Errorf("server read %d records while the sink was blocked; bound %d", got, bound)
	}
	close(release)
	if err := <-writeErr; err != nil {
		t.Fatal(err)
	}
	waitFor(t, "all records", func() bool { return mem.Len() == total })
	for i, ev := range mem.Events() {
		if want := fmt.Sprintf("record %06d ", i); !strings.HasPrefix(ev.Fields["message"].(string), want) {
			t.Fatalf("event %d is %q", i, ev.Fields["message"])
		}
	}
}
