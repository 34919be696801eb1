package web

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/vigil-sec/vigil/internal/asset/bizsys"
	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/store"
)

// Business systems (应用系统) live under the tenant's assets section:
// /t/{tenant}/assets/systems. The asset page shows an asset's systems and
// its effective importance (bizsysOfAsset).

// systems returns the node's business system service (Options.Systems).
func (s *server) systems() *bizsys.Service { return s.opts.Systems }

func systemsBase(t *store.Tenant) string { return "/t/" + t.Slug + "/assets/systems" }

// systemRow is a system in the list with the importance it implies.
type systemRow struct {
	store.BusinessSystem
	Implied int
}

type bizsysListPage struct {
	Base
	URL      string
	Systems  []systemRow
	CanWrite bool
}

func (s *server) bizsysList(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	t := state(r).tenant
	bs, err := s.systems().List(ctx, t.ID)
	if err != nil {
		return err
	}
	v := &bizsysListPage{URL: systemsBase(t), CanWrite: auth.FromContext(ctx).Can(auth.PermAssetWrite, t.ID)}
	for _, b := range bs {
		v.Systems = append(v.Systems, systemRow{b, bizsys.Implied(b)})
	}
	s.render(w, r, http.StatusOK, "bizsys_list", v)
	return nil
}

// bizsysFields is the system form as typed.
type bizsysFields struct {
	Name, Description, Owner, Contact, MLPS, Sensitivity, C, I, A, Version string
}

type bizsysFormPage struct {
	Base
	formState
	Action        string
	Editing       bool
	ID            string
	Form          bizsysFields
	Contacts      []store.Contact
	CanContacts   bool
	Sensitivities []string
	Levels        []int
	MLPSLevels    []int
}

func (s *server) bizsysFormView(ctx context.Context, t *store.Tenant, id string, f bizsysFields) (*bizsysFormPage, error) {
	v := &bizsysFormPage{Action: systemsBase(t), Form: f, Sensitivities: bizsys.Sensitivities(), Levels: importanceLevels(),
		MLPSLevels: []int{0, 1, 2, 3, 4, 5}, CanContacts: auth.FromContext(ctx).Can(auth.PermContactRead, t.ID)}
	if id != "" {
		v.Action, v.Editing, v.ID = v.Action+"/"+id, true, id
	}
	if v.CanContacts {
		cs, err := s.opts.Tenants.ListContacts(ctx, t.ID, store.ContactFilter{})
		if err != nil {
			return nil, err
		}
		v.Contacts = cs
	}
	return v, nil
}

func (s *server) bizsysNew(w http.ResponseWriter, r *http.Request) error {
	v, err := s.bizsysFormView(r.Context(), state(r).tenant, "", bizsysFields{Sensitivity: bizsys.SensitivityInternal,
		MLPS: "0", C: "3", I: "3", A: "3"})
	if err != nil {
		return err
	}
	s.render(w, r, http.StatusOK, "bizsys_form", v)
	return nil
}

func (s *server) bizsysEdit(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	t := state(r).tenant
	b, err := s.systems().Get(ctx, t.ID, chi.URLParam(r, "system"))
	if err != nil {
		return err
	}
	it := strconv.Itoa
	v, err := s.bizsysFormView(ctx, t, b.ID, bizsysFields{Name: b.Name, Description: b.Description, Owner: b.Owner,
		Contact: b.ContactID, MLPS: it(b.MLPSLevel), Sensitivity: b.DataSensitivity, C: it(b.Confidentiality),
		I: it(b.Integrity), A: it(b.Availability), Version: it(b.Version)})
	if err != nil {
		return err
	}
	s.render(w, r, http.StatusOK, "bizsys_form", v)
	return nil
}

