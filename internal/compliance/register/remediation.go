package register

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/compliance/risk"
	"github.com/vigil-sec/vigil/internal/ops"
	"github.com/vigil-sec/vigil/internal/report"
	"github.com/vigil-sec/vigil/internal/store"
	"github.com/vigil-sec/vigil/internal/workorder"
)

// Bounds of remediation texts, in characters.
const (
	MaxTitle  = 300
	MaxDetail = 4000
	MaxOwner  = 200
	MaxResult = 200 // what a re-verification found
	MaxNote   = 4000
	// MaxRaise bounds the items raised at once.
	MaxRaise = 5000
	// maxVerifications bounds the re-verifications read for one item or
	// one report.
	maxVerifications = 10_000
)

// RemediationStates are the states of an item in order.
func RemediationStates() []string {
	return []string{store.RemediationOpen, store.RemediationProgress, store.RemediationVerified, store.RemediationClosed}
}

// Gap is a finding of an assessment or a risk to be remediated.
type Gap struct {
	Ref    string // unique within its source: item@object or a scenario id
	Title  string
	Detail string
	Level  string // what was found: a result code or a risk level
}

// Raise creates a remediation item for each gap of a source that has none
// yet and returns how many it created. Gaps already raised are left as
// they are, so raising again after more results is safe.
func (s *Service) Raise(ctx context.Context, tenantID, kind, sourceID string, gaps []Gap) (int, error) {
	if err := auth.Require(ctx, auth.PermAssessWrite, tenantID); err != nil {
		return 0, err
	}
	if kind != store.RemediationFromAssessment && kind != store.RemediationFromRisk {
		return 0, fmt.Errorf("remediation: unknown source kind %q", kind)
	}
	if len(gaps) > MaxRaise {
		return 0, invalid("items", store.CodeTooMany, map[string]any{"max": MaxRaise}, "at most %d items are raised at once", MaxRaise)
	}
	actor := auth.FromContext(ctx).ActorID()
	created := 0
	for _, g := range gaps {
		it := store.RemediationItem{TenantID: tenantID, SourceKind: kind, SourceID: sourceID, SourceRef: report.Shorten(g.Ref, 300),
			Title: report.Shorten(oneLine(g.Title), MaxTitle), Detail: report.Shorten(g.Detail, MaxDetail), Level: report.Shorten(g.Level, 100),
			State: store.RemediationOpen, CreatedBy: actor}
		if err := s.store.Compliance().CreateRemediation(ctx, &it); err != nil {
			if errors.Is(err, store.ErrConflict) {
				continue
			}
			return created, err
		}
		created++
	}
	if created == 0 {
		return 0, nil
	}
	return created, s.record(ctx, tenantID, "remediation.raise", kind+":"+sourceID, map[string]any{"created": created, "gaps": len(gaps)})
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// RaiseFromRisks raises a remediation item for each high or very high risk
// of a risk assessment whose treatment is not acceptance, with the owner
// and due date of its decision.
func (s *Service) RaiseFromRisks(ctx context.Context, tenantID, id string) (int, error) {
	r, err := s.Risk(ctx, tenantID, id)
	if err != nil {
		return 0, err
	}
	var gaps []Gap
	decided := map[string]risk.Decision{}
	for _, e := range r.Result.Register {
		if e.Eval.Level != risk.High && e.Eval.Level != risk.VeryHigh {
			continue
		}
		if d := e.Decision; d != nil {
			if d.Treatment == risk.Accept {
				continue
			}
			decided[e.Scenario.ID] = *d
		}
		detail := fmt.Sprintf("%s / %s / %s — R=%d", e.Asset.Name, e.Threat.Name, e.Vulnerability.Name, e.Eval.R)
		if d := e.Decision; d != nil && d.Measure != "" {
			detail += "\n" + d.Measure
		}
		gaps = append(gaps, Gap{Ref: e.Scenario.ID, Title: e.Vulnerability.Name + " (" + e.Asset.Name + ")", Detail: detail, Level: string(e.Eval.Level)})
	}
	n, err := s.Raise(ctx, tenantID, store.RemediationFromRisk, id, gaps)
	if err != nil || len(decided) == 0 {
		return n, err
	}
	// Owners and due dates of the decisions carry over to new items.
	items, err := s.store.Compliance().ListRemediation(ctx, tenantID, store.RemediationFilter{SourceKind: store.RemediationFromRisk, SourceID: id,
		State: store.RemediationOpen, Page: store.Page{Limit: store.MaxPageSize}})
	if err != nil {
		return n, err
	}
	for _, it := range items {
		d, ok := decided[it.SourceRef]
		if !ok || it.Owner != "" || (d.Owner == "" && d.Due.IsZero()) {
			continue
		}
		it.Owner, it.Due = report.Shorten(oneLine(d.Owner), MaxOwner), d.Due
		if err := s.store.Compliance().UpdateRemediation(ctx, &it); err != nil {
			return n, err
		}
	}
	return n, nil
}

// Remediations returns a page of the tenant's remediation items.
func (s *Service) Remediations(ctx context.Context, tenantID string, f store.RemediationFilter) ([]store.RemediationItem, error) {
	if err := auth.Require(ctx, auth.PermAssessRead, tenantID); err != nil {
		return nil, err
	}
	if f.State != "" && !slices.Contains(RemediationStates(), f.State) {
		return nil, invalid("state", store.CodeOneOf, map[string]any{"allowed": RemediationStates()}, "unknown state")
	}
	return s.store.Compliance().ListRemediation(ctx, tenantID, f)
}

// Remediation returns one item with its re-verifications, oldest first.
func (s *Service) Remediation(ctx context.Context, tenantID, id string) (store.RemediationItem, []store.RemediationVerification, error) {
	if err := auth.Require(ctx, auth.PermAssessRead, tenantID); err != nil {
		return store.RemediationItem{}, nil, err
	}
	it, err := s.store.Compliance().GetRemediation(ctx, tenantID, id)
	if err != nil {
		return it, nil, err
	}
	vs, err := s.store.Compliance().Verifications(ctx, tenantID, store.VerificationFilter{ItemID: id, Limit: maxVerifications})
	return it, vs, err
}

// RemediationUpdate is what a person changes on an item. State may be
// open, in_progress or closed; verified comes only from a passing
// re-verification.
type RemediationUpdate struct {
	State string
	Owner string
	Due   time.Time // zero: none
}

// UpdateRemediation changes an item read at version (0: the current one).
func (s *Service) UpdateRemediation(ctx context.Context, tenantID, id string, version int, u RemediationUpdate) (store.RemediationItem, error) {
	if err := auth.Require(ctx, auth.PermAssessWrite, tenantID); err != nil {
		return store.RemediationItem{}, err
	}
	u.Owner = strings.TrimSpace(u.Owner)
	if err := checkText("owner", u.Owner, MaxOwner, false, true); err != nil {
		return store.RemediationItem{}, err
	}
	if u.State != store.RemediationOpen && u.State != store.RemediationProgress && u.State != store.RemediationClosed {
		return store.RemediationItem{}, invalid("state", store.CodeOneOf, map[string]any{"allowed": []string{store.RemediationOpen,
			store.RemediationProgress, store.RemediationClosed}}, "the state must be open, in_progress or closed; a passing re-verification verifies an item")
	}
	it, err := s.store.Compliance().GetRemediation(ctx, tenantID, id)
	if err != nil {
		return it, err
	}
	if version != 0 && version != it.Version {
		return it, fmt.Errorf("%w: the remediation item was changed by someone else", store.ErrConflict)
	}
	from := it.State
	it.State, it.Owner, it.Due = u.State, u.Owner, u.Due
	if err := s.store.Compliance().UpdateRemediation(ctx, &it); err != nil {
		return it, err
	}
	return it, s.record(ctx, tenantID, "remediation.update", "remediation:"+it.ID, map[string]any{"from": from, "to": it.State, "owner": it.Owner})
}

// WorkOrders opens work orders; *ops.Service is one.
type WorkOrders interface {
	Create(ctx context.Context, tenantID string, in ops.Input) (ops.Order, error)
}

var _ WorkOrders = (*ops.Service)(nil)

// OpenWorkOrder opens a remediation work order (整改工单) for an item that
// has none and links it; the item moves to in_progress.
func (s *Service) OpenWorkOrder(ctx context.Context, tenantID, id string, wo WorkOrders) (store.RemediationItem, ops.Order, error) {
	if err := auth.Require(ctx, auth.PermAssessWrite, tenantID); err != nil {
		return store.RemediationItem{}, ops.Order{}, err
	}
	if wo == nil {
		return store.RemediationItem{}, ops.Order{}, errors.New("remediation: work orders are not available")
	}
	it, err := s.store.Compliance().GetRemediation(ctx, tenantID, id)
	if err != nil {
		return it, ops.Order{}, err
	}
	if it.WorkOrderID != "" {
		return it, ops.Order{}, invalid("work_order", store.CodeOneOf, nil, "the item already has a work order")
	}
	o, err := wo.Create(ctx, tenantID, ops.Input{Type: workorder.TypeRemediation, Title: report.Shorten("整改 / Remediation: "+it.Title, 200),
		Description: it.Detail, SourceRef: "remediation:" + it.ID})
	if err != nil {
		return it, o, err
	}
	it.WorkOrderID = o.ID
	if it.State == store.RemediationOpen {
		it.State = store.RemediationProgress
	}
	if err := s.store.Compliance().UpdateRemediation(ctx, &it); err != nil {
		return it, o, err
	}
	return it, o, s.record(ctx, tenantID, "remediation.work_order", "remediation:"+it.ID, map[string]any{"work_order": o.ID, "ref": o.Ref})
}

// VerifyInput is a re-verification of an item.
type VerifyInput struct {
	After  string // what the verifier found, e.g. a result code or a risk level
	Passed bool
	Note   string
}

// Verify records a re-verification (复核): before is what was found last
// (the previous re-verification, else the gap as raised). A passing one
// verifies the item; a failing one puts a verified or closed item back in
// progress.
func (s *Service) Verify(ctx context.Context, tenantID, id string, in VerifyInput) (store.RemediationVerification, error) {
	if err := auth.Require(ctx, auth.PermAssessWrite, tenantID); err != nil {
		return store.RemediationVerification{}, err
	}
	in.After = strings.TrimSpace(in.After)
	if err := checkText("after", in.After, MaxResult, true, true); err != nil {
		return store.RemediationVerification{}, err
	}
	if err := checkText("note", in.Note, MaxNote, false, false); err != nil {
		return store.RemediationVerification{}, err
	}
	it, vs, err := s.Remediation(ctx, tenantID, id)
	if err != nil {
		return store.RemediationVerification{}, err
	}
	before := it.Level
	if len(vs) > 0 {
		before = vs[len(vs)-1].After
	}
	v := store.RemediationVerification{TenantID: tenantID, ItemID: it.ID, Before: before, After: in.After, Passed: in.Passed,
		Note: in.Note, VerifiedBy: auth.FromContext(ctx).ActorID()}
	if err := s.store.Compliance().AddVerification(ctx, &v); err != nil {
		return v, err
	}
	switch {
	case in.Passed:
		it.State = store.RemediationVerified
	case it.State != store.RemediationOpen:
		it.State = store.RemediationProgress
	}
	if err := s.store.Compliance().UpdateRemediation(ctx, &it); err != nil {
		return v, err
	}
	return v, s.record(ctx, tenantID, "remediation.verify", "remediation:"+it.ID, map[string]any{"before": v.Before, "after": v.After,
		"passed": v.Passed})
}

var reportWords = map[string]map[string]string{
	"en": {"title": "Remediation verification report", "period": "Period", "verified": "Items re-verified", "succeeded": "Passed",
		"failed": "Not yet remediated", "open": "Items still open", "table": "Before and after", "item": "Item", "source": "Source",
		"before": "Before", "after": "After", "result": "Result", "by": "Verified by", "when": "Verified", "note": "Note",
		"yes": "passed", "no": "not passed", "none": "No re-verification in this period.", "open_table": "Open remediation items",
		"state": "State", "owner": "Owner", "due": "Due", "assessment_item": "Assessment item", "risk": "Risk",
		"intro": "Each remediation item re-verified in the period, with what was found before remediation and at the last re-verification."},
	"zh-CN": {"title": "整改复核报告", "period": "报告期间", "verified": "已复核事项", "succeeded": "复核通过", "failed": "尚未整改到位",
		"open": "未关闭整改事项", "table": "整改前后对比", "item": "事项", "source": "来源", "before": "整改前", "after": "复核结果",
		"result": "结论", "by": "复核人", "when": "复核时间", "note": "说明", "yes": "通过", "no": "未通过",
		"none": "本期间没有复核记录。", "open_table": "未关闭的整改事项", "state": "状态", "owner": "责任人", "due": "期限",
		"assessment_item": "测评项", "risk": "风险",
		"intro": "列出本期间复核的每个整改事项，对比整改前发现的问题与最后一次复核的结果。"},
}

var stateWords = map[string]map[string]string{
	"en":    {store.RemediationOpen: "open", store.RemediationProgress: "in progress", store.RemediationVerified: "verified", store.RemediationClosed: "closed"},
	"zh-CN": {store.RemediationOpen: "待整改", store.RemediationProgress: "整改中", store.RemediationVerified: "已复核", store.RemediationClosed: "已关闭"},
}

// VerificationReport builds the remediation verification report of the
// tenant for [from, to): per item re-verified in the period, before and
// after, and the items still open.
func (s *Service) VerificationReport(ctx context.Context, t store.Tenant, from, to time.Time, lang string) (*report.Document, error) {
	if err := auth.Require(ctx, auth.PermAssessRead, t.ID); err != nil {
		return nil, err
	}
	if lang != "zh-CN" {
		lang = "en"
	}
	w := reportWords[lang]
	vs, err := s.store.Compliance().Verifications(ctx, t.ID, store.VerificationFilter{From: from, To: to, Limit: maxVerifications})
	if err != nil {
		return nil, err
	}
	// The last re-verification of each item in the period; before is what
	// was found when the item was raised.
	last := map[string]store.RemediationVerification{}
	var order []string
	for _, v := range vs {
		if _, seen := last[v.ItemID]; !seen {
			order = append(order, v.ItemID)
		}
		last[v.ItemID] = v
	}
	tbl := report.Table{Caption: w["table"], Columns: []string{w["item"], w["source"], w["before"], w["after"], w["result"], w["by"], w["when"], w["note"]}}
	passed := 0
	for _, id := range order {
		it, err := s.store.Compliance().GetRemediation(ctx, t.ID, id)
		if err != nil {
			return nil, err
		}
		v := last[id]
		res, emph := w["no"], report.EmphasisHigh
		if v.Passed {
			res, emph = w["yes"], report.EmphasisOK
			passed++
		}
		tbl.Rows = append(tbl.Rows, []string{report.CleanText(it.Title), w[it.SourceKind] + " " + report.CleanText(it.SourceRef),
			report.CleanText(it.Level), report.CleanText(v.After), res, s.person(ctx, v.VerifiedBy), v.VerifiedAt.UTC().Format("2006-01-02 15:04"),
			report.CleanText(report.Shorten(v.Note, 500))})
		tbl.Emphasis = append(tbl.Emphasis, emph)
	}
	open, err := s.store.Compliance().ListRemediation(ctx, t.ID, store.RemediationFilter{Page: store.Page{Limit: store.MaxPageSize}})
	if err != nil {
		return nil, err
	}
	openTbl := report.Table{Caption: w["open_table"], Columns: []string{w["item"], w["source"], w["before"], w["state"], w["owner"], w["due"]}}
	for _, it := range open {
		if it.State == store.RemediationVerified || it.State == store.RemediationClosed {
			continue
		}
		due := ""
		if !it.Due.IsZero() {
			due = it.Due.UTC().Format("2006-01-02")
		}
		openTbl.Rows = append(openTbl.Rows, []string{report.CleanText(it.Title), w[it.SourceKind] + " " + report.CleanText(it.SourceRef),
			report.CleanText(it.Level), stateWords[lang][it.State], report.CleanText(it.Owner), due})
	}
	period := from.UTC().Format("2006-01-02") + " – " + to.UTC().Add(-time.Second).Format("2006-01-02")
	doc := &report.Document{Title: w["title"], Subtitle: period, Tenant: t.Name, Lang: lang, Classification: "confidential",
		Summary: []report.KeyFigure{{Label: w["verified"], Value: strconv.Itoa(len(order))}, {Label: w["succeeded"], Value: strconv.Itoa(passed)},
			{Label: w["failed"], Value: strconv.Itoa(len(order) - passed)}, {Label: w["open"], Value: strconv.Itoa(len(openTbl.Rows))}}}
	sec := report.Section{Heading: w["table"], Paragraphs: []string{w["intro"]}, Tables: []report.Table{tbl}}
	if len(tbl.Rows) == 0 {
		sec = report.Section{Heading: w["table"], Paragraphs: []string{w["none"]}}
	}
	doc.Sections = append(doc.Sections, sec)
	if len(openTbl.Rows) > 0 {
		doc.Sections = append(doc.Sections, report.Section{Heading: w["open_table"], Tables: []report.Table{openTbl}})
	}
	return doc, nil
}

// person is a user's display name, or the ID when it cannot be read.
func (s *Service) person(ctx context.Context, id string) string {
	if id == "" {
		return ""
	}
	u, err := s.store.Users().Get(ctx, id)
	if err != nil {
		return report.CleanText(id)
	}
	return report.CleanText(cmp.Or(u.DisplayName, u.Username))
}
