package scan

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/vigil-sec/vigil/internal/store"
	"github.com/vigil-sec/vigil/internal/vuln"
	"github.com/vigil-sec/vigil/internal/vuln/cvss"
	"github.com/vigil-sec/vigil/internal/vuln/lifecycle"
)

// PackageScanner is the scanner name of findings from a host's package
// inventory matched against OSV advisories. It is its own scanner, so a
// full rescan of a host's packages marks only package findings absent.
const PackageScanner = "vigil-packages"

// InstalledPackage is one package of a host's inventory (dpkg, rpm or apk,
// as the agent reports it).
type InstalledPackage struct {
	Name    string
	Version string
	// Source is the source package (dpkg) or origin (apk) when it differs
	// from Name; Debian and Ubuntu advisories name source packages.
	Source  string
	Manager string
}

// InventoryHost is the host a package inventory comes from.
type InventoryHost struct {
	Hostname string
	IP       string
	// OSID and OSVersion are os-release's ID and VERSION_ID ("debian",
	// "12"; "ubuntu", "22.04"; "rocky", "9.3").
	OSID, OSVersion string
}

// OSVEcosystem is the OSV ecosystem of an os-release ID and VERSION_ID
// ("Debian:12", "Ubuntu:22.04", "Alpine:v3.19", "Rocky Linux:9"), or ""
// for a distribution OSV has no ecosystem for.
func OSVEcosystem(id, version string) string {
	id, version = strings.ToLower(strings.TrimSpace(id)), strings.TrimSpace(version)
	major, _, _ := strings.Cut(version, ".")
	withRelease := func(name, rel string) string {
		if rel == "" {
			return name
		}
		return name + ":" + rel
	}
	switch id {
	case "debian":
		return withRelease("Debian", major)
	case "ubuntu":
		return withRelease("Ubuntu", version)
	case "alpine":
		parts := strings.SplitN(version, ".", 3)
		if len(parts) < 2 {
			return "Alpine"
		}
		return "Alpine:v" + parts[0] + "." + parts[1]
	case "almalinux":
		return withRelease("AlmaLinux", major)
	case "rocky":
		return withRelease("Rocky Linux", major)
	case "rhel":
		return "Red Hat"
	case "opensuse-leap", "opensuse-tumbleweed", "opensuse":
		return "openSUSE"
	case "sles":
		return "SUSE"
	case "mageia":
		return withRelease("Mageia", major)
	case "openeuler":
		return withRelease("openEuler", version)
	}
	return ""
}

// InventoryFindings matches a host's packages against the OSV database:
// one finding per package and CVE (an advisory without a CVE alias counts
// by its own id), so two advisories of one CVE (a DSA and its
// DEBIAN-CVE entry) make one finding. The fingerprint is the documented
// rule for package findings: CVE + host + package. Packages are matched by
// their source name when they have one (as Debian and Ubuntu advisories
// name them) and by their binary name otherwise. Unknown distributions
// give no findings and ok false.
func InventoryFindings(db *OSVDB, host InventoryHost, pkgs []InstalledPackage) (out []vuln.Finding, ok bool) {
	eco := OSVEcosystem(host.OSID, host.OSVersion)
	if eco == "" || db == nil {
		return nil, false
	}
	hostKey := host.IP
	if hostKey == "" {
		hostKey = host.Hostname
	}
	type acc struct {
		f        vuln.Finding
		advisory []string
	}
	for _, p := range pkgs {
		name := p.Name
		if p.Source != "" {
			name = p.Source
		}
		if name == "" || p.Version == "" {
			continue
		}
		byID := map[string]*acc{}
		var order []string
		for _, a := range db.Match(eco, name, p.Version) {
			ids := a.CVEs()
			if len(ids) == 0 {
				ids = []string{a.ID}
			}
			for _, id := range ids {
				f := packageFinding(a, id, host, hostKey, p, name, eco)
				c := byID[id]
				switch {
				case c == nil:
					c = &acc{f: f}
					byID[id] = c
					order = append(order, id)
				case store.SeverityRank(string(f.Severity)) > store.SeverityRank(string(c.f.Severity)):
					// The advisory that rates the CVE highest describes it.
					c.f = f
				}
				if !slices.Contains(c.advisory, a.ID) {
					c.advisory = append(c.advisory, a.ID)
				}
			}
		}
		for _, id := range order {
			c := byID[id]
			slices.Sort(c.advisory)
			c.f.RuleID = strings.Join(c.advisory, " ")
			out = append(out, c.f)
		}
	}
	return out, true
}

