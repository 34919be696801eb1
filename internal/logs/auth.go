package logs

import (
	"bytes"
	"strings"
)

// authParser reads Linux authentication logs (auth.log, secure) as BSD
// syslog lines from sshd, sudo and su. Recognised sshd messages (Accepted
// and Failed password/publickey, Invalid user, PAM authentication
// failure) set event.action, event.outcome, user.name, source.ip and
// source.port; sudo lines set user.name, user.effective.name,
// process.command_line and the working directory. Other lines from these
// programs are kept as messages with the header fields.
type authParser struct{}

var _ Parser = authParser{}

// Name implements Parser.
func (authParser) Name() string { return "auth" }

// Sniff implements sniffer.
func (authParser) Sniff(line []byte) bool {
	return bytes.Contains(line, []byte("sshd")) || bytes.Contains(line, []byte("sudo")) || bytes.Contains(line, []byte(" su"))
}

// Parse implements Parser.
func (p authParser) Parse(line []byte, meta Meta) (Event, error) {
	line = trimRecord(line)
	ev := newEvent(p.Name(), line, meta)
	h, err := parseBSD(ev.Original, ev.Received, true)
	if err != nil {
		return Event{}, errSyntax(p.Name(), "%v", err)
	}
	if !isAuthApp(h.app) {
		return Event{}, errSyntax(p.Name(), "program %q is not sshd, sudo or su", h.app)
	}
	h.apply(&ev)
	authFields(&ev, h.app, h.msg)
	return ev, nil
}

func isAuthApp(app string) bool {
	switch app {
	case "sshd", "sshd-session", "sudo", "su":
		return true
	}
	return false
}

// authFields maps an sshd, sudo or su message; it reports whether the
// message was one it knows.
func authFields(ev *Event, app, msg string) bool {
	f := ev.Fields
	f["event.category"] = "authentication"
	switch app {
	case "sudo":
		ev.LogSource = LogSource{Product: "linux", Service: "sudo"}
		return sudoFields(f, msg)
	case "su":
		ev.LogSource = LogSource{Product: "linux", Service: "auth"}
		return false
	}
	ev.LogSource = LogSource{Product: "linux", Service: "sshd"}
	return sshdFields(f, msg)
}

func sshdFields(f map[string]any, msg string) bool {
	from := func(rest string) {
		// "... from IP port N ..."
		if i := strings.Index(rest, " from "); i >= 0 {
			w := strings.Fields(rest[i+6:])
			if len(w) > 0 {
				setIP(f, "source.ip", w[0])
			}
			if len(w) > 2 && w[1] == "port" {
				setPort(f, "source.port", w[2])
			}
		}
	}
	userBefore := func(rest string) string {
		u, _, _ := strings.Cut(rest, " from ")
		return u
	}
	switch {
	case strings.HasPrefix(msg, "Accepted "), strings.HasPrefix(msg, "Failed "):
		ok := strings.HasPrefix(msg, "Accepted ")
		rest := msg[strings.IndexByte(msg, ' ')+1:]
		method, rest, _ := strings.Cut(rest, " for ")
		f["ssh.method"] = method
		if u, found := strings.CutPrefix(rest, "invalid user "); found {
			rest = u
			f["event.reason"] = "invalid user"
		}
		setStr(f, "user.name", userBefore(rest))
		from(rest)
		f["event.action"] = "ssh_login"
		if ok {
			f["event.outcome"] = "success"
		} else {
			f["event.outcome"] = "failure"
		}
		return true
	case strings.HasPrefix(msg, "Invalid user "):
		rest := strings.TrimPrefix(msg, "Invalid user ")
		setStr(f, "user.name", userBefore(rest))
		from(rest)
		f["event.action"] = "invalid_user"
		f["event.outcome"] = "failure"
		return true
	case strings.Contains(msg, "authentication failure;"):
		_, rest, _ := strings.Cut(msg, "authentication failure;")
		pairs, _ := splitKV(rest)
		for _, p := range pairs {
			switch p.k {
			case "rhost":
				setHostOrIP(f, "source.ip", "source.domain", p.v)
			case "user":
				setStr(f, "user.name", p.v)
			}
		}
		f["event.action"] = "authentication_failure"
		f["event.outcome"] = "failure"
		return true
	}
	return false
}

// sudoFields reads "  alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ;
// COMMAND=/usr/bin/id" and its "N incorrect password attempts" variant.
func sudoFields(f map[string]any, msg string) bool {
	user, rest, ok := strings.Cut(strings.TrimSpace(msg), " : ")
	if !ok || strings.ContainsAny(user, " ;=") {
		return false
	}
	f["user.name"] = user
	f["event.action"] = "sudo"
	f["event.outcome"] = "success"
	for _, part := range strings.Split(rest, " ; ") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			if strings.Contains(part, "incorrect password") || strings.Contains(part, "NOT in sudoers") || strings.Contains(part, "not allowed") {
				f["event.outcome"] = "failure"
				f["event.reason"] = strings.TrimSpace(part)
			}
			continue
		}
		switch k {
		case "TTY":
			f["process.tty.name"] = v
		case "PWD":
			f["process.working_directory"] = v
		case "USER":
			f["user.effective.name"] = v
		case "COMMAND":
			f["process.command_line"] = v
			exe, _, _ := strings.Cut(v, " ")
			f["process.executable"] = exe
		}
	}
	return true
}
