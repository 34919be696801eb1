package hunt

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/vigil-sec/vigil/internal/intel"
	"github.com/vigil-sec/vigil/internal/store"
	"github.com/vigil-sec/vigil/internal/vuln/enrich"
	"github.com/vigil-sec/vigil/internal/vuln/lifecycle"
)

// Bounds of advisories.
const (
	MaxAdvisoryBytes = 64 << 20 // a STIX bundle read for advisories
	maxAdvisories    = 100_000  // advisories in one bundle
	maxCVEs          = 200      // CVEs of one advisory
	maxAffected      = 100      // affected products of one advisory
	maxText          = 8000     // runes of a description
	maxShort         = 300      // runes of an id, title, vendor or product
	// DefaultMaxFindings and DefaultMaxAssets bound what one match reads.
	DefaultMaxFindings = 100_000
	DefaultMaxAssets   = 50_000
	// maxListed bounds the findings and assets one match lists.
	maxListed = 1000
)

// Affected is a product an advisory concerns, with the versions affected.
type Affected struct {
	Vendor  string `json:"vendor,omitempty"`
	Product string `json:"product"`
	// Versions is a range expression (see Range); "" or "*" is every
	// version.
	Versions string `json:"versions,omitempty"`
	// Scheme orders the versions: "dotted" (default) or "debian".
	Scheme Scheme `json:"scheme,omitempty"`

	rng Range
}

// Advisory is a vulnerability or campaign notice to match against tenants.
type Advisory struct {
	ID          string     `json:"id"`
	Title       string     `json:"title"`
	CVEs        []string   `json:"cves,omitempty"`
	Affected    []Affected `json:"affected,omitempty"`
	Severity    string     `json:"severity"` // critical, high, medium, low
	Published   time.Time  `json:"published,omitzero"`
	Description string     `json:"description,omitempty"`
	// Source names where it came from: "cisa-kev", "stix" or an analyst.
	Source string `json:"source,omitempty"`
	// Exploited is set for vulnerabilities exploited in the wild (KEV).
	Exploited bool `json:"exploited,omitempty"`
	// Action is what the source asks to do.
	Action string `json:"action,omitempty"`
}

var cveRE = regexp.MustCompile(`^CVE-\d{4}-\d{4,}$`)

// Check validates and normalises an advisory: the id and title are
// required, text is bounded, CVEs are upper-case CVE-YYYY-N ids, severity
// is one of critical, high, medium, low, and every affected product has a
// name and a valid range.
func (a *Advisory) Check() error {
	a.ID, a.Title = strings.TrimSpace(a.ID), strings.TrimSpace(a.Title)
	a.CVEs, a.Affected = slices.Clone(a.CVEs), slices.Clone(a.Affected)
	text := func(field, v string, limit int, required bool) error {
		switch {
		case !utf8.ValidString(v):
			return fmt.Errorf("%s is not UTF-8", field)
		case required && v == "":
			return fmt.Errorf("%s is required", field)
		case utf8.RuneCountInString(v) > limit:
			return fmt.Errorf("%s is longer than %d characters", field, limit)
		}
		return nil
	}
	errs := []error{text("id", a.ID, maxShort, true), text("title", a.Title, maxShort, true),
		text("description", a.Description, maxText, false), text("action", a.Action, maxText, false),
		text("source", a.Source, maxShort, false)}
	if len(a.CVEs) > maxCVEs {
		errs = append(errs, fmt.Errorf("more than %d CVEs", maxCVEs))
	} else {
		for i, c := range a.CVEs {
			c = strings.ToUpper(strings.TrimSpace(c))
			if !cveRE.MatchString(c) || len(c) > 32 {
				errs = append(errs, fmt.Errorf("cves[%d] %q is not a CVE id", i, clipText(c)))
			}
			a.CVEs[i] = c
		}
		slices.Sort(a.CVEs)
		a.CVEs = slices.Compact(a.CVEs)
	}
	a.Severity = strings.ToLower(strings.TrimSpace(a.Severity))
	if a.Severity == "" {
		a.Severity = "high"
	}
	if !slices.Contains([]string{"critical", "high", "medium", "low"}, a.Severity) {
		errs = append(errs, fmt.Errorf("severity %q is not critical, high, medium or low", clipText(a.Severity)))
	}
	if len(a.Affected) > maxAffected {
		errs = append(errs, fmt.Errorf("more than %d affected products", maxAffected))
	} else {
		for i := range a.Affected {
			af := &a.Affected[i]
			af.Vendor, af.Product = strings.TrimSpace(af.Vendor), strings.TrimSpace(af.Product)
			if err := errors.Join(text("vendor", af.Vendor, maxShort, false), text("product", af.Product, maxShort, true)); err != nil {
				errs = append(errs, fmt.Errorf("affected[%d]: %w", i, err))
				continue
			}
			r, err := ParseRange(af.Scheme, af.Versions)
			if err != nil {
				errs = append(errs, fmt.Errorf("affected[%d]: %w", i, err))
				continue
			}
			af.Scheme, af.rng = r.Scheme, r
		}
	}
	if len(a.CVEs) == 0 && len(a.Affected) == 0 {
		errs = append(errs, errors.New("names neither a CVE nor an affected product"))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("advisory %q: %w", clipText(a.ID), err)
	}
	return nil
}

