package compliance

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/vigil-sec/vigil/internal/compliance/risk"
)

// CISO Assistant library format (intuitem/ciso-assistant-community,
// backend/library/libraries): a library with a urn, locale and objects
// holding a framework (a flat list of requirement nodes linked by
// parent_urn, with depth and assessable) and/or risk matrices. Only the
// fields Vigil uses are modelled; others are ignored on import.

// CISOLibrary is a CISO Assistant library document.
type CISOLibrary struct {
	URN             string                     `yaml:"urn"`
	Locale          string                     `yaml:"locale"`
	RefID           string                     `yaml:"ref_id"`
	Name            string                     `yaml:"name"`
	Description     string                     `yaml:"description,omitempty"`
	Copyright       string                     `yaml:"copyright,omitempty"`
	Version         int                        `yaml:"version"`
	PublicationDate string                     `yaml:"publication_date,omitempty"`
	Provider        string                     `yaml:"provider,omitempty"`
	Packager        string                     `yaml:"packager,omitempty"`
	Translations    map[string]CISOTranslation `yaml:"translations,omitempty"`
	Objects         CISOObjects                `yaml:"objects"`
}

// CISOTranslation is a name and description in another language.
type CISOTranslation struct {
	Name        string `yaml:"name,omitempty"`
	Description string `yaml:"description,omitempty"`
}

// CISOObjects are the objects a library carries.
type CISOObjects struct {
	Framework  *CISOFramework   `yaml:"framework,omitempty"`
	RiskMatrix []CISORiskMatrix `yaml:"risk_matrix,omitempty"`
}

// CISOFramework is a framework with its requirement nodes in document order.
type CISOFramework struct {
	URN              string                     `yaml:"urn"`
	RefID            string                     `yaml:"ref_id"`
	Name             string                     `yaml:"name"`
	Description      string                     `yaml:"description,omitempty"`
	Translations     map[string]CISOTranslation `yaml:"translations,omitempty"`
	RequirementNodes []CISONode                 `yaml:"requirement_nodes"`
}

// CISONode is one requirement node.
type CISONode struct {
	URN          string                     `yaml:"urn"`
	Assessable   bool                       `yaml:"assessable"`
	Depth        int                        `yaml:"depth"`
	ParentURN    string                     `yaml:"parent_urn,omitempty"`
	RefID        string                     `yaml:"ref_id,omitempty"`
	Name         string                     `yaml:"name,omitempty"`
	Description  string                     `yaml:"description,omitempty"`
	Translations map[string]CISOTranslation `yaml:"translations,omitempty"`
}

// CISORiskMatrix is a risk matrix: Grid[probability][impact] is a risk id.
type CISORiskMatrix struct {
	URN         string      `yaml:"urn"`
	RefID       string      `yaml:"ref_id"`
	Name        string      `yaml:"name"`
	Description string      `yaml:"description,omitempty"`
	Probability []CISOLevel `yaml:"probability"`
	Impact      []CISOLevel `yaml:"impact"`
	Risk        []CISOLevel `yaml:"risk"`
	Grid        [][]int     `yaml:"grid"`
}

// CISOLevel is one probability, impact or risk level.
type CISOLevel struct {
	ID           int    `yaml:"id"`
	Abbreviation string `yaml:"abbreviation,omitempty"`
	Name         string `yaml:"name"`
	Description  string `yaml:"description,omitempty"`
	HexColor     string `yaml:"hexcolor,omitempty"`
}

// ParseCISOLibrary reads a CISO Assistant library (at most
// MaxFrameworkBytes, no YAML anchors) and checks its structure: urn and
// locale present, node urns unique, every parent_urn resolving to an
// earlier node one level up, matrices well formed.
func ParseCISOLibrary(r io.Reader) (*CISOLibrary, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxFrameworkBytes+1))
	if err != nil {
		return nil, fmt.Errorf("compliance: read CISO library: %w", err)
	}
	if len(data) > MaxFrameworkBytes {
		return nil, fmt.Errorf("%w: library is larger than %d bytes", ErrInvalid, MaxFrameworkBytes)
	}
	var root yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&root); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%w: empty document", ErrInvalid)
		}
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if n := countYAML(&root, 0); n > 40*MaxNodes {
		return nil, fmt.Errorf("%w: library has anchors, deep nesting or more than %d YAML nodes", ErrInvalid, 40*MaxNodes)
	}
	var lib CISOLibrary
	if err := root.Decode(&lib); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if err := lib.check(); err != nil {
		return nil, err
	}
	return &lib, nil
}

