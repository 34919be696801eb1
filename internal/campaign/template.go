package campaign

import (
	"cmp"
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"

	"github.com/vigil-sec/vigil/internal/datafile"
)

//go:embed templates/*.yaml
var builtin embed.FS

// Bounds on one template.
const (
	MaxTemplateSize = 256 << 10
	MaxPhases       = 20
	MaxTasks        = 200
	MaxItems        = 500
	MaxParams       = 32
	MaxTextLen      = 2000
	MaxParamLen     = 1000
	MaxDuration     = 400 * 24 * time.Hour
	maxNameLen      = 200
)

// Template is a campaign template: phases with durations and tasks with
// deadlines relative to the campaign's start.
type Template struct {
	ID          string
	Name        string
	Kind        Kind
	Description string
	Phases      []TemplatePhase
	Tasks       []TemplateTask
}

// TemplatePhase is a phase of a template.
type TemplatePhase struct {
	ID       string
	Name     string
	Duration time.Duration
}

// TemplateTask is a task of a template. Owner names a role the instance
// maps to a person; DueAfter counts from the campaign start (zero: the end
// of the task's phase).
type TemplateTask struct {
	ID       string
	Phase    string
	Kind     TaskKind
	Title    string
	Owner    string
	DueAfter time.Duration
	Params   map[string]string
	Items    []Item
}

type tplFile struct {
	ID          string        `yaml:"id"`
	Name        string        `yaml:"name"`
	Kind        string        `yaml:"kind"`
	Description string        `yaml:"description"`
	Phases      []tplFilePh   `yaml:"phases"`
	Tasks       []tplFileTask `yaml:"tasks"`
}

type tplFilePh struct {
	ID       string `yaml:"id"`
	Name     string `yaml:"name"`
	Duration string `yaml:"duration"`
}

type tplFileTask struct {
	ID       string            `yaml:"id"`
	Phase    string            `yaml:"phase"`
	Kind     string            `yaml:"kind"`
	Title    string            `yaml:"title"`
	Owner    string            `yaml:"owner"`
	DueAfter string            `yaml:"due_after"`
	Params   map[string]string `yaml:"params"`
	Items    []tplFileItem     `yaml:"items"`
}

type tplFileItem struct {
	ID       string `yaml:"id"`
	Ref      string `yaml:"ref"`
	Text     string `yaml:"text"`
	Severity string `yaml:"severity"`
}

