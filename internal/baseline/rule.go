package baseline

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// RuleType is the kind of evidence a rule inspects.
type RuleType string

// Rule types, named after the SCA prefixes f:, d:, p:, c: and r:.
const (
	RuleFile      RuleType = "file"
	RuleDirectory RuleType = "directory"
	RuleProcess   RuleType = "process"
	RuleCommand   RuleType = "command"
	RuleRegistry  RuleType = "registry"
	// RuleSQL and RuleRedis are Vigil extensions for database baselines;
	// see ParseRule.
	RuleSQL   RuleType = "sql"
	RuleRedis RuleType = "redis"
)

// PatternKind says how a Pattern tests a line.
type PatternKind int

// Pattern kinds: a literal line, a regular expression (r:) or a numeric
// comparison on a captured number (n:).
const (
	PatternLiteral PatternKind = iota
	PatternRegex
	PatternNumeric
	// PatternName is the simple match SCA applies to the file-name part of
	// a d: rule when it does not start with "r:" (see parseNamePattern).
	PatternName
)

// Pattern is one term of a content expression.
type Pattern struct {
	Kind   PatternKind
	Negate bool   // written with a leading '!'
	Text   string // the pattern as written, without '!' and prefix
	Re     *regexp.Regexp
	Op     string // numeric comparison operator: < <= == != >= >
	Value  float64
	// alts are the alternatives of a PatternName.
	alts []nameAlt
}

// Match reports whether line satisfies the pattern, negation included.
func (p *Pattern) Match(line string) bool {
	var ok bool
	switch p.Kind {
	case PatternLiteral:
		ok = line == p.Text
	case PatternRegex:
		ok = p.Re.MatchString(line)
	case PatternName:
		ok = matchName(p.alts, line)
	case PatternNumeric:
		m := p.Re.FindStringSubmatch(line)
		if len(m) >= 2 {
			if v, err := strconv.ParseFloat(m[1], 64); err == nil {
				ok = compare(v, p.Op, p.Value)
			}
		}
	}
	return ok != p.Negate
}

func compare(v float64, op string, want float64) bool {
	switch op {
	case "<":
		return v < want
	case "<=":
		return v <= want
	case "==":
		return v == want
	case "!=":
		return v != want
	case ">=":
		return v >= want
	case ">":
		return v > want
	}
	return false
}

// Expr is a content expression: terms joined by "&&". A line matches when
// every term matches it.
type Expr []Pattern

// Match reports whether one line satisfies every term.
func (e Expr) Match(line string) bool {
	for i := range e {
		if !e[i].Match(line) {
			return false
		}
	}
	return true
}

// Rule is one parsed SCA rule string.
type Rule struct {
	Raw    string
	Line   int  // line in the policy file, 0 when unknown
	Negate bool // written with a leading "not "
	Type   RuleType
	// Targets are the paths (f:, d:), the process name (p:), the command
	// line (c:) or the registry key (r:). Paths may list several targets
	// separated by commas; the rule holds when any of them satisfies it.
	Targets []string
	// FileName filters the files of a d: rule (searched recursively, see
	// parseNamePattern); nil means the directory itself. For r: rules
	// RegValue names the value instead.
	FileName Expr
	RegValue string
	// Content is tested line by line; nil means existence only.
	Content Expr
}

const arrow = " -> "

