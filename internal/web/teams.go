package web

import (
	"net/http"
	"slices"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/store"
	"github.com/vigil-sec/vigil/internal/tenant"
)

type teamsPage struct {
	Base
	List     []store.Team
	CanWrite bool
}

func (s *server) teamList(w http.ResponseWriter, r *http.Request) error {
	ts, err := s.opts.Tenants.ListTeams(r.Context())
	if err != nil {
		return err
	}
	slices.SortFunc(ts, func(a, b store.Team) int { return strings.Compare(a.Name, b.Name) })
	s.render(w, r, http.StatusOK, "teams", &teamsPage{List: ts,
		CanWrite: auth.FromContext(r.Context()).Can(auth.PermUserAdmin, "")})
	return nil
}

// teamFields is the team form as typed.
type teamFields struct{ Name, Kind, Description string }

// teamFormFields are the fields of the team form.
var teamFormFields = fields("name", "kind", "description")

type teamFormPage struct {
	Base
	formState
	Form  teamFields
	Kinds []string
}

func (s *server) teamNew(w http.ResponseWriter, r *http.Request) error {
	s.render(w, r, http.StatusOK, "team_form", &teamFormPage{Form: teamFields{Kind: "monitoring-desk"}, Kinds: tenant.TeamKinds()})
	return nil
}

func teamInput(r *http.Request) teamFields {
	pf := r.PostForm
	return teamFields{Name: pf.Get("name"), Kind: pf.Get("kind"), Description: pf.Get("description")}
}

func (s *server) teamCreate(w http.ResponseWriter, r *http.Request) error {
	f := teamInput(r)
	v := &teamFormPage{Form: f, Kinds: tenant.TeamKinds()}
	if strings.TrimSpace(f.Name) == "" {
		v.fieldError("name", s.msgs.T(state(r).locale, "form.required"))
		s.render(w, r, http.StatusUnprocessableEntity, "team_form", v)
		return nil
	}
	t, err := s.opts.Tenants.CreateTeam(r.Context(), tenant.TeamInput{Name: f.Name, Kind: f.Kind, Description: f.Description})
	if err == nil {
		redirect(w, r, "/admin/teams/"+t.ID+"?ok=created")
		return nil
	}
	status, ok := s.formError(r, err, &v.formState, teamFormFields)
	if !ok {
		return err
	}
	s.render(w, r, status, "team_form", v)
	return nil
}

type teamMemberRow struct {
	UserID, Name string
	Lead         bool
}

type teamPage struct {
	Base
	Team     store.Team
	Members  []teamMemberRow
	CanWrite bool
	Form     teamFields
	Kinds    []string
	Edit     formState
	// Users are those who may be added (user admins only).
	Users []store.User
}

func (s *server) teamView(r *http.Request, id string) (*teamPage, error) {
	ctx := r.Context()
	t, ms, err := s.opts.Tenants.GetTeam(ctx, id)
	if err != nil {
		return nil, err
	}
	v := &teamPage{Team: t, Kinds: tenant.TeamKinds(), Form: teamFields{Name: t.Name, Kind: t.Kind, Description: t.Description},
		CanWrite: auth.FromContext(ctx).Can(auth.PermUserAdmin, "")}
	names := map[string]string{}
	in := map[string]bool{}
	if v.CanWrite {
		us, err := s.opts.Tenants.ListUsers(ctx)
		if err != nil {
			return nil, err
		}
		for _, m := range ms {
			in[m.UserID] = true
		}
		for _, u := range us {
			names[u.ID] = u.Username
			if !in[u.ID] && !u.Disabled {
				v.Users = append(v.Users, u)
			}
		}
	}
	for _, m := range ms {
		name := names[m.UserID]
		if name == "" {
			name = m.UserID
		}
		v.Members = append(v.Members, teamMemberRow{UserID: m.UserID, Name: name, Lead: m.Lead})
	}
	slices.SortFunc(v.Members, func(a, b teamMemberRow) int { return strings.Compare(a.Name, b.Name) })
	return v, nil
}

func (s *server) teamEdit(w http.ResponseWriter, r *http.Request) error {
	v, err := s.teamView(r, chi.URLParam(r, "team"))
	if err != nil {
		return err
	}
	s.render(w, r, http.StatusOK, "team", v)
	return nil
}

func (s *server) teamUpdate(w http.ResponseWriter, r *http.Request) error {
	id := chi.URLParam(r, "team")
	v, err := s.teamView(r, id)
	if err != nil {
		return err
	}
	v.Form = teamInput(r)
	_, err = s.opts.Tenants.UpdateTeam(r.Context(), id, tenant.TeamInput{Name: v.Form.Name, Kind: v.Form.Kind, Description: v.Form.Description})
	if err == nil {
		redirect(w, r, "/admin/teams/"+id+"?ok=saved")
		return nil
	}
	status, ok := s.formError(r, err, &v.Edit, teamFormFields)
	if !ok {
		return err
	}
	s.render(w, r, status, "team", v)
	return nil
}

func (s *server) teamDelete(w http.ResponseWriter, r *http.Request) error {
	if err := s.opts.Tenants.DeleteTeam(r.Context(), chi.URLParam(r, "team")); err != nil {
		return err
	}
	redirect(w, r, "/admin/teams?ok=deleted")
	return nil
}

func (s *server) teamMemberSet(w http.ResponseWriter, r *http.Request) error {
	id := chi.URLParam(r, "team")
	err := s.opts.Tenants.SetTeamMember(r.Context(), id, r.PostForm.Get("user"), r.PostForm.Get("lead") != "")
	if err != nil {
		return err
	}
	redirect(w, r, "/admin/teams/"+id+"?ok=member_added")
	return nil
}

func (s *server) teamMemberRemove(w http.ResponseWriter, r *http.Request) error {
	id := chi.URLParam(r, "team")
	if err := s.opts.Tenants.RemoveTeamMember(r.Context(), id, chi.URLParam(r, "user")); err != nil {
		return err
	}
	redirect(w, r, "/admin/teams/"+id+"?ok=member_removed")
	return nil
}
