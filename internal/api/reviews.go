package api

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/policy"
	"github.com/vigil-sec/vigil/internal/policyreview"
	"github.com/vigil-sec/vigil/internal/store"
)

// PolicyReview is one analysed firewall or ACL configuration.
type PolicyReview struct {
	ID           string               `json:"id"`
	TenantID     string               `json:"tenant_id"`
	AssetID      string               `json:"asset_id,omitempty" doc:"The device the configuration came from"`
	Name         string               `json:"name"`
	Format       string               `json:"format"`
	Family       int                  `json:"family" enum:"4,6"`
	ConfigSHA256 string               `json:"config_sha256" doc:"SHA-256 of the configuration as uploaded"`
	Rules        int                  `json:"rules"`
	Findings     int                  `json:"findings"`
	Accepted     bool                 `json:"accepted" doc:"The proposed changes were accepted as the work plan"`
	AcceptedAt   *time.Time           `json:"accepted_at,omitempty"`
	CreatedAt    time.Time            `json:"created_at"`
	Result       *policyreview.Result `json:"result,omitempty" doc:"The analysis; absent in lists"`
}

func reviewDTO(r store.PolicyReview, res *policyreview.Result) PolicyReview {
	return PolicyReview{ID: r.ID, TenantID: r.TenantID, AssetID: r.AssetID, Name: r.Name, Format: r.Format,
		Family: r.Family, ConfigSHA256: r.ConfigSHA256, Rules: r.Rules, Findings: r.Findings, Accepted: r.Accepted,
		AcceptedAt: optTime(r.AcceptedAt), CreatedAt: r.CreatedAt, Result: res}
}

// PolicyReviewInput is a configuration to analyse.
type PolicyReviewInput struct {
	Name    string `json:"name" maxLength:"200"`
	AssetID string `json:"asset_id,omitempty" maxLength:"100" doc:"The device it came from (an asset of the tenant)"`
	Format  string `json:"format"`
	Family  int    `json:"family,omitempty" enum:"4,6" doc:"Address family; default 4"`
	Config  string `json:"config" doc:"The configuration text as exported from the device (UTF-8)"`
	Hits    string `json:"hits,omitempty" doc:"Optional hit counters, CSV: rule ID or line, hits, last hit (RFC 3339)"`
	Window  int    `json:"window_days,omitempty" minimum:"0" maximum:"730" doc:"How far back the counters reach; default 90"`
	Require string `json:"require,omitempty" doc:"Optional required-policy statements, one per line"`
}

// TransformSchema takes the format enum from the policy package.
func (PolicyReviewInput) TransformSchema(_ huma.Registry, s *huma.Schema) *huma.Schema {
	setEnum(s, "format", policy.Formats(), false)
	return s
}

// PolicyReviewList is one page of a tenant's reviews, newest first.
type PolicyReviewList struct {
	Items  []PolicyReview `json:"items"`
	Total  int            `json:"total"`
	Limit  int            `json:"limit"`
	Offset int            `json:"offset"`
}

type reviewListIn struct {
	TenantParam
	Asset  string `query:"asset_id" maxLength:"100" doc:"Only reviews of this device"`
	Limit  int    `query:"limit" minimum:"1" maximum:"1000" default:"100" doc:"Page size"`
	Offset int    `query:"offset" minimum:"0" doc:"Reviews to skip"`
}

type reviewParamIn struct {
	TenantParam
	Review string `path:"review" maxLength:"100" doc:"Policy review ID"`
}

type reviewCreateIn struct {
	TenantParam
	Body PolicyReviewInput
}

