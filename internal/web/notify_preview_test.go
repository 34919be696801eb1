package web

import (
	"net/http"
	"strings"
	"testing"

	"github.com/vigil-sec/vigil/internal/notify"
)

// TestNotifyTemplatePreview: every kind's templates preview in both
// languages with the tenant's sample data, to the tenant's readers only;
// the HTML goes into a sandboxed frame, escaped.
func TestNotifyTemplatePreview(t *testing.T) {
	t.Parallel()
	ui := newTestUI(t)
	analyst := ui.as(t, ui.AnalystA)
	base := "/t/" + ui.TenantA.Slug + "/notifications/templates"
	for _, k := range notify.Kinds() {
		for _, lang := range []string{notify.LangEN, notify.LangZH} {
			page := analyst.get(base + "?kind=" + string(k) + "&lang=" + lang)
			wantStatus(t, page, http.StatusOK)
			for _, id := range []string{`id="ntpl-subject"`, `id="ntpl-text"`, `id="ntpl-markdown"`, `iframe sandbox=""`, ui.TenantA.Name} {
				if !strings.Contains(page.body, id) {
					t.Errorf("%s %s: the preview lacks %s", k, lang, id)
				}
			}
			if strings.Contains(page.body, `srcdoc="<`) {
				t.Errorf("%s %s: the frame's HTML is not escaped", k, lang)
			}
		}
	}
	zh := analyst.get(base + "?kind=kev-match&lang=zh-CN")
	if !strings.Contains(zh.body, "在野利用") {
		t.Errorf("the Chinese KEV preview is not in Chinese:\n%s", zh.body)
	}
	if r := ui.as(t, ui.CustomerB).get(base); r.StatusCode < 400 {
		t.Fatalf("B's customer previewing A's templates: %d", r.StatusCode)
	}
	if r := analyst.get("/t/" + ui.TenantA.Slug + "/notifications"); !strings.Contains(r.body, `id="templates-link"`) {
		t.Error("the channels page does not link the templates")
	}
}
