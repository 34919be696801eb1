package web

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/vigil-sec/vigil/internal/asset"
	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/store"
)

// assetPageSize is the number of assets per list page.
const assetPageSize = 25

// assetFilter is the filter bar of the asset list, as typed.
type assetFilter struct {
	Kind string
	Tag  string
	Q    string
	Min  int
	// MinEff filters on the effective importance (business systems
	// included).
	MinEff int
}

type assetsPage struct {
	Base
	URL    string // the list's path, target of the filter form
	Filter assetFilter
	Kinds  []string
	Levels []int
	Assets []store.Asset
	// Effective is each listed asset's effective importance, by ID.
	Effective map[string]int
	Pager     pager
	CanWrite  bool
}

// assetList lists a tenant's assets. htmx requests from the filter form
// (search as you type) get only the result table.
func (s *server) assetList(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	t := state(r).tenant
	q := r.URL.Query()
	f := assetFilter{Kind: q.Get("kind"), Tag: strings.TrimSpace(q.Get("tag")), Q: strings.TrimSpace(q.Get("q"))}
	if !slices.Contains(asset.Kinds(), f.Kind) {
		f.Kind = ""
	}
	if n, ok := atoi(q.Get("min")); ok && n >= 1 && n <= 5 {
		f.Min = n
	}
	if n, ok := atoi(q.Get("min_eff")); ok && n >= 1 && n <= 5 {
		f.MinEff = n
	}
	if len(f.Q) > 200 {
		f.Q = f.Q[:200]
	}
	pg := pageParam(q)
	v := &assetsPage{URL: "/t/" + t.Slug + "/assets", Filter: f, Kinds: asset.Kinds(), Levels: importanceLevels(),
		CanWrite: auth.FromContext(ctx).Can(auth.PermAssetWrite, t.ID)}
	list, total, err := s.opts.Assets.List(ctx, t.ID, store.AssetFilter{Kind: f.Kind, Tag: f.Tag, Query: f.Q,
		MinImportance: f.Min, MinEffective: f.MinEff, Page: store.Page{Limit: assetPageSize, Offset: (pg - 1) * assetPageSize}})
	if err != nil {
		return err
	}
	v.Assets = list
	if v.Effective, err = s.systems().EffectiveOf(ctx, t.ID, list); err != nil {
		return err
	}
	v.Pager = newPager(total, pg, assetPageSize, func(n int) string {
		return withQuery(v.URL, url.Values{"kind": {f.Kind}, "tag": {f.Tag}, "q": {f.Q},
			"min": {minParam(f.Min)}, "min_eff": {minParam(f.MinEff)}, "page": {strconv.Itoa(n)}})
	})
	w.Header().Add("Vary", "HX-Request")
	if r.Header.Get("HX-Request") == "true" && r.Header.Get("HX-Target") == "asset-results" {
		s.renderPartial(w, r, "assets", "asset_results", v)
		return nil
	}
	s.render(w, r, http.StatusOK, "assets", v)
	return nil
}

func minParam(n int) string {
	if n == 0 {
		return ""
	}
	return strconv.Itoa(n)
}

// assetFields is the asset form as typed.
type assetFields struct {
	Kind, Name, Address, Owner, Importance, Tags, Description, Attributes string
}

type assetFormPage struct {
	Base
	formState
	Action  string
	Editing bool
	ID      string
	Form    assetFields
	Kinds   []string
	Levels  []int
}

func (s *server) assetFormView(t *store.Tenant, id string, f assetFields) *assetFormPage {
	v := &assetFormPage{Action: "/t/" + t.Slug + "/assets", Form: f, Kinds: asset.Kinds(), Levels: importanceLevels()}
	if id != "" {
		v.Action, v.Editing, v.ID = v.Action+"/"+id, true, id
	}
	return v
}

func (s *server) assetNew(w http.ResponseWriter, r *http.Request) error {
	v := s.assetFormView(state(r).tenant, "", assetFields{Kind: "host", Importance: "3"})
	s.render(w, r, http.StatusOK, "asset_form", v)
	return nil
}

func (s *server) assetEdit(w http.ResponseWriter, r *http.Request) error {
	t := state(r).tenant
	a, err := s.opts.Assets.Get(r.Context(), t.ID, chi.URLParam(r, "asset"))
	if err != nil {
		return err
	}
	var attrs []string
	for k, val := range a.Attributes {
		attrs = append(attrs, k+"="+val)
	}
	slices.Sort(attrs)
	f := assetFields{Kind: a.Kind, Name: a.Name, Address: a.Address, Owner: a.Owner,
		Importance: strconv.Itoa(a.Importance), Tags: strings.Join(a.Tags, ", "), Description: a.Description,
		Attributes: strings.Join(attrs, "\n")}
	s.render(w, r, http.StatusOK, "asset_form", s.assetFormView(t, a.ID, f))
	return nil
}

