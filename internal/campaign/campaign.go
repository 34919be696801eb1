// Package campaign owns Vigil's campaign engine: a campaign orchestrates
// automated checks (discovery, vulnerability scans and imports, baseline
// policies, web-log analysis, TLS, exposed ports, default credentials and
// admin pages) and manual checklist items over a tenant's scope, in phases,
// with owners and deadlines, and rolls the results up per asset and per
// phase. Campaigns are instantiated from YAML templates (see Template).
//
// The engine holds no store: a Campaign is a plain value the caller keeps.
// Automated tasks run through the Runner interface, so the real engines are
// plugged in by the application; a task whose runner fails is recorded as
// errored, never as passed. The go-live security gate (package gate) and
// key-period campaigns (package keyperiod) are built on it.
package campaign

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"time"
)

// Kind is the kind of a campaign.
type Kind string

// Campaign kinds.
const (
	// KindGoLive is a go-live security gate (系统上线安全检查) of one
	// system version.
	KindGoLive Kind = "go-live"
	// KindKeyPeriod is a key-period campaign (重点时期安全保障, 重保).
	KindKeyPeriod Kind = "key-period"
	// KindGeneral is any other campaign.
	KindGeneral Kind = "general"
)

// TaskKind says what a task does.
type TaskKind string

// Task kinds. Every kind but TaskManual is automated and needs a Runner.
const (
	TaskDiscovery    TaskKind = "discovery"           // active asset discovery scan
	TaskVulnScan     TaskKind = "vuln-scan"           // vulnerability scan
	TaskVulnImport   TaskKind = "vuln-import"         // import of a scanner report
	TaskBaseline     TaskKind = "baseline"            // baseline (SCA) policy run
	TaskWebLog       TaskKind = "web-log"             // web access log analysis
	TaskTLS          TaskKind = "tls"                 // TLS configuration check
	TaskExposedPorts TaskKind = "exposed-ports"       // open ports against the declared design
	TaskDefaultCreds TaskKind = "default-credentials" // default credential check
	TaskAdminPages   TaskKind = "admin-pages"         // exposed admin page check
	TaskManual       TaskKind = "manual"              // checklist answered by a person
)

// TaskKinds lists every task kind.
func TaskKinds() []TaskKind {
	return []TaskKind{TaskDiscovery, TaskVulnScan, TaskVulnImport, TaskBaseline, TaskWebLog,
		TaskTLS, TaskExposedPorts, TaskDefaultCreds, TaskAdminPages, TaskManual}
}

// Automated reports whether tasks of kind k run through a Runner.
func (k TaskKind) Automated() bool { return k != TaskManual }

// Severity grades a finding: critical, high, medium, low or info.
type Severity string

// Severities, most severe first.
const (
	SeverityCritical Severity = "critical"
	SeverityHigh     Severity = "high"
	SeverityMedium   Severity = "medium"
	SeverityLow      Severity = "low"
	SeverityInfo     Severity = "info"
)

// Severities lists the severities, most severe first.
func Severities() []Severity {
	return []Severity{SeverityCritical, SeverityHigh, SeverityMedium, SeverityLow, SeverityInfo}
}

// Rank orders severities: critical is 4, info 0, an unknown severity -1.
func (s Severity) Rank() int {
	switch s {
	case SeverityCritical:
		return 4
	case SeverityHigh:
		return 3
	case SeverityMedium:
		return 2
	case SeverityLow:
		return 1
	case SeverityInfo:
		return 0
	}
	return -1
}

// Valid reports whether s is a known severity.
func (s Severity) Valid() bool { return s.Rank() >= 0 }

// SeverityForScore maps a CVSS base score to its qualitative rating
// (CVSS v3.1 and v4.0 use the same bands).
func SeverityForScore(score float64) Severity {
	switch {
	case score >= 9:
		return SeverityCritical
	case score >= 7:
		return SeverityHigh
	case score >= 4:
		return SeverityMedium
	case score > 0:
		return SeverityLow
	}
	return SeverityInfo
}

// Status is the state of a task on one target, or of a checklist item.
type Status string

// Statuses.
const (
	StatusPending       Status = "pending"        // not run or not answered yet
	StatusPassed        Status = "passed"         // ran and found nothing that fails
	StatusFailed        Status = "failed"         // ran and found problems
	StatusErrored       Status = "errored"        // could not run: scanner error, unreachable host
	StatusNotApplicable Status = "not-applicable" // does not apply to this target
)

// Scope is what a campaign covers: asset ids, business systems and address
// ranges (CIDR prefixes or single addresses).
type Scope struct {
	AssetIDs []string `json:"asset_ids,omitempty"`
	Systems  []string `json:"systems,omitempty"`
	CIDRs    []string `json:"cidrs,omitempty"`
}

