package web

import (
	"errors"
	"net"
	"net/http"
	"strconv"
	"strings"
	"syscall"

	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/store"
	"github.com/vigil-sec/vigil/internal/vuln/lifecycle"
	"github.com/vigil-sec/vigil/internal/vuln/scan"
)

// vulnSLAForm is the tenant's SLA days form on the vulnerabilities page.
type vulnSLAForm struct {
	URL      string
	CanWrite bool
	Rows     []vulnSLARow
	Error    string
}

// vulnSLARow is one severity's days in force and its default.
type vulnSLARow struct {
	Severity string
	Days     int
	Default  int
}

func (s *server) registerVulnScan(t string) {
	s.handle(http.MethodPost, t+"/vulnerabilities/sla", inTenant(auth.PermVulnWrite), s.vulnSLASave)
	s.handle(http.MethodPost, t+"/vulnerabilities/{vuln}/verify", inTenant(auth.PermVulnWrite), s.vulnVerify)
	s.registerVulnOpenVAS(t)
}

// vulnSLAView builds the SLA form of the tenant in view.
func (s *server) vulnSLAView(r *http.Request) (*vulnSLAForm, error) {
	ctx := r.Context()
	t := state(r).tenant
	eff, err := s.opts.Vulns.TenantSLA(ctx, t.ID)
	if err != nil {
		return nil, err
	}
	def := s.opts.Vulns.DefaultSLADays()
	f := &vulnSLAForm{URL: vulnBase(t) + "/sla", CanWrite: auth.FromContext(ctx).Can(auth.PermVulnWrite, t.ID)}
	for _, sev := range lifecycle.SLASeverities() {
		f.Rows = append(f.Rows, vulnSLARow{Severity: sev, Days: eff[sev], Default: def[sev]})
	}
	return f, nil
}

// vulnSLASave stores the SLA days typed in the form; an empty field or 0
// restores the default.
func (s *server) vulnSLASave(w http.ResponseWriter, r *http.Request) error {
	t := state(r).tenant
	sla := map[string]int{}
	var bad error
	for _, sev := range lifecycle.SLASeverities() {
		raw := strings.TrimSpace(r.PostFormValue("sla_" + sev))
		if raw == "" {
			continue
		}
		n, err := strconv.Atoi(raw)
		if err != nil {
			bad = store.NewFieldError(sev, store.CodeOutOfRange, map[string]any{"min": 0, "max": lifecycle.MaxSLADays},
				"days must be a whole number between 0 and %d", lifecycle.MaxSLADays)
			break
		}
		sla[sev] = n
	}
	if bad == nil {
		bad = s.opts.Vulns.SetTenantSLA(r.Context(), t.ID, sla)
		if bad == nil {
			redirect(w, r, vulnBase(t)+"?ok=saved#vuln-sla")
			return nil
		}
	}
	var fe *store.FieldError
	if !errors.As(bad, &fe) {
		return bad
	}
	v, err := s.vulnsView(r)
	if err != nil {
		return err
	}
	v.SLA.Error = fe.Message
	s.render(w, r, http.StatusUnprocessableEntity, "vulns", v)
	return nil
}

// vulnVerify re-runs the check of one finding and shows the outcome in its
// timeline.
func (s *server) vulnVerify(w http.ResponseWriter, r *http.Request) error {
	t := state(r).tenant
	v, err := s.vulnPageView(r)
	if err != nil {
		return err
	}
	if s.opts.VulnScan == nil {
		return store.ErrNotFound
	}
	_, err = s.opts.VulnScan.Verify(r.Context(), t.ID, v.F.ID)
	if err == nil {
		redirect(w, r, v.URL+"?ok=saved")
		return nil
	}
	var fe *store.FieldError
	switch {
	case errors.As(err, &fe):
		v.VerifyError = fe.Message
	case errors.Is(err, scan.ErrNoCheck), errors.Is(err, scan.ErrNotInstalled):
		v.VerifyError = err.Error()
	default:
		// The target did not answer: say so rather than fail the page.
		var ne net.Error
		if !errors.As(err, &ne) && !errors.Is(err, syscall.ECONNREFUSED) {
			return err
		}
		v.VerifyError = err.Error()
	}
	s.render(w, r, http.StatusUnprocessableEntity, "vuln", v)
	return nil
}
