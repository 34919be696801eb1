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

// Team is a group of the service provider's staff.
type Team struct {
	ID          string       `json:"id"`
	Name        string       `json:"name"`
	Kind        string       `json:"kind"`
	Description string       `json:"description"`
	CreatedAt   time.Time    `json:"created_at"`
	UpdatedAt   time.Time    `json:"updated_at"`
	Members     []TeamMember `json:"members,omitempty" doc:"Present when one team is read"`
}

func teamDTO(t store.Team) Team {
	return Team{ID: t.ID, Name: t.Name, Kind: t.Kind, Description: t.Description, CreatedAt: t.CreatedAt,
		UpdatedAt: t.UpdatedAt}
}

// TeamMember is a user in a team.
type TeamMember struct {
	UserID string `json:"user_id"`
	Lead   bool   `json:"lead"`
}

// TeamInput is what may be set on a team.
type TeamInput struct {
	Name        string `json:"name" minLength:"1" maxLength:"200"`
	Kind        string `json:"kind"`
	Description string `json:"description,omitempty" maxLength:"2000"`
}

// TransformSchema takes the kind enum from the tenant package.
func (TeamInput) TransformSchema(_ huma.Registry, s *huma.Schema) *huma.Schema {
	setEnum(s, "kind", tenant.TeamKinds(), false)
	return s
}

// TeamMemberInput sets a member's lead flag.
type TeamMemberInput struct {
	Lead bool `json:"lead,omitempty" doc:"Whether the user leads the team"`
}

// TeamList is a list of teams.
type TeamList struct {
	Items []Team `json:"items"`
}

// TeamParam names a team in a path.
type TeamParam struct {
	Team string `path:"team" maxLength:"100" doc:"Team ID"`
}

type teamBodyIn struct{ Body TeamInput }

type teamUpdateIn struct {
	TeamParam
	Body TeamInput
}

type teamMemberIn struct {
	TeamParam
	UserParam
}

type teamMemberPutIn struct {
	TeamParam
	UserParam
	Body TeamMemberInput
}

func (s *server) registerTeams() {
	tags := []string{"teams"}
	read, admin := platformWide(auth.PermTeamRead), platformWide(auth.PermUserAdmin)
	register(s, read, huma.Operation{OperationID: "list-teams", Method: http.MethodGet, Path: "/teams",
		Summary: "List teams", Tags: tags}, s.listTeams)
	register(s, admin, huma.Operation{OperationID: "create-team", Method: http.MethodPost, Path: "/teams",
		Summary: "Create a team", DefaultStatus: http.StatusCreated, Tags: tags, Errors: []int{http.StatusConflict}},
		s.createTeam)
	register(s, read, huma.Operation{OperationID: "get-team", Method: http.MethodGet, Path: "/teams/{team}",
		Summary: "Get a team and its members", Tags: tags}, s.getTeam)
	register(s, admin, huma.Operation{OperationID: "update-team", Method: http.MethodPut, Path: "/teams/{team}",
		Summary: "Replace a team", Tags: tags}, s.updateTeam)
	register(s, admin, huma.Operation{OperationID: "delete-team", Method: http.MethodDelete, Path: "/teams/{team}",
		Summary: "Delete a team", DefaultStatus: http.StatusNoContent, Tags: tags}, s.deleteTeam)
	register(s, admin, huma.Operation{OperationID: "set-team-member", Method: http.MethodPut,
		Path: "/teams/{team}/members/{user}", Summary: "Add a user to a team or change their lead flag", Tags: tags},
		s.setTeamMember)
	register(s, admin, huma.Operation{OperationID: "remove-team-member", Method: http.MethodDelete,
		Path: "/teams/{team}/members/{user}", Summary: "Remove a user from a team",
		DefaultStatus: http.StatusNoContent, Tags: tags}, s.removeTeamMember)
}

func (s *server) listTeams(ctx context.Context, _ *noInput) (*out[TeamList], error) {
	ts, err := s.opts.Tenants.ListTeams(ctx)
	if err != nil {
		return nil, err
	}
	l := TeamList{Items: items(ts, teamDTO)}
	return reply(l)
}

func (in TeamInput) domain() tenant.TeamInput {
	return tenant.TeamInput{Name: in.Name, Kind: in.Kind, Description: in.Description}
}

func (s *server) createTeam(ctx context.Context, in *teamBodyIn) (*out[Team], error) {
	t, err := s.opts.Tenants.CreateTeam(ctx, in.Body.domain())
	if err != nil {
		return nil, err
	}
	return reply(teamDTO(t))
}

func (s *server) getTeam(ctx context.Context, in *TeamParam) (*out[Team], error) {
	t, ms, err := s.opts.Tenants.GetTeam(ctx, in.Team)
	if err != nil {
		return nil, err
	}
	d := teamDTO(t)
	d.Members = make([]TeamMember, 0, len(ms))
	for _, m := range ms {
		d.Members = append(d.Members, TeamMember{UserID: m.UserID, Lead: m.Lead})
	}
	return reply(d)
}

func (s *server) updateTeam(ctx context.Context, in *teamUpdateIn) (*out[Team], error) {
	t, err := s.opts.Tenants.UpdateTeam(ctx, in.Team, in.Body.domain())
	if err != nil {
		return nil, err
	}
	return reply(teamDTO(t))
}

func (s *server) deleteTeam(ctx context.Context, in *TeamParam) (*noContent, error) {
	return nil, s.opts.Tenants.DeleteTeam(ctx, in.Team)
}

func (s *server) setTeamMember(ctx context.Context, in *teamMemberPutIn) (*out[TeamMember], error) {
	if err := s.opts.Tenants.SetTeamMember(ctx, in.Team, in.User, in.Body.Lead); err != nil {
		return nil, err
	}
	return reply(TeamMember{UserID: in.User, Lead: in.Body.Lead})
}

func (s *server) removeTeamMember(ctx context.Context, in *teamMemberIn) (*noContent, error) {
	return nil, s.opts.Tenants.RemoveTeamMember(ctx, in.Team, in.User)
}
