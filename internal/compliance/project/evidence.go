package project

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"

	"go.yaml.in/yaml/v3"

	"github.com/vigil-sec/vigil/internal/attach"
	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/compliance"
	"github.com/vigil-sec/vigil/internal/compliance/register"
	"github.com/vigil-sec/vigil/internal/store"
	"github.com/vigil-sec/vigil/internal/vuln/lifecycle"
)

// EvidenceKind is the attachment kind of the evidence files of an
// assessment item; the owner is "<project>/<item>".
const EvidenceKind = store.RemediationFromAssessment

// MaxScope bounds the assets one project covers.
const MaxScope = 1000

// maxProposalFindings bounds the findings a proposal links to.
const maxProposalFindings = 10

//go:embed evidence.yaml
var evidenceYAML []byte

// findingItems maps a framework to the items whose evidence is the
// vulnerability state of the assessed assets.
var findingItems = sync.OnceValues(func() (map[string][]string, error) {
	var f struct {
		Findings map[string][]string `yaml:"findings"`
	}
	if err := yaml.Unmarshal(evidenceYAML, &f); err != nil {
		return nil, fmt.Errorf("evidence.yaml: %w", err)
	}
	return f.Findings, nil
})

// FindingItems returns the items of a framework that take their evidence
// from vulnerability findings.
func FindingItems(framework string) ([]string, error) {
	m, err := findingItems()
	if err != nil {
		return nil, err
	}
	return slices.Clone(m[framework]), nil
}

// Register returns the tenant's risk register and remediation service.
func (s *Service) Register() *register.Service { return s.register }

// EvidenceOwner returns the attachment owner of an item's evidence files
// after checking that the project is the tenant's and the item is one of
// its framework's requirement items (store.ErrNotFound otherwise).
func (s *Service) EvidenceOwner(ctx context.Context, tenantID, projectID, item string) (attach.Owner, error) {
	if err := auth.Require(ctx, auth.PermAssessRead, tenantID); err != nil {
		return attach.Owner{}, err
	}
	p, fw, err := s.project(ctx, tenantID, projectID)
	if err != nil {
		return attach.Owner{}, err
	}
	n := fw.Node(item)
	if n == nil || !n.Assessable {
		return attach.Owner{}, fmt.Errorf("item %q: %w", quoteValue(item), store.ErrNotFound)
	}
	return attach.Owner{TenantID: tenantID, Kind: EvidenceKind, ID: p.ID + "/" + n.ID}, nil
}

// Coverage is how much of a project's recorded results carry evidence.
type Coverage struct {
	Counted      int            // recorded results other than 不适用
	WithEvidence int            // of them, with evidence text, a link or a file on the item
	Files        map[string]int // evidence files per item, those attached for one assessed object included
	Percent      float64        // 100 × WithEvidence / Counted, 0 when nothing is counted
}

// Coverage counts the evidence of an assessment's recorded results: a
// result has evidence when it has evidence text or links, or when its item
// has at least one evidence file.
func (s *Service) Coverage(ctx context.Context, a *Assessment) (Coverage, error) {
	if err := auth.Require(ctx, auth.PermAssessRead, a.Project.TenantID); err != nil {
		return Coverage{}, err
	}
	files, err := s.store.Compliance().EvidenceCounts(ctx, a.Project.TenantID, a.Project.ID)
	if err != nil {
		return Coverage{}, err
	}
	// Files attached for one assessed object ("<item>@<asset>") count
	// for their item too.
	perItem := make(map[string]int, len(files))
	for key, n := range files {
		item, _, _ := strings.Cut(key, objectSep)
		perItem[item] += n
	}
	c := Coverage{Files: perItem}
	files = perItem
	for _, it := range a.Items {
		if it.Result == store.ItemNA {
			continue
		}
		c.Counted++
		if strings.TrimSpace(it.Evidence) != "" || len(it.Links) > 0 || files[it.Item] > 0 {
			c.WithEvidence++
		}
	}
	if c.Counted > 0 {
		c.Percent = 100 * float64(c.WithEvidence) / float64(c.Counted)
	}
	return c, nil
}

// SetScope sets the assets a project covers: the assets whose baseline
// runs and findings give its items evidence.
func (s *Service) SetScope(ctx context.Context, tenantID, projectID string, assetIDs []string) error {
	if err := auth.Require(ctx, auth.PermAssessWrite, tenantID); err != nil {
		return err
	}
	var ids []string
	for _, id := range assetIDs {
		if id = strings.TrimSpace(id); id != "" && !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	if len(ids) > MaxScope {
		return invalid("assets", store.CodeTooMany, map[string]any{"max": MaxScope}, "a project covers at most %d assets", MaxScope)
	}
	if _, err := s.store.Compliance().GetProject(ctx, tenantID, projectID); err != nil {
		return err
	}
	if err := s.store.Compliance().SetProjectAssets(ctx, tenantID, projectID, ids); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return invalid("assets", store.CodeNotInTenant, nil, "an asset is not this organisation's")
		}
		return err
	}
	return s.record(ctx, tenantID, "assessment.scope", projectID, map[string]any{"assets": len(ids)})
}

