package web

import (
	"embed"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/nicksnyder/go-i18n/v2/i18n"
	"golang.org/x/text/language"

	"github.com/vigil-sec/vigil/internal/asset"
	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/compliance/project"
	"github.com/vigil-sec/vigil/internal/device/backup"
	"github.com/vigil-sec/vigil/internal/intel/desk"
	"github.com/vigil-sec/vigil/internal/store"
	"github.com/vigil-sec/vigil/internal/tenant"
	"github.com/vigil-sec/vigil/internal/triage"
	"github.com/vigil-sec/vigil/internal/vuln/lifecycle"
)

//go:embed locales/*.json
var localeFS embed.FS

// defaultLocale is used when nothing says otherwise.
const defaultLocale = "en"

// locale is a language the UI speaks.
type locale struct {
	Tag   string // "en", "zh-CN": also the message file name and user.Locale
	Label string // the language's own name, shown in the switcher
}

// locales lists the UI languages in switcher order.
func locales() []locale {
	return []locale{{"en", "English"}, {"zh-CN", "简体中文"}}
}

func validLocale(tag string) bool {
	return slices.ContainsFunc(locales(), func(l locale) bool { return l.Tag == tag })
}

// catalog holds the message files of every locale.
type catalog struct {
	bundle *i18n.Bundle
	loc    map[string]*i18n.Localizer
	// text maps locale to message ID to the message source.
	text    map[string]map[string]string
	matcher language.Matcher
}

// loadCatalog parses the embedded message files. Each is a flat JSON object
// of message ID to text. A locale's messages are its main file
// (locales/<tag>.json) plus any feature files (locales/<feature>.<tag>.json),
// so a service's pages can keep their messages next to each other; an ID
// defined twice for one locale is an error. Every locale must define the
// same IDs.
func loadCatalog() (*catalog, error) {
	c := &catalog{bundle: i18n.NewBundle(language.English), loc: map[string]*i18n.Localizer{},
		text: map[string]map[string]string{}}
	entries, err := localeFS.ReadDir("locales")
	if err != nil {
		return nil, fmt.Errorf("web: messages: %w", err)
	}
	var tags []language.Tag
	for _, l := range locales() {
		flat := map[string]string{}
		found := false
		for _, e := range entries {
			base, ok := strings.CutSuffix(e.Name(), ".json")
			if !ok || (base != l.Tag && !strings.HasSuffix(base, "."+l.Tag)) {
				continue
			}
			found = true
			name := "locales/" + e.Name()
			data, err := localeFS.ReadFile(name)
			if err != nil {
				return nil, fmt.Errorf("web: messages: %w", err)
			}
			part := map[string]string{}
			if err := json.Unmarshal(data, &part); err != nil {
				return nil, fmt.Errorf("web: messages %s: %w", name, err)
			}
			for id, text := range part {
				if _, dup := flat[id]; dup {
					return nil, fmt.Errorf("web: messages %s: %q is defined twice for %s", name, id, l.Tag)
				}
				flat[id] = text
			}
		}
		if !found {
			return nil, fmt.Errorf("web: messages: no file for %s", l.Tag)
		}
		merged, err := json.Marshal(flat)
		if err != nil {
			return nil, fmt.Errorf("web: messages %s: %w", l.Tag, err)
		}
		if _, err := c.bundle.ParseMessageFileBytes(merged, l.Tag+".json"); err != nil {
			return nil, fmt.Errorf("web: messages %s: %w", l.Tag, err)
		}
		c.text[l.Tag] = flat
		c.loc[l.Tag] = i18n.NewLocalizer(c.bundle, l.Tag)
		tags = append(tags, language.MustParse(l.Tag))
	}
	c.matcher = language.NewMatcher(tags)
	var problems []string
	for _, l := range locales() {
		for _, other := range locales() {
			for id := range c.text[other.Tag] {
				if _, ok := c.text[l.Tag][id]; !ok {
					problems = append(problems, fmt.Sprintf("%s lacks %q", l.Tag, id))
				}
			}
		}
	}
	if len(problems) > 0 {
		slices.Sort(problems)
		return nil, fmt.Errorf("web: message files differ: %s", strings.Join(problems, "; "))
	}
	return c, nil
}

