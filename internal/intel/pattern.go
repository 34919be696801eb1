package intel

import (
	"errors"
	"fmt"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// STIX patterning.
//
// ParsePattern is a lexer and recursive-descent parser for the whole STIX
// 2.1 pattern grammar: comparison expressions (=, !=, <, <=, >, >=, IN,
// LIKE, MATCHES, ISSUBSET, ISSUPERSET, EXISTS, each optionally negated with
// NOT) joined with AND/OR inside brackets, observation expressions joined
// with AND, OR and FOLLOWEDBY, and the WITHIN, REPEATS and START/STOP
// qualifiers.
//
// Evaluated subset: a pattern is evaluated against one event when it is a
// single observation expression, or observation expressions joined only
// with OR, and carries no qualifier. Every comparison in it is read against
// the same event (an ECS event is one observation). Observation AND,
// FOLLOWEDBY and qualifiers need several observations over time: such
// patterns parse, and Pattern.Evaluable is false with the reason in
// Pattern.NotEvaluated.
//
// Comparison semantics: an object path maps to the event fields in
// PathFields; a comparison holds when any value of any mapped field
// satisfies it. Hash, domain and e-mail comparisons ignore case. "=" on an
// ipv4-addr or ipv6-addr value whose literal is a CIDR prefix tests
// containment. ISSUBSET holds when the event address lies in the literal
// prefix; ISSUPERSET when it equals the literal address. LIKE follows SQL
// ("%" any run, "_" one character). MATCHES is an RE2 regular expression
// (linear time) of at most MaxRegexpLen bytes. A path with no mapping has
// no values, so its comparisons are false (and NOT of them true).
//
// Complexity limits: MaxPatternLen bytes, MaxPatternDepth levels of
// nesting, MaxPatternTerms comparisons; a pattern over a limit is refused
// with a reason.

// Pattern limits.
const (
	MaxPatternLen   = 64 << 10
	MaxPatternDepth = 32
	MaxPatternTerms = 4096
	MaxRegexpLen    = 1024
)

// ErrPattern is wrapped by every pattern parse error.
var ErrPattern = errors.New("invalid STIX pattern")

// Pattern is a parsed STIX pattern.
type Pattern struct {
	Source string
	// Evaluable is true when Match can evaluate the pattern on one event.
	Evaluable bool
	// NotEvaluated says why Evaluable is false.
	NotEvaluated string
	// Unmapped lists object paths that map to no event field.
	Unmapped []string

	root obsNode
}

// ObjectPath is a STIX object path such as file:hashes.'SHA-256'.
type ObjectPath struct {
	ObjectType string
	Steps      []string // property names; "[*]" or "[N]" for list indexes
}

// String renders the path in pattern syntax with property steps joined by dots.
func (p ObjectPath) String() string {
	var b strings.Builder
	b.WriteString(p.ObjectType)
	b.WriteByte(':')
	for i, s := range p.Steps {
		if strings.HasPrefix(s, "[") {
			b.WriteString(s)
			continue
		}
		if i > 0 {
			b.WriteByte('.')
		}
		if isIdent(s) {
			b.WriteString(s)
		} else {
			b.WriteString("'" + s + "'")
		}
	}
	return b.String()
}

func isIdent(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return s != ""
}

// key is the lower-case path used for the field table.
func (p ObjectPath) key() string {
	var b strings.Builder
	b.WriteString(p.ObjectType)
	b.WriteByte(':')
	for i, s := range p.Steps {
		if i > 0 && !strings.HasPrefix(s, "[") {
			b.WriteByte('.')
		}
		if strings.HasPrefix(s, "[") {
			s = "[*]"
		}
		b.WriteString(strings.ToLower(s))
	}
	return b.String()
}

// PathFields returns a copy of the documented table of STIX object paths (lower-cased,
// list indexes written [*]) and the ECS event fields they are read from.
func PathFields() map[string][]string {
	out := make(map[string][]string, len(pathFields))
	for k, v := range pathFields {
		out[k] = append([]string(nil), v...)
	}
	return out
}

var pathFields = map[string][]string{
	"ipv4-addr:value":                 ipFields,
	"ipv6-addr:value":                 ipFields,
	"domain-name:value":               domainFields,
	"url:value":                       urlFields,
	"file:hashes.md5":                 {"file.hash.md5", "process.hash.md5"},
	"file:hashes.sha-1":               {"file.hash.sha1", "process.hash.sha1"},
	"file:hashes.sha1":                {"file.hash.sha1", "process.hash.sha1"},
	"file:hashes.sha-256":             {"file.hash.sha256", "process.hash.sha256"},
	"file:hashes.sha256":              {"file.hash.sha256", "process.hash.sha256"},
	"file:name":                       {"file.name"},
	"file:size":                       {"file.size"},
	"email-addr:value":                emailFields,
	"email-message:subject":           {"email.subject"},
	"email-message:from_ref.value":    {"email.from.address"},
	"email-message:sender_ref.value":  {"email.sender.address"},
	"email-message:to_refs[*].value":  {"email.to.address"},
	"network-traffic:src_ref.value":   {"source.ip"},
	"network-traffic:dst_ref.value":   {"destination.ip"},
	"network-traffic:src_port":        {"source.port"},
	"network-traffic:dst_port":        {"destination.port"},
	"network-traffic:protocols[*]":    {"network.transport", "network.protocol"},
	"process:name":                    {"process.name"},
	"process:command_line":            {"process.command_line"},
	"process:pid":                     {"process.pid"},
	"user-account:user_id":            {"user.id"},
	"user-account:account_login":      {"user.name"},
	"x509-certificate:issuer":         {"tls.server.x509.issuer.distinguished_name"},
	"x509-certificate:subject":        {"tls.server.x509.subject.distinguished_name"},
	"x509-certificate:serial_number":  {"tls.server.x509.serial_number"},
	"x509-certificate:hashes.sha-256": {"tls.server.hash.sha256"},
	"x509-certificate:hashes.sha-1":   {"tls.server.hash.sha1"},
	"windows-registry-key:key":        {"registry.path"},
	"autonomous-system:number":        {"source.as.number", "destination.as.number"},
}

// Event fields checked for each kind of value, by the matcher and by
// PathFields.
var (
	ipFields     = []string{"source.ip", "destination.ip", "client.ip", "server.ip", "host.ip", "related.ip"}
	domainFields = []string{"dns.question.name", "url.domain", "destination.domain", "source.domain", "server.domain", "client.domain", "tls.client.server_name", "related.hosts"}
	urlFields    = []string{"url.full", "url.original"}
	emailFields  = []string{"email.from.address", "email.to.address", "email.cc.address", "email.sender.address", "email.reply_to.address", "user.email", "source.user.email", "destination.user.email"}
)

// ---- lexer ----

type tokKind int

const (
	tEOF tokKind = iota
	tPunct
	tOp
	tIdent
	tKeyword
	tString
	tTyped // t'…', h'…', b'…'
	tInt
	tFloat
)

type token struct {
	kind tokKind
	text string // punctuation/operator/ident/keyword text or decoded string
	pre  byte   // typed-string prefix
	pos  int
}

var keywords = map[string]bool{
	"AND": true, "OR": true, "NOT": true, "FOLLOWEDBY": true, "LIKE": true, "MATCHES": true,
	"ISSUBSET": true, "ISSUPERSET": true, "IN": true, "EXISTS": true, "WITHIN": true,
	"REPEATS": true, "TIMES": true, "SECONDS": true, "START": true, "STOP": true,
	"true": true, "false": true,
}

func lex(src string) ([]token, error) {
	var toks []token
	for i := 0; i < len(src); {
		c := src[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case strings.IndexByte("[]():.,*", c) >= 0:
			toks = append(toks, token{kind: tPunct, text: string(c), pos: i})
			i++
		case c == '=':
			toks = append(toks, token{kind: tOp, text: "=", pos: i})
			i++
		case c == '!' || c == '<' || c == '>':
			if i+1 < len(src) && src[i+1] == '=' {
				toks = append(toks, token{kind: tOp, text: src[i : i+2], pos: i})
				i += 2
			} else if c == '!' {
				return nil, fmt.Errorf("%w: offset %d: '!' without '='", ErrPattern, i)
			} else {
				toks = append(toks, token{kind: tOp, text: string(c), pos: i})
				i++
			}
		case c == '\'':
			s, n, err := lexString(src, i)
			if err != nil {
				return nil, err
			}
			toks = append(toks, token{kind: tString, text: s, pos: i})
			i = n
		case (c == 't' || c == 'h' || c == 'b') && i+1 < len(src) && src[i+1] == '\'':
			s, n, err := lexString(src, i+1)
			if err != nil {
				return nil, err
			}
			toks = append(toks, token{kind: tTyped, text: s, pre: c, pos: i})
			i = n
		case c == '-' || c >= '0' && c <= '9':
			j := i + 1
			for j < len(src) && src[j] >= '0' && src[j] <= '9' {
				j++
			}
			kind := tInt
			if j < len(src) && src[j] == '.' && j+1 < len(src) && src[j+1] >= '0' && src[j+1] <= '9' {
				kind = tFloat
				j++
				for j < len(src) && src[j] >= '0' && src[j] <= '9' {
					j++
				}
			}
			if src[i:j] == "-" {
				return nil, fmt.Errorf("%w: offset %d: lone '-'", ErrPattern, i)
			}
			toks = append(toks, token{kind: kind, text: src[i:j], pos: i})
			i = j
		case c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_':
			j := i + 1
			for j < len(src) {
				d := src[j]
				if d >= 'a' && d <= 'z' || d >= 'A' && d <= 'Z' || d >= '0' && d <= '9' || d == '_' || d == '-' {
					j++
					continue
				}
				break
			}
			w := src[i:j]
			k := tIdent
			if keywords[w] {
				k = tKeyword
			}
			toks = append(toks, token{kind: k, text: w, pos: i})
			i = j
		default:
			r, _ := utf8.DecodeRuneInString(src[i:])
			return nil, fmt.Errorf("%w: offset %d: unexpected character %q", ErrPattern, i, r)
		}
		if len(toks) > 8*MaxPatternTerms {
			return nil, fmt.Errorf("%w: more than %d tokens", ErrPattern, 8*MaxPatternTerms)
		}
	}
	return append(toks, token{kind: tEOF, pos: len(src)}), nil
}

// lexString reads a quoted string starting at src[i] == '\” with \' and \\ escapes.
func lexString(src string, i int) (string, int, error) {
	var b strings.Builder
	for j := i + 1; j < len(src); j++ {
		switch src[j] {
		case '\\':
			if j+1 < len(src) && (src[j+1] == '\'' || src[j+1] == '\\') {
				b.WriteByte(src[j+1])
				j++
				continue
			}
			return "", 0, fmt.Errorf("%w: offset %d: bad escape in string", ErrPattern, j)
		case '\'':
			return b.String(), j + 1, nil
		default:
			b.WriteByte(src[j])
		}
	}
	return "", 0, fmt.Errorf("%w: offset %d: unterminated string", ErrPattern, i)
}

// ---- AST ----

// Qualifier is a parsed WITHIN, REPEATS or START/STOP qualifier.
type Qualifier struct {
	Kind    string // "WITHIN", "REPEATS", "START"
	Seconds float64
	Times   int
	Start   time.Time
	Stop    time.Time
}

type obsNode interface{ obs() }

type obsBracket struct {
	cmp   cmpNode
	quals []Qualifier
}

type obsBinary struct {
	op    string // AND, OR, FOLLOWEDBY
	l, r  obsNode
	quals []Qualifier
}

func (*obsBracket) obs() {}
func (*obsBinary) obs()  {}

type cmpNode interface{ cmp() }

type cmpBinary struct {
	op   string // AND, OR
	l, r cmpNode
}

type literal struct {
	kind byte // 's' string, 'i' int, 'f' float, 'b' bool, 't' timestamp, 'h' hex, 'x' binary(base64)
	s    string
	f    float64
	t    time.Time
}

type cmpTest struct {
	path   ObjectPath
	neg    bool
	op     string // = != < <= > >= IN LIKE MATCHES ISSUBSET ISSUPERSET EXISTS
	val    literal
	set    []literal
	re     *regexp.Regexp
	prefix netip.Prefix // for ISSUBSET, ISSUPERSET and CIDR "="
	fields []string
	fold   bool
}

func (*cmpBinary) cmp() {}
func (*cmpTest) cmp()   {}

// ---- parser ----

type parser struct {
	toks  []token
	i     int
	depth int
	terms int
	src   string
}

func (p *parser) peek() token { return p.toks[p.i] }
func (p *parser) next() token {
	t := p.toks[p.i]
	if t.kind != tEOF {
		p.i++
	}
	return t
}
func (p *parser) errf(format string, args ...any) error {
	return fmt.Errorf("%w: offset %d: %s", ErrPattern, p.peek().pos, fmt.Sprintf(format, args...))
}
func (p *parser) is(kind tokKind, text string) bool {
	t := p.peek()
	return t.kind == kind && t.text == text
}
func (p *parser) expect(kind tokKind, text string) error {
	if !p.is(kind, text) {
		return p.errf("expected %q", text)
	}
	p.next()
	return nil
}
func (p *parser) enter() error {
	p.depth++
	if p.depth > MaxPatternDepth {
		return p.errf("nesting deeper than %d", MaxPatternDepth)
	}
	return nil
}

// ParsePattern parses a STIX 2.1 pattern.
func ParsePattern(src string) (*Pattern, error) {
	if len(src) > MaxPatternLen {
		return nil, fmt.Errorf("%w: longer than %d bytes", ErrPattern, MaxPatternLen)
	}
	toks, err := lex(src)
	if err != nil {
		return nil, err
	}
	p := &parser{toks: toks, src: src}
	root, err := p.observations()
	if err != nil {
		return nil, err
	}
	if p.peek().kind != tEOF {
		return nil, p.errf("unexpected %q after pattern", p.peek().text)
	}
	pat := &Pattern{Source: src, root: root}
	pat.Evaluable, pat.NotEvaluated = evaluable(root)
	seen := map[string]bool{}
	walkTests(root, func(t *cmpTest) {
		if t.fields == nil && !seen[t.path.key()] {
			seen[t.path.key()] = true
			pat.Unmapped = append(pat.Unmapped, t.path.String())
		}
	})
	return pat, nil
}

func evaluable(n obsNode) (bool, string) {
	switch n := n.(type) {
	case *obsBracket:
		if len(n.quals) > 0 {
			return false, "qualifier " + n.quals[0].Kind + " needs observations over time"
		}
	case *obsBinary:
		if len(n.quals) > 0 {
			return false, "qualifier " + n.quals[0].Kind + " needs observations over time"
		}
		if n.op != "OR" {
			return false, "observation operator " + n.op + " needs more than one observation"
		}
		if ok, why := evaluable(n.l); !ok {
			return ok, why
		}
		return evaluable(n.r)
	}
	return true, ""
}

// observations := orObs (FOLLOWEDBY orObs)*  — FOLLOWEDBY binds loosest.
func (p *parser) observations() (obsNode, error) {
	return p.obsLevel(0)
}

var obsOps = []string{"FOLLOWEDBY", "OR", "AND"}

func (p *parser) obsLevel(level int) (obsNode, error) {
	if level == len(obsOps) {
		return p.obsPrimary()
	}
	l, err := p.obsLevel(level + 1)
	if err != nil {
		return nil, err
	}
	for p.is(tKeyword, obsOps[level]) {
		p.next()
		r, err := p.obsLevel(level + 1)
		if err != nil {
			return nil, err
		}
		l = &obsBinary{op: obsOps[level], l: l, r: r}
	}
	return l, nil
}

func (p *parser) obsPrimary() (obsNode, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer func() { p.depth-- }()
	var n obsNode
	switch {
	case p.is(tPunct, "["):
		p.next()
		c, err := p.cmpOr()
		if err != nil {
			return nil, err
		}
		if err := p.expect(tPunct, "]"); err != nil {
			return nil, err
		}
		n = &obsBracket{cmp: c}
	case p.is(tPunct, "("):
		p.next()
		inner, err := p.observations()
		if err != nil {
			return nil, err
		}
		if err := p.expect(tPunct, ")"); err != nil {
			return nil, err
		}
		n = inner
	default:
		return nil, p.errf("expected '[' or '(' to start an observation expression")
	}
	for {
		q, ok, err := p.qualifier()
		if err != nil {
			return nil, err
		}
		if !ok {
			return n, nil
		}
		switch n := n.(type) {
		case *obsBracket:
			n.quals = append(n.quals, q)
		case *obsBinary:
			n.quals = append(n.quals, q)
		}
	}
}

func (p *parser) qualifier() (Qualifier, bool, error) {
	switch {
	case p.is(tKeyword, "WITHIN"):
		p.next()
		t := p.next()
		if t.kind != tInt && t.kind != tFloat {
			return Qualifier{}, false, p.errf("WITHIN needs a number of seconds")
		}
		f, err := strconv.ParseFloat(t.text, 64)
		if err != nil || f <= 0 {
			return Qualifier{}, false, p.errf("WITHIN needs a positive number")
		}
		if err := p.expect(tKeyword, "SECONDS"); err != nil {
			return Qualifier{}, false, err
		}
		return Qualifier{Kind: "WITHIN", Seconds: f}, true, nil
	case p.is(tKeyword, "REPEATS"):
		p.next()
		t := p.next()
		n, err := strconv.Atoi(t.text)
		if t.kind != tInt || err != nil || n <= 0 {
			return Qualifier{}, false, p.errf("REPEATS needs a positive integer")
		}
		if err := p.expect(tKeyword, "TIMES"); err != nil {
			return Qualifier{}, false, err
		}
		return Qualifier{Kind: "REPEATS", Times: n}, true, nil
	case p.is(tKeyword, "START"):
		p.next()
		start, err := p.timestamp()
		if err != nil {
			return Qualifier{}, false, err
		}
		if err := p.expect(tKeyword, "STOP"); err != nil {
			return Qualifier{}, false, err
		}
		stop, err := p.timestamp()
		if err != nil {
			return Qualifier{}, false, err
		}
		if !stop.After(start) {
			return Qualifier{}, false, p.errf("STOP must be after START")
		}
		return Qualifier{Kind: "START", Start: start, Stop: stop}, true, nil
	}
	return Qualifier{}, false, nil
}

func (p *parser) timestamp() (time.Time, error) {
	t := p.next()
	if t.kind != tTyped || t.pre != 't' {
		return time.Time{}, p.errf("expected a timestamp t'…'")
	}
	ts, err := time.Parse(time.RFC3339Nano, t.text)
	if err != nil {
		return time.Time{}, p.errf("bad timestamp %q", t.text)
	}
	return ts, nil
}

func (p *parser) cmpOr() (cmpNode, error) {
	l, err := p.cmpAnd()
	if err != nil {
		return nil, err
	}
	for p.is(tKeyword, "OR") {
		p.next()
		r, err := p.cmpAnd()
		if err != nil {
			return nil, err
		}
		l = &cmpBinary{op: "OR", l: l, r: r}
	}
	return l, nil
}

func (p *parser) cmpAnd() (cmpNode, error) {
	l, err := p.cmpPrimary()
	if err != nil {
		return nil, err
	}
	for p.is(tKeyword, "AND") {
		p.next()
		r, err := p.cmpPrimary()
		if err != nil {
			return nil, err
		}
		l = &cmpBinary{op: "AND", l: l, r: r}
	}
	return l, nil
}

func (p *parser) cmpPrimary() (cmpNode, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer func() { p.depth-- }()
	if p.is(tPunct, "(") {
		p.next()
		c, err := p.cmpOr()
		if err != nil {
			return nil, err
		}
		return c, p.expect(tPunct, ")")
	}
	p.terms++
	if p.terms > MaxPatternTerms {
		return nil, p.errf("more than %d comparisons", MaxPatternTerms)
	}
	t := &cmpTest{}
	if p.is(tKeyword, "EXISTS") {
		p.next()
		path, err := p.objectPath()
		if err != nil {
			return nil, err
		}
		t.path, t.op = path, "EXISTS"
		t.bind()
		return t, nil
	}
	path, err := p.objectPath()
	if err != nil {
		return nil, err
	}
	t.path = path
	if p.is(tKeyword, "NOT") {
		p.next()
		t.neg = true
	}
	op := p.next()
	switch {
	case op.kind == tOp:
		t.op = op.text
		if t.val, err = p.literal(); err != nil {
			return nil, err
		}
	case op.kind == tKeyword && op.text == "IN":
		t.op = "IN"
		if err := p.expect(tPunct, "("); err != nil {
			return nil, err
		}
		for {
			v, err := p.literal()
			if err != nil {
				return nil, err
			}
			t.set = append(t.set, v)
			if len(t.set) > MaxPatternTerms {
				return nil, p.errf("IN set larger than %d", MaxPatternTerms)
			}
			if p.is(tPunct, ",") {
				p.next()
				continue
			}
			if err := p.expect(tPunct, ")"); err != nil {
				return nil, err
			}
			break
		}
	case op.kind == tKeyword && (op.text == "LIKE" || op.text == "MATCHES" || op.text == "ISSUBSET" || op.text == "ISSUPERSET"):
		t.op = op.text
		s := p.next()
		if s.kind != tString {
			return nil, p.errf("%s needs a string", op.text)
		}
		t.val = literal{kind: 's', s: s.text}
		switch op.text {
		case "LIKE":
			t.re, err = regexp.Compile(likeToRegexp(s.text))
		case "MATCHES":
			if len(s.text) > MaxRegexpLen {
				return nil, p.errf("MATCHES regexp longer than %d bytes", MaxRegexpLen)
			}
			t.re, err = regexp.Compile(s.text)
		default:
			t.prefix, err = parsePrefixOrAddr(s.text)
		}
		if err != nil {
			return nil, p.errf("%s %q: %v", op.text, clip(s.text), err)
		}
	default:
		return nil, p.errf("expected a comparison operator after %s", path)
	}
	if t.op == "=" || t.op == "!=" {
		if pfx, err := netip.ParsePrefix(t.val.s); err == nil && t.val.kind == 's' && (path.ObjectType == "ipv4-addr" || path.ObjectType == "ipv6-addr") {
			t.prefix = pfx.Masked()
		}
	}
	t.bind()
	return t, nil
}

func (t *cmpTest) bind() {
	k := t.path.key()
	t.fields = pathFields[k]
	t.fold = strings.Contains(k, ":hashes.") || k == "domain-name:value" || k == "email-addr:value" || strings.HasSuffix(k, "_ref.value") && strings.HasPrefix(k, "email")
	if t.fold {
		t.val.s = strings.ToLower(t.val.s)
		for i := range t.set {
			t.set[i].s = strings.ToLower(t.set[i].s)
		}
	}
}

func parsePrefixOrAddr(s string) (netip.Prefix, error) {
	if p, err := netip.ParsePrefix(s); err == nil {
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, errors.New("not an address or CIDR prefix")
	}
	return netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()), nil
}

