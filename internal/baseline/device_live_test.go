package baseline_test

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/baseline"
	"github.com/vigil-sec/vigil/internal/baseline/policies"
	"github.com/vigil-sec/vigil/internal/device/backup"
	"github.com/vigil-sec/vigil/internal/device/devicetest"
)

func expectFailures(text string) map[string]bool {
	out := map[string]bool{}
	for _, l := range strings.Split(text, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimLeft(l, "!# "), "expect-fail:"); ok {
			out[strings.Fields(v)[0]] = true
		}
	}
	return out
}

// TestCheckDeviceLive logs into a scripted IOS-like device over SSH with
// the backup engine, evaluates the built-in Cisco IOS policy on the
// captured configuration, and compares with the sample's own expectations.
func TestCheckDeviceLive(t *testing.T) {
	data, err := os.ReadFile("policies/testdata/devices/cisco-ios-weak.cfg")
	if err != nil {
		t.Fatal(err)
	}
	profiles, err := backup.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	prof := profiles["cisco-ios"]
	pol, err := policies.Open("cisco-ios")
	if err != nil {
		t.Fatal(err)
	}
	// IOS prints "Building configuration..." before the configuration.
	d := devicetest.StartSSH(t, &devicetest.SSHDevice{Prompt: "acc-sw07#", Pager: prof.PagerOff, Show: prof.ShowConfig,
		Config: "Building configuration...\n\n" + string(data)})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	target := backup.Target{Addr: d.Addr, User: devicetest.SSHUser, Password: devicetest.SSHPassword, HostKey: d.Key, Timeout: 5 * time.Second}

	res, err := baseline.CheckDevice(ctx, baseline.DeviceCheck{Target: target, Profile: prof, Policy: pol})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Report.RequirementsMet {
		t.Fatalf("requirements not met: %v", res.Report.Requirements)
	}
	want := expectFailures(string(data))
	if len(want) == 0 {
		t.Fatal("sample lists no expected failures")
	}
	manual := map[string]bool{}
	for _, c := range pol.Checks {
		manual[c.ID] = c.Manual
	}
	for _, c := range res.Report.Checks {
		w := baseline.Passed
		if want[c.ID] {
			w = baseline.Failed
		}
		if manual[c.ID] {
			w = baseline.Manual // an assessor decides it, not the configuration
		}
		if c.Result != w {
			t.Errorf("check %s: %s, want %s (%q)", c.ID, c.Result, w, c.Evidence)
		}
		if c.ID == "70803" && !strings.Contains(strings.Join(c.Evidence, " "), `password 7 <masked>`) {
			t.Errorf("check 70803 evidence should quote the masked username line: %q", c.Evidence)
		}
		for _, ev := range c.Evidence {
			for _, secret := range []string{"cisco123", "0822455D0A16", "121A0C041104", "n0c-rw"} {
				if strings.Contains(ev, secret) {
					t.Errorf("check %s evidence shows secret %q: %s", c.ID, secret, ev)
				}
			}
		}
	}
	if strings.Contains(res.Config.Text, "Building configuration") || !strings.Contains(res.Config.Masked, "<masked>") {
		t.Errorf("config not cleaned or masked:\n%s", res.Config.Masked)
	}

	// A device presenting another key is refused before anything is sent.
	target.HostKey = devicetest.NewSigner(t).PublicKey()
	_, err = baseline.CheckDevice(ctx, baseline.DeviceCheck{Target: target, Profile: prof, Policy: pol})
	if !errors.Is(err, backup.ErrHostKeyChanged) {
		t.Errorf("other host key: err = %v, want ErrHostKeyChanged", err)
	}
	// Wrong password.
	target.HostKey, target.Password = d.Key, "wrong"
	if _, err = baseline.CheckDevice(ctx, baseline.DeviceCheck{Target: target, Profile: prof, Policy: pol}); err == nil {
		t.Error("wrong password accepted")
	}
	if _, err = baseline.CheckDevice(ctx, baseline.DeviceCheck{Target: target}); err == nil {
		t.Error("missing profile and policy accepted")
	}
}

// TestCheckDeviceLiveVRPComware runs the live check against scripted
// Huawei VRP and H3C Comware CLIs with the vendors' weak samples.
func TestCheckDeviceLiveVRPComware(t *testing.T) {
	profiles, err := backup.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		vendor, prompt string
		secrets        []string
	}{
		{"huawei-vrp", "<S5720-ACC3>", []string{"Huawei@123", "Oq8k2Yw", "K3pt$4q8"}},
		{"h3c-comware", "<F1000-EDGE>", []string{"H3c@2024", "Zx9Qw8Ty"}},
	} {
		t.Run(tc.vendor, func(t *testing.T) {
			data, err := os.ReadFile("policies/testdata/devices/" + tc.vendor + "-weak.cfg")
			if err != nil {
				t.Fatal(err)
			}
			prof := profiles[tc.vendor]
			pol, err := policies.Open(tc.vendor)
			if err != nil {
				t.Fatal(err)
			}
			d := devicetest.StartSSH(t, &devicetest.SSHDevice{Prompt: tc.prompt, Pager: prof.PagerOff, Show: prof.ShowConfig, Config: string(data)})
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			res, err := baseline.CheckDevice(ctx, baseline.DeviceCheck{Profile: prof, Policy: pol,
				Target: backup.Target{Addr: d.Addr, User: devicetest.SSHUser, Password: devicetest.SSHPassword, HostKey: d.Key, Timeout: 5 * time.Second}})
			if err != nil {
				t.Fatal(err)
			}
			if !res.Report.RequirementsMet {
				t.Fatalf("requirements not met: %v", res.Report.Requirements)
			}
			want := expectFailures(string(data))
			for i, c := range res.Report.Checks {
				w := baseline.Passed
				if want[c.ID] {
					w = baseline.Failed
				}
				if pol.Checks[i].Manual {
					w = baseline.Manual
				}
				if c.Result != w {
					t.Errorf("check %s: %s, want %s (%q)", c.ID, c.Result, w, c.Evidence)
				}
				for _, ev := range c.Evidence {
					for _, secret := range tc.secrets {
						if strings.Contains(ev, secret) {
							t.Errorf("check %s evidence shows secret %q: %s", c.ID, secret, ev)
						}
					}
				}
			}
		})
	}
}
