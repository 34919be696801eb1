package intel

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// MISP events and feeds.
//
// A MISP event export is {"Event": {...}} (a bare event object is also
// read). A MISP feed directory holds manifest.json (event uuid -> event
// summary), one <uuid>.json event file per manifest entry, and optionally
// hashes.csv (one "<md5 of value>,<event uuid>" line per attribute), which
// is checked for form and counted.
//
// Only attributes with to_ids set become indicators; deleted attributes
// are skipped. Attribute types map as in mispTypes; composite types
// ("filename|md5", "domain|ip", "ip-dst|port") give one indicator per
// usable part. Tags tlp:* (event, then attribute) set the TLP; other tags
// are kept as tags. Attributes inside MISP objects are read the same way.

// mispTypes maps MISP attribute types to indicator types; composite types
// list one type per "|"-separated part ("" = part ignored).
var mispTypes = map[string][]Type{
	"ip-src":          {TypeIPv4},
	"ip-dst":          {TypeIPv4},
	"ip-src|port":     {TypeIPv4, ""},
	"ip-dst|port":     {TypeIPv4, ""},
	"domain":          {TypeDomain},
	"hostname":        {TypeDomain},
	"domain|ip":       {TypeDomain, TypeIPv4},
	"hostname|port":   {TypeDomain, ""},
	"url":             {TypeURL},
	"md5":             {TypeMD5},
	"sha1":            {TypeSHA1},
	"sha256":          {TypeSHA256},
	"filename":        {TypeFilename},
	"filename|md5":    {TypeFilename, TypeMD5},
	"filename|sha1":   {TypeFilename, TypeSHA1},
	"filename|sha256": {TypeFilename, TypeSHA256},
	"email":           {TypeEmail},
	"email-src":       {TypeEmail},
	"email-dst":       {TypeEmail},
}

var mispUUIDRE = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

type mispTag struct {
	Name string `json:"name"`
}

type mispAttribute struct {
	Type      string    `json:"type"`
	Value     string    `json:"value"`
	UUID      string    `json:"uuid"`
	ToIDs     any       `json:"to_ids"`
	Deleted   any       `json:"deleted"`
	Timestamp any       `json:"timestamp"`
	FirstSeen string    `json:"first_seen"`
	LastSeen  string    `json:"last_seen"`
	Tag       []mispTag `json:"Tag"`
}

type mispEvent struct {
	UUID      string          `json:"uuid"`
	Info      string          `json:"info"`
	Date      string          `json:"date"`
	Timestamp any             `json:"timestamp"`
	Tag       []mispTag       `json:"Tag"`
	Attribute []mispAttribute `json:"Attribute"`
	Object    []struct {
		Name      string          `json:"name"`
		UUID      string          `json:"uuid"`
		Attribute []mispAttribute `json:"Attribute"`
	} `json:"Object"`
}

// mispBool reads true, "1", 1 and "true".
func mispBool(v any) bool {
	switch v := v.(type) {
	case bool:
		return v
	case float64:
		return v != 0
	case string:
		return v == "1" || strings.EqualFold(v, "true")
	}
	return false
}

// mispTime reads a unix-seconds timestamp given as a string or a number.
func mispTime(v any) time.Time {
	var n int64
	switch v := v.(type) {
	case float64:
		n = int64(v)
	case string:
		var err error
		if n, err = strconv.ParseInt(v, 10, 64); err != nil {
			return time.Time{}
		}
	default:
		return time.Time{}
	}
	if n <= 0 {
		return time.Time{}
	}
	return time.Unix(n, 0).UTC()
}

// mispEventParser reads one MISP event JSON export.
type mispEventParser struct{}

func (mispEventParser) Format() string { return "misp-event" }

func (mispEventParser) Detect(head []byte) bool {
	return firstNonSpace(head) == '{' && (bytes.Contains(head, []byte(`"Event"`)) || bytes.Contains(head, []byte(`"Attribute"`)))
}

func (mispEventParser) Parse(ctx context.Context, r io.Reader, opts ParseOptions) (*Feed, error) {
	opts = opts.withDefaults()
	feed := newFeed("misp-event")
	if err := parseMISPEvent(ctx, r, opts, feed, "event", nil); err != nil {
		return nil, err
	}
	return feed, nil
}