func likeToRegexp(s string) string {
	var b strings.Builder
	b.WriteString("^(?s)")
	for _, r := range s {
		switch r {
		case '%':
			b.WriteString(".*")
		case '_':
			b.WriteString(".")
		default:
			b.WriteString(regexp.QuoteMeta(string(r)))
		}
	}
	b.WriteByte('$')
	return b.String()
}

func (p *parser) objectPath() (ObjectPath, error) {
	t := p.next()
	if t.kind != tIdent {
		return ObjectPath{}, p.errf("expected an object type")
	}
	path := ObjectPath{ObjectType: t.text}
	if err := p.expect(tPunct, ":"); err != nil {
		return ObjectPath{}, err
	}
	first := p.next()
	if first.kind != tIdent && first.kind != tString {
		return ObjectPath{}, p.errf("expected a property name")
	}
	path.Steps = append(path.Steps, first.text)
	for {
		switch {
		case p.is(tPunct, "."):
			p.next()
			s := p.next()
			if s.kind != tIdent && s.kind != tString {
				return ObjectPath{}, p.errf("expected a property name after '.'")
			}
			path.Steps = append(path.Steps, s.text)
		case p.is(tPunct, "["):
			p.next()
			s := p.next()
			if !(s.kind == tPunct && s.text == "*") && s.kind != tInt {
				return ObjectPath{}, p.errf("expected '*' or an index")
			}
			path.Steps = append(path.Steps, "["+s.text+"]")
			if err := p.expect(tPunct, "]"); err != nil {
				return ObjectPath{}, err
			}
		default:
			if len(path.Steps) > 64 {
				return ObjectPath{}, p.errf("object path too long")
			}
			return path, nil
		}
	}
}