// parseBizsysForm reads the form; numbers it cannot read are field errors.
func (s *server) parseBizsysForm(r *http.Request, v *bizsysFormPage) bizsys.Input {
	tag := state(r).locale
	pf := r.PostForm
	v.Form = bizsysFields{Name: pf.Get("name"), Description: pf.Get("description"), Owner: pf.Get("owner"),
		Contact: pf.Get("contact"), MLPS: pf.Get("mlps_level"), Sensitivity: pf.Get("data_sensitivity"),
		C: pf.Get("confidentiality"), I: pf.Get("integrity"), A: pf.Get("availability"), Version: pf.Get("version")}
	in := bizsys.Input{Name: v.Form.Name, Description: v.Form.Description, Owner: v.Form.Owner, ContactID: v.Form.Contact,
		DataSensitivity: v.Form.Sensitivity}
	num := func(field, val string, lo int) int {
		n, ok := atoi(val)
		if !ok || n < lo || n > 5 {
			v.fieldError(field, s.msgs.T(tag, "bizsys.error.level"))
		}
		return n
	}
	in.MLPSLevel = num("mlps_level", v.Form.MLPS, 0)
	in.Confidentiality = num("confidentiality", v.Form.C, 1)
	in.Integrity = num("integrity", v.Form.I, 1)
	in.Availability = num("availability", v.Form.A, 1)
	if v.Form.Version != "" {
		n, ok := atoi(v.Form.Version)
		if !ok || n < 1 {
			v.Error = s.msgs.T(tag, "bizsys.error.version")
		}
		in.Version = n
	}
	if strings.TrimSpace(in.Name) == "" {
		v.fieldError("name", s.msgs.T(tag, "bizsys.error.name"))
	}
	return in
}

var bizsysFormFields = []formField{{"name", "name"}, {"description", "description"}, {"owner", "owner"},
	{"contact", "contact"}, {"mlps_level", "mlps_level"}, {"data_sensitivity", "data_sensitivity"},
	{"confidentiality", "confidentiality"}, {"integrity", "integrity"}, {"availability", "availability"}}

// bizsysSave creates (id "") or updates a system from the posted form.
func (s *server) bizsysSave(w http.ResponseWriter, r *http.Request, id string) error {
	ctx := r.Context()
	t := state(r).tenant
	v, err := s.bizsysFormView(ctx, t, id, bizsysFields{})
	if err != nil {
		return err
	}
	in := s.parseBizsysForm(r, v)
	status := http.StatusUnprocessableEntity
	if !v.Invalid() {
		var b store.BusinessSystem
		if id == "" {
			b, err = s.systems().Create(ctx, t.ID, in)
		} else {
			b, err = s.systems().Update(ctx, t.ID, id, in)
		}
		if err == nil {
			flash := "created"
			if id != "" {
				flash = "saved"
			}
			redirect(w, r, systemsBase(t)+"/"+b.ID+"?ok="+flash)
			return nil
		}
		var ok bool
		if status, ok = s.formError(r, err, &v.formState, bizsysFormFields); !ok {
			return err
		}
		if errors.Is(err, store.ErrConflict) && v.Error == "" {
			v.Error = s.msgs.T(state(r).locale, "bizsys.error.conflict")
		}
	}
	s.render(w, r, status, "bizsys_form", v)
	return nil
}

func (s *server) bizsysCreate(w http.ResponseWriter, r *http.Request) error {
	return s.bizsysSave(w, r, "")
}

func (s *server) bizsysUpdate(w http.ResponseWriter, r *http.Request) error {
	return s.bizsysSave(w, r, chi.URLParam(r, "system"))
}

func (s *server) bizsysDelete(w http.ResponseWriter, r *http.Request) error {
	t := state(r).tenant
	if err := s.systems().Delete(r.Context(), t.ID, chi.URLParam(r, "system")); err != nil {
		return err
	}
	redirect(w, r, systemsBase(t)+"?ok=deleted")
	return nil
}

// bizsysPickerMax bounds the assets the member picker offers.
const bizsysPickerMax = 200

type bizsysPage struct {
	Base
	formState
	URL      string
	System   store.BusinessSystem
	Implied  int
	Contact  *store.Contact
	Members  []store.Asset
	Q        string // the picker's search text
	Choices  []store.Asset
	More     bool // the picker shows only the first bizsysPickerMax matches
	CanWrite bool
}

func (s *server) bizsysView(w http.ResponseWriter, r *http.Request) error {
	return s.bizsysShow(w, r, http.StatusOK, nil)
}

