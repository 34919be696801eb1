package notify

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"strings"
	"text/template"
	"time"
)

//go:embed templates/*.tmpl
var templateFS embed.FS

// Languages with templates.
const (
	LangEN = "en"
	LangZH = "zh-CN"
)

// Bounds on template data, so a preview request or a noisy alert cannot
// produce an unbounded message.
const (
	MaxTemplateDataBytes = 256 << 10
	maxFields            = 50
	maxLines             = 200
	maxItems             = 200
	maxValueBytes        = 8 << 10
)

// Field is one labelled value shown in a notification.
type Field struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// Item is one entry of a list: a digest entry, an advisory's CVE, an asset.
type Item struct {
	Title    string   `json:"title"`
	Severity Severity `json:"severity,omitempty"`
	Note     string   `json:"note,omitempty"`
	Link     string   `json:"link,omitempty"`
}

// TemplateData is what templates render. Every string in it is user or
// event content: it is only ever passed as data, never parsed as a template.
type TemplateData struct {
	Tenant   string    `json:"tenant,omitempty"`
	Title    string    `json:"title"`
	Severity Severity  `json:"severity,omitempty"`
	Summary  string    `json:"summary,omitempty"`
	Source   string    `json:"source,omitempty"`
	Time     time.Time `json:"time,omitzero"`
	Fields   []Field   `json:"fields,omitempty"`
	Items    []Item    `json:"items,omitempty"`
	// Lines are raw log lines or evidence, shown verbatim.
	Lines  []string `json:"lines,omitempty"`
	Link   string   `json:"link,omitempty"`
	AckURL string   `json:"ack_url,omitempty"`
}

func (d *TemplateData) check() error {
	switch {
	case len(d.Fields) > maxFields:
		return fmt.Errorf("more than %d fields", maxFields)
	case len(d.Lines) > maxLines:
		return fmt.Errorf("more than %d lines", maxLines)
	case len(d.Items) > maxItems:
		return fmt.Errorf("more than %d items", maxItems)
	case d.Severity != "" && d.Severity.Rank() == 0:
		return fmt.Errorf("unknown severity %q", d.Severity)
	}
	for _, it := range d.Items {
		if it.Severity != "" && it.Severity.Rank() == 0 {
			return fmt.Errorf("item %q: unknown severity %q", truncate(it.Title, 40), it.Severity)
		}
	}
	long := func(s string) bool { return len(s) > maxValueBytes }
	if long(d.Title) || long(d.Summary) || long(d.Tenant) || long(d.Source) || long(d.Link) || long(d.AckURL) {
		return fmt.Errorf("a value is longer than %d bytes", maxValueBytes)
	}
	return nil
}

// Rendered is one notification in every body format.
type Rendered struct {
	Subject  string `json:"subject"`
	Text     string `json:"text"`
	Markdown string `json:"markdown"`
	HTML     string `json:"html"`
}

// Templates holds the parsed embedded templates for every language.
type Templates struct {
	text map[string]*template.Template
	md   map[string]*template.Template
	html map[string]*htmltemplate.Template
}

var severityZH = map[Severity]string{
	SeverityInfo: "信息", SeverityLow: "低危", SeverityMedium: "中危", SeverityHigh: "高危", SeverityCritical: "严重",
}

func funcs() map[string]any {
	return map[string]any{"sevzh": func(s Severity) string {
		if v, ok := severityZH[s]; ok {
			return v
		}
		return string(s)
	}}
}

// NewTemplates parses the embedded templates and checks that every kind has
// a subject, text, Markdown and HTML form in every language.
func NewTemplates() (*Templates, error) {
	t := &Templates{text: map[string]*template.Template{}, md: map[string]*template.Template{}, html: map[string]*htmltemplate.Template{}}
	for _, lang := range []string{LangEN, LangZH} {
		var err error
		if t.text[lang], err = template.New(lang).Funcs(funcs()).Option("missingkey=error").ParseFS(templateFS, "templates/"+lang+".text.tmpl"); err != nil {
			return nil, fmt.Errorf("notify templates: %w", err)
		}
		if t.md[lang], err = template.New(lang).Funcs(funcs()).Option("missingkey=error").ParseFS(templateFS, "templates/"+lang+".md.tmpl"); err != nil {
			return nil, fmt.Errorf("notify templates: %w", err)
		}
		if t.html[lang], err = htmltemplate.New(lang).Funcs(funcs()).Option("missingkey=error").ParseFS(templateFS, "templates/"+lang+".html.tmpl"); err != nil {
			return nil, fmt.Errorf("notify templates: %w", err)
		}
		for _, k := range Kinds() {
			for _, name := range []string{string(k) + ".subject", string(k) + ".text"} {
				if t.text[lang].Lookup(name) == nil {
					return nil, fmt.Errorf("notify templates: %s: missing %q", lang, name)
				}
			}
			if t.md[lang].Lookup(string(k)+".md") == nil || t.html[lang].Lookup(string(k)+".html") == nil {
				return nil, fmt.Errorf("notify templates: %s: missing markdown or html for %q", lang, k)
			}
		}
	}
	return t, nil
}

