package api

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/compliance/project"
	"github.com/vigil-sec/vigil/internal/store"
)

// Compliance inspections over the API — a regulator opens, runs and
// closes them with inspection.write, without assessment.write — and the
// commissions of third-party assessment organisations.

// Paths without a tenant that a regulator uses.
const (
	inspectionCampaignsPath = "/inspection-campaigns"
	commissionsPath         = "/commissions"
)

// regulatorOwnPath reports whether path (with basePath) is one of the
// regulator's own operations without a tenant in the path.
func regulatorOwnPath(path string) bool {
	rest, ok := strings.CutPrefix(path, basePath)
	return ok && (rest == inspectionCampaignsPath || rest == commissionsPath || strings.HasPrefix(rest, commissionsPath+"/"))
}

// InspectionResultDTO is the result of one item on one object.
type InspectionResultDTO struct {
	Item      string    `json:"item"`
	Object    string    `json:"object" doc:"Asset ID"`
	Result    string    `json:"result"`
	Note      string    `json:"note,omitempty"`
	CheckedBy string    `json:"checked_by,omitempty"`
	CheckedAt time.Time `json:"checked_at,omitzero"`
}

// InspectionObjectDTO is an assigned object.
type InspectionObjectDTO struct {
	Asset string `json:"asset"`
	Name  string `json:"name"`
}

// Inspection is a compliance inspection of a tenant.
type Inspection struct {
	ID         string                `json:"id"`
	Name       string                `json:"name"`
	Campaign   string                `json:"campaign,omitempty"`
	Framework  string                `json:"framework"`
	State      string                `json:"state"`
	SpotCheck  bool                  `json:"spot_check"`
	Objects    []InspectionObjectDTO `json:"objects,omitempty"`
	Results    []InspectionResultDTO `json:"results,omitempty"`
	Checked    int                   `json:"checked"`
	Expected   int                   `json:"expected"`
	Compliance float64               `json:"compliance"`
	CreatedBy  string                `json:"created_by,omitempty"`
	UpdatedAt  time.Time             `json:"updated_at"`
	Version    int                   `json:"version"`
}

func inspectionDTO(v *project.InspectionView) Inspection {
	d := Inspection{ID: v.Meta.ID, Name: v.Meta.Name, Campaign: v.Meta.Campaign, Framework: v.Meta.Framework, State: v.Meta.State,
		SpotCheck: v.Doc.Sampled, Checked: v.Summary.Checked, Expected: v.Summary.Expected, Compliance: v.Summary.Compliance,
		CreatedBy: v.Meta.CreatedBy, UpdatedAt: v.Meta.UpdatedAt, Version: v.Meta.Version}
	d.Objects = items(v.Doc.Objects, func(o project.InspectionObject) InspectionObjectDTO { return InspectionObjectDTO(o) })
	d.Results = items(v.Doc.Results, func(r project.InspectionResult) InspectionResultDTO {
		return InspectionResultDTO{Item: r.Item, Object: r.Object, Result: r.Result, Note: r.Note, CheckedBy: r.CheckedBy, CheckedAt: r.CheckedAt}
	})
	return d
}

// InspectionCampaignInput opens the same inspection in several tenants.
type InspectionCampaignInput struct {
	Name      string   `json:"name" maxLength:"200"`
	Campaign  string   `json:"campaign,omitempty" maxLength:"200" doc:"Groups the inspections; defaults to the name"`
	Framework string   `json:"framework" maxLength:"100" doc:"A framework of the standards library"`
	Tenants   []string `json:"tenants" minItems:"1" maxItems:"200" doc:"Tenant IDs or slugs; one the caller may not read is 404 and nothing is opened"`
	Sample    int      `json:"sample,omitempty" minimum:"0" maximum:"200" doc:"A spot check: assets drawn at random per tenant; 0 inspects every asset"`
}

// CampaignOutcomeDTO is what happened in one tenant of a campaign.
type CampaignOutcomeDTO struct {
	Tenant     string `json:"tenant" doc:"Tenant slug"`
	Inspection string `json:"inspection,omitempty" doc:"The inspection opened"`
	Failure    string `json:"failure,omitempty" doc:"forbidden, invalid, conflict, not_found or error"`
	Message    string `json:"message,omitempty"`
}

// InspectionCampaign is the outcome of a campaign.
type InspectionCampaign struct {
	Campaign string               `json:"campaign"`
	Opened   int                  `json:"opened"`
	Outcomes []CampaignOutcomeDTO `json:"outcomes"`
}