func (p *parser) literal() (literal, error) {
	t := p.next()
	switch t.kind {
	case tString:
		return literal{kind: 's', s: t.text}, nil
	case tInt, tFloat:
		f, err := strconv.ParseFloat(t.text, 64)
		if err != nil {
			return literal{}, p.errf("bad number %q", t.text)
		}
		k := byte('i')
		if t.kind == tFloat {
			k = 'f'
		}
		return literal{kind: k, s: t.text, f: f}, nil
	case tKeyword:
		if t.text == "true" || t.text == "false" {
			return literal{kind: 'b', s: t.text}, nil
		}
	case tTyped:
		switch t.pre {
		case 't':
			ts, err := time.Parse(time.RFC3339Nano, t.text)
			if err != nil {
				return literal{}, p.errf("bad timestamp %q", t.text)
			}
			return literal{kind: 't', s: t.text, t: ts}, nil
		case 'h':
			if len(t.text)%2 != 0 || (t.text != "" && !isHex(t.text)) {
				return literal{}, p.errf("bad hex literal")
			}
			return literal{kind: 'h', s: strings.ToLower(t.text)}, nil
		case 'b':
			return literal{kind: 'x', s: t.text}, nil
		}
	}
	return literal{}, p.errf("expected a literal")
}

func walkTests(n obsNode, f func(*cmpTest)) {
	var cmpWalk func(c cmpNode)
	cmpWalk = func(c cmpNode) {
		switch c := c.(type) {
		case *cmpBinary:
			cmpWalk(c.l)
			cmpWalk(c.r)
		case *cmpTest:
			f(c)
		}
	}
	switch n := n.(type) {
	case *obsBracket:
		cmpWalk(n.cmp)
	case *obsBinary:
		walkTests(n.l, f)
		walkTests(n.r, f)
	}
}

