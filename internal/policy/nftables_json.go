package policy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// ParseNftJSON parses the output of "nft -j list ruleset" (the libnftables
// JSON schema) for the family fam. Tables, chains and rules are mapped as
// described in the notes at the top of nftables.go: filter base chains on
// the input, forward and output hooks become INPUT, FORWARD and OUTPUT,
// regular chains become user chains, goto is a jump and a return under the
// same match, and every expression the model cannot represent exactly is an
// error naming the table, chain and rule handle.
//
// JSON has no lines: Rule.Line (and the lines of findings and decisions) is
// the 1-based position of the rule's or chain's object in the "nftables"
// array, and Rule.ID is "handle N".
func ParseNftJSON(r io.Reader, fam Family) (*RuleSet, error) {
	if fam != IPv4 && fam != IPv6 {
		return nil, fmt.Errorf("policy: unknown family %d", fam)
	}
	data, err := io.ReadAll(io.LimitReader(r, MaxInputBytes+1))
	if err != nil {
		return nil, fmt.Errorf("policy: read: %w", err)
	}
	if len(data) > MaxInputBytes {
		return nil, fmt.Errorf("%w: more than %d bytes", ErrTooLarge, MaxInputBytes)
	}
	var top struct {
		Nftables []map[string]json.RawMessage `json:"nftables"`
	}
	if err := json.Unmarshal(data, &top); err != nil {
		return nil, fmt.Errorf("policy: nft-json: %w", err)
	}
	if top.Nftables == nil {
		return nil, errors.New(`policy: nft-json: no "nftables" array`)
	}
	doc := &nftDoc{}
	type pendingRule struct {
		idx int
		raw json.RawMessage
	}
	var rules []pendingRule
	for i, obj := range top.Nftables {
		idx := i + 1
		if len(obj) != 1 {
			return nil, fmt.Errorf("policy: nft-json: object %d has %d keys, want 1", idx, len(obj))
		}
		for kind, raw := range obj {
			var err error
			switch kind {
			case "metainfo":
			case "table":
				var t struct{ Family, Name string }
				if err = json.Unmarshal(raw, &t); err == nil {
					doc.table(t.Family, t.Name, idx)
				}
			case "chain":
				err = jsonChain(doc, raw, idx)
			case "set", "map":
				err = jsonSet(doc, kind, raw)
			case "rule":
				rules = append(rules, pendingRule{idx, raw})
				err = doc.countRule()
			default:
				doc.skipped = append(doc.skipped, Skipped{Line: idx, Reason: kind + " object is not analysed"})
			}
			if err != nil {
				if errors.Is(err, ErrTooLarge) {
					return nil, err
				}
				return nil, fmt.Errorf("policy: nft-json: object %d (%s): %w", idx, kind, err)
			}
		}
	}
	// Rules may come before their chain in hand-made input: attach them last.
	for _, pr := range rules {
		if err := jsonRule(doc, pr.raw, pr.idx); err != nil {
			if errors.Is(err, ErrTooLarge) {
				return nil, err
			}
			return nil, fmt.Errorf("policy: nft-json: object %d (rule): %w", pr.idx, err)
		}
	}
	return buildNft(doc, fam, "nft-json", func(_ int, where, msg string) error {
		return fmt.Errorf("policy: nft-json: %s: %s", where, msg)
	})
}

func jsonChain(doc *nftDoc, raw json.RawMessage, idx int) error {
	var c struct {
		Family, Table, Name string
		Handle              int64
		Type, Hook, Policy  string
		Prio                json.RawMessage
	}
	if err := json.Unmarshal(raw, &c); err != nil {
		return err
	}
	t := findTable(doc, c.Family, c.Table)
	if t == nil {
		return fmt.Errorf("chain %s in undeclared table %s %s", c.Name, c.Family, c.Table)
	}
	ch := &nftChainSrc{name: c.Name, typ: c.Type, hook: c.Hook, policy: c.Policy, base: c.Hook != "", line: idx,
		where: fmt.Sprintf("chain %s %s handle %d", t, c.Name, c.Handle)}
	if c.Name == "" {
		return errors.New("chain without a name")
	}
	return doc.addChain(t, ch)
}

func findTable(doc *nftDoc, family, name string) *nftTable {
	for _, t := range doc.tables {
		if t.family == family && t.name == name {
			return t
		}
	}
	return nil
}

