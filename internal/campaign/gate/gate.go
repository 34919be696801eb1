// Package gate owns the go-live security gate (系统上线安全检查): a
// release record of a system version, a campaign of automated checks
// (exposed ports against the design, host baselines, vulnerability scan,
// TLS, default credentials and admin pages) plus the OWASP ASVS 5.0
// checklist of the chosen level and the MLPS 2.0 items of the system's
// level, and a decision — pass, conditional pass or fail — made by rules
// kept as data. Open items get fix deadlines by score; medium items may be
// risk-accepted with an approver and an expiry, and an acceptance that
// expires turns the decision back and raises an Alert.
package gate

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-sec/vigil/internal/campaign"
)

// Release is the record of the system version going live.
type Release struct {
	System  string    `json:"system"`
	Version string    `json:"version"`
	Change  string    `json:"change"`
	Owner   string    `json:"owner"`
	Planned time.Time `json:"planned"`
	// NewSystem is true for a first go-live, false for a change.
	NewSystem bool `json:"new_system"`
	// ASVSLevel is the ASVS verification level, 1 to 3.
	ASVSLevel int `json:"asvs_level"`
	// MLPSLevel is the system's MLPS protection level (1 to 5); 0 means
	// the system is not graded and no MLPS items are added.
	MLPSLevel int `json:"mlps_level"`
}

func (r Release) validate() error {
	var errs []error
	for name, v := range map[string]string{"system": r.System, "version": r.Version, "owner": r.Owner, "change": r.Change} {
		if strings.TrimSpace(v) == "" {
			errs = append(errs, fmt.Errorf("release %s is empty", name))
		}
	}
	if r.Planned.IsZero() {
		errs = append(errs, errors.New("release has no planned date"))
	}
	if r.ASVSLevel < 1 || r.ASVSLevel > 3 {
		errs = append(errs, fmt.Errorf("ASVS level %d: want 1, 2 or 3", r.ASVSLevel))
	}
	if r.MLPSLevel < 0 || r.MLPSLevel > 5 {
		errs = append(errs, fmt.Errorf("MLPS level %d: want 0 (not graded) to 5", r.MLPSLevel))
	}
	return errors.Join(errs...)
}

// Outcome is the gate's decision.
type Outcome string

// Outcomes.
const (
	Pass            Outcome = "pass"
	ConditionalPass Outcome = "conditional-pass"
	Fail            Outcome = "fail"
)

// Acceptance is a risk acceptance of one open item until Expires.
type Acceptance struct {
	AssetID  string    `json:"asset_id"`
	Key      string    `json:"key"`
	Approver string    `json:"approver"`
	Reason   string    `json:"reason"`
	Granted  time.Time `json:"granted"`
	Expires  time.Time `json:"expires"`
}

// Item is one open item of a decision.
type Item struct {
	TaskID   string            `json:"task_id"`
	AssetID  string            `json:"asset_id,omitempty"`
	Key      string            `json:"key"`
	Title    string            `json:"title"`
	Severity campaign.Severity `json:"severity"`
	Score    float64           `json:"score"`
	Action   Action            `json:"action"`
	Ref      string            `json:"ref,omitempty"`
	// FirstSeen is when the problem was first found; Due is the fix
	// deadline counted from it (zero when no band applies).
	FirstSeen  time.Time   `json:"first_seen"`
	Due        time.Time   `json:"due,omitzero"`
	Overdue    bool        `json:"overdue,omitempty"`
	Acceptance *Acceptance `json:"acceptance,omitempty"`
}

// Decision is the gate's verdict at one time.
type Decision struct {
	Outcome Outcome   `json:"outcome"`
	At      time.Time `json:"at"`
	// Blocking items make the gate fail; Accepted items are open but
	// risk-accepted; Noted items do not block.
	Blocking []Item   `json:"blocking,omitempty"`
	Accepted []Item   `json:"accepted,omitempty"`
	Noted    []Item   `json:"noted,omitempty"`
	Reasons  []string `json:"reasons"`
	// NextExpiry is the earliest expiry of the acceptances a conditional
	// pass rests on.
	NextExpiry time.Time `json:"next_expiry,omitzero"`
}

