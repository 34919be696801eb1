package web

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/compliance/project"
	"github.com/vigil-sec/vigil/internal/store"
)

// The supervision summary across the tenants a user may read (the
// regulator's own page), and the outcome page of an inspection campaign.

// supervisionPath is the summary page; it is not under a tenant.
const supervisionPath = "/supervision"

// registerSupervision adds the summary page. It is reached by any
// signed-in user and shows the tenants where they hold assessment.read.
func (s *server) registerSupervision() {
	s.handle(http.MethodGet, supervisionPath, signedIn(), s.supervision)
	s.registerCommissions()
}

type supervisionPage struct {
	Base
	Tenants     []project.TenantStatus
	Commissions []project.CommissionView // touching the tenants read
}

// supervision shows, per tenant, the MLPS projects with their conclusion,
// open gaps, remediation progress and the latest inspections.
func (s *server) supervision(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	ts, err := s.opts.Tenants.ListTenants(ctx)
	if err != nil {
		return err
	}
	sum, err := s.opts.Assessments.Supervision(ctx, ts)
	if err != nil {
		return err
	}
	cs, err := s.opts.Assessments.Commissions(ctx)
	if err != nil {
		return err
	}
	s.render(w, r, http.StatusOK, "compliance4_supervision", &supervisionPage{Tenants: sum, Commissions: cs})
	return nil
}

// inspectionCampaignRow is one tenant of a campaign as the outcome page shows it.
type inspectionCampaignRow struct {
	Tenant store.Tenant
	project.CampaignOutcome
}

type inspectionCampaignPage struct {
	Base
	URL      string // the inspections of the tenant the campaign was opened from
	Campaign string
	Rows     []inspectionCampaignRow
	Opened   int
	Failed   int
}

// renderCampaign shows the outcome of a campaign per tenant; a tenant's
// failure is logged with its error and shown with its reason.
func (s *server) renderCampaign(w http.ResponseWriter, r *http.Request, t *store.Tenant, ts []store.Tenant, res project.CampaignResult) {
	v := &inspectionCampaignPage{URL: inspectionBase(t), Campaign: res.Campaign, Opened: res.Opened(), Failed: len(res.Failed())}
	for _, o := range res.Outcomes {
		row := inspectionCampaignRow{CampaignOutcome: o, Tenant: store.Tenant{ID: o.TenantID, Name: o.TenantID}}
		for _, x := range ts {
			if x.ID == o.TenantID {
				row.Tenant = x
			}
		}
		if o.Err != nil {
			s.log.Warn("inspection campaign", "campaign", res.Campaign, "tenant", o.TenantID, "reason", o.Failure, "err", o.Err)
		}
		v.Rows = append(v.Rows, row)
	}
	s.render(w, r, http.StatusOK, "compliance4_campaign", v)
}

// sampleParam reads the optional spot-check sample size of a form.
func sampleParam(r *http.Request) (int, error) {
	raw := strings.TrimSpace(r.PostFormValue("sample"))
	if raw == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(raw)
	if err != nil || n < 0 || n > project.MaxSample {
		return 0, store.NewFieldError("sample", store.CodeOutOfRange, map[string]any{"min": 0, "max": project.MaxSample},
			"the sample is a number of objects from 0 to %d", project.MaxSample)
	}
	return n, nil
}

// compliance4MessageIDs lists the messages looked up by key (Tk).
func compliance4MessageIDs() []string {
	ids := []string{}
	for _, c := range []string{project.CampaignFailForbidden, project.CampaignFailInvalid, project.CampaignFailConflict,
		project.CampaignFailMissing, project.CampaignFailError} {
		ids = append(ids, "c4.fail."+c)
	}
	return append(ids, compliance5MessageIDs()...)
}

// canSupervise reports whether p reads the compliance work of more than
// one tenant, or is a regulator somewhere: the pages then link the
// summary.
func canSupervise(p *auth.Principal) bool {
	if p == nil {
		return false
	}
	n := 0
	for t, role := range p.Roles {
		if role == auth.RoleRegulator {
			return true
		}
		if p.Can(auth.PermAssessRead, t) {
			n++
		}
	}
	return n > 1 || p.Can(auth.PermAssessRead, "")
}
