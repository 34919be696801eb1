package drill_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/vigil-sec/vigil/internal/detect"
	"github.com/vigil-sec/vigil/internal/drill"
	"github.com/vigil-sec/vigil/internal/fixture"
	"github.com/vigil-sec/vigil/internal/logs"
	"github.com/vigil-sec/vigil/internal/pipeline"
	"github.com/vigil-sec/vigil/internal/report"
	"github.com/vigil-sec/vigil/internal/store"
	"github.com/vigil-sec/vigil/internal/testenv"
)

// sigmaCorpus is the shared Sigma corpus (rules and regression events).
const sigmaCorpus = "../../../shared/corpus/sigma"

func ok(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// regressionCase is one Sigma regression case: the rule its info.yml names
// and the events that make it fire.
type regressionCase struct {
	ruleID string
	rule   *detect.Rule
	events []map[string]any
}

// loadCase reads the regression case in dir (relative to regression_data)
// and the rule it names, found under rules/ by the case's folder name.
func loadCase(t *testing.T, dir string) regressionCase {
	t.Helper()
	full := filepath.Join(sigmaCorpus, "regression_data", dir)
	info, err := os.ReadFile(filepath.Join(full, "info.yml"))
	ok(t, err)
	var meta struct {
		RuleMetadata []struct {
			ID string `yaml:"id"`
		} `yaml:"rule_metadata"`
	}
	ok(t, yaml.Unmarshal(info, &meta))
	if len(meta.RuleMetadata) == 0 {
		t.Fatalf("%s: no rule_metadata", dir)
	}
	rc := regressionCase{ruleID: meta.RuleMetadata[0].ID}
	ruleFile := filepath.Join(sigmaCorpus, filepath.Dir(dir), filepath.Base(dir)+".yml")
	data, err := os.ReadFile(ruleFile)
	ok(t, err)
	rc.rule, err = detect.ParseRule(data)
	ok(t, err)
	if rc.rule.ID != rc.ruleID {
		t.Fatalf("%s: rule file has id %s, info.yml names %s", dir, rc.rule.ID, rc.ruleID)
	}
	files, _ := filepath.Glob(filepath.Join(full, "*.json"))
	for _, f := range files {
		data, err := os.ReadFile(f)
		ok(t, err)
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.UseNumber()
		for dec.More() {
			var m map[string]any
			ok(t, dec.Decode(&m))
			rc.events = append(rc.events, m)
		}
	}
	return rc
}

// raiseAlerts sends the events through the product's own path: each one
// is serialised as the JSON line a log shipper sends, parsed by the
// ingest parsers ("auto" recognises Windows event JSON), and the batch is
// written by pipeline.Write into a real store, which stores the events,
// runs the rules and raises (or groups) the alerts. The tenant's alerts
// are read back from the store.
func raiseAlerts(t *testing.T, env *fixture.Env, eng *detect.Engine, events []map[string]any) []store.Alert {
	t.Helper()
	ctx := env.AdminCtx(t.Context())
	parser, err := logs.NewRegistry().Lookup("auto")
	ok(t, err)
	received := time.Date(2026, 11, 29, 8, 0, 0, 0, time.UTC)
	var batch []logs.Event
	for _, raw := range events {
		line, err := json.Marshal(raw)
		ok(t, err)
		ev, err := parser.Parse(line, logs.Meta{Source: "wef.attackrange.local:5986", Tenant: env.TenantA.ID, Received: received})
		ok(t, err)
		if ev.Time.Equal(received) {
			t.Fatalf("the parser did not read the event's own time: %s", line)
		}
		batch = append(batch, ev)
	}
	p := pipeline.New(env.Store, pipeline.Options{Rules: eng})
	ok(t, p.Write(ctx, batch))
	if st := p.Stats(); st.Stored != int64(len(batch)) {
		t.Fatalf("pipeline stored %d of %d events", st.Stored, len(batch))
	}
	alerts, err := env.Store.Alerts().List(ctx, env.TenantA.ID, store.AlertFilter{Page: store.Page{Limit: store.MaxPageSize}})
	ok(t, err)
	slices.SortFunc(alerts, func(a, b store.Alert) int { return a.FirstSeen.Compare(b.FirstSeen) })
	return alerts
}

// TestScriptedDrill runs a drill end to end: the plan comes from a
// Navigator layer, the attackers record what they did on the hosts of
// Sigma's regression events, those events are parsed by the ingest
// parsers and written through the alert pipeline (pipeline.Write) into a
// store with the rules the corpus names for them, the alerts the pipeline
// raised are linked to the records and confirmed, and the scores,
// coverage layer and summary report follow.
func TestScriptedDrill(t *testing.T) {
	testenv.RequireCorpus(t, sigmaCorpus)
	lib, err := drill.DefaultLibrary()
	ok(t, err)
	f, err := os.Open("testdata/navigator/plan.json")
	ok(t, err)
	defer f.Close()
	layer, err := drill.ParseLayer(f)
	ok(t, err)
	plan := drill.PlanFromLayer(layer, lib)
	var planned []string
	for _, c := range plan.Cases {
		planned = append(planned, c.Technique)
	}
	// Enabled, scored techniques only: T1595.001 is disabled, T1486 has
	// score 0; T1204.002 has no library case.
	wantPlanned := []string{"T1190", "T1110.001", "T1003.001", "T1482", "T1037.001", "T1105", "T1204.002"}
	if !slices.Equal(planned, wantPlanned) || !slices.Equal(plan.Missing, []string{"T1204.002"}) {
		t.Fatalf("plan %v (missing %v), want %v (missing T1204.002)", planned, plan.Missing, wantPlanned)
	}

	env := fixture.New(t)
	tenant := env.TenantA.ID
	dc := "ar-win-dc.attackrange.local"
	start := time.Date(2025, 10, 24, 20, 0, 0, 0, time.UTC)
	d, err := drill.New("drill-1", tenant, "Key period drill <script>alert(1)</script>", drill.Scope{
		CIDRs: []string{"10.20.0.0/16"}, Hosts: []string{"*.attackrange.local", "portal.example", "10.20.1.5"},
		ExcludeHosts: []string{"backup.attackrange.local"},
	}, drill.Window{Start: start, End: start.Add(32 * time.Hour)}, []drill.Team{
		{Name: "red-1", Role: drill.RoleAttacker, Members: []string{"alice"}},
		{Name: "blue-hq", Role: drill.RoleDefender, Unit: "HQ", Members: []string{"bob"}},
		{Name: "director", Role: drill.RoleDirector, Members: []string{"dave"}},
	})
	ok(t, err)
	d.RulesOfEngagement = "No denial of service. Marker data only.\nStop on the director's call."
	for _, c := range plan.Cases {
		ok(t, d.AddCase(c))
	}
	ok(t, d.Transition(drill.StateRunning, "dave", "", start))

	// The regression cases the attackers' actions leave behind on the
	// domain controller, by technique.
	cases := map[string]regressionCase{
		"T1003.001": loadCase(t, "rules/windows/file/file_event/file_event_win_taskmgr_lsass_dump"),
		"T1482":     loadCase(t, "rules/windows/process_creation/proc_creation_win_dsquery_domain_trust_discovery"),
		"T1105":     loadCase(t, "rules/windows/process_creation/proc_creation_win_certutil_download_direct_ip"),
		"T1037.001": loadCase(t, "rules/windows/registry/registry_set/registry_set_persistence_logon_scripts_userinitmprlogonscript"),
	}
	// Noise on the same host: a decode that names T1027 only, near the
	// T1105 download; and events of another host.
	noise := []regressionCase{
		loadCase(t, "rules/windows/process_creation/proc_creation_win_certutil_decode"),
		loadCase(t, "rules/windows/process_creation/proc_creation_win_wmic_remote_execution"),
	}
	var rules []*detect.Rule
	var events []map[string]any
	first := map[string]time.Time{} // technique → first event time
	for tech, rc := range cases {
		rules = append(rules, rc.rule)
		events = append(events, rc.events...)
		for _, e := range rc.events {
			at, _ := detect.EventTime(detect.NewEvent(e))
			if f, seen := first[tech]; !seen || at.Before(f) {
				first[tech] = at
			}
		}
	}
	for _, rc := range noise {
		rules = append(rules, rc.rule)
		events = append(events, rc.events...)
	}

	// The attackers record each action two minutes before its first event.
	type step struct {
		id, tech string
		at       time.Time
		target   drill.Target
		result   drill.Result
		achieve  drill.Achievement
	}
	steps := []step{
		{"a1", "T1190", start.Add(3 * time.Hour), drill.Target{Host: "portal.example"}, drill.Result{}, ""},
		{"a2", "T1110.001", start.Add(3*time.Hour + 20*time.Minute), drill.Target{Address: "10.20.1.5"}, drill.Result{Foothold: true}, drill.AchieveBoundary},
	}
	for _, tech := range []string{"T1003.001", "T1482", "T1105", "T1037.001"} {
		s := step{"a-" + tech, tech, first[tech].Add(-2 * time.Minute), drill.Target{Host: dc}, drill.Result{Foothold: true}, drill.AchieveOtherSystem}
		if tech == "T1003.001" {
			s.result.Privilege, s.achieve = true, drill.AchieveTargetSystem
		}
		steps = append(steps, s)
	}
	slices.SortFunc(steps, func(a, b step) int { return a.at.Compare(b.at) })
	paused := false
	for _, s := range steps {
		if !paused && s.at.After(start.Add(14*time.Hour)) {
			// The director's emergency stop: attacks are refused while paused.
			ok(t, d.Transition(drill.StatePaused, "dave", "domain controller CPU at 100%", s.at.Add(-time.Hour)))
			err := d.RecordAttack(drill.AttackRecord{ID: "during-stop", Team: "red-1", What: "x", At: s.at.Add(-time.Minute), Target: drill.Target{Host: dc}, Technique: s.tech})
			if !errors.Is(err, drill.ErrState) {
				t.Fatalf("attack during the emergency stop: %v", err)
			}
			ok(t, d.Transition(drill.StateRunning, "dave", "", s.at.Add(-30*time.Minute)))
			paused = true
		}
		ok(t, d.RecordAttack(drill.AttackRecord{ID: s.id, Team: "red-1", What: "step for " + s.tech, At: s.at, From: "198.51.100.23",
			Target: s.target, Technique: s.tech, Result: s.result, Achievement: s.achieve, Unit: "HQ", Evidence: []string{"evidence/" + s.id + ".png"}}))
	}
	// Out of scope: refused.
	err = d.RecordAttack(drill.AttackRecord{ID: "oos", Team: "red-1", What: "x", At: start.Add(5 * time.Hour), Target: drill.Target{Host: "backup.attackrange.local"}, Technique: "T1021.002"})
	if !errors.Is(err, drill.ErrOutOfScope) {
		t.Fatalf("out-of-scope record: %v", err)
	}

	// Detection: the events go through the engine, alerts are raised.
	alerts := raiseAlerts(t, env, detect.NewEngine(rules), events)
	byRule := map[string]store.Alert{}
	for _, a := range alerts {
		byRule[a.RuleID] = a
	}
	for tech, rc := range cases {
		if _, fired := byRule[rc.ruleID]; !fired {
			t.Fatalf("%s: rule %s did not fire on its regression events", tech, rc.ruleID)
		}
	}
	sugg := d.Link(alerts, drill.LinkOptions{})
	linked := map[string][]string{} // record → rule ids
	for _, s := range sugg {
		a := alerts[slices.IndexFunc(alerts, func(a store.Alert) bool { return a.ID == s.AlertID })]
		linked[s.RecordID] = append(linked[s.RecordID], a.RuleID)
	}
	for tech, rc := range cases {
		if got := linked["a-"+tech]; !slices.Equal(got, []string{rc.ruleID}) {
			t.Errorf("record of %s linked to rules %v, want only %s (the rule its regression case names)", tech, got, rc.ruleID)
		}
	}
	if len(linked["a1"])+len(linked["a2"]) != 0 {
		t.Errorf("records without alerts got links: %v", linked)
	}
	for _, rc := range noise {
		for _, s := range sugg {
			if strings.Contains(s.Rule, rc.rule.Title) {
				t.Errorf("noise rule %q linked to %s", rc.rule.Title, s.RecordID)
			}
		}
	}
	// The defenders confirm the suggestions (responding 20 minutes after
	// each alert) and report the WAF block of the portal exploit.
	for _, s := range sugg {
		ok(t, d.Confirm(s, "bob", s.At.Add(20*time.Minute)))
	}
	if again := d.Link(alerts, drill.LinkOptions{}); len(again) != 0 {
		t.Errorf("confirmed alerts suggested again: %+v", again)
	}
	ok(t, d.Observe(drill.Observation{RecordID: "a1", Layer: drill.LayerWAF, Level: drill.LevelBlocked, At: start.Add(3*time.Hour + time.Minute), By: "bob", Note: "WAF rule 942100"}))
	ok(t, d.SubmitReport(drill.DefenceReport{ID: "rep-1", Team: "blue-hq", Kind: drill.ReportAnalysis, RecordID: "a-T1003.001", Title: "LSASS dump analysis", At: first["T1003.001"].Add(time.Hour), Accepted: true}))
	ok(t, d.SubmitReport(drill.DefenceReport{ID: "rep-2", Team: "blue-hq", Kind: drill.ReportTracing, RecordID: "a1", Title: "Traced 198.51.100.23", At: start.Add(6 * time.Hour), Accepted: true}))
	ok(t, d.Announce(drill.Announcement{At: start.Add(30 * time.Hour), By: "dave", To: drill.RoleAttacker, Text: "Last hour: no new footholds."}))
	if err := d.Announce(drill.Announcement{At: start, By: "dave", To: "everyone", Text: "x"}); !errors.Is(err, drill.ErrInvalid) {
		t.Errorf("announcement to an unknown role: %v", err)
	}
	ok(t, d.Transition(drill.StateFinished, "dave", "", start.Add(31*time.Hour)))

	// Outcomes.
	outcomes := map[string]drill.CaseOutcome{}
	for _, o := range d.Outcomes() {
		outcomes[o.Case.Technique] = o
	}
	want := map[string]drill.Level{"T1190": drill.LevelBlocked, "T1110.001": drill.LevelNone, "T1003.001": drill.LevelAlerted,
		"T1482": drill.LevelAlerted, "T1105": drill.LevelAlerted, "T1037.001": drill.LevelAlerted}
	for tech, lvl := range want {
		o := outcomes[tech]
		if !o.Executed || o.Level != lvl {
			t.Errorf("%s: executed %v level %s, want %s", tech, o.Executed, o.Level, lvl)
		}
	}
	for tech, rc := range cases {
		// Time to detect: from the record to the alert's first event.
		rec, _ := d.Record("a-" + tech)
		if o := outcomes[tech]; !o.Detected || o.Detect != byRule[rc.ruleID].FirstSeen.Sub(rec.At) || !o.Responded {
			t.Errorf("%s: time to detect %v (detected %v, responded %v), want %v", tech, o.Detect, o.Detected, o.Responded, byRule[rc.ruleID].FirstSeen.Sub(rec.At))
		}
	}
	if o := outcomes["T1003.001"]; o.Layer(drill.LayerSIEMRule).Level != drill.LevelAlerted || o.Layer(drill.LayerEDR).Level != drill.LevelNone {
		t.Errorf("T1003.001 layers: %+v", o.Layers)
	}
	if outcomes["T1204.002"].Executed {
		t.Error("the manual case was never run")
	}
	board := d.Board()
	wantExec, wantAlerted, wantBlocked := 0, 0, 0
	for _, lvl := range want {
		wantExec++
		if lvl >= drill.LevelAlerted {
			wantAlerted++
		}
		if lvl == drill.LevelBlocked {
			wantBlocked++
		}
	}
	if board.State != drill.StateFinished || board.Planned != len(wantPlanned) || board.Executed != wantExec || board.Alerted != wantAlerted ||
		board.Blocked != wantBlocked || board.HeatMap["credential-access"][drill.LayerSIEMRule] != drill.LevelAlerted ||
		board.HeatMap["initial-access"][drill.LayerWAF] != drill.LevelBlocked || len(board.Announcements) != 1 {
		t.Errorf("board %+v", board)
	}
	gaps := d.Gaps()
	if len(gaps) == 0 || gaps[0].Technique != "T1110.001" || gaps[0].Kind != "undetected" {
		t.Fatalf("worst gap: %+v", gaps)
	}
	for _, g := range gaps {
		if g.Technique == "T1190" {
			t.Errorf("the blocked exploit is not a gap: %+v", g)
		}
	}
	items := d.Remediation("en")
	if len(items) != len(gaps) || items[0].Technique != "T1110.001" || items[0].Assets[0] != "10.20.1.5" {
		t.Fatalf("remediation items: %+v", items)
	}

	// Scores: every team's total is the sum of its lines.
	sc, err := d.Score()
	ok(t, err)
	sums := map[string]int{}
	for _, l := range sc.Lines {
		sums[string(l.Side)+"/"+l.Team] += l.Points
	}
	if sc.Attackers["red-1"] != sums["attacker/red-1"] || sc.Defenders["blue-hq"] != sums["defender/blue-hq"] || sc.Attackers["red-1"] == 0 || sc.Defenders["blue-hq"] == 0 {
		t.Fatalf("scores %+v do not add up: %v", sc, sums)
	}
	t.Logf("scores: attackers %v, defenders %v; %d alerts, %d suggestions, %d gaps", sc.Attackers, sc.Defenders, len(alerts), len(sugg), len(gaps))

	// Coverage layer round trip.
	data, err := drill.MarshalLayer(d.Layer())
	ok(t, err)
	back, err := drill.ParseLayer(bytes.NewReader(data))
	ok(t, err)
	scores := map[string]string{}
	for _, tq := range back.Techniques {
		s := "not run"
		if tq.Score != nil {
			s = fmt.Sprint(*tq.Score)
		}
		scores[tq.TechniqueID] = s
	}
	for tech, lvl := range want {
		if scores[tech] != fmt.Sprint(int(lvl)) {
			t.Errorf("layer score of %s: %s, want %d", tech, scores[tech], lvl)
		}
	}
	if scores["T1204.002"] != "not run" || back.Versions.Layer != "4.5" || back.Domain != "enterprise-attack" {
		t.Errorf("layer: %+v", back)
	}

	// Summary report in both languages, rendered to HTML (and PDF when a
	// browser is there).
	for _, lang := range []string{"en", "zh-CN"} {
		doc, err := d.Summary(lang, start.Add(32*time.Hour))
		ok(t, err)
		var html bytes.Buffer
		ok(t, report.Render(context.Background(), doc, report.FormatHTML, &html, report.Options{}))
		s := html.String()
		if strings.Contains(s, "<script>alert(1)") || !strings.Contains(s, "&lt;script&gt;alert(1)&lt;/script&gt;") {
			t.Errorf("%s: drill name not escaped", lang)
		}
		for _, want := range []string{"T1110.001", "10.20.1.5", "domain controller CPU at 100%", "LSASS", "Last hour: no new footholds.", "evidence/a2.png"} {
			if !strings.Contains(s, want) {
				t.Errorf("%s report lacks %q", lang, want)
			}
		}
		if lang == "zh-CN" && (!strings.Contains(s, "检测缺口") || !strings.Contains(s, "防守方报告") || !strings.Contains(s, "溯源反制")) {
			t.Errorf("zh-CN report lacks its gap or defender report heading")
		}
		if lang == "en" && (!strings.Contains(s, "Defender reports") || !strings.Contains(s, "Traced 198.51.100.23")) {
			t.Errorf("en report lacks the defender reports")
		}
		if lang == "en" && !testing.Short() {
			t.Run("pdf", func(t *testing.T) { checkPDF(t, doc) })
		}
	}
}

func checkPDF(t *testing.T, doc *report.Document) {
	t.Helper()
	exe := testenv.RequireChromium(t)
	pdftotext, err := exec.LookPath("pdftotext")
	if err != nil {
		testenv.Missing(t, "pdftotext (Debian package poppler-utils)")
	}
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	var buf bytes.Buffer
	ok(t, report.Render(context.Background(), doc, report.FormatPDF, &buf, report.Options{BrowserPath: exe, Timeout: 2 * time.Minute}))
	in := filepath.Join(tmp, "summary.pdf")
	ok(t, os.WriteFile(in, buf.Bytes(), 0o600))
	out, err := exec.Command(pdftotext, "-enc", "UTF-8", in, "-").CombinedOutput() // #nosec G204 -- fixed tool, temp file
	if err != nil {
		t.Fatalf("pdftotext: %v\n%s", err, out)
	}
	for _, want := range []string{"Attack/defence drill summary", "T1110.001", "Detection gaps"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("PDF text lacks %q", want)
		}
	}
}
