package hardening_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/baseline"
	"github.com/vigil-sec/vigil/internal/baseline/hardening"
	"github.com/vigil-sec/vigil/internal/baseline/policies"
	"github.com/vigil-sec/vigil/internal/fixture"
	"github.com/vigil-sec/vigil/internal/report"
	"github.com/vigil-sec/vigil/internal/secret"
	"github.com/vigil-sec/vigil/internal/store"
	"github.com/vigil-sec/vigil/internal/tenant"
	"github.com/vigil-sec/vigil/internal/testenv"
)

// The fake server roots of the built-in policies' tests: a stock Debian
// server and the same server hardened, each with an EXPECT file listing
// the checks that do not pass.
const (
	stockRoot    = "../policies/testdata/roots/stock"
	hardenedRoot = "../policies/testdata/roots/hardened"
)

// expect reads the results an EXPECT file gives one policy's checks;
// unlisted checks pass, or wait for an assessor when they are manual.
func expect(t *testing.T, root, policy string, p *baseline.Policy) map[string]baseline.Result {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(root, "EXPECT"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]baseline.Result{}
	for _, c := range p.Checks {
		out[c.ID] = baseline.Passed
		if c.Manual {
			out[c.ID] = baseline.Manual
		}
	}
	for line := range strings.SplitSeq(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) >= 3 && f[0] == policy && !strings.HasPrefix(f[0], "#") {
			out[f[1]] = baseline.Result(f[2])
		}
	}
	return out
}

// bundle runs the collector script of a built-in policy with sh against a
// fake root, as an operator would on an isolated host, and returns the
// evidence tarball.
func bundle(t *testing.T, p *baseline.Policy, root string) []byte {
	t.Helper()
	sh, err := exec.LookPath("sh")
	if err != nil {
		testenv.Missing(t, "sh")
	}
	abs, err := filepath.Abs(filepath.Join(root, "fs"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	var script bytes.Buffer
	if err := baseline.WriteCollector(&script, p, false); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "collect.sh"), script.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "evidence.tar.gz")
	cmd := exec.CommandContext(t.Context(), sh, filepath.Join(dir, "collect.sh"), "-o", out, "-r", abs) // #nosec G204 -- test's own script
	cmd.Env = append(os.Environ(), "TMPDIR="+dir)
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("collector: %v\n%s", err, msg)
	}
	data, err := os.ReadFile(out) // #nosec G304 -- the test's own file
	if err != nil {
		t.Fatal(err)
	}
	return data
}

type env struct {
	*fixture.Env
	svc    *hardening.Service
	admin  context.Context
	expert context.Context // a second person allowed to approve
	viewer context.Context // read-only in tenant A
}

func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{Env: fixture.New(t)}
	e.svc = hardening.NewService(e.Store, e.Audit, hardening.Options{Secrets: e.Secrets, SSHTimeout: time.Minute})
	e.admin = e.AdminCtx(context.Background())
	for _, u := range []struct {
		name, role string
		ctx        *context.Context
	}{{"expert-a", auth.RoleExpert, &e.expert}, {"viewer-a", auth.RoleCustomer, &e.viewer}} {
		usr, err := e.Tenants.CreateUser(e.admin, tenant.UserInput{Username: u.name, Password: fixture.Password})
		if err != nil {
			t.Fatal(err)
		}
		if err := e.Tenants.SetMembership(e.admin, usr.ID, e.TenantA.ID, u.role); err != nil {
			t.Fatal(err)
		}
		*u.ctx = e.As(context.Background(), usr)
	}
	return e
}

// score is passed / (passed + failed) as a percentage, the documented
// method (docs/baseline.md).
func score(results map[string]baseline.Result) (passed, failed int, pct float64) {
	for _, r := range results {
		switch r {
		case baseline.Passed:
			passed++
		case baseline.Failed:
			failed++
		}
	}
	return passed, failed, 100 * float64(passed) / float64(passed+failed)
}

