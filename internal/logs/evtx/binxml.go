package evtx

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"unicode/utf16"
)

// BinXML tokens. The 0x40 bit on element, value, attribute, CDATA,
// character and entity reference tokens is a flag ("has attributes" or
// "more follows") and is masked off before dispatch.
const (
	tokEOF          = 0x00
	tokOpenStart    = 0x01
	tokCloseStart   = 0x02
	tokCloseEmpty   = 0x03
	tokEndElement   = 0x04
	tokValue        = 0x05
	tokAttribute    = 0x06
	tokCDATA        = 0x07
	tokCharRef      = 0x08
	tokEntityRef    = 0x09
	tokPITarget     = 0x0a
	tokPIData       = 0x0b
	tokTemplate     = 0x0c
	tokSubst        = 0x0d
	tokOptSubst     = 0x0e
	tokFragmentHead = 0x0f
	tokFlag         = 0x40
)

// maxSubstitutions bounds the values of one template instance.
const maxSubstitutions = 4096

var errShort = errors.New("data runs past the end of the chunk")

// element is a parsed XML element.
type element struct {
	name  string
	attrs []attribute
	// content holds, in order, child *element nodes and text parts
	// (typed scalar values).
	content []any
}

type attribute struct {
	name  string
	parts []any
}

// value is one template substitution value: its type and its bytes'
// position in the chunk (embedded BinXML is parsed in place).
type value struct {
	typ      byte
	off, end int
}

// parser reads the BinXML of one chunk. Offsets are chunk-relative, as
// the format's own pointers (names, template definitions) are.
type parser struct {
	chunk    []byte
	maxDepth int
	names    map[int]string
	// work is what is left of the record's budget of elements,
	// templates and values: templates may refer to each other, so the
	// output of a record is not bounded by its size.
	work int
	// chunkWork is what is left of the chunk's budget (maxChunkWork).
	chunkWork int
}

// maxWork bounds the elements, templates and values one record expands
// to, maxChunkWork those of all records of a chunk; real records stay in
// the hundreds.
const (
	maxWork      = 50_000
	maxChunkWork = 400_000
)

var errTooComplex = fmt.Errorf("record expands to more than %d nodes", maxWork)

// spend takes one unit of the record's budget.
func (p *parser) spend() error { return p.spendBytes(0) }

// spendBytes takes one unit and one more per 64 bytes of text decoded,
// so that a record repeating a long value through templates runs out.
func (p *parser) spendBytes(n int) error {
	if p.work -= 1 + n/64; p.work < 0 {
		return errTooComplex
	}
	return nil
}

func (p *parser) need(off, n int) error {
	if off < 0 || n < 0 || off+n > len(p.chunk) || off+n < off {
		return errShort
	}
	return nil
}

func (p *parser) u8(off int) (byte, error) {
	if err := p.need(off, 1); err != nil {
		return 0, err
	}
	return p.chunk[off], nil
}

func (p *parser) u16(off int) (int, error) {
	if err := p.need(off, 2); err != nil {
		return 0, err
	}
	return int(binary.LittleEndian.Uint16(p.chunk[off:])), nil
}

func (p *parser) u32(off int) (int, error) {
	if err := p.need(off, 4); err != nil {
		return 0, err
	}
	v := binary.LittleEndian.Uint32(p.chunk[off:])
	if v > chunkSize {
		// Every offset and size inside a chunk is below its size; a
		// larger one is damage, and stays clear of int overflow.
		return 0, fmt.Errorf("offset or size %d beyond the chunk", v)
	}
	return int(v), nil
}

// record parses the BinXML of one event record in [off, end) and renders
// it.
func (p *parser) record(off, end int) (*Object, error) {
	p.work = min(maxWork, p.chunkWork)
	defer func() { p.chunkWork -= min(maxWork, p.chunkWork) - max(p.work, 0) }()
	nodes, _, err := p.fragment(off, end, nil, 0)
	if err != nil {
		return nil, err
	}
	var root *element
	for _, n := range nodes {
		if e, ok := n.(*element); ok {
			if root != nil {
				return nil, errors.New("more than one root element")
			}
			root = e
		}
	}
	if root == nil {
		return nil, errors.New("no root element")
	}
	obj := &Object{}
	obj.add(root.name, render(root))
	return obj, nil
}

