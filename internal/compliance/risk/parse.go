package risk

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	"go.yaml.in/yaml/v3"
)

// MaxAssessmentBytes bounds an assessment file.
const MaxAssessmentBytes = 16 << 20

// ParseAssessment reads one assessment YAML document (unknown fields and
// anchors refused, at most MaxAssessmentBytes) and validates it.
func ParseAssessment(r io.Reader) (*Assessment, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxAssessmentBytes+1))
	if err != nil {
		return nil, fmt.Errorf("risk: read assessment: %w", err)
	}
	if len(data) > MaxAssessmentBytes {
		return nil, fmt.Errorf("%w: assessment is larger than %d bytes", ErrInvalid, MaxAssessmentBytes)
	}
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if hasAlias(&root, 0) {
		return nil, fmt.Errorf("%w: anchors, aliases and deep nesting are not accepted", ErrInvalid)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var as Assessment
	if err := dec.Decode(&as); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%w: empty document", ErrInvalid)
		}
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if err := as.Validate(); err != nil {
		return nil, err
	}
	return &as, nil
}

func hasAlias(n *yaml.Node, depth int) bool {
	if n.Kind == yaml.AliasNode || n.Anchor != "" || depth > 32 {
		return true
	}
	for _, c := range n.Content {
		if hasAlias(c, depth+1) {
			return true
		}
	}
	return false
}
