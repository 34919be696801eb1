package web

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/detect"
	"github.com/vigil-sec/vigil/internal/store"
)

// Sigma rule management: the rules a tenant runs, turning them on and
// off, custom rules, and "test this rule" against pasted events.

// rulesPageSize is how many rules one page lists.
const rulesPageSize = 100

type rulesPage struct {
	Base
	URL      string
	Filter   detect.RuleFilter
	Rules    []detect.RuleInfo
	Total    int
	Offset   int
	Prev     string // URL of the previous page, "" on the first
	Next     string
	Levels   []string
	CanWrite bool
	Saved    string

	// Upload form: the YAML sent back and why it was refused.
	Upload     string
	UploadErr  string
	UploadLine int
	// DeleteErr is why a custom rule was not deleted.
	DeleteErr string
	// Test form and its result.
	TestRule   string
	TestKey    string
	TestEvents string
	TestErr    string // the engine's reason
	// TestNeedRule and TestUnknown: no rule given, or an unknown id.
	TestNeedRule, TestUnknown bool
	TestLine                  int
	Result                    *detect.TestResult
}

func (s *server) registerRules(t string) {
	if s.opts.Rules == nil {
		return
	}
	base := t + "/events/rules"
	s.handle(http.MethodGet, base, inTenant(auth.PermEventRead), s.rulesList)
	s.handle(http.MethodPost, base+"/toggle", inTenant(auth.PermEventTriage), s.rulesToggle)
	s.handle(http.MethodPost, base+"/upload", inTenant(auth.PermEventTriage), s.rulesUpload)
	s.handle(http.MethodPost, base+"/delete", inTenant(auth.PermEventTriage), s.rulesDelete)
	s.handle(http.MethodPost, base+"/test", inTenant(auth.PermEventRead), s.rulesTest)
}

func rulesBase(t *store.Tenant) string { return "/t/" + t.Slug + "/events/rules" }

// rulesView lists the tenant's rules matching the query string's filter.
func (s *server) rulesView(r *http.Request) *rulesPage {
	t := state(r).tenant
	q := r.URL.Query()
	v := &rulesPage{URL: rulesBase(t), Levels: alertLevels(),
		CanWrite: auth.FromContext(r.Context()).Can(auth.PermEventTriage, t.ID),
		Filter: detect.RuleFilter{Query: clipText(q.Get("q"), 200), Tag: clipText(q.Get("tag"), 200), Level: q.Get("level"),
			LogSource: clipText(q.Get("logsource"), 200), Custom: q.Get("custom") == "on", Disabled: q.Get("disabled") == "on"}}
	all := s.opts.Rules.List(t.ID, v.Filter)
	v.Total = len(all)
	v.Offset, _ = strconv.Atoi(q.Get("offset"))
	v.Offset = min(max(v.Offset, 0), len(all))
	v.Rules = all[v.Offset:min(v.Offset+rulesPageSize, len(all))]
	page := func(off int) string {
		qq := url.Values{}
		for k, vs := range q {
			if k != "offset" {
				qq[k] = vs
			}
		}
		qq.Set("offset", strconv.Itoa(off))
		return v.URL + "?" + qq.Encode()
	}
	if v.Offset > 0 {
		v.Prev = page(max(v.Offset-rulesPageSize, 0))
	}
	if v.Offset+rulesPageSize < len(all) {
		v.Next = page(v.Offset + rulesPageSize)
	}
	return v
}

func (s *server) rulesList(w http.ResponseWriter, r *http.Request) error {
	v := s.rulesView(r)
	v.Saved = r.URL.Query().Get("saved")
	s.render(w, r, http.StatusOK, "rules", v)
	return nil
}

func (s *server) rulesToggle(w http.ResponseWriter, r *http.Request) error {
	t := state(r).tenant
	key := r.PostForm.Get("key")
	enabled := r.PostForm.Get("enabled") == "on"
	if err := s.opts.Rules.SetEnabled(r.Context(), t.ID, key, enabled, auth.FromContext(r.Context()).Username); err != nil {
		return err
	}
	redirect(w, r, backTo(r, rulesBase(t)))
	return nil
}

// backTo is the rules list the form came from (its query kept), or def.
func backTo(r *http.Request, def string) string {
	if back := r.PostForm.Get("back"); strings.HasPrefix(back, def) && !strings.ContainsAny(back, "\r\n") {
		return back
	}
	return def
}

func (s *server) rulesUpload(w http.ResponseWriter, r *http.Request) error {
	t := state(r).tenant
	src := r.PostForm.Get("source")
	rule, err := s.opts.Rules.AddCustom(r.Context(), t.ID, []byte(src), auth.FromContext(r.Context()).Username)
	var re *detect.RuleError
	if errors.As(err, &re) {
		v := s.rulesView(r)
		v.Upload, v.UploadErr, v.UploadLine = src, re.Reason, re.Line
		s.render(w, r, http.StatusUnprocessableEntity, "rules", v)
		return nil
	}
	if err != nil {
		return err
	}
	redirect(w, r, rulesBase(t)+"?custom=on&saved="+url.QueryEscape(rule.Title))
	return nil
}

func (s *server) rulesDelete(w http.ResponseWriter, r *http.Request) error {
	t := state(r).tenant
	err := s.opts.Rules.DeleteCustom(r.Context(), t.ID, r.PostForm.Get("key"))
	var re *detect.RuleError
	if errors.As(err, &re) {
		v := s.rulesView(r)
		v.DeleteErr = re.Reason
		s.render(w, r, http.StatusUnprocessableEntity, "rules", v)
		return nil
	}
	if err != nil {
		return err
	}
	redirect(w, r, rulesBase(t)+"?custom=on")
	return nil
}

func (s *server) rulesTest(w http.ResponseWriter, r *http.Request) error {
	t := state(r).tenant
	v := s.rulesView(r)
	v.TestRule, v.TestKey, v.TestEvents = r.PostForm.Get("rule"), strings.TrimSpace(r.PostForm.Get("key")), r.PostForm.Get("events")
	status := http.StatusOK
	if strings.TrimSpace(v.TestRule) == "" && v.TestKey == "" {
		v.TestNeedRule = true
		status = http.StatusUnprocessableEntity
	} else {
		res, err := s.opts.Rules.Test(t.ID, []byte(v.TestRule), v.TestKey, []byte(v.TestEvents), nil)
		var re *detect.RuleError
		switch {
		case errors.As(err, &re):
			v.TestErr, v.TestLine = re.Reason, re.Line
			status = http.StatusUnprocessableEntity
		case errors.Is(err, store.ErrNotFound):
			v.TestUnknown = true
			status = http.StatusUnprocessableEntity
		case err != nil:
			return err
		default:
			v.Result = res
		}
	}
	s.render(w, r, status, "rules", v)
	return nil
}
