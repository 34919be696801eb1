package web

import (
	"errors"
	"net/http"

	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/store"
	"github.com/vigil-sec/vigil/internal/vuln/gmp"
)

// openVASPage is the tenant's OpenVAS (gvmd) connection form and its
// vulnerability scan history.
type openVASPage struct {
	Base
	formState
	URL        string
	CanWrite   bool // a tenant administrator: vuln.write and secret.write
	Configured bool
	Form       openVASFields
	Runs       []store.VulnScanRun
	Defaults   openVASFields
}

// openVASFields are the form's values; the password is never shown.
type openVASFields struct {
	Address, Username, CAPEM, ServerName, ConfigID, PortListID, ScannerID string
	PasswordSet                                                           bool
}

var openVASFormFields = fields("address", "username", "password", "ca_pem", "server_name", "config_id", "port_list_id", "scanner_id")

func (s *server) registerVulnOpenVAS(t string) {
	s.handle(http.MethodGet, t+"/vulnerabilities/openvas", inTenant(auth.PermAssetRead), s.vulnOpenVAS)
	s.handle(http.MethodPost, t+"/vulnerabilities/openvas", inTenant(auth.PermSecretWrite), s.vulnOpenVASSave)
	s.handle(http.MethodPost, t+"/vulnerabilities/openvas/delete", inTenant(auth.PermSecretWrite), s.vulnOpenVASDelete)
}

// openVASView builds the page; the connection is read only by those who
// may change it.
func (s *server) openVASView(r *http.Request) (*openVASPage, error) {
	if s.opts.GMP == nil {
		return nil, store.ErrNotFound
	}
	ctx := r.Context()
	t := state(r).tenant
	p := auth.FromContext(ctx)
	v := &openVASPage{URL: vulnBase(t) + "/openvas", CanWrite: p.Can(auth.PermVulnWrite, t.ID) && p.Can(auth.PermSecretWrite, t.ID),
		Defaults: openVASFields{ConfigID: gmp.ConfigFullAndFast, PortListID: gmp.PortListAllTCPNmapUDP, ScannerID: gmp.ScannerOpenVAS}}
	if v.CanWrite {
		g, err := s.opts.GMP.Get(ctx, t.ID)
		switch {
		case err == nil:
			v.Configured = true
			v.Form = openVASFields{Address: g.Address, Username: g.Username, CAPEM: g.CAPEM, ServerName: g.ServerName,
				ConfigID: g.ConfigID, PortListID: g.PortListID, ScannerID: g.ScannerID, PasswordSet: g.SecretID != ""}
		case !errors.Is(err, store.ErrNotFound):
			return nil, err
		}
	}
	var err error
	if v.Runs, err = s.opts.GMP.Runs(ctx, t.ID, 50); err != nil {
		return nil, err
	}
	return v, nil
}

// vulnOpenVAS shows the connection form and the scan history.
func (s *server) vulnOpenVAS(w http.ResponseWriter, r *http.Request) error {
	v, err := s.openVASView(r)
	if err != nil {
		return err
	}
	s.render(w, r, http.StatusOK, "vulnopenvas", v)
	return nil
}

// vulnOpenVASSave stores the connection; an empty password keeps the
// stored one.
func (s *server) vulnOpenVASSave(w http.ResponseWriter, r *http.Request) error {
	v, err := s.openVASView(r)
	if err != nil {
		return err
	}
	in := gmp.Input{Address: r.PostFormValue("address"), Username: r.PostFormValue("username"),
		Password: r.PostFormValue("password"), CAPEM: r.PostFormValue("ca_pem"), ServerName: r.PostFormValue("server_name"),
		ConfigID: r.PostFormValue("config_id"), PortListID: r.PostFormValue("port_list_id"), ScannerID: r.PostFormValue("scanner_id")}
	_, err = s.opts.GMP.Put(r.Context(), state(r).tenant.ID, in)
	if err == nil {
		redirect(w, r, v.URL+"?ok=saved")
		return nil
	}
	v.Form = openVASFields{Address: in.Address, Username: in.Username, CAPEM: in.CAPEM, ServerName: in.ServerName,
		ConfigID: in.ConfigID, PortListID: in.PortListID, ScannerID: in.ScannerID, PasswordSet: v.Form.PasswordSet}
	status, err := s.formErrorStatus(r, err, &v.formState, openVASFormFields)
	if err != nil {
		return err
	}
	s.render(w, r, status, "vulnopenvas", v)
	return nil
}

// vulnOpenVASDelete removes the connection and its password.
func (s *server) vulnOpenVASDelete(w http.ResponseWriter, r *http.Request) error {
	if s.opts.GMP == nil {
		return store.ErrNotFound
	}
	t := state(r).tenant
	if err := s.opts.GMP.Delete(r.Context(), t.ID); err != nil {
		return err
	}
	redirect(w, r, vulnBase(t)+"/openvas?ok=deleted")
	return nil
}