// Alert is raised when a risk acceptance expires while its item is still
// open.
type Alert struct {
	Kind     string            `json:"kind"` // "acceptance-expired"
	Tenant   string            `json:"tenant"`
	System   string            `json:"system"`
	Version  string            `json:"version"`
	AssetID  string            `json:"asset_id,omitempty"`
	Key      string            `json:"key"`
	Title    string            `json:"title"`
	Severity campaign.Severity `json:"severity"`
	Approver string            `json:"approver"`
	Expired  time.Time         `json:"expired"`
	Before   Outcome           `json:"before"`
	After    Outcome           `json:"after"`
	Message  string            `json:"message"`
}

// Options configure New.
type Options struct {
	// Template is the go-live campaign template; nil means the built-in
	// "go-live" template.
	Template *campaign.Template
	// ASVS and MLPS are the checklists; nil means the embedded ones.
	ASVS *ASVS
	MLPS []MLPSItem
	// Rules decide; the zero value means DefaultRules.
	Rules *Rules
}

// Gate is the go-live gate of one release. It is a plain value the caller
// stores; it is not safe for concurrent use.
type Gate struct {
	Release     Release            `json:"release"`
	Campaign    *campaign.Campaign `json:"campaign"`
	Rules       Rules              `json:"rules"`
	Acceptances []Acceptance       `json:"acceptances,omitempty"`
	// Last is the latest decision made by Check.
	Last *Decision `json:"last,omitempty"`
	// Alerted records the acceptances already alerted on, so an alert is
	// raised once even when the gate is stored and loaded again.
	Alerted map[string]bool `json:"alerted,omitempty"`
}

// Task ids the gate adds to the template's tasks.
const (
	TaskASVS = "asvs"
	TaskMLPS = "mlps"
)

// New opens the gate of a release: it instantiates the go-live template
// for in and adds the ASVS checklist of the release's level and, for a
// graded system, the MLPS items of its level.
func New(rel Release, in campaign.Instance, opts Options) (*Gate, error) {
	if err := rel.validate(); err != nil {
		return nil, err
	}
	tpl := opts.Template
	if tpl == nil {
		tpls, err := campaign.BuiltinTemplates()
		if err != nil {
			return nil, err
		}
		i := slices.IndexFunc(tpls, func(t *campaign.Template) bool { return t.ID == "go-live" })
		if i < 0 {
			return nil, errors.New("built-in go-live template missing")
		}
		tpl = tpls[i]
	}
	asvs := opts.ASVS
	if asvs == nil {
		a, err := LoadASVS()
		if err != nil {
			return nil, err
		}
		asvs = a
	}
	mlps := opts.MLPS
	if mlps == nil {
		m, err := LoadMLPS()
		if err != nil {
			return nil, err
		}
		mlps = m
	}
	var rules Rules
	if opts.Rules != nil {
		rules = *opts.Rules
	} else {
		r, err := DefaultRules()
		if err != nil {
			return nil, err
		}
		rules = r
	}
	if in.Name == "" {
		in.Name = rel.System + " " + rel.Version
	}
	c, err := tpl.Instantiate(in)
	if err != nil {
		return nil, err
	}
	phase, due := checkPhase(c)
	asvsTask := campaign.Task{ID: TaskASVS, Phase: phase, Kind: campaign.TaskManual, Due: due, Owner: rel.Owner,
		Title: fmt.Sprintf("OWASP ASVS %s level %d checklist", ASVSVersion, rel.ASVSLevel)}
	for _, ch := range asvs.AtLevel(rel.ASVSLevel) {
		for _, r := range ch.Reqs {
			asvsTask.Items = append(asvsTask.Items, campaign.Item{ID: "asvs-" + r.ID, Ref: r.Ref(), Text: r.Text, Severity: rules.ASVSSeverity[r.Level]})
		}
	}
	c.Tasks = append(c.Tasks, asvsTask)
	if rel.MLPSLevel > 0 {
		t := campaign.Task{ID: TaskMLPS, Phase: phase, Kind: campaign.TaskManual, Due: due, Owner: rel.Owner,
			Title: fmt.Sprintf("MLPS level %d compliance items", rel.MLPSLevel)}
		for _, it := range mlps {
			if it.MinLevel <= rel.MLPSLevel {
				t.Items = append(t.Items, campaign.Item{ID: it.ID, Ref: it.Area, Text: it.Text, Severity: it.Severity})
			}
		}
		c.Tasks = append(c.Tasks, t)
	}
	return &Gate{Release: rel, Campaign: c, Rules: rules, Alerted: map[string]bool{}}, nil
}

