package gate

import (
	"embed"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-sec/vigil/internal/campaign"
	"github.com/vigil-sec/vigil/internal/datafile"
)

//go:embed data/*.yaml
var data embed.FS

// ASVSVersion is the version of OWASP ASVS the checklist follows.
const ASVSVersion = "5.0.0"

// maxDataSize bounds the catalogue and rules files.
const maxDataSize = 1 << 20

// Chapter is one chapter of ASVS.
type Chapter struct {
	ID     string // "V1" .. "V17"
	Name   string
	NameZh string
	Reqs   []Requirement
}

// Requirement is one ASVS requirement: its standard id and level with
// Vigil's own summary of what to verify.
type Requirement struct {
	ID    string // "6.2.1"
	Level int    // 1, 2 or 3
	Text  string
}

// Ref returns the requirement's versioned id, e.g. "v5.0.0-6.2.1".
func (r Requirement) Ref() string { return "v" + ASVSVersion + "-" + r.ID }

// ASVS is the ASVS checklist catalogue.
type ASVS struct {
	Version  string
	Chapters []Chapter
}

// MLPSItem is one compliance item from MLPS 2.0.
type MLPSItem struct {
	ID       string
	Area     string
	MinLevel int
	Severity campaign.Severity
	Text     string
}

type asvsFile struct {
	Version  string `yaml:"version"`
	Chapters []struct {
		ID           string `yaml:"id"`
		Name         string `yaml:"name"`
		NameZh       string `yaml:"name_zh"`
		Requirements []struct {
			ID    string `yaml:"id"`
			Level int    `yaml:"level"`
			Text  string `yaml:"text"`
		} `yaml:"requirements"`
	} `yaml:"chapters"`
}

var reqIDRE = regexp.MustCompile(`^([1-9][0-9]?)\.[1-9][0-9]?\.[1-9][0-9]?$`)

// LoadASVS returns the embedded ASVS 5.0 catalogue.
func LoadASVS() (*ASVS, error) {
	b, err := data.ReadFile("data/asvs-5.0.yaml")
	if err != nil {
		return nil, fmt.Errorf("asvs catalogue: %w", err)
	}
	return ParseASVS(b, "asvs-5.0.yaml")
}

// ParseASVS reads an ASVS catalogue: 17 chapters V1..V17 in order, each
// requirement id under its chapter, levels 1 to 3, ids unique.
func ParseASVS(b []byte, name string) (*ASVS, error) {
	var f asvsFile
	root, err := datafile.Decode(b, name, maxDataSize, &f)
	if err != nil {
		return nil, err
	}
	lerr := func(line int, format string, args ...any) error {
		return &datafile.LineError{Name: name, Line: line, Msg: fmt.Sprintf(format, args...)}
	}
	if f.Version != ASVSVersion {
		return nil, lerr(datafile.LineOf(root, "version"), "version %q: want %s", f.Version, ASVSVersion)
	}
	if len(f.Chapters) != 17 {
		return nil, lerr(datafile.LineOf(root, "chapters"), "%d chapters: ASVS %s has 17", len(f.Chapters), ASVSVersion)
	}
	a := &ASVS{Version: f.Version}
	seen := map[string]bool{}
	for i, ch := range f.Chapters {
		want := "V" + strconv.Itoa(i+1)
		if ch.ID != want {
			return nil, lerr(datafile.LineOf(root, "chapters", i, "id"), "chapter %d has id %q, want %s", i+1, ch.ID, want)
		}
		if strings.TrimSpace(ch.Name) == "" || strings.TrimSpace(ch.NameZh) == "" {
			return nil, lerr(datafile.LineOf(root, "chapters", i), "chapter %s needs name and name_zh", ch.ID)
		}
		c := Chapter{ID: ch.ID, Name: ch.Name, NameZh: ch.NameZh}
		for j, r := range ch.Requirements {
			at := datafile.LineOf(root, "chapters", i, "requirements", j)
			m := reqIDRE.FindStringSubmatch(r.ID)
			if m == nil || m[1] != strconv.Itoa(i+1) {
				return nil, lerr(at, "requirement %q is not an id of chapter %s", r.ID, ch.ID)
			}
			if seen[r.ID] {
				return nil, lerr(at, "requirement %s repeats", r.ID)
			}
			seen[r.ID] = true
			if r.Level < 1 || r.Level > 3 {
				return nil, lerr(at, "requirement %s: level %d, want 1 to 3", r.ID, r.Level)
			}
			if t := strings.TrimSpace(r.Text); t == "" || len(t) > 1000 {
				return nil, lerr(at, "requirement %s: text is empty or longer than 1000 bytes", r.ID)
			}
			c.Reqs = append(c.Reqs, Requirement{ID: r.ID, Level: r.Level, Text: strings.TrimSpace(r.Text)})
		}
		a.Chapters = append(a.Chapters, c)
	}
	return a, nil
}

