package hardening

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"testing"

	"github.com/vigil-sec/vigil/internal/baseline/policies"
	"github.com/vigil-sec/vigil/internal/store"
)

// FuzzEvaluateUpload feeds arbitrary uploads to the offline-result path:
// it never panics, refuses bad input as invalid input for the person who
// sent it, and a result it accepts has every check of the policy.
func FuzzEvaluateUpload(f *testing.F) {
	for _, name := range []string{"cisco-ios-weak.cfg", "huawei-vrp-weak.cfg"} {
		data, err := os.ReadFile("../policies/testdata/devices/" + name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add("cisco-ios", data)
	}
	f.Add("openssh", []byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3})
	f.Add("", []byte("PermitRootLogin yes\n"))
	log := slog.New(slog.DiscardHandler)
	c := catalog(policies.List())
	f.Fuzz(func(t *testing.T, policy string, data []byte) {
		if len(data) > 1<<20 {
			return
		}
		info, rep, err := evaluateUpload(context.Background(), c, policy, data, log)
		if err != nil {
			if !errors.Is(err, store.ErrInvalid) {
				t.Fatalf("error %v is not invalid input", err)
			}
			return
		}
		p, err := policies.Open(info.Name)
		if err != nil {
			t.Fatal(err)
		}
		if rep == nil || len(rep.Checks) != len(p.Checks) {
			t.Fatalf("accepted upload has %v checks, the policy %d", rep, len(p.Checks))
		}
	})
}