// InspectionResultInput records one result.
type InspectionResultInput struct {
	Version int    `json:"version" minimum:"0" doc:"The version read; 0 skips the check"`
	Item    string `json:"item" maxLength:"100"`
	Object  string `json:"object" maxLength:"100" doc:"Asset ID of an assigned object"`
	Result  string `json:"result" maxLength:"20" doc:"conform, partial, nonconform or na (or 符合, 部分符合, 不符合, 不适用)"`
	Note    string `json:"note,omitempty" maxLength:"2000"`
}

// InspectionStateInput opens or closes an inspection.
type InspectionStateInput struct {
	Version int    `json:"version" minimum:"0"`
	State   string `json:"state" enum:"open,closed"`
}

type inspectionListIn struct {
	TenantParam
	Limit  int `query:"limit" minimum:"1" maximum:"1000" default:"100"`
	Offset int `query:"offset" minimum:"0"`
}

type inspectionParamIn struct {
	TenantParam
	Inspection string `path:"inspection" maxLength:"100" doc:"Inspection ID"`
}

type inspectionResultIn struct {
	TenantParam
	Inspection string `path:"inspection" maxLength:"100"`
	Body       InspectionResultInput
}

type inspectionStateIn struct {
	TenantParam
	Inspection string `path:"inspection" maxLength:"100"`
	Body       InspectionStateInput
}

type inspectionCampaignIn struct {
	Body InspectionCampaignInput
}

// CommissionInputDTO commissions a third-party assessment organisation.
type CommissionInputDTO struct {
	Org      string              `json:"org" maxLength:"200" doc:"The commissioned organisation"`
	Contact  string              `json:"contact,omitempty" maxLength:"500"`
	Purpose  string              `json:"purpose" maxLength:"2000"`
	Tenants  []string            `json:"tenants" minItems:"1" maxItems:"50" doc:"Tenant IDs or slugs; one the caller may not read is 404"`
	Systems  map[string][]string `json:"systems,omitempty" doc:"Per tenant (ID or slug): systems to assess, by asset ID, name or address"`
	Members  []string            `json:"members" minItems:"1" maxItems:"50" doc:"Usernames of the organisation's assessors"`
	StartsAt time.Time           `json:"starts_at"`
	EndsAt   time.Time           `json:"ends_at" doc:"Access ends at this instant"`
}

// CommissionTenantDTO is a commissioned tenant.
type CommissionTenantDTO struct {
	Tenant  string   `json:"tenant" doc:"Tenant slug"`
	Name    string   `json:"name"`
	Systems []string `json:"systems,omitempty" doc:"Names of the systems to assess; none means the whole tenant"`
}

// CommissionResultDTO is an inspection or project opened by the
// commission's assessors in its scope during its period.
type CommissionResultDTO struct {
	Tenant    string    `json:"tenant" doc:"Tenant slug"`
	Kind      string    `json:"kind" enum:"inspection,assessment"`
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	State     string    `json:"state"`
	CreatedAt time.Time `json:"created_at"`
}

// Commission is a commission with its status and results.
type Commission struct {
	ID        string                `json:"id"`
	Org       string                `json:"org"`
	Contact   string                `json:"contact,omitempty"`
	Purpose   string                `json:"purpose"`
	Status    string                `json:"status" enum:"scheduled,active,expired,revoked"`
	StartsAt  time.Time             `json:"starts_at"`
	EndsAt    time.Time             `json:"ends_at"`
	RevokedAt time.Time             `json:"revoked_at,omitzero"`
	Tenants   []CommissionTenantDTO `json:"tenants" doc:"The commissioned tenants the caller reads"`
	Members   []string              `json:"members" doc:"Usernames of the assessors"`
	Results   []CommissionResultDTO `json:"results"`
	Version   int                   `json:"version"`
}

func commissionDTO(v project.CommissionView) Commission {
	c := v.Commission
	d := Commission{ID: c.ID, Org: c.Org, Contact: c.Contact, Purpose: c.Purpose, Status: v.Status, StartsAt: c.StartsAt, EndsAt: c.EndsAt,
		RevokedAt: c.RevokedAt, Version: c.Version}
	d.Tenants = items(v.Tenants, func(t project.CommissionTenant) CommissionTenantDTO {
		return CommissionTenantDTO{Tenant: t.Tenant.Slug, Name: t.Tenant.Name,
			Systems: items(t.Systems, func(s project.CommissionSystem) string { return s.Name })}
	})
	d.Members = items(v.Members, func(m project.CommissionMember) string { return m.Username })
	d.Results = items(v.Results, func(r project.CommissionResult) CommissionResultDTO {
		return CommissionResultDTO{Tenant: r.TenantSlug, Kind: r.Kind, ID: r.ID, Name: r.Name, State: r.State, CreatedAt: r.CreatedAt}
	})
	return d
}

