package baseline

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// corpusDir holds the Wazuh SCA policies shared with the other engineers;
// the test is skipped where it is not checked out.
const corpusDir = "../../../shared/corpus/wazuh-sca"

func TestLoadCorpus(t *testing.T) {
	if _, err := os.Stat(corpusDir); err != nil {
		t.Skipf("corpus not present: %v", err)
	}
	policies, err := LoadDir(os.DirFS(corpusDir), ".")
	if err != nil {
		t.Errorf("documents that failed to load: %v", err)
	}
	var checks, rules, rejectedChecks int
	reasons := map[string]int{}
	for _, p := range policies {
		checks += len(p.Checks)
		rules += p.Rules
		bad := map[string]bool{}
		for _, pr := range p.Problems {
			bad[pr.CheckID] = true
			t.Logf("unsupported: %s", pr)
			reasons[reasonClass(pr.Reason)]++
		}
		rejectedChecks += len(bad)
	}
	total := checks + rejectedChecks
	rate := 100 * float64(checks) / float64(total)
	t.Logf("corpus: %d policies, %d/%d checks loaded (%.2f%%), %d rules loaded, %d checks rejected",
		len(policies), checks, total, rate, rules, rejectedChecks)
	type kv struct {
		k string
		v int
	}
	var top []kv
	for k, v := range reasons {
		top = append(top, kv{k, v})
	}
	sort.Slice(top, func(i, j int) bool { return top[i].v > top[j].v })
	for _, e := range top {
		t.Logf("reason %4d × %s", e.v, e.k)
	}
	if len(policies) < 70 {
		t.Errorf("loaded %d policies, want at least 70", len(policies))
	}
	if rate < 99 {
		t.Errorf("check load rate %.2f%%, want at least 99%%", rate)
	}
	if filepath.Base(corpusDir) != "wazuh-sca" {
		t.Fatal("unexpected corpus path")
	}
}

// reasonClass strips the specifics from a reason so that they group.
func reasonClass(r string) string {
	if i := strings.LastIndex(r, ": "); i >= 0 {
		return r[i+2:]
	}
	return r
}
