package compliance

import (
	"errors"
	"os"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

func builtin(t testing.TB) *Catalog {
	t.Helper()
	c, err := Builtin()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// The counts of control points per category are the structure of GB/T
// 22239-2019 clauses 7.1 and 8.1 (issue #11 gives the totals 68 and 71);
// the level-3 technical item counts agree with the GB/T 28448 item lists
// published by public checklist projects (PES 22, CNS 8, ABS 20, CES 34,
// SMC 12).
func TestMLPSCounts(t *testing.T) {
	c := builtin(t)
	cases := []struct {
		id          string
		cps, items  int
		cpsPerCat   map[string]int
		itemsPerCat map[string]int
	}{
		{"mlps2-l2", 68, 135,
			map[string]int{"L2-PES1": 10, "L2-CNS1": 3, "L2-ABS1": 6, "L2-CES1": 10, "L2-SMC1": 2, "L2-PSS1": 4, "L2-ORS1": 5, "L2-HRS1": 4, "L2-CMS1": 10, "L2-MMS1": 14},
			nil},
		{"mlps2-l3", 71, 211,
			map[string]int{"L3-PES1": 10, "L3-CNS1": 3, "L3-ABS1": 6, "L3-CES1": 11, "L3-SMC1": 4, "L3-PSS1": 4, "L3-ORS1": 5, "L3-HRS1": 4, "L3-CMS1": 10, "L3-MMS1": 14},
			map[string]int{"L3-PES1": 22, "L3-CNS1": 8, "L3-ABS1": 20, "L3-CES1": 34, "L3-SMC1": 12}},
	}
	for _, tc := range cases {
		f := c.Framework(tc.id)
		if f == nil {
			t.Fatalf("%s missing", tc.id)
		}
		n := f.Count()
		if n.Top != 10 || n.Second != tc.cps || n.Requirements != tc.items {
			t.Errorf("%s: %d categories, %d control points, %d items; want 10, %d, %d", tc.id, n.Top, n.Second, n.Requirements, tc.cps, tc.items)
		}
		for cat, want := range tc.cpsPerCat {
			if got := n.PerTop[cat][0]; got != want {
				t.Errorf("%s %s: %d control points, want %d", tc.id, cat, got, want)
			}
		}
		for cat, want := range tc.itemsPerCat {
			if got := n.PerTop[cat][1]; got != want {
				t.Errorf("%s %s: %d items, want %d", tc.id, cat, got, want)
			}
		}
		tech, mgmt := 0, 0
		for _, cat := range f.Nodes {
			switch cat.Group {
			case "technical":
				tech++
			case "management":
				mgmt++
			}
		}
		if tech != 5 || mgmt != 5 {
			t.Errorf("%s: %d technical and %d management categories, want 5 and 5", tc.id, tech, mgmt)
		}
	}
	// GB/T 28448 has no L3-CES1-16.
	if c.Framework("mlps2-l3").Node("L3-CES1-16") != nil {
		t.Error("L3-CES1-16 should not exist")
	}
	if n := c.Framework("mlps2-l3").Node("L3-CES1-C01"); n == nil || n.Name != "身份鉴别" || n.Ref != "8.1.4.1" {
		t.Errorf("L3-CES1-C01 = %+v, want 身份鉴别 at 8.1.4.1", n)
	}
}

// Control point names that the issue lists must appear exactly.
func TestMLPSControlPointNames(t *testing.T) {
	f := builtin(t).Framework("mlps2-l3")
	names := map[string]bool{}
	f.Walk(func(n, _ *Node, depth int) bool {
		if depth == 2 {
			names[n.Name] = true
		}
		return true
	})
	for _, want := range []string{"物理位置选择", "身份鉴别", "访问控制", "安全审计", "入侵防范", "恶意代码防范", "可信验证", "数据完整性", "数据保密性", "数据备份恢复", "剩余信息保护", "个人信息保护", "集中管控", "网络和系统安全管理", "外包运维管理"} {
		if !names[want] {
			t.Errorf("control point %s missing", want)
		}
	}
}

func TestISO27001Counts(t *testing.T) {
	f := builtin(t).Framework("iso27001-2022")
	n := f.Count()
	want := map[string]int{"5": 37, "6": 8, "7": 14, "8": 34}
	if n.Top != 4 || n.Requirements != 93 {
		t.Errorf("%d themes, %d controls; want 4, 93", n.Top, n.Requirements)
	}
	for theme, w := range want {
		if got := n.PerTop[theme][1]; got != w {
			t.Errorf("theme %s: %d controls, want %d", theme, got, w)
		}
	}
	if c := f.Node("8.5"); c == nil || c.NameEn != "Secure authentication" {
		t.Errorf("8.5 = %+v", c)
	}
}

func TestModules(t *testing.T) {
	c := builtin(t)
	for _, id := range []string{"mlps2-l3-cloud", "mlps2-l3-mobile", "mlps2-l3-iot", "mlps2-l3-ics"} {
		f := c.Framework(id)
		if f == nil || f.Extension == "" || f.Count().Requirements == 0 {
			t.Errorf("extension %s missing or empty", id)
			continue
		}
		for _, r := range f.Requirements() {
			if r.Name == "" || r.Text == "" || r.TextEn == "" {
				t.Errorf("%s %s: control point needs a name and both paraphrases", id, r.ID)
			}
		}
	}
	cii := c.Framework("gbt39204-2022")
	if cii == nil || cii.Count().Top != 6 {
		t.Fatalf("GB/T 39204 module should have 6 activities")
	}
	var names []string
	for _, n := range cii.Nodes {
		names = append(names, n.Name)
	}
	if got := strings.Join(names, ","); got != "分析识别,安全防护,检测评估,监测预警,主动防御,事件处置" {
		t.Errorf("GB/T 39204 activities = %s", got)
	}
}

// Every 身份鉴别/访问控制/安全审计/入侵防范/恶意代码防范/数据备份恢复 item of level-3
// 安全计算环境 is mapped to ISO, every target exists, and every baseline check
// exists in the CIS Debian 12 Wazuh SCA policy of the corpus.
func TestMappingsResolve(t *testing.T) {
	c := builtin(t)
	if err := c.CheckMappings(); err != nil {
		t.Fatal(err)
	}
	l3 := c.Framework("mlps2-l3")
	for _, cpName := range []string{"身份鉴别", "访问控制", "安全审计", "入侵防范", "恶意代码防范", "数据备份恢复"} {
		var cp *Node
		for _, n := range l3.Node("L3-CES1").Children {
			if n.Name == cpName {
				cp = n
			}
		}
		if cp == nil {
			t.Fatalf("control point %s missing", cpName)
		}
		for _, it := range cp.Children {
			m := c.MappingFor(Ref{"mlps2-l3", it.ID})
			if m == nil || len(m.Targets) == 0 {
				t.Errorf("%s (%s) is not mapped to ISO/IEC 27001", it.ID, cpName)
			}
		}
	}
	data, err := os.ReadFile("../../../shared/corpus/wazuh-sca/debian/cis_debian12.yml")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal(err)
		}
		t.Skip("corpus not present:", err)
	}
	var pol struct {
		Policy struct{ ID string } `yaml:"policy"`
		Checks []struct{ ID int }  `yaml:"checks"`
	}
	if err := yaml.Unmarshal(data, &pol); err != nil {
		t.Fatal(err)
	}
	known := map[int]bool{}
	for _, ch := range pol.Checks {
		known[ch.ID] = true
	}
	if pol.Policy.ID != "cis_debian12" || len(known) < 100 {
		t.Fatalf("policy %q with %d checks", pol.Policy.ID, len(known))
	}
	if err := c.CheckBaseline("cis_debian12", known); err != nil {
		t.Fatal(err)
	}
	mapped := 0
	for _, m := range c.Mappings {
		mapped += len(m.Checks)
	}
	t.Logf("%d mappings, %d baseline check links", len(c.Mappings), mapped)
	// ISO 8.7 (protection against malware) is covered by 恶意代码防范 at both levels.
	from := c.MappedFrom(Ref{"iso27001-2022", "8.7"})
	if len(from) != 2 || from[0] != (Ref{"mlps2-l2", "L2-CES1-16"}) || from[1] != (Ref{"mlps2-l3", "L3-CES1-23"}) {
		t.Errorf("MappedFrom(8.7) = %v", from)
	}
	// A check id that is not in the policy is reported.
	delete(known, 33185)
	if err := c.CheckBaseline("cis_debian12", known); err == nil || !strings.Contains(err.Error(), "33185") {
		t.Errorf("missing check not reported: %v", err)
	}
}

