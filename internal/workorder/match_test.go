package workorder

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// opsOrders are the work orders of the worked example day:
//
//	WO-1 access web01/deploy 08:30–10:00, approved     → covers deploy's 09:00–09:20 session
//	WO-2 change db01/dba 16:00–18:00, done             → dba stayed until 18:45: 45m past the window
//	WO-3 access app02 for executor bob 10:00–12:00     → nobody logged in: unused
//	WO-4 access web01/alice, only submitted            → alice's 13:02 login has no approved order
//	WO-5 access ws-fin01/admin01 10:30–12:00, verified → covers the 11:00–11:30 RDP session
//
// carol's bastion session to db01 at 20:00 has no order at all.
func opsOrders() []Order {
	return []Order{
		{ID: "1", Ref: "WO-1", Type: TypeAccess, Title: "Restart app", State: StateApproved, Requester: "rita", Approver: "alan",
			Executor: "ed", Hosts: []string{"web01"}, Accounts: []string{"deploy"}, WindowStart: at("08:30:00"), WindowEnd: at("10:00:00"), Due: at("10:00:00")},
		{ID: "2", Ref: "WO-2", Type: TypeChange, Title: "Vacuum database", State: StateDone, Requester: "rita", Approver: "alan",
			Executor: "dba", Hosts: []string{"db01.corp.example"}, WindowStart: at("16:00:00"), WindowEnd: at("18:00:00"), Due: at("18:00:00")},
		{ID: "3", Ref: "WO-3", Type: TypeAccess, Title: "Check app02 disk", State: StateApproved, Requester: "rita", Approver: "alan",
			Executor: "bob", Hosts: []string{"app02"}, WindowStart: at("10:00:00"), WindowEnd: at("12:00:00"), Due: at("12:00:00")},
		{ID: "4", Ref: "WO-4", Type: TypeAccess, Title: "Alice reads logs", State: StateSubmitted, Requester: "alice",
			Hosts: []string{"web01"}, Accounts: []string{"alice"}, WindowStart: at("13:00:00"), WindowEnd: at("14:00:00"), Due: at("14:00:00")},
		{ID: "5", Ref: "WO-5", Type: TypeAccess, Title: "Finance workstation fix", State: StateVerified, Requester: "rita", Approver: "alan",
			Executor: "admin01", Verifier: "vera", Hosts: []string{"WS-FIN01"}, WindowStart: at("10:30:00"), WindowEnd: at("12:00:00"), Due: at("12:00:00")},
	}
}

func opsSessions(t *testing.T) []Session {
	return SessionsFromEvents(append(readEvents(t, "testdata/ops-audit/auth.log"), readEvents(t, "testdata/ops-audit/events.jsonl")...))
}

type short struct {
	Kind     FindingKind
	Severity string
	At       time.Time
	Host     string
	User     string
	Order    string
}

func shorten(fs []Finding) []short {
	var out []short
	for _, f := range fs {
		out = append(out, short{f.Kind, f.Severity, f.At, f.Host, f.User, f.OrderRef})
	}
	return out
}

func TestMatchOpsDay(t *testing.T) {
	fs := Match(opsSessions(t), opsOrders(), MatchOptions{Now: at("23:59:59")})
	want := []short{
		{FindingUnusedOrder, "low", at("12:00:00"), "app02", "bob", "WO-3"},
		// alice ran a sudo command as root: critical.
		{FindingUnapproved, "critical", at("13:02:11"), "web01", "alice", "WO-4"},
		{FindingOutsideWindow, "medium", at("16:40:00"), "db01", "dba", "WO-2"},
		{FindingUnapproved, "high", at("20:00:00"), "db01", "carol", ""},
	}
	if diff := cmp.Diff(want, shorten(fs)); diff != "" {
		t.Fatalf("findings (-want +got):\n%s", diff)
	}
	for _, c := range []struct {
		i    int
		want string
	}{
		{1, "order WO-4 names this host and account but is submitted; 1 sudo command(s)"},
		{2, "ssh access ran 45m past the end of order WO-2's window at 2026-03-02 18:00 UTC"},
		{3, "bastion access by carol from 192.0.2.80 with no approved work order"},
	} {
		if !strings.Contains(fs[c.i].Detail, c.want) {
			t.Errorf("finding %d detail %q, want it to contain %q", c.i, fs[c.i].Detail, c.want)
		}
	}
}

