package web

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"path"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/httpmw"
	"github.com/vigil-sec/vigil/internal/store"
)

//go:embed templates
var templateFS embed.FS

// views holds the compiled page templates of every locale. Each page is
// its own template set (layout, partials and the page), compiled once per
// locale with that locale's translation functions bound, so rendering
// needs no per-request cloning.
type views struct {
	pages map[string]map[string]*template.Template // locale -> page -> set
}

// page is a view model: every page's model embeds Base.
type page interface{ base() *Base }

func (b *Base) base() *Base { return b }

// pagePrototypes maps each page template to a zero value of its view
// model. New executes every page with it to surface template errors.
func pagePrototypes() map[string]page {
	return map[string]page{
		"login": &loginPage{}, "error": &errorPage{}, "home": &homePage{},
		"account": &accountPage{}, "password": &passwordPage{}, "dashboard": &dashboardPage{},
		"assets": &assetsPage{}, "asset_form": &assetFormPage{}, "asset": &assetPage{},
		"contacts": &contactsPage{}, "contact_form": &contactFormPage{},
		"services": &servicesPage{}, "service_form": &serviceFormPage{},
		"tokens": &tokensPage{}, "audit": &auditPage{},
		"tenants": &tenantsPage{}, "tenant_form": &tenantFormPage{},
		"users": &usersPage{}, "user_new": &userNewPage{}, "user": &userPage{},
		"teams": &teamsPage{}, "team_form": &teamFormPage{}, "team": &teamPage{},
		"coming": &comingPage{}, "reviews": &reviewsPage{}, "review": &reviewPage{},
		"vulns": &vulnsPage{}, "vuln": &vulnPage{}, "vulnopenvas": &openVASPage{}, "reports": &reportsPage{}, "discovery": &discoveryPage{}, "discovery_run": &discoveryRunPage{},
		"events": &eventsPage{}, "event": &eventPage{}, "alerts": &alertsPage{}, "alert": &alertPage{}, "channels": &channelsPage{}, "compromise": &compromisePage{}, "compromise_run": &compromiseRunPage{},
		"wall": &wallPage{}, "incidents": &incidentsPage{}, "incident": &incidentPage{}, "notices": &noticesPage{},
		"assessments": &assessmentsPage{}, "assessment": &assessmentPage{},
		"risks": &risksPage{}, "risk": &riskPage{}, "remediations": &remediationsPage{}, "remediation": &remediationPage{}, "assessment_prefill": &prefillPage{},
		"compliance3_entry": &riskEntryPage{}, "compliance3_objects": &assessmentObjectsPage{}, "compliance3_library": &standardsPage{}, "compliance3_standard": &standardPage{}, "compliance3_inspections": &inspectionsPage{}, "compliance3_inspection": &inspectionPage{},
		"compliance4_campaign": &inspectionCampaignPage{}, "compliance4_supervision": &supervisionPage{},
		"compliance5_commissions": &commissionsPage{}, "compliance5_commission": &commissionPage{},
		"drills": &drillsPage{}, "drill": &drillPage{},
		"golives": &campaignsPage{}, "keyperiods": &campaignsPage{}, "golive": &campaignPage{}, "keyperiod": &campaignPage{}, "keyperiod_calendar": &calendarPage{},
		"baseline": &baselineOverviewPage{}, "baseline_asset": &baselineAssetPage{}, "baseline_run": &baselineRunPage{}, "baseline_diff": &baselineDiffPage{}, "baseline_hardening": &hardeningPage{}, "baseline_schedules": &baselineSchedulesPage{}, "baseline_manual": &baselineManualPage{},
		"traffic": &trafficPage{}, "traffic_analysis": &trafficAnalysisPage{}, "traffic_finding": &trafficFindingPage{}, "traffic_settings": &trafficSettingsPage{},
		"intel": &intelPage{}, "escalation": &escalationPage{}, "ack": &ackPage{}, "ops": &opsPage{}, "ops_order": &opsOrderPage{},
		"desk": &deskPage{}, "desk_notices": &noticesListPage{}, "desk_notice": &noticeStatusPage{}, "desk_digest": &digestPage{}, "digest_preview": &digestPreviewPage{}, "notify_preview": &notifyPreviewPage{}, "notice_ack": &noticeAckPage{},
		"advisories": &advisoriesPage{}, "advisory": &advisoryPage{}, "agents": &agentsPage{},
		"bizsys_list": &bizsysListPage{}, "bizsys_form": &bizsysFormPage{}, "bizsys": &bizsysPage{},
		"devices_om": &devicesPage{}, "device_om": &devicePage{}, "device_om_form": &deviceFormPage{}, "device_om_backup": &deviceBackupPage{},
		"rules": &rulesPage{},
	}
}