func clipText(s string) string {
	if len(s) > 80 {
		s = s[:80] + "…"
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}

// FromKEV turns CISA KEV catalogue entries into advisories: one per CVE,
// affecting every version of its vendor's product, severity critical when
// the entry is known to be used by ransomware and high otherwise.
func FromKEV(k *enrich.KEV) []Advisory {
	out := make([]Advisory, 0, k.Len())
	for _, e := range k.Entries() {
		sev := "high"
		if e.Ransomware {
			sev = "critical"
		}
		a := Advisory{ID: e.CVE, Title: e.Name, CVEs: []string{e.CVE}, Severity: sev, Published: e.DateAdded.Time,
			Description: e.Notes, Source: "cisa-kev", Exploited: true, Action: e.RequiredAction,
			Affected: []Affected{{Vendor: e.Vendor, Product: e.Product}}}
		if a.Title == "" {
			a.Title = e.CVE
		}
		if err := a.Check(); err != nil {
			continue // LoadKEV validated the entries; a clipped field is not worth an error
		}
		out = append(out, a)
	}
	return out
}

// DecodeAdvisories reads advisories written as JSON (an analyst's notice):
// one Advisory object or a list of them, in the field names of Advisory.
// A bad advisory is rejected with its position and reason, the rest kept.
func DecodeAdvisories(ctx context.Context, r io.Reader) ([]Advisory, []intel.Rejection, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxAdvisoryBytes+1))
	if err != nil {
		return nil, nil, fmt.Errorf("advisories: %w", err)
	}
	if len(data) > MaxAdvisoryBytes {
		return nil, nil, fmt.Errorf("advisories: more than %d bytes", MaxAdvisoryBytes)
	}
	data = bytes.TrimSpace(data)
	raws := []json.RawMessage{data}
	if len(data) > 0 && data[0] == '[' {
		if err := json.Unmarshal(data, &raws); err != nil {
			return nil, nil, fmt.Errorf("advisories: %w", err)
		}
	} else if !json.Valid(data) {
		return nil, nil, errors.New("advisories: not a JSON object or list")
	}
	if len(raws) > maxAdvisories {
		return nil, nil, fmt.Errorf("advisories: %d advisories, more than %d", len(raws), maxAdvisories)
	}
	var out []Advisory
	var rej []intel.Rejection
	for i, raw := range raws {
		if i%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, nil, fmt.Errorf("advisories: %w", err)
			}
		}
		where := fmt.Sprintf("[%d]", i)
		var a Advisory
		if err := json.Unmarshal(raw, &a); err != nil {
			rej = append(rej, intel.Rejection{Where: where, Reason: "not an advisory: " + err.Error()})
			continue
		}
		if err := a.Check(); err != nil {
			rej = append(rej, intel.Rejection{Where: where, ID: clipText(a.ID), Reason: err.Error()})
			continue
		}
		out = append(out, a)
	}
	return out, rej, nil
}

