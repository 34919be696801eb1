package web

import (
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/intel/desk"
	"github.com/vigil-sec/vigil/internal/intel/hunt"
	"github.com/vigil-sec/vigil/internal/store"
)

// Analyst advisories: early warnings the SOC writes itself (a product's
// new vulnerability before any feed has it, a campaign seen at one
// customer), matched against every tenant once published. The pages are
// the SOC's, outside any tenant: drafts are seen by the staff only.

type advisoriesPage struct {
	Base
	Advisories []desk.AnalystAdvisory
	State      string
	States     []string
}

type advisoryPage struct {
	Base
	A          desk.AnalystAdvisory // empty ID: a new advisory
	Form       advisoryForm
	Severities []string
	// Matches are the tenants the user may see that the advisory
	// concerns, with what it matched there.
	Matches []advisoryTenantMatch
	Invalid bool
	Error   string
}

type advisoryTenantMatch struct {
	Tenant store.Tenant
	Match  hunt.AdvisoryMatch
}

// advisoryForm is the form as typed, kept when it is refused.
type advisoryForm struct {
	Title, Severity, Description, Action, CVEs, Affected string
	Version                                              int
}

var advisoryStates = []string{desk.StateDraft, desk.StatePublished, desk.StateWithdrawn}

func (s *server) registerAdvisories() {
	if s.opts.Intel == nil {
		return
	}
	get, post := http.MethodGet, http.MethodPost
	s.handle(get, "/advisories", signedIn(), s.advisoryList)
	s.handle(get, "/advisories/new", signedIn(), s.advisoryNew)
	s.handle(post, "/advisories", signedIn(), s.advisorySave)
	s.handle(get, "/advisories/{advisory}", signedIn(), s.advisoryView)
	s.handle(post, "/advisories/{advisory}", signedIn(), s.advisorySave)
	s.handle(post, "/advisories/{advisory}/state", signedIn(), s.advisoryState)
}

func (s *server) advisoryList(w http.ResponseWriter, r *http.Request) error {
	st := r.URL.Query().Get("state")
	if st != "" && !slices.Contains(advisoryStates, st) {
		st = ""
	}
	list, err := s.opts.Intel.AnalystAdvisories(r.Context(), st, store.Page{Limit: 200})
	if err != nil {
		return err
	}
	s.render(w, r, http.StatusOK, "advisories", &advisoriesPage{Advisories: list, State: st, States: advisoryStates})
	return nil
}

func (s *server) advisoryNew(w http.ResponseWriter, r *http.Request) error {
	if !desk.CanWriteAdvisories(r.Context()) {
		return auth.ErrForbidden
	}
	s.render(w, r, http.StatusOK, "advisory", &advisoryPage{Form: advisoryForm{Severity: "high"}, Severities: warningSeverities()})
	return nil
}

func (s *server) advisoryView(w http.ResponseWriter, r *http.Request) error {
	a, err := s.opts.Intel.AnalystAdvisory(r.Context(), chi.URLParam(r, "advisory"))
	if err != nil {
		return err
	}
	v := &advisoryPage{A: a, Form: formOf(a), Severities: warningSeverities()}
	if v.Matches, err = s.advisoryMatches(r, a.Advisory); err != nil {
		return err
	}
	s.render(w, r, http.StatusOK, "advisory", v)
	return nil
}

// advisoryMatches matches the advisory against every tenant the user may
// read findings and assets of, so the analyst sees whom it concerns
// before publishing.
func (s *server) advisoryMatches(r *http.Request, adv hunt.Advisory) ([]advisoryTenantMatch, error) {
	if err := adv.Check(); err != nil {
		return nil, nil // a stored advisory that no longer checks matches nothing
	}
	ts, err := s.opts.Tenants.ListTenants(r.Context())
	if err != nil {
		return nil, err
	}
	p := auth.FromContext(r.Context())
	var out []advisoryTenantMatch
	for _, t := range ts {
		if t.Disabled || !p.Can(auth.PermAssetRead, t.ID) {
			continue
		}
		m, err := s.opts.Intel.Preview(r.Context(), t.ID, adv)
		if err != nil {
			return nil, err
		}
		if len(m.Assets) > 0 || len(m.Findings) > 0 {
			out = append(out, advisoryTenantMatch{Tenant: t, Match: m})
		}
	}
	return out, nil
}