func parseMISPEvent(ctx context.Context, r io.Reader, opts ParseOptions, feed *Feed, where string, extraTags []mispTag) error {
	data, err := readBounded(r, opts.MaxBytes)
	if err != nil {
		return fmt.Errorf("misp: %w", err)
	}
	var wrap struct {
		Event *mispEvent `json:"Event"`
	}
	if err := json.Unmarshal(data, &wrap); err != nil {
		return fmt.Errorf("misp: %s: %w", where, err)
	}
	ev := wrap.Event
	if ev == nil {
		ev = new(mispEvent)
		if err := json.Unmarshal(data, ev); err != nil {
			return fmt.Errorf("misp: %s: %w", where, err)
		}
		if ev.Attribute == nil && ev.Object == nil && ev.UUID == "" {
			return fmt.Errorf("misp: %s: no Event object", where)
		}
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("misp: %w", err)
	}
	feed.Counts["events"]++
	base := Indicator{Confidence: opts.Confidence, TLP: opts.TLP, Source: opts.Source}
	if t, err := time.Parse("2006-01-02", ev.Date); err == nil {
		base.FirstSeen = t
	}
	base.LastSeen = mispTime(ev.Timestamp)
	base.TLP, base.Tags = applyMISPTags(base.TLP, nil, append(append([]mispTag(nil), extraTags...), ev.Tag...))
	evRef := "misp-event:" + ev.UUID
	n := 0
	add := func(a mispAttribute, at string) {
		n++
		feed.Counts[a.Type]++
		if n > MaxFeedObjects {
			return
		}
		where := fmt.Sprintf("%s %s attribute %s", where, ev.UUID, at)
		if mispBool(a.Deleted) {
			return
		}
		if !mispBool(a.ToIDs) {
			feed.Counts["not-to-ids"]++
			return
		}
		types, ok := mispTypes[a.Type]
		if !ok {
			feed.Counts["unmapped-type"]++
			return
		}
		parts := []string{a.Value}
		if len(types) > 1 {
			parts = strings.SplitN(a.Value, "|", len(types))
			if len(parts) != len(types) {
				feed.reject(where, a.UUID, "%s value %q has no '|' part", a.Type, clip(a.Value))
				return
			}
		}
		in := base
		in.Refs = []string{evRef}
		if a.UUID != "" {
			in.Refs = append(in.Refs, "misp-attribute:"+a.UUID)
		}
		if t := mispTime(a.Timestamp); !t.IsZero() {
			in.LastSeen = t
		}
		if t := parseTime(a.FirstSeen); !t.IsZero() {
			in.FirstSeen = t
		}
		if t := parseTime(a.LastSeen); !t.IsZero() {
			in.LastSeen = t
		}
		in.TLP, in.Tags = applyMISPTags(in.TLP, in.Tags, a.Tag)
		for i, t := range types {
			if t == "" {
				continue
			}
			v := strings.TrimSpace(parts[i])
			if t == TypeIPv4 {
				if strings.Contains(v, "/") {
					t = TypeCIDR
				} else if strings.Contains(v, ":") {
					t = TypeIPv6
				}
			}
			nv, err := Normalize(t, v)
			if err != nil {
				feed.reject(where, a.UUID, "%s: %v", a.Type, err)
				continue
			}
			x := in
			x.Type, x.Value = t, nv
			feed.Indicators = append(feed.Indicators, x)
		}
	}
	for i, a := range ev.Attribute {
		add(a, orIndex(a.UUID, i))
	}
	for i, o := range ev.Object {
		for j, a := range o.Attribute {
			add(a, fmt.Sprintf("object %s/%s", orIndex(o.UUID, i), orIndex(a.UUID, j)))
		}
	}
	if n > MaxFeedObjects {
		return fmt.Errorf("misp: %s: %w: more than %d attributes", where, ErrTooLarge, MaxFeedObjects)
	}
	return nil
}

func orIndex(uuid string, i int) string {
	if uuid != "" {
		return uuid
	}
	return "#" + strconv.Itoa(i)
}

func applyMISPTags(tlp TLP, tags []string, add []mispTag) (TLP, []string) {
	tags = append([]string(nil), tags...)
	for _, t := range add {
		if strings.HasPrefix(strings.ToLower(t.Name), "tlp:") {
			if v, ok := ParseTLP(t.Name); ok {
				tlp = v
				continue
			}
		}
		if t.Name != "" {
			tags = append(tags, t.Name)
		}
	}
	return tlp, tags
}

// ParseMISPFeedDir reads a MISP feed directory: manifest.json, the event
// files it lists and hashes.csv when present. A missing or malformed event
// file is a rejection; a missing or malformed manifest is an error.
func ParseMISPFeedDir(ctx context.Context, dir string, opts ParseOptions) (*Feed, error) {
	opts = opts.withDefaults()
	if opts.Source == "" {
		opts.Source = filepath.Base(dir)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("misp feed: %w", err)
	}
	defer root.Close()
	mf, err := root.Open("manifest.json")
	if err != nil {
		return nil, fmt.Errorf("misp feed: %w", err)
	}
	data, err := readBounded(mf, opts.MaxBytes)
	_ = mf.Close()
	if err != nil {
		return nil, fmt.Errorf("misp feed: manifest.json: %w", err)
	}
	var manifest map[string]struct {
		Info string    `json:"info"`
		Tag  []mispTag `json:"Tag"`
	}
	if err := json.Unmarshal(data, &manifest); err != nil {
		return nil, fmt.Errorf("misp feed: manifest.json: %w", err)
	}
	feed := newFeed("misp-feed")
	uuids := make([]string, 0, len(manifest))
	for u := range manifest {
		uuids = append(uuids, u)
	}
	sort.Strings(uuids)
	for _, u := range uuids {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("misp feed: %w", err)
		}
		where := "manifest.json " + u
		if !mispUUIDRE.MatchString(u) {
			feed.reject(where, u, "manifest key is not a UUID")
			continue
		}
		f, err := root.Open(u + ".json")
		if err != nil {
			feed.reject(where, u, "event file: %v", err)
			continue
		}
		err = parseMISPEvent(ctx, f, opts, feed, u+".json", manifest[u].Tag)
		_ = f.Close()
		if err != nil {
			feed.reject(where, u, "%v", err)
		}
	}
	if hf, err := root.Open("hashes.csv"); err == nil {
		readMISPHashes(hf, opts.MaxBytes, feed)
		_ = hf.Close()
	}
	return feed, nil
}

func readMISPHashes(r io.Reader, max int64, feed *Feed) {
	sc := bufio.NewScanner(io.LimitReader(r, max))
	sc.Buffer(make([]byte, 4096), 4096)
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		if text == "" {
			continue
		}
		h, u, ok := strings.Cut(text, ",")
		if !ok || len(h) != 32 || !isHex(h) || !mispUUIDRE.MatchString(strings.TrimSpace(u)) {
			feed.reject(fmt.Sprintf("hashes.csv line %d", line), "", "want <md5>,<event uuid>")
			continue
		}
		feed.Counts["hashes.csv"]++
	}
	if err := sc.Err(); err != nil {
		feed.reject(fmt.Sprintf("hashes.csv line %d", line+1), "", "%v", err)
	}
}
