package api

import (
	"bytes"
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/device/backup"
	"github.com/vigil-sec/vigil/internal/device/devicetest"
	"github.com/vigil-sec/vigil/internal/device/om"
	"github.com/vigil-sec/vigil/internal/secret"
	"github.com/vigil-sec/vigil/internal/store"
)

const apiIOSConfig = "hostname r1\nsnmp-server community S3cr3tRO RO\nend\n"

// TestDeviceEventsRawAndHistory checks the events listing, the raw
// configuration download (secret.write only) and the history export.
func TestDeviceEventsRawAndHistory(t *testing.T) {
	h := newHarness(t)
	box, err := secret.NewBox(bytes.Repeat([]byte{0x21}, secret.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	svc, err := om.NewService(h.env.Store, h.env.Secrets, h.env.Assets, h.env.Audit, om.Options{Box: box, Reach: om.ReachOff})
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

	ps, err := backup.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	p := ps["cisco-ios"]
	dev := devicetest.StartSSH(t, &devicetest.SSHDevice{Prompt: "r1#", Pager: p.PagerOff, Show: p.ShowConfig, Config: apiIOSConfig})
	i := strings.LastIndex(dev.Addr, ":")
	port, _ := strconv.Atoi(dev.Addr[i+1:])
	actx := h.env.AdminCtx(context.Background())
	d, err := svc.Save(actx, h.env.TenantA.ID, om.Input{Name: "r1", Vendor: "Cisco", MgmtAddress: dev.Addr[:i], SSHPort: port,
		SSHUser: devicetest.SSHUser, SSHPassword: devicetest.SSHPassword, Profile: "cisco-ios"})
	if err != nil {
		t.Fatal(err)
	}
	r1, err := svc.BackupNow(actx, h.env.TenantA.ID, d.AssetID)
	if err != nil {
		t.Fatal(err)
	}
	if err := h.env.Store.Devices().AddDeviceEvent(context.Background(), &store.DeviceEvent{TenantID: h.env.TenantA.ID,
		AssetID: d.AssetID, At: time.Now().UTC(), Kind: "trap", Name: "linkDown", Summary: "port down <b>",
		Detail: []store.DeviceEventField{{Name: "ifIndex", Value: "3"}}}); err != nil {
		t.Fatal(err)
	}
	base := "/api/v1/tenants/acme/devices/" + d.AssetID
	var evs []DeviceEvent
	h.want(http.StatusOK, get, base+"/events", h.analystA, nil, &evs)
	if len(evs) != 1 || evs[0].Name != "linkDown" || evs[0].Detail[0].Value != "3" {
		t.Fatalf("events %+v", evs)
	}
	var bs []ConfigBackup
	h.want(http.StatusOK, get, base+"/backups", h.analystA, nil, &bs)
	if len(bs) != 1 || !bs[0].HasRaw {
		t.Fatalf("backups %+v", bs)
	}

	raw := base + "/backups/" + r1.Backup.ID + "/raw"
	h.wantProblem(http.StatusForbidden, get, raw, h.analystA, nil)
	h.wantProblem(http.StatusNotFound, get, "/api/v1/tenants/globex/devices/"+d.AssetID+"/backups/"+r1.Backup.ID+"/raw", h.admin, nil)
	r := h.want(http.StatusOK, get, raw, h.adminA, nil, nil)
	if !strings.Contains(string(r.Body), "snmp-server community S3cr3tRO RO") {
		t.Fatalf("raw body %q", r.Body)
	}

	r = h.want(http.StatusOK, get, base+"/history?format=csv", h.analystA, nil, nil)
	if !strings.HasPrefix(string(r.Body), "version,id,taken_at,sha256") || !strings.Contains(string(r.Body), r1.Backup.SHA256) ||
		strings.Contains(string(r.Body), "S3cr3tRO") {
		t.Fatalf("csv %q", r.Body)
	}
	r = h.want(http.StatusOK, get, base+"/history", h.analystA, nil, nil)
	if !bytes.HasPrefix(r.Body, []byte("PK")) {
		t.Fatal("the default export is not a ZIP")
	}
	h.wantProblem(http.StatusNotFound, get, "/api/v1/tenants/globex/devices/"+d.AssetID+"/history", h.admin, nil)
}
