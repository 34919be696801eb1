package web

import (
	"errors"
	"net/http"
	"slices"

	"github.com/go-chi/chi/v5"

	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/store"
)

// accessKind says who may reach a route.
type accessKind int

const (
	// accessPublic routes are served to anyone: the login form, static
	// files and the language switch. Tests hold the allow-list.
	accessPublic accessKind = iota
	// accessSignedIn routes need a session and nothing more.
	accessSignedIn
	// accessGlobal routes need a platform-wide permission.
	accessGlobal
	// accessTenant routes live under /t/{tenant}/ and need the permission
	// in that tenant.
	accessTenant
)

// access is a route's requirement.
type access struct {
	kind accessKind
	perm auth.Perm
}

func public() access              { return access{kind: accessPublic} }
func signedIn() access            { return access{kind: accessSignedIn} }
func global(p auth.Perm) access   { return access{kind: accessGlobal, perm: p} }
func inTenant(p auth.Perm) access { return access{kind: accessTenant, perm: p} }

// route is one entry of the route table.
type route struct {
	method  string
	pattern string
	access  access
	// pending routes stay reachable while the user must change their
	// password (the change form itself, logout).
	pending bool
}

// handlerFunc is a page handler; a returned error is rendered by fail.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// handle registers h for method and pattern behind its access check. It is
// the only way routes are added: the route walk test relies on it.
func (s *server) handle(method, pattern string, acc access, h handlerFunc) {
	s.add(route{method: method, pattern: pattern, access: acc}, h)
}

// withPending marks a route reachable while a password change is due.
func (rt route) withPending() route { rt.pending = true; return rt }

func (s *server) add(rt route, h handlerFunc) {
	s.routes = append(s.routes, rt)
	s.mux.Method(rt.method, rt.pattern, s.wrap(rt, h))
}