// stixVuln is the part of a STIX 2.1 vulnerability object advisories use.
type stixVuln struct {
	Type               string    `json:"type"`
	ID                 string    `json:"id"`
	Name               string    `json:"name"`
	Description        string    `json:"description"`
	Created            string    `json:"created"`
	Revoked            bool      `json:"revoked"`
	Labels             []string  `json:"labels"`
	ExternalReferences []extRef  `json:"external_references"`
	Affected           []stixAff `json:"x_vigil_affected"`
	Severity           string    `json:"x_vigil_severity"`
}

type extRef struct {
	SourceName string `json:"source_name"`
	ExternalID string `json:"external_id"`
}

type stixAff struct {
	Vendor   string `json:"vendor"`
	Product  string `json:"product"`
	Versions string `json:"versions"`
	Scheme   string `json:"scheme"`
}

// ParseSTIX reads the vulnerability objects of a STIX 2.1 bundle (or one
// bare object) as advisories. CVEs come from external references with
// source_name "cve" and from a name that is a CVE id; affected products
// from the custom property x_vigil_affected (a list of {vendor, product,
// versions, scheme}); severity from x_vigil_severity (default high).
// Revoked objects are skipped; a bad object is rejected with its position
// and reason, the rest kept. Other objects are ignored.
func ParseSTIX(ctx context.Context, r io.Reader) ([]Advisory, []intel.Rejection, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxAdvisoryBytes+1))
	if err != nil {
		return nil, nil, fmt.Errorf("stix advisories: %w", err)
	}
	if len(data) > MaxAdvisoryBytes {
		return nil, nil, fmt.Errorf("stix advisories: more than %d bytes", MaxAdvisoryBytes)
	}
	var top struct {
		Type    string            `json:"type"`
		Objects []json.RawMessage `json:"objects"`
	}
	if err := json.Unmarshal(data, &top); err != nil {
		return nil, nil, fmt.Errorf("stix advisories: %w", err)
	}
	raws := top.Objects
	if top.Type != "bundle" {
		raws = []json.RawMessage{bytes.TrimSpace(data)}
	}
	if len(raws) > maxAdvisories {
		return nil, nil, fmt.Errorf("stix advisories: %d objects, more than %d", len(raws), maxAdvisories)
	}
	var out []Advisory
	var rej []intel.Rejection
	for i, raw := range raws {
		if i%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, nil, fmt.Errorf("stix advisories: %w", err)
			}
		}
		where := fmt.Sprintf("objects[%d]", i)
		var o stixVuln
		if err := json.Unmarshal(raw, &o); err != nil {
			rej = append(rej, intel.Rejection{Where: where, Reason: "not a STIX object: " + err.Error()})
			continue
		}
		if o.Type != "vulnerability" || o.Revoked {
			continue
		}
		a := Advisory{ID: o.ID, Title: o.Name, Description: o.Description, Severity: o.Severity, Source: "stix"}
		if t, err := time.Parse(time.RFC3339Nano, o.Created); err == nil {
			a.Published = t.UTC()
		}
		if name := strings.ToUpper(strings.TrimSpace(o.Name)); cveRE.MatchString(name) {
			a.CVEs = append(a.CVEs, name)
		}
		for _, ref := range o.ExternalReferences {
			if strings.EqualFold(ref.SourceName, "cve") && ref.ExternalID != "" && len(a.CVEs) <= maxCVEs {
				a.CVEs = append(a.CVEs, ref.ExternalID)
			}
		}
		for _, af := range o.Affected {
			a.Affected = append(a.Affected, Affected{Vendor: af.Vendor, Product: af.Product, Versions: af.Versions, Scheme: Scheme(af.Scheme)})
		}
		if err := a.Check(); err != nil {
			rej = append(rej, intel.Rejection{Where: where, ID: clipText(o.ID), Reason: err.Error()})
			continue
		}
		out = append(out, a)
	}
	return out, rej, nil
}

