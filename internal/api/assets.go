package api

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/vigil-sec/vigil/internal/asset"
	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/store"
)

// Asset is a host, IP, domain, URL, service, device or application of a
// tenant.
type Asset struct {
	ID          string            `json:"id"`
	TenantID    string            `json:"tenant_id"`
	Kind        string            `json:"kind"`
	Name        string            `json:"name"`
	Address     string            `json:"address" doc:"IP, host name, URL or CIDR, depending on the kind"`
	Owner       string            `json:"owner"`
	Importance  int               `json:"importance" minimum:"1" maximum:"5" doc:"1 (low) to 5 (critical)"`
	Tags        []string          `json:"tags"`
	Description string            `json:"description"`
	Attributes  map[string]string `json:"attributes"`
	CreatedAt   time.Time         `json:"created_at"`
	UpdatedAt   time.Time         `json:"updated_at"`
	LastSeenAt  *time.Time        `json:"last_seen_at,omitempty" doc:"Absent if never observed"`
	// EffectiveImportance is filled in lists (and left out elsewhere).
	EffectiveImportance int `json:"effective_importance,omitempty" minimum:"1" maximum:"5" doc:"In lists: the higher of the asset's own importance and the highest its business systems imply"`
}

func assetDTO(a store.Asset) Asset {
	d := Asset{ID: a.ID, TenantID: a.TenantID, Kind: a.Kind, Name: a.Name, Address: a.Address, Owner: a.Owner,
		Importance: a.Importance, Tags: a.Tags, Description: a.Description, Attributes: a.Attributes,
		CreatedAt: a.CreatedAt, UpdatedAt: a.UpdatedAt, LastSeenAt: optTime(a.LastSeenAt)}
	if d.Tags == nil {
		d.Tags = []string{}
	}
	if d.Attributes == nil {
		d.Attributes = map[string]string{}
	}
	return d
}

// AssetInput is what may be set on an asset.
type AssetInput struct {
	Kind        string            `json:"kind"`
	Name        string            `json:"name,omitempty" maxLength:"200" doc:"Default: the address"`
	Address     string            `json:"address,omitempty" maxLength:"2048" doc:"Required except for hosts, devices and applications"`
	Owner       string            `json:"owner,omitempty" maxLength:"200"`
	Importance  int               `json:"importance,omitempty" minimum:"1" maximum:"5" doc:"1 (low) to 5 (critical); default 3"`
	Tags        []string          `json:"tags,omitempty" maxItems:"32" doc:"Letters, digits and . _ : / -, at most 64 characters each"`
	Description string            `json:"description,omitempty" maxLength:"4000"`
	Attributes  map[string]string `json:"attributes,omitempty" maxProperties:"64" doc:"Free-form key/value pairs"`
}

// TransformSchema takes the kind enum from the asset package.
func (AssetInput) TransformSchema(_ huma.Registry, s *huma.Schema) *huma.Schema {
	setEnum(s, "kind", asset.Kinds(), false)
	return s
}

func (in AssetInput) domain() asset.Input {
	return asset.Input{Kind: in.Kind, Name: in.Name, Address: in.Address, Owner: in.Owner,
		Importance: in.Importance, Tags: in.Tags, Description: in.Description, Attributes: in.Attributes}
}

// AssetList is one page of a tenant's assets.
type AssetList struct {
	Items  []Asset `json:"items"`
	Total  int     `json:"total" doc:"Number of assets matching the filters, on all pages"`
	Limit  int     `json:"limit"`
	Offset int     `json:"offset"`
}

type assetListIn struct {
	TenantParam
	Kind          string `query:"kind" maxLength:"50" doc:"Only assets of this kind"`
	Tag           string `query:"tag" maxLength:"64" doc:"Only assets with this tag"`
	Q             string `query:"q" maxLength:"200" doc:"Substring of the name or address"`
	MinImportance int    `query:"min_importance" minimum:"0" maximum:"5" doc:"Only assets at least this important"`
	MinEffective  int    `query:"min_effective_importance" minimum:"0" maximum:"5" doc:"Only assets whose effective importance (business systems included) is at least this"`
	Limit         int    `query:"limit" minimum:"1" maximum:"1000" default:"100" doc:"Page size"`
	Offset        int    `query:"offset" minimum:"0" doc:"Assets to skip"`
}