// TestHardeningLoop walks the whole loop on one server with real
// evidence: the stock server's offline bundle is uploaded, a failed check
// gets a fix that its proposer cannot approve but a second person can,
// ops staff apply it, and the hardened server's bundle verifies it. Counts,
// scores and the diff are checked against the EXPECT files.
func TestHardeningLoop(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := e.admin
	p, err := policies.Open("openssh")
	if err != nil {
		t.Fatal(err)
	}
	before, after := expect(t, stockRoot, "openssh", p), expect(t, hardenedRoot, "openssh", p)
	stock, hardened := bundle(t, p, stockRoot), bundle(t, p, hardenedRoot)

	// Read-only users cannot record runs.
	if _, err := e.svc.Upload(e.viewer, e.TenantA.ID, e.AssetA.ID, "", bytes.NewReader(stock)); !errors.Is(err, auth.ErrForbidden) {
		t.Fatalf("viewer upload: %v, want forbidden", err)
	}
	// An asset of another tenant is refused.
	if _, err := e.svc.Upload(ctx, e.TenantA.ID, e.AssetB.ID, "", bytes.NewReader(stock)); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("other tenant's asset: %v", err)
	}

	run1, err := e.svc.Upload(ctx, e.TenantA.ID, e.AssetA.ID, "", bytes.NewReader(stock))
	if err != nil {
		t.Fatal(err)
	}
	wp, wf, wpct := score(before)
	if run1.Passed != wp || run1.Failed != wf || !run1.Scored || fmtPct(run1.Score) != fmtPct(wpct) {
		t.Errorf("stock run: %d passed %d failed %.2f%%, EXPECT says %d %d %.2f%%", run1.Passed, run1.Failed, run1.Score, wp, wf, wpct)
	}
	if run1.Source != store.BaselineSourceBundle || run1.PolicyID != p.ID || run1.PolicyVersion == "" {
		t.Errorf("run %+v", run1)
	}
	_, checks, err := e.svc.Run(ctx, e.TenantA.ID, run1.ID, store.BaselineCheckFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(checks) != len(p.Checks) {
		t.Fatalf("%d checks stored, the policy has %d", len(checks), len(p.Checks))
	}
	for _, c := range checks {
		if want := before[c.CheckID]; baseline.Result(c.Result) != want {
			t.Errorf("check %s: %s, EXPECT says %s", c.CheckID, c.Result, want)
		}
	}
	_, failed, err := e.svc.Run(ctx, e.TenantA.ID, run1.ID, store.BaselineCheckFilter{Result: "failed"})
	if err != nil || len(failed) != wf {
		t.Fatalf("failed filter: %d checks (%v), want %d", len(failed), err, wf)
	}

	// The hardening loop on the first failed check.
	target := failed[0].CheckID
	if _, err := e.svc.Propose(ctx, e.TenantA.ID, run1.ID, checks[slices.IndexFunc(checks, func(c store.BaselineCheck) bool {
		return c.Result == "passed"
	})].CheckID, ""); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("proposing a fix for a passing check: %v", err)
	}
	item, err := e.svc.Propose(ctx, e.TenantA.ID, run1.ID, target, "")
	if err != nil {
		t.Fatal(err)
	}
	fixes, err := policies.Fixes("openssh")
	if err != nil {
		t.Fatal(err)
	}
	if item.State != store.HardeningProposed || item.Fix != fixes[target] {
		t.Errorf("proposed %+v, want the policy's fix %q", item, fixes[target])
	}
	if _, err := e.svc.Propose(ctx, e.TenantA.ID, run1.ID, target, "x"); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("second open item: %v", err)
	}
	if _, err := e.svc.Decide(ctx, e.TenantA.ID, item.ID, true, "", 0); !errors.Is(err, hardening.ErrSelfApproval) || !errors.Is(err, auth.ErrForbidden) {
		t.Fatalf("self-approval: %v", err)
	}
	if _, err := e.svc.Decide(e.viewer, e.TenantA.ID, item.ID, true, "", 0); !errors.Is(err, auth.ErrForbidden) {
		t.Fatalf("viewer approval: %v", err)
	}
	if _, err := e.svc.Applied(ctx, e.TenantA.ID, item.ID, 0); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("applying an unapproved fix: %v", err)
	}
	if _, err := e.svc.Decide(e.expert, e.TenantA.ID, item.ID, true, "ok", item.Version+5); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("stale version: %v", err)
	}
	item, err = e.svc.Decide(e.expert, e.TenantA.ID, item.ID, true, "change window Sat 02:00", item.Version)
	if err != nil {
		t.Fatal(err)
	}
	if item.State != store.HardeningApproved || item.DecidedBy == item.ProposedBy || item.DecidedBy == "" {
		t.Fatalf("approved %+v", item)
	}
	if item, err = e.svc.Applied(ctx, e.TenantA.ID, item.ID, item.Version); err != nil || item.State != store.HardeningApplied {
		t.Fatalf("applied: %+v %v", item, err)
	}

	// The same server after hardening: every listed check passes.
	run2, err := e.svc.Upload(ctx, e.TenantA.ID, e.AssetA.ID, "openssh", bytes.NewReader(hardened))
	if err != nil {
		t.Fatal(err)
	}
	hp, hf, hpct := score(after)
	if run2.Passed != hp || run2.Failed != hf || fmtPct(run2.Score) != fmtPct(hpct) {
		t.Errorf("hardened run: %d/%d %.2f, EXPECT says %d/%d %.2f", run2.Passed, run2.Failed, run2.Score, hp, hf, hpct)
	}
	if item, err = e.svc.Hardening(ctx, e.TenantA.ID, item.ID); err != nil || item.State != store.HardeningVerified || item.VerifiedRunID != run2.ID {
		t.Fatalf("after the re-check: %+v %v", item, err)
	}

	// The diff lists as fixed exactly the checks EXPECT says were fixed.
	cmpr, err := e.svc.Compare(ctx, e.TenantA.ID, run2.ID, run1.ID) // order does not matter
	if err != nil {
		t.Fatal(err)
	}
	var wantFixed, gotFixed []string
	for id, r := range before {
		if r != baseline.Passed && after[id] == baseline.Passed {
			wantFixed = append(wantFixed, id)
		}
	}
	for _, c := range cmpr.Diff.NewlyPassing {
		gotFixed = append(gotFixed, c.ID)
	}
	slices.Sort(wantFixed)
	slices.Sort(gotFixed)
	if cmpr.From.ID != run1.ID || !slices.Equal(gotFixed, wantFixed) || len(cmpr.Diff.NewlyFailing) != 0 {
		t.Errorf("diff from %s: fixed %v, want %v; new failures %v", cmpr.From.ID, gotFixed, wantFixed, cmpr.Diff.NewlyFailing)
	}

	// Compliance: a second asset with results recorded by hand; the
	// tenant's figure weighs each asset by its decided checks.
	db, err := e.Assets.Create(ctx, e.TenantA.ID, assetInput("db-01"))
	if err != nil {
		t.Fatal(err)
	}
	manual := &baseline.Report{PolicyID: "vigil_postgresql", Checks: []baseline.CheckResult{
		{ID: "1", Result: baseline.Passed}, {ID: "2", Result: baseline.Passed}, {ID: "3", Result: baseline.Passed},
		{ID: "4", Result: baseline.Failed}, {ID: "5", Result: baseline.NotApplicable}}}
	if _, err := e.svc.Record(ctx, e.TenantA.ID, hardening.RunInput{AssetID: db.ID, Source: store.BaselineSourceManual, Report: manual}); err != nil {
		t.Fatal(err)
	}
	ov, err := e.svc.Overview(e.viewer, e.TenantA.ID)
	if !errors.Is(err, auth.ErrForbidden) {
		t.Errorf("a customer reads baseline compliance: %v", err)
	}
	if ov, err = e.svc.Overview(ctx, e.TenantA.ID); err != nil {
		t.Fatal(err)
	}
	if len(ov.Assets) != 2 || ov.Assets[0].Asset.ID != db.ID || ov.Assets[1].Asset.ID != e.AssetA.ID {
		t.Fatalf("overview assets %+v", ov.Assets)
	}
	if got := fmtPct(ov.Assets[0].Score); got != "75.00" {
		t.Errorf("db-01 compliance %s, want 75.00 (3 of 4 decided)", got)
	}
	if got, want := fmtPct(ov.Assets[1].Score), fmtPct(hpct); got != want {
		t.Errorf("web-01 compliance %s, want the latest run's %s", got, want)
	}
	if got, want := fmtPct(ov.Score), fmtPct(100*float64(hp+3)/float64(hp+hf+4)); got != want {
		t.Errorf("tenant compliance %s, want %s", got, want)
	}
	if tr := ov.Assets[1].Trend; len(tr) != 2 || fmtPct(tr[0]) != fmtPct(wpct) || fmtPct(tr[1]) != fmtPct(hpct) {
		t.Errorf("web-01 trend %v, want [%.2f %.2f]", tr, wpct, hpct)
	}
	// Another tenant sees none of it.
	if other, err := e.svc.Overview(ctx, e.TenantB.ID); err != nil || len(other.Assets) != 0 {
		t.Errorf("tenant B overview: %+v %v", other, err)
	}
	if _, _, err := e.svc.Run(ctx, e.TenantB.ID, run1.ID, store.BaselineCheckFilter{}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("run through tenant B: %v", err)
	}

	// The report renders in every format.
	doc, err := e.svc.ReportDocument(ctx, e.TenantA, "zh-CN")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []report.Format{report.FormatHTML, report.FormatXLSX} {
		var buf bytes.Buffer
		if err := report.Render(ctx, doc, f, &buf, report.Options{}); err != nil || buf.Len() == 0 {
			t.Errorf("render %s: %v", f, err)
		}
	}
	var html bytes.Buffer
	if err := report.Render(ctx, doc, report.FormatHTML, &html, report.Options{}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(html.String(), "web-01") || !strings.Contains(html.String(), "加固前后对比") {
		t.Error("the report lacks the asset or the before/after section")
	}
}