// FindingHit is a finding an advisory concerns.
type FindingHit struct {
	FindingID string `json:"finding_id"`
	AssetID   string `json:"asset_id,omitempty"`
	Host      string `json:"host"` // host, IP or asset key
	Title     string `json:"title"`
	State     string `json:"state"`
	Package   string `json:"package,omitempty"`
	Version   string `json:"version,omitempty"`
	// Reason is "cve" (the finding names one of the CVEs) or "package"
	// (its package and version are in an affected range).
	Reason string `json:"reason"`
}

// AssetHit is an asset an advisory concerns.
type AssetHit struct {
	AssetID string `json:"asset_id"`
	Name    string `json:"name"`
	Address string `json:"address,omitempty"`
	// Reason is "attribute" (an attribute names the product), "finding"
	// (a matched finding is on it).
	Reason string `json:"reason"`
	// Attribute and Value are the attribute that named the product.
	Attribute string `json:"attribute,omitempty"`
	Value     string `json:"value,omitempty"`
	// VersionKnown is false when the asset names the product but not a
	// version the range could be checked against.
	VersionKnown bool `json:"version_known"`
}

// AdvisoryMatch is what an advisory finds in one tenant.
type AdvisoryMatch struct {
	Advisory Advisory     `json:"advisory"`
	Findings []FindingHit `json:"findings"`
	Assets   []AssetHit   `json:"assets"`
	// Truncated is set when the tenant had more findings or assets than
	// were read, or more hits than were listed.
	Truncated bool `json:"truncated,omitempty"`
}

// MatchOptions bound MatchAssets.
type MatchOptions struct {
	// MaxFindings and MaxAssets bound what is read (defaults
	// DefaultMaxFindings and DefaultMaxAssets).
	MaxFindings, MaxAssets int
	// AllStates also matches findings that are no longer open.
	AllStates bool
}

// ProductAttributes are the asset attributes read for product names: the
// attribute names an agent inventory and analysts use. "cpe" is read as a
// CPE 2.3 name (vendor, product and version fields).
func ProductAttributes() []string {
	return []string{"product", "os", "software", "application", "vendor", "model", "firmware", "service", "cpe"}
}

// MatchAssets lists the tenant's findings and assets that adv concerns:
// open findings (every state with AllStates) that name one of its CVEs,
// findings whose package is an affected product at a version in the
// range, the assets of those findings, and assets whose product
// attributes (ProductAttributes) name an affected product (with the
// "version" attribute, or a CPE's version, checked against the range when
// there is one).
func MatchAssets(ctx context.Context, st store.Store, tenantID string, adv Advisory, opts MatchOptions) (AdvisoryMatch, error) {
	ms, err := MatchMany(ctx, st, tenantID, []Advisory{adv}, opts)
	if len(ms) == 0 {
		return AdvisoryMatch{Advisory: adv}, err
	}
	return ms[0], err
}

