package api

import (
	"context"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"github.com/vigil-sec/vigil/internal/auth"
)

// CampaignPatchInput changes a running key-period campaign.
type CampaignPatchInput struct {
	AckFactor float64 `json:"ack_factor" minimum:"0" maximum:"1" doc:"Factor on the tenant's alert acknowledgement waits and new cases' SLA targets during the watch: 0.1 to 1, or 0 for the default (0.5)"`
	Version   int     `json:"version,omitempty" minimum:"0" doc:"The campaign version the change was made on; a campaign changed since is refused with 409. 0: any"`
}

type campaignPatchIn struct {
	TenantParam
	Campaign string `path:"campaign" maxLength:"100" doc:"Campaign ID"`
	Body     CampaignPatchInput
}

func (s *server) registerCampaign3() {
	register(s, inTenant(auth.PermAssessWrite), huma.Operation{OperationID: "patch-campaign", Method: http.MethodPatch,
		Path: "/tenants/{tenant}/campaigns/{campaign}", Summary: "Change the acknowledgement factor of a running key-period campaign",
		Description: "Takes effect from the next SLA computation: the next alert escalation started, case created or case severity changed.",
		Tags:        []string{"campaigns"}}, s.patchCampaign)
}

func (s *server) patchCampaign(ctx context.Context, in *campaignPatchIn) (*out[Campaign], error) {
	t, err := pathTenant(ctx)
	if err != nil {
		return nil, err
	}
	l, err := s.opts.Campaigns.SetAckFactor(ctx, t.ID, in.Campaign, in.Body.AckFactor, in.Body.Version)
	if err != nil {
		return nil, err
	}
	return s.getCampaign(ctx, &campaignParamIn{TenantParam: in.TenantParam, Campaign: l.Record.ID})
}
