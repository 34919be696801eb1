// Package playbook owns incident-response playbooks: templates of tasks per
// incident category and response phase, kept as data.
//
// A playbook is one YAML file. Its tasks follow the PICERL phases used by
// NIST SP 800-61 and by Chinese emergency-response practice
// (检测 detect → 抑制 contain → 根除 eradicate → 恢复 recover → 总结 summarise),
// each with a checklist and an optional due time counted from the start of
// the case. The built-in playbooks are embedded under playbooks/; Load and
// LoadDir read operators' own files with the same validation: unknown keys,
// unknown phases or categories, duplicate ids and oversized content are
// refused with the file name and line.
package playbook

import (
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"

	"github.com/vigil-sec/vigil/internal/datafile"
)

//go:embed playbooks/*.yaml
var embedded embed.FS

// Response phases, in the order a case goes through them.
const (
	PhaseDetect    = "detect"    // 检测: confirm, scope and record the incident
	PhaseContain   = "contain"   // 抑制: stop the spread and the damage
	PhaseEradicate = "eradicate" // 根除: remove the cause and close the way in
	PhaseRecover   = "recover"   // 恢复: return systems to service and watch them
	PhaseSummarise = "summarise" // 总结: report, lessons learned, follow-up
)

// Incident categories a playbook applies to.
const (
	CategoryMalware    = "malware"
	CategoryIntrusion  = "intrusion"
	CategoryDataLeak   = "data_leak"
	CategoryDoS        = "dos"
	CategoryDefacement = "defacement"
	CategoryPhishing   = "phishing"
	CategoryInsider    = "insider"
	CategoryOther      = "other"
)

// Bounds on one playbook.
const (
	MaxFileSize        = 256 << 10
	MaxTasks           = 100
	MaxChecklist       = 50
	MaxTitleLen        = 200
	MaxDescriptionLen  = 4000
	MaxChecklistLen    = 500
	MaxDueAfter        = 365 * 24 * time.Hour
	maxPlaybooksInDir  = 1000
	maxNameLen         = MaxTitleLen
	maxDurationTextLen = 16
)

// Phases returns the response phases in order.
func Phases() []string {
	return []string{PhaseDetect, PhaseContain, PhaseEradicate, PhaseRecover, PhaseSummarise}
}

// Categories returns the incident categories playbooks may name.
func Categories() []string {
	return []string{CategoryMalware, CategoryIntrusion, CategoryDataLeak, CategoryDoS,
		CategoryDefacement, CategoryPhishing, CategoryInsider, CategoryOther}
}

// PhaseIndex gives a phase's position in Phases, or -1 when it is unknown.
func PhaseIndex(phase string) int {
	for i, p := range Phases() {
		if p == phase {
			return i
		}
	}
	return -1
}

// ValidCategory reports whether c is a known category.
func ValidCategory(c string) bool {
	for _, k := range Categories() {
		if k == c {
			return true
		}
	}
	return false
}

// Playbook is a template of tasks for one kind of incident.
type Playbook struct {
	ID          string
	Name        string
	Category    string
	Description string
	Tasks       []Task
}

// Task is one step of a playbook. DueAfter counts from the case's start; zero
// means no due time.
type Task struct {
	Title       string
	Phase       string
	Description string
	Checklist   []string
	DueAfter    time.Duration
}

// Due is when the task falls due for a case started at start, or the zero
// time when the task has no due time.
func (t Task) Due(start time.Time) time.Time {
	if t.DueAfter <= 0 {
		return time.Time{}
	}
	return start.Add(t.DueAfter)
}

// file is the YAML form of a playbook.
type file struct {
	ID          string     `yaml:"id"`
	Name        string     `yaml:"name"`
	Category    string     `yaml:"category"`
	Description string     `yaml:"description"`
	Tasks       []fileTask `yaml:"tasks"`
}

type fileTask struct {
	Title       string   `yaml:"title"`
	Phase       string   `yaml:"phase"`
	Description string   `yaml:"description"`
	Checklist   []string `yaml:"checklist"`
	DueAfter    string   `yaml:"due_after"`
}

