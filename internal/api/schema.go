package api

import (
	"time"

	"github.com/danielgtaylor/huma/v2"
)

// setEnum sets the allowed values of a string property from a domain list,
// so the documented and validated enum cannot drift from the domain. With
// allowEmpty, "" (meaning "none" or "the default") is accepted too.
func setEnum(s *huma.Schema, prop string, values []string, allowEmpty bool) {
	p, ok := s.Properties[prop]
	if !ok {
		panic("setEnum: no property " + prop)
	}
	enum := make([]any, 0, len(values)+1)
	if allowEmpty {
		enum = append(enum, "")
	}
	for _, v := range values {
		enum = append(enum, v)
	}
	p.Enum = enum
	p.PrecomputeMessages()
}

// optTime returns nil for the zero time, which the store uses for "never".
func optTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}