// NormalizeLang maps a language tag to a template language: zh, zh-CN,
// zh-Hans… to zh-CN, everything else to en.
func NormalizeLang(lang string) string {
	if strings.HasPrefix(strings.ToLower(lang), "zh") {
		return LangZH
	}
	return LangEN
}

// ErrUnknownKind is returned (wrapped) for a kind with no templates.
var ErrUnknownKind = errors.New("unknown notification kind")

// Render renders data as a notification of kind in lang. Each format is
// rendered to a buffer first, so a failure gives an error, never a partial
// message.
func (t *Templates) Render(kind Kind, lang string, data TemplateData) (Rendered, error) {
	if !kind.Valid() {
		return Rendered{}, fmt.Errorf("%w: %q", ErrUnknownKind, kind)
	}
	if err := data.check(); err != nil {
		return Rendered{}, fmt.Errorf("template data: %w", err)
	}
	lang = NormalizeLang(lang)
	var r Rendered
	var buf bytes.Buffer
	exec := func(name string, f func() error) (string, error) {
		buf.Reset()
		if err := f(); err != nil {
			return "", fmt.Errorf("render %s %s: %w", lang, name, err)
		}
		return buf.String(), nil
	}
	var err error
	k := string(kind)
	plain := data
	if r.Subject, err = exec(k+".subject", func() error { return t.text[lang].ExecuteTemplate(&buf, k+".subject", plain) }); err != nil {
		return Rendered{}, err
	}
	r.Subject = truncate(strings.Join(strings.Fields(r.Subject), " "), MaxSubjectBytes)
	if r.Text, err = exec(k+".text", func() error { return t.text[lang].ExecuteTemplate(&buf, k+".text", plain) }); err != nil {
		return Rendered{}, err
	}
	escaped := markdownData(data)
	if r.Markdown, err = exec(k+".md", func() error { return t.md[lang].ExecuteTemplate(&buf, k+".md", escaped) }); err != nil {
		return Rendered{}, err
	}
	if r.HTML, err = exec(k+".html", func() error { return t.html[lang].ExecuteTemplate(&buf, k+".html", plain) }); err != nil {
		return Rendered{}, err
	}
	return r, nil
}

// markdownData returns a copy of d with every user string escaped for
// Markdown and links reduced to safe http(s) targets, so the Markdown
// templates cannot forget to escape a value.
func markdownData(d TemplateData) TemplateData {
	e := EscapeMarkdown
	oneLine := func(s string) string { return e(strings.Join(strings.Fields(s), " ")) }
	out := TemplateData{
		Tenant: oneLine(d.Tenant), Title: oneLine(d.Title), Severity: Severity(e(string(d.Severity))),
		Summary: e(d.Summary), Source: oneLine(d.Source), Time: d.Time,
		Link: linkOrEmpty(d.Link), AckURL: linkOrEmpty(d.AckURL),
	}
	for _, f := range d.Fields {
		out.Fields = append(out.Fields, Field{Name: oneLine(f.Name), Value: oneLine(f.Value)})
	}
	for _, it := range d.Items {
		out.Items = append(out.Items, Item{Title: oneLine(it.Title), Severity: Severity(e(string(it.Severity))), Note: oneLine(it.Note), Link: linkOrEmpty(it.Link)})
	}
	for _, l := range d.Lines {
		out.Lines = append(out.Lines, oneLine(l))
	}
	return out
}

func linkOrEmpty(s string) string {
	if s == "" {
		return ""
	}
	if u := markdownURL(s); u != "#" {
		return u
	}
	return ""
}

// Message renders data and returns a message ready for the dispatcher.
func (t *Templates) Message(id string, kind Kind, lang string, data TemplateData) (Message, error) {
	r, err := t.Render(kind, lang, data)
	if err != nil {
		return Message{}, err
	}
	return Message{ID: id, Tenant: data.Tenant, Kind: kind, Severity: data.Severity, Subject: r.Subject,
		Text: r.Text, Markdown: r.Markdown, HTML: r.HTML, Link: data.Link, AckURL: data.AckURL}, nil
}

// Preview renders JSON template data for the UI and the CLI; the data is
// bounded and decoded strictly.
func (t *Templates) Preview(kind Kind, lang string, data []byte) (Rendered, error) {
	if len(data) > MaxTemplateDataBytes {
		return Rendered{}, fmt.Errorf("preview data: larger than %d bytes", MaxTemplateDataBytes)
	}
	var d TemplateData
	if err := decodeStrict(data, &d); err != nil {
		return Rendered{}, fmt.Errorf("preview data: %w", err)
	}
	return t.Render(kind, lang, d)
}

// Preview parses the embedded templates and renders JSON data with them.
func Preview(kind Kind, lang string, data []byte) (Rendered, error) {
	t, err := NewTemplates()
	if err != nil {
		return Rendered{}, err
	}
	return t.Preview(kind, lang, data)
}
