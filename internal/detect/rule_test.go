package detect

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"testing/fstest"
)

// ruleWith builds a rule document with the given detection block.
func ruleWith(detection string) string {
	return "title: t\nid: 00000000-0000-0000-0000-000000000001\nlogsource:\n  product: test\ndetection:\n" + detection
}

func mustRule(t *testing.T, detection string) *Rule {
	t.Helper()
	r, err := ParseRule([]byte(ruleWith(detection)))
	if err != nil {
		t.Fatalf("ParseRule: %v\n%s", err, detection)
	}
	return r
}

// matchBoth evaluates a rule on an event through the rule directly and
// through the indexed engine, and fails if they disagree.
func matchBoth(t *testing.T, r *Rule, raw map[string]any) bool {
	t.Helper()
	raw["logsource"] = map[string]any{"product": "test"}
	ev := NewEvent(raw)
	direct := r.Matches(ev)
	indexed := len(NewEngine([]*Rule{r}).Match(ev, nil)) == 1
	if direct != indexed {
		t.Fatalf("direct evaluation %v, indexed %v", direct, indexed)
	}
	return direct
}

type modCase struct {
	name      string
	detection string
	event     map[string]any
	want      bool
}

func TestModifiers(t *testing.T) {
	enc := base64.StdEncoding.EncodeToString
	utf16le := func(s string) string { return utf16Encode(s, false, false) }
	cases := []modCase{
		{"exact case-insensitive", "  sel:\n    Image: 'C:\\Windows\\cmd.exe'\n  condition: sel", map[string]any{"Image": `c:\windows\CMD.EXE`}, true},
		{"exact mismatch", "  sel:\n    Image: 'cmd.exe'\n  condition: sel", map[string]any{"Image": `x\cmd.exe`}, false},
		{"contains", "  sel:\n    CommandLine|contains: 'whoami'\n  condition: sel", map[string]any{"CommandLine": "cmd /c WhoAmI /all"}, true},
		{"startswith", "  sel:\n    CommandLine|startswith: 'cmd'\n  condition: sel", map[string]any{"CommandLine": "cmd /c"}, true},
		{"startswith no", "  sel:\n    CommandLine|startswith: 'cmd'\n  condition: sel", map[string]any{"CommandLine": "x cmd"}, false},
		{"endswith", "  sel:\n    Image|endswith: '\\cmd.exe'\n  condition: sel", map[string]any{"Image": `C:\x\cmd.exe`}, true},
		{"list is OR", "  sel:\n    Image|endswith:\n      - a.exe\n      - b.exe\n  condition: sel", map[string]any{"Image": "b.exe"}, true},
		{"all is AND", "  sel:\n    CommandLine|contains|all:\n      - a\n      - b\n  condition: sel", map[string]any{"CommandLine": "xax"}, false},
		{"all is AND ok", "  sel:\n    CommandLine|contains|all:\n      - a\n      - b\n  condition: sel", map[string]any{"CommandLine": "xaxb"}, true},
		{"cased", "  sel:\n    CommandLine|cased: 'Foo'\n  condition: sel", map[string]any{"CommandLine": "foo"}, false},
		{"cased ok", "  sel:\n    CommandLine|contains|cased: 'Foo'\n  condition: sel", map[string]any{"CommandLine": "xFoo"}, true},
		{"wildcard star", "  sel:\n    Image: '*\\te?t*.exe'\n  condition: sel", map[string]any{"Image": `C:\TEST1.exe`}, true},
		{"wildcard question mark needs a char", "  sel:\n    Image: 'a?c'\n  condition: sel", map[string]any{"Image": "ac"}, false},
		{"escaped star is literal", "  sel:\n    Image: 'a\\*c'\n  condition: sel", map[string]any{"Image": "abc"}, false},
		{"escaped star matches star", "  sel:\n    Image: 'a\\*c'\n  condition: sel", map[string]any{"Image": "a*c"}, true},
		{"escaped backslash then wildcard", "  sel:\n    Image: 'a\\\\*'\n  condition: sel", map[string]any{"Image": `a\zzz`}, true},
		{"re", "  sel:\n    CommandLine|re: '^cmd\\s+/c'\n  condition: sel", map[string]any{"CommandLine": "cmd   /c x"}, true},
		{"re is case-sensitive", "  sel:\n    CommandLine|re: '^CMD'\n  condition: sel", map[string]any{"CommandLine": "cmd"}, false},
		{"re i flag", "  sel:\n    CommandLine|re|i: '^CMD'\n  condition: sel", map[string]any{"CommandLine": "cmd"}, true},
		{"re m flag", "  sel:\n    CommandLine|re|m: '^b$'\n  condition: sel", map[string]any{"CommandLine": "a\nb\nc"}, true},
		{"re s flag", "  sel:\n    CommandLine|re|s: 'a.b'\n  condition: sel", map[string]any{"CommandLine": "a\nb"}, true},
		{"re without s", "  sel:\n    CommandLine|re: 'a.b'\n  condition: sel", map[string]any{"CommandLine": "a\nb"}, false},
		{"base64", "  sel:\n    Data|base64: 'hello'\n  condition: sel", map[string]any{"Data": enc([]byte("hello"))}, true},
		{"base64 contains", "  sel:\n    Data|base64|contains: 'hello'\n  condition: sel", map[string]any{"Data": "x" + enc([]byte("hello")) + "y"}, true},
		{"base64offset 0", "  sel:\n    Data|base64offset|contains: 'http://'\n  condition: sel", map[string]any{"Data": enc([]byte("http://evil"))}, true},
		{"base64offset 1", "  sel:\n    Data|base64offset|contains: 'http://'\n  condition: sel", map[string]any{"Data": enc([]byte("xhttp://evil"))}, true},
		{"base64offset 2", "  sel:\n    Data|base64offset|contains: 'http://'\n  condition: sel", map[string]any{"Data": enc([]byte("xyhttp://evil"))}, true},
		{"base64offset absent", "  sel:\n    Data|base64offset|contains: 'http://'\n  condition: sel", map[string]any{"Data": enc([]byte("xyhttps://evil"))}, false},
		{"wide base64offset", "  sel:\n    Data|wide|base64offset|contains: 'ping'\n  condition: sel", map[string]any{"Data": enc([]byte(utf16le("a ping b")))}, true},
		{"utf16le", "  sel:\n    Data|utf16le|contains: 'ab'\n  condition: sel", map[string]any{"Data": "x" + utf16le("ab")}, true},
		{"utf16be", "  sel:\n    Data|utf16be: 'ab'\n  condition: sel", map[string]any{"Data": "\x00a\x00b"}, true},
		{"utf16 with BOM", "  sel:\n    Data|utf16|base64: 'a'\n  condition: sel", map[string]any{"Data": enc([]byte("\xff\xfea\x00"))}, true},
		{"windash slash", "  sel:\n    CommandLine|windash|contains: ' -enc '\n  condition: sel", map[string]any{"CommandLine": "powershell /enc x"}, true},
		{"windash en dash", "  sel:\n    CommandLine|windash|contains: ' -enc '\n  condition: sel", map[string]any{"CommandLine": "powershell \u2013enc x"}, true},
		{"windash two flags", "  sel:\n    CommandLine|windash|contains: '-a -b'\n  condition: sel", map[string]any{"CommandLine": "x /a \u2014b"}, true},
		{"windash leaves inner dash", "  sel:\n    CommandLine|windash|contains: 'a-b'\n  condition: sel", map[string]any{"CommandLine": "a/b"}, false},
		{"cidr v4", "  sel:\n    DestinationIp|cidr: '10.0.0.0/8'\n  condition: sel", map[string]any{"DestinationIp": "10.1.2.3"}, true},
		{"cidr v4 out", "  sel:\n    DestinationIp|cidr: '10.0.0.0/8'\n  condition: sel", map[string]any{"DestinationIp": "11.1.2.3"}, false},
		{"cidr v6", "  sel:\n    DestinationIp|cidr: 'fe80::/10'\n  condition: sel", map[string]any{"DestinationIp": "fe80::1"}, true},
		{"cidr garbage", "  sel:\n    DestinationIp|cidr: '10.0.0.0/8'\n  condition: sel", map[string]any{"DestinationIp": "nope"}, false},
		{"lt", "  sel:\n    Count|lt: 5\n  condition: sel", map[string]any{"Count": 4.0}, true},
		{"lte", "  sel:\n    Count|lte: 5\n  condition: sel", map[string]any{"Count": "5"}, true},
		{"gt", "  sel:\n    Count|gt: 5\n  condition: sel", map[string]any{"Count": 5.0}, false},
		{"gte", "  sel:\n    Count|gte: 5.5\n  condition: sel", map[string]any{"Count": 6.0}, true},
		{"gt non-number", "  sel:\n    Count|gt: 5\n  condition: sel", map[string]any{"Count": "many"}, false},
		{"exists true", "  sel:\n    User|exists: true\n  condition: sel", map[string]any{"User": "x"}, true},
		{"exists true missing", "  sel:\n    User|exists: true\n  condition: sel", map[string]any{"Other": "x"}, false},
		{"exists false", "  sel:\n    User|exists: false\n  condition: sel", map[string]any{"Other": "x"}, true},
		{"fieldref", "  sel:\n    TargetFilename|fieldref: Image\n  condition: sel", map[string]any{"TargetFilename": `C:\A.exe`, "Image": `c:\a.exe`}, true},
		{"fieldref differs", "  sel:\n    TargetFilename|fieldref: Image\n  condition: sel", map[string]any{"TargetFilename": "a", "Image": "b"}, false},
		{"fieldref endswith", "  sel:\n    Path|fieldref|endswith: Name\n  condition: sel", map[string]any{"Path": `c:\x\a.exe`, "Name": "a.exe"}, true},
		{"null matches missing", "  sel:\n    User: null\n  condition: sel", map[string]any{"Other": 1.0}, true},
		{"null matches null", "  sel:\n    User: null\n  condition: sel", map[string]any{"User": nil}, true},
		{"null rejects value", "  sel:\n    User: null\n  condition: sel", map[string]any{"User": "x"}, false},
		{"empty string", "  sel:\n    User: ''\n  condition: sel", map[string]any{"User": ""}, true},
		{"number vs number", "  sel:\n    EventID: 4688\n  condition: sel", map[string]any{"EventID": 4688.0}, true},
		{"number vs string", "  sel:\n    EventID: 4688\n  condition: sel", map[string]any{"EventID": "4688"}, true},
		{"number mismatch", "  sel:\n    EventID: 4688\n  condition: sel", map[string]any{"EventID": 46880.0}, false},
		{"bool", "  sel:\n    Enabled: true\n  condition: sel", map[string]any{"Enabled": true}, true},
		{"array value any element", "  sel:\n    Tags|contains: evil\n  condition: sel", map[string]any{"Tags": []any{"good", "very evil"}}, true},
		{"keywords", "  keywords:\n    - 'mimikatz'\n    - 'sekurlsa'\n  condition: keywords", map[string]any{"msg": "run SEKURLSA::logonpasswords"}, true},
		{"keywords miss", "  keywords:\n    - 'mimikatz'\n  condition: keywords", map[string]any{"msg": "benign"}, false},
		{"keywords all", "  keywords:\n    '|all':\n      - 'a1'\n      - 'b2'\n  condition: keywords", map[string]any{"x": "a1", "y": "b2"}, true},
		{"list of maps is OR", "  sel:\n    - Image: a\n    - Image: b\n  condition: sel", map[string]any{"Image": "b"}, true},
		{"map is AND", "  sel:\n    Image: a\n    User: u\n  condition: sel", map[string]any{"Image": "a", "User": "v"}, false},
		{"nested dotted field", "  sel:\n    process.name: bash\n  condition: sel", map[string]any{"process": map[string]any{"name": "bash"}}, true},
		{"nested leaf name", "  sel:\n    name: bash\n  condition: sel", map[string]any{"process": map[string]any{"name": "bash"}}, true},
		{"field names are case-sensitive", "  sel:\n    commandline|contains: x\n  condition: sel", map[string]any{"CommandLine": "x"}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := mustRule(t, tc.detection)
			if got := matchBoth(t, r, tc.event); got != tc.want {
				t.Errorf("match = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestConditions(t *testing.T) {
	sels := "  sel_a:\n    A: '1'\n  sel_b:\n    B: '1'\n  filter_c:\n    C: '1'\n  _hidden:\n    H: '1'\n"
	ev := func(a, b, c, h string) map[string]any {
		return map[string]any{"A": a, "B": b, "C": c, "H": h}
	}
	cases := []struct {
		cond  string
		event map[string]any
		want  bool
	}{
		{"sel_a", ev("1", "0", "0", "0"), true},
		{"sel_a and sel_b", ev("1", "0", "0", "0"), false},
		{"sel_a or sel_b", ev("0", "1", "0", "0"), true},
		{"not sel_a", ev("0", "0", "0", "0"), true},
		{"sel_a and not filter_c", ev("1", "0", "1", "0"), false},
		{"(sel_a or sel_b) and not filter_c", ev("0", "1", "0", "0"), true},
		{"sel_a or sel_b and filter_c", ev("1", "0", "0", "0"), true}, // and binds tighter
		{"(sel_a or sel_b) and filter_c", ev("1", "0", "0", "0"), false},
		{"not not sel_a", ev("1", "0", "0", "0"), true},
		{"1 of sel_*", ev("0", "1", "0", "0"), true},
		{"any of sel_*", ev("0", "1", "0", "0"), true},
		{"all of sel_*", ev("0", "1", "0", "0"), false},
		{"all of sel_*", ev("1", "1", "0", "0"), true},
		{"1 of them", ev("0", "0", "1", "0"), true},
		{"1 of them", ev("0", "0", "0", "1"), false}, // _hidden is not part of them
		{"all of them", ev("1", "1", "1", "0"), true},
		{"all of sel_* and not 1 of filter_*", ev("1", "1", "1", "0"), false},
		{"SEL_A", nil, false}, // selection names are case-sensitive: load error below
	}
	for _, tc := range cases {
		t.Run(tc.cond, func(t *testing.T) {
			r, err := ParseRule([]byte(ruleWith(sels + "  condition: " + tc.cond + "\n")))
			if tc.event == nil {
				if err == nil {
					t.Fatal("want a load error")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := matchBoth(t, r, tc.event); got != tc.want {
				t.Errorf("match = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestLoadErrors(t *testing.T) {
	cases := []struct{ name, doc, reason string }{
		{"unknown modifier", ruleWith("  sel:\n    A|bogus: x\n  condition: sel\n"), `unknown modifier "bogus"`},
		{"expand", ruleWith("  sel:\n    A|expand: '%x%'\n  condition: sel\n"), "expand is not supported"},
		{"lookahead regex", ruleWith("  sel:\n    A|re: 'a(?=b)'\n  condition: sel\n"), "not supported by RE2"},
		{"bad cidr", ruleWith("  sel:\n    A|cidr: 'nope'\n  condition: sel\n"), "bad cidr"},
		{"flag without re", ruleWith("  sel:\n    A|i: x\n  condition: sel\n"), "without a preceding re"},
		{"unknown selection", ruleWith("  sel:\n    A: x\n  condition: other\n"), "unknown selection"},
		{"pattern without match", ruleWith("  sel:\n    A: x\n  condition: 1 of foo*\n"), "matches no selection"},
		{"aggregation", ruleWith("  sel:\n    A: x\n  condition: sel | count() > 5\n"), "aggregation"},
		{"unbalanced", ruleWith("  sel:\n    A: x\n  condition: (sel\n"), "parenthesis"},
		{"trailing operator", ruleWith("  sel:\n    A: x\n  condition: sel and\n"), "ends unexpectedly"},
		{"no condition", ruleWith("  sel:\n    A: x\n"), "no condition"},
		{"no detection", "title: t\nlogsource: {}\n", "no detection"},
		{"no title", "detection:\n  sel:\n    A: x\n  condition: sel\n", "no title"},
		{"not yaml", "title: [", "yaml"},
		{"multi document", ruleWith("  sel:\n    A: x\n  condition: sel\n") + "---\ntitle: b\n", "multi-document"},
		{"nested map", ruleWith("  sel:\n    A:\n      B: x\n  condition: sel\n"), "nested mappings"},
		{"base64 with wildcard", ruleWith("  sel:\n    A|base64: 'a*'\n  condition: sel\n"), "wildcards"},
		{"exists non-bool", ruleWith("  sel:\n    A|exists: yes please\n  condition: sel\n"), "exists needs"},
		{"two positions", ruleWith("  sel:\n    A|contains|endswith: x\n  condition: sel\n"), "both set"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseRule([]byte(tc.doc))
			if err == nil {
				t.Fatalf("want error containing %q", tc.reason)
			}
			if !strings.Contains(err.Error(), tc.reason) {
				t.Errorf("error %q does not contain %q", err, tc.reason)
			}
		})
	}
}

func TestLoadFS(t *testing.T) {
	fsys := fstest.MapFS{
		"rules/a.yml":      {Data: []byte(ruleWith("  sel:\n    A: x\n  condition: sel\n"))},
		"rules/sub/b.yaml": {Data: []byte(ruleWith("  sel:\n    A|bogus: x\n  condition: sel\n"))},
		"rules/c.yml":      {Data: []byte("title: c\ncorrelation:\n  type: event_count\n  rules: [00000000-0000-0000-0000-000000000001]\n  timespan: 1m\n  condition: {gte: 2}\n")},
		"rules/readme.md":  {Data: []byte("not a rule")},
	}
	res, err := LoadFS(fsys, "rules")
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Rules) != 1 || res.Rules[0].Path != "rules/a.yml" {
		t.Errorf("rules = %v", res.Rules)
	}
	if len(res.Errors) != 1 || res.Errors[0].Path != "rules/sub/b.yaml" {
		t.Errorf("errors = %v", res.Errors)
	}
	if len(res.Correlations) != 1 {
		t.Errorf("correlations = %v", res.Correlations)
	}
	res.Resolve()
	if len(res.Correlations) != 1 || len(res.Errors) != 1 {
		t.Errorf("after Resolve: correlations = %v, errors = %v", res.Correlations, res.Errors)
	}
	if _, err := ParseRule(fsys["rules/c.yml"].Data); !errors.Is(err, ErrCorrelation) {
		t.Errorf("correlation rule: %v", err)
	}
}

func TestRuleMetadata(t *testing.T) {
	doc := `title: Suspicious
id: 11111111-2222-3333-4444-555555555555
status: test
level: high
tags:
  - attack.execution
  - attack.t1059.001
logsource:
  product: windows
  category: process_creation
detection:
  sel:
    Image|endswith: '\powershell.exe'
  condition: sel
`
	r, err := ParseRule([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	if r.Title != "Suspicious" || r.ID != "11111111-2222-3333-4444-555555555555" || r.Status != "test" || r.Level != "high" {
		t.Errorf("metadata = %+v", r)
	}
	if len(r.Tags) != 2 || r.Tags[1] != "attack.t1059.001" {
		t.Errorf("tags = %v", r.Tags)
	}
	if r.LogSource != (LogSource{Product: "windows", Category: "process_creation"}) {
		t.Errorf("logsource = %+v", r.LogSource)
	}
}

// windowsEvent builds the JSON shape of the corpus' rendered Windows events.
func windowsEvent(channel string, id int, data map[string]any) map[string]any {
	return map[string]any{"Event": map[string]any{
		"System": map[string]any{
			"Channel":  channel,
			"EventID":  float64(id),
			"Provider": map[string]any{"#attributes": map[string]any{"Name": "P"}},
		},
		"EventData": data,
	}}
}

func TestLogsourceRouting(t *testing.T) {
	secRule, err := ParseRule([]byte("title: s\nlogsource:\n  product: windows\n  service: security\ndetection:\n  sel:\n    EventID: 1\n  condition: sel\n"))
	if err != nil {
		t.Fatal(err)
	}
	procRule, err := ParseRule([]byte("title: p\nlogsource:\n  product: windows\n  category: process_creation\ndetection:\n  sel:\n    Image|endswith: '\\x.exe'\n  condition: sel\n"))
	if err != nil {
		t.Fatal(err)
	}
	linuxRule, err := ParseRule([]byte("title: l\nlogsource:\n  product: linux\ndetection:\n  sel:\n    Image|endswith: '\\x.exe'\n  condition: sel\n"))
	if err != nil {
		t.Fatal(err)
	}
	eng := NewEngine([]*Rule{secRule, procRule, linuxRule})
	cases := []struct {
		name string
		ev   map[string]any
		want []string
	}{
		{"security event id 1", windowsEvent("Security", 1, map[string]any{}), []string{"s"}},
		{"sysmon event id 1 is not security", windowsEvent("Microsoft-Windows-Sysmon/Operational", 1, map[string]any{"Image": `C:\x.exe`}), []string{"p"}},
		{"sysmon event id 11 is not process creation", windowsEvent("Microsoft-Windows-Sysmon/Operational", 11, map[string]any{"Image": `C:\x.exe`}), nil},
		{"explicit logsource", map[string]any{"logsource": map[string]any{"product": "linux"}, "Image": `\x.exe`}, []string{"l"}},
		{"no logsource sees nothing", map[string]any{"Image": `\x.exe`, "EventID": 1.0}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ev := NewEvent(tc.ev)
			var got []string
			for _, r := range eng.Match(ev, nil) {
				got = append(got, r.Title)
			}
			if strings.Join(got, ",") != strings.Join(tc.want, ",") {
				t.Errorf("Match = %v, want %v", got, tc.want)
			}
			if naive := eng.MatchNaive(ev, nil); len(naive) != len(got) {
				t.Errorf("MatchNaive found %d rules, Match %d", len(naive), len(got))
			}
		})
	}
}

func TestEventFields(t *testing.T) {
	ev := NewEvent(windowsEvent("Security", 4688, map[string]any{"NewProcessName": "x", "Source Name": "RTP"}))
	for name, want := range map[string]any{
		"Channel":                        "Security",
		"Event.System.Channel":           "Security",
		"Provider_Name":                  "P",
		"NewProcessName":                 "x",
		"Event.EventData.NewProcessName": "x",
		"SourceName":                     "RTP",
	} {
		got, ok := ev.Field(name)
		if !ok || got != want {
			t.Errorf("Field(%q) = %v, %v; want %v", name, got, ok, want)
		}
	}
	if ev.Source.Product != "windows" || len(ev.Source.Services) != 1 || ev.Source.Services[0] != "security" {
		t.Errorf("Source = %+v", ev.Source)
	}
}

func TestAhoCorasick(t *testing.T) {
	pats := []string{"he", "she", "his", "hers", "cmd.exe", "e"}
	m := newACMatcher(pats)
	text := "ushers run cmd.exe"
	got := map[string]bool{}
	for _, p := range m.scan(text, nil) {
		got[pats[p]] = true
	}
	for _, p := range pats {
		if want := strings.Contains(text, p); got[p] != want {
			t.Errorf("pattern %q: found %v, want %v", p, got[p], want)
		}
	}
}

func TestGlobMatch(t *testing.T) {
	cases := []struct {
		pat, s string
		want   bool
	}{
		{"a*b", "axxb", true},
		{"a*b", "axxbc", false},
		{"*a*b*", "xxaybz", true},
		{"a?c", "abc", true},
		{"a?c", "aéc", true},
		{"a?c", "ac", false},
		{"*.exe", "cmd.exe", true},
		{"*?*?*?*?*?*?*?*?*?*?*?*?*?*?*?*?x", strings.Repeat("a", 200), false},
		{"*a*a*a*a*a*a*a*a*a*a*a*a*b", strings.Repeat("a", 500), false},
		{"", "", true},
		{"*", "", true},
		{"?", "", false},
	}
	for _, tc := range cases {
		if got := globMatch(parsePattern(tc.pat), tc.s); got != tc.want {
			t.Errorf("globMatch(%q, %q) = %v, want %v", tc.pat, tc.s, got, tc.want)
		}
	}
}

func TestRegexNeedles(t *testing.T) {
	cases := map[string][]string{
		`^cmd\s+/c`:                        {"cmd"},
		`(?i)Invoke-(Mimikatz|Kerberoast)`: {"mimikatz", "kerberoa"}, // (?i)s also matches ſ
		`(foo|barbaz)\d+`:                  {"foo", "barbaz"},
		`a.b`:                              {"a"},
		`(ab)?cd`:                          {"cd"},
	}
	for expr, want := range cases {
		got := regexNeedles(expr)
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("regexNeedles(%q) = %q, want %q", expr, got, want)
		}
	}
}