// fragment reads nodes from off until an end-of-fragment token or end.
// It returns the nodes and the offset after them.
func (p *parser) fragment(off, end int, subs []value, depth int) ([]any, int, error) {
	if depth > p.maxDepth {
		return nil, off, fmt.Errorf("nesting deeper than %d", p.maxDepth)
	}
	var out []any
	for off < end {
		tok, err := p.u8(off)
		if err != nil {
			return nil, off, err
		}
		switch tok &^ tokFlag {
		case tokEOF:
			return out, off + 1, nil
		case tokFragmentHead:
			off += 4
		case tokTemplate:
			nodes, next, err := p.template(off, end, depth+1)
			if err != nil {
				return nil, off, err
			}
			out = append(out, nodes...)
			off = next
		case tokOpenStart:
			el, next, err := p.element(off, end, subs, depth+1)
			if err != nil {
				return nil, off, err
			}
			if el != nil {
				out = append(out, el)
			}
			off = next
		case tokValue, tokSubst, tokOptSubst, tokCharRef, tokEntityRef, tokCDATA:
			// Text at fragment level (an embedded fragment holding
			// only a value).
			parts, next, err := p.text(off, end, subs, depth)
			if err != nil {
				return nil, off, err
			}
			out = append(out, parts...)
			off = next
		default:
			return nil, off, fmt.Errorf("unexpected token 0x%02x at offset %d", tok, off)
		}
	}
	return out, off, nil
}

// name reads the name structure at nameOff. When the name is stored
// inline (nameOff is the current offset) it is skipped and the offset
// after it returned; otherwise off is returned unchanged.
func (p *parser) name(nameOff, off int) (string, int, error) {
	s, ok := p.names[nameOff]
	if !ok {
		n, err := p.u16(nameOff + 6)
		if err != nil {
			return "", off, err
		}
		if err := p.need(nameOff+8, 2*n); err != nil {
			return "", off, err
		}
		s = utf16String(p.chunk[nameOff+8 : nameOff+8+2*n])
		if s == "" {
			return "", off, fmt.Errorf("empty name at offset %d", nameOff)
		}
		p.names[nameOff] = s
	}
	if nameOff == off {
		n, _ := p.u16(nameOff + 6)
		off += 8 + 2*n + 2
	}
	return s, off, nil
}