func jsonSet(doc *nftDoc, kind string, raw json.RawMessage) error {
	var s struct {
		Family, Table, Name string
		Type                json.RawMessage
		Elem                []json.RawMessage
	}
	if err := json.Unmarshal(raw, &s); err != nil {
		return err
	}
	t := findTable(doc, s.Family, s.Table)
	if t == nil {
		return fmt.Errorf("%s %s in undeclared table %s %s", kind, s.Name, s.Family, s.Table)
	}
	if t.sets[s.Name] != nil {
		return fmt.Errorf("set %s declared twice in table %s", s.Name, t)
	}
	set := &nftSetSrc{name: s.Name}
	t.sets[s.Name] = set
	switch {
	case kind == "map":
		set.unusable = "a map"
		return nil
	case bytes.HasPrefix(bytes.TrimSpace(s.Type), []byte("[")):
		set.unusable = "a concatenation"
		return nil
	}
	if err := doc.countElems(len(s.Elem)); err != nil {
		return err
	}
	for _, e := range s.Elem {
		v, err := jsonValue(doc, e, 0)
		if err != nil {
			return fmt.Errorf("set %s: %w", s.Name, err)
		}
		set.elems = append(set.elems, v)
	}
	return nil
}

func jsonRule(doc *nftDoc, raw json.RawMessage, idx int) error {
	var r struct {
		Family, Table, Chain string
		Handle               int64
		Comment              string
		Expr                 []map[string]json.RawMessage
	}
	if err := json.Unmarshal(raw, &r); err != nil {
		return err
	}
	t := findTable(doc, r.Family, r.Table)
	if t == nil || t.byName[r.Chain] == nil {
		return fmt.Errorf("rule for undeclared chain %s %s %s", r.Family, r.Table, r.Chain)
	}
	c := t.byName[r.Chain]
	src := &nftRuleSrc{line: idx, where: fmt.Sprintf("chain %s %s rule handle %d", t, r.Chain, r.Handle), comment: r.Comment}
	if r.Handle != 0 {
		src.id = "handle " + strconv.FormatInt(r.Handle, 10)
	}
	var text []string
	for _, e := range r.Expr {
		if len(e) != 1 {
			return fmt.Errorf("%s: expression with %d keys", src.where, len(e))
		}
		for k, v := range e {
			s, desc, err := jsonStmt(doc, k, v)
			if err != nil {
				return fmt.Errorf("%s: %w", src.where, err)
			}
			src.stmts = append(src.stmts, s)
			text = append(text, desc)
		}
	}
	src.text = strings.Join(text, " ")
	if r.Comment != "" {
		src.text += " comment " + strconv.Quote(r.Comment)
	}
	c.rules = append(c.rules, src)
	return nil
}

// jsonStmt decodes one statement and renders it in nft's text syntax for
// Rule.Text.
func jsonStmt(doc *nftDoc, k string, raw json.RawMessage) (nftStmt, string, error) {
	switch k {
	case "accept", "drop", "continue", "return":
		return nftStmt{verdict: k}, k, nil
	case "jump", "goto":
		var v struct{ Target string }
		if err := json.Unmarshal(raw, &v); err != nil || v.Target == "" {
			return nftStmt{}, "", fmt.Errorf("%s without a target", k)
		}
		return nftStmt{verdict: k, target: v.Target}, k + " " + v.Target, nil
	case "reject":
		var v struct{ Type string }
		if !bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
			if err := json.Unmarshal(raw, &v); err != nil {
				return nftStmt{}, "", fmt.Errorf("reject: %w", err)
			}
		}
		if v.Type == "tcp reset" {
			return nftStmt{verdict: k, tcpReset: true}, "reject with tcp reset", nil
		}
		return nftStmt{verdict: k}, "reject", nil
	case "counter":
		return nftStmt{counter: true}, "counter", nil
	case "log":
		return nftStmt{log: true}, "log", nil
	case "match":
		var m struct {
			Op          string
			Left, Right json.RawMessage
		}
		if err := json.Unmarshal(raw, &m); err != nil {
			return nftStmt{}, "", fmt.Errorf("match: %w", err)
		}
		key, err := jsonKey(m.Left)
		if err != nil {
			return nftStmt{unsupported: err.Error()}, "?", nil
		}
		s := nftStmt{key: key}
		switch m.Op {
		case "==", "in":
		case "!=":
			s.neg = true
		default:
			return nftStmt{unsupported: fmt.Sprintf("operator %q on %s", m.Op, key)}, "?", nil
		}
		v, err := jsonValue(doc, m.Right, 0)
		if err != nil {
			return nftStmt{unsupported: fmt.Sprintf("value of %s: %v", key, err)}, "?", nil
		}
		s.val = v
		op := ""
		if s.neg {
			op = "!= "
		}
		return s, strings.TrimPrefix(key, "meta ") + " " + op + v.String(), nil
	}
	return nftStmt{unsupported: fmt.Sprintf("statement %q", k)}, k, nil
}