func packageFinding(a *Advisory, id string, host InventoryHost, hostKey string, p InstalledPackage, name, eco string) vuln.Finding {
	f := vuln.Finding{Scanner: PackageScanner, Title: fmt.Sprintf("%s in %s %s", id, p.Name, p.Version),
		Description: firstNonEmpty(a.Summary, a.Details), Layer: vuln.LayerOS, Occurrences: 1,
		Asset: vuln.Asset{Host: host.Hostname, IP: host.IP, Package: p.Name, Version: p.Version}}
	if strings.HasPrefix(id, "CVE-") {
		f.CVEs = []string{id}
	}
	f.CVSSVector = a.CVSSVector()
	f.Severity = vuln.ParseSeverity(a.DatabaseSpecific.Severity)
	f.FixedIn = fixedVersion(a, eco, name)
	if f.FixedIn != "" {
		f.Remediation = fmt.Sprintf("Upgrade %s to %s or later from the distribution's security updates (%s).", p.Name, f.FixedIn, eco)
	} else {
		f.Remediation = fmt.Sprintf("No fixed %s package is published for %s yet; watch %s and mitigate meanwhile.", eco, p.Name, a.ID)
	}
	for _, r := range a.References {
		if r.URL != "" && len(f.References) < 20 {
			f.References = append(f.References, r.URL)
		}
	}
	f.Evidence = fmt.Sprintf("%s package %s %s (%s) is in an affected range of %s", p.Manager, p.Name, p.Version, eco, a.ID)
	f.Fingerprint = packageFingerprint(id, hostKey, p.Name)
	if f.CVSSVector != "" {
		score, sev, ok, err := cvss.Parse(f.CVSSVector)
		switch {
		case err != nil:
			f.CVSSError = err.Error()
		case ok:
			f.CVSSScore = &score
			if f.Severity == "" && sev != cvss.SeverityNone {
				f.Severity = vuln.Severity(sev)
			}
		}
	}
	if f.Severity == "" {
		// Neither a score nor a word: OSV distribution entries often
		// have none.
		f.Severity = vuln.SeverityMedium
	}
	return f
}

// packageFingerprint is the rule for package findings: CVE (or advisory
// id) + host + package, hashed as the other scanners' fingerprints are.
func packageFingerprint(id, host, pkg string) string {
	return fingerprint("package", id, host, pkg)
}

// fixedVersion is the first "fixed" event of the advisory's entry for the
// package in the ecosystem (its release first).
func fixedVersion(a *Advisory, eco, name string) string {
	best := ""
	for _, af := range a.Affected {
		if !strings.EqualFold(af.Package.Name, name) || ecosystemBase(af.Package.Ecosystem) != ecosystemBase(eco) {
			continue
		}
		exact := releaseMatches(af.Package.Ecosystem, eco)
		for _, r := range af.Ranges {
			for _, e := range r.Events {
				if e.Fixed != "" && (best == "" || exact) {
					best = e.Fixed
					if exact {
						return best
					}
				}
			}
		}
	}
	return best
}

func firstNonEmpty(s ...string) string {
	for _, x := range s {
		if x = strings.TrimSpace(x); x != "" {
			if len(x) > 2000 {
				x = x[:2000]
			}
			return x
		}
	}
	return ""
}

// releaseMatches reports whether an advisory's ecosystem ("Ubuntu:22.04:LTS")
// is the host's ("Ubuntu:22.04"): equal, or the host's followed by a
// further qualifier.
func releaseMatches(advisory, host string) bool {
	return strings.EqualFold(advisory, host) ||
		(len(advisory) > len(host) && strings.EqualFold(advisory[:len(host)], host) && advisory[len(host)] == ':')
}

// ScanInventory matches a host's package inventory against db and imports
// the findings as a full scan of the host by PackageScanner: a finding
// whose package was upgraded out of the affected range becomes
// fixed-pending-verification at the next inventory. A host without
// findings keeps its earlier ones open (the lifecycle's full-scan rule),
// and an unknown distribution imports nothing (ok false).
func (s *Service) ScanInventory(ctx context.Context, tenantID string, db *OSVDB, host InventoryHost,
	pkgs []InstalledPackage) (sc store.VulnScan, ok bool, err error) {
	fs, ok := InventoryFindings(db, host, pkgs)
	if !ok {
		return sc, false, nil
	}
	found := make([]lifecycle.ScannedFinding, 0, len(fs))
	for _, f := range fs {
		found = append(found, lifecycle.ScannedFinding{Finding: f, Layer: vuln.LayerOS})
	}
	name := host.Hostname
	if name == "" {
		name = host.IP
	}
	sc, err = s.vulns.ImportScanned(ctx, tenantID, PackageScanner,
		fmt.Sprintf("packages of %s (%d) against %d OSV advisories", name, len(pkgs), db.Len()), found, true)
	return sc, true, err
}