func (lib *CISOLibrary) check() error {
	p := &problems{}
	checkField(p, "library", "urn", lib.URN, MaxIDLen*3, true)
	checkField(p, "library", "locale", lib.Locale, 20, true)
	checkField(p, "library", "name", lib.Name, MaxNameLen, true)
	fw := lib.Objects.Framework
	if fw == nil && len(lib.Objects.RiskMatrix) == 0 {
		p.addf("library: objects hold neither a framework nor a risk matrix")
	}
	if fw != nil {
		checkField(p, "framework", "urn", fw.URN, MaxIDLen*3, true)
		if len(fw.RequirementNodes) > MaxNodes {
			p.addf("framework: more than %d requirement nodes", MaxNodes)
			return p.err("CISO library")
		}
		depth := map[string]int{}
		for i, n := range fw.RequirementNodes {
			where := "requirement_nodes[" + strconv.Itoa(i) + "]"
			checkField(p, where, "urn", n.URN, MaxIDLen*3, true)
			checkField(p, where, "ref_id", n.RefID, MaxIDLen, false)
			checkField(p, where, "name", n.Name, MaxNameLen, false)
			checkField(p, where, "description", n.Description, MaxTextLen, false)
			if _, dup := depth[n.URN]; dup {
				p.addf("%s: urn %q is used twice", where, n.URN)
			}
			switch {
			case n.Depth < 1 || n.Depth > MaxDepth:
				p.addf("%s: depth %d is not 1 to %d", where, n.Depth, MaxDepth)
			case n.ParentURN == "" && n.Depth != 1:
				p.addf("%s: a node without parent_urn has depth 1, not %d", where, n.Depth)
			case n.ParentURN != "":
				pd, ok := depth[n.ParentURN]
				if !ok {
					p.addf("%s: parent_urn %q is not an earlier node", where, n.ParentURN)
				} else if n.Depth != pd+1 {
					p.addf("%s: depth %d under a parent of depth %d", where, n.Depth, pd)
				}
			}
			depth[n.URN] = n.Depth
		}
	}
	for i, m := range lib.Objects.RiskMatrix {
		where := "risk_matrix[" + strconv.Itoa(i) + "]"
		if len(m.Probability) < 2 || len(m.Probability) > 10 || len(m.Impact) < 2 || len(m.Impact) > 10 || len(m.Risk) < 2 || len(m.Risk) > 10 {
			p.addf("%s: probability, impact and risk need 2 to 10 levels each", where)
			continue
		}
		if len(m.Grid) != len(m.Probability) {
			p.addf("%s: grid has %d rows for %d probability levels", where, len(m.Grid), len(m.Probability))
			continue
		}
		for r, row := range m.Grid {
			if len(row) != len(m.Impact) {
				p.addf("%s: grid row %d has %d cells for %d impact levels", where, r+1, len(row), len(m.Impact))
				continue
			}
			for _, c := range row {
				if c < 0 || c >= len(m.Risk) {
					p.addf("%s: grid row %d names risk level %d of %d", where, r+1, c, len(m.Risk))
					break
				}
			}
		}
		for j, l := range m.Risk {
			if l.ID != j {
				p.addf("%s: risk level %d has id %d (ids run 0..n-1)", where, j, l.ID)
			}
			checkField(p, where, "risk name", l.Name, MaxNameLen, true)
		}
	}
	return p.err("CISO library")
}

// zhLocale reports whether a locale is Chinese.
func zhLocale(l string) bool { return strings.HasPrefix(strings.ToLower(l), "zh") }

