package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// The generator writes nuclei JSON lines and Trivy JSON reports, the
// shapes of the real tools' output, for a fleet of assets: the first half
// of the assets are web hosts scanned by nuclei (keyed by IP), the second
// half container images scanned by Trivy (keyed by target). Every finding
// (asset i, slot j) is a pure function of (i, j, round), so two runs write
// the same files.
//
// Round 1 has perAsset findings on every asset. Round 2, a full rescan,
// leaves out the slots for which drop(i, j) holds (about 2 %) and adds one
// new finding (slot perAsset) on every tenth asset. The generator counts
// what it writes; those counts are the oracle the import's counters are
// checked against.

const (
	nTemplates = 400  // nuclei templates
	nAdvisory  = 2000 // Trivy advisories
	nKEV       = 40   // CVEs of the generated KEV catalogue
)

// mix is SplitMix64 over three inputs: a deterministic hash.
func mix(a, b, c uint64) uint64 {
	x := a*0x9e3779b97f4a7c15 ^ b*0xbf58476d1ce4e5b9 ^ c*0x94d049bb133111eb
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// kevCVE is the i-th CVE of the generated KEV catalogue.
func kevCVE(i int) string { return fmt.Sprintf("CVE-2022-%05d", 20000+i) }

// severityOf spreads severities 5 % critical, 15 % high, 30 % medium,
// 30 % low, 20 % info.
func severityOf(k int) string {
	switch r := k % 20; {
	case r == 0:
		return "critical"
	case r <= 3:
		return "high"
	case r <= 9:
		return "medium"
	case r <= 15:
		return "low"
	}
	return "info"
}

// Real CVSS vectors, one per severity (info findings have none).
var v3Vectors = map[string]string{
	"critical": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
	"high":     "CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:U/C:H/I:H/A:H",
	"medium":   "CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N",
	"low":      "CVSS:3.1/AV:N/AC:H/PR:N/UI:R/S:U/C:L/I:N/A:N",
}

const v4Vector = "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N"

var (
	weaknesses = []string{"SQL Injection", "Cross-Site Scripting", "Exposed Admin Panel", "Directory Listing",
		"Default Credentials", "Open Redirect", "Server-Side Request Forgery", "Outdated TLS", "Information Disclosure",
		"Path Traversal"}
	products = []string{"Acme CMS", "Globex Portal", "Initech HR", "Umbrella Mail", "Hooli Chat", "Stark Gateway",
		"Wayne Storage", "Tyrell Monitor"}
)

// template returns the nuclei template of number t.
func template(t int) (id, name, sev, cve string) {
	id = fmt.Sprintf("bench-%s-%03d", "tpl", t)
	name = fmt.Sprintf("%s in %s %d", weaknesses[t%len(weaknesses)], products[t%len(products)], t)
	sev = severityOf(t)
	switch {
	case t%50 == 0:
		cve = kevCVE(t / 50 % nKEV)
	case t%4 == 0:
		cve = fmt.Sprintf("CVE-2024-%05d", 10000+t)
	}
	return id, name, sev, cve
}

type genConfig struct {
	assets, perAsset, perFile int
}

// counts is what the generator wrote, for one round.
type counts struct {
	files, total int
	kept, added  int // round 2: findings seen again and new ones
	dropped      int // round 2: findings left out
}

func (g genConfig) dropped(i, j int) bool {
	return mix(uint64(i), uint64(j), 2)%50 == 0 // #nosec G115 -- i and j are non-negative indexes
}

// slots returns the slots of asset i written in a round.
func (g genConfig) slots(i, round int, c *counts) []int {
	out := make([]int, 0, g.perAsset+1)
	for j := range g.perAsset {
		if round == 2 && g.dropped(i, j) {
			c.dropped++
			continue
		}
		out = append(out, j)
		if round == 2 {
			c.kept++
		}
	}
	if round == 2 && i%10 == 0 {
		out = append(out, g.perAsset)
		c.added++
	}
	c.total += len(out)
	return out
}

func ipOf(i int) string   { return fmt.Sprintf("10.%d.%d.%d", 1+i/65536, i/256%256, i%256) }
func hostOf(i int) string { return fmt.Sprintf("h%05d.bench.example", i) }
func imageOf(i int) string {
	return fmt.Sprintf("registry.bench.example/app-%05d:1.0 (debian 12.5)", i)
}

type nucleiLine struct {
	TemplateID string `json:"template-id"`
	Info       struct {
		Name           string   `json:"name"`
		Author         string   `json:"author"`
		Severity       string   `json:"severity"`
		Description    string   `json:"description"`
		Tags           string   `json:"tags"`
		Reference      []string `json:"reference"`
		Classification *struct {
			CVEID       []string `json:"cve-id,omitempty"`
			CWEID       []string `json:"cwe-id,omitempty"`
			CVSSMetrics string   `json:"cvss-metrics,omitempty"`
		} `json:"classification,omitempty"`
	} `json:"info"`
	Type      string `json:"type"`
	Host      string `json:"host"`
	MatchedAt string `json:"matched-at"`
	IP        string `json:"ip"`
	Timestamp string `json:"timestamp"`
}

type trivyVuln struct {
	VulnerabilityID  string
	PkgName          string
	InstalledVersion string
	FixedVersion     string
	Status           string
	SeveritySource   string
	PrimaryURL       string
	Title            string
	Description      string
	Severity         string
	CweIDs           []string `json:",omitempty"`
	CVSS             map[string]map[string]any
	References       []string
}

type trivyResult struct {
	Target          string
	Class           string
	Type            string
	Vulnerabilities []trivyVuln
}

// advisory returns Trivy advisory number v.
func advisory(v int) (id, sev string) {
	sev = severityOf(v + 1)
	if v%50 == 0 {
		return kevCVE(v / 50 % nKEV), sev
	}
	return fmt.Sprintf("CVE-2023-%05d", 10000+v), sev
}

// write writes the round's files into dir and returns their paths.
func (g genConfig) write(dir string, round int) ([]string, counts, error) {
	var c counts
	var paths []string
	half := g.assets / 2
	when := time.Date(2026, 11, 1, 6, 0, 0, 0, time.UTC).Add(time.Duration(round) * 24 * time.Hour).Format(time.RFC3339)
	for lo := 0; lo < half; lo += g.perFile {
		p := filepath.Join(dir, fmt.Sprintf("nuclei-r%d-%05d.jsonl", round, lo))
		if err := g.writeNuclei(p, lo, min(lo+g.perFile, half), round, when, &c); err != nil {
			return nil, c, err
		}
		paths = append(paths, p)
	}
	for lo := half; lo < g.assets; lo += g.perFile {
		p := filepath.Join(dir, fmt.Sprintf("trivy-r%d-%05d.json", round, lo))
		if err := g.writeTrivy(p, lo, min(lo+g.perFile, g.assets), round, &c); err != nil {
			return nil, c, err
		}
		paths = append(paths, p)
	}
	c.files = len(paths)
	return paths, c, nil
}

func create(path string, fill func(w *bufio.Writer) error) error {
	f, err := os.Create(path) // #nosec G304 -- a file in the bench's own temporary directory
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	if err := fill(w); err != nil {
		_ = f.Close()
		return err
	}
	if err := w.Flush(); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}

func (g genConfig) writeNuclei(path string, lo, hi, round int, when string, c *counts) error {
	return create(path, func(w *bufio.Writer) error {
		enc := json.NewEncoder(w)
		for i := lo; i < hi; i++ {
			host := hostOf(i)
			for _, j := range g.slots(i, round, c) {
				t := (i*31 + j*20) % nTemplates
				id, name, sev, cve := template(t)
				var l nucleiLine
				l.TemplateID = id
				l.Info.Name, l.Info.Author, l.Info.Severity = name, "bench", sev
				l.Info.Description = name + ": the generated description of a template, about as long as a real one's first sentence."
				l.Info.Tags = "bench,generated"
				l.Info.Reference = []string{"https://bench.example/advisories/" + id}
				if cve != "" {
					l.Info.Classification = &struct {
						CVEID       []string `json:"cve-id,omitempty"`
						CWEID       []string `json:"cwe-id,omitempty"`
						CVSSMetrics string   `json:"cvss-metrics,omitempty"`
					}{CVEID: []string{cve}, CWEID: []string{fmt.Sprintf("CWE-%d", 20+t%80)}, CVSSMetrics: v3Vectors[sev]}
				}
				l.Type, l.Host, l.IP, l.Timestamp = "http", "https://"+host, ipOf(i), when
				l.MatchedAt = fmt.Sprintf("https://%s/p%d/%s", host, j, id)
				if err := enc.Encode(&l); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

func (g genConfig) writeTrivy(path string, lo, hi, round int, c *counts) error {
	rep := struct {
		SchemaVersion int
		ArtifactName  string
		ArtifactType  string
		Results       []trivyResult
	}{SchemaVersion: 2, ArtifactName: fmt.Sprintf("bench-images-%05d", lo), ArtifactType: "container_image"}
	for i := lo; i < hi; i++ {
		res := trivyResult{Target: imageOf(i), Class: "os-pkgs", Type: "debian"}
		for _, j := range g.slots(i, round, c) {
			v := (i*37 + j*100) % nAdvisory
			id, sev := advisory(v)
			tv := trivyVuln{VulnerabilityID: id, PkgName: fmt.Sprintf("libbench%d", j), InstalledVersion: fmt.Sprintf("1.%d.%d", v%7, j),
				FixedVersion: fmt.Sprintf("1.%d.%d", v%7+1, 0), Status: "fixed", SeveritySource: "nvd",
				PrimaryURL: "https://avd.aquasec.com/nvd/" + id, Title: fmt.Sprintf("libbench%d: %s", j, weaknesses[v%len(weaknesses)]),
				Description: "A generated advisory text, about as long as the first paragraph of a real one, for the benchmark.",
				Severity:    map[string]string{"critical": "CRITICAL", "high": "HIGH", "medium": "MEDIUM", "low": "LOW", "info": "UNKNOWN"}[sev],
				References:  []string{"https://nvd.nist.gov/vuln/detail/" + id}}
			if vec := v3Vectors[sev]; vec != "" {
				nvd := map[string]any{"V3Vector": vec}
				if v%5 == 0 {
					nvd["V40Vector"] = v4Vector
				}
				tv.CVSS = map[string]map[string]any{"nvd": nvd}
				tv.CweIDs = []string{fmt.Sprintf("CWE-%d", 20+v%80)}
			}
			res.Vulnerabilities = append(res.Vulnerabilities, tv)
		}
		rep.Results = append(rep.Results, res)
	}
	return create(path, func(w *bufio.Writer) error { return json.NewEncoder(w).Encode(&rep) })
}

// kevJSON is a KEV catalogue in CISA's format listing the generated KEV
// CVEs.
func kevJSON() ([]byte, error) {
	type entry struct {
		CVE        string `json:"cveID"`
		Vendor     string `json:"vendorProject"`
		Product    string `json:"product"`
		Name       string `json:"vulnerabilityName"`
		DateAdded  string `json:"dateAdded"`
		Desc       string `json:"shortDescription"`
		Action     string `json:"requiredAction"`
		DueDate    string `json:"dueDate"`
		Ransomware string `json:"knownRansomwareCampaignUse"`
		Notes      string `json:"notes"`
	}
	cat := struct {
		Title   string  `json:"title"`
		Version string  `json:"catalogVersion"`
		Date    string  `json:"dateReleased"`
		Count   int     `json:"count"`
		Vulns   []entry `json:"vulnerabilities"`
	}{Title: "generated", Version: "2026.11.01", Date: "2026-11-01T00:00:00Z", Count: nKEV}
	for i := range nKEV {
		cat.Vulns = append(cat.Vulns, entry{CVE: kevCVE(i), Vendor: "Bench", Product: "Bench", Name: "Generated",
			DateAdded: "2026-01-01", Desc: "generated", Action: "patch", DueDate: "2026-02-01", Ransomware: "Unknown"})
	}
	return json.Marshal(cat)
}