// ---- evaluation ----

// Match evaluates an Evaluable pattern against one event; it returns false
// for patterns that are not evaluable.
func (pat *Pattern) Match(ev Event) bool {
	if !pat.Evaluable {
		return false
	}
	return matchObs(pat.root, ev)
}

func matchObs(n obsNode, ev Event) bool {
	switch n := n.(type) {
	case *obsBracket:
		return matchCmp(n.cmp, ev)
	case *obsBinary:
		return matchObs(n.l, ev) || matchObs(n.r, ev)
	}
	return false
}

func matchCmp(c cmpNode, ev Event) bool {
	switch c := c.(type) {
	case *cmpBinary:
		if c.op == "AND" {
			return matchCmp(c.l, ev) && matchCmp(c.r, ev)
		}
		return matchCmp(c.l, ev) || matchCmp(c.r, ev)
	case *cmpTest:
		return c.eval(ev) != c.neg
	}
	return false
}

func (t *cmpTest) eval(ev Event) bool {
	found := false
	for _, f := range t.fields {
		for _, v := range ev.Values(f) {
			found = true
			if t.op != "EXISTS" && t.test(v) {
				return true
			}
		}
	}
	return t.op == "EXISTS" && found
}

func (t *cmpTest) test(v string) bool {
	if t.fold {
		v = strings.ToLower(v)
	}
	switch t.op {
	case "=":
		return t.equal(v, t.val)
	case "!=":
		return !t.equal(v, t.val)
	case "<", "<=", ">", ">=":
		c, ok := compare(v, t.val)
		if !ok {
			return false
		}
		switch t.op {
		case "<":
			return c < 0
		case "<=":
			return c <= 0
		case ">":
			return c > 0
		}
		return c >= 0
	case "IN":
		for _, l := range t.set {
			if t.equal(v, l) {
				return true
			}
		}
		return false
	case "LIKE", "MATCHES":
		return t.re.MatchString(v)
	case "ISSUBSET":
		ip, err := parsePrefixOrAddr(v)
		return err == nil && t.prefix.Bits() <= ip.Bits() && t.prefix.Contains(ip.Addr())
	case "ISSUPERSET":
		ip, err := parsePrefixOrAddr(v)
		return err == nil && ip.Bits() <= t.prefix.Bits() && ip.Contains(t.prefix.Addr())
	}
	return false
}

