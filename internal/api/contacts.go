package api

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/store"
	"github.com/vigil-sec/vigil/internal/tenant"
)

// Contact is a person to reach at a tenant or a vendor.
type Contact struct {
	ID        string    `json:"id"`
	TenantID  string    `json:"tenant_id"`
	Kind      string    `json:"kind"`
	Name      string    `json:"name"`
	Org       string    `json:"org"`
	Title     string    `json:"title"`
	Phone     string    `json:"phone"`
	Email     string    `json:"email"`
	IM        string    `json:"im" doc:"WeCom / DingTalk / Feishu handle"`
	AssetID   string    `json:"asset_id" doc:"Asset this contact answers for; empty for none"`
	Product   string    `json:"product" doc:"Vendor product line, for vendor support contacts"`
	Notes     string    `json:"notes"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

func contactDTO(c store.Contact) Contact {
	return Contact{ID: c.ID, TenantID: c.TenantID, Kind: c.Kind, Name: c.Name, Org: c.Org, Title: c.Title,
		Phone: c.Phone, Email: c.Email, IM: c.IM, AssetID: c.AssetID, Product: c.Product, Notes: c.Notes,
		CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt}
}

// ContactInput is what may be set on a contact.
type ContactInput struct {
	Kind    string `json:"kind"`
	Name    string `json:"name" minLength:"1" maxLength:"200"`
	Org     string `json:"org,omitempty" maxLength:"200"`
	Title   string `json:"title,omitempty" maxLength:"200"`
	Phone   string `json:"phone,omitempty" maxLength:"50"`
	Email   string `json:"email,omitempty" maxLength:"254"`
	IM      string `json:"im,omitempty" maxLength:"200"`
	AssetID string `json:"asset_id,omitempty" maxLength:"64" doc:"An asset of the same tenant"`
	Product string `json:"product,omitempty" maxLength:"200"`
	Notes   string `json:"notes,omitempty" maxLength:"4000"`
}

// TransformSchema takes the kind enum from the tenant package.
func (ContactInput) TransformSchema(_ huma.Registry, s *huma.Schema) *huma.Schema {
	setEnum(s, "kind", tenant.ContactKinds(), false)
	return s
}

func (in ContactInput) domain() tenant.ContactInput {
	return tenant.ContactInput{Kind: in.Kind, Name: in.Name, Org: in.Org, Title: in.Title, Phone: in.Phone,
		Email: in.Email, IM: in.IM, AssetID: in.AssetID, Product: in.Product, Notes: in.Notes}
}

// ContactList is a list of contacts.
type ContactList struct {
	Items []Contact `json:"items"`
}

type contactListIn struct {
	TenantParam
	Kind  string `query:"kind" maxLength:"50" doc:"Only contacts of this kind"`
	Asset string `query:"asset" maxLength:"64" doc:"Only contacts answering for this asset ID"`
}

type contactParamIn struct {
	TenantParam
	Contact string `path:"contact" maxLength:"100" doc:"Contact ID"`
}

type contactCreateIn struct {
	TenantParam
	Body ContactInput
}

type contactUpdateIn struct {
	TenantParam
	Contact string `path:"contact" maxLength:"100" doc:"Contact ID"`
	Body    ContactInput
}

func (s *server) registerContacts() {
	tags := []string{"contacts"}
	read, write := inTenant(auth.PermContactRead), inTenant(auth.PermContactWrite)
	register(s, read, huma.Operation{OperationID: "list-contacts", Method: http.MethodGet,
		Path: "/tenants/{tenant}/contacts", Summary: "List a tenant's contacts", Tags: tags}, s.listContacts)
	register(s, write, huma.Operation{OperationID: "create-contact", Method: http.MethodPost,
		Path: "/tenants/{tenant}/contacts", Summary: "Add a contact", DefaultStatus: http.StatusCreated, Tags: tags},
		s.createContact)
	register(s, read, huma.Operation{OperationID: "get-contact", Method: http.MethodGet,
		Path: "/tenants/{tenant}/contacts/{contact}", Summary: "Get a contact", Tags: tags}, s.getContact)
	register(s, write, huma.Operation{OperationID: "update-contact", Method: http.MethodPut,
		Path: "/tenants/{tenant}/contacts/{contact}", Summary: "Replace a contact", Tags: tags}, s.updateContact)
	register(s, write, huma.Operation{OperationID: "delete-contact", Method: http.MethodDelete,
		Path: "/tenants/{tenant}/contacts/{contact}", Summary: "Delete a contact", DefaultStatus: http.StatusNoContent,
		Tags: tags}, s.deleteContact)
}

func (s *server) listContacts(ctx context.Context, in *contactListIn) (*out[ContactList], error) {
	t, err := pathTenant(ctx)
	if err != nil {
		return nil, err
	}
	cs, err := s.opts.Tenants.ListContacts(ctx, t.ID, store.ContactFilter{Kind: in.Kind, AssetID: in.Asset})
	if err != nil {
		return nil, err
	}
	l := ContactList{Items: items(cs, contactDTO)}
	return reply(l)
}

func (s *server) createContact(ctx context.Context, in *contactCreateIn) (*out[Contact], error) {
	t, err := pathTenant(ctx)
	if err != nil {
		return nil, err
	}
	c, err := s.opts.Tenants.CreateContact(ctx, t.ID, in.Body.domain())
	if err != nil {
		return nil, err
	}
	return reply(contactDTO(c))
}

func (s *server) getContact(ctx context.Context, in *contactParamIn) (*out[Contact], error) {
	t, err := pathTenant(ctx)
	if err != nil {
		return nil, err
	}
	c, err := s.opts.Tenants.GetContact(ctx, t.ID, in.Contact)
	if err != nil {
		return nil, err
	}
	return reply(contactDTO(c))
}

func (s *server) updateContact(ctx context.Context, in *contactUpdateIn) (*out[Contact], error) {
	t, err := pathTenant(ctx)
	if err != nil {
		return nil, err
	}
	c, err := s.opts.Tenants.UpdateContact(ctx, t.ID, in.Contact, in.Body.domain())
	if err != nil {
		return nil, err
	}
	return reply(contactDTO(c))
}

func (s *server) deleteContact(ctx context.Context, in *contactParamIn) (*noContent, error) {
	t, err := pathTenant(ctx)
	if err != nil {
		return nil, err
	}
	return nil, s.opts.Tenants.DeleteContact(ctx, t.ID, in.Contact)
}
