package web

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// goMessageRE finds message IDs written as string literals in the Go
// sources: dotted lower-case names in one of the catalogue's namespaces.
var goMessageRE = regexp.MustCompile(`"((?:app|nav|signin|home|account|dash|assets|contacts|services|tenants|users|teams|tokens|audit|coming|error|flash|form|common|pager|kind|role|importance|freq|contact_kind|team_kind|area|upcoming|policy|finding|finding_about|vulns|vstate|severity|layer|vevent|reports|report_kind|disc|run_status|events|alerts|astatus|alevel|range|channels|comp|mark|verdict)\.[a-z0-9_.]*[a-z0-9_])"`)

// usedMessageIDs lists every message ID the UI can ask for: literal IDs in
// templates and Go code, and the IDs it builds from data.
func usedMessageIDs(t *testing.T) []string {
	t.Helper()
	var ids []string
	err := fs.WalkDir(templateFS, "templates", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		src, err := templateFS.ReadFile(p)
		if err != nil {
			return err
		}
		ids = append(ids, templateMessageIDs(src)...)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	goFiles, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range goFiles {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range goMessageRE.FindAllStringSubmatch(string(src), -1) {
			ids = append(ids, m[1])
		}
	}
	ids = append(ids, dynamicMessageIDs(areas())...)
	slices.Sort(ids)
	return slices.Compact(ids)
}

func TestMessagesDefinedInEveryLanguage(t *testing.T) {
	c, err := loadCatalog() // fails when the files' ID sets differ
	if err != nil {
		t.Fatal(err)
	}
	used := usedMessageIDs(t)
	if len(used) < 100 {
		t.Fatalf("only %d message IDs found in use; the scan is broken", len(used))
	}
	for _, id := range used {
		for _, l := range locales() {
			if _, ok := c.text[l.Tag][id]; !ok {
				t.Errorf("message %q is used but missing from %s.json", id, l.Tag)
			}
		}
	}
	// Every defined message is used, so the catalogue does not rot.
	for id := range c.text[defaultLocale] {
		if !slices.Contains(used, id) {
			t.Errorf("message %q is defined but never used", id)
		}
	}
}

// TestMessagePlaceholdersMatch checks a translation uses the same
// {{.Name}} placeholders as the English text.
func TestMessagePlaceholdersMatch(t *testing.T) {
	c, err := loadCatalog()
	if err != nil {
		t.Fatal(err)
	}
	ph := regexp.MustCompile(`\{\{\s*\.(\w+)\s*\}\}`)
	names := func(s string) []string {
		var out []string
		for _, m := range ph.FindAllStringSubmatch(s, -1) {
			out = append(out, m[1])
		}
		slices.Sort(out)
		return slices.Compact(out)
	}
	for id, en := range c.text[defaultLocale] {
		for _, l := range locales() {
			if got, want := names(c.text[l.Tag][id]), names(en); !slices.Equal(got, want) {
				t.Errorf("%s %q has placeholders %v, English has %v", l.Tag, id, got, want)
			}
		}
	}
}

// TestChineseIsTranslated catches English text left in the Chinese file.
func TestChineseIsTranslated(t *testing.T) {
	c, err := loadCatalog()
	if err != nil {
		t.Fatal(err)
	}
	han := regexp.MustCompile(`\p{Han}`)
	for id, zh := range c.text["zh-CN"] {
		if !han.MatchString(zh) {
			t.Errorf("zh-CN %q has no Chinese text: %q", id, zh)
		}
	}
}

func TestAcceptLanguage(t *testing.T) {
	c, err := loadCatalog()
	if err != nil {
		t.Fatal(err)
	}
	for in, want := range map[string]string{
		"":                            "en",
		"zh-CN,zh;q=0.9,en;q=0.8":     "zh-CN",
		"zh":                          "zh-CN",
		"en-US,en;q=0.9":              "en",
		"fr-FR":                       "en",
		"de;q=0.9, zh-Hans-CN;q=0.95": "zh-CN",
		"garbage;;;q=x":               "en",
	} {
		if got := c.match(in); got != want {
			t.Errorf("match(%q) = %q, want %q", in, got, want)
		}
	}
}
