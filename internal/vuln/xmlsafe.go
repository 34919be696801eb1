package vuln

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
)

// ErrXMLEntities is returned for XML documents that declare entities or
// reference an external DTD; scan reports never need them, and refusing
// them rules out external-entity (XXE) and entity-expansion attacks.
var ErrXMLEntities = errors.New("XML document type declarations with entities or external DTDs are refused")

// newXMLDecoder returns a strict decoder over data after checking the
// prolog: a bare "<!DOCTYPE name>" is allowed, anything declaring entities
// or naming an external DTD (SYSTEM/PUBLIC) is refused. encoding/xml never
// fetches external entities and rejects undefined ones; this check makes
// the refusal explicit and early.
func newXMLDecoder(format string, data []byte) (*xml.Decoder, error) {
	pre := xml.NewDecoder(bytes.NewReader(data))
	pre.Strict = true
	for {
		off := pre.InputOffset()
		tok, err := pre.RawToken()
		if err == io.EOF {
			return nil, errAt(format, data, off, errors.New("not an XML document: no root element"))
		}
		if err != nil {
			return nil, xmlError(format, data, pre, err)
		}
		if d, ok := tok.(xml.Directive); ok {
			up := bytes.ToUpper(d)
			if bytes.HasPrefix(up, []byte("DOCTYPE")) &&
				(bytes.Contains(up, []byte("<!ENTITY")) || bytes.Contains(up, []byte("SYSTEM")) || bytes.Contains(up, []byte("PUBLIC")) || bytes.ContainsRune(up, '[')) {
				return nil, errAt(format, data, off, ErrXMLEntities)
			}
			if bytes.HasPrefix(up, []byte("ENTITY")) {
				return nil, errAt(format, data, off, ErrXMLEntities)
			}
		}
		if _, ok := tok.(xml.StartElement); ok {
			break
		}
	}
	dec := xml.NewDecoder(bytes.NewReader(data))
	dec.Strict = true
	return dec, nil
}

// xmlError locates an encoding/xml error: syntax errors carry a line,
// others get the decoder's offset.
func xmlError(format string, data []byte, dec *xml.Decoder, err error) *ParseError {
	var syn *xml.SyntaxError
	if errors.As(err, &syn) {
		msg := syn.Msg
		if msg == "unexpected EOF" {
			msg = "truncated XML: unexpected end of input"
		}
		return &ParseError{Format: format, Line: syn.Line, Offset: dec.InputOffset(), Err: errors.New(msg)}
	}
	if err == io.ErrUnexpectedEOF || err == io.EOF {
		return errAt(format, data, int64(len(data)), errors.New("truncated XML: unexpected end of input"))
	}
	return errAt(format, data, dec.InputOffset(), fmt.Errorf("%w", err))
}

// decodeXML checks the prolog and decodes the document into v, requiring
// the root element to be root.
func decodeXML(format string, data []byte, root string, v any) error {
	dec, err := newXMLDecoder(format, data)
	if err != nil {
		return err
	}
	for {
		off := dec.InputOffset()
		tok, err := dec.Token()
		if err != nil {
			return xmlError(format, data, dec, err)
		}
		se, ok := tok.(xml.StartElement)
		if !ok {
			continue
		}
		if se.Name.Local != root {
			return errAt(format, data, off, fmt.Errorf("root element is <%s>, want <%s>", se.Name.Local, root))
		}
		if err := dec.DecodeElement(v, &se); err != nil {
			return xmlError(format, data, dec, err)
		}
		return nil
	}
}
