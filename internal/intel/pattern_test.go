package intel

import (
	"errors"
	"strings"
	"testing"
)

func TestParsePatternAccepts(t *testing.T) {
	cases := []struct {
		src       string
		evaluable bool
		simple    int // number of simple values, -1 when not simple
	}{
		{"[ipv4-addr:value = '198.51.100.1']", true, 1},
		{"[domain-name:value = 'a.example' OR ipv4-addr:value = '192.0.2.1']", true, 2},
		{"[file:hashes.'SHA-256' = 'ef537f25c895bfa782526529a9b63d97aa631564d5d789c2b765448c8635fb6c']", true, 1},
		{"[ipv4-addr:value IN ('192.0.2.1', '192.0.2.0/28')]", true, 2},
		{"[ipv4-addr:value ISSUBSET '198.51.100.0/24']", true, -1},
		{"[ipv4-addr:value NOT = '192.0.2.1']", true, -1},
		{"[url:value LIKE 'http://%.example/%']", true, -1},
		{"[email-message:subject MATCHES '^Invoice [0-9]+$']", true, -1},
		{"[network-traffic:dst_port > 1024 AND network-traffic:dst_ref.value = '192.0.2.1']", true, -1},
		{"[x509-certificate:issuer = 'CN=A' AND x509-certificate:serial_number = '01']", true, -1},
		{"[email-message:body_multipart[*].body_raw_ref.name MATCHES '^x\\\\.exe$']", true, -1},
		{"[domain-name:value = 'a.example'] OR [url:value = 'http://b.example/']", true, 2},
		{"[domain-name:value = 'a.example'] AND [url:value = 'http://b.example/']", false, -1},
		{"[file:name = 'x'] FOLLOWEDBY [process:name = 'y'] WITHIN 300 SECONDS", false, -1},
		{"([file:name = 'x'] OR [file:name = 'y']) REPEATS 5 TIMES", false, -1},
		{"[file:size >= 1024] START t'2016-06-01T00:00:00Z' STOP t'2016-07-01T00:00:00Z'", false, -1},
		{"[EXISTS windows-registry-key:values[0].name]", true, -1},
		{"[artifact:payload_bin = b'AAEC' OR artifact:mime_type = 'x' OR file:hashes.MD5 = h'00ff']", true, -1},
		{"[(file:name = 'a' OR file:name = 'b') AND file:size < 10.5]", true, -1},
	}
	for _, c := range cases {
		p, err := ParsePattern(c.src)
		if err != nil {
			t.Errorf("%s: %v", c.src, err)
			continue
		}
		if p.Evaluable != c.evaluable {
			t.Errorf("%s: evaluable %v (%s), want %v", c.src, p.Evaluable, p.NotEvaluated, c.evaluable)
		}
		if !p.Evaluable && p.NotEvaluated == "" {
			t.Errorf("%s: not evaluable without a reason", c.src)
		}
		vals, ok := p.Simple()
		if c.simple < 0 && ok || c.simple >= 0 && (!ok || len(vals) != c.simple) {
			t.Errorf("%s: Simple() = %v, %v; want %d values", c.src, vals, ok, c.simple)
		}
	}
}

func TestParsePatternRejects(t *testing.T) {
	deep := strings.Repeat("(", MaxPatternDepth+2) + "[file:name = 'x']" + strings.Repeat(")", MaxPatternDepth+2)
	many := "[" + strings.Repeat("x:y = 1 OR ", MaxPatternTerms) + "x:y = 2]"
	cases := map[string]string{
		"":                                       "expected '['",
		"[ipv4-addr:value = '1.2.3.4'":           "expected \"]\"",
		"[ipv4-addr:value '1.2.3.4']":            "comparison operator",
		"[ipv4-addr = '1.2.3.4']":                "expected \":\"",
		"[file:name = 'unterminated]":            "unterminated",
		"[file:name MATCHES '(']":                "MATCHES",
		"[file:name = 'a'] WITHIN -1 SECONDS":    "WITHIN",
		"[file:name = 'a'] REPEATS 0 TIMES":      "REPEATS",
		"[file:name = 'a'] START t'x' STOP t'y'": "timestamp",
		"[ipv4-addr:value ISSUBSET 'nope']":      "ISSUBSET",
		"[file:name = 'a'] junk":                 "unexpected",
		"[file:name = 'a' ! 'b']":                "'!'",
		"[file:name MATCHES '" + strings.Repeat("a", MaxRegexpLen+1) + "']": "longer than",
		deep: "nesting deeper",
		many: "more than",
	}
	for src, want := range cases {
		_, err := ParsePattern(src)
		if err == nil {
			t.Errorf("%.60s: parsed, want error containing %q", src, want)
			continue
		}
		if !errors.Is(err, ErrPattern) || !strings.Contains(err.Error(), want) {
			t.Errorf("%.60s: error %q, want %q", src, err, want)
		}
	}
	if _, err := ParsePattern(strings.Repeat(" ", MaxPatternLen+1)); err == nil {
		t.Error("oversized pattern accepted")
	}
}

func TestPatternMatch(t *testing.T) {
	ev := Event{
		"source.ip": "10.1.2.3", "destination.ip": "198.51.100.7", "destination.port": float64(8443),
		"dns.question.name": "WWW.Evil.Example", "url.full": "http://evil.example/x",
		"file.hash.sha256": "EF537F25C895BFA782526529A9B63D97AA631564D5D789C2B765448C8635FB6C",
		"email.subject":    "Invoice 4711", "file.name": "report.pdf.exe",
	}
	cases := map[string]bool{
		"[ipv4-addr:value = '198.51.100.7']":                                                           true,
		"[ipv4-addr:value = '198.51.100.0/24']":                                                        true,
		"[ipv4-addr:value ISSUBSET '10.0.0.0/8']":                                                      true,
		"[ipv4-addr:value ISSUBSET '172.16.0.0/12']":                                                   false,
		"[ipv4-addr:value IN ('1.1.1.1', '10.1.2.3')]":                                                 true,
		"[domain-name:value = 'www.evil.example']":                                                     true,
		"[domain-name:value LIKE '%.evil.example']":                                                    true,
		"[domain-name:value LIKE '_.evil.example']":                                                    false,
		"[file:hashes.'SHA-256' = 'ef537f25c895bfa782526529a9b63d97aa631564d5d789c2b765448c8635fb6c']": true,
		"[email-message:subject MATCHES '^Invoice [0-9]+$']":                                           true,
		"[network-traffic:dst_port > 1024 AND network-traffic:dst_ref.value = '198.51.100.7']":         true,
		"[network-traffic:dst_port > 9000 AND network-traffic:dst_ref.value = '198.51.100.7']":         false,
		"[file:name NOT = 'report.pdf.exe']":                                                           false,
		"[file:name != 'other']":                                                                       true,
		"[EXISTS file:name]":                                                                           true,
		"[EXISTS process:name]":                                                                        false,
		"[mutex:name = 'x']":                                                                           false,
		"[mutex:name NOT = 'x']":                                                                       true,
		"[file:name = 'x'] OR [url:value = 'http://evil.example/x']":                                   true,
		"[file:name = 'report.pdf.exe'] AND [url:value = 'http://evil.example/x']":                     false, // not evaluated
	}
	for src, want := range cases {
		p, err := ParsePattern(src)
		if err != nil {
			t.Fatalf("%s: %v", src, err)
		}
		if got := p.Match(ev); got != want {
			t.Errorf("%s: Match = %v, want %v", src, got, want)
		}
	}
}
