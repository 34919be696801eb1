package agent

import (
	"os"
	"strings"
	"testing"
)

func TestParseRemoteConfig(t *testing.T) {
	good := `{"schema":"vigil.agent.config/v1","tail":["/var/log/auth.log"],"journald":{"enabled":true,"units":["ssh.service","nginx@main.service"]},
		"fim":{"paths":["/etc","/usr/local/bin"],"interval":"10m","max_files":5000,"max_file_bytes":1048576},
		"heartbeat_interval":"30s","inventory_interval":"6h","baseline":"debian-ubuntu"}`
	c, err := ParseRemoteConfig([]byte(good))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Tail) != 1 || !c.Journald.Enabled || len(c.FIM.Paths) != 2 || c.FIM.MaxFiles != 5000 || c.HeartbeatInterval.String() != "30s" {
		t.Fatalf("parsed %+v", c)
	}
	// Canonical form parses back to the same tag.
	again, err := ParseRemoteConfig(c.Canonical())
	if err != nil || again.ETag() != c.ETag() {
		t.Fatalf("canonical round trip: %v, tags %s %s", err, again.ETag(), c.ETag())
	}
	other := c
	other.Tail = []string{"/var/log/syslog"}
	if other.ETag() == c.ETag() {
		t.Fatal("different configurations share a tag")
	}

	for _, tc := range []struct{ name, in, want string }{
		{"schema", `{"schema":"v0"}`, "schema"},
		{"unknown field", `{"schema":"vigil.agent.config/v1","tails":[]}`, "unknown field"},
		{"relative", `{"schema":"vigil.agent.config/v1","tail":["var/log/x"]}`, "absolute"},
		{"dot dot", `{"schema":"vigil.agent.config/v1","fim":{"paths":["/etc/../root"]}}`, "clean"},
		{"control", `{"schema":"vigil.agent.config/v1","tail":["/var/log/a\nb"]}`, "control"},
		{"twice", `{"schema":"vigil.agent.config/v1","tail":["/a","/a"]}`, "twice"},
		{"unit", `{"schema":"vigil.agent.config/v1","journald":{"units":["--all"]}}`, "unit"},
		{"unit space", `{"schema":"vigil.agent.config/v1","journald":{"units":["a b"]}}`, "unit"},
		{"fast heartbeat", `{"schema":"vigil.agent.config/v1","heartbeat_interval":"1s"}`, "heartbeat_interval"},
		{"bad duration", `{"schema":"vigil.agent.config/v1","heartbeat_interval":"soon"}`, "duration"},
		{"numeric duration", `{"schema":"vigil.agent.config/v1","heartbeat_interval":30}`, "duration"},
		{"many files", `{"schema":"vigil.agent.config/v1","fim":{"max_files":1000000}}`, "max_files"},
		{"huge file", `{"schema":"vigil.agent.config/v1","fim":{"max_file_bytes":-1}}`, "max_file_bytes"},
		{"baseline flag", `{"schema":"vigil.agent.config/v1","baseline":"--x"}`, "baseline"},
		{"too many", `{"schema":"vigil.agent.config/v1","tail":[` + strings.Repeat(`"/x",`, 64) + `"/y"]}`, "limit"},
		{"too big", `{"schema":"vigil.agent.config/v1","baseline":"` + strings.Repeat("a", MaxConfigBytes) + `"}`, "limit"},
		{"trailing", `{"schema":"vigil.agent.config/v1"} {}`, "trailing"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseRemoteConfig([]byte(tc.in))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want one about %q", err, tc.want)
			}
		})
	}
}

// FuzzParseRemoteConfig: no input panics; a configuration that parses
// has absolute clean paths and survives its canonical form unchanged.
func FuzzParseRemoteConfig(f *testing.F) {
	ents, err := os.ReadDir("testdata/config")
	if err != nil {
		f.Fatal(err)
	}
	for _, e := range ents {
		b, err := os.ReadFile("testdata/config/" + e.Name())
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		c, err := ParseRemoteConfig(in)
		if err != nil {
			return
		}
		for _, p := range append(c.Tail, c.FIM.Paths...) {
			if !strings.HasPrefix(p, "/") || strings.Contains(p, "/../") || strings.ContainsFunc(p, isControl) {
				t.Fatalf("path %q accepted", p)
			}
		}
		again, err := ParseRemoteConfig(c.Canonical())
		if err != nil || again.ETag() != c.ETag() {
			t.Fatalf("canonical form: %v", err)
		}
	})
}
