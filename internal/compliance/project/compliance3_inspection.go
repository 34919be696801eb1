package project

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-sec/vigil/internal/attach"
	"github.com/vigil-sec/vigil/internal/audit"
	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/compliance"
	"github.com/vigil-sec/vigil/internal/report"
	"github.com/vigil-sec/vigil/internal/store"
)

// Compliance inspections (合规检查): a checklist — any framework of the
// standards library — run against assigned objects (assets) of a tenant,
// with a result, a note and evidence files per item and object, and an
// inspection report. Opening, running and closing inspections takes
// inspection.write (held by a regulator too), not assessment.write. A
// campaign runs the same checklist over several tenants: one inspection
// per tenant, grouped by the campaign name.

// InspectionEvidenceKind is the attachment kind of an inspection item's
// evidence files; the owner is "<inspection>/<item>".
const InspectionEvidenceKind = "inspection_item"

// Limits of an inspection.
const (
	MaxInspectionObjects = 200
	MaxInspectionNote    = 2000
	maxInspectionDoc     = 4 << 20
)

// InspectionObject is an assigned object: an asset of the tenant, kept
// with its name at the time it was assigned.
type InspectionObject struct {
	Asset string `json:"asset"`
	Name  string `json:"name"`
}

// InspectionResult is the result of one item on one object.
type InspectionResult struct {
	Item      string    `json:"item"`
	Object    string    `json:"object"` // asset ID
	Result    string    `json:"result"` // one of the store.Item* codes
	Note      string    `json:"note,omitempty"`
	CheckedBy string    `json:"checked_by,omitempty"`
	CheckedAt time.Time `json:"checked_at,omitzero"`
}

// InspectionDoc is the stored body of an inspection.
type InspectionDoc struct {
	Objects []InspectionObject `json:"objects"`
	Sampled bool               `json:"sampled,omitempty"` // the objects were drawn at random (a spot check)
	Results []InspectionResult `json:"results"`
}

// InspectionSummary counts an inspection's results.
type InspectionSummary struct {
	Expected   int            // items × objects
	Checked    int            // results recorded
	ByResult   map[string]int // per result code
	Counted    int            // results other than 不适用
	Compliance float64        // 100 × (符合 + 0.5 × 部分符合) / counted, 0 when none
}

// InspectionView is an inspection with its decoded body and summary.
type InspectionView struct {
	Meta      store.Inspection
	Doc       InspectionDoc
	Framework *compliance.Framework
	Summary   InspectionSummary
}

// Result returns the result of an item on an object, nil when none.
func (v *InspectionView) Result(item, object string) *InspectionResult {
	for i := range v.Doc.Results {
		if v.Doc.Results[i].Item == item && v.Doc.Results[i].Object == object {
			return &v.Doc.Results[i]
		}
	}
	return nil
}

// InspectionInput is what CreateInspection takes.
type InspectionInput struct {
	Name      string
	Campaign  string
	Framework string   // a framework of the standards library
	Objects   []string // asset IDs; none means every asset of the tenant
	// Sample, when above zero and Objects is empty, assigns that many
	// assets of the tenant drawn at random (a spot check).
	Sample int
}

func (s *Service) recordInspection(ctx context.Context, tenantID, action, id string, detail any) error {
	if s.audit == nil {
		return nil
	}
	return s.audit.Record(ctx, audit.Event{TenantID: tenantID, Action: action, Object: "inspection:" + id, Detail: detail})
}

// inspectionFramework returns a framework of the library with assessable
// items.
func (s *Service) inspectionFramework(id string) (*compliance.Framework, error) {
	cat, err := s.frameworks()
	if err != nil {
		return nil, err
	}
	fw := cat.Framework(id)
	if fw == nil || len(fw.Requirements()) == 0 {
		return nil, invalid("framework", store.CodeOneOf, map[string]any{"allowed": cat.IDs(), "value": quoteValue(id)},
			"the checklist must be a framework of the standards library")
	}
	return fw, nil
}

