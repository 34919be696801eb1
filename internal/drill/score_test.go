package drill

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

const docPath = "../../docs/drill.md"
const examplePath = "testdata/scoring-example.yaml"

// exampleFromDoc returns the YAML block the doc includes after its include
// marker.
func exampleFromDoc(t *testing.T) []byte {
	t.Helper()
	doc, err := os.ReadFile(docPath)
	must(t, err)
	_, rest, ok := bytes.Cut(doc, []byte("<!-- include: internal/drill/"+examplePath+" -->\n```yaml\n"))
	if !ok {
		t.Fatalf("%s does not include %s", docPath, examplePath)
	}
	block, _, ok := bytes.Cut(rest, []byte("```\n"))
	if !ok {
		t.Fatalf("%s: unterminated example block", docPath)
	}
	return block
}

type scoringExample struct {
	Scheme  Scheme `yaml:"scheme"`
	Teams   []Team `yaml:"teams"`
	Records []struct {
		ID          string      `yaml:"id"`
		At          string      `yaml:"at"`
		Unit        string      `yaml:"unit"`
		Target      string      `yaml:"target"`
		Achievement Achievement `yaml:"achievement"`
	} `yaml:"records"`
	Observations []struct {
		Record string `yaml:"record"`
		Layer  Layer  `yaml:"layer"`
		Level  Level  `yaml:"level"`
		At     string `yaml:"at"`
	} `yaml:"observations"`
	Reports []struct {
		ID       string     `yaml:"id"`
		Team     string     `yaml:"team"`
		Kind     ReportKind `yaml:"kind"`
		Record   string     `yaml:"record"`
		At       string     `yaml:"at"`
		Accepted bool       `yaml:"accepted"`
	} `yaml:"reports"`
	Expected struct {
		Attackers map[string]int `yaml:"attackers"`
		Defenders map[string]int `yaml:"defenders"`
		Lines     []struct {
			Ref    string `yaml:"ref"`
			Item   string `yaml:"item"`
			Points int    `yaml:"points"`
		} `yaml:"lines"`
	} `yaml:"expected"`
}

// TestScoringWorkedExample recomputes the worked example of docs/drill.md.
func TestScoringWorkedExample(t *testing.T) {
	block := exampleFromDoc(t)
	file, err := os.ReadFile(examplePath)
	must(t, err)
	if !bytes.Equal(block, file) {
		t.Fatalf("docs/drill.md no longer includes %s verbatim", examplePath)
	}
	dec := yaml.NewDecoder(bytes.NewReader(block))
	dec.KnownFields(true)
	var ex scoringExample
	must(t, dec.Decode(&ex))
	day := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	at := func(hm string) time.Time {
		t.Helper()
		c, err := time.Parse("15:04", hm)
		must(t, err)
		return day.Add(time.Duration(c.Hour())*time.Hour + time.Duration(c.Minute())*time.Minute)
	}
	var hosts []string
	for _, r := range ex.Records {
		hosts = append(hosts, r.Target)
	}
	d, err := New("ex", "tenant", "worked example", Scope{Hosts: hosts}, Window{Start: day, End: day.Add(24 * time.Hour)}, ex.Teams)
	must(t, err)
	scheme := ex.Scheme
	d.Scheme = &scheme
	must(t, d.Transition(StateRunning, "director", "", day))
	for _, r := range ex.Records {
		must(t, d.RecordAttack(AttackRecord{ID: r.ID, Team: "red-1", What: "step", At: at(r.At), Target: Target{Host: r.Target},
			Technique: "T1190", Unit: r.Unit, Achievement: r.Achievement}))
	}
	for _, o := range ex.Observations {
		must(t, d.Observe(Observation{RecordID: o.Record, Layer: o.Layer, Level: o.Level, At: at(o.At), By: "blue"}))
	}
	for _, rp := range ex.Reports {
		must(t, d.SubmitReport(DefenceReport{ID: rp.ID, Team: rp.Team, Kind: rp.Kind, RecordID: rp.Record, Title: rp.ID, At: at(rp.At), Accepted: rp.Accepted}))
	}
	sc, err := d.Score()
	must(t, err)
	if fmt.Sprint(sc.Attackers) != fmt.Sprint(ex.Expected.Attackers) || fmt.Sprint(sc.Defenders) != fmt.Sprint(ex.Expected.Defenders) {
		t.Errorf("scores %v %v, the doc says %v %v", sc.Attackers, sc.Defenders, ex.Expected.Attackers, ex.Expected.Defenders)
	}
	if len(sc.Lines) != len(ex.Expected.Lines) {
		t.Fatalf("%d score lines, the doc lists %d: %+v", len(sc.Lines), len(ex.Expected.Lines), sc.Lines)
	}
	for i, want := range ex.Expected.Lines {
		got := sc.Lines[i]
		if got.Ref != want.Ref || got.Item != want.Item || got.Points != want.Points {
			t.Errorf("line %d: %s %s %d, the doc says %s %s %d", i, got.Ref, got.Item, got.Points, want.Ref, want.Item, want.Points)
		}
	}
}

func TestDefaultSchemeAndRefusals(t *testing.T) {
	s, err := DefaultScheme()
	must(t, err)
	if s.Attacker.Points[AchieveTargetSystem] == 0 || s.Defender.Reports[ReportTracing] == 0 {
		t.Fatalf("default scheme: %+v", s)
	}
	for name, in := range map[string]string{
		"unknown field":       "name: x\nattacker: {bonus: 1}\n",
		"unknown achievement": "name: x\nattacker: {points: {root: 5}, repeat_percent: [100]}\ndefender: {repeat_percent: [100]}\n",
		"negative":            "name: x\nattacker: {points: {target_system: -5}, repeat_percent: [100]}\ndefender: {repeat_percent: [100]}\n",
		"percent":             "name: x\nattacker: {repeat_percent: [150]}\ndefender: {repeat_percent: [100]}\n",
		"level":               "name: x\nattacker: {repeat_percent: [100]}\ndefender: {detection: {none: 5}, repeat_percent: [100]}\n",
		"duration":            "name: x\nattacker: {repeat_percent: [100]}\ndefender: {fast_within: soon, repeat_percent: [100]}\n",
		"no name":             "attacker: {repeat_percent: [100]}\ndefender: {repeat_percent: [100]}\n",
	} {
		if _, err := ParseScheme(strings.NewReader(in)); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: got %v, want ErrInvalid", name, err)
		}
	}
}