// has reports whether every locale defines id.
func (c *catalog) has(id string) bool {
	for _, l := range locales() {
		if _, ok := c.text[l.Tag][id]; !ok {
			return false
		}
	}
	return true
}

// checkIDs fails unless every id is defined in every locale.
func (c *catalog) checkIDs(ids []string) error {
	var missing []string
	for _, id := range ids {
		if !c.has(id) {
			missing = append(missing, id)
		}
	}
	if len(missing) > 0 {
		slices.Sort(missing)
		return fmt.Errorf("web: message IDs missing from the catalogue: %s", strings.Join(slices.Compact(missing), ", "))
	}
	return nil
}

// T translates a message. args are name/value pairs for the message's
// template ("Count", 3). An unknown ID is returned as is, so a mistake
// shows up on the page instead of an empty string.
func (c *catalog) T(tag, id string, args ...any) string {
	var data map[string]any
	if len(args) > 1 {
		data = make(map[string]any, len(args)/2)
		for i := 0; i+1 < len(args); i += 2 {
			k, _ := args[i].(string)
			data[k] = args[i+1]
		}
	}
	return c.Tdata(tag, id, data)
}

// Tdata is T with the template data as a map.
func (c *catalog) Tdata(tag, id string, data map[string]any) string {
	l, ok := c.loc[tag]
	if !ok {
		l = c.loc[defaultLocale]
	}
	s, err := l.Localize(&i18n.LocalizeConfig{MessageID: id, TemplateData: data})
	if err != nil {
		return id
	}
	return s
}

// Tk translates the message prefix.key, used for values from a fixed list
// (asset kinds, roles); an unknown value is shown as it is.
func (c *catalog) Tk(tag, prefix, key string) string {
	id := prefix + "." + key
	if !c.has(id) {
		return key
	}
	return c.T(tag, id)
}

// fieldErrorPrefix prefixes the message ID of a store.FieldError code.
const fieldErrorPrefix = "err.field."

// maxShownValue bounds, in characters, an input value quoted in a message.
const maxShownValue = 60

// FieldError translates a domain validation error by its code. Its Args
// are the message's template data: lists are joined the way the language
// writes them and long values shortened. A code without a message falls
// back to the English message of the error.
func (c *catalog) FieldError(tag string, fe *store.FieldError) string {
	id := fieldErrorPrefix + fe.Code
	if !c.has(id) {
		return fe.Message
	}
	data := make(map[string]any, len(fe.Args))
	for k, v := range fe.Args {
		switch v := v.(type) {
		case []string:
			sep := ", "
			if tag == "zh-CN" {
				sep = "、"
			}
			data[k] = strings.Join(v, sep)
		case string:
			if utf8.RuneCountInString(v) > maxShownValue {
				v = string([]rune(v)[:maxShownValue-1]) + "…"
			}
			data[k] = v
		default:
			data[k] = v
		}
	}
	return c.Tdata(tag, id, data)
}

// pickLocale chooses the response language: the signed-in user's setting,
// else the lang cookie, else the browser's Accept-Language.
func (s *server) pickLocale(r *http.Request, st *reqState) string {
	if st.sess != nil && validLocale(st.user.Locale) {
		return st.user.Locale
	}
	if c, err := r.Cookie(langCookie); err == nil && validLocale(c.Value) {
		return c.Value
	}
	return s.msgs.match(r.Header.Get("Accept-Language"))
}

// match picks the best UI language for an Accept-Language header.
func (c *catalog) match(accept string) string {
	if accept == "" || len(accept) > 512 {
		return defaultLocale
	}
	tags, _, err := language.ParseAcceptLanguage(accept)
	if err != nil || len(tags) == 0 {
		return defaultLocale
	}
	_, i, conf := c.matcher.Match(tags...)
	if conf == language.No {
		return defaultLocale
	}
	return locales()[i].Tag
}

// Lists whose values are shown through Tk, with their message prefix.
func importanceLevels() []int { return []int{1, 2, 3, 4, 5} }

// errorStatuses are the statuses with their own error page text.
func errorStatuses() []int {
	return []int{400, 401, 403, 404, 405, 409, 413, 422, 429, 500}
}

