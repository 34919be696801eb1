package api

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gosnmp/gosnmp"

	"github.com/vigil-sec/vigil/internal/device/devicetest"
	"github.com/vigil-sec/vigil/internal/device/om"
)

// withDevices rebuilds the harness's server with the device O&M service.
func withDevices(t *testing.T, h *harness) *om.Service {
	t.Helper()
	svc, err := om.NewService(h.env.Store, h.env.Secrets, h.env.Assets, h.env.Audit, om.Options{PollTimeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	o := h.srv.opts
	o.Devices = svc
	srv, err := newServer(o)
	if err != nil {
		t.Fatal(err)
	}
	h.srv, h.h = srv, srv.handler()
	return svc
}

func TestDevices(t *testing.T) {
	h := newHarness(t)
	svc := withDevices(t, h)
	base := "/api/v1/tenants/acme/devices"
	var d Device
	h.want(http.StatusCreated, pst, base, h.adminA, DeviceInput{Name: "fw-01 <script>", Vendor: "Fortinet", Model: "FG-100F",
		Role: "firewall", MgmtAddress: "192.0.2.10", SSHUser: "backup", SSHPassword: "pa55-word", SNMPCommunity: "c0mm",
		Profile: "fortios", SupportExpires: "2027-01-31"}, &d)
	if d.AssetID == "" || !d.HasSSHPassword || !d.HasSNMPCommunity || d.HealthState != "unknown" || d.SupportExpires == nil ||
		d.SupportExpires.Format(time.DateOnly) != "2027-01-31" {
		t.Fatalf("created %+v", d)
	}
	r := h.want(http.StatusOK, get, base+"/"+d.AssetID, h.analystA, nil, &d)
	if strings.Contains(string(r.Body), "pa55-word") || strings.Contains(string(r.Body), "c0mm\"") {
		t.Fatal("a credential is returned")
	}
	var l DeviceList
	h.want(http.StatusOK, get, base, h.analystA, nil, &l)
	if l.Total != 1 || l.Items[0].Name != "fw-01 <script>" {
		t.Fatalf("list %+v", l)
	}
	var bs []ConfigBackup
	h.want(http.StatusOK, get, base+"/"+d.AssetID+"/backups", h.analystA, nil, &bs)
	var hs []HealthSample
	h.want(http.StatusOK, get, base+"/"+d.AssetID+"/health", h.analystA, nil, &hs)
	if len(bs) != 0 || len(hs) != 0 {
		t.Fatalf("backups %v health %v", bs, hs)
	}
	// A poll of a loopback agent (HOST-RESOURCES-MIB CPU 35 %) shows up.
	agent := devicetest.StartAgent(t, "pub", []gosnmp.SnmpPDU{devicetest.Str("1.3.6.1.2.1.1.1.0", "test"),
		devicetest.Ticks("1.3.6.1.2.1.1.3.0", 5), devicetest.Str("1.3.6.1.2.1.1.5.0", "fw"),
		devicetest.Integer("1.3.6.1.2.1.25.3.3.1.2.1", 35)})
	i := strings.LastIndex(agent.Addr(), ":")
	port, _ := strconv.Atoi(agent.Addr()[i+1:])
	actx := h.env.AdminCtx(context.Background())
	if _, err := svc.Save(actx, h.env.TenantA.ID, om.Input{AssetID: d.AssetID, Role: "firewall", MgmtAddress: agent.Addr()[:i],
		SNMPPort: port, SNMPCommunity: "pub"}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.PollNow(actx, h.env.TenantA.ID, d.AssetID); err != nil {
		t.Fatal(err)
	}
	h.want(http.StatusOK, get, base+"/"+d.AssetID+"/health", h.analystA, nil, &hs)
	if len(hs) != 1 || !hs[0].Reachable || hs[0].CPU == nil || *hs[0].CPU != 35 || hs[0].Memory != nil {
		t.Fatalf("health %+v", hs)
	}

	// Bad input, read-only roles, other tenants.
	h.wantProblem(http.StatusUnprocessableEntity, pst, base, h.adminA, DeviceInput{Name: "x", Role: "toaster"})
	h.wantProblem(http.StatusUnprocessableEntity, pst, base, h.adminA, DeviceInput{Name: "x", SupportExpires: "tomorrow"})
	h.wantProblem(http.StatusUnprocessableEntity, pst, base, h.adminA, DeviceInput{Name: "x", Profile: "no-such"})
	h.wantProblem(http.StatusForbidden, pst, base, h.analystA, DeviceInput{Name: "y"})
	h.wantProblem(http.StatusNotFound, get, base+"/"+d.AssetID, h.customer, nil)
	h.wantProblem(http.StatusNotFound, get, "/api/v1/tenants/globex/devices/"+d.AssetID, h.admin, nil)
	h.wantProblem(http.StatusNotFound, get, "/api/v1/tenants/globex/devices/"+d.AssetID+"/health", h.admin, nil)
	h.wantProblem(http.StatusNotFound, get, "/api/v1/tenants/globex/devices/"+d.AssetID+"/backups", h.admin, nil)
}