// register is the route table.
func (s *server) register() {
	get, post := http.MethodGet, http.MethodPost

	// Public: the allow-list.
	s.handle(get, "/static/*", public(), s.serveStatic)
	s.handle(get, "/login", public(), s.loginForm)
	s.handle(post, "/login", public(), s.login)
	s.handle(post, "/lang", public(), s.switchLanguage)

	// Any signed-in user.
	s.handle(get, "/", signedIn(), s.home)
	s.add(route{method: post, pattern: "/logout", access: signedIn()}.withPending(), s.logout)
	s.handle(post, "/tenant", signedIn(), s.switchTenant)
	s.handle(get, "/account", signedIn(), s.account)
	s.handle(get, "/soc", signedIn(), s.socWall)
	s.handle(get, "/notices", signedIn(), s.noticeForm)
	s.handle(post, "/notices", signedIn(), s.noticePublish)
	s.add(route{method: get, pattern: "/account/password", access: signedIn()}.withPending(), s.passwordForm)
	s.add(route{method: post, pattern: "/account/password", access: signedIn()}.withPending(), s.changePassword)

	// Platform administration.
	s.handle(get, "/audit", global(auth.PermAuditRead), s.auditGlobal)
	s.handle(get, "/admin/tenants", global(auth.PermTenantAdmin), s.tenantList)
	s.handle(get, "/admin/tenants/new", global(auth.PermTenantAdmin), s.tenantNew)
	s.handle(post, "/admin/tenants", global(auth.PermTenantAdmin), s.tenantCreate)
	s.handle(get, "/admin/tenants/{tenantID}", global(auth.PermTenantAdmin), s.tenantEdit)
	s.handle(post, "/admin/tenants/{tenantID}", global(auth.PermTenantAdmin), s.tenantUpdate)
	s.handle(post, "/admin/tenants/{tenantID}/delete", global(auth.PermTenantAdmin), s.tenantDelete)
	s.handle(get, "/admin/users", global(auth.PermUserAdmin), s.userList)
	s.handle(get, "/admin/users/new", global(auth.PermUserAdmin), s.userNew)
	s.handle(post, "/admin/users", global(auth.PermUserAdmin), s.userCreate)
	s.handle(get, "/admin/users/{user}", global(auth.PermUserAdmin), s.userEdit)
	s.handle(post, "/admin/users/{user}", global(auth.PermUserAdmin), s.userUpdate)
	s.handle(post, "/admin/users/{user}/password", global(auth.PermUserAdmin), s.userResetPassword)
	s.handle(post, "/admin/users/{user}/delete", global(auth.PermUserAdmin), s.userDelete)
	s.handle(post, "/admin/users/{user}/memberships", global(auth.PermUserAdmin), s.membershipSet)
	s.handle(post, "/admin/users/{user}/memberships/{tenantID}/delete", global(auth.PermUserAdmin), s.membershipRemove)
	s.handle(get, "/admin/teams", global(auth.PermTeamRead), s.teamList)
	s.handle(get, "/admin/teams/new", global(auth.PermUserAdmin), s.teamNew)
	s.handle(post, "/admin/teams", global(auth.PermUserAdmin), s.teamCreate)
	s.handle(get, "/admin/teams/{team}", global(auth.PermTeamRead), s.teamEdit)
	s.handle(post, "/admin/teams/{team}", global(auth.PermUserAdmin), s.teamUpdate)
	s.handle(post, "/admin/teams/{team}/delete", global(auth.PermUserAdmin), s.teamDelete)
	s.handle(post, "/admin/teams/{team}/members", global(auth.PermUserAdmin), s.teamMemberSet)
	s.handle(post, "/admin/teams/{team}/members/{user}/delete", global(auth.PermUserAdmin), s.teamMemberRemove)

	// One tenant.
	const t = "/t/{tenant}"
	s.handle(get, t, inTenant(auth.PermTenantRead), s.dashboard)
	s.handle(get, t+"/posture", inTenant(auth.PermTenantRead), s.postureTiles)
	s.handle(get, t+"/assets", inTenant(auth.PermAssetRead), s.assetList)
	s.handle(get, t+"/assets/new", inTenant(auth.PermAssetWrite), s.assetNew)
	s.handle(post, t+"/assets", inTenant(auth.PermAssetWrite), s.assetCreate)
	s.handle(get, t+"/assets/{asset}", inTenant(auth.PermAssetRead), s.assetView)
	s.handle(get, t+"/assets/{asset}/edit", inTenant(auth.PermAssetWrite), s.assetEdit)
	s.handle(post, t+"/assets/{asset}", inTenant(auth.PermAssetWrite), s.assetUpdate)
	s.handle(post, t+"/assets/{asset}/delete", inTenant(auth.PermAssetWrite), s.assetDelete)
	s.bizsysRoutes(t)
	s.handle(get, t+"/contacts", inTenant(auth.PermContactRead), s.contactList)
	s.handle(get, t+"/contacts/new", inTenant(auth.PermContactWrite), s.contactNew)
	s.handle(post, t+"/contacts", inTenant(auth.PermContactWrite), s.contactCreate)
	s.handle(get, t+"/contacts/{contact}", inTenant(auth.PermContactWrite), s.contactEdit)
	s.handle(post, t+"/contacts/{contact}", inTenant(auth.PermContactWrite), s.contactUpdate)
	s.handle(post, t+"/contacts/{contact}/delete", inTenant(auth.PermContactWrite), s.contactDelete)
	s.handle(get, t+"/services", inTenant(auth.PermServiceRead), s.serviceList)
	s.handle(get, t+"/services/{service}", inTenant(auth.PermServiceWrite), s.serviceEdit)
	s.handle(post, t+"/services/{service}", inTenant(auth.PermServiceWrite), s.serviceUpdate)
	s.handle(post, t+"/services/{service}/delete", inTenant(auth.PermServiceWrite), s.serviceDelete)
	s.handle(get, t+"/tokens", inTenant(auth.PermTokenAdmin), s.tokenList)
	s.handle(post, t+"/tokens", inTenant(auth.PermTokenAdmin), s.tokenCreate)
	s.handle(post, t+"/tokens/{token}/revoke", inTenant(auth.PermTokenAdmin), s.tokenRevoke)
	s.handle(get, t+"/audit", inTenant(auth.PermAuditRead), s.auditTenant)
	ev := t + "/events"
	s.handle(get, ev, inTenant(auth.PermEventRead), s.eventSearch)
	s.handle(get, ev+"/alerts", inTenant(auth.PermEventRead), s.alertQueue)
	s.handle(post, ev+"/alerts/bulk", inTenant(auth.PermEventTriage), s.alertBulk)
	s.handle(get, ev+"/alerts/{alert}", inTenant(auth.PermEventRead), s.alertView)
	s.handle(get, ev+"/{event}", inTenant(auth.PermEventRead), s.eventView)
	s.handle(post, ev+"/alerts/promote", inTenant(auth.PermIncidentWrite), s.alertPromote)
	inc := t + "/incidents"
	if s.opts.Incidents != nil {
		s.handle(get, inc, inTenant(auth.PermEventRead), s.incidentList)
		s.handle(post, inc, inTenant(auth.PermIncidentWrite), s.incidentCreate)
		s.handle(get, inc+"/{case}", inTenant(auth.PermEventRead), s.incidentView)
		s.handle(post, inc+"/{case}/evidence", inTenant(auth.PermIncidentWrite), s.incidentEvidenceAdd)
		s.handle(get, inc+"/{case}/evidence/{evidence}", inTenant(auth.PermIncidentWrite), s.incidentEvidenceGet)
		s.handle(post, inc+"/{case}/tasks/{task}", inTenant(auth.PermIncidentWrite), s.incidentTask)
		s.handle(post, inc+"/{case}/report/generate", inTenant(auth.PermReportRead), s.incidentReport)
		s.handle(post, inc+"/{case}/{action}", inTenant(auth.PermIncidentWrite), s.incidentAction)
	}
	mlps := t + "/compliance/mlps"
	if s.opts.Assessments != nil {
		s.handle(get, mlps, inTenant(auth.PermTenantRead), s.assessmentList) // checks assessment.read itself
		s.handle(post, mlps, inTenant(auth.PermAssessWrite), s.assessmentCreate)
		s.handle(get, mlps+"/{project}", inTenant(auth.PermAssessRead), s.assessmentView)
		s.handle(post, mlps+"/{project}/items", inTenant(auth.PermAssessWrite), s.assessmentItem)
		s.handle(post, mlps+"/{project}/items/clear", inTenant(auth.PermAssessWrite), s.assessmentClear)
		s.handle(post, mlps+"/{project}/phase", inTenant(auth.PermAssessWrite), s.assessmentPhase)
		s.handle(post, mlps+"/{project}/report", inTenant(auth.PermReportRead), s.assessmentReport)
		s.handle(get, mlps+"/{project}/items.xlsx", inTenant(auth.PermAssessRead), s.assessmentExport)
		s.handle(post, mlps+"/{project}/import", inTenant(auth.PermAssessWrite), s.assessmentImport)
	}
	ch := t + "/notifications"
	s.handle(get, ch, inTenant(auth.PermServiceRead), s.channelList)
	s.handle(post, ch, inTenant(auth.PermSecretWrite), s.channelCreate)
	s.handle(post, ch+"/{channel}/test", inTenant(auth.PermSecretWrite), s.channelTest)
	s.handle(post, ch+"/{channel}/delete", inTenant(auth.PermSecretWrite), s.channelDelete)
	vul := t + "/vulnerabilities"
	s.handle(get, vul, inTenant(auth.PermAssetRead), s.vulnList)
	s.handle(post, vul+"/import", inTenant(auth.PermVulnWrite), s.vulnImport)
	s.handle(post, vul+"/bulk", inTenant(auth.PermVulnWrite), s.vulnBulk)
	s.handle(get, vul+"/{vuln}", inTenant(auth.PermAssetRead), s.vulnView)
	s.handle(post, vul+"/{vuln}/state", inTenant(auth.PermVulnWrite), s.vulnChange)
	s.handle(post, vul+"/report", inTenant(auth.PermReportRead), s.vulnReport)
	s.handle(get, t+"/operations/vuln-lifecycle", inTenant(auth.PermAssetRead), s.vulnServiceRedirect)
	rep := t + "/reports"
	s.handle(get, rep, inTenant(auth.PermReportRead), s.reportList)
	s.handle(post, rep+"/generate", inTenant(auth.PermReportRead), s.reportGenerate)
	s.handle(get, rep+"/{report}", inTenant(auth.PermReportRead), s.reportDownload)
	disc := t + "/operations/asset-discovery"
	s.handle(get, disc, inTenant(auth.PermAssetRead), s.discoveryList)
	s.handle(post, disc, inTenant(auth.PermAssetWrite), s.discoveryStart)
	s.handle(post, disc+"/import", inTenant(auth.PermAssetWrite), s.discoveryImport)
	s.handle(get, disc+"/{run}", inTenant(auth.PermAssetRead), s.discoveryRun)
	s.handle(post, disc+"/{run}/report", inTenant(auth.PermReportRead), s.discoveryReport)
	comp := t + "/operations/app-compromise"
	s.handle(get, comp, inTenant(auth.PermEventRead), s.compromiseList)
	s.handle(post, comp, inTenant(auth.PermEventTriage), s.compromiseAnalyze)
	s.handle(get, comp+"/{analysis}", inTenant(auth.PermEventRead), s.compromiseRun)
	s.handle(post, comp+"/{analysis}/mark", inTenant(auth.PermEventTriage), s.compromiseMark)
	s.handle(post, comp+"/{analysis}/verdict", inTenant(auth.PermIncidentWrite), s.compromiseVerdict)
	s.handle(post, comp+"/{analysis}/report", inTenant(auth.PermReportRead), s.compromiseReport)
	pol := t + "/operations/policy-optimisation"
	s.handle(get, pol, inTenant(auth.PermAssessRead), s.reviewList)
	s.handle(post, pol, inTenant(auth.PermAssessWrite), s.reviewCreate)
	s.handle(get, pol+"/{review}", inTenant(auth.PermAssessRead), s.reviewView)
	s.handle(get, pol+"/{review}/config", inTenant(auth.PermAssessRead), s.reviewConfig)
	s.handle(post, pol+"/{review}/accept", inTenant(auth.PermAssessWrite), s.reviewAccept)
	s.handle(post, pol+"/{review}/delete", inTenant(auth.PermAssessWrite), s.reviewDelete)
	s.handle(post, pol+"/{review}/report", inTenant(auth.PermAssessRead), s.reviewReport)
	s.handle(get, pol+"/{review}/optimised", inTenant(auth.PermAssessRead), s.reviewOptimised)
	s.registerIntel(t)
	s.registerEscalation(t)
	s.registerDesk(t)
	s.registerDigest(t) // digest.go: preview and send now
	s.registerOps(t)
	s.registerDrill(t)
	s.registerTraffic(t)
	s.registerBaseline(t)
	s.registerCampaigns(t)
	s.registerDevices(t)
	s.registerAgents(t)
	s.registerVulnScan(t)
	s.registerAdvisories()
	s.registerRiskRegister(t)
	s.registerCompliance3(t)
	s.registerRules(t)
	for _, a := range s.areas {
		if a.Key == "vuln-lifecycle" || s.registered(get, t+a.Path) {
			continue // built above
		}
		s.handle(get, t+a.Path, inTenant(a.Perm), s.comingSoon(a))
	}
}

