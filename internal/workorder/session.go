package workorder

import (
	"cmp"
	"encoding/json"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-sec/vigil/internal/store"
)

// Access methods of a session.
const (
	MethodSSH     = "ssh"
	MethodSudo    = "sudo"    // privileged commands with no SSH session found
	MethodRDP     = "rdp"     // Windows logon type 10
	MethodBastion = "bastion" // a bastion host's session start and end
)

// Session is one access to a host: who, where from, when and how, with the
// privileged commands run in it.
type Session struct {
	Host     string
	User     string
	SourceIP string
	Method   string
	// AuthMethod is how the user proved who they are (password,
	// publickey, …) when the log says.
	AuthMethod string
	Start      time.Time
	// End is zero while the session has no logged end (Open is then set).
	End  time.Time
	Open bool
	// Commands are the sudo commands run by the user on the host during
	// the session.
	Commands []Command
	// EventIDs are the events the session was built from, for evidence.
	EventIDs []string

	key  string // pairing key: host and process or logon id
	port int
}

// Command is a privileged command run in a session.
type Command struct {
	At      time.Time
	RunAs   string
	Command string
	Denied  bool
}

// Bounds of SessionsFromEvents.
const (
	MaxSessions        = 100_000 // sessions returned; the oldest are kept
	MaxCommandsPerSess = 1_000   // commands kept per session
	maxFieldLen        = 4096
	bastionStartAction = "session_start"
	bastionEndAction   = "session_end"
	windowsRemoteLogon = "10"
	windowsLogon       = "4624"
	windowsLogoff      = "4634"
	windowsUserLogoff  = "4647"
	windowsLogonType   = "LogonType"
	sudoGap            = 30 * time.Minute
)

// SessionsFromEvents builds access sessions from stored log events, in
// time order. It reads:
//
//   - sshd (format auth or any syslog from sshd/sshd-session):
//     "Accepted <method> for <user> from <ip> port <port>" (event.action
//     ssh_login, outcome success) opens a session keyed by host and
//     process id; "pam_unix(sshd:session): session closed for user <u>",
//     "Disconnected from user <u> <ip> port <p>", "Received disconnect from
//     <ip> port <p>:…" and "Connection closed by user <u> <ip> port <p>"
//     close it, matched by host and process id or else by host, address
//     and port;
//   - sudo (event.action sudo): a command joins the user's SSH session on
//     the host that was open at the time; commands with no such session
//     form sessions of method sudo, a new one after 30 minutes without a
//     command;
//   - Windows 4624 with LogonType 10 opens an RDP session keyed by
//     TargetLogonId; 4634 and 4647 with that id close it;
//   - bastion events with event.action session_start / session_end and a
//     session.id (as a bastion's JSON log carries them).
//
// Events the function does not recognise are skipped. The result is
// bounded by MaxSessions.
func SessionsFromEvents(events []store.Event) []Session {
	evs := slices.Clone(events)
	slices.SortStableFunc(evs, func(a, b store.Event) int { return a.Time.Compare(b.Time) })
	b := &builder{open: map[string]*Session{}, byPeer: map[string]*Session{}, byUser: map[string][]*Session{}}
	for i := range evs {
		b.add(&evs[i])
	}
	out := make([]Session, 0, len(b.all))
	for _, s := range b.all {
		s.Open = s.End.IsZero() && s.Method != MethodSudo
		out = append(out, *s)
	}
	slices.SortStableFunc(out, func(a, b Session) int {
		if c := a.Start.Compare(b.Start); c != 0 {
			return c
		}
		return cmp.Compare(a.Host+a.User, b.Host+b.User)
	})
	return out
}

type builder struct {
	all    []*Session
	open   map[string]*Session   // by pairing key
	byPeer map[string]*Session   // open SSH sessions by host, address and port
	byUser map[string][]*Session // all sessions by host and user
}

// push records a new session; it reports false when MaxSessions is
// reached and the session was dropped.
func (b *builder) push(s *Session) bool {
	if len(b.all) >= MaxSessions {
		return false
	}
	b.all = append(b.all, s)
	if s.key != "" {
		b.open[s.key] = s
	}
	if s.Method == MethodSSH && s.port != 0 {
		b.byPeer[peerKey(s.Host, s.SourceIP, s.port)] = s
	}
	hu := s.Host + "|" + s.User
	b.byUser[hu] = append(b.byUser[hu], s)
	return true
}