// Target is one thing a task runs against: an asset with what the runners
// need to reach it. The caller resolves the scope into targets.
type Target struct {
	AssetID string `json:"asset_id"`
	// Tenant is the campaign's tenant, set by the Engine for each run
	// (runners that call Vigil's services need it); it is not stored.
	Tenant string `json:"-"`
	System string `json:"system,omitempty"`
	// Host is the address (or name) to connect to.
	Host string `json:"host,omitempty"`
	// DeclaredPorts are the TCP ports the system's design says are open.
	DeclaredPorts []uint16 `json:"declared_ports,omitempty"`
	// TLSPorts are the ports that serve TLS.
	TLSPorts []uint16 `json:"tls_ports,omitempty"`
	// ServerName is the name the TLS certificate must be valid for.
	ServerName string `json:"server_name,omitempty"`
	// Root is the host filesystem view a local baseline run reads (a
	// mounted or copied root); empty means the runner's default.
	Root string `json:"root,omitempty"`
	// Labels carry anything else a runner needs (URL, credentials id).
	Labels map[string]string `json:"labels,omitempty"`
}

// Phase is one stage of a campaign.
type Phase struct {
	ID    string    `json:"id"`
	Name  string    `json:"name"`
	Start time.Time `json:"start,omitzero"`
	End   time.Time `json:"end,omitzero"`
}

// Item is one checklist item of a manual task.
type Item struct {
	ID string `json:"id"`
	// Ref names the requirement the item comes from, e.g.
	// "v5.0.0-6.2.1" for OWASP ASVS or an MLPS control.
	Ref      string   `json:"ref,omitempty"`
	Text     string   `json:"text"`
	Severity Severity `json:"severity"`
}

// Task is one unit of work of a campaign.
type Task struct {
	ID    string   `json:"id"`
	Phase string   `json:"phase"`
	Kind  TaskKind `json:"kind"`
	Title string   `json:"title"`
	Owner string   `json:"owner,omitempty"`
	// Due is the deadline; zero means none.
	Due time.Time `json:"due,omitzero"`
	// Params configure the runner (policy id, risky ports, ...).
	Params map[string]string `json:"params,omitempty"`
	// Items is the checklist of a manual task.
	Items []Item `json:"items,omitempty"`
}

// Finding is one problem a task found on a target.
type Finding struct {
	// Key identifies the problem across runs (e.g. "port/3389",
	// "tls/expired"), so a re-test can show it fixed and an acceptance
	// can name it.
	Key      string   `json:"key"`
	Title    string   `json:"title"`
	Severity Severity `json:"severity"`
	// Score is the CVSS base score when the source gives one, else the
	// score Vigil's check assigns; it sets the fix deadline.
	Score    float64  `json:"score,omitempty"`
	Evidence []string `json:"evidence,omitempty"`
	Ref      string   `json:"ref,omitempty"`
}

// RefRiskyPort is the Ref of exposed-port findings about a port on the
// risky list (such as 135, 137, 139, 445 or 3389).
const RefRiskyPort = "risky-port"

// Result is the outcome of one task on one target (or, for a manual task,
// of one checklist item).
type Result struct {
	TaskID  string `json:"task_id"`
	AssetID string `json:"asset_id"`
	// ItemID is set for a manual checklist item.
	ItemID   string    `json:"item_id,omitempty"`
	Status   Status    `json:"status"`
	Findings []Finding `json:"findings,omitempty"`
	// Error says why an errored task could not run.
	Error string `json:"error,omitempty"`
	// Evidence holds references to evidence (file ids, ticket ids) for a
	// manual item, or notes of an automated run.
	Evidence []string  `json:"evidence,omitempty"`
	By       string    `json:"by,omitempty"`
	At       time.Time `json:"at"`
	// Run counts the runs of this task on this target: 1 for the first,
	// 2 and up for re-tests.
	Run int `json:"run"`
}

// Campaign is one instance of a template over a tenant's scope.
type Campaign struct {
	ID       string    `json:"id"`
	Tenant   string    `json:"tenant"`
	Name     string    `json:"name"`
	Kind     Kind      `json:"kind"`
	Template string    `json:"template,omitempty"`
	Owners   []string  `json:"owners,omitempty"`
	Scope    Scope     `json:"scope"`
	Targets  []Target  `json:"targets,omitempty"`
	Phases   []Phase   `json:"phases"`
	Tasks    []Task    `json:"tasks"`
	Start    time.Time `json:"start"`
	// Results holds the latest result per task, target and item; History
	// keeps the ones re-tests replaced.
	Results []Result `json:"results,omitempty"`
	History []Result `json:"history,omitempty"`
}

// ErrUnknownTask is returned for a task id the campaign does not have.
var ErrUnknownTask = errors.New("unknown task")

// Task returns the task with id.
func (c *Campaign) Task(id string) (*Task, error) {
	for i := range c.Tasks {
		if c.Tasks[i].ID == id {
			return &c.Tasks[i], nil
		}
	}
	return nil, fmt.Errorf("%w %q", ErrUnknownTask, id)
}

// Target returns the target of assetID, or false.
func (c *Campaign) Target(assetID string) (Target, bool) {
	for _, t := range c.Targets {
		if t.AssetID == assetID {
			return t, true
		}
	}
	return Target{}, false
}

