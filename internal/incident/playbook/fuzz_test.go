package playbook

import (
	"bytes"
	"strings"
	"testing"
)

// FuzzLoad checks Load never panics and that what it accepts is within the
// documented bounds.
func FuzzLoad(f *testing.F) {
	f.Add([]byte(good))
	f.Add([]byte("id: x\nname: X\ncategory: other\ntasks:\n  - {title: a, phase: detect, due_after: 1d2h}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := Load(bytes.NewReader(data), "fuzz.yaml")
		if err != nil {
			if !strings.HasPrefix(err.Error(), "fuzz.yaml: ") {
				t.Fatalf("error without the file name: %v", err)
			}
			return
		}
		if len(p.Tasks) == 0 || len(p.Tasks) > MaxTasks || !ValidCategory(p.Category) {
			t.Fatalf("accepted out-of-bounds playbook %+v", p)
		}
		last := 0
		for _, task := range p.Tasks {
			i := PhaseIndex(task.Phase)
			if i < last || task.DueAfter < 0 || task.DueAfter > MaxDueAfter || len(task.Checklist) > MaxChecklist {
				t.Fatalf("accepted bad task %+v", task)
			}
			last = i
		}
	})
}
