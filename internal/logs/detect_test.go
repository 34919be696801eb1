package logs

import (
	"testing"

	"github.com/vigil-sec/vigil/internal/detect"
)

// TestDetectFieldsRouteAndMatch hands parsed Linux events to the Sigma
// engine: the logsource routes and ECS fields, lists included, match.
func TestDetectFieldsRouteAndMatch(t *testing.T) {
	rule, err := detect.ParseRule([]byte(`title: SSH failure from a documentation address
id: 6f0e7a4e-3c1b-4d7a-9b1e-2f5a8c9d0e11
logsource:
  product: linux
  service: sshd
detection:
  sel:
    event.outcome: failure
    source.ip|cidr: 203.0.113.0/24
    user.name: oracle
  condition: sel
`))
	if err != nil {
		t.Fatal(err)
	}
	auth, _ := NewRegistry().Lookup("auto")
	hit, _ := auth.Parse([]byte("Mar  2 10:15:04 web01 sshd[2214]: Failed password for invalid user oracle from 203.0.113.9 port 52115 ssh2"), Meta{Received: testReceived})
	miss, _ := auth.Parse([]byte("Mar  2 10:15:01 web01 sshd[2211]: Accepted password for oracle from 203.0.113.9 port 52113 ssh2"), Meta{Received: testReceived})
	for _, tc := range []struct {
		ev   Event
		want bool
	}{{hit, true}, {miss, false}} {
		dev := detect.NewEvent(tc.ev.DetectFields())
		if !detect.Routes(rule.LogSource, dev.Source) {
			t.Fatalf("sshd event not routed to a linux/sshd rule: %+v", dev.Source)
		}
		if got := rule.Matches(dev); got != tc.want {
			t.Errorf("%s: match %v, want %v", tc.ev.Original, got, tc.want)
		}
	}

	exec, err := detect.ParseRule([]byte(`title: curl writes to tmp
id: 1d9f4c55-0d7e-4b0b-8c61-6f3c2d8e9a70
logsource:
  product: linux
  service: auditd
detection:
  sel:
    type: EXECVE
    a0: curl
    process.args|contains: /tmp/
  condition: sel
`))
	if err != nil {
		t.Fatal(err)
	}
	ev, err := NewRegistry().Lookup("auditd")
	if err != nil {
		t.Fatal(err)
	}
	e, err := ev.Parse([]byte(`type=EXECVE msg=audit(1709374501.123:812): argc=3 a0="curl" a1="-o" a2=2F746D702F6D792066696C65`), Meta{})
	if err != nil {
		t.Fatal(err)
	}
	dev := detect.NewEvent(e.DetectFields())
	if !detect.Routes(exec.LogSource, dev.Source) || !exec.Matches(dev) {
		t.Errorf("auditd EXECVE rule did not fire on %v", e.Fields)
	}
}
