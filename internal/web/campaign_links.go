package web

import (
	"net/url"
	"regexp"
	"strings"

	"github.com/vigil-sec/vigil/internal/campaign"
	"github.com/vigil-sec/vigil/internal/store"
)

// evidenceLink leads from a campaign result to the record it was judged
// on: a discovery run, a vulnerability finding, a baseline run or a web
// log analysis.
type evidenceLink struct {
	Label string
	URL   string
}

var discoveryRunRE = regexp.MustCompile(`^discovery run ([0-9A-Za-z-]{1,64})\b`)

// evidenceLinks lists the links of a result's findings and evidence, once
// each, in order.
func evidenceLinks(t *store.Tenant, r campaign.Result) []evidenceLink {
	base := "/t/" + t.Slug
	var out []evidenceLink
	seen := map[string]bool{}
	add := func(label, path string) {
		if !seen[path] {
			seen[path] = true
			out = append(out, evidenceLink{Label: label, URL: path})
		}
	}
	disc := func(line string) {
		if m := discoveryRunRE.FindStringSubmatch(line); m != nil {
			add("discovery run "+m[1], base+"/operations/asset-discovery/"+url.PathEscape(m[1]))
		}
	}
	for _, line := range r.Evidence {
		disc(line)
	}
	for _, f := range r.Findings {
		kind, id, ok := strings.Cut(f.Ref, ":")
		if !ok || id == "" || len(id) > 100 {
			for _, line := range f.Evidence {
				disc(line)
			}
			continue
		}
		switch kind {
		case "vuln-finding":
			add(f.Ref, base+"/vulnerabilities/"+url.PathEscape(id))
		case "baseline-run":
			run, _, _ := strings.Cut(id, "#")
			add("baseline-run:"+run, base+"/operations/baseline/runs/"+url.PathEscape(run))
		case "weblog-run":
			add(f.Ref, base+"/operations/app-compromise/"+url.PathEscape(id))
		}
	}
	return out
}