func (t *cmpTest) equal(v string, l literal) bool {
	if t.prefix.IsValid() && l.s == t.val.s {
		a, err := netip.ParseAddr(v)
		return err == nil && t.prefix.Contains(a.Unmap())
	}
	switch l.kind {
	case 'i', 'f':
		f, err := strconv.ParseFloat(v, 64)
		return err == nil && f == l.f
	case 'b':
		return strings.EqualFold(v, l.s)
	case 't':
		ts, err := time.Parse(time.RFC3339Nano, v)
		return err == nil && ts.Equal(l.t)
	}
	return v == l.s
}

func compare(v string, l literal) (int, bool) {
	switch l.kind {
	case 'i', 'f':
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return 0, false
		}
		switch {
		case f < l.f:
			return -1, true
		case f > l.f:
			return 1, true
		}
		return 0, true
	case 't':
		ts, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			return 0, false
		}
		return ts.Compare(l.t), true
	case 's':
		return strings.Compare(v, l.s), true
	}
	return 0, false
}

// ---- compilation to plain indicators ----

// simplePathTypes are the paths whose "=" comparisons compile into plain
// indicators.
var simplePathTypes = map[string]Type{
	"ipv4-addr:value":     TypeIPv4,
	"ipv6-addr:value":     TypeIPv6,
	"domain-name:value":   TypeDomain,
	"url:value":           TypeURL,
	"file:hashes.md5":     TypeMD5,
	"file:hashes.sha-1":   TypeSHA1,
	"file:hashes.sha1":    TypeSHA1,
	"file:hashes.sha-256": TypeSHA256,
	"file:hashes.sha256":  TypeSHA256,
	"file:name":           TypeFilename,
	"email-addr:value":    TypeEmail,
}

