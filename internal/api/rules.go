package api

import (
	"context"
	"errors"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/detect"
	"github.com/vigil-sec/vigil/internal/store"
)

// SigmaRule is a detection or correlation rule as a tenant sees it.
type SigmaRule struct {
	Key         string   `json:"key" doc:"The rule's id, or p- and a hash of its file for a rule without one"`
	ID          string   `json:"id,omitempty"`
	Title       string   `json:"title"`
	Level       string   `json:"level,omitempty"`
	Status      string   `json:"status,omitempty"`
	Description string   `json:"description,omitempty"`
	Tags        []string `json:"tags"`
	Product     string   `json:"product,omitempty"`
	Category    string   `json:"category,omitempty"`
	Service     string   `json:"service,omitempty"`
	Path        string   `json:"path"`
	Custom      bool     `json:"custom" doc:"Uploaded by the tenant"`
	Correlation bool     `json:"correlation"`
	Enabled     bool     `json:"enabled"`
	Problem     string   `json:"problem,omitempty" doc:"Why a custom correlation does not run (a rule it refers to is gone)"`
	Source      string   `json:"source,omitempty" doc:"The YAML of a custom rule"`
}

func sigmaRuleDTO(ri detect.RuleInfo) SigmaRule {
	return SigmaRule{Key: ri.Key, ID: ri.ID, Title: ri.Title, Level: ri.Level, Status: ri.Status, Description: ri.Description,
		Tags: ri.Tags, Product: ri.LogSource.Product, Category: ri.LogSource.Category, Service: ri.LogSource.Service,
		Path: ri.Path, Custom: ri.Custom, Correlation: ri.Correlation, Enabled: ri.Enabled, Problem: ri.Problem}
}

// SigmaRulePage is a page of rules and how many match in all.
type SigmaRulePage struct {
	Total int         `json:"total"`
	Items []SigmaRule `json:"items"`
}

// SigmaRuleToggle turns a rule on or off for the tenant.
type SigmaRuleToggle struct {
	Enabled bool `json:"enabled"`
}

// SigmaRuleUpload is a custom rule's YAML.
type SigmaRuleUpload struct {
	Source string `json:"source" minLength:"1" maxLength:"65536" doc:"One Sigma rule in YAML: a detection rule, or a correlation rule (event_count, value_count, temporal, temporal_ordered, value_sum, value_avg) referring to the tenant's built-in or custom rules by id or name"`
}

// SigmaRuleTest runs a rule over sample events without storing anything.
type SigmaRuleTest struct {
	Source  string `json:"source,omitempty" maxLength:"65536" doc:"A rule to test instead of a loaded one"`
	RuleKey string `json:"rule_key,omitempty" maxLength:"600" doc:"The loaded rule to test when source is empty"`
	Events  string `json:"events" maxLength:"1048576" doc:"Sample events, one per line: JSON or any log format Vigil parses"`
}

// SigmaTestMatch is a rule firing on one sample line.
type SigmaTestMatch struct {
	Line        int    `json:"line"`
	RuleKey     string `json:"rule_key"`
	RuleTitle   string `json:"rule_title"`
	Level       string `json:"level,omitempty"`
	Correlation bool   `json:"correlation,omitempty"`
}

// SigmaLineError is a sample line that could not be read.
type SigmaLineError struct {
	Line   int    `json:"line"`
	Reason string `json:"reason"`
}

// SigmaTestResult is what a test found.
type SigmaTestResult struct {
	Rule    SigmaRule        `json:"rule"`
	Events  int              `json:"events"`
	Matches []SigmaTestMatch `json:"matches"`
	Errors  []SigmaLineError `json:"errors"`
}

type ruleListIn struct {
	TenantParam
	Query     string `query:"q" maxLength:"200" doc:"Matches the title, id or path"`
	Tag       string `query:"tag" maxLength:"200"`
	Level     string `query:"level" enum:"informational,low,medium,high,critical"`
	LogSource string `query:"logsource" maxLength:"200" doc:"Matches the product, category or service"`
	Custom    bool   `query:"custom" doc:"Only custom rules"`
	Disabled  bool   `query:"disabled" doc:"Only disabled rules"`
	Limit     int    `query:"limit" minimum:"1" maximum:"1000" default:"100"`
	Offset    int    `query:"offset" minimum:"0"`
}

type ruleParamIn struct {
	TenantParam
	Rule string `path:"rule" maxLength:"600" doc:"Rule key"`
}

type ruleToggleIn struct {
	TenantParam
	Rule string `path:"rule" maxLength:"600" doc:"Rule key"`
	Body SigmaRuleToggle
}

type ruleUploadIn struct {
	TenantParam
	Body SigmaRuleUpload
}

type ruleTestIn struct {
	TenantParam
	Body SigmaRuleTest
}