func TestPrefill(t *testing.T) {
	c := builtin(t)
	chk := func(id int) BaselineCheck { return BaselineCheck{"cis_debian12", id} }
	res := map[BaselineCheck]CheckStatus{}
	// L3-CES1-03 maps to 33159, 33165, 33168: all pass.
	for _, id := range []int{33159, 33165, 33168} {
		res[chk(id)] = CheckPassed
	}
	// L3-CES1-06 maps to 33172, 33173: one fails.
	res[chk(33172)], res[chk(33173)] = CheckPassed, CheckFailed
	// L3-CES1-15 maps to 33272, 33273: both fail.
	res[chk(33272)], res[chk(33273)] = CheckFailed, CheckFailed
	got := map[string]Suggestion{}
	for _, s := range c.Prefill("mlps2-l3", res) {
		got[s.Item.ID] = s
	}
	want := map[string]Result{"L3-CES1-03": Conform, "L3-CES1-06": PartlyConform, "L3-CES1-15": NotConform, "L3-CES1-01": ""}
	for id, r := range want {
		if got[id].Result != r {
			t.Errorf("%s: suggestion %q, want %q (%s)", id, got[id].Result, r, got[id].Evidence)
		}
	}
	if got["L3-CES1-01"].Evidence != "no evidence yet" {
		t.Errorf("L3-CES1-01 evidence = %q", got["L3-CES1-01"].Evidence)
	}
}

