package weblog

import (
	"bytes"
	"fmt"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Exclusion silences one layer (a CRS rule id such as "942100", or a layer
// name such as "sig:lfi/dot-segment" or "behaviour:abnormal-method") for a
// system, optionally only under a path prefix and/or for one query
// parameter. Analysts write them after reviewing hits; they apply on the
// next run.
type Exclusion struct {
	System     string `yaml:"system,omitempty" json:"system,omitempty"`
	Rule       string `yaml:"rule" json:"rule"`
	PathPrefix string `yaml:"path_prefix,omitempty" json:"path_prefix,omitempty"`
	Param      string `yaml:"param,omitempty" json:"param,omitempty"`
	Reason     string `yaml:"reason,omitempty" json:"reason,omitempty"`
}

// LoadExclusions reads a YAML list of exclusions.
func LoadExclusions(path string) ([]Exclusion, error) {
	data, err := os.ReadFile(path) // #nosec G304 -- the analyst names the exclusions file.
	if err != nil {
		return nil, fmt.Errorf("weblog: exclusions: %w", err)
	}
	return ParseExclusions(data)
}

// ParseExclusions parses a YAML list of exclusions.
func ParseExclusions(data []byte) ([]Exclusion, error) {
	if len(data) > 4<<20 {
		return nil, fmt.Errorf("weblog: exclusions: file larger than 4 MiB")
	}
	var ex []Exclusion
	d := yaml.NewDecoder(bytes.NewReader(data))
	d.KnownFields(true)
	if err := d.Decode(&ex); err != nil && err.Error() != "EOF" {
		return nil, fmt.Errorf("weblog: exclusions: %w", err)
	}
	for i, e := range ex {
		if e.Rule == "" {
			return nil, fmt.Errorf("weblog: exclusions: entry %d has no rule", i+1)
		}
	}
	return ex, nil
}

// applies reports whether e covers layer on a request for system.
func (e Exclusion) applies(system, layer, path string, params []string) bool {
	if e.System != "" && e.System != system {
		return false
	}
	if layer != e.Rule && layer != "crs:"+e.Rule {
		return false
	}
	if e.PathPrefix != "" && !strings.HasPrefix(path, e.PathPrefix) {
		return false
	}
	if e.Param != "" {
		// A CRS layer is excluded for a parameter only when every
		// variable it matched is that parameter.
		if len(params) == 0 {
			return false
		}
		for _, p := range params {
			if p != e.Param {
				return false
			}
		}
	}
	return true
}

// Filter removes the excluded layers from h and reports whether any layer
// is left (false: drop the hit).
func Filter(h *Hit, ex []Exclusion) bool {
	if len(ex) == 0 {
		return true
	}
	path := h.path
	var keep []string
	for _, l := range h.Layers {
		params := layerParams(h, l)
		if slices.ContainsFunc(ex, func(e Exclusion) bool { return e.applies(h.System, l, path, params) }) {
			continue
		}
		keep = append(keep, l)
	}
	h.Layers = keep
	return len(keep) > 0
}

// layerParams is the query parameters a layer matched: from CRS match
// data for a rule, else every parameter of the query.
func layerParams(h *Hit, layer string) []string {
	if id, ok := strings.CutPrefix(layer, "crs:"); ok && h.CRS != nil {
		if n, err := strconv.Atoi(id); err == nil {
			if keys := h.CRS.keys[n]; len(keys) > 0 {
				return keys
			}
		}
	}
	q, err := url.ParseQuery(h.query)
	if err != nil {
		return nil
	}
	var out []string
	for k := range q {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