func fmtPct(v float64) string { return strings.TrimSpace(strings.TrimSuffix(fmtFloat(v), "%")) }

// TestUploadBadInput checks that what people upload is refused with a
// clear error and nothing is stored.
func TestUploadBadInput(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := e.admin
	for name, c := range map[string]struct {
		policy string
		data   []byte
	}{
		"empty":            {"openssh", nil},
		"not a bundle":     {"openssh", []byte("PermitRootLogin yes\n")},
		"broken gzip":      {"openssh", []byte{0x1f, 0x8b, 0, 1, 2}},
		"unknown policy":   {"<script>x</script>", []byte("hostname r1\n")},
		"device not utf-8": {"cisco-ios", []byte{0xff, 0xfe, 'x'}},
	} {
		if _, err := e.svc.Upload(ctx, e.TenantA.ID, e.AssetA.ID, c.policy, bytes.NewReader(c.data)); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("%s: %v, want invalid input", name, err)
		}
	}
	runs, err := e.svc.Runs(ctx, e.TenantA.ID, store.BaselineRunFilter{})
	if err != nil || len(runs) != 0 {
		t.Errorf("runs after bad uploads: %d %v", len(runs), err)
	}
	big := bytes.NewReader(make([]byte, hardening.MaxBundleBytes+1))
	if _, err := e.svc.Upload(ctx, e.TenantA.ID, e.AssetA.ID, "openssh", big); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("oversized upload: %v", err)
	}
	// A tenant without runs still gets a (empty) report, as the report
	// centre produces it on schedule.
	if _, err := e.svc.ReportDocument(ctx, e.TenantB, "en"); err != nil {
		t.Errorf("report without runs: %v", err)
	}
	// A device configuration is evaluated with the device policy.
	cfg, err := os.ReadFile("../policies/testdata/devices/cisco-ios-hardened.cfg")
	if err == nil {
		run, err := e.svc.Upload(ctx, e.TenantA.ID, e.AssetA.ID, "cisco-ios", bytes.NewReader(cfg))
		if err != nil || run.Passed == 0 {
			t.Errorf("device configuration: %+v %v", run, err)
		}
	}
}