func TestValidateRejects(t *testing.T) {
	head := "id: x\nname: X\nkind: mlps\nlevel: 3\nnodes:\n"
	cat := "  - {id: L3-CES1, kind: category, group: technical, name: 安全计算环境, children: [{name: 身份鉴别, items: [%s]}]}\n"
	item := func(s string) string { return head + strings.Replace(cat, "%s", s, 1) }
	cases := map[string]string{
		"duplicate id":    item(`{id: L3-CES1-01, zh: a, en: a}, {id: L3-CES1-01, zh: b, en: b}`),
		"bad item id":     item(`{id: L3-CES-01, zh: a, en: a}`),
		"wrong category":  item(`{id: L3-ABS1-01, zh: a, en: a}`),
		"sequence":        item(`{id: L3-CES1-02, zh: a, en: a}, {id: L3-CES1-01, zh: b, en: b}`),
		"weight":          item(`{id: L3-CES1-01, w: 2, zh: a, en: a}`),
		"no english":      item(`{id: L3-CES1-01, zh: a}`),
		"unknown field":   item(`{id: L3-CES1-01, zh: a, en: a, colour: red}`),
		"wrong level":     strings.Replace(item(`{id: L3-CES1-01, zh: a, en: a}`), "level: 3", "level: 2", 1),
		"alias":           "a: &a [1,2]\nb: *a\n",
		"two documents":   item(`{id: L3-CES1-01, zh: a, en: a}`) + "---\nid: y\n",
		"empty":           "",
		"control char":    item("{id: L3-CES1-01, zh: \"a\\x01\", en: a}"),
		"no requirements": "id: x\nname: X\nnodes: []\n",
	}
	for name, src := range cases {
		_, err := ParseFramework(strings.NewReader(src))
		if !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: err = %v, want ErrInvalid", name, err)
		}
	}
	if _, err := ParseFramework(strings.NewReader(item(`{id: L3-CES1-01, zh: a, en: a}`))); err != nil {
		t.Errorf("valid framework refused: %v", err)
	}
}

// A customer's own framework in Vigil's YAML format loads, keeps its ids and
// can be scored.
func TestCustomFrameworkYAML(t *testing.T) {
	src := `id: acme-ops
name: 运维安全规范
name_en: Operations security standard
kind: custom
nodes:
  - id: OPS-1
    name: 账户
    children:
      - {id: OPS-1.1, zh: 运维账户实名并定期复核, en: Named operations accounts reviewed quarterly, w: 1}
      - {id: OPS-1.2, zh: 堡垒机统一登录, en: All logins through the bastion host, w: 0.5}
  - {id: OPS-2, name: 日志, zh: 日志集中保存一年, en: Keep logs centrally for a year}
`
	fw, err := ParseFramework(strings.NewReader(src))
	if err != nil {
		t.Fatal(err)
	}
	if n := fw.Count(); n.Top != 2 || n.Requirements != 3 || fw.Node("OPS-1").Assessable || !fw.Node("OPS-2").Assessable {
		t.Fatalf("counts %+v", n)
	}
	card, err := (WeightedScorer{}).Score(t.Context(), fw, []ItemResult{{Item: "OPS-1.1", Result: Conform}, {Item: "OPS-1.2", Result: NotConform}, {Item: "OPS-2", Result: PartlyConform}})
	if err != nil {
		t.Fatal(err)
	}
	// (1·1 + 0.5·0 + 1·0.5) / (1 + 0.5 + 1) = 60
	if card.Overall != 60 || card.Conclusion != Poor {
		t.Errorf("overall %v %s", card.Overall, card.Conclusion)
	}
}
