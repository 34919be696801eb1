package health

import (
	"testing"
	"time"
)

func TestDefaultThresholds(t *testing.T) {
	for _, role := range []string{"firewall", "IPS", " waf "} {
		th, ok := DefaultThresholds(role)
		if !ok || th.CPU == 0 || th.Memory == 0 || th.IfErrorsDelta == 0 {
			t.Errorf("%q: %+v %v", role, th, ok)
		}
	}
	th, ok := DefaultThresholds("router")
	if ok || th != defaultThresholds["firewall"] {
		t.Errorf("unknown role: %+v %v", th, ok)
	}
}

func TestJudge(t *testing.T) {
	at := time.Date(2026, 11, 29, 9, 0, 0, 0, time.UTC)
	base := Sample{At: at, UpTime: time.Hour, CPU: 10, HasCPU: true, Memory: 20, HasMemory: true,
		Sessions: 10, HasSessions: true,
		Interfaces: []Interface{{Index: 1, Descr: "port1", OperStatus: 1, InErrors: 4_294_967_000}, {Index: 2, OperStatus: 2}}}
	th := Thresholds{CPU: 80, Memory: 80, Sessions: 1000, IfErrorsDelta: 10}
	with := func(f func(*Sample)) Sample {
		s := base
		s.At = at.Add(time.Minute)
		s.UpTime = base.UpTime + time.Minute
		s.Interfaces = append([]Interface(nil), base.Interfaces...)
		f(&s)
		return s
	}
	tests := []struct {
		name string
		prev Sample
		cur  Sample
		th   Thresholds
		want []Kind
	}{
		{"healthy", base, with(func(*Sample) {}), th, nil},
		{"memory and sessions", base, with(func(s *Sample) { s.Memory, s.Sessions = 81, 1001 }), th, []Kind{KindMemoryHigh, KindSessionsHigh}},
		{"unknown cpu not judged", base, with(func(s *Sample) { s.CPU, s.HasCPU = 99, false }), th, nil},
		{"zero threshold off", base, with(func(s *Sample) { s.CPU = 99 }), Thresholds{}, nil},
		{"first sample only levels", Sample{}, with(func(s *Sample) { s.CPU, s.UpTime = 99, 0 }), th, []Kind{KindCPUHigh}},
		{"down to up is fine", base, with(func(s *Sample) { s.Interfaces[1].OperStatus = 1 }), th, nil},
		{"counter wrap skipped", base, with(func(s *Sample) { s.Interfaces[0].InErrors = 5 }), th, nil},
		{"errors at threshold", base, with(func(s *Sample) { s.Interfaces[0].InErrors += 5; s.Interfaces[0].OutErrors = 5 }), th, nil},
		{"errors over threshold", base, with(func(s *Sample) { s.Interfaces[0].OutErrors = 11 }), th, []Kind{KindInterfaceErrors}},
		{"errors after reboot not judged", base, with(func(s *Sample) {
			s.UpTime = time.Second
			s.Interfaces[0].OutErrors = 500
		}), th, []Kind{KindReboot}},
		{"new interface ignored", base, with(func(s *Sample) {
			s.Interfaces = append(s.Interfaces, Interface{Index: 9, OperStatus: 2, InErrors: 999})
		}), th, nil},
		{"interface gone ignored", base, with(func(s *Sample) { s.Interfaces = s.Interfaces[1:] }), th, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assertKinds(t, Judge(tt.prev, tt.cur, tt.th), tt.want...)
		})
	}
}

func TestLevelSeverity(t *testing.T) {
	if levelSeverity(86, 85) != SeverityHigh || levelSeverity(95, 90) != SeverityCritical || levelSeverity(70, 60) != SeverityCritical {
		t.Error("levelSeverity")
	}
}