// objectsOf resolves asset IDs of the tenant (none: all its assets, at
// most MaxInspectionObjects).
func (s *Service) objectsOf(ctx context.Context, tenantID string, ids []string) ([]InspectionObject, error) {
	var out []InspectionObject
	if len(ids) == 0 {
		assets, err := s.store.Assets().List(ctx, tenantID, store.AssetFilter{Page: store.Page{Limit: MaxInspectionObjects}})
		if err != nil {
			return nil, err
		}
		for _, a := range assets {
			out = append(out, InspectionObject{Asset: a.ID, Name: a.Name})
		}
		return out, nil
	}
	for _, id := range ids {
		id = strings.TrimSpace(id)
		if id == "" || slices.ContainsFunc(out, func(o InspectionObject) bool { return o.Asset == id }) {
			continue
		}
		if len(out) == MaxInspectionObjects {
			return nil, invalid("objects", store.CodeTooMany, map[string]any{"max": MaxInspectionObjects}, "an inspection covers at most %d objects", MaxInspectionObjects)
		}
		a, err := s.store.Assets().Get(ctx, tenantID, id)
		if err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return nil, invalid("objects", store.CodeNotInTenant, nil, "an object is not one of this organisation's assets")
			}
			return nil, err
		}
		out = append(out, InspectionObject{Asset: a.ID, Name: a.Name})
	}
	return out, nil
}

// CreateInspection opens an inspection of a tenant.
func (s *Service) CreateInspection(ctx context.Context, tenantID string, in InspectionInput) (store.Inspection, error) {
	if err := auth.Require(ctx, auth.PermInspectWrite, tenantID); err != nil {
		return store.Inspection{}, err
	}
	in.Name, in.Campaign = strings.TrimSpace(in.Name), strings.TrimSpace(in.Campaign)
	if err := checkText("name", in.Name, MaxName, true, true); err != nil {
		return store.Inspection{}, err
	}
	if err := checkText("campaign", in.Campaign, MaxName, false, true); err != nil {
		return store.Inspection{}, err
	}
	fw, err := s.inspectionFramework(in.Framework)
	if err != nil {
		return store.Inspection{}, err
	}
	var objs []InspectionObject
	if in.Sample > 0 && len(in.Objects) == 0 {
		objs, err = s.sampleObjects(ctx, tenantID, in.Sample)
	} else {
		objs, err = s.objectsOf(ctx, tenantID, in.Objects)
	}
	if err != nil {
		return store.Inspection{}, err
	}
	doc, err := json.Marshal(InspectionDoc{Objects: objs, Sampled: in.Sample > 0 && len(in.Objects) == 0, Results: []InspectionResult{}})
	if err != nil {
		return store.Inspection{}, err
	}
	x := store.Inspection{TenantID: tenantID, Name: in.Name, Campaign: in.Campaign, Framework: fw.ID, State: store.InspectionOpen,
		Doc: doc, CreatedBy: auth.FromContext(ctx).ActorID()}
	if err := s.store.Compliance().CreateInspection(ctx, &x); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return x, invalid("name", store.CodeOneOf, nil, "an inspection of this organisation already has this name")
		}
		return x, err
	}
	return x, s.recordInspection(ctx, tenantID, "inspection.create", x.ID, map[string]any{"name": x.Name, "campaign": x.Campaign,
		"framework": x.Framework, "objects": len(objs), "sampled": in.Sample > 0 && len(in.Objects) == 0})
}

// ListInspections returns a page of the tenant's inspections.
func (s *Service) ListInspections(ctx context.Context, tenantID string, pg store.Page) ([]store.Inspection, error) {
	if err := auth.Require(ctx, auth.PermAssessRead, tenantID); err != nil {
		return nil, err
	}
	return s.store.Compliance().ListInspections(ctx, tenantID, pg)
}

