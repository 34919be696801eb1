package intel

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"strings"
	"time"
)

// STIX 2.1 bundles.
//
// The parser reads a bundle (or one bare STIX object), checks every object
// on its own (common properties always; the full JSON schema when
// ParseOptions.Schemas is set) and turns indicators with a STIX pattern
// into indicators: simple patterns become plain indicators, one per value;
// other evaluable patterns become one stix-pattern indicator; patterns the
// matcher cannot evaluate are rejections with the reason. TLP comes from
// object_marking_refs pointing at the standard TLP marking definitions or
// at marking-definition objects in the bundle. "indicates" relationships
// add the target's name as a tag. Malware, threat-actor, campaign,
// attack-pattern, vulnerability, identity, report and the other objects
// are validated and counted.

// stixParser reads STIX 2.1 JSON.
type stixParser struct{}

func (stixParser) Format() string { return "stix" }

func (stixParser) Detect(head []byte) bool {
	return firstNonSpace(head) == '{' && bytes.Contains(head, []byte(`"type"`)) && !bytes.Contains(head, []byte(`"Event"`)) &&
		(bytes.Contains(head, []byte(`"bundle"`)) || bytes.Contains(head, []byte(`"spec_version"`)) || bytes.Contains(head, []byte(`--`)))
}

// Standard TLP marking-definition ids from the STIX 2.1 specification.
var stixTLPMarkings = map[string]TLP{
	"marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9": TLPClear,
	"marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da": TLPGreen,
	"marking-definition--f88d31f6-486f-44da-b317-01333bde0b82": TLPAmber,
	"marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed": TLPRed,
}

