package project

import (
	"context"
	"crypto/rand"
	"errors"
	"math/big"
	"slices"
	"strings"

	"github.com/vigil-sec/vigil/internal/audit"
	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/store"
)

// Inspection campaigns and spot checks: a campaign opens the same
// inspection in several tenants and carries on past a tenant that fails,
// recording the failure for that tenant; a spot check assigns a random
// sample of each tenant's assets instead of all of them.

// Limits of campaigns and spot checks.
const (
	MaxCampaignTenants = 200
	MaxSample          = MaxInspectionObjects
	// maxSamplePool bounds the assets a sample is drawn from.
	maxSamplePool = 10000
)

// Why a tenant of a campaign failed, for the user and the audit trail.
const (
	CampaignFailForbidden = "forbidden" // no inspection.write in the tenant
	CampaignFailInvalid   = "invalid"   // the input was refused there (Message says why)
	CampaignFailConflict  = "conflict"  // e.g. the tenant already has an inspection of that name
	CampaignFailMissing   = "not_found" // the tenant or an object is gone
	CampaignFailError     = "error"     // anything else (details only in the log)
)

// CampaignOutcome is what happened in one tenant of a campaign.
type CampaignOutcome struct {
	TenantID   string
	Inspection *store.Inspection // nil when it failed
	Failure    string            // one of the CampaignFail* codes, "" on success
	Message    string            // the user-facing reason for invalid input
	Err        error             // the error itself, for the caller's log
}

// CampaignResult lists the outcome per tenant, in the order given.
type CampaignResult struct {
	Campaign string
	Outcomes []CampaignOutcome
}

// Opened counts the tenants where the inspection was opened.
func (r CampaignResult) Opened() int {
	n := 0
	for _, o := range r.Outcomes {
		if o.Failure == "" {
			n++
		}
	}
	return n
}

// Failed returns the outcomes that failed.
func (r CampaignResult) Failed() []CampaignOutcome {
	var out []CampaignOutcome
	for _, o := range r.Outcomes {
		if o.Failure != "" {
			out = append(out, o)
		}
	}
	return out
}

// failureOf classifies an error of CreateInspection.
func failureOf(err error) (code, msg string) {
	var fe *store.FieldError
	switch {
	case errors.Is(err, auth.ErrForbidden) || errors.Is(err, auth.ErrUnauthenticated):
		return CampaignFailForbidden, ""
	case errors.As(err, &fe):
		return CampaignFailInvalid, fe.Message
	case errors.Is(err, store.ErrConflict):
		return CampaignFailConflict, ""
	case errors.Is(err, store.ErrNotFound):
		return CampaignFailMissing, ""
	}
	return CampaignFailError, ""
}

// CreateCampaign opens the same inspection in several tenants (each with
// its own assets, or a sample of them); the caller needs inspection.write
// in each. A tenant that fails does not stop the others: its failure is
// recorded in its audit trail (inspection.campaign_failed) and returned
// in its outcome. The error is only for input refused before any tenant
// is tried.
func (s *Service) CreateCampaign(ctx context.Context, tenantIDs []string, in InspectionInput) (CampaignResult, error) {
	in.Name, in.Campaign = strings.TrimSpace(in.Name), strings.TrimSpace(in.Campaign)
	if in.Campaign == "" {
		in.Campaign = in.Name
	}
	in.Objects = nil // each tenant's own assets
	var ids []string
	for _, t := range tenantIDs {
		if t != "" && !slices.Contains(ids, t) {
			ids = append(ids, t)
		}
	}
	switch {
	case len(ids) == 0:
		return CampaignResult{}, invalid("tenant", store.CodeRequired, nil, "choose at least one organisation")
	case len(ids) > MaxCampaignTenants:
		return CampaignResult{}, invalid("tenant", store.CodeTooMany, map[string]any{"max": MaxCampaignTenants},
			"a campaign covers at most %d organisations", MaxCampaignTenants)
	case in.Sample < 0 || in.Sample > MaxSample:
		return CampaignResult{}, invalid("sample", store.CodeOutOfRange, map[string]any{"min": 0, "max": MaxSample},
			"a spot check samples 1 to %d objects per organisation", MaxSample)
	}
	res := CampaignResult{Campaign: in.Campaign}
	for _, t := range ids {
		x, err := s.CreateInspection(ctx, t, in)
		if err == nil {
			res.Outcomes = append(res.Outcomes, CampaignOutcome{TenantID: t, Inspection: &x})
			continue
		}
		if ctx.Err() != nil {
			return res, ctx.Err()
		}
		code, msg := failureOf(err)
		res.Outcomes = append(res.Outcomes, CampaignOutcome{TenantID: t, Failure: code, Message: msg, Err: err})
		if s.audit == nil {
			continue
		}
		if aerr := s.audit.Record(ctx, audit.Event{TenantID: t, Action: "inspection.campaign_failed", Object: "campaign:" + in.Campaign,
			Detail: map[string]any{"name": in.Name, "reason": code, "message": msg}}); aerr != nil {
			return res, aerr
		}
	}
	return res, nil
}

// sampleObjects draws n assets of the tenant at random (all of them when
// it has n or fewer).
func (s *Service) sampleObjects(ctx context.Context, tenantID string, n int) ([]InspectionObject, error) {
	if n < 1 || n > MaxSample {
		return nil, invalid("sample", store.CodeOutOfRange, map[string]any{"min": 1, "max": MaxSample},
			"a spot check samples 1 to %d objects", MaxSample)
	}
	assets, err := s.store.Assets().List(ctx, tenantID, store.AssetFilter{Page: store.Page{Limit: maxSamplePool}})
	if err != nil {
		return nil, err
	}
	// Partial Fisher–Yates shuffle with a cryptographic source: the
	// inspected party cannot predict the sample.
	for i := 0; i < n && i < len(assets)-1; i++ {
		j, err := rand.Int(rand.Reader, big.NewInt(int64(len(assets)-i)))
		if err != nil {
			return nil, err
		}
		k := i + int(j.Int64())
		assets[i], assets[k] = assets[k], assets[i]
	}
	assets = assets[:min(n, len(assets))]
	slices.SortFunc(assets, func(a, b store.Asset) int { return strings.Compare(a.Name, b.Name) })
	out := make([]InspectionObject, 0, len(assets))
	for _, a := range assets {
		out = append(out, InspectionObject{Asset: a.ID, Name: a.Name})
	}
	return out, nil
}