// Framework converts the library's framework into a Vigil framework
// (kind "custom" unless the library's ref_id names an embedded kind). Node
// ids are the ref_id when it is present and unique, else the last segment
// of the urn. Texts in a Chinese locale fill Name/Text and English
// translations NameEn/TextEn; other locales the other way round.
func (lib *CISOLibrary) Framework() (*Framework, error) {
	fw := lib.Objects.Framework
	if fw == nil {
		return nil, fmt.Errorf("%w: library %s has no framework", ErrInvalid, lib.URN)
	}
	zh := zhLocale(lib.Locale)
	refs := map[string]int{}
	for _, n := range fw.RequirementNodes {
		if n.RefID != "" {
			refs[n.RefID]++
		}
	}
	out := &Framework{ID: first(lib.RefID, urnTail(lib.URN)), Kind: "custom", Locale: lib.Locale}
	setTexts(zh, &out.Name, &out.NameEn, fw.Name, fw.Translations, true)
	if out.Name == "" {
		out.Name = first(out.NameEn, lib.Name)
	}
	byURN := map[string]*Node{}
	used := map[string]bool{}
	for _, cn := range fw.RequirementNodes {
		id := cn.RefID
		if id == "" || refs[id] > 1 || used[id] {
			id = urnTail(cn.URN)
		}
		for base, k := id, 2; used[id]; k++ {
			id = base + "~" + strconv.Itoa(k)
		}
		used[id] = true
		n := &Node{ID: id, Kind: KindRequirement, Assessable: cn.Assessable}
		setTexts(zh, &n.Name, &n.NameEn, cn.Name, cn.Translations, true)
		setTexts(zh, &n.Text, &n.TextEn, cn.Description, cn.Translations, false)
		if n.Name == "" && n.Text == "" && n.NameEn == "" && n.TextEn == "" {
			n.Name = cn.RefID
		}
		byURN[cn.URN] = n
		if cn.ParentURN == "" {
			out.Nodes = append(out.Nodes, n)
		} else {
			parent := byURN[cn.ParentURN]
			if parent == nil {
				return nil, fmt.Errorf("%w: node %s: parent_urn %q is not an earlier node", ErrInvalid, cn.URN, cn.ParentURN)
			}
			parent.Children = append(parent.Children, n)
		}
	}
	if err := out.Validate(); err != nil {
		return nil, err
	}
	return out, nil
}

func setTexts(zh bool, dst, dstEn *string, s string, tr map[string]CISOTranslation, name bool) {
	other := func(lang string) string {
		for k, t := range tr {
			if strings.HasPrefix(strings.ToLower(k), lang) {
				if name {
					return t.Name
				}
				return t.Description
			}
		}
		return ""
	}
	if zh {
		*dst, *dstEn = s, other("en")
	} else {
		*dstEn, *dst = s, other("zh")
	}
}

func urnTail(urn string) string {
	if i := strings.LastIndexByte(urn, ':'); i >= 0 {
		return urn[i+1:]
	}
	return urn
}

// urnPart makes an id safe inside a urn: lower case, letters, digits, dot,
// dash and underscore; anything else becomes a dash.
func urnPart(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '.', r == '-', r == '_':
			return r
		case r >= 'A' && r <= 'Z':
			return r + 'a' - 'A'
		}
		return '-'
	}, s)
}

