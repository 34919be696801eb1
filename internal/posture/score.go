package posture

// The posture score: 100 minus the penalties of five components, each
// penalty capped so that no single area can take the whole score.
// docs/posture.md explains it with a worked example that score_test.go
// recomputes.

// Measures are the counts a score is computed from.
type Measures struct {
	// Vulnerabilities: open findings (new, confirmed, assigned, fixing,
	// fixed-pending, reopened).
	KEVOpen      int // open findings listed in CISA KEV
	CriticalOpen int
	HighOpen     int
	Overdue      int // open findings past their SLA due date
	// Alerts: open alerts (new or acknowledged).
	CriticalAlerts int
	HighAlerts     int
	MediumAlerts   int
	// Exposure, from the latest finished discovery run.
	UnknownAssets int // found by discovery, not in the inventory before
	ZombieAssets  int // in the inventory, silent and unseen
	RiskyServices int // exposed services flagged as risky
	// Log health.
	SilentSources int // log senders silent for longer than the threshold
	// Incidents; -1 means not measured (no incident service).
	BreachedCases int
}

// Weight is one term of a component: Count things cost Points each.
type Weight struct {
	Key    string `json:"key"` // stable name of the measure
	Count  int    `json:"count"`
	Points int    `json:"points"`
}

// Component is one area's share of the score.
type Component struct {
	Key      string   `json:"key"` // vulnerabilities, alerts, exposure, logs, incidents
	Cap      int      `json:"cap"`
	Terms    []Weight `json:"terms"`
	Raw      int      `json:"raw"`     // the sum of the terms
	Penalty  int      `json:"penalty"` // Raw, at most Cap
	Measured bool     `json:"measured"`
}

// Score is a tenant's posture: Value = 100 − Σ Penalty, never below 0.
type Score struct {
	Value      int         `json:"value"`
	Grade      string      `json:"grade"` // good, fair, poor, critical
	Components []Component `json:"components"`
}

// Grades of a score, best first, with the lowest value of each.
var gradeFloors = []struct {
	grade string
	floor int
}{{"good", 90}, {"fair", 75}, {"poor", 50}, {"critical", 0}}

// GradeOf names the band a score value falls in.
func GradeOf(v int) string {
	for _, g := range gradeFloors {
		if v >= g.floor {
			return g.grade
		}
	}
	return "critical"
}

// Compute scores m.
func Compute(m Measures) Score {
	comps := []Component{
		component("vulnerabilities", 35, true,
			Weight{"kev_open", m.KEVOpen, 10}, Weight{"critical_open", m.CriticalOpen, 5},
			Weight{"high_open", m.HighOpen, 2}, Weight{"overdue", m.Overdue, 3}),
		component("alerts", 25, true,
			Weight{"critical_alerts", m.CriticalAlerts, 6}, Weight{"high_alerts", m.HighAlerts, 3},
			Weight{"medium_alerts", m.MediumAlerts, 1}),
		component("exposure", 20, true,
			Weight{"unknown_assets", m.UnknownAssets, 3}, Weight{"zombie_assets", m.ZombieAssets, 2},
			Weight{"risky_services", m.RiskyServices, 2}),
		component("logs", 10, true, Weight{"silent_sources", m.SilentSources, 3}),
		component("incidents", 10, m.BreachedCases >= 0, Weight{"sla_breached_cases", max(m.BreachedCases, 0), 5}),
	}
	v := 100
	for _, c := range comps {
		v -= c.Penalty
	}
	v = max(v, 0)
	return Score{Value: v, Grade: GradeOf(v), Components: comps}
}

func component(key string, capPoints int, measured bool, terms ...Weight) Component {
	c := Component{Key: key, Cap: capPoints, Terms: terms, Measured: measured}
	for _, t := range terms {
		c.Raw += max(t.Count, 0) * t.Points
	}
	c.Penalty = min(c.Raw, capPoints)
	return c
}
