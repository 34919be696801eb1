package drill

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-sec/vigil/internal/report"
)

// Area is where an improvement belongs.
type Area string

// The improvement areas of a drill summary.
const (
	AreaProducts     Area = "products"     // security products (IDS/IPS, WAF, EDR)
	AreaPolicies     Area = "policies"     // policies and rules (firewall, access)
	AreaSystem       Area = "system"       // the overall defence system (logging, SIEM rules)
	AreaPeople       Area = "people"       // people (monitoring, analysis skills)
	AreaCoordination Area = "coordination" // coordination (response, notification)
)

// Areas returns the improvement areas in report order.
func Areas() []Area {
	return []Area{AreaProducts, AreaPolicies, AreaSystem, AreaPeople, AreaCoordination}
}

// SlowDetection is the time to detect beyond which a detected case still
// counts as a gap (for the people area).
const SlowDetection = time.Hour

// Gap is a detection gap of an executed case: nothing or only a log saw it,
// or it was seen late, or not responded to. Score ranks gaps (higher is
// worse); Severity is critical, high, medium or low.
type Gap struct {
	Rank         int           `json:"rank"`
	CaseID       string        `json:"case_id"`
	Technique    string        `json:"technique"`
	Tactic       string        `json:"tactic,omitempty"`
	Name         string        `json:"name"`
	Level        Level         `json:"level"`
	Detect       time.Duration `json:"time_to_detect,omitempty"`
	Detected     bool          `json:"detected"`
	MissedLayers []Layer       `json:"missed_layers,omitempty"`
	Result       Result        `json:"result"`
	Targets      []string      `json:"targets,omitempty"`
	Kind         string        `json:"kind"` // undetected, logged_only, slow, no_response
	Area         Area          `json:"area"`
	Score        int           `json:"score"`
	Severity     string        `json:"severity"`
}

// RemediationItem is a gap turned into a work item for the tenant: what to
// fix, in which area, how urgently, on which assets.
type RemediationItem struct {
	Title     string   `json:"title"`
	Area      Area     `json:"area"`
	Priority  string   `json:"priority"`
	Technique string   `json:"technique"`
	CaseID    string   `json:"case_id"`
	Assets    []string `json:"assets,omitempty"`
	Advice    string   `json:"advice"`
}

// Gaps returns the detection gaps of the executed cases, worst first.
func (d *Drill) Gaps() []Gap {
	var gaps []Gap
	for _, o := range d.Outcomes() {
		if !o.Executed {
			continue
		}
		g := Gap{CaseID: o.Case.ID, Technique: o.Case.Technique, Tactic: o.Case.Tactic, Name: o.Case.Name, Level: o.Level,
			Detect: o.Detect, Detected: o.Detected, Result: o.Result, Targets: o.Targets}
		for _, lo := range o.Layers {
			if lo.Expected && lo.Level == LevelNone {
				g.MissedLayers = append(g.MissedLayers, lo.Layer)
			}
		}
		switch {
		case o.Level == LevelNone:
			g.Kind, g.Score = "undetected", 3
		case o.Level == LevelLogged:
			g.Kind, g.Score = "logged_only", 2
		case o.Detected && o.Detect > SlowDetection:
			g.Kind, g.Score = "slow", 1
		case o.Level == LevelAlerted && !o.Responded:
			g.Kind, g.Score = "no_response", 1
		default:
			continue
		}
		if o.Result.Data {
			g.Score += 3
		}
		if o.Result.Privilege {
			g.Score += 2
		}
		if o.Result.Foothold {
			g.Score++
		}
		g.Area = gapArea(g)
		switch {
		case g.Score >= 6:
			g.Severity = report.EmphasisCritical
		case g.Score >= 4:
			g.Severity = report.EmphasisHigh
		case g.Score >= 2:
			g.Severity = report.EmphasisMedium
		default:
			g.Severity = report.EmphasisLow
		}
		gaps = append(gaps, g)
	}
	slices.SortStableFunc(gaps, func(a, b Gap) int {
		return cmp.Or(cmp.Compare(b.Score, a.Score), cmp.Compare(len(b.MissedLayers), len(a.MissedLayers)), cmp.Compare(a.Technique, b.Technique))
	})
	for i := range gaps {
		gaps[i].Rank = i + 1
	}
	return gaps
}