// element reads an element starting at its open-start token. It returns
// nil (and no error) for an element that a template dropped.
func (p *parser) element(off, end int, subs []value, depth int) (*element, int, error) {
	if depth > p.maxDepth {
		return nil, off, fmt.Errorf("nesting deeper than %d", p.maxDepth)
	}
	if err := p.spend(); err != nil {
		return nil, off, err
	}
	tok := p.chunk[off]
	// token, dependency id (2), data size (4), name offset (4)
	if err := p.need(off, 11); err != nil {
		return nil, off, err
	}
	nameOff, err := p.u32(off + 7)
	if err != nil {
		return nil, off, err
	}
	off += 11
	el := &element{}
	el.name, off, err = p.name(nameOff, off)
	if err != nil {
		return nil, off, err
	}
	if tok&tokFlag != 0 {
		if _, err := p.u32(off); err != nil { // attribute list size
			return nil, off, err
		}
		off += 4
		for {
			t, err := p.u8(off)
			if err != nil {
				return nil, off, err
			}
			if t&^tokFlag != tokAttribute {
				break
			}
			aOff, err := p.u32(off + 1)
			if err != nil {
				return nil, off, err
			}
			var a attribute
			a.name, off, err = p.name(aOff, off+5)
			if err != nil {
				return nil, off, err
			}
			a.parts, off, err = p.text(off, end, subs, depth)
			if err != nil {
				return nil, off, err
			}
			if len(a.parts) > 0 {
				el.attrs = append(el.attrs, a)
			}
		}
	}
	t, err := p.u8(off)
	if err != nil {
		return nil, off, err
	}
	switch t {
	case tokCloseEmpty:
		return el, off + 1, nil
	case tokCloseStart:
		off++
	default:
		return nil, off, fmt.Errorf("element %s: unexpected token 0x%02x at offset %d", el.name, t, off)
	}
	for {
		if off >= end {
			return nil, off, fmt.Errorf("element %s not closed", el.name)
		}
		t, err := p.u8(off)
		if err != nil {
			return nil, off, err
		}
		switch t &^ tokFlag {
		case tokEndElement:
			return el, off + 1, nil
		case tokOpenStart:
			child, next, err := p.element(off, end, subs, depth+1)
			if err != nil {
				return nil, off, err
			}
			if child != nil {
				el.content = append(el.content, child)
			}
			off = next
		case tokTemplate:
			nodes, next, err := p.template(off, end, depth+1)
			if err != nil {
				return nil, off, err
			}
			el.content = append(el.content, nodes...)
			off = next
		case tokPITarget:
			// <?target data?>: skipped; target name offset (4), then
			// an optional PI data token.
			nOff, err := p.u32(off + 1)
			if err != nil {
				return nil, off, err
			}
			if _, off, err = p.name(nOff, off+5); err != nil {
				return nil, off, err
			}
			if t2, _ := p.u8(off); t2 == tokPIData {
				_, off, err = p.utf16Counted(off + 1)
				if err != nil {
					return nil, off, err
				}
			}
		default:
			parts, next, err := p.text(off, end, subs, depth)
			if err != nil {
				return nil, off, err
			}
			if next == off {
				return nil, off, fmt.Errorf("element %s: unexpected token 0x%02x at offset %d", el.name, t, off)
			}
			el.content = append(el.content, parts...)
			off = next
		}
	}
}

// text reads consecutive value, substitution, character reference,
// entity reference and CDATA tokens and returns their parts: typed
// scalars, or nodes of embedded BinXML.
func (p *parser) text(off, end int, subs []value, depth int) ([]any, int, error) {
	var parts []any
	for off < end {
		t, err := p.u8(off)
		if err != nil {
			return nil, off, err
		}
		if err := p.spend(); err != nil {
			return nil, off, err
		}
		switch t &^ tokFlag {
		case tokValue:
			if vt, err := p.u8(off + 1); err != nil {
				return nil, off, err
			} else if vt != typeString {
				return nil, off, fmt.Errorf("value token of type 0x%02x, want a string", vt)
			}
			var s string
			s, off, err = p.utf16Counted(off + 2)
			if err != nil {
				return nil, off, err
			}
			parts = append(parts, s)
		case tokCDATA:
			var s string
			s, off, err = p.utf16Counted(off + 1)
			if err != nil {
				return nil, off, err
			}
			parts = append(parts, s)
		case tokCharRef:
			c, err := p.u16(off + 1)
			if err != nil {
				return nil, off, err
			}
			parts = append(parts, string(rune(c))) // #nosec G115 -- c is a 16-bit code unit
			off += 3
		case tokEntityRef:
			nOff, err := p.u32(off + 1)
			if err != nil {
				return nil, off, err
			}
			var n string
			n, off, err = p.name(nOff, off+5)
			if err != nil {
				return nil, off, err
			}
			parts = append(parts, entity(n))
		case tokSubst, tokOptSubst:
			if err := p.need(off, 4); err != nil {
				return nil, off, err
			}
			id := int(binary.LittleEndian.Uint16(p.chunk[off+1:]))
			off += 4
			if id >= len(subs) {
				return nil, off, fmt.Errorf("substitution %d of %d", id, len(subs))
			}
			v := subs[id]
			if v.typ == typeNull || v.end == v.off {
				// An empty value of a plain substitution still
				// gives the element its (empty) text; an optional
				// one drops it.
				if t&^tokFlag == tokSubst && v.typ == typeString {
					parts = append(parts, "")
				}
				continue
			}
			if v.typ == typeBinXML {
				nodes, _, err := p.fragment(v.off, v.end, nil, depth+1)
				if err != nil {
					return nil, off, fmt.Errorf("embedded BinXML: %w", err)
				}
				parts = append(parts, nodes...)
				continue
			}
			if err := p.spendBytes(v.end - v.off); err != nil {
				return nil, off, err
			}
			x, err := decodeValue(v.typ, p.chunk[v.off:v.end])
			if err != nil {
				return nil, off, fmt.Errorf("substitution %d: %w", id, err)
			}
			if x != nil {
				parts = append(parts, x)
			}
		default:
			return parts, off, nil
		}
	}
	return parts, off, nil
}

