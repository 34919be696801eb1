package hardening_test

import (
	"context"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/baseline/hardening"
	"github.com/vigil-sec/vigil/internal/baseline/policies"
	"github.com/vigil-sec/vigil/internal/device/backup"
	"github.com/vigil-sec/vigil/internal/device/devicetest"
	"github.com/vigil-sec/vigil/internal/secret"
	"github.com/vigil-sec/vigil/internal/store"
)

// TestScheduledDeviceCheck runs a schedule of the Cisco IOS policy against
// a scripted IOS CLI on loopback: the running configuration is fetched
// over SSH with the device backup engine, the run is stored like any
// other, its failures are the ones the sample configuration announces and
// no secret of the configuration reaches the stored evidence. A wrong pin
// records an error and no run.
func TestScheduledDeviceCheck(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile("../policies/testdata/devices/cisco-ios-weak.cfg")
	if err != nil {
		t.Fatal(err)
	}
	profiles, err := backup.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	prof := profiles["cisco-ios"]
	d := devicetest.StartSSH(t, &devicetest.SSHDevice{Prompt: "acc-sw07#", Pager: prof.PagerOff, Show: prof.ShowConfig,
		Config: "Building configuration...\n\n" + string(data)})
	host, portText, err := net.SplitHostPort(d.Addr)
	if err != nil {
		t.Fatal(err)
	}
	port, err := strconv.Atoi(portText)
	if err != nil {
		t.Fatal(err)
	}

	e := newEnv(t)
	ctx := e.admin
	sw, err := e.Assets.Create(ctx, e.TenantA.ID, assetInputAt("acc-sw07", host))
	if err != nil {
		t.Fatal(err)
	}
	other, err := e.Assets.Create(ctx, e.TenantA.ID, assetInputAt("acc-sw08", host))
	if err != nil {
		t.Fatal(err)
	}
	pw, err := e.Secrets.Create(ctx, e.TenantA.ID, secret.Input{Name: "switch login", Kind: "password", Value: []byte(devicetest.SSHPassword)})
	if err != nil {
		t.Fatal(err)
	}
	in := hardening.ScheduleInput{AssetID: sw.ID, Policy: "cisco-ios", Interval: 24 * time.Hour, SecretID: pw.ID,
		Username: devicetest.SSHUser, Port: port, HostKey: ssh.FingerprintSHA256(d.Key), Enabled: true}
	sc, err := e.svc.SaveSchedule(ctx, e.TenantA.ID, "", in)
	if err != nil {
		t.Fatal(err)
	}
	wrong := in
	wrong.AssetID, wrong.HostKey = other.ID, ssh.FingerprintSHA256(devicetest.NewSigner(t).PublicKey())
	scWrong, err := e.svc.SaveSchedule(ctx, e.TenantA.ID, "", wrong)
	if err != nil {
		t.Fatal(err)
	}

	system := auth.WithPrincipal(context.Background(), &auth.Principal{Username: "system", UserID: "system", GlobalRole: auth.RoleAdmin})
	n, err := e.svc.RunDue(system)
	if err != nil || n != 1 {
		t.Fatalf("RunDue: %d %v, want 1 run", n, err)
	}
	runs, err := e.svc.Runs(ctx, e.TenantA.ID, store.BaselineRunFilter{})
	if err != nil || len(runs) != 1 {
		t.Fatalf("runs: %d %v", len(runs), err)
	}
	run := runs[0]
	pol, err := policies.Open("cisco-ios")
	if err != nil {
		t.Fatal(err)
	}
	// The sample's own "expect-fail: ID" comments say which checks fail.
	wantFail := map[string]bool{}
	for _, l := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(strings.TrimLeft(l, "!# "), "expect-fail:"); ok {
			wantFail[strings.Fields(v)[0]] = true
		}
	}
	if run.AssetID != sw.ID || run.Source != store.BaselineSourceSSH || run.PolicyID != pol.ID ||
		run.Failed != len(wantFail) || run.Passed+run.Failed+run.NotApplicable+run.Errors+run.Manual != len(pol.Checks) {
		t.Errorf("device run %+v; want %d failures of %d checks", run, len(wantFail), len(pol.Checks))
	}
	_, checks, err := e.svc.Run(ctx, e.TenantA.ID, run.ID, store.BaselineCheckFilter{Limit: store.MaxPageSize})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range checks {
		if wantFail[c.CheckID] != (c.Result == "failed") {
			t.Errorf("check %s: %s, expected failing %v", c.CheckID, c.Result, wantFail[c.CheckID])
		}
		for _, ev := range c.Evidence {
			for _, s := range []string{"cisco123", "0822455D0A16", "121A0C041104", "n0c-rw"} {
				if strings.Contains(ev, s) {
					t.Errorf("check %s stored evidence shows secret %q", c.CheckID, s)
				}
			}
		}
	}
	got, err := e.svc.Schedules(ctx, e.TenantA.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range got {
		switch s.ID {
		case sc.ID:
			if s.LastError != "" || s.LastAt.IsZero() {
				t.Errorf("schedule after its run: %+v", s)
			}
		case scWrong.ID:
			if !strings.Contains(s.LastError, "host key") {
				t.Errorf("wrong pin: last error %q", s.LastError)
			}
		}
	}
}
