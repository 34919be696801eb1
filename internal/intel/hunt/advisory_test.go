package hunt

import (
	"context"
	"encoding/json"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/vigil-sec/vigil/internal/store"
	"github.com/vigil-sec/vigil/internal/vuln/enrich"
	"github.com/vigil-sec/vigil/internal/vuln/lifecycle"
)

const kevPath = "../../../../shared/corpus/kev/known_exploited_vulnerabilities.json"

func loadKEV(t *testing.T) ([]Advisory, []map[string]any) {
	t.Helper()
	f, err := os.Open(kevPath)
	must(t, err)
	defer f.Close()
	k, err := enrich.LoadKEV(f, enrich.Options{})
	must(t, err)
	data, err := os.ReadFile(kevPath)
	must(t, err)
	var raw struct {
		Vulnerabilities []map[string]any `json:"vulnerabilities"`
	}
	must(t, json.Unmarshal(data, &raw))
	return FromKEV(k), raw.Vulnerabilities
}

// TestKEVAdvisories turns the whole KEV catalogue into advisories and checks
// them against the catalogue decoded on its own.
func TestKEVAdvisories(t *testing.T) {
	advs, raw := loadKEV(t)
	if len(advs) != len(raw) || len(raw) == 0 {
		t.Fatalf("%d advisories from %d catalogue entries", len(advs), len(raw))
	}
	ransomware := 0
	for i, a := range advs {
		r := raw[i]
		if a.ID != r["cveID"] || !slices.Equal(a.CVEs, []string{r["cveID"].(string)}) ||
			a.Affected[0].Vendor != strings.TrimSpace(r["vendorProject"].(string)) || a.Affected[0].Product != strings.TrimSpace(r["product"].(string)) {
			t.Fatalf("entry %d: %+v from %v", i, a, r)
		}
		if (a.Severity == "critical") != (r["knownRansomwareCampaignUse"] == "Known") {
			t.Errorf("%s: severity %s, ransomware %v", a.ID, a.Severity, r["knownRansomwareCampaignUse"])
		}
		if a.Severity == "critical" {
			ransomware++
		}
	}
	t.Logf("%d KEV advisories, %d critical (ransomware)", len(advs), ransomware)
}

// TestSTIXAdvisories reads the vulnerability objects of the corpus's
// threat reports and checks them against the bundle decoded on its own.
func TestSTIXAdvisories(t *testing.T) {
	for _, name := range []string{"poisonivy.json", "apt1.json"} {
		path := stixDir + "/threat-reports/" + name
		data, err := os.ReadFile(path) // #nosec G304 -- corpus file
		must(t, err)
		var raw struct {
			Objects []struct {
				Type string `json:"type"`
				ID   string `json:"id"`
				Refs []struct {
					Source string `json:"source_name"`
					ID     string `json:"external_id"`
				} `json:"external_references"`
			} `json:"objects"`
		}
		must(t, json.Unmarshal(data, &raw))
		want := map[string][]string{}
		for _, o := range raw.Objects {
			if o.Type == "vulnerability" {
				for _, r := range o.Refs {
					if r.Source == "cve" {
						want[o.ID] = append(want[o.ID], r.ID)
					}
				}
			}
		}
		f, err := os.Open(path) // #nosec G304 -- corpus file
		must(t, err)
		advs, rej, err := ParseSTIX(context.Background(), f)
		_ = f.Close()
		must(t, err)
		if len(rej) != 0 {
			t.Errorf("%s: rejected %v", name, rej)
		}
		if len(advs) != len(want) {
			t.Errorf("%s: %d advisories, %d vulnerability objects", name, len(advs), len(want))
		}
		for _, a := range advs {
			if !slices.Equal(a.CVEs, want[a.ID]) {
				t.Errorf("%s %s: CVEs %v, want %v", name, a.ID, a.CVEs, want[a.ID])
			}
		}
	}
}

func TestSTIXAdvisoriesRejectPerObject(t *testing.T) {
	bundle := `{"type":"bundle","id":"bundle--1","objects":[
	 {"type":"vulnerability","id":"vulnerability--a","name":"CVE-2024-0001","created":"2024-01-02T03:04:05Z",
	  "x_vigil_affected":[{"vendor":"Acme","product":"widget","versions":">=1.0, <1.4"}],"x_vigil_severity":"critical"},
	 {"type":"vulnerability","id":"vulnerability--b","name":"not a cve","external_references":[{"source_name":"cve","external_id":"CVE-XX"}]},
	 {"type":"vulnerability","id":"vulnerability--c","name":"CVE-2024-0002","x_vigil_affected":[{"product":"w","versions":">= <"}]},
	 {"type":"vulnerability","id":"vulnerability--d","name":"CVE-2024-0003","revoked":true},
	 {"type":"malware","id":"malware--e","name":"x"},
	 [1,2]
	]}`
	advs, rej, err := ParseSTIX(context.Background(), strings.NewReader(bundle))
	must(t, err)
	if len(advs) != 1 || advs[0].Severity != "critical" || advs[0].Affected[0].rng.String() != ">=1.0, <1.4" {
		t.Errorf("advisories: %+v", advs)
	}
	var where []string
	for _, r := range rej {
		where = append(where, r.Where)
	}
	if !slices.Equal(where, []string{"objects[1]", "objects[2]", "objects[5]"}) {
		t.Errorf("rejected %v", rej)
	}
	if _, _, err := ParseSTIX(context.Background(), strings.NewReader(`{"type":"bundle","objects":`)); err == nil {
		t.Error("truncated bundle accepted")
	}
}

