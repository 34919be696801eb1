package incident

import (
	"math"
	"testing"
	"time"
)

// TestTightenSLA checks the scaling of SLA targets by a key-period
// factor with hand-worked figures: critical 15 min / 4 h / 3 days times
// 0.4 is 6 min / 1 h 36 min / 28 h 48 min; times 1/3 the 15 minutes are
// 5 minutes exactly after rounding to the second; an off target stays
// off; factors outside (0, 1) change nothing.
func TestTightenSLA(t *testing.T) {
	crit := DefaultSLA()[SeverityCritical]
	if got, want := tightenSLA(crit, 0.4), (SLATargets{6 * time.Minute, 96 * time.Minute, 28*time.Hour + 48*time.Minute}); got != want {
		t.Errorf("0.4: %+v, want %+v", got, want)
	}
	if got := tightenSLA(SLATargets{Acknowledge: 15 * time.Minute}, 1.0/3); got != (SLATargets{Acknowledge: 5 * time.Minute}) {
		t.Errorf("1/3: %+v", got)
	}
	for _, f := range []float64{0, -1, 1, 1.5, math.NaN(), math.Inf(1)} {
		if got := tightenSLA(crit, f); got != crit {
			t.Errorf("factor %v changed the targets: %+v", f, got)
		}
	}
}