// registered reports whether a route for method and pattern is in the table.
func (s *server) registered(method, pattern string) bool {
	return slices.ContainsFunc(s.routes, func(rt route) bool { return rt.method == method && rt.pattern == pattern })
}

// wrap puts the access check in front of a handler and renders its error.
func (s *server) wrap(rt route, h handlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := s.authorize(w, r, rt); err != nil {
			s.fail(w, r, err)
			return
		}
		if err := h(w, r); err != nil {
			s.fail(w, r, err)
		}
	}
}

// errRedirected means authorize already answered with a redirect.
var errRedirected = errors.New("redirected")

// authorize checks the route's access for the request's principal. For a
// tenant route it resolves the tenant in the path and stores it in the
// request state. Tenants the principal cannot read are not found, so
// their existence does not leak; a missing permission in a readable
// tenant is forbidden.
func (s *server) authorize(w http.ResponseWriter, r *http.Request, rt route) error {
	if rt.access.kind == accessPublic {
		return nil
	}
	st := state(r)
	p := auth.FromContext(r.Context())
	if p.Anonymous() {
		return auth.ErrUnauthenticated
	}
	if st.user.MustChangePassword && !rt.pending {
		if r.Method == http.MethodGet {
			http.Redirect(w, r, "/account/password", http.StatusSeeOther)
			return errRedirected
		}
		return auth.ErrForbidden
	}
	switch rt.access.kind {
	case accessGlobal:
		if !p.Can(rt.access.perm, "") {
			return auth.ErrForbidden
		}
	case accessTenant:
		t, err := s.opts.Tenants.ResolveTenant(r.Context(), chi.URLParam(r, "tenant"))
		if err != nil {
			return err // ErrNotFound for unknown and unreadable tenants alike
		}
		if !p.Can(rt.access.perm, t.ID) || !regulatorMay(p, t.ID, rt.pattern) {
			return auth.ErrForbidden
		}
		st.tenant = &t
		s.rememberTenant(r, t)
	}
	return nil
}

// rememberTenant stores the tenant a signed-in user is looking at in the
// session, so "/" brings them back to it.
func (s *server) rememberTenant(r *http.Request, t store.Tenant) {
	st := state(r)
	if st.sess == nil || st.sess.TenantID == t.ID || r.Method != http.MethodGet {
		return
	}
	st.sess.TenantID = t.ID
	if err := s.opts.Store.Sessions().Update(r.Context(), st.sess); err != nil {
		s.log.Warn("remember tenant", "err", err)
	}
}
