package alerting

import (
	"context"

	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/store"
)

// A tenant without a channel that can carry its digest (an enabled
// e-mail, chat or webhook channel; text messages do not carry one) is not
// sent an empty digest: the week's run is recorded as skipped, with the
// reason, and nothing is composed, sent or taken from the pending
// sections. The digest page lists the skipped run. "Send now" is refused
// for such a tenant.

// DigestNoChannel is the reason a digest is skipped.
const DigestNoChannel = "no enabled e-mail, chat or webhook channel to carry the digest"

// digestCarriers counts the tenant's channels that carry a digest.
func (s *Service) digestCarriers(ctx context.Context, tenantID string) (int, error) {
	chans, err := s.store.NotifyChannels().List(ctx, tenantID)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, c := range chans {
		if c.Enabled && c.Kind != "sms" {
			n++
		}
	}
	return n, nil
}

// skipDigest records the run as skipped for why; a run of the period
// already there is store.ErrConflict.
func (s *Service) skipDigest(ctx context.Context, run *store.DigestRun, why string) error {
	now := s.clock.Now()
	run.Status, run.Error, run.FinishedAt = store.DigestSkipped, why, now
	return s.store.Desk().ClaimDigest(ctx, run, now.Add(-DigestClaimLease))
}

// HasDigestChannel reports whether the tenant has a channel that carries
// its digest; without one the weekly digest is skipped.
func (s *Service) HasDigestChannel(ctx context.Context, tenantID string) (bool, error) {
	if err := auth.Require(ctx, auth.PermReportRead, tenantID); err != nil {
		return false, err
	}
	n, err := s.digestCarriers(ctx, tenantID)
	return n > 0, err
}