// Inspection reads an inspection with its results and summary.
func (s *Service) Inspection(ctx context.Context, tenantID, id string) (*InspectionView, error) {
	if err := auth.Require(ctx, auth.PermAssessRead, tenantID); err != nil {
		return nil, err
	}
	meta, err := s.store.Compliance().GetInspection(ctx, tenantID, id)
	if err != nil {
		return nil, err
	}
	return s.inspectionView(meta)
}

func (s *Service) inspectionView(meta store.Inspection) (*InspectionView, error) {
	v := &InspectionView{Meta: meta}
	if err := json.Unmarshal(meta.Doc, &v.Doc); err != nil {
		return nil, fmt.Errorf("inspection %s: decode: %w", meta.ID, err)
	}
	v.Meta.Doc = nil
	fw, err := s.inspectionFramework(meta.Framework)
	if err != nil {
		return nil, fmt.Errorf("inspection %s: %w", meta.ID, err)
	}
	v.Framework = fw
	v.Summary = summarize(len(fw.Requirements())*len(v.Doc.Objects), v.Doc.Results)
	return v, nil
}

// summarize counts results: 符合 1, 部分符合 0.5, 不符合 0, 不适用 excluded.
func summarize(expected int, rs []InspectionResult) InspectionSummary {
	sum := InspectionSummary{Expected: expected, ByResult: map[string]int{}}
	for _, r := range rs {
		sum.Checked++
		sum.ByResult[r.Result]++
	}
	sum.Counted = sum.Checked - sum.ByResult[store.ItemNA]
	if sum.Counted > 0 {
		sum.Compliance = 100 * (float64(sum.ByResult[store.ItemConform]) + 0.5*float64(sum.ByResult[store.ItemPartial])) / float64(sum.Counted)
	}
	return sum
}

// editInspection applies fn to an open inspection read at version (0: the
// current one) and stores it.
func (s *Service) editInspection(ctx context.Context, tenantID, id string, version int, action string, detail map[string]any,
	fn func(v *InspectionView) error) (*InspectionView, error) {
	if err := auth.Require(ctx, auth.PermInspectWrite, tenantID); err != nil {
		return nil, err
	}
	meta, err := s.store.Compliance().GetInspection(ctx, tenantID, id)
	if err != nil {
		return nil, err
	}
	if version != 0 && version != meta.Version {
		return nil, fmt.Errorf("%w: the inspection was changed by someone else", store.ErrConflict)
	}
	v, err := s.inspectionView(meta)
	if err != nil {
		return nil, err
	}
	if err := fn(v); err != nil {
		return nil, err
	}
	doc, err := json.Marshal(v.Doc)
	if err != nil {
		return nil, err
	}
	if len(doc) > maxInspectionDoc {
		return nil, invalid("inspection", store.CodeTooLarge, map[string]any{"max": maxInspectionDoc}, "an inspection holds at most %d bytes of results", maxInspectionDoc)
	}
	meta.Doc, meta.State = doc, v.Meta.State
	if err := s.store.Compliance().UpdateInspection(ctx, &meta); err != nil {
		return nil, err
	}
	if err := s.recordInspection(ctx, tenantID, action, id, detail); err != nil {
		return nil, err
	}
	return s.inspectionView(meta)
}

// RecordInspectionResult records (or replaces) the result of an item on an
// assigned object of an open inspection.
func (s *Service) RecordInspectionResult(ctx context.Context, tenantID, id string, version int, r InspectionResult) (*InspectionView, error) {
	r.Item, r.Object, r.Note = strings.TrimSpace(r.Item), strings.TrimSpace(r.Object), strings.TrimSpace(r.Note)
	if err := checkText("note", r.Note, MaxInspectionNote, false, false); err != nil {
		return nil, err
	}
	code, err := resultCode(r.Result)
	if err != nil {
		return nil, err
	}
	r.Result = code
	return s.editInspection(ctx, tenantID, id, version, "inspection.result", map[string]any{"item": r.Item, "object": r.Object, "result": r.Result},
		func(v *InspectionView) error {
			if v.Meta.State != store.InspectionOpen {
				return invalid("state", store.CodeOneOf, nil, "the inspection is closed")
			}
			if n := v.Framework.Node(r.Item); n == nil || !n.Assessable {
				return invalid("item", store.CodeOneOf, nil, "no item %q in the checklist", quoteValue(r.Item))
			}
			if !slices.ContainsFunc(v.Doc.Objects, func(o InspectionObject) bool { return o.Asset == r.Object }) {
				return invalid("object", store.CodeOneOf, nil, "the object is not assigned to this inspection")
			}
			r.CheckedBy, r.CheckedAt = auth.FromContext(ctx).ActorID(), time.Now().UTC().Truncate(time.Second)
			v.Doc.Results = slices.DeleteFunc(v.Doc.Results, func(x InspectionResult) bool { return x.Item == r.Item && x.Object == r.Object })
			v.Doc.Results = append(v.Doc.Results, r)
			return nil
		})
}

