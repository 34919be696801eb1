package vuln

import (
	"encoding/xml"
	"strings"
)

// maxXMLDepth bounds the nesting xmlText follows inside one element.
const maxXMLDepth = 256

// xmlText decodes an element holding mixed content (XCCDF descriptions
// with XHTML markup, fix scripts) as its plain text: the character data of
// the element and all its children, with each line trimmed and blank lines
// dropped. Href keeps the element's href attribute (XCCDF references).
type xmlText struct {
	Href string
	Text string
}

func (t *xmlText) UnmarshalXML(d *xml.Decoder, start xml.StartElement) error {
	for _, a := range start.Attr {
		if a.Name.Local == "href" {
			t.Href = strings.TrimSpace(a.Value)
		}
	}
	var b strings.Builder
	depth := 1
	for depth > 0 {
		tok, err := d.Token()
		if err != nil {
			return err
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			if depth++; depth > maxXMLDepth {
				return errorString("elements nested too deeply")
			}
			if tok.Name.Local == "br" || tok.Name.Local == "p" || tok.Name.Local == "li" {
				b.WriteByte('\n')
			}
		case xml.EndElement:
			depth--
		case xml.CharData:
			b.Write(tok)
		}
	}
	t.Text = tidyText(b.String())
	return nil
}

// tidyText trims every line of s and drops blank ones.
func tidyText(s string) string {
	lines := strings.Split(s, "\n")
	out := lines[:0]
	for _, l := range lines {
		if l = strings.Join(strings.Fields(l), " "); l != "" {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// firstText returns the first non-empty text of ts.
func firstText(ts []xmlText) string {
	for _, t := range ts {
		if t.Text != "" {
			return t.Text
		}
	}
	return ""
}