// TestMatchAssets seeds two tenants with assets and findings and matches a
// KEV advisory and an analyst's package advisory against one of them. The
// seed says what each item should give.
func TestMatchAssets(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	tn := newTenant(t, st, "acme")
	other := newTenant(t, st, "other")
	kev, _ := loadKEV(t)
	var gitAdv Advisory
	for _, a := range kev {
		if a.ID == "CVE-2025-48384" {
			gitAdv = a
		}
	}
	if gitAdv.ID == "" {
		t.Fatal("CVE-2025-48384 not in the KEV corpus")
	}
	type seedAsset struct {
		name  string
		attrs map[string]string
		git   bool // named by the Git advisory
		ossl  bool // named by the OpenSSL advisory
	}
	assets := []seedAsset{
		{"build-01", map[string]string{"software": "Git 2.43.0, Make 4.3"}, true, false},
		{"web-01", map[string]string{"product": "nginx", "version": "1.24.0"}, false, false},
		{"db-01", map[string]string{"cpe": "cpe:2.3:a:openssl:openssl:3.0.2:*:*:*:*:*:*:*"}, false, true},
		{"db-02", map[string]string{"cpe": "cpe:2.3:a:openssl:openssl:3.1.0:*:*:*:*:*:*:*"}, false, false},
		{"legacy", map[string]string{"os": "Legacy GitLab appliance"}, false, false}, // "git" is not a word here
		{"vpn-01", map[string]string{"product": "OpenSSL"}, false, true},             // version unknown: listed for review
	}
	ids := map[string]string{}
	for _, a := range assets {
		as := store.Asset{TenantID: tn.ID, Kind: "host", Name: a.name, Importance: 3, Attributes: a.attrs}
		must(t, st.Assets().Create(ctx, &as))
		ids[a.name] = as.ID
	}
	otherAsset := store.Asset{TenantID: other.ID, Kind: "host", Name: "other-build", Attributes: map[string]string{"software": "Git"}}
	must(t, st.Assets().Create(ctx, &otherAsset))

	type seedFinding struct {
		fp, asset, pkg, version, state string
		cves                           []string
		git, ossl                      bool
	}
	findings := []seedFinding{
		{"f1", "build-01", "", "", lifecycle.StateNew, []string{"CVE-2025-48384"}, true, false},
		{"f2", "web-01", "", "", lifecycle.StateNew, []string{"cve-2025-48384 "}, true, false},
		{"f3", "web-01", "", "", lifecycle.StateNew, []string{"CVE-2025-0001"}, false, false},
		{"f4", "db-01", "openssl", "3.0.2-0ubuntu1.10", lifecycle.StateNew, nil, false, true},
		{"f5", "db-02", "openssl", "3.0.2-0ubuntu1.15", lifecycle.StateNew, nil, false, false},
		{"f6", "db-02", "libssl3", "3.0.2-0ubuntu1.10", lifecycle.StateNew, nil, false, false},
	}
	var fs []store.VulnFinding
	for _, f := range findings {
		fs = append(fs, store.VulnFinding{Fingerprint: f.fp, AssetID: ids[f.asset], AssetKey: f.asset, Host: f.asset, Scanner: "test",
			Title: "finding " + f.fp, Severity: "high", Package: f.pkg, Version: f.version, CVEs: f.cves, State: f.state})
	}
	must(t, st.Vulns().Import(ctx, store.VulnImport{Scan: &store.VulnScan{TenantID: tn.ID, Scanner: "test"}, Findings: fs, Initial: lifecycle.StateNew}))
	must(t, st.Vulns().Import(ctx, store.VulnImport{Scan: &store.VulnScan{TenantID: other.ID, Scanner: "test"}, Initial: lifecycle.StateNew,
		Findings: []store.VulnFinding{{Fingerprint: "o1", AssetKey: "other-build", Title: "other", Severity: "high", CVEs: []string{"CVE-2025-48384"}}}}))

	ossl := Advisory{ID: "USN-TEST-1", Title: "OpenSSL heap overflow", Severity: "high", Source: "analyst",
		Affected: []Affected{{Vendor: "OpenSSL", Product: "openssl", Versions: ">=3.0.0, <3.0.2-0ubuntu1.15", Scheme: SchemeDebian}}}
	for _, c := range []struct {
		adv                 Advisory
		wantF, wantA        []string
		pick                func(seedFinding) bool
		pickA               func(seedAsset) bool
		unknownVersionAsset string
	}{
		{adv: gitAdv, pick: func(f seedFinding) bool { return f.git }, pickA: func(a seedAsset) bool { return a.git }},
		{adv: ossl, pick: func(f seedFinding) bool { return f.ossl }, pickA: func(a seedAsset) bool { return a.ossl }, unknownVersionAsset: "vpn-01"},
	} {
		m, err := MatchAssets(ctx, st, tn.ID, c.adv, MatchOptions{})
		must(t, err)
		var gotF, wantF, gotA, wantA []string
		for _, f := range m.Findings {
			gotF = append(gotF, f.Title)
		}
		assetsOfFindings := map[string]bool{}
		for _, f := range findings {
			if c.pick(f) {
				wantF = append(wantF, "finding "+f.fp)
				assetsOfFindings[f.asset] = true
			}
		}
		for _, a := range m.Assets {
			gotA = append(gotA, a.Name)
			if a.Name == c.unknownVersionAsset && a.VersionKnown {
				t.Errorf("%s: %s has no version but is marked known", c.adv.ID, a.Name)
			}
		}
		for _, a := range assets {
			if c.pickA(a) || assetsOfFindings[a.name] {
				wantA = append(wantA, a.name)
			}
		}
		slices.Sort(gotF)
		slices.Sort(gotA)
		slices.Sort(wantF)
		slices.Sort(wantA)
		if !slices.Equal(gotF, wantF) || !slices.Equal(gotA, wantA) {
			t.Errorf("%s: findings %v assets %v, want %v and %v", c.adv.ID, gotF, gotA, wantF, wantA)
		}
	}
	// Matched together with the whole KEV catalogue, each advisory finds
	// what it finds alone.
	many := append([]Advisory{gitAdv, ossl}, kev...)
	ms, err := MatchMany(ctx, st, tn.ID, many, MatchOptions{})
	must(t, err)
	if len(ms) != len(many) {
		t.Fatalf("MatchMany gave %d results for %d advisories", len(ms), len(many))
	}
	for i, adv := range many[:2] {
		alone, err := MatchAssets(ctx, st, tn.ID, adv, MatchOptions{})
		must(t, err)
		if !reflect.DeepEqual(sortedHits(alone), sortedHits(ms[i])) {
			t.Errorf("%s: together %+v, alone %+v", adv.ID, ms[i], alone)
		}
	}
	if _, err := MatchAssets(ctx, st, tn.ID, Advisory{ID: "x", Title: "nothing named"}, MatchOptions{}); err == nil {
		t.Error("advisory naming nothing accepted")
	}
}

