package incident

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"github.com/vigil-sec/vigil/internal/attach"
	"io"
	"mime"

	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/store"
)

// Custody actions.
const (
	CustodyAdded        = "added"
	CustodyDownloaded   = "downloaded"
	CustodyVerified     = "verified"
	CustodyVerifyFailed = "verify_failed"
)

// ErrTampered means the stored content of an evidence file no longer has
// the SHA-256 recorded when it was added; it is not served.
var ErrTampered = errors.New("evidence content does not match its recorded SHA-256")

// EvidenceInput is one uploaded evidence file. Content is read up to the
// size limit.
type EvidenceInput struct {
	Name         string
	DeclaredType string // the Content-Type the uploader sent
	Description  string
	Content      io.Reader
}

// AddEvidence stores an evidence file on an open case: the content is
// hashed and kept once per SHA-256, its type sniffed from the content (the
// declared type is kept beside it, never trusted for serving), and the
// first custody link written.
func (s *Service) AddEvidence(ctx context.Context, tenantID, caseID string, in EvidenceInput) (store.IncidentEvidence, error) {
	c, err := s.openCase(ctx, tenantID, caseID)
	if err != nil {
		return store.IncidentEvidence{}, err
	}
	if err := checkText("description", in.Description, MaxNote, false); err != nil {
		return store.IncidentEvidence{}, err
	}
	declared := ""
	if in.DeclaredType != "" {
		mt, _, err := mime.ParseMediaType(in.DeclaredType)
		if err != nil || len(mt) > 127 {
			return store.IncidentEvidence{}, invalid("content_type", store.CodeInvalidAttribute, nil, "not a media type")
		}
		declared = mt
	}
	if in.Content == nil {
		return store.IncidentEvidence{}, invalid("file", store.CodeRequired, nil, "upload a file")
	}
	data, err := io.ReadAll(io.LimitReader(in.Content, s.maxUpload+1))
	if err != nil {
		return store.IncidentEvidence{}, fmt.Errorf("read evidence: %w", err)
	}
	if int64(len(data)) > s.maxUpload {
		return store.IncidentEvidence{}, invalid("file", store.CodeTooLarge, map[string]any{"max": s.maxUpload},
			"the file is larger than %d bytes", s.maxUpload)
	}
	if len(data) == 0 {
		return store.IncidentEvidence{}, invalid("file", store.CodeRequired, nil, "the file is empty")
	}
	have, err := s.store.Incidents().Evidence(ctx, tenantID, caseID)
	if err != nil {
		return store.IncidentEvidence{}, err
	}
	if len(have) >= MaxEvidence {
		return store.IncidentEvidence{}, invalid("file", store.CodeTooMany, map[string]any{"max": MaxEvidence}, "a case holds at most %d files", MaxEvidence)
	}
	sum := sha256.Sum256(data)
	actor := auth.FromContext(ctx).ActorID()
	e := store.IncidentEvidence{TenantID: tenantID, CaseID: c.ID, SHA256: hex.EncodeToString(sum[:]), Name: attach.CleanName(in.Name, "evidence"),
		Size: int64(len(data)), SniffedType: attach.SniffType(data), DeclaredType: declared, Description: in.Description, CreatedBy: actor}
	if err := s.store.Incidents().AddEvidence(ctx, &e, data, store.IncidentCustody{At: s.now(), Actor: actor, Action: CustodyAdded,
		Detail: "sha256 " + e.SHA256}); err != nil {
		return e, err
	}
	return e, s.record(ctx, tenantID, "incident.evidence.add", caseID, map[string]any{"evidence": e.ID, "name": e.Name,
		"sha256": e.SHA256, "size": e.Size})
}