// ExportCISO converts a framework into a CISO Assistant library in the
// "vigil" urn namespace. The library's locale is the framework's (zh-CN
// frameworks export as "zh" with English translations); ref_id carries each
// node's id so that an import gives the same ids back.
func ExportCISO(f *Framework) (*CISOLibrary, error) {
	if err := f.Validate(); err != nil {
		return nil, err
	}
	zh := f.Locale == "" || zhLocale(f.Locale)
	locale, other := "zh", "en"
	if !zh {
		locale, other = "en", "zh"
	}
	pick := func(z, e string) (main, tr string) {
		if zh {
			return z, e
		}
		return e, z
	}
	fid := urnPart(f.ID)
	lib := &CISOLibrary{URN: "urn:vigil:risk:library:" + fid, Locale: locale, RefID: f.ID, Version: 1, Provider: f.Standard, Packager: "vigil"}
	lib.Name, _ = pick(f.Name, f.NameEn)
	lib.Name = first(lib.Name, first(f.Name, f.NameEn))
	cf := &CISOFramework{URN: "urn:vigil:risk:framework:" + fid, RefID: f.ID, Name: lib.Name}
	if _, tr := pick(f.Name, f.NameEn); tr != "" && tr != lib.Name {
		lib.Translations = map[string]CISOTranslation{other: {Name: tr}}
		cf.Translations = map[string]CISOTranslation{other: {Name: tr}}
	}
	seen := map[string]bool{}
	var err error
	f.Walk(func(n, parent *Node, depth int) bool {
		urn := "urn:vigil:risk:req_node:" + fid + ":" + urnPart(n.ID)
		if seen[urn] {
			err = fmt.Errorf("%w: node ids %q collide in a urn", ErrInvalid, n.ID)
			return false
		}
		seen[urn] = true
		cn := CISONode{URN: urn, Assessable: n.Assessable, Depth: depth, RefID: n.ID}
		if parent != nil {
			cn.ParentURN = "urn:vigil:risk:req_node:" + fid + ":" + urnPart(parent.ID)
		}
		var trName, trText string
		cn.Name, trName = pick(n.Name, n.NameEn)
		cn.Description, trText = pick(n.Text, n.TextEn)
		if trName != "" || trText != "" {
			cn.Translations = map[string]CISOTranslation{other: {Name: trName, Description: trText}}
		}
		cf.RequirementNodes = append(cf.RequirementNodes, cn)
		return true
	})
	if err != nil {
		return nil, err
	}
	lib.Objects.Framework = cf
	return lib, nil
}

// WriteCISO encodes a library as YAML.
func WriteCISO(w io.Writer, lib *CISOLibrary) error {
	enc := yaml.NewEncoder(w)
	enc.SetIndent(2)
	if err := enc.Encode(lib); err != nil {
		return fmt.Errorf("compliance: encode CISO library: %w", err)
	}
	if err := enc.Close(); err != nil {
		return fmt.Errorf("compliance: encode CISO library: %w", err)
	}
	return nil
}

// RiskMatrix converts a CISO risk matrix into a risk.Matrix (rows are
// probability levels, columns impact levels, cells risk levels named by
// the risk level names).
func (m CISORiskMatrix) RiskMatrix() (risk.Matrix, error) {
	out := risk.Matrix{Name: m.Name}
	for _, l := range m.Risk {
		out.Levels = append(out.Levels, risk.Level(l.Name))
	}
	for _, row := range m.Grid {
		out.Grid = append(out.Grid, append([]int(nil), row...))
	}
	if err := out.Check(); err != nil {
		return risk.Matrix{}, err
	}
	return out, nil
}

// ExportRiskMatrix converts a risk.Matrix into a CISO risk matrix with
// numbered probability and impact levels (1..n).
func ExportRiskMatrix(id string, mx risk.Matrix) (CISORiskMatrix, error) {
	if err := mx.Check(); err != nil {
		return CISORiskMatrix{}, err
	}
	out := CISORiskMatrix{URN: "urn:vigil:risk:matrix:" + urnPart(id), RefID: id, Name: first(mx.Name, id)}
	for i := range mx.Grid {
		out.Probability = append(out.Probability, CISOLevel{ID: i, Abbreviation: "L" + strconv.Itoa(i+1), Name: strconv.Itoa(i + 1)})
	}
	for j := range mx.Grid[0] {
		out.Impact = append(out.Impact, CISOLevel{ID: j, Abbreviation: "F" + strconv.Itoa(j+1), Name: strconv.Itoa(j + 1)})
	}
	for k, l := range mx.Levels {
		out.Risk = append(out.Risk, CISOLevel{ID: k, Name: string(l)})
	}
	for _, row := range mx.Grid {
		out.Grid = append(out.Grid, append([]int(nil), row...))
	}
	return out, nil
}