// bizsysShow renders a system with its members and the asset picker;
// fill puts a refused member change on the page.
func (s *server) bizsysShow(w http.ResponseWriter, r *http.Request, status int, fill func(*bizsysPage)) error {
	ctx := r.Context()
	t := state(r).tenant
	p := auth.FromContext(ctx)
	svc := s.systems()
	b, err := svc.Get(ctx, t.ID, chi.URLParam(r, "system"))
	if err != nil {
		return err
	}
	v := &bizsysPage{URL: systemsBase(t) + "/" + b.ID, System: b, Implied: bizsys.Implied(b),
		CanWrite: p.Can(auth.PermAssetWrite, t.ID), Q: strings.TrimSpace(r.URL.Query().Get("q"))}
	if len(v.Q) > 200 {
		v.Q = v.Q[:200]
	}
	if b.ContactID != "" && p.Can(auth.PermContactRead, t.ID) {
		if c, err := s.opts.Tenants.GetContact(ctx, t.ID, b.ContactID); err == nil {
			v.Contact = &c
		} else if !errors.Is(err, store.ErrNotFound) {
			return err
		}
	}
	if v.Members, err = svc.Members(ctx, t.ID, b.ID); err != nil {
		return err
	}
	if v.CanWrite {
		in := map[string]bool{}
		for _, a := range v.Members {
			in[a.ID] = true
		}
		list, _, err := s.opts.Assets.List(ctx, t.ID, store.AssetFilter{Query: v.Q, Page: store.Page{Limit: bizsysPickerMax + len(in)}})
		if err != nil {
			return err
		}
		for _, a := range list {
			if in[a.ID] {
				continue
			}
			if len(v.Choices) == bizsysPickerMax {
				v.More = true
				break
			}
			v.Choices = append(v.Choices, a)
		}
	}
	if fill != nil {
		fill(v)
	}
	s.render(w, r, status, "bizsys", v)
	return nil
}

func (s *server) bizsysAddMember(w http.ResponseWriter, r *http.Request) error {
	t := state(r).tenant
	id := chi.URLParam(r, "system")
	err := s.systems().AddMember(r.Context(), t.ID, id, r.PostFormValue("asset"))
	if err == nil {
		redirect(w, r, systemsBase(t)+"/"+id+"?ok=saved")
		return nil
	}
	var st formState
	status, ok := s.formError(r, err, &st, fields("asset"))
	if !ok {
		return err
	}
	return s.bizsysShow(w, r, status, func(v *bizsysPage) { v.formState = st })
}

func (s *server) bizsysRemoveMember(w http.ResponseWriter, r *http.Request) error {
	t := state(r).tenant
	id := chi.URLParam(r, "system")
	if err := s.systems().RemoveMember(r.Context(), t.ID, id, chi.URLParam(r, "asset")); err != nil {
		return err
	}
	redirect(w, r, systemsBase(t)+"/"+id+"?ok=saved")
	return nil
}

// assetSystemsView is what the asset page shows of business systems.
type assetSystemsView struct {
	URL       string // the systems list
	Systems   []systemRow
	Effective bizsys.Effective
}

// bizsysOfAsset returns the business systems of asset a and its effective
// importance for the asset page.
func (s *server) bizsysOfAsset(ctx context.Context, t *store.Tenant, a store.Asset) (assetSystemsView, error) {
	bs, eff, err := s.systems().SystemsOf(ctx, t.ID, a)
	if err != nil {
		return assetSystemsView{}, err
	}
	v := assetSystemsView{URL: systemsBase(t), Effective: eff}
	for _, b := range bs {
		v.Systems = append(v.Systems, systemRow{b, bizsys.Implied(b)})
	}
	return v, nil
}

// bizsysRoutes registers the business system pages under the tenant
// prefix t; reads need asset read, changes asset write.
func (s *server) bizsysRoutes(t string) {
	get, post := http.MethodGet, http.MethodPost
	base := t + "/assets/systems"
	read, write := inTenant(auth.PermAssetRead), inTenant(auth.PermAssetWrite)
	s.handle(get, base, read, s.bizsysList)
	s.handle(get, base+"/new", write, s.bizsysNew)
	s.handle(post, base, write, s.bizsysCreate)
	s.handle(get, base+"/{system}", read, s.bizsysView)
	s.handle(get, base+"/{system}/edit", write, s.bizsysEdit)
	s.handle(post, base+"/{system}", write, s.bizsysUpdate)
	s.handle(post, base+"/{system}/delete", write, s.bizsysDelete)
	s.handle(post, base+"/{system}/members", write, s.bizsysAddMember)
	s.handle(post, base+"/{system}/members/{asset}/delete", write, s.bizsysRemoveMember)
}

// bizsysMessageIDs are the message IDs the business system pages build
// from data or name in Go.
func bizsysMessageIDs() []string {
	ids := []string{"bizsys.error.level", "bizsys.error.version", "bizsys.error.name", "bizsys.error.conflict"}
	for _, k := range bizsys.Sensitivities() {
		ids = append(ids, "bizsys.sens."+k)
	}
	return ids
}
