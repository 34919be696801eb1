package intel

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
)

// STIX 2.1 output.
//
// STIXIndicator writes an indicator as a STIX 2.1 indicator object, so
// Vigil's curated collections can be served over TAXII and read back by
// any STIX consumer (Vigil's own parser included). The object id is a
// name-based UUID of the indicator's type and value, so the same indicator
// keeps its id across feed refreshes and nodes.

// stixNamespace is the UUID namespace of Vigil's indicator ids.
var stixNamespace = uuid.MustParse("6f0c5d6e-8a51-4d53-9f86-7c1d3b0e2a44")

// Shareable reports whether an indicator's TLP lets an MSSP pass it on to
// its customers: clear, green and amber may go to clients on a
// need-to-know basis; amber+strict and red stay inside the organisation.
// An indicator without a label is treated as amber.
func (in *Indicator) Shareable() bool {
	return in.TLP != TLPAmberStrict && in.TLP != TLPRed
}

// STIXID is the stable STIX id of an indicator.
func (in *Indicator) STIXID() string {
	return "indicator--" + uuid.NewSHA1(stixNamespace, []byte(string(in.Type)+"\x00"+in.Value)).String()
}

// STIXPattern is the indicator's STIX pattern.
func (in *Indicator) STIXPattern() (string, error) {
	lit := func(object, path string) string {
		return "[" + object + ":" + path + " = '" + stixEscape(in.Value) + "']"
	}
	switch in.Type {
	case TypeIPv4:
		return lit("ipv4-addr", "value"), nil
	case TypeIPv6:
		return lit("ipv6-addr", "value"), nil
	case TypeCIDR:
		if strings.Contains(in.Value, ":") {
			return lit("ipv6-addr", "value"), nil
		}
		return lit("ipv4-addr", "value"), nil
	case TypeDomain:
		return lit("domain-name", "value"), nil
	case TypeURL:
		return lit("url", "value"), nil
	case TypeEmail:
		return lit("email-addr", "value"), nil
	case TypeFilename:
		return lit("file", "name"), nil
	case TypeMD5:
		return lit("file", "hashes.MD5"), nil
	case TypeSHA1:
		return lit("file", "hashes.'SHA-1'"), nil
	case TypeSHA256:
		return lit("file", "hashes.'SHA-256'"), nil
	case TypeSTIXPattern:
		return in.Value, nil
	}
	return "", fmt.Errorf("intel: no STIX pattern for type %q", in.Type)
}

// stixEscape escapes a value for a STIX pattern string literal.
func stixEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s)
}

// stixTLPMarking is the standard marking definition of each TLP label.
func stixTLPMarking(t TLP) string {
	for id, label := range stixTLPMarkings {
		if label == t {
			return id
		}
	}
	return ""
}

// stixTime formats a STIX timestamp (UTC, millisecond precision).
func stixTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// STIXIndicator returns the indicator as a STIX 2.1 indicator object.
// created and modified are the indicator's first and last sighting (now
// when unknown); valid_from is ValidFrom, else FirstSeen, else now.
func (in *Indicator) STIXIndicator(now time.Time) (json.RawMessage, error) {
	pattern, err := in.STIXPattern()
	if err != nil {
		return nil, err
	}
	created := in.FirstSeen
	if created.IsZero() {
		created = now
	}
	modified := in.LastSeen
	if modified.IsZero() || modified.Before(created) {
		modified = created
	}
	validFrom := in.ValidFrom
	if validFrom.IsZero() {
		validFrom = created
	}
	obj := map[string]any{
		"type": "indicator", "spec_version": "2.1", "id": in.STIXID(),
		"created": stixTime(created), "modified": stixTime(modified),
		"name":    string(in.Type) + " " + clip(in.Value),
		"pattern": pattern, "pattern_type": "stix", "valid_from": stixTime(validFrom),
		"indicator_types": []string{"malicious-activity"},
	}
	if !in.ValidUntil.IsZero() && in.ValidUntil.After(validFrom) {
		obj["valid_until"] = stixTime(in.ValidUntil)
	}
	if in.Confidence > 0 {
		obj["confidence"] = min(in.Confidence, 100)
	}
	if len(in.Tags) > 0 {
		obj["labels"] = in.Tags
	}
	if in.Source != "" {
		obj["external_references"] = []map[string]string{{"source_name": clip(in.Source), "description": "threat intelligence feed"}}
	}
	if m := stixTLPMarking(in.TLP); m != "" {
		obj["object_marking_refs"] = []string{m}
	}
	return json.Marshal(obj)
}