type assetParamIn struct {
	TenantParam
	Asset string `path:"asset" maxLength:"100" doc:"Asset ID"`
}

type assetCreateIn struct {
	TenantParam
	Body AssetInput
}

type assetUpdateIn struct {
	TenantParam
	Asset string `path:"asset" maxLength:"100" doc:"Asset ID"`
	Body  AssetInput
}

func (s *server) registerAssets() {
	tags := []string{"assets"}
	read, write := inTenant(auth.PermAssetRead), inTenant(auth.PermAssetWrite)
	register(s, read, huma.Operation{OperationID: "list-assets", Method: http.MethodGet,
		Path: "/tenants/{tenant}/assets", Summary: "List a tenant's assets",
		Description: "Returns one page of the assets matching the filters and their total count.", Tags: tags},
		s.listAssets)
	register(s, write, huma.Operation{OperationID: "create-asset", Method: http.MethodPost,
		Path: "/tenants/{tenant}/assets", Summary: "Add an asset", DefaultStatus: http.StatusCreated, Tags: tags},
		s.createAsset)
	register(s, read, huma.Operation{OperationID: "get-asset", Method: http.MethodGet,
		Path: "/tenants/{tenant}/assets/{asset}", Summary: "Get an asset", Tags: tags}, s.getAsset)
	register(s, write, huma.Operation{OperationID: "update-asset", Method: http.MethodPut,
		Path: "/tenants/{tenant}/assets/{asset}", Summary: "Replace an asset", Tags: tags}, s.updateAsset)
	register(s, write, huma.Operation{OperationID: "delete-asset", Method: http.MethodDelete,
		Path: "/tenants/{tenant}/assets/{asset}", Summary: "Delete an asset", DefaultStatus: http.StatusNoContent,
		Tags: tags}, s.deleteAsset)
}

func (s *server) listAssets(ctx context.Context, in *assetListIn) (*out[AssetList], error) {
	t, err := pathTenant(ctx)
	if err != nil {
		return nil, err
	}
	f := store.AssetFilter{Kind: in.Kind, Tag: in.Tag, Query: in.Q, MinImportance: in.MinImportance,
		MinEffective: in.MinEffective, Page: store.Page{Limit: in.Limit, Offset: in.Offset}}
	as, total, err := s.opts.Assets.List(ctx, t.ID, f)
	if err != nil {
		return nil, err
	}
	l := AssetList{Items: items(as, assetDTO), Total: total, Limit: in.Limit, Offset: in.Offset}
	if s.opts.Systems != nil {
		eff, err := s.opts.Systems.EffectiveOf(ctx, t.ID, as)
		if err != nil {
			return nil, err
		}
		for i := range l.Items {
			l.Items[i].EffectiveImportance = eff[l.Items[i].ID]
		}
	}
	return reply(l)
}

func (s *server) createAsset(ctx context.Context, in *assetCreateIn) (*out[Asset], error) {
	t, err := pathTenant(ctx)
	if err != nil {
		return nil, err
	}
	a, err := s.opts.Assets.Create(ctx, t.ID, in.Body.domain())
	if err != nil {
		return nil, err
	}
	return reply(assetDTO(a))
}

func (s *server) getAsset(ctx context.Context, in *assetParamIn) (*out[Asset], error) {
	t, err := pathTenant(ctx)
	if err != nil {
		return nil, err
	}
	a, err := s.opts.Assets.Get(ctx, t.ID, in.Asset)
	if err != nil {
		return nil, err
	}
	return reply(assetDTO(a))
}

func (s *server) updateAsset(ctx context.Context, in *assetUpdateIn) (*out[Asset], error) {
	t, err := pathTenant(ctx)
	if err != nil {
		return nil, err
	}
	a, err := s.opts.Assets.Update(ctx, t.ID, in.Asset, in.Body.domain())
	if err != nil {
		return nil, err
	}
	return reply(assetDTO(a))
}

func (s *server) deleteAsset(ctx context.Context, in *assetParamIn) (*noContent, error) {
	t, err := pathTenant(ctx)
	if err != nil {
		return nil, err
	}
	return nil, s.opts.Assets.Delete(ctx, t.ID, in.Asset)
}
