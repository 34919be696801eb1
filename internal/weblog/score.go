package weblog

import (
	"fmt"
	"math"
	"strings"
)

// whatOf names the finding of a payload hit for the explanation.
func whatOf(c Category) string {
	switch c {
	case CatSQLi:
		return "SQLi payload"
	case CatXSS:
		return "XSS payload"
	case CatRCE:
		return "command injection payload"
	case CatLFI:
		return "path traversal payload"
	case CatRFI:
		return "remote file inclusion payload"
	case CatPHP:
		return "PHP injection payload"
	case CatJava:
		return "Java injection payload"
	case CatLog4Shell:
		return "Log4Shell JNDI lookup"
	case CatProtocol:
		return "protocol violation"
	}
	return string(c) + " payload"
}

// finalize computes the success score (0-100) and explanation of h:
// the layers' confidence, the status class, the response size against the
// normal responses of the same path, and the client's later successful
// requests to rarely used scripts.
func (d *detector) finalize(h *Hit) {
	what := h.what
	if what == "" {
		what = whatOf(h.Category)
	}
	parts := []string{what, fmt.Sprint(h.Status)}
	score := h.base
	switch c := h.Status / 100; c {
	case 2:
		score += 35
	case 3:
		score += 10
	case 5:
		score += 15
		parts = append(parts, "server error")
	}
	if h.Status/100 == 2 {
		if st := d.stats.get(h.path); st != nil && st.n >= 5 {
			med := st.median()
			sd := max(st.std(), 1)
			z := (float64(h.Size) - st.mean) / sd
			ratio := float64(h.Size) / max(med, 1)
			switch {
			case z >= 3 && ratio >= 2:
				score += 20
				parts = append(parts, fmt.Sprintf("response %s× median size for %s", fmtRatio(ratio), clip(h.path, 80)))
			case z <= -3 && ratio <= 0.5:
				score -= 5
				parts = append(parts, fmt.Sprintf("response %s× median size for %s", fmtRatio(ratio), clip(h.path, 80)))
			default:
				parts = append(parts, "response size normal for "+clip(h.path, 80))
			}
		} else {
			parts = append(parts, "no size baseline for "+clip(h.path, 80))
		}
	}
	if h.followups > 0 {
		score += 20
		parts = append(parts, fmt.Sprintf("then %d successful requests to rarely used scripts", h.followups))
	}
	if h.Status == 401 || h.Status == 403 || h.Status == 404 || h.Status == 400 || h.Status == 405 {
		score = min(score, 30)
	}
	h.Score = max(0, min(100, score))
	h.Explanation = strings.Join(parts, ", ")
}

func fmtRatio(r float64) string {
	if r >= 10 || r < 1 && r > 0 && math.Abs(r-math.Round(r)) > 0.05 {
		if r >= 10 {
			return fmt.Sprintf("%.0f", r)
		}
		return fmt.Sprintf("%.2f", r)
	}
	return fmt.Sprintf("%.1f", r)
}