// gapArea says where a gap is fixed: a slow or unanswered detection is a
// people or coordination matter; a log without an alert is a missing rule
// (system); an undetected case is fixed where the expected layers missed it.
func gapArea(g Gap) Area {
	switch g.Kind {
	case "slow":
		return AreaPeople
	case "no_response":
		return AreaCoordination
	case "logged_only":
		return AreaSystem
	}
	for _, l := range g.MissedLayers {
		switch l {
		case LayerIDSIPS, LayerWAF, LayerEDR:
			return AreaProducts
		}
	}
	for _, l := range g.MissedLayers {
		switch l {
		case LayerFirewall:
			return AreaPolicies
		case LayerSIEMRule:
			return AreaSystem
		case LayerManual:
			return AreaPeople
		}
	}
	return AreaSystem
}

var summaryWords = map[string]map[string]string{
	"en": {
		"title": "Attack/defence drill summary", "subtitle": "%s, %s to %s (UTC)",
		"f_planned": "Cases planned", "f_executed": "Cases executed", "f_detected": "Cases alerted or blocked",
		"f_rate": "Detection rate", "f_ttd": "Median time to detect", "f_attack": "Attacker points", "f_defence": "Defender points",
		"overview": "Overview", "overview_text": "The drill %q ran from %s to %s (UTC) with %d attacking, %d defending and %d directing teams. %d of %d planned cases were executed.",
		"roe": "Rules of engagement", "scope": "Scope", "kind": "Kind", "in": "In scope", "out": "Excluded",
		"cidrs": "Address ranges", "hosts": "Hosts", "assets": "Assets",
		"teams": "Teams", "team": "Team", "role": "Role", "unit": "Unit", "members": "Members",
		"tenants": "Per organisation", "tenants_text": "The drill covered %d organisations; each line counts only the attack records against that organisation and its own defending teams.",
		"org": "Organisation", "t_owner": "%s (organiser)", "t_records": "Attack records", "scope_of": "Scope of %s",
		"r_attacker": "attacker", "r_defender": "defender", "r_director": "director",
		"timeline": "Timeline", "time": "Time (UTC)", "event": "Event", "who": "Who", "what": "What",
		"e_state": "State", "e_attack": "Attack", "e_detect": "Detection", "e_report": "Report", "e_announce": "Announcement", "all_teams": "all teams",
		"state_change": "%s → %s", "timeline_cut": "Only the first %d timeline entries are listed.",
		"paths": "Attack paths", "path_of": "Path of %s", "path_text": "%s: %s", "from": "From", "target": "Target",
		"technique": "Technique", "result": "Result", "foothold": "foothold", "privilege": "privilege", "data": "data",
		"no_attacks": "No attack was recorded.", "evidence": "Evidence",
		"outcomes": "Outcomes per case and layer", "case": "Case", "tactic": "Tactic", "best": "Best", "ttd": "Time to detect",
		"ttr": "Time to respond", "not_run": "not run", "not_expected": "–",
		"by_tactic": "Executed cases by tactic and best defence level",
		"l_none":    "none", "l_logged": "logged", "l_alerted": "alerted", "l_blocked": "blocked",
		"gaps": "Detection gaps, worst first", "rank": "Rank", "missed": "Expected layers that missed", "severity": "Severity",
		"area": "Area", "gap_kind": "Gap", "no_gaps": "Every executed case was alerted or blocked in time and responded to.",
		"k_undetected": "not detected", "k_logged_only": "logged, no alert", "k_slow": "detected late", "k_no_response": "no response",
		"scores": "Scores", "points": "Points", "item": "Item", "ref": "Ref", "base": "Base", "percent": "%", "note": "Note",
		"score_lines": "How the points were made",
		"advice":      "Improvement advice", "a_products": "Security products", "a_policies": "Policies",
		"a_system": "Defence system", "a_people": "People", "a_coordination": "Coordination",
		"advice_none":      "No gap in this area came out of the drill.",
		"adv_products":     "%s (%s) was not detected by %s: check the product's signatures, coverage of %s and that its events reach the platform.",
		"adv_policies":     "%s (%s) passed the firewall on %s: tighten the access policy for the path used (least privilege between zones).",
		"adv_system":       "%s (%s) on %s left at most a log: add or tune a detection rule for the technique and check log collection from the hosts involved.",
		"adv_people":       "%s (%s) on %s was seen late or only by people: review the monitoring shifts, the alert queue and the analysts' playbook for this technique.",
		"adv_coordination": "%s (%s) on %s was alerted but not responded to: agree who contains what, and rehearse the hand-over between monitoring and response.",
		"remediation":      "Remediation items", "priority": "Priority", "title_col": "Item", "advice_col": "Advice",
		"rem_title": "Close the detection gap for %s (%s)",
		"reports":   "Defender reports", "reports_none": "No defender report was submitted.", "r_title": "Title", "r_records": "Attack records",
		"r_by": "Author", "r_accepted": "Accepted", "yes": "yes", "no": "no", "r_text": "Text",
		"rk_analysis": "analysis", "rk_response": "response", "rk_notification": "notification", "rk_coordination": "coordination", "rk_tracing": "tracing",
	},
	"zh-CN": {
		"title": "攻防演练总结报告", "subtitle": "%s，%s 至 %s（UTC）",
		"f_planned": "计划用例", "f_executed": "已执行用例", "f_detected": "已告警或阻断用例",
		"f_rate": "检出率", "f_ttd": "检出时间中位数", "f_attack": "攻击方得分", "f_defence": "防守方得分",
		"overview": "概述", "overview_text": "演练“%s”于 %s 至 %s（UTC）进行，攻击队 %d 支、防守队 %d 支、指挥组 %d 个。计划用例 %[8]d 个中已执行 %[7]d 个。",
		"roe": "交战规则", "scope": "演练范围", "kind": "类型", "in": "范围内", "out": "排除",
		"cidrs": "地址段", "hosts": "主机", "assets": "资产",
		"teams": "参演队伍", "team": "队伍", "role": "角色", "unit": "单位", "members": "人数",
		"tenants": "分单位情况", "tenants_text": "本次演练覆盖 %d 个单位；每行只统计针对该单位的攻击记录及其自身防守队伍的得分。",
		"org": "单位", "t_owner": "%s（组织方）", "t_records": "攻击记录", "scope_of": "%s 的范围",
		"r_attacker": "攻击方", "r_defender": "防守方", "r_director": "指挥方",
		"timeline": "时间线", "time": "时间（UTC）", "event": "事件", "who": "执行者", "what": "内容",
		"e_state": "状态", "e_attack": "攻击", "e_detect": "检出", "e_report": "报告", "e_announce": "通告", "all_teams": "全体队伍",
		"state_change": "%s → %s", "timeline_cut": "时间线仅列出前 %d 条。",
		"paths": "攻击路径", "path_of": "%s 的攻击路径", "path_text": "%s：%s", "from": "来源", "target": "目标",
		"technique": "技术", "result": "成果", "foothold": "立足点", "privilege": "权限", "data": "数据",
		"no_attacks": "未记录攻击。", "evidence": "证据",
		"outcomes": "各用例及防御层结果", "case": "用例", "tactic": "战术", "best": "最佳", "ttd": "检出时间",
		"ttr": "响应时间", "not_run": "未执行", "not_expected": "–",
		"by_tactic": "按战术及最佳防御结果统计已执行用例",
		"l_none":    "未发现", "l_logged": "有日志", "l_alerted": "已告警", "l_blocked": "已阻断",
		"gaps": "检测缺口（按严重程度排序）", "rank": "排名", "missed": "未生效的预期防御层", "severity": "严重程度",
		"area": "领域", "gap_kind": "缺口", "no_gaps": "所有已执行用例均被及时告警或阻断并已处置。",
		"k_undetected": "未发现", "k_logged_only": "仅有日志无告警", "k_slow": "发现滞后", "k_no_response": "未处置",
		"scores": "得分", "points": "得分", "item": "项目", "ref": "依据", "base": "基础分", "percent": "%", "note": "说明",
		"score_lines": "得分明细",
		"advice":      "改进建议", "a_products": "安全产品", "a_policies": "安全策略",
		"a_system": "防御体系", "a_people": "人员", "a_coordination": "协同联动",
		"advice_none":      "本次演练未发现该领域的缺口。",
		"adv_products":     "%s（%s）未被 %s 发现：请检查产品特征库、对 %s 的覆盖情况以及事件是否接入平台。",
		"adv_policies":     "%s（%s）在 %s 上穿透了防火墙：请按最小权限收紧所用路径的访问控制策略。",
		"adv_system":       "%s（%s）在 %s 上最多只留下日志：请为该技术新增或调优检测规则，并检查相关主机的日志采集。",
		"adv_people":       "%s（%s）在 %s 上发现滞后或仅靠人工发现：请复核值守排班、告警队列和该技术的研判手册。",
		"adv_coordination": "%s（%s）在 %s 上已告警但未处置：请明确处置分工，并演练监测与处置之间的交接。",
		"remediation":      "整改事项", "priority": "优先级", "title_col": "事项", "advice_col": "建议",
		"rem_title": "补齐 %s（%s）的检测缺口",
		"reports":   "防守方报告", "reports_none": "防守方未提交报告。", "r_title": "标题", "r_records": "关联攻击记录",
		"r_by": "提交人", "r_accepted": "已采纳", "yes": "是", "no": "否", "r_text": "内容",
		"rk_analysis": "研判分析", "rk_response": "应急处置", "rk_notification": "通报预警", "rk_coordination": "协同联动", "rk_tracing": "溯源反制",
	},
}