func peerKey(host, ip string, port int) string {
	if a, err := netip.ParseAddr(ip); err == nil {
		ip = a.Unmap().String()
	}
	return host + "|" + ip + "|" + strconv.Itoa(port)
}

func (b *builder) add(e *store.Event) {
	f := e.Fields
	action := field(f, "event.action")
	host := strings.ToLower(first2(field(f, "host.name"), e.Host, field(f, "host.ip"), field(f, "Computer")))
	if host == "" {
		return
	}
	switch {
	case action == "ssh_login" && field(f, "event.outcome") == "success":
		pid := field(f, "process.pid")
		s := &Session{Host: host, User: first2(field(f, "user.name"), e.User), SourceIP: first2(field(f, "source.ip"), e.SourceIP),
			Method: MethodSSH, AuthMethod: field(f, "ssh.method"), Start: e.Time, EventIDs: []string{e.ID}}
		s.port, _ = strconv.Atoi(field(f, "source.port"))
		if pid != "" {
			s.key = "ssh|" + host + "|" + pid
		}
		b.push(s)
	case action == "sudo":
		b.sudo(e, host)
	case isSSHD(f):
		b.sshClose(e, host, first2(field(f, "message"), e.Message))
	case field(f, "EventID") == windowsLogon || field(f, "event.code") == windowsLogon:
		if field(f, windowsLogonType) != windowsRemoteLogon {
			return
		}
		id := field(f, "TargetLogonId")
		s := &Session{Host: host, User: first2(field(f, "TargetUserName"), e.User), SourceIP: first2(field(f, "IpAddress"), e.SourceIP),
			Method: MethodRDP, AuthMethod: field(f, "AuthenticationPackageName"), Start: e.Time, EventIDs: []string{e.ID}}
		if id != "" {
			s.key = "rdp|" + host + "|" + id
		}
		b.push(s)
	case field(f, "EventID") == windowsLogoff || field(f, "EventID") == windowsUserLogoff ||
		field(f, "event.code") == windowsLogoff || field(f, "event.code") == windowsUserLogoff:
		b.close("rdp|"+host+"|"+field(f, "TargetLogonId"), e)
	case action == bastionStartAction && field(f, "session.id") != "":
		s := &Session{Host: strings.ToLower(first2(field(f, "destination.address"), field(f, "destination.ip"), host)),
			User: first2(field(f, "user.name"), e.User), SourceIP: first2(field(f, "source.ip"), e.SourceIP),
			Method: MethodBastion, AuthMethod: field(f, "network.protocol"), Start: e.Time, EventIDs: []string{e.ID},
			key: "bastion|" + host + "|" + field(f, "session.id")}
		b.push(s)
	case action == bastionEndAction && field(f, "session.id") != "":
		b.close("bastion|"+host+"|"+field(f, "session.id"), e)
	}
}

func (b *builder) close(key string, e *store.Event) {
	s := b.open[key]
	if s == nil {
		return
	}
	b.end(s, e)
}

// end closes s with event e.
func (b *builder) end(s *Session, e *store.Event) {
	s.End = e.Time
	s.EventIDs = append(s.EventIDs, e.ID)
	delete(b.open, s.key)
	if s.Method == MethodSSH && s.port != 0 {
		pk := peerKey(s.Host, s.SourceIP, s.port)
		if b.byPeer[pk] == s {
			delete(b.byPeer, pk)
		}
	}
}

func isSSHD(f map[string]any) bool {
	switch first2(field(f, "process.name"), field(f, "log.syslog.appname")) {
	case "sshd", "sshd-session":
		return true
	}
	return false
}

// sshClose ends the session a closing sshd message belongs to.
func (b *builder) sshClose(e *store.Event, host, msg string) {
	ip, port, user, ok := parseClose(msg)
	if !ok {
		return
	}
	if pid := field(e.Fields, "process.pid"); pid != "" {
		if s := b.open["ssh|"+host+"|"+pid]; s != nil && (user == "" || user == s.User) {
			b.end(s, e)
			return
		}
	}
	if ip == "" || port == 0 {
		return
	}
	if s := b.byPeer[peerKey(host, ip, port)]; s != nil && s.End.IsZero() && (user == "" || user == s.User) {
		b.end(s, e)
	}
}