type commissionCreateIn struct {
	Body CommissionInputDTO
}

type commissionParamIn struct {
	Commission string `path:"commission" maxLength:"100" doc:"Commission ID"`
}

type commissionRevokeIn struct {
	Commission string `path:"commission" maxLength:"100"`
	Body       struct {
		Version int `json:"version" minimum:"0" doc:"The version read; 0 skips the check"`
	}
}

// registerCompliance5 adds inspections and commissions.
func (s *server) registerCompliance5() {
	tags := []string{"assessments"}
	base := "/tenants/{tenant}/inspections"
	register(s, inTenant(auth.PermAssessRead), huma.Operation{OperationID: "list-inspections", Method: http.MethodGet, Path: base,
		Summary: "List the tenant's compliance inspections", Tags: tags}, s.listInspections)
	register(s, inTenant(auth.PermAssessRead), huma.Operation{OperationID: "get-inspection", Method: http.MethodGet, Path: base + "/{inspection}",
		Summary: "Get an inspection with its objects, results and compliance rate", Tags: tags}, s.getInspection)
	register(s, inTenant(auth.PermInspectWrite), huma.Operation{OperationID: "record-inspection-result", Method: http.MethodPut,
		Path: base + "/{inspection}/results", Summary: "Record the result of one item on one object of an open inspection",
		Description: "Needs inspection.write (a regulator holds it in the tenants granted to it). A stale version is 409.", Tags: tags},
		s.recordInspectionResult)
	register(s, inTenant(auth.PermInspectWrite), huma.Operation{OperationID: "set-inspection-state", Method: http.MethodPut,
		Path: base + "/{inspection}/state", Summary: "Close or reopen an inspection", Tags: tags}, s.setInspectionState)
	register(s, anyTenant(auth.PermInspectWrite), huma.Operation{OperationID: "create-inspection-campaign", Method: http.MethodPost,
		Path: inspectionCampaignsPath, Summary: "Open the same inspection in several tenants (a periodic check or, with a sample, a spot check)",
		Description: "Every tenant must be one the caller reads (else 404, nothing opened); a tenant where the caller lacks inspection.write " +
			"or that refuses the input fails alone, recorded in its audit log, and the others are opened.",
		DefaultStatus: http.StatusCreated, Tags: tags}, s.createInspectionCampaign)
	register(s, anyTenant(auth.PermAssessRead), huma.Operation{OperationID: "list-commissions", Method: http.MethodGet, Path: commissionsPath,
		Summary:     "Commissions of third-party assessment organisations touching the tenants the caller reads",
		Description: "With their status and the inspections and projects their assessors opened in the scope.", Tags: tags}, s.listCommissions)
	register(s, anyTenant(auth.PermCommissionWrite), huma.Operation{OperationID: "create-commission", Method: http.MethodPost, Path: commissionsPath,
		Summary: "Commission a third-party assessment organisation",
		Description: "Its users named as members act as assessors in exactly the commissioned tenants from starts_at until ends_at. " +
			"Needs commission.write in every tenant (a regulator holds it in the tenants granted to it).",
		DefaultStatus: http.StatusCreated, Tags: tags}, s.createCommission)
	register(s, anyTenant(auth.PermAssessRead), huma.Operation{OperationID: "get-commission", Method: http.MethodGet, Path: commissionsPath + "/{commission}",
		Summary: "Get a commission with its status and results", Tags: tags}, s.getCommission)
	register(s, anyTenant(auth.PermCommissionWrite), huma.Operation{OperationID: "revoke-commission", Method: http.MethodPost,
		Path: commissionsPath + "/{commission}/revoke", Summary: "Revoke a commission: its assessors lose access at once", Tags: tags}, s.revokeCommission)
}

func (s *server) listInspections(ctx context.Context, in *inspectionListIn) (*out[[]Inspection], error) {
	t, err := pathTenant(ctx)
	if err != nil {
		return nil, err
	}
	xs, err := s.opts.Assessments.ListInspections(ctx, t.ID, store.Page{Limit: in.Limit, Offset: in.Offset})
	if err != nil {
		return nil, err
	}
	return reply(items(xs, func(x store.Inspection) Inspection {
		return Inspection{ID: x.ID, Name: x.Name, Campaign: x.Campaign, Framework: x.Framework, State: x.State, CreatedBy: x.CreatedBy,
			UpdatedAt: x.UpdatedAt, Version: x.Version}
	}))
}

func (s *server) getInspection(ctx context.Context, in *inspectionParamIn) (*out[Inspection], error) {
	t, err := pathTenant(ctx)
	if err != nil {
		return nil, err
	}
	v, err := s.opts.Assessments.Inspection(ctx, t.ID, in.Inspection)
	if err != nil {
		return nil, err
	}
	return reply(inspectionDTO(v))
}