// ParseRule parses one SCA rule string such as
// "f:/etc/ssh/sshd_config -> !r:^# && n:^Port\s+(\d+) compare > 1024".
//
// Besides the SCA prefixes, two Vigil extensions query databases over their
// own protocol (see Querier):
//
//	sql:STATEMENT [-> EXPR]   run STATEMENT in a read-only transaction; each
//	                          row is one line, columns joined by a tab, NULL
//	                          as an empty string
//	redis:PARAMETER [-> EXPR] CONFIG GET PARAMETER; each returned pair is one
//	                          line "name value"
//
// EXPR is tested line by line as for c: rules; without EXPR the rule holds
// when the query returns at least one line. The statement may itself contain
// " -> "; the last part is the pattern. Examples:
//
//	sql:SHOW password_encryption -> r:^scram-sha-256$
//	sql:SHOW VARIABLES LIKE 'local_infile' -> r:\tOFF$
//	redis:protected-mode -> r:^protected-mode yes$
func ParseRule(s string) (*Rule, error) {
	r := &Rule{Raw: s}
	s = strings.TrimSpace(s)
	if rest, ok := strings.CutPrefix(s, "not "); ok {
		r.Negate = true
		s = strings.TrimSpace(rest)
	}
	for _, q := range []struct {
		prefix string
		typ    RuleType
	}{{"sql:", RuleSQL}, {"redis:", RuleRedis}} {
		body, ok := strings.CutPrefix(s, q.prefix)
		if !ok {
			continue
		}
		r.Type = q.typ
		parts := splitArrow(body)
		if len(parts) > 2 {
			parts = []string{strings.Join(parts[:len(parts)-1], arrow), parts[len(parts)-1]}
		}
		if parts[0] == "" {
			return nil, fmt.Errorf("%s rule names no query", q.typ)
		}
		r.Targets = []string{parts[0]}
		if len(parts) == 2 {
			if parts[1] == "" {
				return nil, fmt.Errorf("empty part 2")
			}
			var err error
			if r.Content, err = parseExpr(parts[1]); err != nil {
				return nil, err
			}
		}
		return r, nil
	}
	if len(s) < 2 || s[1] != ':' {
		return nil, fmt.Errorf("rule %q: missing type prefix (f:, d:, p:, c:, r:)", truncate(s, 60))
	}
	body := s[2:]
	parts := splitArrow(body)
	for i := range parts {
		if parts[i] == "" {
			return nil, fmt.Errorf("empty part %d", i+1)
		}
	}
	var err error
	switch s[0] {
	case 'f':
		r.Type = RuleFile
		if len(parts) > 2 {
			return nil, fmt.Errorf("file rule has %d '->' parts, want at most 2", len(parts))
		}
		r.Targets = splitTargets(parts[0])
		if len(parts) == 2 {
			r.Content, err = parseExpr(parts[1])
		}
	case 'd':
		r.Type = RuleDirectory
		if len(parts) > 3 {
			return nil, fmt.Errorf("directory rule has %d '->' parts, want at most 3", len(parts))
		}
		r.Targets = splitTargets(parts[0])
		if len(parts) >= 2 {
			if r.FileName, err = parseNamePattern(parts[1]); err != nil {
				return nil, fmt.Errorf("file name pattern: %w", err)
			}
		}
		if len(parts) == 3 {
			r.Content, err = parseExpr(parts[2])
		}
	case 'p':
		r.Type = RuleProcess
		if len(parts) > 1 {
			return nil, fmt.Errorf("process rule takes no '->' part")
		}
		r.Targets = []string{parts[0]}
	case 'c':
		r.Type = RuleCommand
		if len(parts) > 2 {
			// A command may itself contain " -> "; the last part is the pattern.
			parts = []string{strings.Join(parts[:len(parts)-1], arrow), parts[len(parts)-1]}
		}
		r.Targets = []string{parts[0]}
		if len(parts) == 2 {
			r.Content, err = parseExpr(parts[1])
		}
	case 'r':
		r.Type = RuleRegistry
		if len(parts) > 3 {
			return nil, fmt.Errorf("registry rule has %d '->' parts, want at most 3", len(parts))
		}
		r.Targets = []string{parts[0]}
		if len(parts) >= 2 {
			r.RegValue = parts[1]
		}
		if len(parts) == 3 {
			r.Content, err = parseExpr(parts[2])
		}
	default:
		return nil, fmt.Errorf("unknown rule type %q", s[:2])
	}
	if err != nil {
		return nil, err
	}
	if len(r.Targets) == 0 {
		return nil, fmt.Errorf("rule names no target")
	}
	return r, nil
}

func splitArrow(s string) []string {
	parts := strings.Split(s, arrow)
	for i := range parts {
		parts[i] = strings.TrimSpace(parts[i])
	}
	return parts
}

func splitTargets(s string) []string {
	var out []string
	for t := range strings.SplitSeq(s, ",") {
		if t = strings.TrimSpace(t); t != "" {
			out = append(out, t)
		}
	}
	return out
}

func parseExpr(s string) (Expr, error) {
	var e Expr
	for term := range strings.SplitSeq(s, " && ") {
		p, err := parsePattern(strings.TrimSpace(term))
		if err != nil {
			return nil, err
		}
		e = append(e, p)
	}
	return e, nil
}

func parsePattern(s string) (Pattern, error) {
	var p Pattern
	if rest, ok := strings.CutPrefix(s, "!"); ok {
		p.Negate = true
		s = rest
	}
	switch {
	case strings.HasPrefix(s, "r:"):
		p.Kind = PatternRegex
		p.Text = s[2:]
		re, err := TranslateRegex(p.Text)
		if err != nil {
			return p, fmt.Errorf("regex %q: %w", truncate(p.Text, 80), err)
		}
		p.Re = re
	case strings.HasPrefix(s, "n:"):
		p.Kind = PatternNumeric
		p.Text = s[2:]
		expr, cmp, ok := strings.Cut(p.Text, " compare ")
		if !ok {
			return p, fmt.Errorf("numeric pattern %q lacks \"compare OP VALUE\"", truncate(p.Text, 80))
		}
		fields := strings.Fields(cmp)
		if len(fields) != 2 {
			return p, fmt.Errorf("numeric comparison %q: want OP VALUE", cmp)
		}
		switch fields[0] {
		case "<", "<=", "==", "!=", ">=", ">":
			p.Op = fields[0]
		default:
			return p, fmt.Errorf("numeric comparison operator %q not one of < <= == != >= >", fields[0])
		}
		v, err := strconv.ParseFloat(fields[1], 64)
		if err != nil {
			return p, fmt.Errorf("numeric comparison value %q: %w", fields[1], err)
		}
		p.Value = v
		re, err := TranslateRegex(strings.TrimSpace(expr))
		if err != nil {
			return p, fmt.Errorf("regex %q: %w", truncate(expr, 80), err)
		}
		if re.NumSubexp() < 1 {
			return p, fmt.Errorf("numeric pattern %q has no capture group", truncate(expr, 80))
		}
		p.Re = re
	case s == "":
		return p, fmt.Errorf("empty pattern")
	default:
		p.Kind = PatternLiteral
		p.Text = s
	}
	return p, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
