package logs

import (
	"strconv"
	"strings"
	"time"
)

// severityNames are the RFC 5424 severity keywords, indexed by code; they
// become log.level.
var severityNames = [8]string{"emergency", "alert", "critical", "error", "warning", "notice", "informational", "debug"}

// parsePRI reads "<N>" at the start of s (N in 0..191) and returns N and
// the rest; ok is false when s does not start with a valid PRI.
func parsePRI(s string) (pri int, rest string, ok bool) {
	if len(s) < 3 || s[0] != '<' {
		return 0, s, false
	}
	end := strings.IndexByte(s[:min(len(s), 5)], '>')
	if end < 2 {
		return 0, s, false
	}
	n, err := strconv.Atoi(s[1:end])
	if err != nil || n < 0 || n > 191 || (end > 2 && s[1] == '0') {
		return 0, s, false
	}
	return n, s[end+1:], true
}

// setPRI stores the facility, severity and level of a PRI.
func setPRI(f map[string]any, pri int) {
	f["log.syslog.priority"] = pri
	f["log.syslog.facility.code"] = pri / 8
	f["log.syslog.severity.code"] = pri % 8
	f["log.level"] = severityNames[pri%8]
}

// enrichMessage recognises well-known payloads inside a syslog message
// (CEF, LEEF, sshd and sudo, netfilter, auditd, web access lines) and adds
// their fields.
// It reports the more specific format name when one matched, so the
// event's Format says what was understood.
func enrichMessage(ev *Event, app, msg string) {
	f := ev.Fields
	defer func() {
		if t, ok := f["@timestamp"].(time.Time); ok {
			ev.Time = t
			delete(f, "@timestamp")
		}
	}()
	switch {
	case strings.HasPrefix(msg, "CEF:"):
		if cefFields(f, msg) == nil {
			ev.Format += "+cef"
		}
	case strings.HasPrefix(msg, "LEEF:"):
		if leefFields(f, msg) == nil {
			ev.Format += "+leef"
		}
	case isAuthApp(app):
		if authFields(ev, app, msg) {
			ev.Format += "+auth"
		}
	case strings.Contains(msg, "IN=") && strings.Contains(msg, "SRC="):
		if netfilterFields(f, msg) == nil {
			ev.Format += "+netfilter"
			ev.LogSource = LogSource{Product: "linux", Category: "firewall"}
		}
	case strings.HasPrefix(msg, "type=") && strings.Contains(msg, "msg=audit("):
		if auditdFields(ev, msg) == nil {
			ev.Format += "+auditd"
		}
	case accessParser{}.Sniff([]byte(msg)):
		// A web server logging over syslog (nginx's access_log syslog:,
		// Apache through logger): the access line's fields join the
		// syslog ones, whose host and time stay.
		if a, err := (accessParser{}).Parse([]byte(msg), Meta{Received: ev.Received}); err == nil {
			for k, v := range a.Fields {
				if _, ok := f[k]; !ok {
					f[k] = v
				}
			}
			ev.Format += "+access"
			ev.LogSource = a.LogSource
		}
	}
}
