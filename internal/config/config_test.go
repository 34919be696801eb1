package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDefaultValidates(t *testing.T) {
	c := Default()
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestValidateReportsEveryProblem(t *testing.T) {
	c := Default()
	c.Addr = "nope"
	c.DB = "mysql://x"
	c.Role = "boss"
	c.TrustedProxies = []string{"10.0.0.0/33"}
	err := c.Validate()
	if err == nil {
		t.Fatal("invalid config accepted")
	}
	for _, want := range []string{"addr", "db must be a postgres", "role \"boss\"", "trusted_proxies"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not mention %q:\n%v", want, err)
		}
	}
}

func TestLoadEnv(t *testing.T) {
	env := map[string]string{"VIGIL_ADDR": "0.0.0.0:1", "VIGIL_SESSION_TTL": "1h", "VIGIL_DB": "",
		"VIGIL_TRUSTED_PROXIES": "10.0.0.0/8, 192.168.0.0/16", "VIGIL_SECURE_COOKIES": "true"}
	c := Default()
	if err := c.LoadEnv(func(k string) (string, bool) { v, ok := env[k]; return v, ok }); err != nil {
		t.Fatal(err)
	}
	if c.Addr != "0.0.0.0:1" || c.SessionTTL.String() != "1h0m0s" || len(c.TrustedProxies) != 2 || !c.CookieSecure() {
		t.Fatalf("env not applied: %+v", c)
	}
	env["VIGIL_SESSION_TTL"] = "forever"
	if err := c.LoadEnv(func(k string) (string, bool) { v, ok := env[k]; return v, ok }); err == nil ||
		!strings.Contains(err.Error(), "VIGIL_SESSION_TTL") {
		t.Fatalf("bad duration not reported: %v", err)
	}
}

func TestRedacted(t *testing.T) {
	c := Default()
	c.SecretKey = "k"
	c.AdminPassword = "p"
	c.DB = "postgres://u:hunter2@db/vigil"
	r := c.Redacted()
	if strings.Contains(r.DB, "hunter2") || r.SecretKey != "REDACTED" || r.AdminPassword != "REDACTED" {
		t.Fatalf("not redacted: %+v", r)
	}
}

func FuzzLoadFile(f *testing.F) {
	f.Add([]byte("addr: 127.0.0.1:9000\nlog_level: debug\n"))
	f.Add([]byte("trusted_proxies: [10.0.0.0/8]\nsession_ttl: 2h\n"))
	f.Add([]byte("adr: x\n"))
	f.Add([]byte("{{{"))
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(t.TempDir(), "vigil.yaml")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		c := Default()
		if err := c.LoadFile(path); err != nil {
			return
		}
		_ = c.Validate()
	})
}