// SetInspectionObjects replaces the assigned objects of an open
// inspection; results on objects no longer assigned are dropped.
func (s *Service) SetInspectionObjects(ctx context.Context, tenantID, id string, version int, assetIDs []string) (*InspectionView, error) {
	if err := auth.Require(ctx, auth.PermInspectWrite, tenantID); err != nil {
		return nil, err
	}
	if len(assetIDs) == 0 {
		return nil, invalid("objects", store.CodeRequired, nil, "assign at least one object")
	}
	objs, err := s.objectsOf(ctx, tenantID, assetIDs)
	if err != nil {
		return nil, err
	}
	return s.editInspection(ctx, tenantID, id, version, "inspection.objects", map[string]any{"objects": len(objs)}, func(v *InspectionView) error {
		if v.Meta.State != store.InspectionOpen {
			return invalid("state", store.CodeOneOf, nil, "the inspection is closed")
		}
		v.Doc.Objects = objs
		v.Doc.Results = slices.DeleteFunc(v.Doc.Results, func(x InspectionResult) bool {
			return !slices.ContainsFunc(objs, func(o InspectionObject) bool { return o.Asset == x.Object })
		})
		return nil
	})
}

// SetInspectionState opens or closes an inspection.
func (s *Service) SetInspectionState(ctx context.Context, tenantID, id string, version int, state string) (*InspectionView, error) {
	if err := oneOf("state", state, []string{store.InspectionOpen, store.InspectionClosed}); err != nil {
		return nil, err
	}
	return s.editInspection(ctx, tenantID, id, version, "inspection.state", map[string]any{"state": state}, func(v *InspectionView) error {
		v.Meta.State = state
		return nil
	})
}

// InspectionEvidenceOwner returns the attachment owner of the evidence
// files of an inspection item after checking the inspection is the
// tenant's and the item is on its checklist (store.ErrNotFound otherwise).
func (s *Service) InspectionEvidenceOwner(ctx context.Context, tenantID, id, item string) (attach.Owner, error) {
	v, err := s.Inspection(ctx, tenantID, id)
	if err != nil {
		return attach.Owner{}, err
	}
	n := v.Framework.Node(item)
	if n == nil || !n.Assessable {
		return attach.Owner{}, fmt.Errorf("item %q: %w", quoteValue(item), store.ErrNotFound)
	}
	return attach.Owner{TenantID: tenantID, Kind: InspectionEvidenceKind, ID: v.Meta.ID + "/" + n.ID}, nil
}

