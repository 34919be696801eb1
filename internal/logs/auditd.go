package logs

import (
	"bytes"
	"encoding/hex"
	"strconv"
	"strings"
	"time"
)

// auditdParser reads Linux audit records, from audit.log or after a
// syslog header (audispd):
//
//	[node=HOST ]type=SYSCALL msg=audit(1364481363.243:24287): key=value …
//
// Fields keep the audit names (type, syscall, exe, comm, key, a0, …) as
// Sigma's auditd rules use them; the inner msg='…' of user records is
// read too. Unquoted hex values of EXECVE arguments (aN) and of proctitle,
// comm, exe, cwd and name are decoded. ECS aliases: process.pid,
// process.parent.pid, process.executable, process.name, user.id,
// user.audit.id, event.outcome, process.args and process.command_line for
// EXECVE, auditd.log.sequence.
type auditdParser struct{}

var _ Parser = auditdParser{}

// Name implements Parser.
func (auditdParser) Name() string { return "auditd" }

// Sniff implements sniffer.
func (auditdParser) Sniff(line []byte) bool { return bytes.Contains(line, []byte("msg=audit(")) }

// Parse implements Parser.
func (p auditdParser) Parse(line []byte, meta Meta) (Event, error) {
	line = trimRecord(line)
	ev := newEvent(p.Name(), line, meta)
	s := ev.Original
	i := strings.Index(s, "type=")
	if i < 0 {
		return Event{}, errSyntax(p.Name(), "no type=")
	}
	if i > 0 {
		pre := s[:i]
		if n := strings.Index(pre, "node="); n >= 0 {
			setStr(ev.Fields, "host.name", strings.TrimSpace(strings.TrimPrefix(pre[n:], "node=")))
			pre = pre[:n]
		}
		if h, err := parseBSD(pre, ev.Received, false); err == nil && h.hasTime {
			h.msg = ""
			h.apply(&ev)
		}
	}
	if err := auditdFields(&ev, s[i:]); err != nil {
		return Event{}, err
	}
	return ev, nil
}

// auditdFields decodes "type=… msg=audit(sec.ms:serial): k=v …".
func auditdFields(ev *Event, s string) error {
	f := ev.Fields
	typ, rest, ok := strings.Cut(strings.TrimPrefix(s, "type="), " ")
	if !ok || typ == "" {
		return errSyntax("auditd", "no record type")
	}
	rest = strings.TrimLeft(rest, " ")
	if !strings.HasPrefix(rest, "msg=audit(") {
		return errSyntax("auditd", "no msg=audit(…)")
	}
	end := strings.Index(rest, ")")
	if end < 0 {
		return errSyntax("auditd", "unterminated msg=audit(")
	}
	stamp := rest[len("msg=audit("):end]
	ts, serial, ok := strings.Cut(stamp, ":")
	if !ok {
		return errSyntax("auditd", "bad audit stamp %q", stamp)
	}
	sec, err := strconv.ParseFloat(ts, 64)
	if err != nil || sec < 0 || sec > 1e11 {
		return errSyntax("auditd", "bad audit time %q", ts)
	}
	whole := int64(sec)
	ev.Time = time.Unix(whole, int64((sec-float64(whole))*1e9)).Round(time.Millisecond).UTC()
	setInt(f, "auditd.log.sequence", serial)
	f["type"] = typ
	rest = strings.TrimPrefix(rest[end+1:], ":")
	pairs, err := splitKV(rest)
	if err != nil {
		return errSyntax("auditd", "%v", err)
	}
	raw := map[string]bool{}
	for _, p := range pairs {
		if p.k == "msg" {
			// User-space records carry their fields in msg='…'.
			inner, _ := splitKV(p.v)
			for _, ip := range inner {
				f[ip.k] = ip.v
			}
			continue
		}
		f[p.k] = p.v
		raw[p.k] = !strings.Contains(rest, p.k+`="`)
	}
	var args []string
	if typ == "EXECVE" {
		argc, _ := strconv.Atoi(str(f["argc"]))
		for n := 0; n < min(argc, 1024); n++ {
			k := "a" + strconv.Itoa(n)
			v := str(f[k])
			if raw[k] {
				v = unhex(v)
				f[k] = v
			}
			args = append(args, v)
		}
		if len(args) > 0 {
			f["process.args"] = args
			f["process.command_line"] = strings.Join(args, " ")
		}
	}
	for _, k := range []string{"proctitle", "comm", "exe", "cwd", "name"} {
		if v, ok := f[k].(string); ok && raw[k] {
			f[k] = strings.ReplaceAll(unhex(v), "\x00", " ")
		}
	}
	if v := str(f["pid"]); v != "" {
		setInt(f, "process.pid", v)
	}
	if v := str(f["ppid"]); v != "" {
		setInt(f, "process.parent.pid", v)
	}
	setStr(f, "process.executable", str(f["exe"]))
	setStr(f, "process.name", str(f["comm"]))
	setStr(f, "user.id", str(f["uid"]))
	setStr(f, "user.audit.id", str(f["auid"]))
	setStr(f, "user.name", str(f["acct"]))
	if a := str(f["addr"]); a != "" && a != "?" {
		setIP(f, "source.ip", a)
	}
	switch strings.ToLower(str(f["success"]) + str(f["res"])) {
	case "yes", "success", "1":
		f["event.outcome"] = "success"
	case "no", "failed", "0":
		f["event.outcome"] = "failure"
	}
	ev.LogSource = LogSource{Product: "linux", Service: "auditd"}
	return nil
}

func str(v any) string { s, _ := v.(string); return s }

// unhex decodes an even-length upper- or lower-case hex string; other
// values are returned unchanged.
func unhex(v string) string {
	if len(v) < 2 || len(v)%2 != 0 {
		return v
	}
	b, err := hex.DecodeString(v)
	if err != nil {
		return v
	}
	return string(b)
}