// messageRefREs find the literal message IDs a template translates: T
// "id", hint "id" and the label of field ERRORS "name" "id".
var messageRefREs = []*regexp.Regexp{
	regexp.MustCompile(`\b(?:T|hint)\s+"([^"]+)"`),
	regexp.MustCompile(`\bfield\s+\S+\s+"[^"]+"\s+"([^"]+)"`),
}

// loadViews parses and checks every template for every locale.
func loadViews(c *catalog, st *staticFiles) (*views, error) {
	v := &views{pages: map[string]map[string]*template.Template{}}
	protos := pagePrototypes()
	pageFiles, err := fs.Glob(templateFS, "templates/pages/*.html")
	if err != nil {
		return nil, fmt.Errorf("web: templates: %w", err)
	}
	var ids []string
	all, _ := fs.Glob(templateFS, "templates/*.html")
	for _, name := range append(all, pageFiles...) {
		src, err := templateFS.ReadFile(name)
		if err != nil {
			return nil, fmt.Errorf("web: templates: %w", err)
		}
		ids = append(ids, templateMessageIDs(src)...)
	}
	if err := c.checkIDs(ids); err != nil {
		return nil, err
	}
	for _, l := range locales() {
		common, err := template.New("").Funcs(funcs(c, st, l.Tag)).ParseFS(templateFS, "templates/*.html")
		if err != nil {
			return nil, fmt.Errorf("web: templates: %w", err)
		}
		v.pages[l.Tag] = map[string]*template.Template{}
		for _, file := range pageFiles {
			name := strings.TrimSuffix(path.Base(file), ".html")
			proto, ok := protos[name]
			if !ok {
				return nil, fmt.Errorf("web: template %s has no view model in pagePrototypes", file)
			}
			set, err := template.Must(common.Clone()).ParseFS(templateFS, file)
			if err != nil {
				return nil, fmt.Errorf("web: template %s: %w", file, err)
			}
			if err := set.ExecuteTemplate(io.Discard, "layout", proto); err != nil {
				return nil, fmt.Errorf("web: template %s (%s): %w", file, l.Tag, err)
			}
			v.pages[l.Tag][name] = set
		}
	}
	for name, proto := range protos {
		if err := checkNoShadowing(proto); err != nil {
			return nil, fmt.Errorf("web: view model %q: %w", name, err)
		}
		if _, ok := v.pages[defaultLocale][name]; !ok {
			return nil, fmt.Errorf("web: view model %q has no template", name)
		}
	}
	return v, nil
}

// checkNoShadowing fails when a view model declares a field that hides
// one of Base's from the layout (say, its own Tenants).
func checkNoShadowing(p page) error {
	typ := reflect.TypeOf(p).Elem()
	bt := reflect.TypeFor[Base]()
	for i := range bt.NumField() {
		name := bt.Field(i).Name
		f, ok := typ.FieldByName(name)
		if !ok || len(f.Index) != 2 || typ.Field(f.Index[0]).Type != bt {
			return fmt.Errorf("field %s hides Base.%s from the layout", name, name)
		}
	}
	return nil
}

// templateMessageIDs returns the message IDs a template source names.
func templateMessageIDs(src []byte) []string {
	var ids []string
	for _, re := range messageRefREs {
		for _, m := range re.FindAllSubmatch(src, -1) {
			ids = append(ids, string(m[1]))
		}
	}
	return ids
}

// fieldView is one form field for the "input" and "textarea" templates.
type fieldView struct {
	ID, Name, Type string
	Label, Hint    string
	Value, Error   string
}

