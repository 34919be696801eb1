package api

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/vigil-sec/vigil/internal/asset/bizsys"
	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/store"
)

// BusinessSystem is a tenant's business system (应用系统): assets grouped
// by the business purpose they serve.
type BusinessSystem struct {
	ID              string    `json:"id"`
	TenantID        string    `json:"tenant_id"`
	Name            string    `json:"name"`
	Description     string    `json:"description"`
	Owner           string    `json:"owner"`
	ContactID       string    `json:"contact_id" doc:"The tenant contact who answers for the application; empty for none"`
	MLPSLevel       int       `json:"mlps_level" minimum:"0" maximum:"5" doc:"MLPS (等级保护) level; 0 when not graded"`
	DataSensitivity string    `json:"data_sensitivity"`
	Confidentiality int       `json:"confidentiality" minimum:"1" maximum:"5"`
	Integrity       int       `json:"integrity" minimum:"1" maximum:"5"`
	Availability    int       `json:"availability" minimum:"1" maximum:"5"`
	Importance      int       `json:"importance" minimum:"1" maximum:"5" doc:"The importance the system implies for its member assets"`
	Members         int       `json:"members" doc:"Number of member assets"`
	Version         int       `json:"version" doc:"Send it back on update; a stale one is refused with 409"`
	CreatedAt       time.Time `json:"created_at"`
	UpdatedAt       time.Time `json:"updated_at"`
}

// TransformSchema takes the sensitivity enum from the bizsys package.
func (BusinessSystem) TransformSchema(_ huma.Registry, s *huma.Schema) *huma.Schema {
	setEnum(s, "data_sensitivity", bizsys.Sensitivities(), false)
	return s
}

func bizsysDTO(b store.BusinessSystem) BusinessSystem {
	return BusinessSystem{ID: b.ID, TenantID: b.TenantID, Name: b.Name, Description: b.Description, Owner: b.Owner,
		ContactID: b.ContactID, MLPSLevel: b.MLPSLevel, DataSensitivity: b.DataSensitivity,
		Confidentiality: b.Confidentiality, Integrity: b.Integrity, Availability: b.Availability,
		Importance: bizsys.Implied(b), Members: b.Members, Version: b.Version, CreatedAt: b.CreatedAt, UpdatedAt: b.UpdatedAt}
}

// BusinessSystemInput is what may be set on a business system.
type BusinessSystemInput struct {
	Name            string `json:"name" minLength:"1" maxLength:"200"`
	Description     string `json:"description,omitempty" maxLength:"4000"`
	Owner           string `json:"owner,omitempty" maxLength:"200"`
	ContactID       string `json:"contact_id,omitempty" maxLength:"100" doc:"A contact of the tenant"`
	MLPSLevel       int    `json:"mlps_level,omitempty" minimum:"0" maximum:"5" doc:"0 (default): not graded"`
	DataSensitivity string `json:"data_sensitivity,omitempty" doc:"Default: internal"`
	Confidentiality int    `json:"confidentiality,omitempty" minimum:"0" maximum:"5" doc:"1 to 5; default 3"`
	Integrity       int    `json:"integrity,omitempty" minimum:"0" maximum:"5" doc:"1 to 5; default 3"`
	Availability    int    `json:"availability,omitempty" minimum:"0" maximum:"5" doc:"1 to 5; default 3"`
	Version         int    `json:"version,omitempty" minimum:"0" doc:"On update: the version read; omit to overwrite"`
}

// TransformSchema takes the sensitivity enum from the bizsys package.
func (BusinessSystemInput) TransformSchema(_ huma.Registry, s *huma.Schema) *huma.Schema {
	setEnum(s, "data_sensitivity", bizsys.Sensitivities(), true)
	return s
}

func (in BusinessSystemInput) domain() bizsys.Input {
	return bizsys.Input{Name: in.Name, Description: in.Description, Owner: in.Owner, ContactID: in.ContactID,
		MLPSLevel: in.MLPSLevel, DataSensitivity: in.DataSensitivity, Confidentiality: in.Confidentiality,
		Integrity: in.Integrity, Availability: in.Availability, Version: in.Version}
}

// BusinessSystemList is a tenant's business systems.
type BusinessSystemList struct {
	Items []BusinessSystem `json:"items"`
}

// AssetSystems are the business systems of an asset and the importance
// they give it.
type AssetSystems struct {
	Systems             []BusinessSystem `json:"systems"`
	OwnImportance       int              `json:"own_importance"`
	EffectiveImportance int              `json:"effective_importance" doc:"The higher of the asset's own importance and what its systems imply"`
	RaisedBy            string           `json:"raised_by,omitempty" doc:"ID of the system that raised the importance, if any"`
}

type systemParamIn struct {
	TenantParam
	System string `path:"system" maxLength:"100" doc:"Business system ID"`
}

type systemCreateIn struct {
	TenantParam
	Body BusinessSystemInput
}

type systemUpdateIn struct {
	TenantParam
	System string `path:"system" maxLength:"100" doc:"Business system ID"`
	Body   BusinessSystemInput
}

type systemMemberIn struct {
	TenantParam
	System string `path:"system" maxLength:"100" doc:"Business system ID"`
	Asset  string `path:"asset" maxLength:"100" doc:"Asset ID"`
}