func (s *server) registerRules() {
	if s.opts.Rules == nil {
		return
	}
	tags := []string{"rules"}
	base := "/tenants/{tenant}/rules"
	register(s, inTenant(auth.PermEventRead), huma.Operation{OperationID: "list-rules", Method: http.MethodGet, Path: base,
		Summary: "List the Sigma rules loaded for the tenant", Description: "Built-in, correlation and custom rules, by title.",
		Tags: tags}, s.listRules)
	register(s, inTenant(auth.PermEventRead), huma.Operation{OperationID: "get-rule", Method: http.MethodGet, Path: base + "/{rule}",
		Summary: "Get a rule (with its YAML when it is a custom rule)", Tags: tags}, s.getRule)
	register(s, inTenant(auth.PermEventTriage), huma.Operation{OperationID: "set-rule-enabled", Method: http.MethodPut,
		Path: base + "/{rule}/enabled", Summary: "Turn a rule on or off for the tenant", Tags: tags}, s.setRuleEnabled)
	register(s, inTenant(auth.PermEventTriage), huma.Operation{OperationID: "upload-rule", Method: http.MethodPost, Path: base,
		Summary: "Upload a custom Sigma rule", Description: "A detection or correlation rule, validated as the engine loads it; a refusal (422) " +
			"names the YAML line in errors[].message (for a correlation, the line of a referenced rule that does not exist) and nothing is stored. " +
			"A rule with the id of the tenant's custom rule replaces it.",
		DefaultStatus: http.StatusCreated, Tags: tags}, s.uploadRule)
	register(s, inTenant(auth.PermEventTriage), huma.Operation{OperationID: "delete-rule", Method: http.MethodDelete,
		Path: base + "/{rule}", Summary: "Delete a custom rule", Description: "A rule one of the tenant's custom correlations refers to is not deleted (422).", DefaultStatus: http.StatusNoContent, Tags: tags}, s.deleteRule)
	register(s, inTenant(auth.PermEventRead), huma.Operation{OperationID: "test-rule", Method: http.MethodPost, Path: "/tenants/{tenant}/rule-tests",
		Summary: "Run a rule over sample events", Description: "Nothing is stored. Give source (a rule's YAML) or rule_key (a loaded rule).",
		MaxBodyBytes: 2 << 20, Tags: tags}, s.testRule)
}

// ruleError turns a refused rule into a 422 naming its line.
func ruleError(err error) error {
	var re *detect.RuleError
	if errors.As(err, &re) {
		return store.NewFieldError("source", store.CodeInvalidConfig, map[string]any{"line": re.Line, "reason": re.Error()}, "%s", re.Error())
	}
	return err
}

func (s *server) listRules(ctx context.Context, in *ruleListIn) (*out[SigmaRulePage], error) {
	t, err := pathTenant(ctx)
	if err != nil {
		return nil, err
	}
	all := s.opts.Rules.List(t.ID, detect.RuleFilter{Query: in.Query, Tag: in.Tag, Level: in.Level, LogSource: in.LogSource,
		Custom: in.Custom, Disabled: in.Disabled})
	page := SigmaRulePage{Total: len(all), Items: []SigmaRule{}}
	lo := min(in.Offset, len(all))
	hi := min(lo+max(in.Limit, 1), len(all))
	for _, ri := range all[lo:hi] {
		page.Items = append(page.Items, sigmaRuleDTO(ri))
	}
	return reply(page)
}

func (s *server) getRule(ctx context.Context, in *ruleParamIn) (*out[SigmaRule], error) {
	t, err := pathTenant(ctx)
	if err != nil {
		return nil, err
	}
	ri, src, err := s.opts.Rules.Rule(t.ID, in.Rule)
	if err != nil {
		return nil, err
	}
	dto := sigmaRuleDTO(ri)
	dto.Source = string(src)
	return reply(dto)
}

func (s *server) setRuleEnabled(ctx context.Context, in *ruleToggleIn) (*out[SigmaRule], error) {
	t, err := pathTenant(ctx)
	if err != nil {
		return nil, err
	}
	if err := s.opts.Rules.SetEnabled(ctx, t.ID, in.Rule, in.Body.Enabled, auth.FromContext(ctx).Username); err != nil {
		return nil, err
	}
	ri, _, err := s.opts.Rules.Rule(t.ID, in.Rule)
	if err != nil {
		return nil, err
	}
	return reply(sigmaRuleDTO(ri))
}

func (s *server) uploadRule(ctx context.Context, in *ruleUploadIn) (*out[SigmaRule], error) {
	t, err := pathTenant(ctx)
	if err != nil {
		return nil, err
	}
	r, err := s.opts.Rules.AddCustom(ctx, t.ID, []byte(in.Body.Source), auth.FromContext(ctx).Username)
	if err != nil {
		return nil, ruleError(err)
	}
	ri, src, err := s.opts.Rules.Rule(t.ID, r.Key)
	if err != nil {
		return nil, err
	}
	dto := sigmaRuleDTO(ri)
	dto.Source = string(src)
	return reply(dto)
}

func (s *server) deleteRule(ctx context.Context, in *ruleParamIn) (*struct{}, error) {
	t, err := pathTenant(ctx)
	if err != nil {
		return nil, err
	}
	return nil, ruleError(s.opts.Rules.DeleteCustom(ctx, t.ID, in.Rule))
}

func (s *server) testRule(ctx context.Context, in *ruleTestIn) (*out[SigmaTestResult], error) {
	t, err := pathTenant(ctx)
	if err != nil {
		return nil, err
	}
	if in.Body.Source == "" && in.Body.RuleKey == "" {
		return nil, store.NewFieldError("rule_key", store.CodeRequired, nil, "give source or rule_key")
	}
	res, err := s.opts.Rules.Test(t.ID, []byte(in.Body.Source), in.Body.RuleKey, []byte(in.Body.Events), nil)
	if err != nil {
		return nil, ruleError(err)
	}
	o := SigmaTestResult{Rule: sigmaRuleDTO(res.Rule), Events: res.Events, Matches: []SigmaTestMatch{}, Errors: []SigmaLineError{}}
	for _, m := range res.Matches {
		o.Matches = append(o.Matches, SigmaTestMatch{Line: m.Line, RuleKey: m.Key, RuleTitle: m.Title, Level: m.Level, Correlation: m.Correlation})
	}
	for _, e := range res.Errors {
		o.Errors = append(o.Errors, SigmaLineError{Line: e.Line, Reason: e.Reason})
	}
	return reply(o)
}