// Download returns an evidence file's record and content after checking
// its SHA-256; each download, and each failed check, is a custody link and
// an audit entry. A mismatch is ErrTampered and no content is returned.
//
// The caller decides whether the principal may have the file and passes
// it as allowed: the HTTP and CLI surfaces must grant it only to holders
// of incident.write in the tenant (or an explicit evidence grant), never
// to a customer viewer by default, and must serve the content as an
// attachment (Content-Disposition: attachment, X-Content-Type-Options:
// nosniff, Content-Type application/octet-stream), never inline.
func (s *Service) Download(ctx context.Context, tenantID, evidenceID string, allowed bool) (store.IncidentEvidence, []byte, error) {
	if err := auth.Require(ctx, auth.PermEventRead, tenantID); err != nil {
		return store.IncidentEvidence{}, nil, err
	}
	if !allowed {
		return store.IncidentEvidence{}, nil, auth.ErrForbidden
	}
	e, data, err := s.verify(ctx, tenantID, evidenceID)
	if err != nil {
		return e, nil, err
	}
	actor := auth.FromContext(ctx).ActorID()
	if err := s.store.Incidents().AddCustody(ctx, &store.IncidentCustody{TenantID: tenantID, EvidenceID: e.ID, At: s.now(),
		Actor: actor, Action: CustodyDownloaded, Detail: "sha256 verified"}); err != nil {
		return e, nil, err
	}
	return e, data, s.record(ctx, tenantID, "incident.evidence.download", e.CaseID, map[string]any{"evidence": e.ID, "sha256": e.SHA256})
}

// Verify re-hashes an evidence file and records the check in its chain of
// custody.
func (s *Service) Verify(ctx context.Context, tenantID, evidenceID string) error {
	if err := auth.Require(ctx, auth.PermIncidentWrite, tenantID); err != nil {
		return err
	}
	e, _, err := s.verify(ctx, tenantID, evidenceID)
	if err != nil {
		return err
	}
	return s.store.Incidents().AddCustody(ctx, &store.IncidentCustody{TenantID: tenantID, EvidenceID: e.ID, At: s.now(),
		Actor: auth.FromContext(ctx).ActorID(), Action: CustodyVerified, Detail: "sha256 " + e.SHA256})
}

// verify reads and re-hashes evidence; a mismatch is recorded.
func (s *Service) verify(ctx context.Context, tenantID, evidenceID string) (store.IncidentEvidence, []byte, error) {
	e, err := s.store.Incidents().GetEvidence(ctx, tenantID, evidenceID)
	if err != nil {
		return e, nil, err
	}
	data, err := s.store.Incidents().EvidenceContent(ctx, tenantID, evidenceID)
	if err != nil {
		return e, nil, err
	}
	sum := sha256.Sum256(data)
	got := hex.EncodeToString(sum[:])
	if got == e.SHA256 && int64(len(data)) == e.Size {
		return e, data, nil
	}
	actor := auth.FromContext(ctx).ActorID()
	detail := fmt.Sprintf("expected sha256 %s, stored content has %s (%d bytes)", e.SHA256, got, len(data))
	cerr := s.store.Incidents().AddCustody(ctx, &store.IncidentCustody{TenantID: tenantID, EvidenceID: e.ID, At: s.now(),
		Actor: actor, Action: CustodyVerifyFailed, Detail: detail})
	aerr := s.record(ctx, tenantID, "incident.evidence.verify_failed", e.CaseID, map[string]any{"evidence": e.ID, "expected": e.SHA256, "got": got})
	return e, nil, errors.Join(fmt.Errorf("evidence %s %q: %w: %s", e.ID, e.Name, ErrTampered, detail), cerr, aerr)
}

// Evidence lists a case's evidence files.
func (s *Service) Evidence(ctx context.Context, tenantID, caseID string) ([]store.IncidentEvidence, error) {
	if err := auth.Require(ctx, auth.PermEventRead, tenantID); err != nil {
		return nil, err
	}
	return s.store.Incidents().Evidence(ctx, tenantID, caseID)
}

// Custody returns an evidence file's chain of custody.
func (s *Service) Custody(ctx context.Context, tenantID, evidenceID string) ([]store.IncidentCustody, error) {
	if err := auth.Require(ctx, auth.PermEventRead, tenantID); err != nil {
		return nil, err
	}
	return s.store.Incidents().Custody(ctx, tenantID, evidenceID)
}