// SimpleValue is one value of a simple pattern.
type SimpleValue struct {
	Type  Type
	Value string // as written in the pattern, not yet normalised
}

// Simple returns the values of a simple pattern: a single observation,
// without qualifiers, whose comparisons are all "=" (or IN) on a path in
// the simple table and joined only with OR, as in
// [domain-name:value = 'a.example' OR ipv4-addr:value = '192.0.2.1'].
// Observation expressions joined with OR are simple when each is. It
// returns false for any other pattern.
func (pat *Pattern) Simple() ([]SimpleValue, bool) {
	var out []SimpleValue
	var cmpWalk func(c cmpNode) bool
	cmpWalk = func(c cmpNode) bool {
		switch c := c.(type) {
		case *cmpBinary:
			return c.op == "OR" && cmpWalk(c.l) && cmpWalk(c.r)
		case *cmpTest:
			typ, ok := simplePathTypes[c.path.key()]
			if !ok || c.neg {
				return false
			}
			if typ == TypeIPv4 || typ == TypeIPv6 {
				if strings.Contains(c.val.s, "/") {
					typ = TypeCIDR
				}
			}
			switch c.op {
			case "=":
				if c.val.kind != 's' {
					return false
				}
				out = append(out, SimpleValue{Type: typ, Value: c.val.s})
				return true
			case "IN":
				for _, l := range c.set {
					if l.kind != 's' {
						return false
					}
					t := typ
					if (t == TypeIPv4 || t == TypeIPv6) && strings.Contains(l.s, "/") {
						t = TypeCIDR
					}
					out = append(out, SimpleValue{Type: t, Value: l.s})
				}
				return true
			}
		}
		return false
	}
	var obsWalk func(n obsNode) bool
	obsWalk = func(n obsNode) bool {
		switch n := n.(type) {
		case *obsBracket:
			return len(n.quals) == 0 && cmpWalk(n.cmp)
		case *obsBinary:
			return len(n.quals) == 0 && n.op == "OR" && obsWalk(n.l) && obsWalk(n.r)
		}
		return false
	}
	if !obsWalk(pat.root) {
		return nil, false
	}
	return out, true
}
