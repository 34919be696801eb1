package workorder

import (
	"strconv"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/store"
)

// benchDay builds a day of synthetic stored events: n SSH sessions over
// 200 hosts and 50 accounts, each with a login, two sudo commands and a
// disconnect, and one approved access order per host and account pair
// seen (a third of them with a window that misses the session).
func benchDay(n int) ([]store.Event, []Order) {
	base := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	var evs []store.Event
	var orders []Order
	for i := range n {
		host := "h" + strconv.Itoa(i%200)
		user := "u" + strconv.Itoa(i%50)
		pid := strconv.Itoa(1000 + i)
		ip := "192.0.2." + strconv.Itoa(i%250+1)
		start := base.Add(time.Duration(i) * 8 * time.Second)
		evs = append(evs,
			store.Event{ID: "a" + pid, Time: start, Fields: map[string]any{"host.name": host, "event.action": "ssh_login", "event.outcome": "success",
				"user.name": user, "source.ip": ip, "source.port": 40000 + i%20000, "process.pid": 1000 + i, "process.name": "sshd"}},
			store.Event{ID: "s" + pid, Time: start.Add(time.Minute), Fields: map[string]any{"host.name": host, "event.action": "sudo", "event.outcome": "success",
				"user.name": user, "user.effective.name": "root", "process.command_line": "/bin/systemctl status app"}},
			store.Event{ID: "t" + pid, Time: start.Add(2 * time.Minute), Fields: map[string]any{"host.name": host, "event.action": "sudo", "event.outcome": "success",
				"user.name": user, "user.effective.name": "root", "process.command_line": "/usr/bin/id"}},
			store.Event{ID: "d" + pid, Time: start.Add(10 * time.Minute), Fields: map[string]any{"host.name": host, "process.name": "sshd", "process.pid": 1000 + i,
				"message": "Disconnected from user " + user + " " + ip + " port " + strconv.Itoa(40000+i%20000)}},
		)
		if i%4 == 0 {
			ws := start.Add(-time.Hour)
			if i%3 == 0 {
				ws = start.Add(time.Hour)
			}
			orders = append(orders, Order{ID: pid, Type: TypeAccess, State: StateApproved, Hosts: []string{host}, Accounts: []string{user},
				WindowStart: ws, WindowEnd: ws.Add(2 * time.Hour)})
		}
	}
	return evs, orders
}

// BenchmarkSessionsFromEvents reports events per second for 10,000
// sessions (40,000 events).
func BenchmarkSessionsFromEvents(b *testing.B) {
	evs, _ := benchDay(10_000)
	b.ResetTimer()
	for b.Loop() {
		if got := SessionsFromEvents(evs); len(got) != 10_000 {
			b.Fatalf("%d sessions", len(got))
		}
	}
	b.ReportMetric(float64(len(evs)*b.N)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkMatch reports sessions per second matched against 2,500 orders.
func BenchmarkMatch(b *testing.B) {
	evs, orders := benchDay(10_000)
	ss := SessionsFromEvents(evs)
	now := ss[len(ss)-1].End.Add(24 * time.Hour)
	b.ResetTimer()
	for b.Loop() {
		Match(ss, orders, MatchOptions{Now: now})
	}
	b.ReportMetric(float64(len(ss)*b.N)/b.Elapsed().Seconds(), "sessions/s")
}
