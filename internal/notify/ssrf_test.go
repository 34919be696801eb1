package notify

import (
	"context"
	"errors"
	"net/http"
	"net/netip"
	"strings"
	"testing"
)

func TestCheckAddr(t *testing.T) {
	blocked := []string{"127.0.0.1", "127.8.9.10", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254",
		"100.64.0.1", "0.0.0.0", "224.0.0.1", "255.255.255.255", "::1", "::", "fe80::1", "fd00::1", "ff02::1", "::ffff:127.0.0.1", "::ffff:10.0.0.1",
		"::127.0.0.1", "64:ff9b::a9fe:a9fe", "2002:7f00:1::1", "2002:c0a8:101::"}
	for _, s := range blocked {
		if err := CheckAddr(netip.MustParseAddr(s)); !errors.Is(err, ErrBlockedAddress) {
			t.Errorf("%s: not blocked (%v)", s, err)
		}
	}
	for _, s := range []string{"8.8.8.8", "203.0.113.9", "2606:4700::1111", "100.128.0.1", "64:ff9b::808:808", "2002:808:808::1"} {
		if err := CheckAddr(netip.MustParseAddr(s)); err != nil {
			t.Errorf("%s: blocked: %v", s, err)
		}
	}
}

// A literal internal address is refused when the channel is built.
func TestSSRFLiteralRefusedAtBuild(t *testing.T) {
	for _, host := range []string{"127.0.0.1:9", "10.0.0.5", "169.254.169.254", "[::1]:8080"} {
		for _, kind := range []string{"webhook", "wecom"} {
			var cfg string
			if kind == "webhook" {
				cfg = `{"kind":"webhook","name":"w","settings":{"url":"http://` + host + `/latest/meta-data/"}}`
			} else {
				cfg = `{"kind":"wecom","name":"w","settings":{"endpoint":"http://` + host + `/"},"secrets":{"key":"k"}}`
			}
			c, err := ParseChannelConfig([]byte(cfg))
			if err != nil {
				t.Fatal(err)
			}
			if _, _, err := DefaultRegistry().Build(c, Env{}); !errors.Is(err, ErrBlockedAddress) {
				t.Errorf("%s %s: err = %v, want ErrBlockedAddress", kind, host, err)
			}
			c.AllowPrivate = true
			if _, _, err := DefaultRegistry().Build(c, Env{}); err != nil {
				t.Errorf("%s %s with allow_private: %v", kind, host, err)
			}
		}
	}
	c, _ := ParseChannelConfig([]byte(`{"kind":"email","name":"m","settings":{"host":"10.0.0.25","from":"a@example.com","to":["b@example.com"]}}`))
	if _, _, err := DefaultRegistry().Build(c, Env{}); !errors.Is(err, ErrBlockedAddress) {
		t.Errorf("email to 10.0.0.25: err = %v", err)
	}
}

// A host name is checked after resolution, at dial time: "localhost" passes
// the build step but the connection to 127.0.0.1 / ::1 is refused, and the
// server never sees a request. The same check stops DNS rebinding, since
// it runs on the address actually dialled.
func TestSSRFRefusedAtDial(t *testing.T) {
	srv, got := recorder(t, 200, `{}`)
	port := srv.URL[strings.LastIndexByte(srv.URL, ':'):]
	ch := buildChannel(t, `{"kind":"webhook","name":"w","settings":{"url":"http://localhost`+port+`/"}}`)
	_, err := ch.Send(context.Background(), testMessage())
	if !errors.Is(err, ErrBlockedAddress) {
		t.Fatalf("err = %v, want ErrBlockedAddress", err)
	}
	if IsTransient(err) {
		t.Error("a refused address must not be retried")
	}
	if n := len(got()); n != 0 {
		t.Errorf("server received %d requests", n)
	}
	// The admin switch lets the same channel through.
	ch = buildChannel(t, `{"kind":"webhook","name":"w","allow_private":true,"settings":{"url":"http://localhost`+port+`/"}}`)
	if _, err := ch.Send(context.Background(), testMessage()); err != nil {
		t.Fatalf("allow_private: %v", err)
	}
}

func TestDialControlAddresses(t *testing.T) {
	for _, a := range []string{"127.0.0.1:80", "10.0.0.1:443", "169.254.169.254:80", "[::1]:443", "[fe80::1%eth0]:80"} {
		if err := dialControl("tcp", a, nil); !errors.Is(err, ErrBlockedAddress) {
			t.Errorf("%s: %v", a, err)
		}
	}
	if err := dialControl("tcp", "203.0.113.9:443", nil); err != nil {
		t.Errorf("public address refused: %v", err)
	}
}

// Redirects are not followed: a provider cannot bounce us to an internal URL.
func TestNoRedirects(t *testing.T) {
	srv, _ := recorder(t, http.StatusFound, ``)
	ch := buildChannel(t, `{"kind":"webhook","name":"w","allow_private":true,"settings":{"url":"`+srv.URL+`"}}`)
	_, err := ch.Send(context.Background(), testMessage())
	var se *SendError
	if !errors.As(err, &se) || se.Status != http.StatusFound || se.Transient {
		t.Fatalf("err = %v", err)
	}
}

// Transport errors drop the request URL, which carries the robot key.
func TestErrorsDoNotLeakRobotKey(t *testing.T) {
	srv, _ := recorder(t, 200, `{}`)
	port := srv.URL[strings.LastIndexByte(srv.URL, ':'):]
	for _, allow := range []string{"false", "true"} {
		ch := buildChannel(t, `{"kind":"wecom","name":"w","allow_private":`+allow+`,"timeout":"2s",
			"settings":{"endpoint":"http://localhost`+port+`/x"},"secrets":{"key":"supersecretrobotkey"}}`)
		srv.Close() // with allow_private the dial reaches a closed port
		_, err := ch.Send(context.Background(), testMessage())
		if err == nil {
			t.Fatal("no error")
		}
		if strings.Contains(err.Error(), "supersecretrobotkey") {
			t.Errorf("allow_private=%s: error leaks the key: %v", allow, err)
		}
	}
}