func formOf(a desk.AnalystAdvisory) advisoryForm {
	f := advisoryForm{Title: a.Advisory.Title, Severity: a.Advisory.Severity, Description: a.Advisory.Description,
		Action: a.Advisory.Action, CVEs: strings.Join(a.Advisory.CVEs, " "), Version: a.Version}
	lines := make([]string, 0, len(a.Advisory.Affected))
	for _, af := range a.Advisory.Affected {
		line := af.Vendor + " | " + af.Product + " | " + af.Versions
		if af.Scheme != "" && af.Scheme != hunt.SchemeDotted {
			line += " | " + string(af.Scheme)
		}
		lines = append(lines, line)
	}
	f.Affected = strings.Join(lines, "\n")
	return f
}

// maxAffectedLines bounds the affected-products field before parsing;
// the advisory check bounds it again.
const maxAffectedLines = 200

// parseAffected reads "vendor | product | versions [| scheme]" lines.
func parseAffected(text string) ([]hunt.Affected, error) {
	var out []hunt.Affected
	for i, line := range strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		if len(out) >= maxAffectedLines {
			return nil, store.NewFieldError("affected", store.CodeTooMany, map[string]any{"max": maxAffectedLines}, "at most %d products", maxAffectedLines)
		}
		parts := strings.Split(line, "|")
		if len(parts) < 2 || len(parts) > 4 {
			return nil, store.NewFieldError("affected", store.CodeInvalidAttribute, nil,
				"line %d: write vendor | product | versions, optionally | debian", i+1)
		}
		af := hunt.Affected{Vendor: strings.TrimSpace(parts[0]), Product: strings.TrimSpace(parts[1])}
		if len(parts) > 2 {
			af.Versions = strings.TrimSpace(parts[2])
		}
		if len(parts) > 3 {
			af.Scheme = hunt.Scheme(strings.TrimSpace(parts[3]))
		}
		out = append(out, af)
	}
	return out, nil
}

func (s *server) advisorySave(w http.ResponseWriter, r *http.Request) error {
	if !desk.CanWriteAdvisories(r.Context()) {
		return auth.ErrForbidden
	}
	id := chi.URLParam(r, "advisory")
	f := advisoryForm{Title: r.PostFormValue("title"), Severity: r.PostFormValue("severity"), Description: r.PostFormValue("description"),
		Action: r.PostFormValue("action"), CVEs: r.PostFormValue("cves"), Affected: r.PostFormValue("affected")}
	f.Version, _ = strconv.Atoi(r.PostFormValue("version"))
	v := &advisoryPage{Form: f, Severities: warningSeverities()}
	if id != "" {
		a, err := s.opts.Intel.AnalystAdvisory(r.Context(), id)
		if err != nil {
			return err
		}
		v.A = a
	}
	affected, err := parseAffected(f.Affected)
	if err == nil {
		cves := strings.FieldsFunc(f.CVEs, func(r rune) bool { return r == ',' || r == ';' || r == ' ' || r == '\n' || r == '\r' || r == '\t' })
		var a desk.AnalystAdvisory
		a, err = s.opts.Intel.WriteAdvisory(r.Context(), id, f.Version, desk.AdvisoryInput{Title: f.Title, Severity: f.Severity,
			Description: f.Description, Action: f.Action, CVEs: cves, Affected: affected})
		if err == nil {
			redirect(w, r, "/advisories/"+a.ID+"?ok=saved")
			return nil
		}
	}
	if !errors.Is(err, store.ErrInvalid) && !errors.Is(err, store.ErrConflict) {
		return err
	}
	// Refused: the form comes back as typed, with the reason.
	v.Invalid, v.Error = true, userMessage(err)
	s.render(w, r, http.StatusUnprocessableEntity, "advisory", v)
	return nil
}

func (s *server) advisoryState(w http.ResponseWriter, r *http.Request) error {
	version, err := strconv.Atoi(r.PostFormValue("version"))
	if err != nil {
		return store.NewFieldError("version", store.CodeRequired, nil, "the form lacks the advisory's version")
	}
	a, err := s.opts.Intel.SetAdvisoryState(r.Context(), chi.URLParam(r, "advisory"), version, r.PostFormValue("state"))
	if err != nil {
		return err
	}
	redirect(w, r, "/advisories/"+a.ID+"?ok=saved")
	return nil
}

// warningSeverities are the levels an advisory, notice or escalation rule
// takes, most severe first.
func warningSeverities() []string { return []string{"critical", "high", "medium", "low"} }

// userMessage is an input error's text for the form: what the user can
// fix, without the class prefix.
func userMessage(err error) string {
	msg := err.Error()
	for _, p := range []string{store.ErrInvalid.Error() + ": ", "update advisory: "} {
		msg = strings.TrimPrefix(msg, p)
	}
	return msg
}