// utf16Counted reads a string with a 16-bit character count.
func (p *parser) utf16Counted(off int) (string, int, error) {
	n, err := p.u16(off)
	if err != nil {
		return "", off, err
	}
	if err := p.need(off+2, 2*n); err != nil {
		return "", off, err
	}
	if err := p.spendBytes(2 * n); err != nil {
		return "", off, err
	}
	return utf16String(p.chunk[off+2 : off+2+2*n]), off + 2 + 2*n, nil
}

// template reads a template instance: its definition (inline, or at an
// earlier offset of the chunk) and its substitution values, and returns
// the definition's nodes with the values substituted.
func (p *parser) template(off, end int, depth int) ([]any, int, error) {
	if depth > p.maxDepth {
		return nil, off, fmt.Errorf("nesting deeper than %d", p.maxDepth)
	}
	if err := p.spend(); err != nil {
		return nil, off, err
	}
	// token, unknown (1), template id (4), definition offset (4)
	defOff, err := p.u32(off + 6)
	if err != nil {
		return nil, off, err
	}
	off += 10
	// Definition: next definition offset (4), GUID (16), data size (4),
	// then the BinXML fragment.
	size, err := p.u32(defOff + 20)
	if err != nil {
		return nil, off, err
	}
	defStart := defOff + 24
	if err := p.need(defStart, size); err != nil {
		return nil, off, err
	}
	if defOff == off {
		off = defStart + size
	}
	n, err := p.u32(off)
	if err != nil {
		return nil, off, err
	}
	if n > maxSubstitutions {
		return nil, off, fmt.Errorf("%d substitution values (limit %d)", n, maxSubstitutions)
	}
	off += 4
	if err := p.need(off, 4*n); err != nil {
		return nil, off, err
	}
	subs := make([]value, n)
	pos := off + 4*n
	for i := range subs {
		sz := int(binary.LittleEndian.Uint16(p.chunk[off+4*i:]))
		subs[i] = value{typ: p.chunk[off+4*i+2], off: pos, end: pos + sz}
		pos += sz
	}
	if err := p.need(off+4*n, pos-(off+4*n)); err != nil || pos > end {
		return nil, off, errShort
	}
	nodes, _, err := p.fragment(defStart, defStart+size, subs, depth)
	if err != nil {
		return nil, off, fmt.Errorf("template at offset %d: %w", defOff, err)
	}
	return nodes, pos, nil
}

func entity(name string) string {
	switch name {
	case "amp":
		return "&"
	case "lt":
		return "<"
	case "gt":
		return ">"
	case "quot":
		return `"`
	case "apos":
		return "'"
	}
	return "&" + name + ";"
}

// utf16String decodes UTF-16LE, dropping trailing NULs.
func utf16String(b []byte) string {
	u := make([]uint16, len(b)/2)
	for i := range u {
		u[i] = binary.LittleEndian.Uint16(b[2*i:])
	}
	for len(u) > 0 && u[len(u)-1] == 0 {
		u = u[:len(u)-1]
	}
	s := string(utf16.Decode(u))
	if strings.IndexByte(s, 0) >= 0 {
		s = strings.ReplaceAll(s, "\x00", "")
	}
	return s
}