var (
	idRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,63}$`)
)

// LineError is a template problem at a line of the YAML file.
type LineError = datafile.LineError

// ParseTemplate reads and validates one YAML template. name labels errors
// (usually the file name). Unknown keys, unknown kinds or phases, duplicate
// ids and oversized content are refused with a *LineError.
func ParseTemplate(r io.Reader, name string) (*Template, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxTemplateSize+1))
	if err != nil {
		return nil, fmt.Errorf("%s: read: %w", name, err)
	}
	var f tplFile
	root, err := datafile.Decode(data, name, MaxTemplateSize, &f)
	if err != nil {
		return nil, err
	}
	lerr := func(line int, format string, args ...any) error {
		return &LineError{Name: name, Line: line, Msg: fmt.Sprintf(format, args...)}
	}
	return f.validate(root, lerr)
}

type lineErrFunc func(line int, format string, args ...any) error

func (f *tplFile) validate(root *yaml.Node, lerr lineErrFunc) (*Template, error) {
	if !idRE.MatchString(f.ID) {
		return nil, lerr(datafile.LineOf(root, "id"), "id %q: want 1-64 lower-case letters, digits, '.', '-' or '_'", f.ID)
	}
	if err := checkText(f.Name, 1, maxNameLen, true); err != nil {
		return nil, lerr(datafile.LineOf(root, "name"), "name: %v", err)
	}
	kind := Kind(f.Kind)
	if !slices.Contains([]Kind{KindGoLive, KindKeyPeriod, KindGeneral}, kind) {
		return nil, lerr(datafile.LineOf(root, "kind"), "kind %q: want go-live, key-period or general", f.Kind)
	}
	if err := checkText(f.Description, 0, MaxTextLen, false); err != nil {
		return nil, lerr(datafile.LineOf(root, "description"), "description: %v", err)
	}
	t := &Template{ID: f.ID, Name: f.Name, Kind: kind, Description: strings.TrimSpace(f.Description)}
	if len(f.Phases) == 0 || len(f.Phases) > MaxPhases {
		return nil, lerr(datafile.LineOf(root, "phases"), "%d phases: want 1 to %d", len(f.Phases), MaxPhases)
	}
	phases := map[string]bool{}
	for i, p := range f.Phases {
		if !idRE.MatchString(p.ID) {
			return nil, lerr(datafile.LineOf(root, "phases", i, "id"), "phase id %q: want 1-64 lower-case letters, digits, '.', '-' or '_'", p.ID)
		}
		if phases[p.ID] {
			return nil, lerr(datafile.LineOf(root, "phases", i, "id"), "phase id %q repeats", p.ID)
		}
		phases[p.ID] = true
		if err := checkText(p.Name, 1, maxNameLen, true); err != nil {
			return nil, lerr(datafile.LineOf(root, "phases", i, "name"), "phase %q name: %v", p.ID, err)
		}
		d, err := ParseDuration(p.Duration)
		if err != nil {
			return nil, lerr(datafile.LineOf(root, "phases", i, "duration"), "phase %q duration: %v", p.ID, err)
		}
		t.Phases = append(t.Phases, TemplatePhase{ID: p.ID, Name: p.Name, Duration: d})
	}
	if len(f.Tasks) > MaxTasks {
		return nil, lerr(datafile.LineOf(root, "tasks"), "%d tasks, limit %d", len(f.Tasks), MaxTasks)
	}
	tasks := map[string]bool{}
	for i, ft := range f.Tasks {
		at := func(key string) int { return datafile.LineOf(root, "tasks", i, key) }
		if !idRE.MatchString(ft.ID) {
			return nil, lerr(at("id"), "task id %q: want 1-64 lower-case letters, digits, '.', '-' or '_'", ft.ID)
		}
		if tasks[ft.ID] {
			return nil, lerr(at("id"), "task id %q repeats", ft.ID)
		}
		tasks[ft.ID] = true
		if !phases[ft.Phase] {
			return nil, lerr(at("phase"), "task %q: phase %q is not declared under phases", ft.ID, ft.Phase)
		}
		kind := TaskKind(ft.Kind)
		if !slices.Contains(TaskKinds(), kind) {
			return nil, lerr(at("kind"), "task %q: kind %q: want one of %s", ft.ID, ft.Kind, kindList())
		}
		if err := checkText(ft.Title, 1, maxNameLen, true); err != nil {
			return nil, lerr(at("title"), "task %q title: %v", ft.ID, err)
		}
		if err := checkText(ft.Owner, 0, maxNameLen, true); err != nil {
			return nil, lerr(at("owner"), "task %q owner: %v", ft.ID, err)
		}
		var due time.Duration
		if ft.DueAfter != "" {
			d, err := ParseDuration(ft.DueAfter)
			if err != nil {
				return nil, lerr(at("due_after"), "task %q due_after: %v", ft.ID, err)
			}
			due = d
		}
		if len(ft.Params) > MaxParams {
			return nil, lerr(at("params"), "task %q: %d params, limit %d", ft.ID, len(ft.Params), MaxParams)
		}
		for _, k := range slices.Sorted(maps.Keys(ft.Params)) {
			if !idRE.MatchString(k) {
				return nil, lerr(datafile.LineOf(root, "tasks", i, "params", k), "task %q: param name %q is not an identifier", ft.ID, k)
			}
			if err := checkText(ft.Params[k], 0, MaxParamLen, true); err != nil {
				return nil, lerr(datafile.LineOf(root, "tasks", i, "params", k), "task %q param %s: %v", ft.ID, k, err)
			}
		}
		if kind == TaskManual && len(ft.Items) == 0 {
			return nil, lerr(at("items"), "manual task %q has no items", ft.ID)
		}
		if kind != TaskManual && len(ft.Items) > 0 {
			return nil, lerr(at("items"), "task %q: only manual tasks have items", ft.ID)
		}
		if len(ft.Items) > MaxItems {
			return nil, lerr(at("items"), "task %q: %d items, limit %d", ft.ID, len(ft.Items), MaxItems)
		}
		tt := TemplateTask{ID: ft.ID, Phase: ft.Phase, Kind: kind, Title: ft.Title, Owner: ft.Owner, DueAfter: due}
		if len(ft.Params) > 0 {
			tt.Params = maps.Clone(ft.Params)
		}
		items := map[string]bool{}
		for j, it := range ft.Items {
			iat := func(key string) int { return datafile.LineOf(root, "tasks", i, "items", j, key) }
			if !idRE.MatchString(it.ID) {
				return nil, lerr(iat("id"), "task %q item id %q: want 1-64 lower-case letters, digits, '.', '-' or '_'", ft.ID, it.ID)
			}
			if items[it.ID] {
				return nil, lerr(iat("id"), "task %q item id %q repeats", ft.ID, it.ID)
			}
			items[it.ID] = true
			if err := checkText(it.Text, 1, MaxTextLen, false); err != nil {
				return nil, lerr(iat("text"), "item %q text: %v", it.ID, err)
			}
			if err := checkText(it.Ref, 0, maxNameLen, true); err != nil {
				return nil, lerr(iat("ref"), "item %q ref: %v", it.ID, err)
			}
			sev := Severity(it.Severity)
			if it.Severity == "" {
				sev = SeverityMedium
			}
			if !sev.Valid() {
				return nil, lerr(iat("severity"), "item %q severity %q: want critical, high, medium, low or info", it.ID, it.Severity)
			}
			tt.Items = append(tt.Items, Item{ID: it.ID, Ref: it.Ref, Text: strings.TrimSpace(it.Text), Severity: sev})
		}
		t.Tasks = append(t.Tasks, tt)
	}
	return t, nil
}

func kindList() string {
	var s []string
	for _, k := range TaskKinds() {
		s = append(s, string(k))
	}
	return strings.Join(s, ", ")
}

// checkText checks a string's length in characters and, for one-line
// fields, that it holds no line break; control characters are refused.
func checkText(s string, minLen, maxLen int, oneLine bool) error {
	n := utf8.RuneCountInString(s)
	if minLen > 0 && strings.TrimSpace(s) == "" {
		return errors.New("empty")
	}
	if n > maxLen {
		return fmt.Errorf("%d characters, limit %d", n, maxLen)
	}
	for _, r := range s {
		switch {
		case r == '\n' && oneLine:
			return errors.New("holds a line break")
		case r == '\n' || r == '\t':
		case r < 0x20 || r == 0x7f:
			return fmt.Errorf("holds control character %U", r)
		}
	}
	return nil
}

// ParseDuration reads a duration such as "30m", "4h", "2d" or "1d12h": Go
// duration units plus d for 24 hours. It must be positive and at most
// MaxDuration.
func ParseDuration(s string) (time.Duration, error) {
	if s == "" {
		return 0, errors.New("missing")
	}
	if len(s) > 16 {
		return 0, fmt.Errorf("%q is too long", s)
	}
	rest := s
	var days int64
	if i := strings.IndexByte(rest, 'd'); i >= 0 {
		n, err := strconv.ParseInt(rest[:i], 10, 32)
		if err != nil || n < 0 {
			return 0, fmt.Errorf("%q: bad day count", s)
		}
		days, rest = n, rest[i+1:]
	}
	var d time.Duration
	if rest != "" {
		v, err := time.ParseDuration(rest)
		if err != nil {
			return 0, fmt.Errorf("%q: want a duration like 30m, 4h or 2d", s)
		}
		d = v
	}
	if days > int64(MaxDuration/(24*time.Hour)) || d > MaxDuration {
		return 0, fmt.Errorf("%q is longer than %d days", s, int(MaxDuration/(24*time.Hour)))
	}
	d += time.Duration(days) * 24 * time.Hour
	if d <= 0 || d > MaxDuration {
		return 0, fmt.Errorf("%q: want a positive duration of at most %d days", s, int(MaxDuration/(24*time.Hour)))
	}
	return d, nil
}

// BuiltinTemplates loads the templates embedded in Vigil.
func BuiltinTemplates() ([]*Template, error) {
	return LoadTemplates(builtin, "templates")
}

// maxTemplatesInDir bounds LoadTemplates.
const maxTemplatesInDir = 1000

// LoadTemplates loads every *.yaml template in dir of fsys, sorted by id;
// ids must be unique.
func LoadTemplates(fsys fs.FS, dir string) ([]*Template, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, fmt.Errorf("read templates: %w", err)
	}
	var out []*Template
	seen := map[string]string{}
	for _, e := range entries {
		if e.IsDir() || !(strings.HasSuffix(e.Name(), ".yaml") || strings.HasSuffix(e.Name(), ".yml")) {
			continue
		}
		if len(out) >= maxTemplatesInDir {
			return nil, fmt.Errorf("more than %d templates in %s", maxTemplatesInDir, dir)
		}
		p := path.Join(dir, e.Name())
		fh, err := fsys.Open(p)
		if err != nil {
			return nil, fmt.Errorf("open template: %w", err)
		}
		t, err := ParseTemplate(fh, p)
		_ = fh.Close()
		if err != nil {
			return nil, err
		}
		if other, dup := seen[t.ID]; dup {
			return nil, &LineError{Name: p, Line: 1, Msg: fmt.Sprintf("template id %q is also used by %s", t.ID, other)}
		}
		seen[t.ID] = p
		out = append(out, t)
	}
	slices.SortFunc(out, func(a, b *Template) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

// Instance says who and what a campaign made from a template covers.
type Instance struct {
	ID     string
	Tenant string
	Name   string // defaults to the template's name
	Scope  Scope
	// Targets are the scope resolved into reachable targets.
	Targets []Target
	// Owners maps the template's owner roles to people; a role without
	// an entry is kept as the owner.
	Owners map[string]string
	// Params adds to or overrides the parameters of tasks, by task id
	// (e.g. the baseline policy of the "baseline" task).
	Params map[string]map[string]string
	Start  time.Time
}

// Instantiate makes a campaign from the template: phases follow each
// other from in.Start, each task is due DueAfter after the start or at the
// end of its phase.
func (t *Template) Instantiate(in Instance) (*Campaign, error) {
	if in.ID == "" || in.Tenant == "" {
		return nil, errors.New("a campaign needs an id and a tenant")
	}
	if in.Start.IsZero() {
		return nil, errors.New("a campaign needs a start time")
	}
	for id := range in.Params {
		if !slices.ContainsFunc(t.Tasks, func(tt TemplateTask) bool { return tt.ID == id }) {
			return nil, fmt.Errorf("params for task %q: the template has no such task", id)
		}
	}
	seen := map[string]bool{}
	for _, tg := range in.Targets {
		if tg.AssetID == "" || seen[tg.AssetID] {
			return nil, fmt.Errorf("target asset id %q is empty or repeated", tg.AssetID)
		}
		seen[tg.AssetID] = true
	}
	c := &Campaign{ID: in.ID, Tenant: in.Tenant, Name: cmp.Or(in.Name, t.Name), Kind: t.Kind, Template: t.ID,
		Scope: in.Scope, Targets: slices.Clone(in.Targets), Start: in.Start.UTC()}
	at := c.Start
	end := map[string]time.Time{}
	for _, p := range t.Phases {
		c.Phases = append(c.Phases, Phase{ID: p.ID, Name: p.Name, Start: at, End: at.Add(p.Duration)})
		at = at.Add(p.Duration)
		end[p.ID] = at
	}
	owners := map[string]bool{}
	for _, tt := range t.Tasks {
		owner := tt.Owner
		if o, ok := in.Owners[owner]; ok {
			owner = o
		}
		due := end[tt.Phase]
		if tt.DueAfter > 0 {
			due = c.Start.Add(tt.DueAfter)
		}
		params := maps.Clone(tt.Params)
		if extra := in.Params[tt.ID]; len(extra) > 0 {
			if params == nil {
				params = map[string]string{}
			}
			maps.Copy(params, extra)
		}
		c.Tasks = append(c.Tasks, Task{ID: tt.ID, Phase: tt.Phase, Kind: tt.Kind, Title: tt.Title, Owner: owner,
			Due: due, Params: params, Items: slices.Clone(tt.Items)})
		if owner != "" && !owners[owner] {
			owners[owner] = true
			c.Owners = append(c.Owners, owner)
		}
	}
	return c, nil
}