// funcs are the template functions of one locale.
func funcs(c *catalog, st *staticFiles, tag string) template.FuncMap {
	return template.FuncMap{
		"T":         func(id string, args ...any) string { return c.T(tag, id, args...) },
		"Tk":        func(prefix string, key any) string { return c.Tk(tag, prefix, fmt.Sprint(key)) },
		"offerName": func(code string) string { return offerName(tag, code) },
		"static":    st.url,
		"when":      formatTime,
		"iso":       func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
		"day":       formatDay,
		"join":      strings.Join,
		"has":       func(list []string, v string) bool { return slices.Contains(list, v) },
		"str":       func(v any) string { return fmt.Sprint(v) },
		"clip":      clipText,
		// field ERRORS NAME LABEL-ID VALUE describes a text input;
		// typed and hint adjust it.
		"field": func(errs map[string]string, name, labelID string, value any) fieldView {
			return fieldView{ID: "f-" + name, Name: name, Type: "text", Label: c.T(tag, labelID),
				Value: fmt.Sprint(value), Error: errs[name]}
		},
		"typed": func(typ string, f fieldView) fieldView { f.Type = typ; return f },
		"hint": func(id string, f fieldView, args ...any) fieldView {
			f.Hint = c.T(tag, id, args...)
			return f
		},
	}
}

// formatTime shows a stored time in UTC; the page script shows it in
// the browser's zone.
func formatTime(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format("2006-01-02 15:04 UTC")
}

// formatDay is a date for a date input ("" for the zero time).
func formatDay(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02")
}

// Base is the part of every view model the layout uses.
type Base struct {
	Lang    string
	Locales []locale
	CSRF    string
	// Path is the request URI, sent back by the language switch.
	Path    string
	Version string
	Flash   string
	// Bare pages have no navigation (login, forced password change).
	Bare      bool
	SignedIn  bool
	Me        userView       // the signed-in user
	Switcher  []tenantOption // the tenant switcher
	Tenant    store.Tenant   // the tenant in view or last selected
	HasTenant bool
	Nav       []navGroup
}

type userView struct {
	Name     string
	Username string
}

type tenantOption struct {
	Slug, Name string
	Selected   bool
}

// flashKeys are the confirmations a redirect may ask for with ?ok=KEY.
func flashKeys() []string {
	return []string{"created", "saved", "deleted", "revoked", "password_changed", "password_reset",
		"member_added", "member_removed", "accepted", "imported", "generated", "started"}
}

// render fills the view model's Base and writes the page with status. A
// failed render gives a clean 500 page, never half a page.
func (s *server) render(w http.ResponseWriter, r *http.Request, status int, name string, p page) {
	if err := s.fillBase(w, r, p.base()); err != nil {
		s.serverError(w, r, err)
		return
	}
	s.execute(w, r, status, name, "layout", p)
}

// renderPartial writes one named template of a page (an htmx fragment).
// Fragments have no layout, so only the language and token are set.
func (s *server) renderPartial(w http.ResponseWriter, r *http.Request, name, tmpl string, p page) {
	st := state(r)
	b := p.base()
	b.Lang, b.CSRF = st.locale, st.csrfToken()
	s.execute(w, r, http.StatusOK, name, tmpl, p)
}