var (
	stixTypeRE = regexp.MustCompile(`^[a-z][a-z0-9]*(-[a-z0-9]+)*-?$`)
	stixIDRE   = regexp.MustCompile(`^([a-z][a-z0-9-]*)--[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
)

// scoTypes are the cyber-observable types (no created/modified needed).
var scoTypes = map[string]bool{
	"artifact": true, "autonomous-system": true, "directory": true, "domain-name": true, "email-addr": true,
	"email-message": true, "file": true, "ipv4-addr": true, "ipv6-addr": true, "mac-addr": true, "mutex": true,
	"network-traffic": true, "process": true, "software": true, "url": true, "user-account": true,
	"windows-registry-key": true, "x509-certificate": true,
}

type stixObject struct {
	Type              string            `json:"type"`
	ID                string            `json:"id"`
	Name              string            `json:"name"`
	Created           string            `json:"created"`
	Modified          string            `json:"modified"`
	Revoked           bool              `json:"revoked"`
	Confidence        *int              `json:"confidence"`
	Labels            []string          `json:"labels"`
	IndicatorTypes    []string          `json:"indicator_types"`
	Pattern           string            `json:"pattern"`
	PatternType       string            `json:"pattern_type"`
	ValidFrom         string            `json:"valid_from"`
	ValidUntil        string            `json:"valid_until"`
	ObjectMarkingRefs []string          `json:"object_marking_refs"`
	RelationshipType  string            `json:"relationship_type"`
	SourceRef         string            `json:"source_ref"`
	TargetRef         string            `json:"target_ref"`
	Value             string            `json:"value"`
	Hashes            map[string]string `json:"hashes"`
	DefinitionType    string            `json:"definition_type"`
	Definition        struct {
		TLP string `json:"tlp"`
	} `json:"definition"`
}

// Parse reads a STIX bundle or a single STIX object.
func (stixParser) Parse(ctx context.Context, r io.Reader, opts ParseOptions) (*Feed, error) {
	opts = opts.withDefaults()
	data, err := readBounded(r, opts.MaxBytes)
	if err != nil {
		return nil, fmt.Errorf("stix: %w", err)
	}
	var top struct {
		Type    string            `json:"type"`
		Objects []json.RawMessage `json:"objects"`
	}
	if err := json.Unmarshal(data, &top); err != nil {
		return nil, fmt.Errorf("stix: %w", err)
	}
	raws := top.Objects
	if top.Type != "bundle" {
		raws = []json.RawMessage{data}
	}
	if len(raws) > MaxFeedObjects {
		return nil, fmt.Errorf("stix: %w: %d objects (max %d)", ErrTooLarge, len(raws), MaxFeedObjects)
	}
	feed := newFeed("stix")
	objs := make([]*stixObject, len(raws))
	tlp := map[string]TLP{}
	names := map[string]string{}
	for i, raw := range raws {
		if i%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, fmt.Errorf("stix: %w", err)
			}
		}
		where := fmt.Sprintf("objects[%d]", i)
		var generic map[string]any
		if err := json.Unmarshal(raw, &generic); err != nil {
			feed.reject(where, "", "not a JSON object: %v", err)
			continue
		}
		var o stixObject
		if err := json.Unmarshal(raw, &o); err != nil {
			feed.reject(where, idOf(generic), "bad property: %v", err)
			continue
		}
		if err := checkSTIXCore(generic, &o); err != nil {
			feed.reject(where, o.ID, "%v", err)
			continue
		}
		if opts.Schemas != nil {
			if err := opts.Schemas.Validate(o.Type, generic); err != nil {
				feed.reject(where, o.ID, "schema: %v", err)
				continue
			}
		}
		feed.Counts[o.Type]++
		objs[i] = &o
		if o.Name != "" {
			names[o.ID] = o.Name
		}
		if o.Type == "marking-definition" {
			if t, ok := markingTLP(&o); ok {
				tlp[o.ID] = t
			}
		}
	}
	// indicates relationships: indicator id -> target names
	indicates := map[string][]string{}
	for _, o := range objs {
		if o != nil && o.Type == "relationship" && o.RelationshipType == "indicates" {
			if n, ok := names[o.TargetRef]; ok {
				indicates[o.SourceRef] = append(indicates[o.SourceRef], n)
			}
		}
	}
	for i, o := range objs {
		if o == nil {
			continue
		}
		where := fmt.Sprintf("objects[%d]", i)
		base := Indicator{
			Confidence: opts.Confidence, TLP: opts.TLP, Source: opts.Source, Refs: []string{o.ID},
		}
		if o.Confidence != nil {
			base.Confidence = clampConf(*o.Confidence)
		}
		for _, ref := range o.ObjectMarkingRefs {
			if t, ok := stixTLPMarkings[ref]; ok {
				base.TLP = t
			} else if t, ok := tlp[ref]; ok {
				base.TLP = t
			}
		}
		base.FirstSeen = parseTime(o.Created)
		base.LastSeen = parseTime(o.Modified)
		switch {
		case o.Type == "indicator":
			if o.Revoked {
				feed.reject(where, o.ID, "revoked")
				continue
			}
			base.ValidFrom = parseTime(o.ValidFrom)
			base.ValidUntil = parseTime(o.ValidUntil)
			base.Tags = append(append(append([]string(nil), o.IndicatorTypes...), o.Labels...), indicates[o.ID]...)
			addPatternIndicators(feed, where, o, base)
		case opts.Observables && scoTypes[o.Type]:
			addObservable(feed, where, o, base)
		}
	}
	return feed, nil
}

func idOf(m map[string]any) string {
	s, _ := m["id"].(string)
	return s
}

func parseTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}
	}
	return t.UTC()
}

func checkSTIXCore(m map[string]any, o *stixObject) error {
	if o.Type == "" {
		return fmt.Errorf("missing required property type")
	}
	if !stixTypeRE.MatchString(o.Type) || len(o.Type) < 3 || len(o.Type) > 250 {
		return fmt.Errorf("type %q is not a STIX type name", clip(o.Type))
	}
	if o.Type == "bundle" {
		return fmt.Errorf("nested bundle")
	}
	mm := stixIDRE.FindStringSubmatch(o.ID)
	if mm == nil {
		return fmt.Errorf("id %q is not <type>--<uuid>", clip(o.ID))
	}
	if mm[1] != o.Type {
		return fmt.Errorf("id %q does not start with its type %q", clip(o.ID), o.Type)
	}
	if !scoTypes[o.Type] {
		for _, k := range []string{"spec_version", "created", "modified"} {
			if _, ok := m[k]; !ok && !(o.Type == "marking-definition" && k == "modified") {
				return fmt.Errorf("missing required property %s", k)
			}
		}
		for _, k := range []string{"created", "modified"} {
			if s, ok := m[k].(string); ok {
				if _, err := time.Parse(time.RFC3339Nano, s); err != nil {
					return fmt.Errorf("%s %q is not an RFC 3339 timestamp", k, clip(s))
				}
			} else if _, present := m[k]; present {
				return fmt.Errorf("%s is not a string", k)
			}
		}
	}
	switch o.Type {
	case "indicator":
		for _, k := range []string{"pattern", "pattern_type", "valid_from"} {
			if _, ok := m[k]; !ok {
				return fmt.Errorf("missing required property %s", k)
			}
		}
		if _, err := time.Parse(time.RFC3339Nano, o.ValidFrom); err != nil {
			return fmt.Errorf("valid_from %q is not an RFC 3339 timestamp", clip(o.ValidFrom))
		}
	case "relationship":
		for _, k := range []string{"relationship_type", "source_ref", "target_ref"} {
			if _, ok := m[k]; !ok {
				return fmt.Errorf("missing required property %s", k)
			}
		}
	case "malware", "report", "threat-actor", "campaign", "attack-pattern", "vulnerability", "identity", "intrusion-set", "tool", "infrastructure":
		if o.Name == "" {
			return fmt.Errorf("missing required property name")
		}
	case "ipv4-addr", "ipv6-addr", "domain-name", "url", "email-addr":
		if o.Value == "" {
			return fmt.Errorf("missing required property value")
		}
	}
	return nil
}

func markingTLP(o *stixObject) (TLP, bool) {
	if t, ok := stixTLPMarkings[o.ID]; ok {
		return t, true
	}
	if o.DefinitionType == "tlp" {
		return ParseTLP(o.Definition.TLP)
	}
	return ParseTLP(o.Name)
}

func addPatternIndicators(feed *Feed, where string, o *stixObject, base Indicator) {
	if o.PatternType != "stix" {
		feed.reject(where, o.ID, "pattern_type %q is not evaluated (only stix)", clip(o.PatternType))
		return
	}
	pat, err := ParsePattern(o.Pattern)
	if err != nil {
		feed.reject(where, o.ID, "%v", err)
		return
	}
	if vals, ok := pat.Simple(); ok {
		for _, v := range vals {
			in := base
			in.Type = v.Type
			n, err := Normalize(v.Type, v.Value)
			if err != nil {
				feed.reject(where, o.ID, "pattern value: %v", err)
				continue
			}
			in.Value = n
			feed.Indicators = append(feed.Indicators, in)
		}
		return
	}
	if !pat.Evaluable {
		feed.reject(where, o.ID, "pattern parsed but not evaluated: %s", pat.NotEvaluated)
		return
	}
	in := base
	in.Type, in.Value, in.pattern = TypeSTIXPattern, o.Pattern, pat
	feed.Indicators = append(feed.Indicators, in)
}

func addObservable(feed *Feed, where string, o *stixObject, base Indicator) {
	add := func(t Type, v string) {
		if t == TypeIPv4 || t == TypeIPv6 {
			if strings.Contains(v, "/") {
				t = TypeCIDR
			}
		}
		in := base
		n, err := Normalize(t, v)
		if err != nil {
			feed.reject(where, o.ID, "observable: %v", err)
			return
		}
		in.Type, in.Value = t, n
		in.Tags = []string{"observable"}
		feed.Indicators = append(feed.Indicators, in)
	}
	switch o.Type {
	case "ipv4-addr":
		add(TypeIPv4, o.Value)
	case "ipv6-addr":
		add(TypeIPv6, o.Value)
	case "domain-name":
		add(TypeDomain, o.Value)
	case "url":
		add(TypeURL, o.Value)
	case "email-addr":
		add(TypeEmail, o.Value)
	case "file":
		for k, v := range o.Hashes {
			switch strings.ToUpper(k) {
			case "MD5":
				add(TypeMD5, v)
			case "SHA-1", "SHA1":
				add(TypeSHA1, v)
			case "SHA-256", "SHA256":
				add(TypeSHA256, v)
			}
		}
		if o.Name != "" {
			add(TypeFilename, o.Name)
		}
	}
}