// TestMatchGraceAndNow: an hour of grace covers dba's 45 minutes; without
// Now, no order is judged unused.
func TestMatchGraceAndNow(t *testing.T) {
	fs := Match(opsSessions(t), opsOrders(), MatchOptions{Grace: time.Hour})
	for _, f := range fs {
		if f.Kind == FindingOutsideWindow || f.Kind == FindingUnusedOrder {
			t.Errorf("unexpected %s for %s", f.Kind, f.OrderRef)
		}
	}
	if len(fs) != 2 {
		t.Errorf("%d findings, want alice's and carol's", len(fs))
	}
}

// TestMatchWindowEdges works through one order, web01/deploy 08:30–10:00,
// against sessions placed around it.
func TestMatchWindowEdges(t *testing.T) {
	orders := opsOrders()[:1]
	s := func(start, end string) Session {
		return Session{Host: "WEB01", User: "deploy", Method: MethodSSH, Start: at(start), End: at(end)}
	}
	for _, c := range []struct {
		name string
		sess Session
		kind FindingKind
		want string
	}{
		{"inside", s("08:30:00", "10:00:00"), "", ""},
		{"early", s("08:00:00", "08:20:00"), FindingOutsideWindow, "ssh access 30m before order WO-1's window"},
		{"straddles start", s("08:20:00", "08:40:00"), FindingOutsideWindow, "began 10m before"},
		{"late", s("10:05:00", "10:06:00"), FindingOutsideWindow, "5m after order WO-1's window closed"},
		{"other account", Session{Host: "web01", User: "root", Method: MethodSSH, Start: at("09:00:00"), End: at("09:10:00")}, FindingUnapproved, "no approved work order"},
		{"other host", Session{Host: "web02", User: "deploy", Method: MethodSSH, Start: at("09:00:00"), End: at("09:10:00")}, FindingUnapproved, ""},
		{"open session", Session{Host: "web01", User: "deploy", Method: MethodSSH, Start: at("09:00:00"), Open: true}, FindingOutsideWindow, "ran 1h00m past the end"},
	} {
		t.Run(c.name, func(t *testing.T) {
			fs := Match([]Session{c.sess}, orders, MatchOptions{Now: at("11:00:00")})
			var got []Finding
			for _, f := range fs {
				if f.Kind != FindingUnusedOrder {
					got = append(got, f)
				}
			}
			if c.kind == "" {
				if len(got) != 0 {
					t.Fatalf("findings %+v, want none", got)
				}
				return
			}
			if len(got) != 1 || got[0].Kind != c.kind || !strings.Contains(got[0].Detail, c.want) {
				t.Fatalf("findings %+v, want one %s containing %q", got, c.kind, c.want)
			}
		})
	}
}

// TestMatchOrderWithoutWindow: a remediation without a window covers
// access from its approval until it is done.
func TestMatchOrderWithoutWindow(t *testing.T) {
	o := Order{ID: "r", Type: TypeRemediation, State: StateDone, Executor: "ed", Hosts: []string{"10.0.0.5"},
		DecidedAt: at("09:00:00"), DoneAt: at("12:00:00")}
	in := Session{Host: "10.0.0.5", User: "ed", Method: MethodSSH, Start: at("10:00:00"), End: at("11:00:00")}
	after := Session{Host: "10.0.0.5", User: "ed", Method: MethodSSH, Start: at("13:00:00"), End: at("13:10:00")}
	fs := Match([]Session{in, after}, []Order{o}, MatchOptions{})
	if len(fs) != 1 || fs[0].Kind != FindingOutsideWindow || !fs[0].At.Equal(at("13:00:00")) {
		t.Fatalf("findings %+v", fs)
	}
}

func TestHostMatch(t *testing.T) {
	for _, c := range []struct {
		hosts []string
		h     string
		want  bool
	}{
		{[]string{"web01"}, "WEB01", true},
		{[]string{"db01.corp.example"}, "db01", true},
		{[]string{"db01"}, "db01.corp.example", true},
		{[]string{"db01.corp.example"}, "db01.other.example", false},
		{[]string{"192.0.2.1"}, "::ffff:192.0.2.1", true},
		{[]string{"192.0.2.1"}, "192.0.2.10", false},
		{[]string{"web01"}, "web010", false},
	} {
		if got := hostMatch(c.hosts, c.h); got != c.want {
			t.Errorf("hostMatch(%v, %q) = %v", c.hosts, c.h, got)
		}
	}
}
