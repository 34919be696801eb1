// Package thehive owns reading case exports of TheHive 4 and TheHive 5 into
// a neutral form that Vigil's incident service imports.
//
// TheHive has no single case file format, so Parse accepts the shapes teams
// get when they migrate: one case object, a JSON array of them, or NDJSON
// (one case per line). A case may carry its tasks (each with its logs) and
// its observables nested under it, or be wrapped as {"case": {...},
// "observables": [...], "tasks": [...]} the way TheHive 5's case import
// answer is shaped.
//
// Fields read, by version (names as they appear in the JSON):
//
// TheHive 4 (API v0, thehive4py 1.x models): case _id or id, caseId, title,
// description, severity (1..4), tlp (0 white, 1 green, 2 amber, 3 red),
// pap (0..3), tags, flag, status (Open, Resolved, Deleted),
// resolutionStatus (TruePositive, FalsePositive, Indeterminate, Other,
// Duplicated), impactStatus, summary, owner, createdBy, createdAt,
// updatedAt, startDate, endDate, customFields as an object
// {name: {<type>: value, order: n}}; tasks[] with title, group,
// description, status (Waiting, InProgress, Completed, Cancel), owner,
// startDate, endDate, order and logs[] (message, startDate, owner,
// attachment); artifacts[] with dataType, data, message, tlp, ioc, sighted,
// tags, startDate and attachment (name, hashes, size, contentType).
//
// TheHive 5 (API v1, thehive4py 2.x OutputCase, OutputTask, OutputTaskLog,
// OutputObservable): case _id, _type "Case", number, title, description,
// severity, tlp (TLP 2.0: 0 clear, 1 green, 2 amber, 3 amber+strict,
// 4 red), tlpLabel, pap, papLabel, tags, flag, status (New, InProgress,
// TruePositive, FalsePositive, Indeterminate, Other, Duplicated), stage,
// impactStatus, summary, assignee, _createdBy, _createdAt, _updatedAt,
// startDate, endDate, customFields as a list of {name, type, value,
// order}; tasks[] with title, group, description, status, assignee,
// startDate, endDate, dueDate, order and logs[] (message, date, owner);
// observables[] with dataType, data, message, startDate, tlp, pap, ioc,
// sighted, tags and attachment.
//
// Severity 1..4 maps to low, medium, high, critical; TLP and PAP numbers
// map to names (the label wins when the export has one); dataType maps to
// Vigil's observable types. Input is bounded (see Limits) and every error
// names the record and the JSON path of the bad value.
package thehive

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Versions an export is recognised as.
const (
	Version4 = "thehive4"
	Version5 = "thehive5"
)

// Case is one imported case.
type Case struct {
	Version     string // Version4 or Version5
	ID          string // TheHive's _id
	Number      int64  // caseId (4) or number (5)
	Title       string
	Description string // markdown as written in TheHive
	// Severity is TheHive's number (1 low .. 4 critical), SeverityName its
	// name (low, medium, high, critical).
	Severity     int
	SeverityName string
	// TLP and PAP are TheHive's numbers; the names follow Vigil's store:
	// TLP clear, green, amber, amber+strict, red; PAP white, green, amber, red.
	TLP     int
	TLPName string
	PAP     int
	PAPName string
	Tags    []string
	Flag    bool
	Status  string // open or closed (deleted for a TheHive 4 deleted case)
	// Resolution is set for closed cases: true_positive, false_positive,
	// duplicate, indeterminate or other. RawStatus keeps TheHive's words.
	Resolution   string
	RawStatus    string
	ImpactStatus string // TheHive's impactStatus as written
	Summary      string
	Assignee     string
	CreatedBy    string
	// Dates are milliseconds since the Unix epoch, 0 when absent.
	CreatedAt    int64
	UpdatedAt    int64
	StartDate    int64
	EndDate      int64
	CustomFields []CustomField
	Tasks        []Task
	Observables  []Observable
}

