package web

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/vigil-sec/vigil/internal/store"
)

// fieldBlock returns the markup of the form field whose control has
// id="f-<name>", from its opening <div class="field..."> to its </div>.
func fieldBlock(t *testing.T, body, name string) string {
	t.Helper()
	at := strings.Index(body, `id="f-`+name+`"`)
	if at < 0 {
		t.Fatalf("no field %q on the page:\n%s", name, body)
	}
	start := strings.LastIndex(body[:at], `<div class="field`)
	end := strings.Index(body[at:], "</div>")
	if start < 0 || end < 0 {
		t.Fatalf("field %q is not in a field block", name)
	}
	return body[start : at+end]
}

// TestDomainErrorsTranslatedOnTheirField submits asset forms the UI lets
// through but the asset service refuses, in Chinese: the service's error
// is shown in Chinese on the field it names, and only there.
func TestDomainErrorsTranslatedOnTheirField(t *testing.T) {
	t.Parallel()
	ui := newTestUI(t)
	admin := ui.as(t, ui.Admin)
	admin.header.Set("Accept-Language", "zh-CN,zh;q=0.9")
	target := "/t/" + ui.TenantA.Slug + "/assets"
	for _, c := range []struct {
		name  string
		form  url.Values
		field string
		want  string
	}{
		{"bad domain", url.Values{"kind": {"domain"}, "name": {"官网"}, "address": {"<b>not a domain</b>"}, "importance": {"3"}},
			"address", "“&lt;b&gt;not a domain&lt;/b&gt;”不是有效的域名。"},
		{"bad tag", url.Values{"kind": {"host"}, "name": {"web-02"}, "tags": {"ok, bad!tag"}, "importance": {"4"}},
			"tags", "标签“bad!tag”无效：最多 64 个字符，只能包含字母、数字及 . _ : / -。"},
		{"long owner", url.Values{"kind": {"host"}, "name": {"web-03"}, "owner": {strings.Repeat("运", 201)}, "importance": {"3"}},
			"owner", "最多可填写 200 个字符。"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := admin.post(target, c.form)
			wantStatus(t, r, http.StatusUnprocessableEntity)
			if !strings.Contains(r.body, `<html lang="zh-CN">`) {
				t.Fatalf("page not in Chinese")
			}
			block := fieldBlock(t, r.body, c.field)
			if !strings.Contains(block, `<p class="field-error">`+c.want+`</p>`) || !strings.Contains(block, `aria-invalid="true"`) {
				t.Errorf("%s field lacks %q:\n%s", c.field, c.want, block)
			}
			if strings.Count(r.body, `class="field-error"`) != 1 {
				t.Errorf("the error is shown on more than one field:\n%s", r.body)
			}
			if strings.Contains(r.body, "invalid input") || strings.Contains(r.body, "<b>") {
				t.Errorf("English or unescaped domain text on the page:\n%s", r.body)
			}
		})
	}
}

func TestFieldErrorMessages(t *testing.T) {
	c, err := loadCatalog()
	if err != nil {
		t.Fatal(err)
	}
	for _, code := range store.FieldCodes() {
		if !c.has(fieldErrorPrefix + code) {
			t.Errorf("no message for field error code %q", code)
		}
	}
	oneOf := &store.FieldError{Field: "kind", Code: store.CodeOneOf, Args: map[string]any{"allowed": []string{"a", "b"}},
		Message: "kind must be one of a, b"}
	if got, want := c.FieldError("en", oneOf), "Choose one of: a, b."; got != want {
		t.Errorf("en one_of = %q, want %q", got, want)
	}
	if got, want := c.FieldError("zh-CN", oneOf), "请从以下选项中选择：a、b。"; got != want {
		t.Errorf("zh-CN one_of = %q, want %q", got, want)
	}
	long := &store.FieldError{Field: "address", Code: store.CodeInvalidDomain, Args: map[string]any{"value": strings.Repeat("长", 500)}}
	if got := c.FieldError("zh-CN", long); strings.Count(got, "长") != maxShownValue-1 || !strings.Contains(got, "…") {
		t.Errorf("long value not shortened: %q", got)
	}
	// A code the catalogue does not know shows the English message.
	unknown := &store.FieldError{Field: "x", Code: "brand_new", Message: "x is wrong"}
	if got := c.FieldError("zh-CN", unknown); got != "x is wrong" {
		t.Errorf("unknown code = %q", got)
	}
}