// parseClose reads the sshd messages that end a session. It returns the
// peer address and port when the message has them, and the user when it
// names one.
func parseClose(msg string) (ip string, port int, user string, ok bool) {
	if len(msg) > maxFieldLen {
		return "", 0, "", false
	}
	switch {
	case strings.HasPrefix(msg, "pam_unix(sshd:session): session closed for user "):
		u := strings.TrimPrefix(msg, "pam_unix(sshd:session): session closed for user ")
		u, _, _ = strings.Cut(u, " ")
		return "", 0, u, u != ""
	case strings.HasPrefix(msg, "Disconnected from user "), strings.HasPrefix(msg, "Connection closed by user "):
		// "Disconnected from user alice 192.0.2.15 port 52113"
		rest := msg[strings.Index(msg, " user ")+len(" user "):]
		w := strings.Fields(rest)
		if len(w) < 4 || w[2] != "port" {
			return "", 0, "", false
		}
		p, err := strconv.Atoi(w[3])
		if err != nil || !validIP(w[1]) {
			return "", 0, "", false
		}
		return w[1], p, w[0], true
	case strings.HasPrefix(msg, "Received disconnect from "), strings.HasPrefix(msg, "Disconnected from "):
		// "Received disconnect from 192.0.2.15 port 52113:11: disconnected by user"
		if strings.HasSuffix(msg, "[preauth]") {
			return "", 0, "", false
		}
		rest := msg[strings.Index(msg, " from ")+len(" from "):]
		w := strings.Fields(rest)
		if len(w) < 3 || w[1] != "port" {
			return "", 0, "", false
		}
		ps, _, _ := strings.Cut(w[2], ":")
		p, err := strconv.Atoi(ps)
		if err != nil || !validIP(w[0]) {
			return "", 0, "", false
		}
		return w[0], p, "", true
	}
	return "", 0, "", false
}

func validIP(s string) bool {
	_, err := netip.ParseAddr(s)
	return err == nil
}

// sudo attaches a sudo command to the user's session open on the host at
// the time, the latest started first.
func (b *builder) sudo(e *store.Event, host string) {
	f := e.Fields
	user := first2(field(f, "user.name"), e.User)
	if user == "" {
		return
	}
	c := Command{At: e.Time, RunAs: field(f, "user.effective.name"), Command: field(f, "process.command_line"),
		Denied: field(f, "event.outcome") == "failure"}
	// Sessions are listed in start order: the first that fits from the
	// end is the latest started.
	var best *Session
	list := b.byUser[host+"|"+user]
	for i := len(list) - 1; i >= 0 && best == nil; i-- {
		s := list[i]
		if s.Start.After(e.Time) {
			continue
		}
		if s.Method == MethodSudo {
			// Commands with no login session found group while they
			// come less than sudoGap apart.
			if e.Time.Sub(s.End) > sudoGap {
				continue
			}
		} else if !s.End.IsZero() && s.End.Before(e.Time) {
			continue
		}
		best = s
	}
	if best == nil {
		best = &Session{Host: host, User: user, Method: MethodSudo, Start: e.Time, End: e.Time}
		if !b.push(best) {
			return
		}
	}
	if len(best.Commands) < MaxCommandsPerSess {
		best.Commands = append(best.Commands, c)
		best.EventIDs = append(best.EventIDs, e.ID)
	}
	if best.Method == MethodSudo && e.Time.After(best.End) {
		best.End = e.Time
	}
}

// field reads a field as text: strings as they are, numbers in decimal.
func field(f map[string]any, k string) string {
	switch v := f[k].(type) {
	case string:
		if len(v) > maxFieldLen {
			return v[:maxFieldLen]
		}
		return v
	case int:
		return strconv.Itoa(v)
	case int64:
		return strconv.FormatInt(v, 10)
	case float64:
		if v == float64(int64(v)) {
			return strconv.FormatInt(int64(v), 10)
		}
		return strconv.FormatFloat(v, 'f', -1, 64)
	case json.Number:
		return v.String()
	}
	return ""
}

func first2(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}