// parseAssetForm reads the asset form; field errors the UI can tell on
// its own are put on the page.
func (s *server) parseAssetForm(r *http.Request, v *assetFormPage) asset.Input {
	tag := state(r).locale
	pf := r.PostForm
	v.Form = assetFields{Kind: pf.Get("kind"), Name: pf.Get("name"), Address: pf.Get("address"), Owner: pf.Get("owner"),
		Importance: pf.Get("importance"), Tags: pf.Get("tags"), Description: pf.Get("description"),
		Attributes: pf.Get("attributes")}
	in := asset.Input{Kind: v.Form.Kind, Name: v.Form.Name, Address: v.Form.Address, Owner: v.Form.Owner,
		Tags: splitList(v.Form.Tags), Description: v.Form.Description, Attributes: map[string]string{}}
	if !slices.Contains(asset.Kinds(), in.Kind) {
		v.fieldError("kind", s.msgs.T(tag, "form.choose"))
	}
	if strings.TrimSpace(in.Name) == "" && strings.TrimSpace(in.Address) == "" {
		v.fieldError("name", s.msgs.T(tag, "assets.error.name_or_address"))
	}
	n, ok := atoi(v.Form.Importance)
	if !ok || n < 1 || n > 5 {
		v.fieldError("importance", s.msgs.T(tag, "assets.error.importance"))
	}
	in.Importance = n
	for _, line := range strings.Split(v.Form.Attributes, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		k, val, found := strings.Cut(line, "=")
		if !found || strings.TrimSpace(k) == "" {
			v.fieldError("attributes", s.msgs.T(tag, "assets.error.attributes"))
			continue
		}
		in.Attributes[strings.TrimSpace(k)] = strings.TrimSpace(val)
	}
	return in
}

// assetFormFields are the fields of the asset form.
var assetFormFields = fields("kind", "name", "address", "owner", "importance", "tags", "description", "attributes")

func (s *server) assetCreate(w http.ResponseWriter, r *http.Request) error {
	t := state(r).tenant
	v := s.assetFormView(t, "", assetFields{})
	in := s.parseAssetForm(r, v)
	status := http.StatusUnprocessableEntity
	if !v.Invalid() {
		a, err := s.opts.Assets.Create(r.Context(), t.ID, in)
		if err == nil {
			redirect(w, r, "/t/"+t.Slug+"/assets/"+a.ID+"?ok=created")
			return nil
		}
		var ok bool
		if status, ok = s.formError(r, err, &v.formState, assetFormFields); !ok {
			return err
		}
	}
	s.render(w, r, status, "asset_form", v)
	return nil
}

func (s *server) assetUpdate(w http.ResponseWriter, r *http.Request) error {
	t := state(r).tenant
	id := chi.URLParam(r, "asset")
	v := s.assetFormView(t, id, assetFields{})
	in := s.parseAssetForm(r, v)
	status := http.StatusUnprocessableEntity
	if !v.Invalid() {
		a, err := s.opts.Assets.Update(r.Context(), t.ID, id, in)
		if err == nil {
			redirect(w, r, "/t/"+t.Slug+"/assets/"+a.ID+"?ok=saved")
			return nil
		}
		var ok bool
		if status, ok = s.formError(r, err, &v.formState, assetFormFields); !ok {
			return err
		}
	}
	s.render(w, r, status, "asset_form", v)
	return nil
}

func (s *server) assetDelete(w http.ResponseWriter, r *http.Request) error {
	t := state(r).tenant
	if err := s.opts.Assets.Delete(r.Context(), t.ID, chi.URLParam(r, "asset")); err != nil {
		return err
	}
	redirect(w, r, "/t/"+t.Slug+"/assets?ok=deleted")
	return nil
}

// keyValue is one attribute row.
type keyValue struct{ Key, Value string }

type assetPage struct {
	Base
	Asset       store.Asset
	Attributes  []keyValue
	CanWrite    bool
	CanContacts bool
	// CanContactWrite shows the link to add a contact for the asset.
	CanContactWrite bool
	Contacts        []store.Contact
	// Systems are the asset's business systems and effective importance.
	Systems assetSystemsView
}

func (s *server) assetView(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	t := state(r).tenant
	p := auth.FromContext(ctx)
	a, err := s.opts.Assets.Get(ctx, t.ID, chi.URLParam(r, "asset"))
	if err != nil {
		return err
	}
	v := &assetPage{Asset: a, CanWrite: p.Can(auth.PermAssetWrite, t.ID), CanContacts: p.Can(auth.PermContactRead, t.ID),
		CanContactWrite: p.Can(auth.PermContactWrite, t.ID)}
	for k, val := range a.Attributes {
		v.Attributes = append(v.Attributes, keyValue{k, val})
	}
	slices.SortFunc(v.Attributes, func(x, y keyValue) int { return strings.Compare(x.Key, y.Key) })
	if v.CanContacts {
		if v.Contacts, err = s.opts.Tenants.ListContacts(ctx, t.ID, store.ContactFilter{AssetID: a.ID}); err != nil {
			return err
		}
	}
	if v.Systems, err = s.bizsysOfAsset(ctx, t, a); err != nil {
		return err
	}
	s.render(w, r, http.StatusOK, "asset", v)
	return nil
}
