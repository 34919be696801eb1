// Package datafile reads Vigil's YAML data files (playbooks, campaign
// templates, checklists, rules) strictly: bounded size and tree, no
// anchors or aliases, one document, unknown keys refused, and every error
// with the file's name and line.
package datafile

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// Bounds of the YAML tree.
const (
	maxYAMLNodes = 50_000
	maxYAMLDepth = 10
)

// goTypeRE finds the Go type names the decoder puts in its messages.
var goTypeRE = regexp.MustCompile(` (?:in type|into) [\w.\[\]*]+`)

// LineError is a problem at a line of a data file.
type LineError struct {
	Name string // file name
	Line int
	Msg  string
}

// Error returns "name:line: msg".
func (e *LineError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.Name, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.Name, e.Msg)
}

// Decode decodes one YAML document of at most maxSize bytes into v,
// refusing unknown keys, anchors and aliases, more than one document and
// oversized trees. Errors are *LineError values labelled with name. The
// node tree is returned for locating later validation errors (see
// LineOf).
func Decode(data []byte, name string, maxSize int, v any) (*yaml.Node, error) {
	lerr := func(line int, format string, args ...any) error {
		return &LineError{Name: name, Line: line, Msg: fmt.Sprintf(format, args...)}
	}
	if len(data) > maxSize {
		return nil, lerr(0, "larger than %d bytes", maxSize)
	}
	if !utf8.Valid(data) {
		return nil, lerr(0, "not valid UTF-8")
	}
	var root yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&root); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, lerr(0, "empty document")
		}
		return nil, yamlError(name, err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, lerr(extra.Line, "more than one YAML document")
	}
	if line, msg := checkTree(&root); msg != "" {
		return nil, lerr(line, "%s", msg)
	}
	typed := yaml.NewDecoder(bytes.NewReader(data))
	typed.KnownFields(true)
	if err := typed.Decode(v); err != nil {
		return nil, yamlError(name, err)
	}
	return &root, nil
}

var lineRE = regexp.MustCompile(`^line (\d+): (.*)$`)

// yamlError turns a decoder error into a *LineError naming the first
// problem's line, without the Go type names the decoder adds.
func yamlError(name string, err error) error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	msg = strings.TrimPrefix(msg, "unmarshal errors:\n")
	var parts []string
	line := 0
	for _, l := range strings.Split(msg, "\n") {
		l = strings.TrimSpace(goTypeRE.ReplaceAllString(l, ""))
		if l == "" {
			continue
		}
		if m := lineRE.FindStringSubmatch(l); m != nil {
			if n, err := strconv.Atoi(m[1]); err == nil && line == 0 {
				line = n
			}
			l = m[2]
		}
		parts = append(parts, l)
	}
	return &LineError{Name: name, Line: line, Msg: strings.Join(parts, "; ")}
}

// checkTree bounds the YAML tree before it is decoded and refuses anchors
// and aliases (which could blow it up).
func checkTree(root *yaml.Node) (int, string) {
	count := 0
	var walk func(n *yaml.Node, depth int) (int, string)
	walk = func(n *yaml.Node, depth int) (int, string) {
		count++
		if count > maxYAMLNodes {
			return n.Line, fmt.Sprintf("more than %d YAML nodes", maxYAMLNodes)
		}
		if depth > maxYAMLDepth {
			return n.Line, fmt.Sprintf("nested deeper than %d levels", maxYAMLDepth)
		}
		if n.Kind == yaml.AliasNode || n.Anchor != "" {
			return n.Line, "anchors and aliases are not allowed"
		}
		for _, c := range n.Content {
			if l, m := walk(c, depth+1); m != "" {
				return l, m
			}
		}
		return 0, ""
	}
	return walk(root, 0)
}

// LineOf finds the line of the value under a path of mapping keys
// (string) and sequence indexes (int) in a tree from Decode, or the
// line of the nearest parent that exists.
func LineOf(root *yaml.Node, steps ...any) int {
	n := root
	if n.Kind == yaml.DocumentNode && len(n.Content) == 1 {
		n = n.Content[0]
	}
	line := n.Line
	for _, s := range steps {
		var next *yaml.Node
		switch s := s.(type) {
		case string:
			if n.Kind == yaml.MappingNode {
				for i := 0; i+1 < len(n.Content); i += 2 {
					if n.Content[i].Value == s {
						next = n.Content[i+1]
						break
					}
				}
			}
		case int:
			if n.Kind == yaml.SequenceNode && s >= 0 && s < len(n.Content) {
				next = n.Content[s]
			}
		}
		if next == nil {
			return line
		}
		n, line = next, next.Line
	}
	return line
}