func jsonKey(raw json.RawMessage) (string, error) {
	var l struct {
		Payload *struct {
			Protocol, Field string
		}
		Meta *struct{ Key string }
		Ct   *struct{ Key, Dir string }
	}
	if err := json.Unmarshal(raw, &l); err != nil {
		return "", fmt.Errorf("match left side: %w", err)
	}
	switch {
	case l.Payload != nil && l.Payload.Protocol != "":
		return l.Payload.Protocol + " " + l.Payload.Field, nil
	case l.Meta != nil:
		return "meta " + l.Meta.Key, nil
	case l.Ct != nil && l.Ct.Dir == "":
		return "ct " + l.Ct.Key, nil
	}
	return "", fmt.Errorf("match on %s", truncate(string(raw)))
}

// jsonValue decodes a right-hand value: a string ("@name" refers to a named
// set), a number, an array (flags or a set), {"prefix"}, {"range"},
// {"set"} or, in set declarations, {"elem": {"val": …}}.
func jsonValue(doc *nftDoc, raw json.RawMessage, depth int) (nftVal, error) {
	if depth > 2 {
		return nftVal{}, errors.New("value nested too deep")
	}
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return nftVal{}, errors.New("missing value")
	}
	switch raw[0] {
	case '"':
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nftVal{}, err
		}
		if name, ok := strings.CutPrefix(s, "@"); ok {
			return nftVal{kind: valRef, s: name}, nil
		}
		return nftVal{kind: valScalar, s: s, quoted: true}, nil
	case '[':
		var elems []json.RawMessage
		if err := json.Unmarshal(raw, &elems); err != nil {
			return nftVal{}, err
		}
		return jsonSetValue(doc, elems, depth)
	case '{':
		var o struct {
			Prefix *struct {
				Addr string
				Len  int
			}
			Range []json.RawMessage
			Set   []json.RawMessage
			Elem  *struct{ Val json.RawMessage }
		}
		if err := json.Unmarshal(raw, &o); err != nil {
			return nftVal{}, err
		}
		switch {
		case o.Prefix != nil:
			return nftVal{kind: valPrefix, s: o.Prefix.Addr, bits: o.Prefix.Len}, nil
		case len(o.Range) == 2:
			lo, err1 := jsonScalar(o.Range[0])
			hi, err2 := jsonScalar(o.Range[1])
			if err := errors.Join(err1, err2); err != nil {
				return nftVal{}, err
			}
			return nftVal{kind: valRange, lo: lo, hi: hi}, nil
		case o.Set != nil:
			return jsonSetValue(doc, o.Set, depth)
		case o.Elem != nil:
			return jsonValue(doc, o.Elem.Val, depth+1)
		}
		return nftVal{}, fmt.Errorf("unsupported value %s", truncate(string(raw)))
	}
	s, err := jsonScalar(raw)
	if err != nil {
		return nftVal{}, err
	}
	return nftVal{kind: valScalar, s: s}, nil
}

func jsonSetValue(doc *nftDoc, elems []json.RawMessage, depth int) (nftVal, error) {
	if err := doc.countElems(len(elems)); err != nil {
		return nftVal{}, err
	}
	set := nftVal{kind: valSet}
	for _, e := range elems {
		v, err := jsonValue(doc, e, depth+1)
		if err != nil {
			return v, err
		}
		if v.kind == valSet || v.kind == valRef {
			return v, errors.New("nested set")
		}
		set.elems = append(set.elems, v)
	}
	return set, nil
}

// jsonScalar returns a JSON number or string as text.
func jsonScalar(raw json.RawMessage) (string, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) > 0 && raw[0] == '"' {
		var s string
		err := json.Unmarshal(raw, &s)
		return s, err
	}
	var n json.Number
	if err := json.Unmarshal(raw, &n); err != nil {
		return "", fmt.Errorf("unsupported value %s", truncate(string(raw)))
	}
	return n.String(), nil
}

// String renders a value in nft's text syntax.
func (v nftVal) String() string {
	switch v.kind {
	case valPrefix:
		return v.s + "/" + strconv.Itoa(v.bits)
	case valRange:
		return v.lo + "-" + v.hi
	case valRef:
		return "@" + v.s
	case valSet:
		parts := make([]string, len(v.elems))
		for i, e := range v.elems {
			parts[i] = e.String()
		}
		return "{ " + strings.Join(parts, ", ") + " }"
	}
	if v.quoted && strings.ContainsAny(v.s, " \t*\"") {
		return strconv.Quote(v.s)
	}
	return v.s
}