// Task is one task of a case with its logs.
type Task struct {
	ID          string
	Title       string
	Group       string
	Description string
	Status      string // Waiting, InProgress, Completed, Cancel as in TheHive
	Assignee    string
	Order       int
	StartDate   int64
	EndDate     int64
	DueDate     int64
	Logs        []Log
}

// Log is one entry of a task's log.
type Log struct {
	Message    string
	Date       int64
	Owner      string
	Attachment string // attachment file name, if any
}

// Observable is one observable (TheHive 4: artifact) of a case.
type Observable struct {
	// DataType is TheHive's type as written; Type is Vigil's (ip, domain,
	// url, hash, email, file, user, process, other).
	DataType  string
	Type      string
	Data      string // for file observables, the attachment's file name
	Message   string
	IOC       bool
	Sighted   bool
	Tags      []string
	TLP       int
	StartDate int64
	// Hashes are the attachment's hashes for file observables.
	Hashes []string
}

// CustomField is one custom field of a case, its value rendered as text.
type CustomField struct {
	Name  string
	Type  string // string, integer, float, boolean, date, ... as in TheHive
	Value string
	Order int
}

// Limits bounds an import. Zero fields take the defaults given in each
// field's comment.
type Limits struct {
	MaxBytes       int64 // whole input; default 64 MiB
	MaxCases       int   // default 10,000
	MaxTasks       int   // per case; default 1,000
	MaxLogs        int   // per task; default 1,000
	MaxObservables int   // per case; default 100,000
	MaxTags        int   // per case or observable; default 500
	MaxCustom      int   // custom fields per case; default 500
	MaxText        int   // bytes in one description, message or value; default 1 MiB
}

func (l Limits) withDefaults() Limits {
	d := Limits{MaxBytes: 64 << 20, MaxCases: 10_000, MaxTasks: 1_000, MaxLogs: 1_000,
		MaxObservables: 100_000, MaxTags: 500, MaxCustom: 500, MaxText: 1 << 20}
	if l.MaxBytes > 0 {
		d.MaxBytes = l.MaxBytes
	}
	if l.MaxCases > 0 {
		d.MaxCases = l.MaxCases
	}
	if l.MaxTasks > 0 {
		d.MaxTasks = l.MaxTasks
	}
	if l.MaxLogs > 0 {
		d.MaxLogs = l.MaxLogs
	}
	if l.MaxObservables > 0 {
		d.MaxObservables = l.MaxObservables
	}
	if l.MaxTags > 0 {
		d.MaxTags = l.MaxTags
	}
	if l.MaxCustom > 0 {
		d.MaxCustom = l.MaxCustom
	}
	if l.MaxText > 0 {
		d.MaxText = l.MaxText
	}
	return d
}

// maxShort bounds identifiers, titles, names and tags.
const maxShort = 4096

// ErrTooLarge is returned when the input passes Limits.MaxBytes.
var ErrTooLarge = errors.New("thehive: export too large")