// Scope returns the assets a project covers.
func (s *Service) Scope(ctx context.Context, tenantID, projectID string) ([]store.Asset, error) {
	if err := auth.Require(ctx, auth.PermAssessRead, tenantID); err != nil {
		return nil, err
	}
	if _, err := s.store.Compliance().GetProject(ctx, tenantID, projectID); err != nil {
		return nil, err
	}
	ids, err := s.store.Compliance().ProjectAssets(ctx, tenantID, projectID)
	if err != nil {
		return nil, err
	}
	out := make([]store.Asset, 0, len(ids))
	for _, id := range ids {
		a, err := s.store.Assets().Get(ctx, tenantID, id)
		if err != nil {
			if errors.Is(err, store.ErrNotFound) {
				continue
			}
			return nil, err
		}
		out = append(out, a)
	}
	return out, nil
}

// Proposal is a result proposed for an item from the stored evidence of
// the project's assets; it is never recorded by itself: the assessor
// confirms or changes it.
type Proposal struct {
	Item string
	// Result is the proposed result code, "" when there is no evidence yet.
	Result string
	// Baseline evidence: the mapped checks by their state in the latest
	// runs (a check failed on any asset is failed), and those runs.
	Passed, Failed, Missing []compliance.BaselineCheck
	Runs                    []store.BaselineRun
	// Vulnerability evidence (for items in evidence.yaml): open findings,
	// of them critical or high, and whether any finding (in any state) is
	// recorded for the assets at all.
	FindingItem bool
	Open        int
	Severe      int
	Scanned     bool
	Findings    []store.VulnFinding // up to 10 open findings, most severe first
	// Links are site paths of the runs and findings, for the result.
	Links []string
}

// Summary is the proposal's evidence in one line, in lang.
func (p *Proposal) Summary(lang string) string {
	var parts []string
	zh := lang == "zh-CN"
	if len(p.Passed)+len(p.Failed)+len(p.Missing) > 0 {
		if zh {
			parts = append(parts, fmt.Sprintf("基线核查（%d 次最新核查）：%d 项通过，%d 项不通过，%d 项无结果", len(p.Runs), len(p.Passed), len(p.Failed), len(p.Missing)))
		} else {
			parts = append(parts, fmt.Sprintf("baseline (%d latest runs): %d checks passed, %d failed, %d without result", len(p.Runs), len(p.Passed), len(p.Failed), len(p.Missing)))
		}
	}
	if p.FindingItem {
		switch {
		case !p.Scanned && zh:
			parts = append(parts, "漏洞：资产无漏洞扫描记录")
		case !p.Scanned:
			parts = append(parts, "vulnerabilities: no finding recorded for the assets")
		case zh:
			parts = append(parts, fmt.Sprintf("漏洞：%d 个未关闭，其中严重/高危 %d 个", p.Open, p.Severe))
		default:
			parts = append(parts, fmt.Sprintf("vulnerabilities: %d open, %d of them critical or high", p.Open, p.Severe))
		}
	}
	if p.Result == "" {
		if zh {
			parts = append(parts, "尚无证据")
		} else {
			parts = append(parts, "no evidence yet")
		}
	}
	return strings.Join(parts, "；")
}

// worse is the worse of two proposed results; "" means no evidence.
func worse(a, b string) string {
	rank := map[string]int{store.ItemNonConform: 0, store.ItemPartial: 1, store.ItemConform: 2}
	switch {
	case a == "":
		return b
	case b == "":
		return a
	case rank[a] <= rank[b]:
		return a
	}
	return b
}