func (s *server) recordInspectionResult(ctx context.Context, in *inspectionResultIn) (*out[Inspection], error) {
	t, err := pathTenant(ctx)
	if err != nil {
		return nil, err
	}
	b := in.Body
	v, err := s.opts.Assessments.RecordInspectionResult(ctx, t.ID, in.Inspection, b.Version,
		project.InspectionResult{Item: b.Item, Object: b.Object, Result: b.Result, Note: b.Note})
	if err != nil {
		return nil, err
	}
	return reply(inspectionDTO(v))
}

func (s *server) setInspectionState(ctx context.Context, in *inspectionStateIn) (*out[Inspection], error) {
	t, err := pathTenant(ctx)
	if err != nil {
		return nil, err
	}
	v, err := s.opts.Assessments.SetInspectionState(ctx, t.ID, in.Inspection, in.Body.Version, in.Body.State)
	if err != nil {
		return nil, err
	}
	return reply(inspectionDTO(v))
}

// resolveTenants resolves tenant refs the caller may read; any other is
// store.ErrNotFound.
func (s *server) resolveTenants(ctx context.Context, refs []string) ([]store.Tenant, error) {
	var out []store.Tenant
	for _, ref := range refs {
		t, err := s.resolveTenant(ctx, strings.TrimSpace(ref))
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, nil
}

func (s *server) createInspectionCampaign(ctx context.Context, in *inspectionCampaignIn) (*out[InspectionCampaign], error) {
	b := in.Body
	ts, err := s.resolveTenants(ctx, b.Tenants)
	if err != nil {
		return nil, err
	}
	ids := items(ts, func(t store.Tenant) string { return t.ID })
	res, err := s.opts.Assessments.CreateCampaign(ctx, ids, project.InspectionInput{Name: b.Name, Campaign: b.Campaign, Framework: b.Framework, Sample: b.Sample})
	if err != nil {
		return nil, err
	}
	d := InspectionCampaign{Campaign: res.Campaign, Opened: res.Opened()}
	for _, o := range res.Outcomes {
		row := CampaignOutcomeDTO{Tenant: o.TenantID, Failure: o.Failure, Message: o.Message}
		for _, t := range ts {
			if t.ID == o.TenantID {
				row.Tenant = t.Slug
			}
		}
		if o.Inspection != nil {
			row.Inspection = o.Inspection.ID
		}
		if o.Err != nil {
			s.log.WarnContext(ctx, "inspection campaign", "campaign", res.Campaign, "tenant", o.TenantID, "reason", o.Failure, "err", o.Err)
		}
		d.Outcomes = append(d.Outcomes, row)
	}
	return reply(d)
}

func (s *server) listCommissions(ctx context.Context, _ *struct{}) (*out[[]Commission], error) {
	cs, err := s.opts.Assessments.Commissions(ctx)
	if err != nil {
		return nil, err
	}
	return reply(items(cs, commissionDTO))
}

func (s *server) createCommission(ctx context.Context, in *commissionCreateIn) (*out[Commission], error) {
	b := in.Body
	ts, err := s.resolveTenants(ctx, b.Tenants)
	if err != nil {
		return nil, err
	}
	pin := project.CommissionInput{Org: b.Org, Contact: b.Contact, Purpose: b.Purpose, Members: b.Members, StartsAt: b.StartsAt, EndsAt: b.EndsAt,
		Systems: map[string][]string{}}
	for _, t := range ts {
		pin.Tenants = append(pin.Tenants, t.ID)
	}
	for ref, systems := range b.Systems {
		t, err := s.resolveTenant(ctx, ref)
		if err != nil {
			return nil, err
		}
		pin.Systems[t.ID] = append(pin.Systems[t.ID], systems...)
	}
	c, err := s.opts.Assessments.CreateCommission(ctx, pin)
	if err != nil {
		return nil, err
	}
	v, err := s.opts.Assessments.Commission(ctx, c.ID)
	if err != nil {
		return nil, err
	}
	return reply(commissionDTO(*v))
}

func (s *server) getCommission(ctx context.Context, in *commissionParamIn) (*out[Commission], error) {
	v, err := s.opts.Assessments.Commission(ctx, in.Commission)
	if err != nil {
		return nil, err
	}
	return reply(commissionDTO(*v))
}

func (s *server) revokeCommission(ctx context.Context, in *commissionRevokeIn) (*out[Commission], error) {
	v, err := s.opts.Assessments.RevokeCommission(ctx, in.Commission, in.Body.Version)
	if err != nil {
		return nil, err
	}
	return reply(commissionDTO(*v))
}