func (s *server) registerPolicyReviews() {
	tags := []string{"policy"}
	read, write := inTenant(auth.PermAssessRead), inTenant(auth.PermAssessWrite)
	base := "/tenants/{tenant}/policy-reviews"
	register(s, read, huma.Operation{OperationID: "list-policy-reviews", Method: http.MethodGet, Path: base,
		Summary: "List a tenant's firewall policy reviews", Tags: tags}, s.listReviews)
	register(s, write, huma.Operation{OperationID: "create-policy-review", Method: http.MethodPost, Path: base,
		Summary: "Analyse a firewall or ACL configuration",
		Description: "Parses the configuration in the given format, proves which rules are shadowed, redundant " +
			"or over-broad, and keeps the review. A configuration the parser refuses is a 422 naming the line.",
		DefaultStatus: http.StatusCreated, Tags: tags,
		// JSON escaping can grow the text; the service bounds the configuration itself.
		MaxBodyBytes: 2*policyreview.MaxConfigBytes + 64<<10}, s.createReview)
	register(s, read, huma.Operation{OperationID: "get-policy-review", Method: http.MethodGet, Path: base + "/{review}",
		Summary: "Get a policy review with its findings", Tags: tags}, s.getReview)
	register(s, write, huma.Operation{OperationID: "accept-policy-review", Method: http.MethodPost,
		Path: base + "/{review}/accept", Summary: "Accept the review's plan", DefaultStatus: http.StatusNoContent,
		Tags: tags}, s.acceptReview)
	register(s, write, huma.Operation{OperationID: "delete-policy-review", Method: http.MethodDelete,
		Path: base + "/{review}", Summary: "Delete a policy review", DefaultStatus: http.StatusNoContent,
		Tags: tags}, s.deleteReview)
}

func (s *server) listReviews(ctx context.Context, in *reviewListIn) (*out[PolicyReviewList], error) {
	t, err := pathTenant(ctx)
	if err != nil {
		return nil, err
	}
	rs, total, err := s.opts.Reviews.List(ctx, t.ID, store.PolicyReviewFilter{AssetID: in.Asset,
		Page: store.Page{Limit: in.Limit, Offset: in.Offset}})
	if err != nil {
		return nil, err
	}
	l := PolicyReviewList{Items: items(rs, func(r store.PolicyReview) PolicyReview { return reviewDTO(r, nil) }),
		Total: total, Limit: in.Limit, Offset: in.Offset}
	return reply(l)
}

func (s *server) createReview(ctx context.Context, in *reviewCreateIn) (*out[PolicyReview], error) {
	t, err := pathTenant(ctx)
	if err != nil {
		return nil, err
	}
	r, err := s.opts.Reviews.Create(ctx, t.ID, policyreview.Input{Name: in.Body.Name, AssetID: in.Body.AssetID,
		Format: in.Body.Format, Family: in.Body.Family, Config: []byte(in.Body.Config), Hits: []byte(in.Body.Hits),
		Require: []byte(in.Body.Require), Window: time.Duration(in.Body.Window) * 24 * time.Hour})
	if err != nil {
		return nil, err
	}
	_, res, err := s.opts.Reviews.Get(ctx, t.ID, r.ID)
	if err != nil {
		return nil, err
	}
	return reply(reviewDTO(r, &res))
}

func (s *server) getReview(ctx context.Context, in *reviewParamIn) (*out[PolicyReview], error) {
	t, err := pathTenant(ctx)
	if err != nil {
		return nil, err
	}
	r, res, err := s.opts.Reviews.Get(ctx, t.ID, in.Review)
	if err != nil {
		return nil, err
	}
	return reply(reviewDTO(r, &res))
}

func (s *server) acceptReview(ctx context.Context, in *reviewParamIn) (*noContent, error) {
	t, err := pathTenant(ctx)
	if err != nil {
		return nil, err
	}
	return nil, s.opts.Reviews.Accept(ctx, t.ID, in.Review)
}

func (s *server) deleteReview(ctx context.Context, in *reviewParamIn) (*noContent, error) {
	t, err := pathTenant(ctx)
	if err != nil {
		return nil, err
	}
	return nil, s.opts.Reviews.Delete(ctx, t.ID, in.Review)
}