func TestDecodeAdvisories(t *testing.T) {
	in := `[
	 {"id":"VIGIL-2024-001","title":"OpenSSL heap overflow","severity":"Critical","cves":[" cve-2024-0001 ","CVE-2024-0001"],
	  "affected":[{"vendor":"OpenSSL","product":"openssl","versions":">=3.0.0, <3.0.2-0ubuntu1.15","scheme":"debian"}]},
	 {"id":"","title":"no id","cves":["CVE-2024-0002"]},
	 {"id":"VIGIL-2024-003","title":"bad scheme","affected":[{"product":"x","scheme":"rpm"}]},
	 {"id":"VIGIL-2024-004","title":"bad severity","severity":"urgent","cves":["CVE-2024-0004"]},
	 "text"
	]`
	advs, rej, err := DecodeAdvisories(context.Background(), strings.NewReader(in))
	must(t, err)
	if len(advs) != 1 || advs[0].Severity != "critical" || !slices.Equal(advs[0].CVEs, []string{"CVE-2024-0001"}) {
		t.Errorf("advisories: %+v", advs)
	}
	var where []string
	for _, r := range rej {
		where = append(where, r.Where)
	}
	if !slices.Equal(where, []string{"[1]", "[2]", "[3]", "[4]"}) {
		t.Errorf("rejected: %v", rej)
	}
	one, _, err := DecodeAdvisories(context.Background(), strings.NewReader(`{"id":"X","title":"t","cves":["CVE-2020-1234"]}`))
	must(t, err)
	if len(one) != 1 || one[0].Severity != "high" {
		t.Errorf("single advisory: %+v", one)
	}
	for _, bad := range []string{"", "[", "{", "nul"} {
		if _, _, err := DecodeAdvisories(context.Background(), strings.NewReader(bad)); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// sortedHits orders a match's lists so two matches can be compared.
func sortedHits(m AdvisoryMatch) AdvisoryMatch {
	m.Findings, m.Assets = slices.Clone(m.Findings), slices.Clone(m.Assets)
	slices.SortFunc(m.Findings, func(a, b FindingHit) int { return strings.Compare(a.FindingID, b.FindingID) })
	slices.SortFunc(m.Assets, func(a, b AssetHit) int { return strings.Compare(a.AssetID, b.AssetID) })
	return m
}