// TestScheduledSSHCheck runs a schedule against a real sshd on loopback:
// the credential comes from the vault, the host key is pinned, the job
// records the run and moves the schedule on; a wrong pin records an error
// and no run.
func TestScheduledSSHCheck(t *testing.T) {
	t.Parallel()
	sshd := testenv.StartSSHD(t)
	e := newEnv(t)
	ctx := e.admin
	host, err := e.Assets.Create(ctx, e.TenantA.ID, assetInputAt("srv-ssh", sshd.Host))
	if err != nil {
		t.Fatal(err)
	}
	key, err := e.Secrets.Create(ctx, e.TenantA.ID, secret.Input{Name: "root key", Kind: "ssh-key", Value: sshd.UserKey})
	if err != nil {
		t.Fatal(err)
	}
	in := hardening.ScheduleInput{AssetID: host.ID, Policy: "openssh", Interval: 24 * time.Hour, SecretID: key.ID,
		Username: "root", Port: sshd.Port, HostKey: sshd.HostFingerprint, Enabled: true}
	if _, err := e.svc.SaveSchedule(e.viewer, e.TenantA.ID, "", in); !errors.Is(err, auth.ErrForbidden) {
		t.Fatalf("viewer schedule: %v", err)
	}
	bad := in
	bad.HostKey = "not a fingerprint"
	if _, err := e.svc.SaveSchedule(ctx, e.TenantA.ID, "", bad); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("unpinned schedule: %v", err)
	}
	keyB, err := e.Secrets.Create(ctx, e.TenantB.ID, secret.Input{Name: "b", Kind: "ssh-key", Value: sshd.UserKey})
	if err != nil {
		t.Fatal(err)
	}
	bad = in
	bad.SecretID = keyB.ID
	if _, err := e.svc.SaveSchedule(ctx, e.TenantA.ID, "", bad); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("another tenant's credential: %v", err)
	}
	sc, err := e.svc.SaveSchedule(ctx, e.TenantA.ID, "", in)
	if err != nil {
		t.Fatal(err)
	}
	// A second host whose pin is wrong.
	other, err := e.Assets.Create(ctx, e.TenantA.ID, assetInputAt("srv-wrong-pin", sshd.Host))
	if err != nil {
		t.Fatal(err)
	}
	wrong := in
	wrong.AssetID, wrong.HostKey = other.ID, "SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
	scWrong, err := e.svc.SaveSchedule(ctx, e.TenantA.ID, "", wrong)
	if err != nil {
		t.Fatal(err)
	}

	system := auth.WithPrincipal(context.Background(), &auth.Principal{Username: "system", UserID: "system", GlobalRole: auth.RoleAdmin})
	start := time.Now()
	n, err := e.svc.RunDue(system)
	if err != nil || n != 1 {
		t.Fatalf("RunDue: %d %v, want 1 run", n, err)
	}
	runs, err := e.svc.Runs(ctx, e.TenantA.ID, store.BaselineRunFilter{})
	if err != nil || len(runs) != 1 {
		t.Fatalf("runs: %d %v", len(runs), err)
	}
	p, err := policies.Open("openssh")
	if err != nil {
		t.Fatal(err)
	}
	run := runs[0]
	if run.AssetID != host.ID || run.Source != store.BaselineSourceSSH || run.CreatedBy != "system" ||
		run.Passed+run.Failed+run.NotApplicable+run.Errors+run.Manual != len(p.Checks) || run.Passed+run.Failed == 0 {
		t.Errorf("ssh run %+v (policy has %d checks)", run, len(p.Checks))
	}
	got, err := e.svc.Schedules(ctx, e.TenantA.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range got {
		switch s.ID {
		case sc.ID:
			if s.LastError != "" || s.LastAt.Before(start.Add(-time.Second)) || s.NextAt.Sub(s.LastAt) != 24*time.Hour {
				t.Errorf("schedule after its run: %+v", s)
			}
		case scWrong.ID:
			if !strings.Contains(s.LastError, "host key") || s.LastAt.IsZero() {
				t.Errorf("wrong pin: last error %q", s.LastError)
			}
		}
	}
	// Nothing is due again until the interval has passed.
	if n, err := e.svc.RunDue(system); err != nil || n != 0 {
		t.Errorf("second RunDue: %d %v", n, err)
	}
}
