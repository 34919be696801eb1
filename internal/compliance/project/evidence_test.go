package project_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/vigil-sec/vigil/internal/asset"
	"github.com/vigil-sec/vigil/internal/attach"
	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/baseline"
	"github.com/vigil-sec/vigil/internal/baseline/hardening"
	"github.com/vigil-sec/vigil/internal/compliance"
	"github.com/vigil-sec/vigil/internal/compliance/project"
	"github.com/vigil-sec/vigil/internal/fixture"
	"github.com/vigil-sec/vigil/internal/store"
)

// debianPolicy is the CIS Debian 12 policy of the shared corpus, the
// policy the MLPS mappings name.
func debianPolicy(t *testing.T) *baseline.Policy {
	t.Helper()
	data, err := os.ReadFile("../../../../shared/corpus/wazuh-sca/debian/cis_debian12.yml")
	if err != nil {
		if os.Getenv("CI") == "" {
			t.Skip("corpus not present:", err)
		}
		t.Fatal(err)
	}
	p, err := baseline.Parse(data, "cis_debian12.yml")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// evaluateHost runs the policy against a host filesystem (no commands) and
// stores the run for the asset, as an uploaded evidence bundle would.
func evaluateHost(t *testing.T, env *fixture.Env, ctx context.Context, p *baseline.Policy, assetID string, host fstest.MapFS) (store.BaselineRun, *baseline.Report) {
	t.Helper()
	rep, err := baseline.Evaluate(ctx, p, baseline.Options{FS: host, IgnoreRequirements: true})
	if err != nil {
		t.Fatal(err)
	}
	run, err := env.Baseline.Record(ctx, env.TenantA.ID, hardening.RunInput{AssetID: assetID, Source: store.BaselineSourceBundle,
		PolicyID: p.ID, PolicyTitle: p.Name, Report: rep})
	if err != nil {
		t.Fatal(err)
	}
	return run, rep
}

func proposalOf(t *testing.T, ps []project.Proposal, item string) project.Proposal {
	t.Helper()
	i := slices.IndexFunc(ps, func(p project.Proposal) bool { return p.Item == item })
	if i < 0 {
		t.Fatalf("no proposal for %s", item)
	}
	return ps[i]
}

// TestProposalsFromStoredBaselineRuns evaluates the corpus CIS Debian 12
// policy on two hosts, stores the runs and checks the proposed results of
// the mapped level-3 items: worked out by hand for anchors, and for every
// mapped item from the engine's own per-check results.
func TestProposalsFromStoredBaselineRuns(t *testing.T) {
	t.Parallel()
	pol := debianPolicy(t)
	env := fixture.New(t)
	ctx := env.AdminCtx(t.Context())
	tn := env.TenantA.ID
	p, err := env.Assessments.Create(ctx, tn, project.ProjectInput{Name: "证据预填", System: "OA", Level: 3})
	if err != nil {
		t.Fatal(err)
	}
	db, err := env.Assets.Create(ctx, tn, asset.Input{Kind: "host", Name: "db-01", Address: "10.0.0.7", Importance: 4})
	if err != nil {
		t.Fatal(err)
	}
	// Host 1 has an empty filesystem; host 2 boots Linux without AppArmor,
	// which fails check 33040 (condition none over two grub.cfg rules).
	run1, rep1 := evaluateHost(t, env, ctx, pol, env.AssetA.ID, fstest.MapFS{})
	run2, rep2 := evaluateHost(t, env, ctx, pol, db.ID, fstest.MapFS{
		"boot/grub/grub.cfg": {Data: []byte("menuentry 'Debian' {\n\tlinux /vmlinuz-6.1 root=/dev/sda1 ro quiet\n}\n")}})
	if r := result(rep2, "33040"); r != baseline.Failed {
		t.Fatalf("host 2: check 33040 is %s, want failed", r)
	}

	// A new project covers every asset of the tenant; emptied, nothing is
	// evidence.
	if err := env.Assessments.SetScope(ctx, tn, p.ID, nil); err != nil {
		t.Fatal(err)
	}
	ps, err := env.Assessments.Proposals(ctx, tn, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, pr := range ps {
		if pr.Result != "" || len(pr.Links) != 0 || !strings.Contains(pr.Summary("en"), "no evidence yet") || !strings.Contains(pr.Summary("zh-CN"), "尚无证据") {
			t.Fatalf("without a scope %s proposes %q %v (%s)", pr.Item, pr.Result, pr.Links, pr.Summary("en"))
		}
	}
	if n := len(ps); n < 20 {
		t.Fatalf("%d proposals; the level-3 mappings name more items", n)
	}
	base := "/t/" + env.TenantA.Slug + "/operations/baseline/runs/"

	// Host 1 only. From its run (see the check results in the policy):
	// L3-CES1-01: 33199, 33300, 33301 passed, 33188 and five more failed,
	// 33185 not applicable → 部分符合; L3-CES1-07: 33212 failed → 不符合;
	// L3-CES1-11: 33040 passed, 33039 not applicable → 符合; L3-CES1-03:
	// its three checks run commands, not allowed → no evidence yet.
	if err := env.Assessments.SetScope(ctx, tn, p.ID, []string{env.AssetA.ID}); err != nil {
		t.Fatal(err)
	}
	ps, err = env.Assessments.Proposals(ctx, tn, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	for item, want := range map[string]string{"L3-CES1-01": store.ItemPartial, "L3-CES1-07": store.ItemNonConform,
		"L3-CES1-11": store.ItemConform, "L3-CES1-03": ""} {
		if got := proposalOf(t, ps, item).Result; got != want {
			t.Errorf("host 1: %s proposed %q, want %q", item, got, want)
		}
	}
	if pr := proposalOf(t, ps, "L3-CES1-11"); !slices.Equal(pr.Links, []string{base + run1.ID}) {
		t.Errorf("L3-CES1-11 links %v, want the run of host 1", pr.Links)
	}
	if pr := proposalOf(t, ps, "L3-CES1-03"); len(pr.Links) != 0 || !strings.Contains(pr.Summary("en"), "no evidence yet") {
		t.Errorf("L3-CES1-03 without decided checks: %v %s", pr.Links, pr.Summary("en"))
	}
	checkAgainstEngine(t, ps, rep1)

	// Both hosts: 33040 failed on host 2 makes L3-CES1-11 不符合.
	if err := env.Assessments.SetScope(ctx, tn, p.ID, []string{env.AssetA.ID, db.ID}); err != nil {
		t.Fatal(err)
	}
	ps, err = env.Assessments.Proposals(ctx, tn, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	pr := proposalOf(t, ps, "L3-CES1-11")
	if pr.Result != store.ItemNonConform {
		t.Errorf("both hosts: L3-CES1-11 proposed %q, want nonconform", pr.Result)
	}
	if want := []string{base + run1.ID, base + run2.ID}; !sameSet(pr.Links, want) {
		t.Errorf("L3-CES1-11 links %v, want %v", pr.Links, want)
	}
	checkAgainstEngine(t, ps, rep1, rep2)

	// A proposal is never a result by itself.
	items, err := env.Assessments.Items(ctx, tn, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != 0 {
		t.Fatalf("proposals recorded %d results", len(items))
	}
	// The assessor confirms one: it is recorded with its links.
	it, err := env.Assessments.SetItem(ctx, tn, p.ID, project.ItemInput{Item: pr.Item, Result: pr.Result, Evidence: pr.Summary("zh-CN"), Links: pr.Links})
	if err != nil {
		t.Fatal(err)
	}
	if it.Result != store.ItemNonConform || len(it.Links) != 2 {
		t.Fatalf("confirmed %+v", it)
	}

	// Vulnerability states: no finding at all is no evidence; a closed
	// finding shows scanning happened (符合); an open medium one is
	// 部分符合; an open high one 不符合.
	if pr := proposalOf(t, ps, "L3-CES1-21"); pr.Result != "" || pr.Scanned || !pr.FindingItem {
		t.Fatalf("L3-CES1-21 without findings: %+v", pr)
	}
	now := time.Now().UTC()
	finding := func(fp, sev string) store.VulnFinding {
		return store.VulnFinding{Fingerprint: fp, AssetID: db.ID, AssetKey: "10.0.0.7", IP: "10.0.0.7", Scanner: "nuclei", RuleID: fp,
			Title: fp, Severity: sev, DueAt: now.Add(240 * time.Hour)}
	}
	importFindings := func(fs ...store.VulnFinding) {
		t.Helper()
		if err := env.Store.Vulns().Import(ctx, store.VulnImport{Scan: &store.VulnScan{TenantID: tn, Scanner: "nuclei", Format: "nuclei"},
			Findings: fs, Initial: "new", Reopened: "reopened", At: now}); err != nil {
			t.Fatal(err)
		}
	}
	proposeVuln := func() project.Proposal {
		t.Helper()
		ps, err := env.Assessments.Proposals(ctx, tn, p.ID)
		if err != nil {
			t.Fatal(err)
		}
		return proposalOf(t, ps, "L3-CES1-21")
	}
	importFindings(finding("old-tls", "medium"))
	list, err := env.Store.Vulns().List(ctx, tn, store.VulnFilter{AssetID: db.ID})
	if err != nil || len(list) != 1 {
		t.Fatalf("findings %v %v", list, err)
	}
	if err := env.Store.Vulns().Change(ctx, tn, list[0].ID, store.VulnChange{From: "new", To: "verified-closed", ActorID: "u", At: now}); err != nil {
		t.Fatal(err)
	}
	if pr := proposeVuln(); pr.Result != store.ItemConform || pr.Open != 0 || !pr.Scanned {
		t.Errorf("only a closed finding: %+v", pr)
	}
	importFindings(finding("weak-cipher", "medium"))
	if pr := proposeVuln(); pr.Result != store.ItemPartial || pr.Open != 1 || pr.Severe != 0 {
		t.Errorf("an open medium finding: %q open %d severe %d", pr.Result, pr.Open, pr.Severe)
	}
	importFindings(finding("rce", "critical"))
	pr = proposeVuln()
	if pr.Result != store.ItemNonConform || pr.Open != 2 || pr.Severe != 1 || len(pr.Findings) != 2 || pr.Findings[0].Severity != "critical" {
		t.Errorf("an open critical finding: %q open %d severe %d %v", pr.Result, pr.Open, pr.Severe, pr.Findings)
	}
	if len(pr.Links) != 2 || !strings.HasPrefix(pr.Links[0], "/t/"+env.TenantA.Slug+"/vulnerabilities/") {
		t.Errorf("finding links %v", pr.Links)
	}
	if s := pr.Summary("en"); !strings.Contains(s, "2 open, 1 of them critical or high") {
		t.Errorf("summary %q", s)
	}

	// Scope and proposals are the tenant's.
	if err := env.Assessments.SetScope(ctx, tn, p.ID, []string{env.AssetB.ID}); fieldOf(err) != "assets" {
		t.Errorf("another tenant's asset in the scope: %v", err)
	}
	if _, err := env.Assessments.Proposals(ctx, env.TenantB.ID, p.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("tenant B reads A's proposals: %v", err)
	}
	if _, err := env.Assessments.Proposals(env.As(t.Context(), env.CustomerB), tn, p.ID); !errors.Is(err, auth.ErrForbidden) {
		t.Errorf("a customer of B reads A's proposals: %v", err)
	}
	scope, err := env.Assessments.Scope(ctx, tn, p.ID)
	if err != nil || len(scope) != 2 {
		t.Fatalf("scope %v %v", scope, err)
	}
}

func result(rep *baseline.Report, id string) baseline.Result {
	for _, c := range rep.Checks {
		if c.ID == id {
			return c.Result
		}
	}
	return ""
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

// checkAgainstEngine recomputes every baseline proposal from the engine's
// reports: a mapped check failed on any host is failed, one passed on some
// and failed on none is passed; all passed gives 符合, none passed 不符合,
// a mix 部分符合, none decided no result.
func checkAgainstEngine(t *testing.T, ps []project.Proposal, reps ...*baseline.Report) {
	t.Helper()
	cat, err := compliance.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, m := range cat.Mappings {
		if m.Source.Framework != "mlps2-l3" || len(m.Checks) == 0 {
			continue
		}
		passed, failed := 0, 0
		for _, c := range m.Checks {
			state := ""
			for _, rep := range reps {
				switch result(rep, strconv.Itoa(c.ID)) {
				case baseline.Failed:
					state = "failed"
				case baseline.Passed:
					if state == "" {
						state = "passed"
					}
				}
			}
			switch state {
			case "passed":
				passed++
			case "failed":
				failed++
			}
		}
		want := ""
		switch {
		case passed+failed == 0:
		case failed == 0:
			want = store.ItemConform
		case passed == 0:
			want = store.ItemNonConform
		default:
			want = store.ItemPartial
		}
		pr := proposalOf(t, ps, m.Source.ID)
		if pr.Result != want || len(pr.Passed) != passed || len(pr.Failed) != failed {
			t.Errorf("%s: proposed %q (%d passed, %d failed), the engine's results give %q (%d, %d)", m.Source.ID, pr.Result,
				len(pr.Passed), len(pr.Failed), want, passed, failed)
		}
		checked++
	}
	if checked < 15 {
		t.Fatalf("only %d mapped items checked", checked)
	}
}

// TestEvidenceFilesAndCoverage uploads evidence to items and watches the
// project's evidence coverage count them.
func TestEvidenceFilesAndCoverage(t *testing.T) {
	t.Parallel()
	env := fixture.New(t)
	ctx := env.AdminCtx(t.Context())
	tn := env.TenantA.ID
	p, err := env.Assessments.Create(ctx, tn, project.ProjectInput{Name: "证据", System: "OA", Level: 2})
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range []project.ItemInput{
		{Item: "L2-CES1-01", Result: "conform", Evidence: "口令策略截图"},
		{Item: "L2-CES1-02", Result: "nonconform"},
		{Item: "L2-CES1-03", Result: "partial", Object: "db-01"},
		{Item: "L2-PES1-01", Result: "na"},
	} {
		if _, err := env.Assessments.SetItem(ctx, tn, p.ID, in); err != nil {
			t.Fatal(err)
		}
	}
	coverage := func() project.Coverage {
		t.Helper()
		a, err := env.Assessments.Assess(ctx, tn, p.ID)
		if err != nil {
			t.Fatal(err)
		}
		c, err := env.Assessments.Coverage(ctx, a)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	// Three results count (不适用 does not); one has evidence text.
	if c := coverage(); c.Counted != 3 || c.WithEvidence != 1 {
		t.Fatalf("coverage %+v, want 1 of 3", c)
	}
	owner, err := env.Assessments.EvidenceOwner(ctx, tn, p.ID, "L2-CES1-02")
	if err != nil {
		t.Fatal(err)
	}
	if owner.Kind != project.EvidenceKind || owner.ID != p.ID+"/L2-CES1-02" {
		t.Fatalf("owner %+v", owner)
	}
	if _, err := env.Attachments.Add(ctx, auth.PermAssessWrite, owner, attach.Input{Name: "访谈记录.txt", Content: bytes.NewReader([]byte("已访谈管理员"))}); err != nil {
		t.Fatal(err)
	}
	c := coverage()
	if c.Counted != 3 || c.WithEvidence != 2 || c.Files["L2-CES1-02"] != 1 {
		t.Fatalf("after a file: %+v, want 2 of 3", c)
	}
	if want := 100 * 2.0 / 3.0; c.Percent != want {
		t.Errorf("percent %v, want %v", c.Percent, want)
	}
	for _, bad := range []string{"L2-XXX-01", "L2-CES1", ""} {
		if _, err := env.Assessments.EvidenceOwner(ctx, tn, p.ID, bad); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("owner of %q: %v", bad, err)
		}
	}
	if _, err := env.Assessments.EvidenceOwner(ctx, env.TenantB.ID, p.ID, "L2-CES1-02"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("tenant B's owner of A's item: %v", err)
	}
}

// TestCommunicationLog appends to a project's log: ordered by when things
// happened, validated, audited, and only through the project's tenant.
func TestCommunicationLog(t *testing.T) {
	t.Parallel()
	env := fixture.New(t)
	ctx := env.AdminCtx(t.Context())
	tn := env.TenantA.ID
	p, err := env.Assessments.Create(ctx, tn, project.ProjectInput{Name: "沟通", System: "OA", Level: 3})
	if err != nil {
		t.Fatal(err)
	}
	kickoff := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	if _, err := env.Assessments.AddCommunication(ctx, tn, p.ID, project.CommunicationInput{Kind: store.CommunicationDecision,
		At: kickoff.Add(48 * time.Hour), Participants: "李四", Text: "确认测评范围为核心业务系统"}); err != nil {
		t.Fatal(err)
	}
	if _, err := env.Assessments.AddCommunication(ctx, tn, p.ID, project.CommunicationInput{Kind: store.CommunicationMeeting,
		At: kickoff, Participants: "张三, 李四", Text: "项目启动会"}); err != nil {
		t.Fatal(err)
	}
	log, err := env.Assessments.Communications(ctx, tn, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(log) != 2 || log[0].Text != "项目启动会" || log[1].Kind != store.CommunicationDecision || log[0].CreatedBy != env.Admin.ID {
		t.Fatalf("log %+v", log)
	}
	for _, bad := range []project.CommunicationInput{
		{Kind: "gossip", Text: "x"},
		{Kind: store.CommunicationNote, Text: "  "},
		{Kind: store.CommunicationNote, Text: strings.Repeat("字", project.MaxCommunication+1)},
		{Kind: store.CommunicationNote, Text: "x", Participants: "a\nb"},
		{Kind: store.CommunicationNote, Text: "x", At: time.Date(1999, 1, 1, 0, 0, 0, 0, time.UTC)},
	} {
		if _, err := env.Assessments.AddCommunication(ctx, tn, p.ID, bad); fieldOf(err) == "" {
			t.Errorf("%+v accepted: %v", bad, err)
		}
	}
	if _, err := env.Assessments.AddCommunication(ctx, env.TenantB.ID, p.ID, project.CommunicationInput{Kind: "note", Text: "x"}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("tenant B writes A's log: %v", err)
	}
	if _, err := env.Assessments.AddCommunication(env.As(t.Context(), env.CustomerB), tn, p.ID, project.CommunicationInput{Kind: "note", Text: "x"}); !errors.Is(err, auth.ErrForbidden) {
		t.Errorf("a customer of B writes A's log: %v", err)
	}
	entries, err := env.Store.Audit().List(ctx, store.AuditFilter{TenantID: tn, Action: "assessment.communication"})
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 2 {
		t.Fatalf("%d audit entries for 2 log entries", len(entries))
	}
}

// TestRemediateProject raises remediation items from the gaps of a
// project, once.
func TestRemediateProject(t *testing.T) {
	t.Parallel()
	env := fixture.New(t)
	ctx := env.AdminCtx(t.Context())
	tn := env.TenantA.ID
	p, err := env.Assessments.Create(ctx, tn, project.ProjectInput{Name: "整改", System: "OA", Level: 3})
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range []project.ItemInput{
		{Item: "L3-CES1-01", Result: "nonconform", Object: "db-01", Note: "弱口令", Remediation: "启用口令复杂度"},
		{Item: "L3-CES1-01", Result: "conform", Object: "web-01"},
		{Item: "L3-CES1-02", Result: "partial"},
		{Item: "L3-CES1-03", Result: "conform", HighRisk: true},                 // unresolved high risk
		{Item: "L3-CES1-05", Result: "partial", HighRisk: true, Resolved: true}, // a gap all the same
		{Item: "L3-PES1-01", Result: "na"},
	} {
		if _, err := env.Assessments.SetItem(ctx, tn, p.ID, in); err != nil {
			t.Fatal(err)
		}
	}
	n, err := env.Assessments.Remediate(ctx, tn, p.ID)
	if err != nil || n != 4 {
		t.Fatalf("raised %d, %v; want 4", n, err)
	}
	if n, err := env.Assessments.Remediate(ctx, tn, p.ID); err != nil || n != 0 {
		t.Fatalf("raised again %d, %v; want 0", n, err)
	}
	its, err := env.Assessments.Register().Remediations(ctx, tn, store.RemediationFilter{SourceID: p.ID})
	if err != nil {
		t.Fatal(err)
	}
	var refs []string
	for _, it := range its {
		refs = append(refs, it.SourceRef)
		if it.SourceRef == "L3-CES1-01@db-01" && (it.Level != "nonconform" || !strings.Contains(it.Detail, "启用口令复杂度") || !strings.Contains(it.Title, "db-01")) {
			t.Errorf("item %+v", it)
		}
		if it.SourceRef == "L3-CES1-03" && it.Level != "conform high-risk" {
			t.Errorf("high-risk item level %q", it.Level)
		}
	}
	if want := []string{"L3-CES1-01@db-01", "L3-CES1-02", "L3-CES1-03", "L3-CES1-05"}; !sameSet(refs, want) {
		t.Fatalf("raised %v, want %v", refs, want)
	}
}

// TestFindingItemsResolve checks that every item of evidence.yaml is an
// assessable requirement of its framework, and that each level names the
// "find known vulnerabilities and patch them" item of 安全计算环境.
func TestFindingItemsResolve(t *testing.T) {
	t.Parallel()
	cat, err := compliance.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	for fw, want := range map[string]string{"mlps2-l2": "L2-CES1-15", "mlps2-l3": "L3-CES1-21"} {
		items, err := project.FindingItems(fw)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Contains(items, want) {
			t.Errorf("%s: %v lacks %s", fw, items, want)
		}
		for _, id := range items {
			if n := cat.Framework(fw).Node(id); n == nil || !n.Assessable || !strings.Contains(n.Text, "漏洞") {
				t.Errorf("%s: %s is not an assessable item about vulnerabilities", fw, id)
			}
		}
	}
}
