package alerting

import (
	"regexp"
	"slices"
	"strings"

	"github.com/vigil-sec/vigil/internal/intel/hunt"
)

// Patches released for products the tenant runs.
//
// The products a tenant runs are what the threat intelligence desk's
// matching reads from its inventory: the product attributes of its assets
// (hunt.ProductAttributes: product, os, software, application, vendor,
// model, firmware, service, cpe, with the version attribute) and the
// packages and versions of its vulnerability findings. A KEV entry or
// advisory published in the digest's period that matched at least one of
// them is listed as a patch when it states a fix:
//
//   - an affected product's version range has a strict upper bound
//     ("<2.4.58": fixed in 2.4.58); "<=" names the last affected version,
//     not a fix, and does not count;
//   - or the source's required action asks to apply an update or patch,
//     or to upgrade (CISA KEV "Apply updates per vendor instructions.");
//     mitigations, workarounds or "discontinue use" alone do not count.
//
// Each patch says which of the tenant's products it concerns: the asset
// attribute values and finding packages that matched, a few of them.

// maxPatchRuns bounds the products a patch names.
const maxPatchRuns = 3

// updateActionRE finds an action that asks for an update, a patch or an
// upgrade.
var updateActionRE = regexp.MustCompile(`(?i)\b(?:apply|applying|install|installing)\s+(?:the\s+|all\s+|available\s+)?(?:security\s+)?(?:updates?|patch(?:es)?)\b|\bupgrade\s+to\b`)

// DigestPatch is a fix released in the period for a product the tenant
// runs.
type DigestPatch struct {
	ID, Title, Severity string
	KEV                 bool
	// Fixed are the fixed versions the advisory states ("HTTP Server
	// 2.4.58").
	Fixed []string
	// Action is the source's required action when it asks for an update.
	Action string
	// Runs are the tenant's products it concerns ("Apache HTTP Server
	// 2.4.57 on web-1").
	Runs             []string
	Assets, Findings int
}

// UpdateAction reports whether a source's required action asks to apply
// an update or patch, or to upgrade.
func UpdateAction(action string) bool { return updateActionRE.MatchString(action) }

// FixedVersions returns, per affected product, the versions its range
// states as fixed: the strict upper bounds ("<V") of its alternatives.
func FixedVersions(af hunt.Affected) []string {
	var out []string
	for alt := range strings.SplitSeq(af.Versions, "||") {
		for c := range strings.SplitSeq(alt, ",") {
			c = strings.TrimSpace(c)
			if !strings.HasPrefix(c, "<") || strings.HasPrefix(c, "<=") {
				continue
			}
			if v := strings.TrimSpace(c[1:]); v != "" && !slices.Contains(out, v) {
				out = append(out, v)
			}
		}
	}
	return out
}

// patchOf returns the patch an advisory match states, if any.
func patchOf(m hunt.AdvisoryMatch) (DigestPatch, bool) {
	a := m.Advisory
	p := DigestPatch{ID: a.ID, Title: a.Title, Severity: a.Severity, KEV: isKEV(a), Assets: len(m.Assets), Findings: len(m.Findings)}
	for _, af := range a.Affected {
		name := strings.TrimSpace(af.Vendor + " " + af.Product)
		for _, v := range FixedVersions(af) {
			if f := name + " " + v; !slices.Contains(p.Fixed, f) {
				p.Fixed = append(p.Fixed, f)
			}
		}
	}
	if UpdateAction(a.Action) {
		p.Action = a.Action
	}
	if len(p.Fixed) == 0 && p.Action == "" {
		return DigestPatch{}, false
	}
	add := func(s string) {
		s = strings.Join(strings.Fields(s), " ")
		if s != "" && len(p.Runs) < maxPatchRuns && !slices.Contains(p.Runs, s) {
			p.Runs = append(p.Runs, s)
		}
	}
	for _, h := range m.Assets {
		if h.Reason == "attribute" && h.Value != "" {
			add(h.Value + " on " + h.Name)
		}
	}
	for _, f := range m.Findings {
		if f.Package != "" {
			add(strings.TrimSpace(f.Package+" "+f.Version) + " on " + f.Host)
		}
	}
	return p, true
}
