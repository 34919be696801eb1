package workorder

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/logs"
	"github.com/vigil-sec/vigil/internal/store"
)

// FuzzParseClose checks the sshd closing-message reader never panics and
// returns a usable peer when it says ok.
func FuzzParseClose(f *testing.F) {
	for _, s := range []string{
		"Received disconnect from 192.0.2.15 port 52113:11: disconnected by user",
		"Disconnected from user deploy 2001:db8::7 port 40022",
		"pam_unix(sshd:session): session closed for user alice",
		"Connection closed by user x 192.0.2.1 port 9",
		"Disconnected from ",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, msg string) {
		ip, port, user, ok := parseClose(msg)
		if !ok {
			return
		}
		if ip != "" && (!validIP(ip) || port < 0) {
			t.Fatalf("parseClose(%q) = %q %d", msg, ip, port)
		}
		if ip == "" && user == "" {
			t.Fatalf("parseClose(%q) ok without peer or user", msg)
		}
	})
}

// FuzzSessionsFromLines feeds log lines through the automatic parser into
// SessionsFromEvents and Match, checking the sessions are well formed.
func FuzzSessionsFromLines(f *testing.F) {
	for _, s := range []string{
		"Mar  2 09:00:05 web01 sshd[3101]: Accepted publickey for deploy from 192.0.2.20 port 50100 ssh2\nMar  2 09:05:10 web01 sudo:   deploy : TTY=pts/0 ; PWD=/srv ; USER=root ; COMMAND=/bin/id\nMar  2 09:20:00 web01 sshd[3101]: Disconnected from user deploy 192.0.2.20 port 50100",
		"Mar  2 09:00:05 web01 sshd[1]: Accepted password for a from 192.0.2.1 port 1 ssh2\nMar  2 08:00:00 web01 sshd[2]: Received disconnect from 192.0.2.1 port 1:11: bye",
		`{"@timestamp":"2026-03-02T20:00:00Z","host":"b","event":{"action":"session_start"},"session":{"id":"1"},"user":{"name":"c"}}`,
	} {
		f.Add(s)
	}
	p, err := logs.NewRegistry().Lookup("auto")
	if err != nil {
		f.Fatal(err)
	}
	rcv := time.Date(2026, 3, 3, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, data string) {
		var evs []logs.Event
		for i, line := range strings.Split(data, "\n") {
			if i == 200 {
				break
			}
			ev, err := p.Parse(bytes.TrimSpace([]byte(line)), logs.Meta{Received: rcv})
			if err == nil {
				evs = append(evs, ev)
			}
		}
		stored := make([]store.Event, len(evs))
		for i := range evs {
			stored[i] = storeEvent(evs[i])
		}
		ss := SessionsFromEvents(stored)
		for _, s := range ss {
			if s.Host == "" || s.Method == "" {
				t.Fatalf("session without host or method: %+v", s)
			}
			if !s.End.IsZero() && s.End.Before(s.Start) {
				t.Fatalf("session ends before it starts: %+v", s)
			}
			if s.Open != s.End.IsZero() {
				t.Fatalf("Open %v with End %v", s.Open, s.End)
			}
		}
		order := Order{ID: "o", Type: TypeAccess, State: StateApproved, Executor: "deploy", Hosts: []string{"web01"},
			WindowStart: rcv.Add(-24 * time.Hour), WindowEnd: rcv}
		fs := Match(ss, []Order{order}, MatchOptions{Now: rcv})
		if len(fs) > len(ss)+1 {
			t.Fatalf("%d findings for %d sessions and one order", len(fs), len(ss))
		}
	})
}
