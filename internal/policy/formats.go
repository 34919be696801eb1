package policy

import (
	"fmt"
	"io"
	"slices"
)

// ParseFunc builds a rule set from one configuration format.
type ParseFunc func(r io.Reader, fam Family) (*RuleSet, error)

// formats maps each supported --format name to its parser.
var formats = map[string]ParseFunc{
	"iptables-save": ParseIptablesSave,
	"nft":           ParseNftText,
	"nft-json":      ParseNftJSON,
	"cisco-asa":     ParseCiscoASA,
	"cisco-ios":     ParseCiscoIOS,
	"fortigate":     ParseFortiGate,
	"huawei-usg":    ParseHuaweiUSG,
	"h3c":           ParseH3C,
	"paloalto-xml":  ParsePaloAltoXML,
	"paloalto-set":  ParsePaloAltoSet,
}

// Formats lists the supported format names, sorted.
func Formats() []string {
	names := make([]string, 0, len(formats))
	for n := range formats {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// Parse reads r in the named format.
func Parse(format string, r io.Reader, fam Family) (*RuleSet, error) {
	p, ok := formats[format]
	if !ok {
		return nil, fmt.Errorf("policy: unsupported format %q (supported: %v)", format, Formats())
	}
	return p(r, fam)
}