// InspectionReport builds the inspection report: the summary, the results
// by object and the non-conforming items.
func (s *Service) InspectionReport(ctx context.Context, t store.Tenant, id, lang string) (*report.Document, error) {
	if err := auth.Require(ctx, auth.PermReportRead, t.ID); err != nil {
		return nil, err
	}
	v, err := s.Inspection(ctx, t.ID, id)
	if err != nil {
		return nil, err
	}
	zh := lang != "en"
	tr := func(zhs, en string) string {
		if zh {
			return zhs
		}
		return en
	}
	resultName := func(code string) string {
		r := ResultOf(code)
		if zh {
			return string(r)
		}
		return r.English()
	}
	doc := &report.Document{Title: tr("合规检查报告", "Compliance inspection report"), Subtitle: v.Meta.Name, Tenant: t.Name,
		Lang: map[bool]string{true: "zh-CN", false: "en"}[zh]}
	fwName := v.Framework.Name
	if !zh && v.Framework.NameEn != "" {
		fwName = v.Framework.NameEn
	}
	doc.Summary = []report.KeyFigure{
		{Label: tr("检查依据", "Checklist"), Value: fwName},
		{Label: tr("检查对象", "Objects"), Value: strconv.Itoa(len(v.Doc.Objects))},
		{Label: tr("已检查", "Checked"), Value: fmt.Sprintf("%d / %d", v.Summary.Checked, v.Summary.Expected)},
		{Label: tr("符合率", "Compliance"), Value: fmt.Sprintf("%.1f %%", v.Summary.Compliance)},
	}
	if v.Meta.Campaign != "" {
		doc.Summary = append(doc.Summary, report.KeyFigure{Label: tr("检查活动", "Campaign"), Value: v.Meta.Campaign})
	}
	counts := report.Table{Columns: []string{tr("结果", "Result"), tr("数量", "Count")}}
	for _, code := range Results() {
		counts.Rows = append(counts.Rows, []string{resultName(code), strconv.Itoa(v.Summary.ByResult[code])})
	}
	doc.Sections = append(doc.Sections, report.Section{Heading: tr("检查结果概况", "Summary of results"), Tables: []report.Table{counts},
		Paragraphs: []string{tr("符合率 = (符合 + 0.5 × 部分符合) / (已检查项 − 不适用)。", "Compliance = (conform + 0.5 × partial) / (checked − not applicable).")}})
	objTable := report.Table{Columns: []string{tr("检查对象", "Object"), tr("已检查", "Checked"), tr("不符合", "Non-conform"), tr("符合率", "Compliance")}}
	for _, o := range v.Doc.Objects {
		var rs []InspectionResult
		for _, r := range v.Doc.Results {
			if r.Object == o.Asset {
				rs = append(rs, r)
			}
		}
		sum := summarize(len(v.Framework.Requirements()), rs)
		objTable.Rows = append(objTable.Rows, []string{o.Name, strconv.Itoa(sum.Checked), strconv.Itoa(sum.ByResult[store.ItemNonConform]),
			fmt.Sprintf("%.1f %%", sum.Compliance)})
	}
	doc.Sections = append(doc.Sections, report.Section{Heading: tr("按对象", "By object"), Tables: []report.Table{objTable}})
	gaps := report.Table{Columns: []string{tr("检查项", "Item"), tr("检查对象", "Object"), tr("结果", "Result"), tr("说明", "Note")}}
	names := map[string]string{}
	for _, o := range v.Doc.Objects {
		names[o.Asset] = o.Name
	}
	for _, r := range v.Doc.Results {
		if r.Result != store.ItemNonConform && r.Result != store.ItemPartial {
			continue
		}
		item := r.Item
		if n := v.Framework.Node(r.Item); n != nil {
			item += " " + report.Shorten(n.Description(doc.Lang), 200)
		}
		gaps.Rows = append(gaps.Rows, []string{item, names[r.Object], resultName(r.Result), report.Shorten(r.Note, 500)})
		if r.Result == store.ItemNonConform {
			gaps.Emphasis = append(gaps.Emphasis, report.EmphasisHigh)
		} else {
			gaps.Emphasis = append(gaps.Emphasis, report.EmphasisMedium)
		}
	}
	sec := report.Section{Heading: tr("问题与整改建议", "Issues and guidance")}
	if len(gaps.Rows) > 0 {
		sec.Tables = []report.Table{gaps}
	} else {
		sec.Paragraphs = []string{tr("未发现不符合项。", "No non-conforming item was found.")}
	}
	doc.Sections = append(doc.Sections, sec)
	return doc, nil
}
