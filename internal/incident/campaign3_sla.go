package incident

import "time"

// tightenSLA scales the targets by f, rounded to the second, when f is in
// (0, 1); any other factor (1 outside a key-period watch, or a damaged
// value) leaves them as they are. A target that is off stays off.
func tightenSLA(t SLATargets, f float64) SLATargets {
	if !(f > 0 && f < 1) {
		return t
	}
	scale := func(d time.Duration) time.Duration {
		if d <= 0 {
			return d
		}
		return max(time.Duration(float64(d)*f).Round(time.Second), time.Second)
	}
	return SLATargets{Acknowledge: scale(t.Acknowledge), Contain: scale(t.Contain), Close: scale(t.Close)}
}
