package baseline

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// countingTarget counts the calls reaching the wrapped target.
type countingTarget struct {
	Target
	mu    sync.Mutex
	calls map[string]int
}

func (c *countingTarget) count(key string) {
	c.mu.Lock()
	c.calls[key]++
	c.mu.Unlock()
}

func (c *countingTarget) ReadFile(ctx context.Context, name string, max int64) ([]byte, error) {
	c.count("read " + name)
	return c.Target.ReadFile(ctx, name, max)
}

func (c *countingTarget) ReadDir(ctx context.Context, name string, max int) ([]DirEntry, error) {
	c.count("readdir " + name)
	return c.Target.ReadDir(ctx, name, max)
}

func (c *countingTarget) Processes(ctx context.Context) ([]Process, error) {
	c.count("processes")
	return c.Target.Processes(ctx)
}

func (c *countingTarget) Run(ctx context.Context, argv []string, max int64) (CommandResult, error) {
	c.count("run " + argv[0])
	return c.Target.Run(ctx, argv, max)
}

// TestEvidenceReadOnce: many checks needing the same file, directory,
// process list and command, evaluated concurrently, reach the target once
// each, and give the same results as one worker.
func TestEvidenceReadOnce(t *testing.T) {
	root := fakeRoot(t, map[string]string{
		"etc/ssh/sshd_config": "PermitRootLogin no\nMaxAuthTries 3\n",
		"etc/conf.d/a.conf":   "x=1\n",
		"proc/7/comm":         "sshd\n",
		"proc/7/cmdline":      "/usr/sbin/sshd\x00",
	})
	doc := "policy:\n  id: once\nchecks:\n"
	for i := range 50 {
		doc += "  - id: " + string(rune('A'+i%26)) + string(rune('a'+i/26)) + "\n    title: t\n    condition: all\n    rules:\n" +
			"      - 'f:/etc/ssh/sshd_config -> r:PermitRootLogin no'\n" +
			"      - 'd:/etc/conf.d -> r:\\.conf$ -> r:^x=1'\n" +
			"      - 'p:sshd'\n" +
			"      - 'c:/bin/echo hello -> r:hello'\n"
	}
	p, err := Parse([]byte(doc), "once.yml")
	if err != nil || len(p.Problems) > 0 {
		t.Fatal(err, p.Problems)
	}
	ct := &countingTarget{Target: &LocalTarget{FS: root.FS(), AllowCommands: true}, calls: map[string]int{}}
	rep, err := Evaluate(t.Context(), p, Options{Target: ct, AllowCommands: true, Workers: 16})
	if err != nil {
		t.Fatal(err)
	}
	for key, n := range ct.calls {
		if n != 1 {
			t.Errorf("%s reached the target %d times", key, n)
		}
	}
	if len(ct.calls) != 5 {
		t.Errorf("calls %v", ct.calls)
	}
	if _, err := os.Stat("/bin/echo"); err == nil && rep.Passed != 50 {
		t.Errorf("passed %d of 50", rep.Passed)
	}
	serial, err := Evaluate(t.Context(), p, Options{FS: root.FS(), AllowCommands: true, Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	for i := range rep.Checks {
		if rep.Checks[i].Result != serial.Checks[i].Result {
			t.Errorf("check %s: %s concurrently, %s serially", rep.Checks[i].ID, rep.Checks[i].Result, serial.Checks[i].Result)
		}
	}
}

func TestEvaluateCancelled(t *testing.T) {
	root := fakeRoot(t, map[string]string{"etc/x": "1\n"})
	p, err := Parse([]byte(testPolicy), "t.yml")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := Evaluate(ctx, p, Options{FS: root.FS()}); err == nil {
		t.Error("cancelled evaluation returned no error")
	}
}

// BenchmarkEvaluateCISDebian12 evaluates the corpus CIS Debian 12 policy
// on this host with commands allowed; bench/baseline compares it with
// Lynis.
func BenchmarkEvaluateCISDebian12(b *testing.B) {
	data, err := os.ReadFile(filepath.Join(corpusDir, "debian", "cis_debian12.yml"))
	if err != nil {
		b.Skipf("corpus not present: %v", err)
	}
	p, err := Parse(data, "cis_debian12.yml")
	if err != nil {
		b.Fatal(err)
	}
	for _, workers := range []int{1, 8} {
		b.Run("workers="+string(rune('0'+workers)), func(b *testing.B) {
			for b.Loop() {
				if _, err := Evaluate(b.Context(), p, Options{FS: os.DirFS("/"), AllowCommands: true, IgnoreRequirements: true, Workers: workers}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/float64(len(p.Checks))/1000, "ms/check")
		})
	}
}
