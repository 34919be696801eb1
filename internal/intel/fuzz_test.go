package intel

import (
	"context"
	"os"
	"strings"
	"testing"
)

func FuzzParsePattern(f *testing.F) {
	for _, s := range []string{
		"[ipv4-addr:value = '198.51.100.1']",
		"[domain-name:value = 'a.example' OR ipv4-addr:value = '192.0.2.1']",
		"[file:hashes.'SHA-256' = 'ef537f25c895bfa782526529a9b63d97aa631564d5d789c2b765448c8635fb6c']",
		"[email-message:body_multipart[*].body_raw_ref.name MATCHES '^Final Report.+\\\\.exe$']",
		"[x509-certificate:issuer = 'CN=WEBMAIL' AND x509-certificate:serial_number = '4c:0b']",
		"([file:name = 'x'] FOLLOWEDBY [process:name = 'y']) WITHIN 300 SECONDS REPEATS 2 TIMES",
		"[file:size > -1.5] START t'2016-06-01T00:00:00Z' STOP t'2016-07-01T00:00:00Z'",
		"[ipv4-addr:value NOT ISSUBSET '10.0.0.0/8' AND EXISTS url:value]",
		"[url:value LIKE 'http://%' OR artifact:payload_bin = b'AA==' OR file:hashes.MD5 = h'00']",
	} {
		f.Add(s)
	}
	ev := Event{"source.ip": "10.0.0.1", "url.full": "http://x.example/", "file.name": "x", "file.size": float64(3)}
	f.Fuzz(func(t *testing.T, src string) {
		p, err := ParsePattern(src)
		if err != nil {
			return
		}
		_ = p.Match(ev)
		_, _ = p.Simple()
	})
}

func FuzzParseSTIX(f *testing.F) {
	f.Add(`{"type":"bundle","id":"bundle--6c0e7c6a-0f38-4f8b-9ad0-0f4c5b1b0c11","objects":[{"type":"indicator","spec_version":"2.1","id":"indicator--0a7c3bd8-7b55-4a0c-b2d5-1d4b0e8e1a01","created":"2026-01-01T00:00:00.000Z","modified":"2026-01-01T00:00:00.000Z","pattern":"[ipv4-addr:value = '192.0.2.9']","pattern_type":"stix","valid_from":"2026-01-01T00:00:00Z"}]}`)
	f.Add(`{"type":"ipv4-addr","id":"ipv4-addr--1e4ffad7-0b88-41d4-ba4d-77d27490b956","value":"198.51.100.3"}`)
	f.Add(`{"type":"bundle","objects":[1,"x",null,{}]}`)
	if b, err := os.ReadFile(stixDir + "/examples/indicator-for-c2-ip-address.json"); err == nil {
		f.Add(string(b))
	}
	f.Fuzz(func(t *testing.T, in string) {
		feed, err := stixParser{}.Parse(context.Background(), strings.NewReader(in), ParseOptions{Observables: true, MaxBytes: 1 << 20})
		if err != nil {
			return
		}
		m := NewMatcher(MatcherOptions{})
		for _, ind := range feed.Indicators {
			if err := m.Add(ind); err != nil {
				t.Fatalf("parser produced an indicator the matcher refuses: %+v: %v", ind, err)
			}
		}
	})
}

func FuzzParseMISPEvent(f *testing.F) {
	if b, err := os.ReadFile("testdata/misp-event.json"); err == nil {
		f.Add(string(b))
	}
	if b, err := os.ReadFile("testdata/misp-feed/5f2c3a1e-8d4b-4c6a-9e2f-0a1b2c3d4e5f.json"); err == nil {
		f.Add(string(b))
	}
	f.Add(`{"Event":{"Attribute":[{"type":"domain|ip","value":"a.example","to_ids":1}]}}`)
	f.Fuzz(func(t *testing.T, in string) {
		feed, err := mispEventParser{}.Parse(context.Background(), strings.NewReader(in), ParseOptions{MaxBytes: 1 << 20})
		if err != nil {
			return
		}
		m := NewMatcher(MatcherOptions{})
		for _, ind := range feed.Indicators {
			if err := m.Add(ind); err != nil {
				t.Fatalf("parser produced an indicator the matcher refuses: %+v: %v", ind, err)
			}
		}
	})
}

func FuzzParseCSV(f *testing.F) {
	if b, err := os.ReadFile("testdata/feed.csv"); err == nil {
		f.Add(string(b))
	}
	f.Add("192.0.2.1\n# comment\nevil.example\n\"unterminated\n")
	f.Fuzz(func(t *testing.T, in string) {
		feed, err := csvParser{}.Parse(context.Background(), strings.NewReader(in), ParseOptions{MaxBytes: 1 << 20})
		if err != nil {
			return
		}
		m := NewMatcher(MatcherOptions{})
		for _, ind := range feed.Indicators {
			if err := m.Add(ind); err != nil {
				t.Fatalf("parser produced an indicator the matcher refuses: %+v: %v", ind, err)
			}
		}
	})
}

func FuzzNormalizeURL(f *testing.F) {
	for _, s := range []string{"HTTP://Evil.Example:80/a%7eb?q=1#frag", "https://[2001:db8::1]:443/", "x.example/%zz", "http://u:p@h.example:8080"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		n, err := NormalizeURL(in)
		if err != nil {
			return
		}
		// normalisation is idempotent
		n2, err := NormalizeURL(n)
		if err != nil || n2 != n {
			t.Fatalf("NormalizeURL(%.200q) = %.200q, again %.200q, %v", in, n, n2, err)
		}
	})
}

func FuzzMISPHashes(f *testing.F) {
	if b, err := os.ReadFile("testdata/misp-feed/hashes.csv"); err == nil {
		f.Add(string(b))
	}
	f.Fuzz(func(t *testing.T, in string) {
		feed := newFeed("misp-feed")
		readMISPHashes(strings.NewReader(in), 1<<20, feed)
	})
}
