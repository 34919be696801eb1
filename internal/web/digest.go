package web

import (
	"net/http"

	"github.com/vigil-sec/vigil/internal/alerting"
	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/store"
)

// The weekly digest's preview (what "send now" would send: the last seven
// days) and "send now" itself, under a tenant's notifications, next to
// the digest's analyst sections (desk.go).

func (s *server) registerDigest(t string) {
	if s.opts.Alerting == nil {
		return
	}
	s.registerNotifyPreview(t) // notify_preview.go: the notification templates
	d := t + "/notifications/digest"
	s.handle(http.MethodGet, d+"/preview", inTenant(auth.PermReportRead), s.digestPreview)
	s.handle(http.MethodPost, d+"/send", inTenant(auth.PermIncidentWrite), s.digestSend)
}

// digestWarnings is the threat intelligence desk's early warnings, nil
// without a desk.
func (s *server) digestWarnings() alerting.WarningsFunc {
	if s.opts.Intel == nil {
		return nil
	}
	return s.opts.Intel.Warnings
}

type digestPreviewPage struct {
	Base
	URL     string
	Digest  alerting.Digest
	Text    string // the plain-text body, shown as text
	Subject string
	Runs    []store.DigestRun
	CanSend bool
	// NoChannel: the tenant has no channel for the digest, so the
	// weekly one is skipped and "send now" is refused.
	NoChannel bool
}

func (s *server) digestPreview(w http.ResponseWriter, r *http.Request) error {
	t := state(r).tenant
	ctx := r.Context()
	d, msg, err := s.opts.Alerting.PreviewDigest(ctx, t.ID, s.digestWarnings())
	if err != nil {
		return err
	}
	runs, err := s.opts.Alerting.DigestRuns(ctx, t.ID, store.Page{Limit: 20})
	if err != nil {
		return err
	}
	has, err := s.opts.Alerting.HasDigestChannel(ctx, t.ID)
	if err != nil {
		return err
	}
	s.render(w, r, http.StatusOK, "digest_preview", &digestPreviewPage{URL: channelsBase(t) + "/digest", Digest: d, Text: msg.Text,
		Subject: msg.Subject, Runs: runs, CanSend: has && auth.FromContext(ctx).Can(auth.PermIncidentWrite, t.ID), NoChannel: !has})
	return nil
}

func (s *server) digestSend(w http.ResponseWriter, r *http.Request) error {
	t := state(r).tenant
	if _, err := s.opts.Alerting.SendDigestNow(r.Context(), t.ID, s.digestWarnings()); err != nil {
		return err
	}
	redirect(w, r, channelsBase(t)+"/digest/preview")
	return nil
}
