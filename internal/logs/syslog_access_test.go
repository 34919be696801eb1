package logs

import "testing"

// TestSyslogAccessPayload: nginx logging its access lines over syslog
// (access_log syslog:server=...) gives events with the access fields, the
// syslog host and a format that says both; a message that only looks
// like one stays plain syslog.
func TestSyslogAccessPayload(t *testing.T) {
	reg := NewRegistry()
	auto, err := reg.Lookup("auto")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, line, format, host string
	}{
		{"rfc3164", `<190>Nov 29 09:00:00 shop-web nginx: 203.0.113.66 - - [29/Nov/2026:09:00:00 +0000] "GET /item.php?id=1%27%20OR%201=1 HTTP/1.1" 200 71000 "-" "sqlmap/1.7"`,
			"rfc3164+access", "shop-web"},
		{"rfc5424", `<190>1 2026-11-29T09:00:00Z shop-web nginx - - - 203.0.113.66 - - [29/Nov/2026:09:00:00 +0000] "GET /item.php?id=1%27%20OR%201=1 HTTP/1.1" 200 71000 "-" "sqlmap/1.7"`,
			"rfc5424+access", "shop-web"},
	} {
		ev, err := ParseRecord(auto, []byte(tc.line), Meta{Tenant: "t"}, false)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if ev.Format != tc.format || ev.Fields["host.name"] != tc.host || ev.Fields["source.ip"] != "203.0.113.66" ||
			ev.Fields["http.response.status_code"] != 200 || ev.Fields["http.request.method"] != "GET" ||
			ev.Fields["user_agent.original"] != "sqlmap/1.7" || ev.LogSource.Category != "webserver" {
			t.Errorf("%s: format %q, fields %v, logsource %+v", tc.name, ev.Format, ev.Fields, ev.LogSource)
		}
		if msg, _ := ev.Fields["message"].(string); msg == "" || msg[0] != '2' {
			t.Errorf("%s: message %q is not the access line", tc.name, msg)
		}
	}
	ev, err := ParseRecord(auto, []byte(`<13>Nov 29 09:00:00 box app: value [not a date] "quoted" text`), Meta{Tenant: "t"}, false)
	if err != nil {
		t.Fatal(err)
	}
	if ev.Format != "rfc3164" {
		t.Errorf("a message that only looks like an access line: format %q", ev.Format)
	}
}
