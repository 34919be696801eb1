package evtx

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"unicode"
)

// Object is a JSON object that keeps its keys in document order.
type Object struct {
	keys []string
	vals map[string]any
}

// Keys returns the keys in order.
func (o *Object) Keys() []string { return o.keys }

// Get returns the value under k.
func (o *Object) Get(k string) (any, bool) {
	v, ok := o.vals[k]
	return v, ok
}

// add sets k; a repeated key turns its value into a list of the values.
func (o *Object) add(k string, v any) {
	if o.vals == nil {
		o.vals = make(map[string]any)
	}
	old, ok := o.vals[k]
	if !ok {
		o.keys = append(o.keys, k)
		o.vals[k] = v
		return
	}
	if l, isList := old.(repeated); isList {
		o.vals[k] = append(l, v)
		return
	}
	o.vals[k] = repeated{old, v}
}

// repeated holds the values of an element name seen several times.
type repeated []any

// MarshalJSON writes the object with its keys in order.
func (o *Object) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, k := range o.keys {
		if i > 0 {
			b.WriteByte(',')
		}
		kb, err := json.Marshal(k)
		if err != nil {
			return nil, err
		}
		b.Write(kb)
		b.WriteByte(':')
		var v any = o.vals[k]
		if r, ok := v.(repeated); ok {
			v = []any(r)
		}
		vb, err := json.Marshal(v)
		if err != nil {
			return nil, err
		}
		b.Write(vb)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// render turns an element into the JSON value evtx tools give it:
// null when empty, its text (typed when it is a single value) when it has
// neither attributes nor child elements, else an object with
// "#attributes", the children by name and "#text". A <Data Name="X">
// child is keyed by X.
func render(e *element) any {
	var children []*element
	var text []any
	for _, c := range e.content {
		if ce, ok := c.(*element); ok {
			children = append(children, ce)
		} else {
			text = append(text, c)
		}
	}
	if len(e.attrs) == 0 && len(children) == 0 {
		return textValue(text)
	}
	obj := &Object{}
	if len(e.attrs) > 0 {
		attrs := &Object{}
		for _, a := range e.attrs {
			attrs.add(a.name, textValue(a.parts))
		}
		obj.add("#attributes", attrs)
	}
	for _, c := range children {
		if c.name == "Data" && len(c.attrs) == 1 && c.attrs[0].name == "Name" {
			if name := textString(c.attrs[0].parts); name != "" {
				var inner []any
				for _, x := range c.content {
					if _, ok := x.(*element); !ok {
						inner = append(inner, x)
					}
				}
				obj.add(name, textValue(inner))
				continue
			}
		}
		obj.add(c.name, render(c))
	}
	if len(text) > 0 {
		obj.add("#text", textValue(text))
	}
	return obj
}

// textValue is nil for no parts, the part itself for one, and the parts
// joined as text for several.
func textValue(parts []any) any {
	switch len(parts) {
	case 0:
		return nil
	case 1:
		if s, ok := parts[0].(string); ok {
			return strings.TrimRightFunc(s, unicode.IsSpace)
		}
		if _, ok := parts[0].(*element); !ok {
			return parts[0]
		}
	}
	return strings.TrimRightFunc(textString(parts), unicode.IsSpace)
}

func textString(parts []any) string {
	var b strings.Builder
	for _, p := range parts {
		b.WriteString(scalarString(p))
	}
	return b.String()
}

func scalarString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case int64:
		return strconv.FormatInt(x, 10)
	case uint64:
		return strconv.FormatUint(x, 10)
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	case []any:
		s := make([]string, len(x))
		for i, e := range x {
			s[i] = scalarString(e)
		}
		return strings.Join(s, ",")
	case nil:
		return ""
	}
	return ""
}