// MatchMany is MatchAssets for several advisories at once: the tenant's
// findings and assets are read once. Findings are matched through an index
// of CVEs and package names; each asset is checked against every advisory,
// so the cost grows with assets × advisories. Every advisory must pass
// Check.
func MatchMany(ctx context.Context, st store.Store, tenantID string, advs []Advisory, opts MatchOptions) ([]AdvisoryMatch, error) {
	advs = slices.Clone(advs)
	for i := range advs {
		if err := advs[i].Check(); err != nil {
			return nil, fmt.Errorf("%w: advisory %q: %w", store.ErrInvalid, clipText(advs[i].ID), err)
		}
	}
	if opts.MaxFindings <= 0 {
		opts.MaxFindings = DefaultMaxFindings
	}
	if opts.MaxAssets <= 0 {
		opts.MaxAssets = DefaultMaxAssets
	}
	res := make([]AdvisoryMatch, len(advs))
	byCVE, byProduct := map[string][]int{}, map[string][]int{}
	for i := range advs {
		res[i] = AdvisoryMatch{Advisory: advs[i], Findings: []FindingHit{}, Assets: []AssetHit{}}
		for _, c := range advs[i].CVEs {
			c = strings.ToUpper(strings.TrimSpace(c))
			byCVE[c] = append(byCVE[c], i)
		}
		for _, af := range advs[i].Affected {
			if p := squash(af.Product); p != "" && !slices.Contains(byProduct[p], i) {
				byProduct[p] = append(byProduct[p], i)
			}
		}
	}
	truncateAll := func() {
		for i := range res {
			res[i].Truncated = true
		}
	}
	f := store.VulnFilter{Page: store.Page{Limit: store.MaxPageSize}}
	if !opts.AllStates {
		f.States = lifecycle.OpenStates()
	}
	findingAssets := make([]map[string]bool, len(advs))
	read := 0
	for {
		if err := ctx.Err(); err != nil {
			return res, fmt.Errorf("advisory match: %w", err)
		}
		fs, err := st.Vulns().List(ctx, tenantID, f)
		if err != nil {
			return res, fmt.Errorf("advisory match: findings: %w", err)
		}
		for _, fd := range fs {
			read++
			reasons := map[int]string{}
			for _, c := range fd.CVEs {
				for _, i := range byCVE[strings.ToUpper(strings.TrimSpace(c))] {
					reasons[i] = "cve"
				}
			}
			if fd.Package != "" {
				for _, i := range byProduct[squash(fd.Package)] {
					if _, ok := reasons[i]; !ok && advs[i].affectsPackage(fd.Package, fd.Version) {
						reasons[i] = "package"
					}
				}
			}
			for i, reason := range reasons {
				m := &res[i]
				if fd.AssetID != "" {
					if findingAssets[i] == nil {
						findingAssets[i] = map[string]bool{}
					}
					findingAssets[i][fd.AssetID] = true
				}
				if len(m.Findings) >= maxListed {
					m.Truncated = true
					continue
				}
				host := cmp.Or(fd.Host, fd.IP, fd.AssetKey)
				m.Findings = append(m.Findings, FindingHit{FindingID: fd.ID, AssetID: fd.AssetID, Host: host, Title: fd.Title,
					State: fd.State, Package: fd.Package, Version: fd.Version, Reason: reason})
			}
		}
		if len(fs) < store.MaxPageSize {
			break
		}
		if read >= opts.MaxFindings {
			truncateAll()
			break
		}
		f.Offset += len(fs)
	}
	af := store.AssetFilter{Page: store.Page{Limit: store.MaxPageSize}}
	read = 0
	for {
		if err := ctx.Err(); err != nil {
			return res, fmt.Errorf("advisory match: %w", err)
		}
		as, err := st.Assets().List(ctx, tenantID, af)
		if err != nil {
			return res, fmt.Errorf("advisory match: assets: %w", err)
		}
		for _, a := range as {
			read++
			for i := range advs {
				hit, ok := advs[i].matchAsset(a)
				if !ok && findingAssets[i][a.ID] {
					hit, ok = AssetHit{Reason: "finding", VersionKnown: true}, true
				}
				if !ok {
					continue
				}
				m := &res[i]
				if len(m.Assets) >= maxListed {
					m.Truncated = true
					continue
				}
				hit.AssetID, hit.Name, hit.Address = a.ID, a.Name, a.Address
				m.Assets = append(m.Assets, hit)
			}
		}
		if len(as) < store.MaxPageSize {
			break
		}
		if read >= opts.MaxAssets {
			truncateAll()
			break
		}
		af.Offset += len(as)
	}
	return res, nil
}

// affectsPackage reports whether a package at version is an affected
// product in range. A version the scheme cannot read is not affected.
func (a *Advisory) affectsPackage(pkg, version string) bool {
	for _, af := range a.Affected {
		if !sameName(pkg, af.Product) {
			continue
		}
		if af.rng.All() {
			return true
		}
		if ok, err := af.rng.Contains(version); err == nil && ok {
			return true
		}
	}
	return false
}