// Parse reads a TheHive 4 or 5 export: one case object, an array of cases,
// or NDJSON with one case per line.
func Parse(r io.Reader, lim Limits) ([]Case, error) {
	lim = lim.withDefaults()
	data, err := io.ReadAll(io.LimitReader(r, lim.MaxBytes+1))
	if err != nil {
		return nil, fmt.Errorf("thehive: read: %w", err)
	}
	if int64(len(data)) > lim.MaxBytes {
		return nil, fmt.Errorf("%w: more than %d bytes", ErrTooLarge, lim.MaxBytes)
	}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	if !utf8.Valid(data) {
		return nil, errors.New("thehive: input is not valid UTF-8")
	}
	p := &parser{lim: lim}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var records []any
	var offsets []int64
	for {
		start := dec.InputOffset()
		var v any
		if err := dec.Decode(&v); err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			return nil, fmt.Errorf("thehive: %s: %w", position(data, dec.InputOffset()), err)
		}
		records = append(records, v)
		offsets = append(offsets, start)
		if len(records) > lim.MaxCases {
			return nil, fmt.Errorf("thehive: more than %d cases", lim.MaxCases)
		}
	}
	if len(records) == 0 {
		return nil, errors.New("thehive: no case in input")
	}
	if arr, ok := records[0].([]any); ok && len(records) == 1 {
		if len(arr) > lim.MaxCases {
			return nil, fmt.Errorf("thehive: %d cases, limit %d", len(arr), lim.MaxCases)
		}
		out := make([]Case, 0, len(arr))
		for i, v := range arr {
			c, err := p.record(v, fmt.Sprintf("$[%d]", i))
			if err != nil {
				return nil, fmt.Errorf("thehive: case %d: %w", i+1, err)
			}
			out = append(out, c)
		}
		return out, nil
	}
	out := make([]Case, 0, len(records))
	for i, v := range records {
		c, err := p.record(v, "$")
		if err != nil {
			if len(records) == 1 {
				return nil, fmt.Errorf("thehive: %w", err)
			}
			return nil, fmt.Errorf("thehive: record %d (%s): %w", i+1, position(data, offsets[i]), err)
		}
		out = append(out, c)
	}
	return out, nil
}

// position gives "line L" for a byte offset.
func position(data []byte, off int64) string {
	if off > int64(len(data)) {
		off = int64(len(data))
	}
	// The decoder's offset sits after the separating whitespace; count
	// the lines up to the first non-space byte from it.
	for off < int64(len(data)) && (data[off] == '\n' || data[off] == '\r' || data[off] == ' ' || data[off] == '\t') {
		off++
	}
	return "line " + strconv.Itoa(1+bytes.Count(data[:off], []byte("\n")))
}

type parser struct {
	lim Limits
}

// pathError is a problem at a JSON path.
type pathError struct {
	path, msg string
}

func (e *pathError) Error() string { return e.path + ": " + e.msg }

func errAt(path, format string, args ...any) error {
	return &pathError{path: path, msg: fmt.Sprintf(format, args...)}
}

// obj reads fields of one JSON object, tracking its path.
type obj struct {
	m    map[string]any
	path string
	p    *parser
}

func (p *parser) object(v any, path string) (obj, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return obj{}, errAt(path, "want an object, got %s", kind(v))
	}
	return obj{m: m, path: path, p: p}, nil
}

func kind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case map[string]any:
		return "an object"
	case []any:
		return "an array"
	case string:
		return "a string"
	case json.Number:
		return "a number"
	case bool:
		return "a boolean"
	}
	return fmt.Sprintf("%T", v)
}

func (o obj) has(key string) bool {
	v, ok := o.m[key]
	return ok && v != nil
}

func (o obj) at(key string) string { return o.path + "." + key }

// str reads a string of at most limit bytes; absent or null gives "".
func (o obj) str(key string, limit int) (string, error) {
	v, ok := o.m[key]
	if !ok || v == nil {
		return "", nil
	}
	s, ok := v.(string)
	if !ok {
		return "", errAt(o.at(key), "want a string, got %s", kind(v))
	}
	if len(s) > limit {
		return "", errAt(o.at(key), "%d bytes, limit %d", len(s), limit)
	}
	return s, nil
}

// first reads the first present string of several keys.
func (o obj) first(limit int, keys ...string) (string, error) {
	for _, k := range keys {
		if o.has(k) {
			return o.str(k, limit)
		}
	}
	return "", nil
}

// num reads an integer; TheHive exports sometimes write numbers as strings.
func (o obj) num(key string) (int64, error) {
	v, ok := o.m[key]
	if !ok || v == nil {
		return 0, nil
	}
	var text string
	switch v := v.(type) {
	case json.Number:
		text = v.String()
	case string:
		text = strings.TrimSpace(v)
	default:
		return 0, errAt(o.at(key), "want a number, got %s", kind(v))
	}
	n, err := strconv.ParseInt(text, 10, 64)
	if err != nil {
		f, ferr := strconv.ParseFloat(text, 64)
		if ferr != nil || f != float64(int64(f)) {
			return 0, errAt(o.at(key), "%q is not an integer", text)
		}
		n = int64(f)
	}
	return n, nil
}