// AtLevel returns the requirements that apply at ASVS level (1 to 3):
// those of that level and below, chapter by chapter.
func (a *ASVS) AtLevel(level int) []Chapter {
	out := make([]Chapter, 0, len(a.Chapters))
	for _, ch := range a.Chapters {
		c := Chapter{ID: ch.ID, Name: ch.Name, NameZh: ch.NameZh}
		for _, r := range ch.Reqs {
			if r.Level <= level {
				c.Reqs = append(c.Reqs, r)
			}
		}
		out = append(out, c)
	}
	return out
}

type mlpsFile struct {
	Items []struct {
		ID       string `yaml:"id"`
		Area     string `yaml:"area"`
		MinLevel int    `yaml:"min_level"`
		Severity string `yaml:"severity"`
		Text     string `yaml:"text"`
	} `yaml:"items"`
}

// LoadMLPS returns the embedded MLPS compliance items.
func LoadMLPS() ([]MLPSItem, error) {
	b, err := data.ReadFile("data/mlps.yaml")
	if err != nil {
		return nil, fmt.Errorf("mlps items: %w", err)
	}
	var f mlpsFile
	root, err := datafile.Decode(b, "mlps.yaml", maxDataSize, &f)
	if err != nil {
		return nil, err
	}
	var out []MLPSItem
	seen := map[string]bool{}
	for i, it := range f.Items {
		sev := campaign.Severity(it.Severity)
		if it.ID == "" || seen[it.ID] || it.MinLevel < 1 || it.MinLevel > 5 || !sev.Valid() || strings.TrimSpace(it.Text) == "" {
			return nil, &datafile.LineError{Name: "mlps.yaml", Line: datafile.LineOf(root, "items", i), Msg: fmt.Sprintf("item %q: needs a unique id, min_level 1-5, a severity and text", it.ID)}
		}
		seen[it.ID] = true
		out = append(out, MLPSItem{ID: it.ID, Area: it.Area, MinLevel: it.MinLevel, Severity: sev, Text: it.Text})
	}
	return out, nil
}

// Action is what an open item does to the decision.
type Action string

// Actions.
const (
	ActionFail   Action = "fail"   // blocks go-live; cannot be accepted
	ActionAccept Action = "accept" // blocks go-live unless risk-accepted
	ActionNote   Action = "note"   // reported with a deadline; does not block
	ActionIgnore Action = "ignore" // not reported
)

func (a Action) valid() bool {
	return a == ActionFail || a == ActionAccept || a == ActionNote || a == ActionIgnore
}

// Deadline is one fix-deadline band.
type Deadline struct {
	MinScore float64       `json:"min_score"`
	Within   time.Duration `json:"within_ns"`
}

// Rules are the gate's decision rules, kept as data (see data/rules.yaml).
type Rules struct {
	Severities    map[campaign.Severity]Action `json:"severities"`
	Errored       Action                       `json:"errored"`
	Pending       Action                       `json:"pending"`
	FixDeadlines  []Deadline                   `json:"fix_deadlines"` // by descending MinScore
	MaxAcceptance time.Duration                `json:"max_acceptance_ns"`
	ASVSSeverity  map[int]campaign.Severity    `json:"asvs_severity"`
}