// sameName compares product names ignoring case, spaces, "-" and "_".
func sameName(a, b string) bool {
	return squash(a) == squash(b) && squash(a) != ""
}

func squash(s string) string {
	return strings.Map(func(r rune) rune {
		switch r {
		case ' ', '-', '_', '.':
			return -1
		}
		if r >= 'A' && r <= 'Z' {
			return r + 'a' - 'A'
		}
		return r
	}, s)
}

// namesProduct reports whether text names product as a whole word (or
// words), ignoring case: "Apache HTTP Server 2.4.57" names "HTTP Server".
func namesProduct(text, product string) bool {
	t, p := strings.ToLower(text), strings.ToLower(strings.TrimSpace(product))
	if p == "" {
		return false
	}
	for off := 0; off <= len(t)-len(p); {
		i := strings.Index(t[off:], p)
		if i < 0 {
			return false
		}
		i += off
		before := i == 0 || !isWordByte(t[i-1])
		after := i+len(p) == len(t) || !isWordByte(t[i+len(p)])
		if before && after {
			return true
		}
		off = i + 1
	}
	return false
}

func isWordByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c >= 0x80
}

// matchAsset checks an asset's product attributes against the affected
// products.
func (a *Advisory) matchAsset(as store.Asset) (AssetHit, bool) {
	for _, attr := range ProductAttributes() {
		v, ok := as.Attributes[attr]
		if !ok || v == "" {
			continue
		}
		if attr == "cpe" {
			vendor, product, version, ok := parseCPE(v)
			if !ok {
				continue
			}
			for _, af := range a.Affected {
				if !sameName(product, af.Product) || (af.Vendor != "" && !sameName(vendor, af.Vendor)) {
					continue
				}
				if hit, ok := assetVersionHit(af, version, attr, v); ok {
					return hit, true
				}
			}
			continue
		}
		for _, af := range a.Affected {
			if !namesProduct(v, af.Product) {
				continue
			}
			if hit, ok := assetVersionHit(af, as.Attributes["version"], attr, v); ok {
				return hit, true
			}
		}
	}
	return AssetHit{}, false
}

// assetVersionHit decides an asset that names af's product: in range when the
// version is known, affected-unknown when it is not.
func assetVersionHit(af Affected, version, attr, value string) (AssetHit, bool) {
	hit := AssetHit{Reason: "attribute", Attribute: attr, Value: value}
	if af.rng.All() {
		hit.VersionKnown = version != ""
		return hit, true
	}
	if version == "" || version == "*" || version == "-" {
		return hit, true
	}
	ok, err := af.rng.Contains(version)
	if err != nil {
		return hit, true // unreadable version: listed for review
	}
	hit.VersionKnown = true
	return hit, ok
}

// parseCPE reads vendor, product and version from a CPE 2.3 formatted
// string ("cpe:2.3:a:apache:http_server:2.4.57:*:...") or a CPE 2.2 URI
// ("cpe:/a:apache:http_server:2.4.57").
func parseCPE(s string) (vendor, product, version string, ok bool) {
	s = strings.TrimSpace(s)
	var parts []string
	switch {
	case strings.HasPrefix(s, "cpe:2.3:"):
		parts = strings.SplitN(s[len("cpe:2.3:"):], ":", 5)
	case strings.HasPrefix(s, "cpe:/"):
		parts = strings.SplitN(s[len("cpe:/"):], ":", 5)
	default:
		return "", "", "", false
	}
	if len(parts) < 3 || parts[1] == "" || parts[2] == "" {
		return "", "", "", false
	}
	unq := func(x string) string { return strings.ReplaceAll(x, `\`, "") }
	vendor, product = unq(parts[1]), unq(parts[2])
	if len(parts) > 3 {
		version = unq(parts[3])
	}
	return vendor, product, version, true
}