// date reads milliseconds since the epoch, refusing values outside the years
// 1970..9999.
func (o obj) date(key string) (int64, error) {
	n, err := o.num(key)
	if err != nil {
		return 0, err
	}
	if n < 0 || n > 253402300799999 {
		return 0, errAt(o.at(key), "%d is not a date in milliseconds", n)
	}
	return n, nil
}

func (o obj) boolean(key string) (bool, error) {
	v, ok := o.m[key]
	if !ok || v == nil {
		return false, nil
	}
	b, ok := v.(bool)
	if !ok {
		return false, errAt(o.at(key), "want a boolean, got %s", kind(v))
	}
	return b, nil
}

func (o obj) list(key string, limit int) ([]any, error) {
	v, ok := o.m[key]
	if !ok || v == nil {
		return nil, nil
	}
	l, ok := v.([]any)
	if !ok {
		return nil, errAt(o.at(key), "want an array, got %s", kind(v))
	}
	if len(l) > limit {
		return nil, errAt(o.at(key), "%d entries, limit %d", len(l), limit)
	}
	return l, nil
}

func (o obj) tags(key string) ([]string, error) {
	l, err := o.list(key, o.p.lim.MaxTags)
	if err != nil {
		return nil, err
	}
	var out []string
	for i, v := range l {
		s, ok := v.(string)
		if !ok {
			return nil, errAt(fmt.Sprintf("%s[%d]", o.at(key), i), "want a string, got %s", kind(v))
		}
		if len(s) > maxShort {
			return nil, errAt(fmt.Sprintf("%s[%d]", o.at(key), i), "%d bytes, limit %d", len(s), maxShort)
		}
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out, nil
}

// record reads one top-level record: a case, or {"case": ..., ...}.
func (p *parser) record(v any, path string) (Case, error) {
	o, err := p.object(v, path)
	if err != nil {
		return Case{}, err
	}
	if inner, ok := o.m["case"].(map[string]any); ok && !o.has("title") {
		// Siblings of "case" hold its observables and tasks.
		return p.caseFrom(obj{m: inner, path: o.at("case"), p: p}, &o)
	}
	return p.caseFrom(o, nil)
}

var severityNames = map[int]string{1: "low", 2: "medium", 3: "high", 4: "critical"}

// caseFrom reads a case; extra, when set, holds its tasks and observables.
func (p *parser) caseFrom(o obj, extra *obj) (Case, error) {
	c := Case{Version: detect(o)}
	var err error
	str := func(dst *string, limit int, keys ...string) {
		if err == nil {
			*dst, err = o.first(limit, keys...)
		}
	}
	str(&c.ID, maxShort, "_id", "id")
	str(&c.Title, maxShort, "title")
	str(&c.Description, p.lim.MaxText, "description")
	str(&c.RawStatus, maxShort, "status")
	str(&c.ImpactStatus, maxShort, "impactStatus")
	str(&c.Summary, p.lim.MaxText, "summary")
	str(&c.Assignee, maxShort, "assignee", "owner")
	str(&c.CreatedBy, maxShort, "_createdBy", "createdBy")
	var resolution, stage, tlpLabel, papLabel string
	str(&resolution, maxShort, "resolutionStatus")
	str(&stage, maxShort, "stage")
	str(&tlpLabel, maxShort, "tlpLabel")
	str(&papLabel, maxShort, "papLabel")
	if err != nil {
		return Case{}, err
	}
	if strings.TrimSpace(c.Title) == "" {
		return Case{}, errAt(o.at("title"), "a case needs a title")
	}
	dates := []struct {
		dst  *int64
		keys []string
	}{{&c.CreatedAt, []string{"_createdAt", "createdAt"}}, {&c.UpdatedAt, []string{"_updatedAt", "updatedAt"}},
		{&c.StartDate, []string{"startDate"}}, {&c.EndDate, []string{"endDate"}}}
	for _, d := range dates {
		for _, k := range d.keys {
			if o.has(k) {
				if *d.dst, err = o.date(k); err != nil {
					return Case{}, err
				}
				break
			}
		}
	}
	num := "number"
	if !o.has(num) {
		num = "caseId"
	}
	if c.Number, err = o.num(num); err != nil {
		return Case{}, err
	}
	sev, err := o.num("severity")
	if err != nil {
		return Case{}, err
	}
	if sev == 0 {
		sev = 2 // TheHive's default
	}
	if severityNames[int(sev)] == "" {
		return Case{}, errAt(o.at("severity"), "%d: want 1 (low) to 4 (critical)", sev)
	}
	c.Severity, c.SeverityName = int(sev), severityNames[int(sev)]
	if c.TLP, c.TLPName, err = tlp(o, "tlp", tlpLabel, c.Version); err != nil {
		return Case{}, err
	}
	if c.PAP, c.PAPName, err = pap(o, "pap", papLabel); err != nil {
		return Case{}, err
	}
	if c.Tags, err = o.tags("tags"); err != nil {
		return Case{}, err
	}
	if c.Flag, err = o.boolean("flag"); err != nil {
		return Case{}, err
	}
	c.Status, c.Resolution = status(c.RawStatus, resolution, stage)
	if resolution != "" {
		c.RawStatus += "/" + resolution
	}
	if c.CustomFields, err = p.customFields(o); err != nil {
		return Case{}, err
	}
	src := func(keys ...string) obj {
		if extra != nil {
			for _, k := range keys {
				if o.has(k) {
					return o
				}
			}
			return *extra
		}
		return o
	}
	if c.Tasks, err = p.tasks(src("tasks")); err != nil {
		return Case{}, err
	}
	if c.Observables, err = p.observables(src("observables", "artifacts"), c.Version); err != nil {
		return Case{}, err
	}
	return c, nil
}

// detect tells TheHive 5's API v1 objects from TheHive 4's: v1 has
// "_type": "Case", "number", "stage" and "assignee"; v0 has "caseId",
// "owner" and "resolutionStatus".
func detect(o obj) string {
	if t, _ := o.m["_type"].(string); t == "Case" {
		return Version5
	}
	for _, k := range []string{"number", "stage", "assignee", "tlpLabel", "_createdAt"} {
		if o.has(k) {
			return Version5
		}
	}
	return Version4
}

var (
	tlpNames4 = []string{"clear", "green", "amber", "red"}
	tlpNames5 = []string{"clear", "green", "amber", "amber+strict", "red"}
	papNames  = []string{"white", "green", "amber", "red"}
)

// tlp maps a TLP number to a name. TheHive 4 used TLP 1.0 (3 is red);
// TheHive 5 uses TLP 2.0 (3 is amber+strict, 4 red). A label, when
// present, decides.
func tlp(o obj, key, label, version string) (int, string, error) {
	n, err := o.num(key)
	if err != nil {
		return 0, "", err
	}
	if !o.has(key) {
		n = 2 // TheHive's default: amber
	}
	if l := labelName(label); l != "" {
		for i, name := range tlpNames5 {
			if name == l {
				return i, l, nil
			}
		}
		if l == "white" {
			return 0, "clear", nil
		}
		return 0, "", errAt(o.at("tlpLabel"), "unknown TLP %q", label)
	}
	names := tlpNames4
	if version == Version5 {
		names = tlpNames5
	}
	if n < 0 || n >= int64(len(names)) {
		return 0, "", errAt(o.at(key), "TLP %d: want 0 to %d", n, len(names)-1)
	}
	return int(n), names[n], nil
}

func pap(o obj, key, label string) (int, string, error) {
	n, err := o.num(key)
	if err != nil {
		return 0, "", err
	}
	if !o.has(key) {
		n = 2
	}
	if l := labelName(label); l != "" {
		if l == "clear" {
			l = "white"
		}
		for i, name := range papNames {
			if name == l {
				return i, l, nil
			}
		}
		return 0, "", errAt(o.at("papLabel"), "unknown PAP %q", label)
	}
	if n < 0 || n >= int64(len(papNames)) {
		return 0, "", errAt(o.at(key), "PAP %d: want 0 to 3", n)
	}
	return int(n), papNames[n], nil
}

// labelName turns "TLP:AMBER+STRICT" or "Amber" into "amber+strict" or "amber".
func labelName(l string) string {
	l = strings.ToLower(strings.TrimSpace(l))
	l = strings.TrimPrefix(l, "tlp:")
	l = strings.TrimPrefix(l, "pap:")
	return strings.TrimSpace(l)
}

// status maps TheHive 4's status+resolutionStatus or TheHive 5's status
// (and stage) to open/closed and a resolution.
func status(st, resolution, stage string) (string, string) {
	res := map[string]string{"TruePositive": "true_positive", "FalsePositive": "false_positive",
		"Duplicated": "duplicate", "Indeterminate": "indeterminate", "Other": "other"}
	switch st {
	case "Open", "New", "InProgress", "":
		if stage == "Closed" {
			return "closed", res[resolution]
		}
		return "open", ""
	case "Resolved":
		return "closed", res[resolution]
	case "Deleted":
		return "deleted", ""
	}
	if r, ok := res[st]; ok {
		return "closed", r
	}
	// A custom TheHive 5 status: its stage says whether it is closed.
	if stage == "Closed" {
		return "closed", "other"
	}
	return "open", ""
}

func (p *parser) customFields(o obj) ([]CustomField, error) {
	v, ok := o.m["customFields"]
	if !ok || v == nil {
		return nil, nil
	}
	var out []CustomField
	switch cf := v.(type) {
	case map[string]any:
		// TheHive 4 (and the v5 input form): {name: {<type>: value, order: n}}.
		if len(cf) > p.lim.MaxCustom {
			return nil, errAt(o.at("customFields"), "%d fields, limit %d", len(cf), p.lim.MaxCustom)
		}
		names := slices.Sorted(maps.Keys(cf))
		for _, name := range names {
			fv := cf[name]
			path := o.at("customFields") + "." + name
			if len(name) > maxShort {
				return nil, errAt(o.at("customFields"), "field name of %d bytes, limit %d", len(name), maxShort)
			}
			f := CustomField{Name: name}
			switch fv := fv.(type) {
			case map[string]any:
				fo := obj{m: fv, path: path, p: p}
				order, err := fo.num("order")
				if err != nil {
					return nil, err
				}
				f.Order = int(order)
				for _, k := range slices.Sorted(maps.Keys(fv)) {
					val := fv[k]
					if k == "order" || val == nil {
						continue
					}
					f.Type = k
					s, err := valueText(val, path+"."+k, p.lim.MaxText)
					if err != nil {
						return nil, err
					}
					f.Value = s
				}
			default:
				s, err := valueText(fv, path, p.lim.MaxText)
				if err != nil {
					return nil, err
				}
				f.Value = s
			}
			out = append(out, f)
		}
	case []any:
		// TheHive 5: [{name, type, value, order}].
		if len(cf) > p.lim.MaxCustom {
			return nil, errAt(o.at("customFields"), "%d fields, limit %d", len(cf), p.lim.MaxCustom)
		}
		for i, fv := range cf {
			path := fmt.Sprintf("%s[%d]", o.at("customFields"), i)
			fo, err := p.object(fv, path)
			if err != nil {
				return nil, err
			}
			var f CustomField
			if f.Name, err = fo.str("name", maxShort); err != nil {
				return nil, err
			}
			if f.Name == "" {
				return nil, errAt(fo.at("name"), "a custom field needs a name")
			}
			if f.Type, err = fo.str("type", maxShort); err != nil {
				return nil, err
			}
			order, err := fo.num("order")
			if err != nil {
				return nil, err
			}
			f.Order = int(order)
			if fo.has("value") {
				if f.Value, err = valueText(fo.m["value"], fo.at("value"), p.lim.MaxText); err != nil {
					return nil, err
				}
			}
			out = append(out, f)
		}
	default:
		return nil, errAt(o.at("customFields"), "want an object or an array, got %s", kind(v))
	}
	sortFields(out)
	return out, nil
}

func sortFields(fs []CustomField) {
	slices.SortStableFunc(fs, func(a, b CustomField) int {
		if a.Order != b.Order {
			return cmp.Compare(a.Order, b.Order)
		}
		return strings.Compare(a.Name, b.Name)
	})
}

// valueText renders a custom field value as text; lists are joined by ", ".
func valueText(v any, path string, limit int) (string, error) {
	var s string
	switch v := v.(type) {
	case nil:
	case string:
		s = v
	case json.Number:
		s = v.String()
	case bool:
		s = strconv.FormatBool(v)
	case []any:
		parts := make([]string, 0, len(v))
		for i, e := range v {
			t, err := valueText(e, fmt.Sprintf("%s[%d]", path, i), limit)
			if err != nil {
				return "", err
			}
			parts = append(parts, t)
		}
		s = strings.Join(parts, ", ")
	default:
		return "", errAt(path, "want a plain value, got %s", kind(v))
	}
	if len(s) > limit {
		return "", errAt(path, "%d bytes, limit %d", len(s), limit)
	}
	return s, nil
}

func (p *parser) tasks(o obj) ([]Task, error) {
	l, err := o.list("tasks", p.lim.MaxTasks)
	if err != nil {
		return nil, err
	}
	out := make([]Task, 0, len(l))
	for i, v := range l {
		to, err := p.object(v, fmt.Sprintf("%s[%d]", o.at("tasks"), i))
		if err != nil {
			return nil, err
		}
		var t Task
		for _, f := range []struct {
			dst   *string
			limit int
			keys  []string
		}{{&t.ID, maxShort, []string{"_id", "id"}}, {&t.Title, maxShort, []string{"title"}},
			{&t.Group, maxShort, []string{"group"}}, {&t.Description, p.lim.MaxText, []string{"description"}},
			{&t.Status, maxShort, []string{"status"}}, {&t.Assignee, maxShort, []string{"assignee", "owner"}}} {
			if *f.dst, err = to.first(f.limit, f.keys...); err != nil {
				return nil, err
			}
		}
		if strings.TrimSpace(t.Title) == "" {
			return nil, errAt(to.at("title"), "a task needs a title")
		}
		order, err := to.num("order")
		if err != nil {
			return nil, err
		}
		t.Order = int(order)
		for _, d := range []struct {
			dst *int64
			key string
		}{{&t.StartDate, "startDate"}, {&t.EndDate, "endDate"}, {&t.DueDate, "dueDate"}} {
			if *d.dst, err = to.date(d.key); err != nil {
				return nil, err
			}
		}
		if t.Logs, err = p.logs(to); err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, nil
}

func (p *parser) logs(o obj) ([]Log, error) {
	l, err := o.list("logs", p.lim.MaxLogs)
	if err != nil {
		return nil, err
	}
	out := make([]Log, 0, len(l))
	for i, v := range l {
		lo, err := p.object(v, fmt.Sprintf("%s[%d]", o.at("logs"), i))
		if err != nil {
			return nil, err
		}
		var g Log
		if g.Message, err = lo.str("message", p.lim.MaxText); err != nil {
			return nil, err
		}
		if g.Owner, err = lo.first(maxShort, "owner", "_createdBy", "createdBy"); err != nil {
			return nil, err
		}
		key := "date"
		if !lo.has(key) {
			key = "startDate"
		}
		if g.Date, err = lo.date(key); err != nil {
			return nil, err
		}
		if g.Attachment, err = attachmentName(lo); err != nil {
			return nil, err
		}
		out = append(out, g)
	}
	return out, nil
}

// attachmentName reads attachment.name (TheHive 4 logs and artifacts) or
// attachments[0].name (TheHive 5 logs).
func attachmentName(o obj) (string, error) {
	if o.has("attachment") {
		ao, err := o.p.object(o.m["attachment"], o.at("attachment"))
		if err != nil {
			return "", err
		}
		return ao.str("name", maxShort)
	}
	l, err := o.list("attachments", o.p.lim.MaxTags)
	if err != nil || len(l) == 0 {
		return "", err
	}
	ao, err := o.p.object(l[0], o.at("attachments")+"[0]")
	if err != nil {
		return "", err
	}
	return ao.str("name", maxShort)
}

func (p *parser) observables(o obj, version string) ([]Observable, error) {
	key := "observables"
	if !o.has(key) {
		key = "artifacts"
	}
	l, err := o.list(key, p.lim.MaxObservables)
	if err != nil {
		return nil, err
	}
	out := make([]Observable, 0, len(l))
	for i, v := range l {
		oo, err := p.object(v, fmt.Sprintf("%s[%d]", o.at(key), i))
		if err != nil {
			return nil, err
		}
		var ob Observable
		if ob.DataType, err = oo.str("dataType", maxShort); err != nil {
			return nil, err
		}
		if ob.DataType == "" {
			return nil, errAt(oo.at("dataType"), "an observable needs a dataType")
		}
		ob.Type = VigilType(ob.DataType)
		if ob.Data, err = oo.str("data", p.lim.MaxText); err != nil {
			return nil, err
		}
		if ob.Message, err = oo.str("message", p.lim.MaxText); err != nil {
			return nil, err
		}
		if ob.IOC, err = oo.boolean("ioc"); err != nil {
			return nil, err
		}
		if ob.Sighted, err = oo.boolean("sighted"); err != nil {
			return nil, err
		}
		if ob.Tags, err = oo.tags("tags"); err != nil {
			return nil, err
		}
		if ob.StartDate, err = oo.date("startDate"); err != nil {
			return nil, err
		}
		var label string
		if label, err = oo.str("tlpLabel", maxShort); err != nil {
			return nil, err
		}
		if ob.TLP, _, err = tlp(oo, "tlp", label, version); err != nil {
			return nil, err
		}
		if oo.has("attachment") {
			ao, err := p.object(oo.m["attachment"], oo.at("attachment"))
			if err != nil {
				return nil, err
			}
			name, err := ao.str("name", maxShort)
			if err != nil {
				return nil, err
			}
			if ob.Data == "" {
				ob.Data = name
			}
			if ob.Hashes, err = ao.tags("hashes"); err != nil {
				return nil, err
			}
		}
		if strings.TrimSpace(ob.Data) == "" {
			return nil, errAt(oo.at("data"), "an observable needs data or an attachment")
		}
		out = append(out, ob)
	}
	return out, nil
}

// VigilType maps a TheHive dataType to Vigil's observable type: ip, domain,
// url, hash, email, file, user, process or other.
func VigilType(dataType string) string {
	switch strings.ToLower(strings.TrimSpace(dataType)) {
	case "ip", "ipv4", "ipv6", "ip-src", "ip-dst":
		return "ip"
	case "domain", "fqdn", "hostname":
		return "domain"
	case "url", "uri":
		return "url"
	case "hash", "md5", "sha1", "sha256", "sha512":
		return "hash"
	case "mail", "email", "mail-address":
		return "email"
	case "file", "filename":
		return "file"
	case "user", "username", "user-account", "account":
		return "user"
	case "process", "process-name":
		return "process"
	}
	// user-agent, mail_subject, uri_path, registry, regexp,
	// autonomous-system, other and custom types.
	return "other"
}

// Time turns TheHive's epoch milliseconds into a UTC time; 0 gives the zero
// time.
func Time(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms).UTC()
}
