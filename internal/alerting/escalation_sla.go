package alerting

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/vigil-sec/vigil/internal/notify"
	"github.com/vigil-sec/vigil/internal/store"
)

// The tenant's service level bounds how long an alert waits for
// acknowledgement: when the tenant subscribes to the 7×24 monitoring
// service of the catalogue (code "monitoring") with a response time
// (ResponseMinutes), no step of a rule that takes alerts (its kinds are
// empty or include alerts) waits longer than that before the next step.
// A longer wait in the rule is shortened; a shorter one is kept. A
// subscription disabled, not yet started or ended sets no bound. A
// key-period watch may then tighten the waits further (tighten).

// MonitoringService is the catalogue code whose response time bounds
// alert acknowledgement.
const MonitoringService = "monitoring"

// responseLimit is the tenant's monitoring response time at now, 0 when
// none applies.
func (s *Service) responseLimit(ctx context.Context, tenantID string, now time.Time) (time.Duration, error) {
	sub, err := s.store.Services().Get(ctx, tenantID, MonitoringService)
	if errors.Is(err, store.ErrNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	if !sub.Enabled || sub.ResponseMinutes <= 0 || (!sub.StartsOn.IsZero() && now.Before(sub.StartsOn)) ||
		(!sub.EndsOn.IsZero() && !now.Before(sub.EndsOn)) {
		return 0, nil
	}
	return time.Duration(sub.ResponseMinutes) * time.Minute, nil
}

// takesAlerts reports whether a rule escalates alerts.
func takesAlerts(r notify.Rule) bool {
	return len(r.Kinds) == 0 || slices.Contains(r.Kinds, notify.KindAlert)
}

// capWaits shortens the waits of steps (all but the last) to limit.
func capWaits(steps []notify.Step, limit time.Duration) {
	for i := range steps {
		if i < len(steps)-1 && steps[i].After > limit {
			steps[i].After = limit
		}
	}
}
