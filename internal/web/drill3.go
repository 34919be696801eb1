package web

import (
	"errors"
	"net/http"
	"net/netip"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/drill"
	"github.com/vigil-sec/vigil/internal/drill/exercise"
	"github.com/vigil-sec/vigil/internal/store"
)

// Drill pages, continued: drills over several organisations (the
// participants of a drill, each with its scope; a participant's users see
// only their part) and the deletion of attack records.

// drillTenantOpt is a tenant of a drill offered in a form.
type drillTenantOpt struct {
	ID, Name string
}

// drill3View fills the multi-tenant and deletion parts of the drill page.
func drill3View(d *exercise.Drill, v *drillPage) {
	v.Shared = d.Shared()
	if v.Shared {
		v.CanWrite = false
	}
	if len(d.Participants) > 0 && !v.Shared {
		for _, tid := range d.Tenants() {
			v.TenantOpts = append(v.TenantOpts, drillTenantOpt{ID: tid, Name: d.TenantName(tid)})
		}
	}
	v.CanDeleteRecord = v.CanWrite && d.State != drill.StateFinished
}

// parseScopeEntries sorts one participant's entries into a scope: an
// address or CIDR, "asset:ID" for an asset, anything else a host; a
// leading "!" excludes the entry.
func parseScopeEntries(entries []string) drill.Scope {
	var sc drill.Scope
	for _, e := range entries {
		exclude := false
		if rest, ok := strings.CutPrefix(e, "!"); ok {
			exclude, e = true, strings.TrimSpace(rest)
		}
		if e == "" {
			continue
		}
		_, perr := netip.ParsePrefix(e)
		_, aerr := netip.ParseAddr(e)
		switch id, isAsset := strings.CutPrefix(e, "asset:"); {
		case isAsset && exclude:
			sc.ExcludeAssetIDs = append(sc.ExcludeAssetIDs, strings.TrimSpace(id))
		case isAsset:
			sc.AssetIDs = append(sc.AssetIDs, strings.TrimSpace(id))
		case (perr == nil || aerr == nil) && exclude:
			sc.ExcludeCIDRs = append(sc.ExcludeCIDRs, e)
		case perr == nil || aerr == nil:
			sc.CIDRs = append(sc.CIDRs, e)
		case exclude:
			sc.ExcludeHosts = append(sc.ExcludeHosts, e)
		default:
			sc.Hosts = append(sc.Hosts, e)
		}
	}
	return sc
}

// maxParticipantLines bounds the participants textarea.
const maxParticipantLines = drill.MaxParticipants

// parseParticipants reads one participant per line: "organisation |
// entry, entry, …" (organisation by its short name or ID).
func (s *server) parseParticipants(r *http.Request, text string) ([]drill.Participant, error) {
	var out []drill.Participant
	for i, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		if len(out) >= maxParticipantLines {
			return nil, store.NewFieldError("participants", store.CodeTooMany, map[string]any{"max": maxParticipantLines},
				"at most %d organisations", maxParticipantLines)
		}
		ref, entries, ok := strings.Cut(line, "|")
		if !ok {
			return nil, store.NewFieldError("participants", store.CodeOneOf, nil, "line %d: write organisation | scope entries", i+1)
		}
		t, err := s.drillTenant(r, strings.TrimSpace(ref))
		if err != nil {
			return nil, err
		}
		out = append(out, drill.Participant{TenantID: t, Scope: parseScopeEntries(drillLines(entries))})
	}
	return out, nil
}

// drillTenant resolves an organisation the user may see by short name or
// ID.
func (s *server) drillTenant(r *http.Request, ref string) (string, error) {
	t, err := s.opts.Tenants.ResolveTenant(r.Context(), ref)
	if errors.Is(err, store.ErrNotFound) {
		return "", store.NewFieldError("participants", store.CodeOneOf, nil, "there is no organisation %q", clipText(strings.ToValidUTF8(ref, "?"), 80))
	}
	return t.ID, err
}

// resolveTeamTenants turns the organisations named on defending teams
// into tenant IDs.
func (s *server) resolveTeamTenants(r *http.Request, teams []drill.Team) error {
	for i := range teams {
		if teams[i].TenantID == "" {
			continue
		}
		id, err := s.drillTenant(r, teams[i].TenantID)
		if err != nil {
			return err
		}
		teams[i].TenantID = id
	}
	return nil
}

// drillRecordDelete removes an attack record with its evidence files.
func (s *server) drillRecordDelete(w http.ResponseWriter, r *http.Request) error {
	err := s.opts.Drills.DeleteRecord(r.Context(), state(r).tenant.ID, chi.URLParam(r, "drill"), chi.URLParam(r, "record"))
	if errors.Is(err, auth.ErrForbidden) || errors.Is(err, store.ErrNotFound) {
		return err
	}
	return s.drillDone(w, r, err, "deleted")
}