func (s *server) registerSystems() {
	if s.opts.Systems == nil {
		return
	}
	tags := []string{"assets"}
	base := "/tenants/{tenant}/systems"
	read, write := inTenant(auth.PermAssetRead), inTenant(auth.PermAssetWrite)
	register(s, read, huma.Operation{OperationID: "list-systems", Method: http.MethodGet, Path: base,
		Summary: "List a tenant's business systems", Tags: tags}, s.listSystems)
	register(s, write, huma.Operation{OperationID: "create-system", Method: http.MethodPost, Path: base,
		Summary: "Add a business system", DefaultStatus: http.StatusCreated, Tags: tags}, s.createSystem)
	register(s, read, huma.Operation{OperationID: "get-system", Method: http.MethodGet, Path: base + "/{system}",
		Summary: "Get a business system", Tags: tags}, s.getSystem)
	register(s, write, huma.Operation{OperationID: "update-system", Method: http.MethodPut, Path: base + "/{system}",
		Summary:     "Replace a business system",
		Description: "A version older than the stored one is refused with 409 Conflict.", Tags: tags}, s.updateSystem)
	register(s, write, huma.Operation{OperationID: "delete-system", Method: http.MethodDelete, Path: base + "/{system}",
		Summary: "Delete a business system", Description: "Its assets stay in the inventory.",
		DefaultStatus: http.StatusNoContent, Tags: tags}, s.deleteSystem)
	register(s, read, huma.Operation{OperationID: "list-system-members", Method: http.MethodGet, Path: base + "/{system}/members",
		Summary: "List a business system's assets", Tags: tags}, s.listSystemMembers)
	register(s, write, huma.Operation{OperationID: "add-system-member", Method: http.MethodPut, Path: base + "/{system}/members/{asset}",
		Summary: "Put an asset in a business system", Description: "Adding an asset that is already a member is no error.",
		DefaultStatus: http.StatusNoContent, Tags: tags}, s.addSystemMember)
	register(s, write, huma.Operation{OperationID: "remove-system-member", Method: http.MethodDelete, Path: base + "/{system}/members/{asset}",
		Summary: "Take an asset out of a business system", DefaultStatus: http.StatusNoContent, Tags: tags}, s.removeSystemMember)
	register(s, read, huma.Operation{OperationID: "get-asset-systems", Method: http.MethodGet, Path: "/tenants/{tenant}/assets/{asset}/systems",
		Summary: "The business systems of an asset and its effective importance", Tags: tags}, s.assetSystems)
}

func (s *server) listSystems(ctx context.Context, _ *TenantParam) (*out[BusinessSystemList], error) {
	t, err := pathTenant(ctx)
	if err != nil {
		return nil, err
	}
	bs, err := s.opts.Systems.List(ctx, t.ID)
	if err != nil {
		return nil, err
	}
	return reply(BusinessSystemList{Items: items(bs, bizsysDTO)})
}

func (s *server) createSystem(ctx context.Context, in *systemCreateIn) (*out[BusinessSystem], error) {
	t, err := pathTenant(ctx)
	if err != nil {
		return nil, err
	}
	b, err := s.opts.Systems.Create(ctx, t.ID, in.Body.domain())
	if err != nil {
		return nil, err
	}
	return reply(bizsysDTO(b))
}

func (s *server) getSystem(ctx context.Context, in *systemParamIn) (*out[BusinessSystem], error) {
	t, err := pathTenant(ctx)
	if err != nil {
		return nil, err
	}
	b, err := s.opts.Systems.Get(ctx, t.ID, in.System)
	if err != nil {
		return nil, err
	}
	return reply(bizsysDTO(b))
}

func (s *server) updateSystem(ctx context.Context, in *systemUpdateIn) (*out[BusinessSystem], error) {
	t, err := pathTenant(ctx)
	if err != nil {
		return nil, err
	}
	b, err := s.opts.Systems.Update(ctx, t.ID, in.System, in.Body.domain())
	if err != nil {
		return nil, err
	}
	return reply(bizsysDTO(b))
}

func (s *server) deleteSystem(ctx context.Context, in *systemParamIn) (*noContent, error) {
	t, err := pathTenant(ctx)
	if err != nil {
		return nil, err
	}
	return nil, s.opts.Systems.Delete(ctx, t.ID, in.System)
}

func (s *server) listSystemMembers(ctx context.Context, in *systemParamIn) (*out[AssetList], error) {
	t, err := pathTenant(ctx)
	if err != nil {
		return nil, err
	}
	as, err := s.opts.Systems.Members(ctx, t.ID, in.System)
	if err != nil {
		return nil, err
	}
	return reply(AssetList{Items: items(as, assetDTO), Total: len(as), Limit: len(as)})
}

func (s *server) addSystemMember(ctx context.Context, in *systemMemberIn) (*noContent, error) {
	t, err := pathTenant(ctx)
	if err != nil {
		return nil, err
	}
	return nil, s.opts.Systems.AddMember(ctx, t.ID, in.System, in.Asset)
}

func (s *server) removeSystemMember(ctx context.Context, in *systemMemberIn) (*noContent, error) {
	t, err := pathTenant(ctx)
	if err != nil {
		return nil, err
	}
	return nil, s.opts.Systems.RemoveMember(ctx, t.ID, in.System, in.Asset)
}

func (s *server) assetSystems(ctx context.Context, in *assetParamIn) (*out[AssetSystems], error) {
	t, err := pathTenant(ctx)
	if err != nil {
		return nil, err
	}
	a, err := s.opts.Assets.Get(ctx, t.ID, in.Asset)
	if err != nil {
		return nil, err
	}
	bs, eff, err := s.opts.Systems.SystemsOf(ctx, t.ID, a)
	if err != nil {
		return nil, err
	}
	return reply(AssetSystems{Systems: items(bs, bizsysDTO), OwnImportance: eff.Own, EffectiveImportance: eff.Importance,
		RaisedBy: eff.SystemID})
}