func (s *server) execute(w http.ResponseWriter, r *http.Request, status int, name, tmpl string, data any) {
	set := s.views.pages[state(r).locale][name]
	if set == nil {
		s.serverError(w, r, fmt.Errorf("no template %q", name))
		return
	}
	var buf bytes.Buffer
	if err := set.ExecuteTemplate(&buf, tmpl, data); err != nil {
		s.serverError(w, r, fmt.Errorf("render %s: %w", name, err))
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = buf.WriteTo(w)
}

// serverError logs err and writes a bare 500 page, falling back to plain
// text if even that cannot be rendered.
func (s *server) serverError(w http.ResponseWriter, r *http.Request, err error) {
	s.log.Error("ui request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	st := state(r)
	v := &errorPage{Base: Base{Lang: st.locale, Locales: locales(), Bare: true, Version: s.opts.Version,
		CSRF: st.csrfToken(), Path: "/", SignedIn: st.signedIn()}, Status: http.StatusInternalServerError}
	v.Title = s.msgs.T(st.locale, "error.500.title")
	v.Text = s.msgs.T(st.locale, "error.500.text")
	var buf bytes.Buffer
	set := s.views.pages[st.locale]["error"]
	if set == nil || set.ExecuteTemplate(&buf, "layout", v) != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(http.StatusInternalServerError)
	_, _ = buf.WriteTo(w)
}

// fillBase sets the layout's data: language, CSRF token, user, tenant
// switcher and navigation.
func (s *server) fillBase(w http.ResponseWriter, r *http.Request, b *Base) error {
	st := state(r)
	b.Lang, b.Locales, b.Version = st.locale, locales(), s.opts.Version
	b.Path = r.URL.RequestURI()
	if ok := r.URL.Query().Get("ok"); slices.Contains(flashKeys(), ok) {
		b.Flash = s.msgs.T(st.locale, "flash."+ok)
	}
	if !st.signedIn() {
		s.ensureLoginCSRF(w, r)
		b.CSRF, b.Bare = st.loginCSRF, true
		return nil
	}
	b.CSRF, b.SignedIn = st.sess.CSRFToken, true
	b.Me = userView{Name: st.user.DisplayName, Username: st.user.Username}
	if b.Me.Name == "" {
		b.Me.Name = st.user.Username
	}
	if st.user.MustChangePassword {
		b.Bare = true
		return nil
	}
	ts, err := s.opts.Tenants.ListTenants(r.Context())
	if err != nil {
		return fmt.Errorf("tenant switcher: %w", err)
	}
	cur := st.tenant
	if cur == nil {
		for i := range ts {
			if ts[i].ID == st.sess.TenantID || len(ts) == 1 {
				cur = &ts[i]
			}
		}
	}
	for _, t := range ts {
		b.Switcher = append(b.Switcher, tenantOption{Slug: t.Slug, Name: t.Name, Selected: cur != nil && cur.ID == t.ID})
	}
	if cur != nil {
		b.Tenant, b.HasTenant = *cur, true
	}
	b.Nav, err = s.nav(r, cur)
	return err
}

type errorPage struct {
	Base
	Status int
	Title  string
	Text   string
	Detail string
}

// fail renders a handler's error: the single place errors become
// responses. Unauthenticated page requests go to the login form.
func (s *server) fail(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, errRedirected) {
		return
	}
	status, msg := httpmw.Status(err)
	switch {
	case status == http.StatusUnauthorized && (r.Method == http.MethodGet || r.Method == http.MethodHead):
		http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
		return
	case status >= 500:
		s.serverError(w, r, err)
		return
	case status == 499:
		return
	}
	detail := ""
	if status == http.StatusUnprocessableEntity || status == http.StatusConflict {
		detail = msg
	}
	s.renderError(w, r, status, "", detail)
}

// errorPage renders the page of a status with a specific text message.
func (s *server) errorPage(w http.ResponseWriter, r *http.Request, status int, textID string) {
	s.renderError(w, r, status, textID, "")
}

func (s *server) renderError(w http.ResponseWriter, r *http.Request, status int, textID, detail string) {
	tag := state(r).locale
	key := strconv.Itoa(status)
	if !slices.Contains(errorStatuses(), status) {
		key = "500"
	}
	if textID == "" {
		textID = "error." + key + ".text"
	}
	v := &errorPage{Status: status, Title: s.msgs.T(tag, "error."+key+".title"), Text: s.msgs.T(tag, textID), Detail: detail}
	s.render(w, r, status, "error", v)
}

func (s *server) notFound(w http.ResponseWriter, r *http.Request) error {
	if !state(r).signedIn() {
		return auth.ErrUnauthenticated
	}
	return store.ErrNotFound
}

func (s *server) methodNotAllowed(w http.ResponseWriter, r *http.Request) error {
	if !state(r).signedIn() {
		return auth.ErrUnauthenticated
	}
	s.renderError(w, r, http.StatusMethodNotAllowed, "", "")
	return nil
}

// clipText shortens text to n runes for a table cell, marking the cut.
func clipText(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n]) + "…"
}
