package health

import (
	"fmt"
	"strings"
)

// Kind names what a Problem is about.
type Kind string

// Problem kinds reported by Judge.
const (
	KindCPUHigh         Kind = "cpu_high"
	KindMemoryHigh      Kind = "memory_high"
	KindSessionsHigh    Kind = "sessions_high"
	KindInterfaceDown   Kind = "interface_down"
	KindInterfaceErrors Kind = "interface_errors"
	KindReboot          Kind = "reboot"
)

// Severity ranks a Problem.
type Severity string

// Severities, from most to least urgent.
const (
	SeverityCritical Severity = "critical"
	SeverityHigh     Severity = "high"
	SeverityMedium   Severity = "medium"
	SeverityLow      Severity = "low"
)

// Problem is one finding of Judge.
type Problem struct {
	Kind     Kind
	Severity Severity
	Message  string
}

// Thresholds are the limits a device role is judged by. A zero limit turns
// its check off.
type Thresholds struct {
	CPU           float64 // percent; above this is a problem
	Memory        float64 // percent; above this is a problem
	Sessions      uint64  // session count; above this is a problem
	IfErrorsDelta uint64  // in+out errors added on one interface between samples
}

// defaultThresholds is read-only data: device role to its default limits.
// IPS engines run hotter by design; WAFs are memory-heavy proxies.
var defaultThresholds = map[string]Thresholds{
	"firewall": {CPU: 85, Memory: 85, IfErrorsDelta: 100},
	"ips":      {CPU: 90, Memory: 90, IfErrorsDelta: 100},
	"waf":      {CPU: 85, Memory: 90, IfErrorsDelta: 50},
}

// DefaultThresholds returns the default limits for role ("firewall", "ips"
// or "waf", case-insensitive) and whether the role is known; unknown roles get
// the firewall limits.
func DefaultThresholds(role string) (Thresholds, bool) {
	th, ok := defaultThresholds[strings.ToLower(strings.TrimSpace(role))]
	if !ok {
		return defaultThresholds["firewall"], false
	}
	return th, true
}

// Judge compares the current Sample with the previous one from the same
// device and reports problems. prev may be the zero Sample (first poll); then
// only the level checks (CPU, memory, sessions) run.
//
// A sysUpTime lower than before is a reboot. sysUpTime also wraps after
// about 497 days, which looks the same; it is reported as a reboot too. After
// a reboot counters restart, so error growth is not judged.
func Judge(prev, cur Sample, th Thresholds) []Problem {
	var out []Problem
	if th.CPU > 0 && cur.HasCPU && cur.CPU > th.CPU {
		out = append(out, Problem{KindCPUHigh, levelSeverity(cur.CPU, th.CPU),
			fmt.Sprintf("CPU %.1f%% is above %.1f%%", cur.CPU, th.CPU)})
	}
	if th.Memory > 0 && cur.HasMemory && cur.Memory > th.Memory {
		out = append(out, Problem{KindMemoryHigh, levelSeverity(cur.Memory, th.Memory),
			fmt.Sprintf("memory %.1f%% is above %.1f%%", cur.Memory, th.Memory)})
	}
	if th.Sessions > 0 && cur.HasSessions && cur.Sessions > th.Sessions {
		out = append(out, Problem{KindSessionsHigh, SeverityMedium,
			fmt.Sprintf("%d sessions is above %d", cur.Sessions, th.Sessions)})
	}
	if prev.At.IsZero() {
		return out
	}
	rebooted := cur.UpTime < prev.UpTime
	if rebooted {
		out = append(out, Problem{KindReboot, SeverityHigh,
			fmt.Sprintf("device restarted: uptime went from %s to %s", prev.UpTime, cur.UpTime)})
	}
	before := make(map[int]Interface, len(prev.Interfaces))
	for _, i := range prev.Interfaces {
		before[i.Index] = i
	}
	for _, i := range cur.Interfaces {
		p, ok := before[i.Index]
		if !ok {
			continue
		}
		if p.Up() && !i.Up() {
			out = append(out, Problem{KindInterfaceDown, SeverityHigh,
				fmt.Sprintf("interface %s (index %d) went down (ifOperStatus %d)", name(i), i.Index, i.OperStatus)})
		}
		if rebooted || th.IfErrorsDelta == 0 {
			continue
		}
		// A counter lower than before was reset or wrapped; skip it.
		if i.InErrors < p.InErrors || i.OutErrors < p.OutErrors {
			continue
		}
		delta := (i.InErrors - p.InErrors) + (i.OutErrors - p.OutErrors)
		if delta > th.IfErrorsDelta {
			out = append(out, Problem{KindInterfaceErrors, SeverityMedium,
				fmt.Sprintf("interface %s (index %d) added %d errors (in %d, out %d), above %d",
					name(i), i.Index, delta, i.InErrors-p.InErrors, i.OutErrors-p.OutErrors, th.IfErrorsDelta)})
		}
	}
	return out
}

func name(i Interface) string {
	if i.Descr == "" {
		return fmt.Sprintf("if%d", i.Index)
	}
	return i.Descr
}

// levelSeverity is critical at 95% or more, or when the value is at least
// 10 points over the limit; high otherwise.
func levelSeverity(v, limit float64) Severity {
	if v >= 95 || v-limit >= 10 {
		return SeverityCritical
	}
	return SeverityHigh
}
