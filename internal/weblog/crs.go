package weblog

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	coreruleset "github.com/corazawaf/coraza-coreruleset/v4"
	"github.com/corazawaf/coraza/v3"
	"github.com/corazawaf/coraza/v3/types"
)

// LogOnlyFalseRules returns the CRS rules that fire only because an access
// log holds no request headers or body: the evaluation rebuilds a request
// from the log line, so Accept and Content-Length are always absent, a POST
// always looks bodiless and the logged host is often an address. They were
// found by evaluating benign GET and POST log lines at paranoia 1-4 with
// nothing removed (TestLogOnlyFalseRules keeps that true):
//
//	920180 POST request missing Content-Length header (PL1)
//	920300 request missing an Accept header (PL2+)
//	920320 missing User-Agent header (PL2+; common-format logs have none)
//	920350 Host header is a numeric IP address (PL1; vhost fields often are)
//
// A missing Host is not an issue: the evaluation sets "localhost" when the
// log has none, so 920280 never fires.
func LogOnlyFalseRules() []int {
	return []int{920180, 920300, 920320, 920350}
}

// CRSMatch is the outcome of CRS on one request.
type CRSMatch struct {
	RuleIDs  []int    `json:"rule_ids"`
	Messages []string `json:"messages,omitempty"`
	Tags     []string `json:"tags,omitempty"`
	Score    int      `json:"anomaly_score"`

	keys map[int][]string // argument names each rule matched
}

// CRS evaluates logged requests against the OWASP Core Rule Set in
// DetectionOnly mode. It is safe for concurrent use.
type CRS struct {
	waf coraza.WAF
}

// NewCRS loads the embedded CRS at the given paranoia level (1-4).
func NewCRS(paranoia int) (*CRS, error) {
	return newCRS(paranoia, LogOnlyFalseRules())
}

func newCRS(paranoia int, removed []int) (*CRS, error) {
	if paranoia < 1 || paranoia > 4 {
		return nil, fmt.Errorf("weblog: paranoia level %d out of range 1-4", paranoia)
	}
	var remove []string
	for _, id := range removed {
		remove = append(remove, strconv.Itoa(id))
	}
	directives := fmt.Sprintf(`
SecRuleEngine DetectionOnly
SecRequestBodyAccess On
SecResponseBodyAccess Off
SecAuditEngine Off
SecAction "id:900000,phase:1,pass,t:none,nolog,setvar:tx.blocking_paranoia_level=%d"
SecAction "id:900001,phase:1,pass,t:none,nolog,setvar:tx.detection_paranoia_level=%d"
Include @owasp_crs/*.conf
%s
`, paranoia, paranoia, removeDirective(remove))
	cfg := coraza.NewWAFConfig().
		WithRootFS(coreruleset.FS).
		WithDirectivesFromFile("@coraza.conf-recommended").
		WithDirectivesFromFile("@crs-setup.conf.example").
		WithDirectives(directives)
	waf, err := coraza.NewWAF(cfg)
	if err != nil {
		return nil, fmt.Errorf("weblog: load CRS: %w", err)
	}
	return &CRS{waf: waf}, nil
}

// Evaluate runs the request of rec through CRS. extra, when not empty, is
// added as one more query argument (the fully decoded request) so that
// rules also see through encodings CRS does not undo itself.
func (c *CRS) Evaluate(rec *Record, extra string) CRSMatch {
	tx := c.waf.NewTransaction()
	defer func() { _ = tx.Close() }()
	tx.ProcessConnection(ipOnly(rec.ClientIP), 0, "", 0)
	method := rec.Method
	if method == "" {
		method = "GET"
	}
	proto := rec.Proto
	if proto == "" {
		proto = "HTTP/1.1"
	}
	uri := rec.URI
	if uri == "" {
		uri = "/"
	}
	tx.ProcessURI(uri, method, proto)
	host := rec.Host
	if host == "" {
		host = "localhost"
	}
	tx.AddRequestHeader("Host", host)
	if rec.UA != "" {
		tx.AddRequestHeader("User-Agent", rec.UA)
	}
	if rec.Referer != "" {
		tx.AddRequestHeader("Referer", rec.Referer)
	}
	if extra != "" {
		tx.AddGetRequestArgument("vigil_decoded", extra)
	}
	tx.ProcessRequestHeaders()
	// Always run phase 2: most SQLi/XSS rules live there.
	_, _ = tx.ProcessRequestBody()
	return collect(tx.MatchedRules())
}

func collect(rules []types.MatchedRule) CRSMatch {
	var m CRSMatch
	tags := map[string]bool{}
	for _, mr := range rules {
		r := mr.Rule()
		id := r.ID()
		// Initialisation (90x), blocking evaluation (949) and correlation
		// (98x) rules carry no finding of their own.
		if id < 911000 || id/1000 == 949 || id/1000 >= 959 {
			continue
		}
		if mr.Message() == "" {
			continue
		}
		m.RuleIDs = append(m.RuleIDs, id)
		for _, md := range mr.MatchedDatas() {
			if k := md.Key(); k != "" {
				if m.keys == nil {
					m.keys = map[int][]string{}
				}
				m.keys[id] = append(m.keys[id], k)
			}
		}
		m.Messages = append(m.Messages, mr.Message())
		switch r.Severity() {
		case types.RuleSeverityCritical:
			m.Score += 5
		case types.RuleSeverityError:
			m.Score += 4
		case types.RuleSeverityWarning:
			m.Score += 3
		case types.RuleSeverityNotice:
			m.Score += 2
		}
		for _, t := range r.Tags() {
			if strings.HasPrefix(t, "attack-") {
				tags[t] = true
			}
		}
	}
	for t := range tags {
		m.Tags = append(m.Tags, t)
	}
	sort.Strings(m.Tags)
	return m
}

// ipOnly strips a port or brackets from a logged client address.
func ipOnly(s string) string {
	s = strings.TrimPrefix(s, "[")
	if i := strings.Index(s, "]"); i >= 0 {
		return s[:i]
	}
	if strings.Count(s, ":") == 1 {
		return s[:strings.IndexByte(s, ':')]
	}
	return s
}

func removeDirective(ids []string) string {
	if len(ids) == 0 {
		return ""
	}
	return "SecRuleRemoveById " + strings.Join(ids, " ")
}
