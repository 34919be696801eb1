package store

// SeverityRank orders the severity words alert levels and finding
// severities share: critical 4, high 3, medium 2, low 1, anything else
// (informational, info) 0.
func SeverityRank(s string) int {
	switch s {
	case "critical":
		return 4
	case "high":
		return 3
	case "medium":
		return 2
	case "low":
		return 1
	}
	return 0
}