// Proposals proposes results for the project's items mapped to baseline
// checks (compliance mappings) or to vulnerability states (evidence.yaml),
// from the latest stored baseline run of each mapped policy on each asset
// of the project's scope and from the findings of those assets. An item
// without any such data is proposed with no result: "no evidence yet".
func (s *Service) Proposals(ctx context.Context, tenantID, projectID string) ([]Proposal, error) {
	if err := auth.Require(ctx, auth.PermAssessRead, tenantID); err != nil {
		return nil, err
	}
	p, _, err := s.project(ctx, tenantID, projectID)
	if err != nil {
		return nil, err
	}
	cat, err := s.frameworks()
	if err != nil {
		return nil, err
	}
	t, err := s.store.Tenants().Get(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	scope, err := s.store.Compliance().ProjectAssets(ctx, tenantID, p.ID)
	if err != nil {
		return nil, err
	}
	base := "/t/" + t.Slug

	// Baseline: the latest run of each mapped policy on each asset.
	policies := map[string]bool{}
	for _, m := range cat.Mappings {
		if m.Source.Framework == p.Framework {
			for _, c := range m.Checks {
				policies[c.Policy] = true
			}
		}
	}
	results := map[compliance.BaselineCheck]compliance.CheckStatus{}
	runChecks := map[string]map[compliance.BaselineCheck]bool{} // run ID -> decided checks
	var runs []store.BaselineRun
	if len(scope) > 0 && len(policies) > 0 {
		latest, err := s.store.Baseline().LatestRuns(ctx, tenantID)
		if err != nil {
			return nil, err
		}
		for _, r := range latest {
			if !policies[r.PolicyID] || !slices.Contains(scope, r.AssetID) {
				continue
			}
			checks, err := s.store.Baseline().Checks(ctx, tenantID, r.ID, store.BaselineCheckFilter{Limit: store.MaxPageSize})
			if err != nil {
				return nil, err
			}
			decided := map[compliance.BaselineCheck]bool{}
			for _, c := range checks {
				id, err := strconv.Atoi(c.CheckID)
				if err != nil {
					continue
				}
				k := compliance.BaselineCheck{Policy: r.PolicyID, ID: id}
				switch c.Result {
				case string(compliance.CheckPassed):
					if results[k] != compliance.CheckFailed {
						results[k] = compliance.CheckPassed
					}
				case string(compliance.CheckFailed):
					results[k] = compliance.CheckFailed
				default:
					continue
				}
				decided[k] = true
			}
			runChecks[r.ID] = decided
			runs = append(runs, r)
		}
	}
	byItem := map[string]*Proposal{}
	var order []string
	get := func(item string) *Proposal {
		if pr := byItem[item]; pr != nil {
			return pr
		}
		pr := &Proposal{Item: item}
		byItem[item] = pr
		order = append(order, item)
		return pr
	}
	for _, sg := range cat.Prefill(p.Framework, results) {
		pr := get(sg.Item.ID)
		pr.Result, pr.Passed, pr.Failed, pr.Missing = codeOrEmpty(sg.Result), sg.Passed, sg.Failed, sg.Missing
		for _, r := range runs {
			if slices.ContainsFunc(append(append([]compliance.BaselineCheck{}, sg.Passed...), sg.Failed...), func(c compliance.BaselineCheck) bool {
				return runChecks[r.ID][c]
			}) {
				pr.Runs = append(pr.Runs, r)
				pr.Links = append(pr.Links, base+"/operations/baseline/runs/"+r.ID)
			}
		}
	}

	// Vulnerability state of the scope's assets.
	items, err := FindingItems(p.Framework)
	if err != nil {
		return nil, err
	}
	if len(items) > 0 {
		var open []store.VulnFinding
		scanned := false
		for _, id := range scope {
			fs, err := s.store.Vulns().List(ctx, tenantID, store.VulnFilter{States: lifecycle.OpenStates(), AssetID: id, Page: store.Page{Limit: store.MaxPageSize}})
			if err != nil {
				return nil, err
			}
			open = append(open, fs...)
			if !scanned {
				n, err := s.store.Vulns().Count(ctx, tenantID, store.VulnFilter{AssetID: id})
				if err != nil {
					return nil, err
				}
				scanned = n > 0
			}
		}
		slices.SortStableFunc(open, func(a, b store.VulnFinding) int { return severityRank(b.Severity) - severityRank(a.Severity) })
		severe := 0
		for _, f := range open {
			if severityRank(f.Severity) >= severityRank("high") {
				severe++
			}
		}
		result := ""
		switch {
		case severe > 0:
			result = store.ItemNonConform
		case len(open) > 0:
			result = store.ItemPartial
		case scanned:
			result = store.ItemConform
		}
		for _, item := range items {
			pr := get(item)
			pr.FindingItem, pr.Open, pr.Severe, pr.Scanned = true, len(open), severe, scanned
			pr.Findings = open[:min(len(open), maxProposalFindings)]
			for _, f := range pr.Findings {
				pr.Links = append(pr.Links, base+"/vulnerabilities/"+f.ID)
			}
			if len(pr.Passed)+len(pr.Failed) == 0 {
				pr.Result = result
			} else {
				pr.Result = worse(pr.Result, result)
			}
		}
	}
	slices.Sort(order)
	out := make([]Proposal, 0, len(order))
	for _, id := range order {
		pr := byItem[id]
		if len(pr.Links) > MaxLinks {
			pr.Links = pr.Links[:MaxLinks]
		}
		out = append(out, *pr)
	}
	return out, nil
}

func codeOrEmpty(r compliance.Result) string {
	if r == "" {
		return ""
	}
	return codeOf(r)
}

func severityRank(s string) int {
	switch strings.ToLower(s) {
	case "critical":
		return 4
	case "high":
		return 3
	case "medium":
		return 2
	case "low":
		return 1
	}
	return 0
}