type rulesFile struct {
	Severities   map[string]string `yaml:"severities"`
	Errored      string            `yaml:"errored"`
	Pending      string            `yaml:"pending"`
	FixDeadlines []struct {
		MinScore float64 `yaml:"min_score"`
		Within   string  `yaml:"within"`
	} `yaml:"fix_deadlines"`
	MaxAcceptance string         `yaml:"max_acceptance"`
	ASVSSeverity  map[int]string `yaml:"asvs_severity"`
}

// DefaultRules returns the embedded default rules: critical and high fail,
// medium needs a risk acceptance, fix within 24 h (score ≥ 9), 72 h
// (≥ 7) and 14 days (≥ 4).
func DefaultRules() (Rules, error) {
	b, err := data.ReadFile("data/rules.yaml")
	if err != nil {
		return Rules{}, fmt.Errorf("gate rules: %w", err)
	}
	return ParseRules(b, "rules.yaml")
}

// ParseRules reads decision rules from YAML: every severity needs an
// action, deadlines must be in descending score order, and the errored and
// pending actions may only be fail or accept (a check that did not run can
// never pass on its own).
func ParseRules(b []byte, name string) (Rules, error) {
	var f rulesFile
	root, err := datafile.Decode(b, name, maxDataSize, &f)
	if err != nil {
		return Rules{}, err
	}
	lerr := func(line int, format string, args ...any) error {
		return &datafile.LineError{Name: name, Line: line, Msg: fmt.Sprintf(format, args...)}
	}
	r := Rules{Severities: map[campaign.Severity]Action{}, ASVSSeverity: map[int]campaign.Severity{}}
	for k, v := range f.Severities {
		s, a := campaign.Severity(k), Action(v)
		if !s.Valid() || !a.valid() {
			return Rules{}, lerr(datafile.LineOf(root, "severities", k), "severities: %q: %q is not a severity with an action (fail, accept, note, ignore)", k, v)
		}
		r.Severities[s] = a
	}
	for _, s := range campaign.Severities() {
		if _, ok := r.Severities[s]; !ok {
			return Rules{}, lerr(datafile.LineOf(root, "severities"), "severities: no action for %s", s)
		}
	}
	for key, v := range map[string]string{"errored": f.Errored, "pending": f.Pending} {
		if a := Action(v); a != ActionFail && a != ActionAccept {
			return Rules{}, lerr(datafile.LineOf(root, key), "%s: %q, want fail or accept", key, v)
		}
	}
	r.Errored, r.Pending = Action(f.Errored), Action(f.Pending)
	if len(f.FixDeadlines) == 0 || len(f.FixDeadlines) > 20 {
		return Rules{}, lerr(datafile.LineOf(root, "fix_deadlines"), "fix_deadlines: want 1 to 20 bands")
	}
	for i, d := range f.FixDeadlines {
		at := datafile.LineOf(root, "fix_deadlines", i)
		w, err := campaign.ParseDuration(d.Within)
		if err != nil {
			return Rules{}, lerr(at, "fix_deadlines: within: %v", err)
		}
		if d.MinScore < 0 || d.MinScore > 10 || (i > 0 && d.MinScore >= f.FixDeadlines[i-1].MinScore) {
			return Rules{}, lerr(at, "fix_deadlines: min_score %.1f: want 0 to 10, in descending order", d.MinScore)
		}
		r.FixDeadlines = append(r.FixDeadlines, Deadline{MinScore: d.MinScore, Within: w})
	}
	m, err := campaign.ParseDuration(f.MaxAcceptance)
	if err != nil {
		return Rules{}, lerr(datafile.LineOf(root, "max_acceptance"), "max_acceptance: %v", err)
	}
	r.MaxAcceptance = m
	for lvl := 1; lvl <= 3; lvl++ {
		s := campaign.Severity(f.ASVSSeverity[lvl])
		if !s.Valid() {
			return Rules{}, lerr(datafile.LineOf(root, "asvs_severity"), "asvs_severity: level %d needs a severity", lvl)
		}
		r.ASVSSeverity[lvl] = s
	}
	return r, nil
}

// FixWithin returns the fix time for a finding's score, or 0 when no band
// applies.
func (r Rules) FixWithin(score float64) time.Duration {
	for _, d := range r.FixDeadlines {
		if score >= d.MinScore {
			return d.Within
		}
	}
	return 0
}
