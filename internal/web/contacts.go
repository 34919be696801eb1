package web

import (
	"net/http"
	"slices"

	"github.com/go-chi/chi/v5"

	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/store"
	"github.com/vigil-sec/vigil/internal/tenant"
)

type contactsPage struct {
	Base
	URL      string
	Kind     string
	Kinds    []string
	Contacts []store.Contact
	// AssetNames maps asset IDs to names, for the "answers for" column.
	AssetNames map[string]string
	CanWrite   bool
}

func (s *server) contactList(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	t := state(r).tenant
	kind := r.URL.Query().Get("kind")
	if !slices.Contains(tenant.ContactKinds(), kind) {
		kind = ""
	}
	list, err := s.opts.Tenants.ListContacts(ctx, t.ID, store.ContactFilter{Kind: kind})
	if err != nil {
		return err
	}
	v := &contactsPage{URL: "/t/" + t.Slug + "/contacts", Kind: kind, Kinds: tenant.ContactKinds(), Contacts: list,
		CanWrite: auth.FromContext(ctx).Can(auth.PermContactWrite, t.ID), AssetNames: map[string]string{}}
	opts, err := s.assetOptions(r, t)
	if err != nil {
		return err
	}
	for _, o := range opts {
		v.AssetNames[o.ID] = o.Name
	}
	s.render(w, r, http.StatusOK, "contacts", v)
	return nil
}

// assetOption is an asset in a select box.
type assetOption struct{ ID, Name string }

// assetOptions lists the tenant's assets for a select box (empty when the
// user may not read assets).
func (s *server) assetOptions(r *http.Request, t *store.Tenant) ([]assetOption, error) {
	if !auth.FromContext(r.Context()).Can(auth.PermAssetRead, t.ID) {
		return nil, nil
	}
	list, _, err := s.opts.Assets.List(r.Context(), t.ID, store.AssetFilter{Page: store.Page{Limit: store.MaxPageSize}})
	if err != nil {
		return nil, err
	}
	opts := make([]assetOption, 0, len(list))
	for _, a := range list {
		opts = append(opts, assetOption{ID: a.ID, Name: a.Name})
	}
	return opts, nil
}

// contactFields is the contact form as typed.
type contactFields struct {
	Kind, Name, Org, Title, Phone, Email, IM, Asset, Product, Notes string
}

type contactFormPage struct {
	Base
	formState
	Action  string
	Editing bool
	ID      string
	Form    contactFields
	Kinds   []string
	Assets  []assetOption
}

func (s *server) contactFormView(r *http.Request, id string, f contactFields) (*contactFormPage, error) {
	t := state(r).tenant
	v := &contactFormPage{Action: "/t/" + t.Slug + "/contacts", Form: f, Kinds: tenant.ContactKinds()}
	if id != "" {
		v.Action, v.Editing, v.ID = v.Action+"/"+id, true, id
	}
	var err error
	v.Assets, err = s.assetOptions(r, t)
	return v, err
}

func (s *server) contactNew(w http.ResponseWriter, r *http.Request) error {
	v, err := s.contactFormView(r, "", contactFields{Kind: "security-owner", Asset: r.URL.Query().Get("asset")})
	if err != nil {
		return err
	}
	s.render(w, r, http.StatusOK, "contact_form", v)
	return nil
}

func (s *server) contactEdit(w http.ResponseWriter, r *http.Request) error {
	t := state(r).tenant
	c, err := s.opts.Tenants.GetContact(r.Context(), t.ID, chi.URLParam(r, "contact"))
	if err != nil {
		return err
	}
	v, err := s.contactFormView(r, c.ID, contactFields{Kind: c.Kind, Name: c.Name, Org: c.Org, Title: c.Title,
		Phone: c.Phone, Email: c.Email, IM: c.IM, Asset: c.AssetID, Product: c.Product, Notes: c.Notes})
	if err != nil {
		return err
	}
	s.render(w, r, http.StatusOK, "contact_form", v)
	return nil
}

// contactFormFields are the fields of the contact form.
var contactFormFields = append(fields("kind", "name", "org", "title", "phone", "email", "im", "product", "notes"),
	formField{"asset_id", "asset"})

// saveContact handles the create and edit forms (id "" creates).
func (s *server) saveContact(w http.ResponseWriter, r *http.Request, id string) error {
	t := state(r).tenant
	pf := r.PostForm
	f := contactFields{Kind: pf.Get("kind"), Name: pf.Get("name"), Org: pf.Get("org"), Title: pf.Get("title"),
		Phone: pf.Get("phone"), Email: pf.Get("email"), IM: pf.Get("im"), Asset: pf.Get("asset"),
		Product: pf.Get("product"), Notes: pf.Get("notes")}
	v, err := s.contactFormView(r, id, f)
	if err != nil {
		return err
	}
	tag := state(r).locale
	if !slices.Contains(tenant.ContactKinds(), f.Kind) {
		v.fieldError("kind", s.msgs.T(tag, "form.choose"))
	}
	if f.Name == "" {
		v.fieldError("name", s.msgs.T(tag, "form.required"))
	}
	status := http.StatusUnprocessableEntity
	if !v.Invalid() {
		in := tenant.ContactInput{Kind: f.Kind, Name: f.Name, Org: f.Org, Title: f.Title, Phone: f.Phone,
			Email: f.Email, IM: f.IM, AssetID: f.Asset, Product: f.Product, Notes: f.Notes}
		flash := "created"
		if id == "" {
			_, err = s.opts.Tenants.CreateContact(r.Context(), t.ID, in)
		} else {
			_, err = s.opts.Tenants.UpdateContact(r.Context(), t.ID, id, in)
			flash = "saved"
		}
		if err == nil {
			redirect(w, r, "/t/"+t.Slug+"/contacts?ok="+flash)
			return nil
		}
		var ok bool
		if status, ok = s.formError(r, err, &v.formState, contactFormFields); !ok {
			return err
		}
	}
	s.render(w, r, status, "contact_form", v)
	return nil
}

func (s *server) contactCreate(w http.ResponseWriter, r *http.Request) error {
	return s.saveContact(w, r, "")
}

func (s *server) contactUpdate(w http.ResponseWriter, r *http.Request) error {
	return s.saveContact(w, r, chi.URLParam(r, "contact"))
}

func (s *server) contactDelete(w http.ResponseWriter, r *http.Request) error {
	t := state(r).tenant
	if err := s.opts.Tenants.DeleteContact(r.Context(), t.ID, chi.URLParam(r, "contact")); err != nil {
		return err
	}
	redirect(w, r, "/t/"+t.Slug+"/contacts?ok=deleted")
	return nil
}