// short cleans untrusted text and cuts it to n runes, for report cells and
// headings.
func short(s string, n int) string { return cleanField(report.CleanText(s), n) }

func (w words) level(l Level) string { return w["l_"+l.String()] }

type words map[string]string

func (w words) result(r Result) string {
	var parts []string
	if r.Foothold {
		parts = append(parts, w["foothold"])
	}
	if r.Privilege {
		parts = append(parts, w["privilege"])
	}
	if r.Data {
		parts = append(parts, w["data"])
	}
	if len(parts) == 0 {
		return "–"
	}
	return strings.Join(parts, ", ")
}

func fmtDur(d time.Duration) string { return d.Round(time.Second).String() }

func fmtTime(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05") }

// advice returns the advice text of a gap.
func (w words) advice(g Gap) string {
	targets := short(strings.Join(g.Targets, ", "), 300)
	name := short(g.Name, 200)
	switch g.Area {
	case AreaProducts:
		var ls []string
		for _, l := range g.MissedLayers {
			if l == LayerIDSIPS || l == LayerWAF || l == LayerEDR {
				ls = append(ls, string(l))
			}
		}
		return fmt.Sprintf(w["adv_products"], name, g.Technique, strings.Join(ls, ", "), targets)
	case AreaPolicies:
		return fmt.Sprintf(w["adv_policies"], name, g.Technique, targets)
	case AreaPeople:
		return fmt.Sprintf(w["adv_people"], name, g.Technique, targets)
	case AreaCoordination:
		return fmt.Sprintf(w["adv_coordination"], name, g.Technique, targets)
	}
	return fmt.Sprintf(w["adv_system"], name, g.Technique, targets)
}

// Remediation turns the drill's gaps into work items, worst first.
func (d *Drill) Remediation(lang string) []RemediationItem {
	w := wordsFor(lang)
	var out []RemediationItem
	for _, g := range d.Gaps() {
		out = append(out, RemediationItem{Title: short(fmt.Sprintf(w["rem_title"], g.Name, g.Technique), MaxName), Area: g.Area,
			Priority: g.Severity, Technique: g.Technique, CaseID: g.CaseID, Assets: g.Targets, Advice: w.advice(g)})
	}
	return out
}

func wordsFor(lang string) words {
	if w, ok := summaryWords[lang]; ok {
		return w
	}
	return summaryWords["en"]
}

// maxTimeline bounds the timeline table of the summary.
const maxTimeline = 5_000

// Summary builds the drill summary report in lang ("en" or "zh-CN"):
// timeline, attack paths, outcomes per case and layer, ranked detection
// gaps, scores, improvement advice per area and remediation items. The
// document is validated before it is returned.
func (d *Drill) Summary(lang string, generated time.Time) (*report.Document, error) {
	if lang != "zh-CN" {
		lang = "en"
	}
	w := wordsFor(lang)
	scores, err := d.Score()
	if err != nil {
		return nil, err
	}
	outcomes := d.Outcomes()
	gaps := d.Gaps()
	day := func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04") }
	doc := &report.Document{Title: w["title"], Subtitle: short(fmt.Sprintf(w["subtitle"], d.Name, day(d.Window.Start), day(d.Window.End)), report.MaxShortText),
		Lang: lang, GeneratedAt: generated.UTC(), Classification: "TLP:AMBER"}

	executed, detected := 0, 0
	var ttds []time.Duration
	for _, o := range outcomes {
		if o.Executed {
			executed++
		}
		if o.Level >= LevelAlerted {
			detected++
		}
		if o.Detected {
			ttds = append(ttds, o.Detect)
		}
	}
	rate, ttd := "–", "–"
	if executed > 0 {
		rate = fmt.Sprintf("%d%%", detected*100/executed)
	}
	if len(ttds) > 0 {
		slices.Sort(ttds)
		ttd = fmtDur(ttds[len(ttds)/2])
	}
	sum := func(m map[string]int) int {
		t := 0
		for _, v := range m {
			t += v
		}
		return t
	}
	doc.Summary = []report.KeyFigure{
		{Label: w["f_planned"], Value: strconv.Itoa(len(d.Cases))},
		{Label: w["f_executed"], Value: strconv.Itoa(executed)},
		{Label: w["f_detected"], Value: strconv.Itoa(detected)},
		{Label: w["f_rate"], Value: rate},
		{Label: w["f_ttd"], Value: ttd},
		{Label: w["f_attack"], Value: strconv.Itoa(sum(scores.Attackers))},
		{Label: w["f_defence"], Value: strconv.Itoa(sum(scores.Defenders))},
	}

	// Overview: scope, rules of engagement, teams.
	roles := map[Role]int{}
	for _, t := range d.Teams {
		roles[t.Role]++
	}
	ov := report.Section{Heading: w["overview"], Paragraphs: []string{short(fmt.Sprintf(w["overview_text"], d.Name, day(d.Window.Start), day(d.Window.End),
		roles[RoleAttacker], roles[RoleDefender], roles[RoleDirector], executed, len(d.Cases)), report.MaxParagraph)}}
	if d.RulesOfEngagement != "" {
		ov.Sections = append(ov.Sections, report.Section{Heading: w["roe"], Paragraphs: []string{short(d.RulesOfEngagement, report.MaxParagraph)}})
	}
	join := func(l []string) string { return short(strings.Join(l, ", "), report.MaxCell) }
	ov.Tables = append(ov.Tables, report.Table{Caption: w["scope"], Columns: []string{w["kind"], w["in"], w["out"]}, Rows: [][]string{
		{w["cidrs"], join(d.Scope.CIDRs), join(d.Scope.ExcludeCIDRs)},
		{w["hosts"], join(d.Scope.Hosts), join(d.Scope.ExcludeHosts)},
		{w["assets"], join(d.Scope.AssetIDs), join(d.Scope.ExcludeAssetIDs)}}})
	for _, p := range d.Participants {
		ov.Tables = append(ov.Tables, report.Table{Caption: short(fmt.Sprintf(w["scope_of"], d.TenantName(p.TenantID)), report.MaxCell),
			Columns: []string{w["kind"], w["in"], w["out"]}, Rows: [][]string{
				{w["cidrs"], join(p.Scope.CIDRs), join(p.Scope.ExcludeCIDRs)},
				{w["hosts"], join(p.Scope.Hosts), join(p.Scope.ExcludeHosts)},
				{w["assets"], join(p.Scope.AssetIDs), join(p.Scope.ExcludeAssetIDs)}}})
	}
	tt := report.Table{Caption: w["teams"], Columns: []string{w["team"], w["role"], w["unit"], w["members"]}}
	for _, t := range d.Teams {
		tt.Rows = append(tt.Rows, []string{short(t.Name, report.MaxCell), w["r_"+string(t.Role)], short(t.Unit, report.MaxCell), strconv.Itoa(len(t.Members))})
	}
	ov.Tables = append(ov.Tables, tt)
	doc.Sections = append(doc.Sections, ov)
	if len(d.Participants) > 0 {
		sec, err := d.tenantsSection(w)
		if err != nil {
			return nil, err
		}
		doc.Sections = append(doc.Sections, sec)
	}

	// Timeline.
	type entry struct {
		at              time.Time
		kind, who, what string
		order           int
	}
	var tl []entry
	for _, s := range d.StateLog {
		what := fmt.Sprintf(w["state_change"], s.From, s.To)
		if s.Reason != "" {
			what += ": " + s.Reason
		}
		tl = append(tl, entry{s.At, w["e_state"], s.By, what, 0})
	}
	for _, r := range d.Records {
		tl = append(tl, entry{r.At, w["e_attack"], r.Team, fmt.Sprintf("%s → %s (%s): %s", r.From, r.Target, r.Technique, r.What), 1})
	}
	for _, o := range d.Observed {
		tl = append(tl, entry{o.At, w["e_detect"], o.By, fmt.Sprintf("%s %s %s %s", o.RecordID, o.Layer, w.level(o.Level), o.Note), 2})
	}
	for _, rp := range d.Reports {
		tl = append(tl, entry{rp.At, w["e_report"], rp.Team, fmt.Sprintf("%s: %s", rp.Kind, rp.Title), 3})
	}
	for _, a := range d.Announcements {
		to := w["all_teams"]
		if a.To != "" {
			to = w["r_"+string(a.To)]
		}
		tl = append(tl, entry{a.At, w["e_announce"], a.By, to + ": " + a.Text, 4})
	}
	slices.SortStableFunc(tl, func(a, b entry) int { return cmp.Or(a.at.Compare(b.at), cmp.Compare(a.order, b.order)) })
	tlSec := report.Section{Heading: w["timeline"]}
	tlt := report.Table{Columns: []string{w["time"], w["event"], w["who"], w["what"]}}
	for i, e := range tl {
		if i == maxTimeline {
			tlSec.Paragraphs = append(tlSec.Paragraphs, fmt.Sprintf(w["timeline_cut"], maxTimeline))
			break
		}
		tlt.Rows = append(tlt.Rows, []string{fmtTime(e.at), e.kind, short(e.who, report.MaxCell), short(e.what, report.MaxCell)})
	}
	tlSec.Tables = append(tlSec.Tables, tlt)
	doc.Sections = append(doc.Sections, tlSec)

	// Attack paths, per attacking team.
	paths := report.Section{Heading: w["paths"]}
	for _, t := range d.Teams {
		if t.Role != RoleAttacker {
			continue
		}
		var steps []string
		pt := report.Table{Caption: short(fmt.Sprintf(w["path_of"], t.Name), report.MaxShortText),
			Columns: []string{w["time"], w["from"], w["target"], w["technique"], w["what"], w["result"], w["evidence"]}}
		for _, r := range sortRecords(d.Records) {
			if r.Team != t.Name {
				continue
			}
			if s := r.Target.String(); len(steps) == 0 || steps[len(steps)-1] != s {
				steps = append(steps, s)
			}
			if len(pt.Rows) < maxTimeline {
				pt.Rows = append(pt.Rows, []string{fmtTime(r.At), short(r.From, report.MaxCell), short(r.Target.String(), report.MaxCell),
					r.Technique, short(r.What, report.MaxCell), w.result(r.Result), short(strings.Join(r.Evidence, "\n"), report.MaxCell)})
			}
		}
		if len(pt.Rows) == 0 {
			continue
		}
		paths.Paragraphs = append(paths.Paragraphs, short(fmt.Sprintf(w["path_text"], t.Name, strings.Join(steps, " → ")), report.MaxParagraph))
		paths.Tables = append(paths.Tables, pt)
	}
	if len(paths.Tables) == 0 {
		paths.Paragraphs = []string{w["no_attacks"]}
	}
	doc.Sections = append(doc.Sections, paths)

	// Outcomes per case and layer.
	oc := report.Section{Heading: w["outcomes"]}
	cols := []string{w["case"], w["technique"], w["tactic"]}
	for _, l := range Layers() {
		cols = append(cols, string(l))
	}
	cols = append(cols, w["best"], w["ttd"], w["ttr"])
	ot := report.Table{Columns: cols}
	emph := map[Level]string{LevelNone: report.EmphasisCritical, LevelLogged: report.EmphasisMedium, LevelAlerted: report.EmphasisOK, LevelBlocked: report.EmphasisOK}
	byTactic := map[string][4]float64{}
	for _, o := range outcomes {
		row := []string{short(o.Case.Name, report.MaxCell), o.Case.Technique, o.Case.Tactic}
		for _, l := range Layers() {
			lo := o.Layer(l)
			switch {
			case !o.Executed:
				row = append(row, "")
			case !lo.Expected && lo.Level == LevelNone:
				row = append(row, w["not_expected"])
			default:
				row = append(row, w.level(lo.Level))
			}
		}
		if !o.Executed {
			row = append(row, w["not_run"], "", "")
			ot.Rows = append(ot.Rows, row)
			ot.Emphasis = append(ot.Emphasis, report.EmphasisInfo)
			continue
		}
		ttdS, ttrS := "–", "–"
		if o.Detected {
			ttdS = fmtDur(o.Detect)
		}
		if o.Responded {
			ttrS = fmtDur(o.Respond)
		}
		row = append(row, w.level(o.Level), ttdS, ttrS)
		ot.Rows = append(ot.Rows, row)
		ot.Emphasis = append(ot.Emphasis, emph[o.Level])
		tac := o.Case.Tactic
		if tac == "" {
			tac = "–"
		}
		v := byTactic[tac]
		v[o.Level]++
		byTactic[tac] = v
	}
	oc.Tables = append(oc.Tables, ot)
	if len(byTactic) > 0 {
		ch := report.Chart{Kind: report.ChartStackedBar, Title: w["by_tactic"]}
		for _, tac := range append(Tactics(), "–") {
			if _, ok := byTactic[tac]; ok {
				ch.Labels = append(ch.Labels, tac)
			}
		}
		for _, l := range []Level{LevelBlocked, LevelAlerted, LevelLogged, LevelNone} {
			s := report.Series{Name: w.level(l)}
			for _, tac := range ch.Labels {
				s.Values = append(s.Values, byTactic[tac][l])
			}
			ch.Series = append(ch.Series, s)
		}
		oc.Charts = append(oc.Charts, ch)
	}
	doc.Sections = append(doc.Sections, oc)

	// Gaps.
	gs := report.Section{Heading: w["gaps"]}
	if len(gaps) == 0 {
		gs.Paragraphs = []string{w["no_gaps"]}
	} else {
		gt := report.Table{Columns: []string{w["rank"], w["case"], w["technique"], w["gap_kind"], w["missed"], w["result"], w["severity"], w["area"]}}
		for _, g := range gaps {
			var ml []string
			for _, l := range g.MissedLayers {
				ml = append(ml, string(l))
			}
			gt.Rows = append(gt.Rows, []string{strconv.Itoa(g.Rank), short(g.Name, report.MaxCell), g.Technique, w["k_"+g.Kind],
				strings.Join(ml, ", "), w.result(g.Result), g.Severity, w["a_"+string(g.Area)]})
			gt.Emphasis = append(gt.Emphasis, g.Severity)
		}
		gs.Tables = append(gs.Tables, gt)
	}
	doc.Sections = append(doc.Sections, gs)

	// Defender reports, with the points each made.
	doc.Sections = append(doc.Sections, d.reportsSection(w, scores))

	// Scores.
	ss := report.Section{Heading: w["scores"]}
	for _, m := range []struct {
		role Role
		pts  map[string]int
	}{{RoleAttacker, scores.Attackers}, {RoleDefender, scores.Defenders}} {
		names := make([]string, 0, len(m.pts))
		for n := range m.pts {
			names = append(names, n)
		}
		slices.Sort(names)
		for _, n := range names {
			if len(ss.Figures) < report.MaxFigures {
				ss.Figures = append(ss.Figures, report.KeyFigure{Label: short(n, report.MaxShortText), Value: strconv.Itoa(m.pts[n]), Note: w["r_"+string(m.role)]})
			}
		}
	}
	lt := report.Table{Caption: w["score_lines"], Columns: []string{w["role"], w["team"], w["unit"], w["item"], w["ref"], w["base"], w["percent"], w["points"], w["note"]}}
	for _, l := range scores.Lines {
		if len(lt.Rows) >= maxTimeline {
			break
		}
		lt.Rows = append(lt.Rows, []string{w["r_"+string(l.Side)], short(l.Team, report.MaxCell), short(l.Unit, report.MaxCell), l.Item,
			short(l.Ref, report.MaxCell), strconv.Itoa(l.Base), strconv.Itoa(l.Percent), strconv.Itoa(l.Points), l.Note})
	}
	ss.Tables = append(ss.Tables, lt)
	doc.Sections = append(doc.Sections, ss)

	// Advice per area, and remediation items.
	adv := report.Section{Heading: w["advice"]}
	items := d.Remediation(lang)
	for _, a := range Areas() {
		sec := report.Section{Heading: w["a_"+string(a)]}
		for _, it := range items {
			if it.Area == a && len(sec.Paragraphs) < report.MaxParagraphs {
				sec.Paragraphs = append(sec.Paragraphs, short(it.Advice, report.MaxParagraph))
			}
		}
		if len(sec.Paragraphs) == 0 {
			sec.Paragraphs = []string{w["advice_none"]}
		}
		adv.Sections = append(adv.Sections, sec)
	}
	doc.Sections = append(doc.Sections, adv)
	if len(items) > 0 {
		rt := report.Table{Columns: []string{w["rank"], w["title_col"], w["area"], w["priority"], w["target"], w["advice_col"]}}
		for i, it := range items {
			rt.Rows = append(rt.Rows, []string{strconv.Itoa(i + 1), short(it.Title, report.MaxCell), w["a_"+string(it.Area)], it.Priority,
				short(strings.Join(it.Assets, ", "), report.MaxCell), short(it.Advice, report.MaxCell)})
			rt.Emphasis = append(rt.Emphasis, it.Priority)
		}
		doc.Sections = append(doc.Sections, report.Section{Heading: w["remediation"], Tables: []report.Table{rt}})
	}
	return doc, doc.Validate()
}

// reportsSection lists the defender reports in time order with the
// directing team's decision and the points each made under the scheme.
func (d *Drill) reportsSection(w words, scores *Scores) report.Section {
	sec := report.Section{Heading: w["reports"]}
	if len(d.Reports) == 0 {
		sec.Paragraphs = []string{w["reports_none"]}
		return sec
	}
	points := map[string]int{}
	for _, l := range scores.Lines {
		if l.Side == RoleDefender && strings.HasPrefix(l.Item, "report_") {
			points[l.Ref] += l.Points
		}
	}
	reports := slices.Clone(d.Reports)
	slices.SortStableFunc(reports, func(a, b DefenceReport) int { return cmp.Or(a.At.Compare(b.At), cmp.Compare(a.ID, b.ID)) })
	t := report.Table{Columns: []string{w["time"], w["team"], w["kind"], w["r_title"], w["r_records"], w["r_by"], w["r_accepted"], w["points"], w["r_text"]}}
	for i, rp := range reports {
		if i == maxTimeline {
			break
		}
		acc, pts, emph := w["no"], "–", report.EmphasisInfo
		if rp.Accepted {
			acc, pts, emph = w["yes"], strconv.Itoa(points[rp.ID]), report.EmphasisOK
		}
		t.Rows = append(t.Rows, []string{fmtTime(rp.At), short(rp.Team, report.MaxCell), cmp.Or(w["rk_"+string(rp.Kind)], string(rp.Kind)),
			short(rp.Title, report.MaxCell), short(strings.Join(rp.Records(), ", "), report.MaxCell), short(rp.By, report.MaxCell), acc, pts,
			short(rp.Text, report.MaxCell)})
		t.Emphasis = append(t.Emphasis, emph)
	}
	sec.Tables = []report.Table{t}
	return sec
}