// checkPhase is the phase checklists belong to: "check" when the template
// has it, else the first phase.
func checkPhase(c *campaign.Campaign) (string, time.Time) {
	for _, p := range c.Phases {
		if p.ID == "check" {
			return p.ID, p.End
		}
	}
	return c.Phases[0].ID, c.Phases[0].End
}

// Items lists the open items of the campaign at now, with their action
// under the rules and their fix deadlines, most severe first.
func (g *Gate) Items(now time.Time) []Item {
	first := g.firstSeen()
	titles := map[string]string{}
	for _, t := range g.Campaign.Tasks {
		titles[t.ID] = t.Title
	}
	var out []Item
	for _, r := range g.Campaign.Expected() {
		switch r.Status {
		case campaign.StatusPending:
			key := "pending/" + r.TaskID
			if r.ItemID != "" {
				key += "/" + r.ItemID
			}
			out = append(out, Item{TaskID: r.TaskID, AssetID: r.AssetID, Key: key, Title: "Not checked yet: " + titles[r.TaskID] + itemSuffix(r.ItemID),
				Severity: campaign.SeverityHigh, Action: orFail(g.Rules.Pending)})
			continue
		case campaign.StatusErrored:
			out = append(out, Item{TaskID: r.TaskID, AssetID: r.AssetID, Key: "errored/" + r.TaskID, Title: "Check could not run: " + titles[r.TaskID] + ": " + r.Error,
				Severity: campaign.SeverityHigh, Action: orFail(g.Rules.Errored), FirstSeen: r.At})
			continue
		}
		for _, f := range r.Findings {
			act := g.Rules.Severities[f.Severity]
			if !act.valid() {
				// A severity the rules do not name never passes silently.
				act = ActionFail
			}
			if act == ActionIgnore {
				continue
			}
			score := f.Score
			if score == 0 {
				score = campaign.ScoreForSeverity(f.Severity)
			}
			it := Item{TaskID: r.TaskID, AssetID: r.AssetID, Key: f.Key, Title: f.Title, Severity: f.Severity, Score: score, Action: act, Ref: f.Ref,
				FirstSeen: first[slotKey(r.TaskID, r.AssetID, f.Key)]}
			if w := g.Rules.FixWithin(score); w > 0 && !it.FirstSeen.IsZero() {
				it.Due = it.FirstSeen.Add(w)
				it.Overdue = now.After(it.Due)
			}
			out = append(out, it)
		}
	}
	// Asset, key and task identify an item, so the order is total.
	slices.SortFunc(out, func(a, b Item) int {
		return cmp.Or(cmp.Compare(b.Severity.Rank(), a.Severity.Rank()), cmp.Compare(a.AssetID, b.AssetID), cmp.Compare(a.Key, b.Key), cmp.Compare(a.TaskID, b.TaskID))
	})
	return out
}

// orFail is a pending or errored action: only accept is honoured besides
// fail, so zero or damaged rules can never let an unchecked item pass.
func orFail(a Action) Action {
	if a == ActionAccept {
		return a
	}
	return ActionFail
}

func itemSuffix(id string) string {
	if id == "" {
		return ""
	}
	return " (" + id + ")"
}

func slotKey(task, asset, key string) string { return task + "\x00" + asset + "\x00" + key }

// firstSeen maps each finding to the earliest result that reported it.
func (g *Gate) firstSeen() map[string]time.Time {
	m := map[string]time.Time{}
	for _, rs := range [][]campaign.Result{g.Campaign.History, g.Campaign.Results} {
		for _, r := range rs {
			for _, f := range r.Findings {
				k := slotKey(r.TaskID, r.AssetID, f.Key)
				if t, ok := m[k]; !ok || r.At.Before(t) {
					m[k] = r.At
				}
			}
		}
	}
	return m
}

// acceptance returns the acceptance of an item valid at now.
func (g *Gate) acceptance(assetID, key string, now time.Time) *Acceptance {
	for i := range g.Acceptances {
		a := &g.Acceptances[i]
		if a.AssetID == assetID && a.Key == key && now.Before(a.Expires) {
			return a
		}
	}
	return nil
}