// PhaseAt returns the phase whose [Start, End) holds t, or false when t is
// outside every phase.
func (c *Campaign) PhaseAt(t time.Time) (Phase, bool) {
	for _, p := range c.Phases {
		if !t.Before(p.Start) && t.Before(p.End) {
			return p, true
		}
	}
	return Phase{}, false
}

// Record stores r as the latest result of its task, target and item,
// moving the one it replaces to History. Run is set from the history.
func (c *Campaign) Record(r Result) {
	for i, old := range c.Results {
		if old.TaskID == r.TaskID && old.AssetID == r.AssetID && old.ItemID == r.ItemID {
			r.Run = old.Run + 1
			c.History = append(c.History, old)
			c.Results[i] = r
			return
		}
	}
	r.Run = 1
	c.Results = append(c.Results, r)
}

// Latest returns the latest result of a task on a target (and item).
func (c *Campaign) Latest(taskID, assetID, itemID string) (Result, bool) {
	for _, r := range c.Results {
		if r.TaskID == taskID && r.AssetID == assetID && r.ItemID == itemID {
			return r, true
		}
	}
	return Result{}, false
}

// Expected lists every result slot the campaign expects: each automated
// task on each target and each manual item (manual items are not per
// target: AssetID is ""). Slots without a result are pending.
func (c *Campaign) Expected() []Result {
	type slot struct{ task, asset, item string }
	latest := make(map[slot]int, len(c.Results))
	for i, r := range c.Results {
		latest[slot{r.TaskID, r.AssetID, r.ItemID}] = i
	}
	get := func(task, asset, item string) Result {
		if i, ok := latest[slot{task, asset, item}]; ok {
			return c.Results[i]
		}
		return Result{TaskID: task, AssetID: asset, ItemID: item, Status: StatusPending}
	}
	var out []Result
	for _, t := range c.Tasks {
		if t.Kind == TaskManual {
			for _, it := range t.Items {
				out = append(out, get(t.ID, "", it.ID))
			}
			continue
		}
		for _, tg := range c.Targets {
			out = append(out, get(t.ID, tg.AssetID, ""))
		}
	}
	return out
}

// Tally counts results by status and findings by severity.
type Tally struct {
	Total    int              `json:"total"`
	Status   map[Status]int   `json:"status"`
	Findings map[Severity]int `json:"findings"`
	// Overdue counts pending or failed slots whose task is past due.
	Overdue int `json:"overdue"`
}

func (t *Tally) add(r Result, overdue bool) {
	if t.Status == nil {
		t.Status = map[Status]int{}
		t.Findings = map[Severity]int{}
	}
	t.Total++
	t.Status[r.Status]++
	for _, f := range r.Findings {
		t.Findings[f.Severity]++
	}
	if overdue {
		t.Overdue++
	}
}

// Done reports whether every slot has a final result: nothing pending and
// nothing errored.
func (t Tally) Done() bool { return t.Status[StatusPending] == 0 && t.Status[StatusErrored] == 0 }

// Rollup is a campaign's results rolled up per asset and per phase.
type Rollup struct {
	All     Tally            `json:"all"`
	ByAsset map[string]Tally `json:"by_asset"`
	ByPhase map[string]Tally `json:"by_phase"`
}

// Rollup tallies the expected slots at time now (for overdue counts).
// Manual items count under the asset "" in ByAsset.
func (c *Campaign) Rollup(now time.Time) Rollup {
	ro := Rollup{ByAsset: map[string]Tally{}, ByPhase: map[string]Tally{}}
	phase := map[string]*Task{}
	for i := range c.Tasks {
		phase[c.Tasks[i].ID] = &c.Tasks[i]
	}
	for _, r := range c.Expected() {
		t := phase[r.TaskID]
		overdue := !t.Due.IsZero() && now.After(t.Due) && (r.Status == StatusPending || r.Status == StatusFailed || r.Status == StatusErrored)
		ro.All.add(r, overdue)
		a := ro.ByAsset[r.AssetID]
		a.add(r, overdue)
		ro.ByAsset[r.AssetID] = a
		p := ro.ByPhase[t.Phase]
		p.add(r, overdue)
		ro.ByPhase[t.Phase] = p
	}
	return ro
}

// SortedKeys returns the keys of a rollup map in order.
func SortedKeys(m map[string]Tally) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// SortFindings orders findings by severity (most severe first), then key.
func SortFindings(fs []Finding) {
	slices.SortFunc(fs, func(a, b Finding) int {
		return cmp.Or(cmp.Compare(b.Severity.Rank(), a.Severity.Rank()), cmp.Compare(a.Key, b.Key))
	})
}

// ScoreForSeverity is the score given to a finding whose source has a
// severity but no CVSS score: the lower bound of the severity's CVSS band,
// so the fix deadline of the band applies.
func ScoreForSeverity(s Severity) float64 {
	switch s {
	case SeverityCritical:
		return 9.0
	case SeverityHigh:
		return 7.0
	case SeverityMedium:
		return 4.0
	case SeverityLow:
		return 0.1
	}
	return 0
}
