package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestAgentCertLifetime: the default is two years; the config file key and
// VIGIL_AGENT_CERT_LIFETIME set it; values outside a day to five years
// are refused naming the key and the bounds.
func TestAgentCertLifetime(t *testing.T) {
	c := Default()
	if c.AgentCertLifetime != 2*365*24*time.Hour {
		t.Fatalf("default %v", c.AgentCertLifetime)
	}
	path := filepath.Join(t.TempDir(), "vigil.yaml")
	if err := os.WriteFile(path, []byte("agent_cert_lifetime: 720h\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := c.LoadFile(path); err != nil {
		t.Fatal(err)
	}
	if c.AgentCertLifetime != 30*24*time.Hour || c.Validate() != nil {
		t.Fatalf("from the file: %v (%v)", c.AgentCertLifetime, c.Validate())
	}
	env := map[string]string{"VIGIL_AGENT_CERT_LIFETIME": "48h"}
	if err := c.LoadEnv(func(k string) (string, bool) { v, ok := env[k]; return v, ok }); err != nil {
		t.Fatal(err)
	}
	if c.AgentCertLifetime != 48*time.Hour {
		t.Fatalf("from the environment: %v", c.AgentCertLifetime)
	}
	for _, d := range []time.Duration{0, time.Hour, 24*time.Hour - time.Second, MaxAgentCertLifetime + time.Second, -time.Hour} {
		c.AgentCertLifetime = d
		err := c.Validate()
		if err == nil || !strings.Contains(err.Error(), "agent_cert_lifetime") || !strings.Contains(err.Error(), "five years") {
			t.Errorf("lifetime %v: %v", d, err)
		}
	}
	for _, d := range []time.Duration{MinAgentCertLifetime, MaxAgentCertLifetime} {
		c.AgentCertLifetime = d
		if err := c.Validate(); err != nil {
			t.Errorf("lifetime %v refused: %v", d, err)
		}
	}
}