// Accept records a risk acceptance of an open item. Only items whose
// action is "accept" can be accepted; the approver and a reason are
// required, and the expiry must lie within the rules' longest acceptance.
func (g *Gate) Accept(a Acceptance, now time.Time) error {
	if strings.TrimSpace(a.Approver) == "" || strings.TrimSpace(a.Reason) == "" {
		return errors.New("an acceptance needs an approver and a reason")
	}
	if !a.Expires.After(now) {
		return errors.New("the acceptance expires before it starts")
	}
	if a.Expires.Sub(now) > g.Rules.MaxAcceptance {
		return fmt.Errorf("an acceptance may run at most %s", g.Rules.MaxAcceptance)
	}
	for _, it := range g.Items(now) {
		if it.AssetID != a.AssetID || it.Key != a.Key {
			continue
		}
		if it.Action != ActionAccept {
			return fmt.Errorf("item %s on %q is %s and cannot be risk-accepted (rule: %s)", it.Key, it.AssetID, it.Severity, it.Action)
		}
		a.Granted = now
		g.Acceptances = append(g.Acceptances, a)
		return nil
	}
	return fmt.Errorf("no open item %s on %q", a.Key, a.AssetID)
}

// Decide applies the rules at now: any item with action fail, or with
// action accept and no valid acceptance, fails the gate; open accepted
// items give a conditional pass; otherwise the gate passes.
func (g *Gate) Decide(now time.Time) Decision {
	d := Decision{At: now}
	for _, it := range g.Items(now) {
		switch it.Action {
		case ActionFail:
			d.Blocking = append(d.Blocking, it)
		case ActionAccept:
			if a := g.acceptance(it.AssetID, it.Key, now); a != nil {
				cp := *a
				it.Acceptance = &cp
				d.Accepted = append(d.Accepted, it)
				if d.NextExpiry.IsZero() || a.Expires.Before(d.NextExpiry) {
					d.NextExpiry = a.Expires
				}
			} else {
				d.Blocking = append(d.Blocking, it)
			}
		case ActionNote:
			d.Noted = append(d.Noted, it)
		}
	}
	switch {
	case len(d.Blocking) > 0:
		d.Outcome = Fail
		counts := map[Action]int{}
		for _, it := range d.Blocking {
			counts[it.Action]++
		}
		if n := counts[ActionFail]; n > 0 {
			d.Reasons = append(d.Reasons, strconv.Itoa(n)+" open item(s) the rules do not allow to go live with")
		}
		if n := counts[ActionAccept]; n > 0 {
			d.Reasons = append(d.Reasons, strconv.Itoa(n)+" open item(s) need a risk acceptance")
		}
	case len(d.Accepted) > 0:
		d.Outcome = ConditionalPass
		d.Reasons = append(d.Reasons, fmt.Sprintf("%d open item(s) are risk-accepted; the first acceptance expires %s",
			len(d.Accepted), d.NextExpiry.UTC().Format(time.RFC3339)))
	default:
		d.Outcome = Pass
		d.Reasons = append(d.Reasons, "every check passed or is not applicable")
	}
	return d
}

// Check decides at now, keeps the decision as Last, and returns an alert
// for each acceptance that has expired while its item is still open (once
// per acceptance).
func (g *Gate) Check(now time.Time) (Decision, []Alert) {
	before := Outcome("")
	if g.Last != nil {
		before = g.Last.Outcome
	}
	d := g.Decide(now)
	if g.Alerted == nil {
		g.Alerted = map[string]bool{}
	}
	open := map[string]Item{}
	for _, it := range d.Blocking {
		open[it.AssetID+"\x00"+it.Key] = it
	}
	var alerts []Alert
	for _, a := range g.Acceptances {
		id := a.AssetID + "\x00" + a.Key + "\x00" + a.Expires.String()
		it, stillOpen := open[a.AssetID+"\x00"+a.Key]
		if now.Before(a.Expires) || !stillOpen || g.Alerted[id] || g.acceptance(a.AssetID, a.Key, now) != nil {
			continue
		}
		g.Alerted[id] = true
		alerts = append(alerts, Alert{Kind: "acceptance-expired", Tenant: g.Campaign.Tenant, System: g.Release.System, Version: g.Release.Version,
			AssetID: a.AssetID, Key: a.Key, Title: it.Title, Severity: it.Severity, Approver: a.Approver, Expired: a.Expires,
			Before: before, After: d.Outcome,
			Message: fmt.Sprintf("The risk acceptance of %q on %s %s (approved by %s) expired on %s; the item is still open and the gate decision is now %s.",
				it.Title, g.Release.System, g.Release.Version, a.Approver, a.Expires.UTC().Format(time.RFC3339), d.Outcome)})
	}
	g.Last = &d
	return d, alerts
}
