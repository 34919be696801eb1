package workorder

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// TestSessionsFromRepoSample uses the auth.log sample of internal/logs,
// parsed by the log pipeline's own parser. Worked by hand from its lines:
// alice logs in at 10:15:01 from 192.0.2.15 port 52113 (pid 2211), runs
// one sudo command at 10:16:00, and her connection is closed by the
// "Received disconnect from 192.0.2.15 port 52113" line at 10:17:00 (a
// different pid, so matched by address and port); deploy logs in at
// 10:15:02 and never leaves; bob's sudo at 10:16:30 failed with no login
// seen, so it stands alone. The failed logins open nothing.
func TestSessionsFromRepoSample(t *testing.T) {
	evs := readEvents(t, "../logs/testdata/samples/auth.log")
	got := SessionsFromEvents(evs)
	day := func(hms string) time.Time {
		v, _ := time.Parse("2006-01-02 15:04:05", "2026-03-02 "+hms)
		return v
	}
	want := []Session{
		{Host: "web01", User: "alice", SourceIP: "192.0.2.15", Method: MethodSSH, AuthMethod: "password", Start: day("10:15:01"), End: day("10:17:00"),
			Commands: []Command{{At: day("10:16:00"), RunAs: "root", Command: "/usr/bin/systemctl restart nginx"}}},
		{Host: "web01", User: "deploy", SourceIP: "2001:db8::7", Method: MethodSSH, AuthMethod: "publickey", Start: day("10:15:02"), Open: true},
		{Host: "web01", User: "bob", Method: MethodSudo, Start: day("10:16:30"), End: day("10:16:30"),
			Commands: []Command{{At: day("10:16:30"), RunAs: "root", Command: "/bin/bash", Denied: true}}},
	}
	if diff := cmp.Diff(want, got, cmpopts.IgnoreUnexported(Session{}), cmpopts.IgnoreFields(Session{}, "EventIDs")); diff != "" {
		t.Fatalf("sessions (-want +got):\n%s", diff)
	}
	if len(got[0].EventIDs) != 3 {
		t.Errorf("alice's session cites %d events, want 3 (login, sudo, disconnect)", len(got[0].EventIDs))
	}
}

// TestSessionsOpsDay rebuilds the sessions of the worked example in
// testdata/ops-audit: four SSH or sudo logins on web01 and db01, one RDP
// logon (the network logon of type 3 is not a session) and one bastion
// session.
func TestSessionsOpsDay(t *testing.T) {
	evs := append(readEvents(t, "testdata/ops-audit/auth.log"), readEvents(t, "testdata/ops-audit/events.jsonl")...)
	got := SessionsFromEvents(evs)
	type row struct {
		Host, User, From, Method string
		Start, End               time.Time
		Commands                 int
	}
	var rows []row
	for _, s := range got {
		rows = append(rows, row{s.Host, s.User, s.SourceIP, s.Method, s.Start, s.End, len(s.Commands)})
	}
	want := []row{
		{"web01", "deploy", "192.0.2.20", MethodSSH, at("09:00:05"), at("09:20:00"), 1},
		{"ws-fin01", "admin01", "192.0.2.61", MethodRDP, at("11:00:00"), at("11:30:00"), 0},
		{"web01", "alice", "198.51.100.7", MethodSSH, at("13:02:11"), at("13:15:02"), 1},
		{"db01", "dba", "192.0.2.30", MethodSSH, at("16:40:00"), at("18:45:00"), 1},
		{"db01", "carol", "192.0.2.80", MethodBastion, at("20:00:00"), at("20:10:00"), 0},
	}
	if diff := cmp.Diff(want, rows); diff != "" {
		t.Fatalf("sessions (-want +got):\n%s", diff)
	}
}

func TestParseClose(t *testing.T) {
	for _, c := range []struct {
		msg, ip, user string
		port          int
		ok            bool
	}{
		{"Received disconnect from 192.0.2.15 port 52113:11: disconnected by user", "192.0.2.15", "", 52113, true},
		{"Disconnected from user deploy 2001:db8::7 port 40022", "2001:db8::7", "deploy", 40022, true},
		{"pam_unix(sshd:session): session closed for user alice", "", "alice", 0, true},
		{"Received disconnect from 203.0.113.9 port 41000:11: Bye Bye [preauth]", "", "", 0, false},
		{"Disconnected from authenticating user root 203.0.113.9 port 41000 [preauth]", "", "", 0, false},
		{"Disconnected from user alice not-an-ip port 1", "", "", 0, false},
		{"Accepted password for alice from 192.0.2.1 port 1 ssh2", "", "", 0, false},
	} {
		ip, port, user, ok := parseClose(c.msg)
		if ip != c.ip || port != c.port || user != c.user || ok != c.ok {
			t.Errorf("parseClose(%q) = %q %d %q %v", c.msg, ip, port, user, ok)
		}
	}
}