// dynamicMessageIDs lists every message ID the UI builds at run time from
// data, so New and the tests can check the catalogue defines them all.
func dynamicMessageIDs(as []area) []string {
	var ids []string
	add := func(prefix string, keys []string) {
		for _, k := range keys {
			ids = append(ids, prefix+"."+k)
		}
	}
	for _, a := range as {
		ids = append(ids, "area."+a.Key+".about")
		if a.Service == "" {
			ids = append(ids, "area."+a.Key+".name")
		}
	}
	add("kind", asset.Kinds())
	add("role", auth.Roles())
	add("contact_kind", tenant.ContactKinds())
	add("team_kind", tenant.TeamKinds())
	add("freq", tenant.ReportFrequencies())
	add("flash", flashKeys())
	add("upcoming", dashboardComing())
	add("finding", policyFindingKinds())
	add("finding_about", policyFindingKinds())
	add("vstate", lifecycle.States())
	add("report_kind", []string{"vulnerabilities", "policy-review", "exposure", "app-compromise", "monitoring", "incident", "threat-intel", "baseline", "mlps-assessment"})
	add("report_kind", []string{"traffic-analysis"})
	ids = append(ids, baselineMessageIDs()...)
	add("mark", []string{"true-positive", "false-positive"})
	add("intel.kind", []string{desk.KindIndicators, desk.KindAdvisories, desk.KindKEV, desk.KindEPSS})
	add("advisory.state", advisoryStates)
	add("wo_state", []string{"draft", "submitted", "approved", "rejected", "in_progress", "done", "verified", "reopened", "cancelled"})
	add("wo_type", []string{"access", "change", "remediation", "inspection"})
	add("wo_action", []string{"submit", "approve", "reject", "revise", "start", "complete", "verify", "reopen", "cancel"})
	add("wo_role", []string{"requester", "approver", "executor", "verifier"})
	add("wo_finding", []string{"no_approved_order", "outside_window", "unused_order"})
	add("report_kind", []string{"ops-audit"})
	add("esc.kind", []string{"alert", "case", "sla-breach"})
	add("verdict", []string{"compromised", "attacked-not-compromised", "clean"})
	add("run_status", []string{"pending", "running", "done", "failed"})
	add("astatus", triage.Statuses())
	add("alevel", alertLevels())
	add("range", []string{"1h", "24h", "7d", "30d"})
	add("severity", severities())
	add("layer", []string{"network", "os", "application", "configuration"})
	add("vevent", []string{"imported", "seen", "reopened", "absent", "state", "assign"})
	add("posture.grade", []string{"good", "fair", "poor", "critical"})
	add("posture.component", []string{"vulnerabilities", "alerts", "exposure", "logs", "incidents"})
	add("posture.phase", incidentPhases())
	add("incidents.cat", []string{"malware", "intrusion", "data_leak", "dos", "defacement", "phishing", "insider", "other"})
	add("incidents.timer", []string{"acknowledge", "contain", "close"})
	add("incidents.tstatus", []string{"todo", "doing", "done", "skipped"})
	add("incidents.section", reportSectionKeys())
	add("mlps.phase", project.Phases())
	add("mlps.result", project.Results())
	ids = append(ids, drillMessageIDs()...)
	ids = append(ids, campaignMessageIDs()...)
	ids = append(ids, deviceMessageIDs()...)
	ids = append(ids, complianceRegisterMessageIDs()...)
	ids = append(ids, compliance3MessageIDs()...)
	ids = append(ids, deskMessageIDs()...)
	ids = append(ids, bizsysMessageIDs()...)
	add("devom3.methods", backup.Methods())
	add("digest.state", []string{store.DigestSending, store.DigestSent, store.DigestFailed, store.DigestEmpty, store.DigestSkipped})
	for _, code := range store.FieldCodes() {
		ids = append(ids, fieldErrorPrefix+code)
	}
	for _, i := range importanceLevels() {
		ids = append(ids, "importance."+strconv.Itoa(i))
	}
	for _, st := range errorStatuses() {
		ids = append(ids, "error."+strconv.Itoa(st)+".title", "error."+strconv.Itoa(st)+".text")
	}
	for _, g := range areaGroups() {
		ids = append(ids, "nav.group."+g)
	}
	return ids
}