var (
	idRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,63}$`)
)

// Load reads and validates one YAML playbook. name labels errors (usually
// the file name).
func Load(r io.Reader, name string) (Playbook, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxFileSize+1))
	if err != nil {
		return Playbook{}, fmt.Errorf("%s: read: %w", name, err)
	}
	if len(data) > MaxFileSize {
		return Playbook{}, fmt.Errorf("%s: larger than %d bytes", name, MaxFileSize)
	}
	p, err := parse(data)
	if err != nil {
		return Playbook{}, fmt.Errorf("%s: %w", name, err)
	}
	return p, nil
}

func parse(data []byte) (Playbook, error) {
	// The node tree gives line numbers for validation errors; the typed
	// decode refuses unknown keys. Errors read "line N: ...": Load adds
	// the file name.
	var f file
	root, err := datafile.Decode(data, "", MaxFileSize, &f)
	if err != nil {
		var le *datafile.LineError
		if errors.As(err, &le) {
			if le.Line > 0 {
				return Playbook{}, fmt.Errorf("line %d: %s", le.Line, le.Msg)
			}
			return Playbook{}, errors.New(le.Msg)
		}
		return Playbook{}, err
	}
	return f.validate(root)
}

func (f *file) validate(root *yaml.Node) (Playbook, error) {
	lineErr := func(line int, format string, args ...any) error {
		return fmt.Errorf("line %d: %s", line, fmt.Sprintf(format, args...))
	}
	if !idRE.MatchString(f.ID) {
		return Playbook{}, lineErr(datafile.LineOf(root, "id"), "id %q: want 1-64 lower-case letters, digits, '-' or '_'", f.ID)
	}
	if err := text(f.Name, 1, maxNameLen, true); err != nil {
		return Playbook{}, lineErr(datafile.LineOf(root, "name"), "name: %v", err)
	}
	if !ValidCategory(f.Category) {
		return Playbook{}, lineErr(datafile.LineOf(root, "category"), "category %q: want one of %s", f.Category, strings.Join(Categories(), ", "))
	}
	if err := text(f.Description, 0, MaxDescriptionLen, false); err != nil {
		return Playbook{}, lineErr(datafile.LineOf(root, "description"), "description: %v", err)
	}
	if len(f.Tasks) == 0 {
		return Playbook{}, lineErr(datafile.LineOf(root, "tasks"), "no tasks")
	}
	if len(f.Tasks) > MaxTasks {
		return Playbook{}, lineErr(datafile.LineOf(root, "tasks"), "%d tasks, limit %d", len(f.Tasks), MaxTasks)
	}
	p := Playbook{ID: f.ID, Name: f.Name, Category: f.Category, Description: strings.TrimSpace(f.Description)}
	titles := make(map[string]int, len(f.Tasks))
	last := 0
	for i, ft := range f.Tasks {
		if err := text(ft.Title, 1, MaxTitleLen, true); err != nil {
			return Playbook{}, lineErr(datafile.LineOf(root, "tasks", i, "title"), "task %d title: %v", i+1, err)
		}
		if prev, dup := titles[ft.Title]; dup {
			return Playbook{}, lineErr(datafile.LineOf(root, "tasks", i, "title"), "task title %q repeats task %d", ft.Title, prev)
		}
		titles[ft.Title] = i + 1
		pi := PhaseIndex(ft.Phase)
		if pi < 0 {
			return Playbook{}, lineErr(datafile.LineOf(root, "tasks", i, "phase"), "task %q: phase %q: want one of %s", ft.Title, ft.Phase, strings.Join(Phases(), ", "))
		}
		if pi < last {
			return Playbook{}, lineErr(datafile.LineOf(root, "tasks", i, "phase"), "task %q: phase %s comes after %s; list tasks in phase order", ft.Title, ft.Phase, Phases()[last])
		}
		last = pi
		if err := text(ft.Description, 0, MaxDescriptionLen, false); err != nil {
			return Playbook{}, lineErr(datafile.LineOf(root, "tasks", i, "description"), "task %q description: %v", ft.Title, err)
		}
		if len(ft.Checklist) > MaxChecklist {
			return Playbook{}, lineErr(datafile.LineOf(root, "tasks", i, "checklist"), "task %q: %d checklist items, limit %d", ft.Title, len(ft.Checklist), MaxChecklist)
		}
		for j, c := range ft.Checklist {
			if err := text(c, 1, MaxChecklistLen, true); err != nil {
				return Playbook{}, lineErr(datafile.LineOf(root, "tasks", i, "checklist", j), "task %q checklist item %d: %v", ft.Title, j+1, err)
			}
		}
		var due time.Duration
		if ft.DueAfter != "" {
			d, err := ParseDuration(ft.DueAfter)
			if err != nil {
				return Playbook{}, lineErr(datafile.LineOf(root, "tasks", i, "due_after"), "task %q due_after: %v", ft.Title, err)
			}
			due = d
		}
		p.Tasks = append(p.Tasks, Task{
			Title:       ft.Title,
			Phase:       ft.Phase,
			Description: strings.TrimSpace(ft.Description),
			Checklist:   append([]string(nil), ft.Checklist...),
			DueAfter:    due,
		})
	}
	return p, nil
}

// text checks a string's length in characters and, for single-line fields,
// that it holds no line break or control character.
func text(s string, minLen, maxLen int, oneLine bool) error {
	n := utf8.RuneCountInString(s)
	if n < minLen || (minLen > 0 && strings.TrimSpace(s) == "") {
		return errors.New("empty")
	}
	if n > maxLen {
		return fmt.Errorf("%d characters, limit %d", n, maxLen)
	}
	for _, r := range s {
		if r == '\n' || r == '\t' {
			if oneLine && r == '\n' {
				return errors.New("holds a line break")
			}
			continue
		}
		if r < 0x20 || r == 0x7f {
			return fmt.Errorf("holds control character %U", r)
		}
	}
	return nil
}

// ParseDuration reads a due time such as "30m", "4h", "2d" or "1d12h": Go
// duration units plus d for 24 hours. It must be positive and at most
// MaxDueAfter.
func ParseDuration(s string) (time.Duration, error) {
	if len(s) > maxDurationTextLen {
		return 0, fmt.Errorf("%q is too long", s)
	}
	rest := s
	var days int64
	if i := strings.IndexByte(rest, 'd'); i >= 0 {
		n, err := strconv.ParseInt(rest[:i], 10, 32)
		if err != nil || n < 0 {
			return 0, fmt.Errorf("%q: bad day count", s)
		}
		days = n
		rest = rest[i+1:]
	}
	var d time.Duration
	if rest != "" {
		v, err := time.ParseDuration(rest)
		if err != nil {
			return 0, fmt.Errorf("%q: want a duration like 30m, 4h or 2d", s)
		}
		d = v
	}
	if days > int64(MaxDueAfter/(24*time.Hour)) {
		return 0, fmt.Errorf("%q is longer than %s", s, FormatDuration(MaxDueAfter))
	}
	d += time.Duration(days) * 24 * time.Hour
	if d <= 0 {
		return 0, fmt.Errorf("%q: must be positive", s)
	}
	if d > MaxDueAfter {
		return 0, fmt.Errorf("%q is longer than %s", s, FormatDuration(MaxDueAfter))
	}
	return d, nil
}

// FormatDuration writes d the way playbooks spell due times, e.g. "2d",
// "1d12h", "4h", "90m".
func FormatDuration(d time.Duration) string {
	if d <= 0 {
		return "0"
	}
	day := 24 * time.Hour
	var b strings.Builder
	if d >= day {
		fmt.Fprintf(&b, "%dd", d/day)
		d %= day
	}
	if d >= time.Hour {
		fmt.Fprintf(&b, "%dh", d/time.Hour)
		d %= time.Hour
	}
	if d >= time.Minute {
		fmt.Fprintf(&b, "%dm", d/time.Minute)
		d %= time.Minute
	}
	if d > 0 {
		b.WriteString(d.String())
	}
	return b.String()
}

// LoadDir reads every *.yaml file in fsys's root. Each file's name must be
// its playbook's id followed by .yaml, which also keeps ids unique.
// Playbooks come back sorted by id.
func LoadDir(fsys fs.FS) ([]Playbook, error) {
	names, err := fs.Glob(fsys, "*.yaml")
	if err != nil {
		return nil, fmt.Errorf("list playbooks: %w", err)
	}
	if len(names) > maxPlaybooksInDir {
		return nil, fmt.Errorf("%d playbook files, limit %d", len(names), maxPlaybooksInDir)
	}
	sort.Strings(names)
	out := make([]Playbook, 0, len(names))
	for _, n := range names {
		p, err := loadFile(fsys, n)
		if err != nil {
			return nil, err
		}
		if want := p.ID + ".yaml"; n != want {
			return nil, fmt.Errorf("%s: file name must be %s to match the playbook id", n, want)
		}
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

func loadFile(fsys fs.FS, name string) (Playbook, error) {
	f, err := fsys.Open(name)
	if err != nil {
		return Playbook{}, fmt.Errorf("open playbook: %w", err)
	}
	defer f.Close()
	return Load(f, name)
}

// Builtin returns the embedded playbooks, validated and sorted by id.
func Builtin() ([]Playbook, error) {
	sub, err := fs.Sub(embedded, path.Clean("playbooks"))
	if err != nil {
		return nil, fmt.Errorf("embedded playbooks: %w", err)
	}
	return LoadDir(sub)
}

// Find returns the playbook with the given id.
func Find(pbs []Playbook, id string) (Playbook, bool) {
	for _, p := range pbs {
		if p.ID == id {
			return p, true
		}
	}
	return Playbook{}, false
}

// ForCategory returns the playbooks for one category, in the order given.
func ForCategory(pbs []Playbook, category string) []Playbook {
	var out []Playbook
	for _, p := range pbs {
		if p.Category == category {
			out = append(out, p)
		}
	}
	return out
}
