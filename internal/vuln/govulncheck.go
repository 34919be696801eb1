package vuln

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
)

// govulncheckImporter reads `govulncheck -json` output in both shapes:
//
//   - the streaming message format (govulncheck v1+): a sequence of JSON
//     objects, each holding one of config, progress, SBOM, osv or finding,
//     either concatenated or wrapped in one array;
//   - the older single object with Calls, Imports, Requires, Vulns and
//     Modules (govulncheck before v1.0).
//
// One finding per (advisory, module): the streaming format repeats a
// finding per trace and per reachability level, the old format one Vulns
// entry per call stack. Severity is the advisory's own word when the
// vulnerability database gives one (custom databases do), else the
// reachability govulncheck established: a vulnerable symbol is called →
// high, a vulnerable package is imported → low, only the module is
// required → info. FixedIn is govulncheck's fixed_version (streaming) or
// the advisory's "fixed" events for the module (old format). Target is the
// scanned main module when the report names it (SBOM or Modules).
//
// A SARIF file (govulncheck -format sarif) is refused with a message that
// points to the sarif format, and an empty file is an error, as in
// DefectDojo.
//
// Fingerprint rule: target module + advisory id + vulnerable module +
// module version.
//
// Corpus (scans/govulncheck), DefectDojo counts and Vigil's:
//   - empty.json: error in both.
//   - many_vulns.json (old format): 3 = 3.
//   - many_vulns_new_version.json 1 = 1, many_vulns_new_version_custom_severity.json
//     2 = 2, no_vulns_new_version.json 0 = 0.
//   - issue_15033.json: 72 = 72 (DefectDojo's v2 parser, same model; 29
//     high, 17 low, 26 info in both).
//   - issue_14642.json: DefectDojo's v1 parser makes 201, one per osv
//     message, including the 150 advisories govulncheck printed but found
//     in no dependency; Vigil, like DefectDojo's v2 parser, imports only the
//     40 (advisory, module) pairs govulncheck reported a finding for.
type govulncheckImporter struct{}

var _ Importer = (*govulncheckImporter)(nil)

func (*govulncheckImporter) Format() string { return "govulncheck" }

func (*govulncheckImporter) Detect(_ string, head []byte) bool {
	if !headLooksJSON(head, "[{") {
		return false
	}
	if bytes.Contains(head, []byte(`"config"`)) && bytes.Contains(head, []byte(`"protocol_version"`)) &&
		bytes.Contains(head, []byte(`"govulncheck"`)) {
		return true
	}
	return bytes.Contains(head, []byte(`"Calls"`)) && bytes.Contains(head, []byte(`"Functions"`)) &&
		bytes.Contains(head, []byte(`"CallSites"`))
}

type govulnFrame struct {
	Module   string `json:"module"`
	Version  string `json:"version"`
	Package  string `json:"package"`
	Function string `json:"function"`
	Receiver string `json:"receiver"`
	Position *struct {
		Filename string `json:"filename"`
		Line     int    `json:"line"`
		Column   int    `json:"column"`
	} `json:"position"`
}

type govulnMessage struct {
	Config   *json.RawMessage `json:"config"`
	Progress *json.RawMessage `json:"progress"`
	SBOM     *struct {
		Modules []struct {
			Path    string `json:"path"`
			Version string `json:"version"`
		} `json:"modules"`
	} `json:"SBOM"`
	OSV     *osvRecord `json:"osv"`
	Finding *struct {
		OSV          string        `json:"osv"`
		FixedVersion string        `json:"fixed_version"`
		Trace        []govulnFrame `json:"trace"`
	} `json:"finding"`
	// SARIF's keys, to refuse such a file with a helpful message.
	Runs *json.RawMessage `json:"runs"`
}

type govulnOld struct {
	Calls *json.RawMessage `json:"Calls"`
	Vulns []struct {
		OSV         *osvRecord `json:"OSV"`
		Symbol      string     `json:"Symbol"`
		PkgPath     string     `json:"PkgPath"`
		ModPath     string     `json:"ModPath"`
		CallSink    int        `json:"CallSink"`
		ImportSink  int        `json:"ImportSink"`
		RequireSink int        `json:"RequireSink"`
	} `json:"Vulns"`
	Modules []struct {
		Path    string `json:"Path"`
		Version string `json:"Version"`
	} `json:"Modules"`
}

var errGovulnSARIF = errors.New("this is a SARIF report (govulncheck -format sarif): import it with the sarif format")

// govulnLevel ranks reachability: module < package < symbol.
type govulnLevel int

const (
	govulnModule govulnLevel = iota
	govulnPackage
	govulnSymbol
)

func (l govulnLevel) severity() Severity {
	switch l {
	case govulnSymbol:
		return SeverityHigh
	case govulnPackage:
		return SeverityLow
	}
	return SeverityInfo
}

func (l govulnLevel) String() string {
	return [...]string{"module required", "package imported", "vulnerable symbol called"}[l]
}

// govulnAcc accumulates one (advisory, module) pair.
type govulnAcc struct {
	osv, module, version, fixed string
	level                       govulnLevel
	pkg, symbol, where          string
}

func (*govulncheckImporter) Import(ctx context.Context, r io.Reader) ([]Finding, error) {
	const format = "govulncheck"
	data, err := readAll(r)
	if err != nil {
		return nil, err
	}
	lead := len(data) - len(bytes.TrimLeft(data, " \t\r\n\xef\xbb\xbf"))
	trimmed := data[lead:]
	if len(bytes.TrimSpace(trimmed)) == 0 {
		return nil, errAt(format, data, int64(len(data)), errors.New("empty input: not a govulncheck JSON report"))
	}
	if trimmed[0] != '{' && trimmed[0] != '[' {
		return nil, errAt(format, data, int64(lead), errors.New("not a govulncheck JSON report: expected an object or array"))
	}
	if trimmed[0] == '{' && bytes.Contains(data[:min(len(data), DetectSize)], []byte(`"Calls"`)) {
		var old govulnOld
		if err := decodeJSON(format, data, &old); err != nil {
			return nil, err
		}
		if old.Calls != nil {
			return govulnOldFindings(&old), nil
		}
	}
	msgs, err := govulnMessages(format, data, lead)
	if err != nil {
		return nil, err
	}
	osvs := map[string]*osvRecord{}
	var target string
	var order []string
	accs := map[string]*govulnAcc{}
	for i, m := range msgs {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		switch {
		case m.Runs != nil:
			return nil, &ParseError{Format: format, Offset: -1, Err: errGovulnSARIF}
		case m.OSV != nil:
			osvs[m.OSV.ID] = m.OSV
		case m.SBOM != nil:
			for _, mod := range m.SBOM.Modules {
				if mod.Version == "" && target == "" {
					target = mod.Path
				}
			}
		case m.Finding != nil:
			fd := m.Finding
			if fd.OSV == "" || len(fd.Trace) == 0 {
				return nil, &ParseError{Format: format, Offset: -1, Err: fmt.Errorf("message %d: finding without osv id or trace", i+1)}
			}
			top := fd.Trace[0]
			key := fd.OSV + "\x00" + top.Module
			a := accs[key]
			if a == nil {
				a = &govulnAcc{osv: fd.OSV, module: top.Module, version: top.Version, fixed: fd.FixedVersion}
				accs[key] = a
				order = append(order, key)
			}
			lvl := govulnModule
			switch {
			case top.Function != "":
				lvl = govulnSymbol
			case top.Package != "":
				lvl = govulnPackage
			}
			if lvl > a.level || a.pkg == "" && top.Package != "" {
				a.level = max(a.level, lvl)
				a.pkg, a.symbol = top.Package, strings.TrimPrefix(top.Receiver+"."+top.Function, ".")
				a.where = govulnWhere(fd.Trace)
			}
		case m.Config == nil && m.Progress == nil:
			return nil, &ParseError{Format: format, Offset: -1, Err: fmt.Errorf("message %d is not a govulncheck message (no config, progress, SBOM, osv or finding)", i+1)}
		}
	}
	out := make([]Finding, 0, len(order))
	for _, key := range order {
		out = append(out, accs[key].finding(target, osvs[accs[key].osv]))
	}
	return finishAll(out), nil
}

// govulnMessages splits the streaming format into messages: one JSON
// array of them, or objects one after another.
func govulnMessages(format string, data []byte, lead int) ([]govulnMessage, error) {
	if data[lead] == '[' {
		var msgs []govulnMessage
		if err := decodeJSON(format, data, &msgs); err != nil {
			return nil, err
		}
		return msgs, nil
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	var msgs []govulnMessage
	for {
		var m govulnMessage
		err := dec.Decode(&m)
		if err == io.EOF {
			return msgs, nil
		}
		if err != nil {
			if errors.Is(err, io.ErrUnexpectedEOF) {
				return nil, errAt(format, data, int64(len(data)), errTruncatedJSON)
			}
			return nil, jsonError(format, data, 0, err)
		}
		msgs = append(msgs, m)
	}
}

// govulnWhere describes the trace: the outermost frame with a position,
// i.e. where the scanned code reaches the vulnerable symbol.
func govulnWhere(trace []govulnFrame) string {
	for i := len(trace) - 1; i >= 0; i-- {
		fr := trace[i]
		if fr.Position != nil && fr.Position.Filename != "" {
			fn := strings.TrimPrefix(fr.Receiver+"."+fr.Function, ".")
			return fmt.Sprintf("%s:%d:%d in %s.%s", fr.Position.Filename, fr.Position.Line, fr.Position.Column, fr.Package, fn)
		}
	}
	return ""
}

func (a *govulnAcc) finding(target string, rec *osvRecord) Finding {
	f := Finding{
		Scanner:     "govulncheck",
		RuleID:      a.osv,
		Title:       strings.TrimSpace(a.osv + " " + a.module + " " + a.version),
		Severity:    a.level.severity(),
		Asset:       Asset{Target: target, Package: a.module, Version: a.version, Component: a.pkg},
		FixedIn:     a.fixed,
		References:  []string{"https://pkg.go.dev/vuln/" + a.osv},
		Fingerprint: fingerprint("govulncheck", target, a.osv, a.module, a.version),
	}
	ev := a.level.String()
	if a.level == govulnSymbol && a.pkg != "" {
		ev += ": " + a.pkg + "." + a.symbol
	} else if a.level == govulnPackage {
		ev += ": " + a.pkg
	}
	if a.where != "" {
		ev += " (" + a.where + ")"
	}
	f.Evidence = ev
	if rec != nil {
		if s := ParseSeverity(rec.Severity.word); s != "" {
			f.Severity = s
		}
		f.Description = strings.TrimSpace(first(strings.TrimSpace(rec.Summary+"\n\n"+rec.Details), rec.Details))
		f.CVEs = osvCVEs(rec.ID, rec.Aliases)
		for _, ref := range rec.References {
			if ref.URL != "" && !slices.Contains(f.References, ref.URL) {
				f.References = append(f.References, ref.URL)
			}
		}
	}
	if f.FixedIn != "" {
		f.Remediation = "Upgrade " + a.module + " to " + f.FixedIn
	}
	return f
}

func govulnOldFindings(old *govulnOld) []Finding {
	var target string
	versions := map[string]string{}
	for _, m := range old.Modules {
		versions[m.Path] = m.Version
		if m.Version == "" && target == "" && m.Path != "stdlib" {
			target = m.Path
		}
	}
	var order []string
	accs := map[string]*govulnAcc{}
	recs := map[string]*osvRecord{}
	for _, v := range old.Vulns {
		if v.OSV == nil || v.OSV.ID == "" {
			continue
		}
		key := v.OSV.ID + "\x00" + v.ModPath
		a := accs[key]
		if a == nil {
			a = &govulnAcc{osv: v.OSV.ID, module: v.ModPath, version: versions[v.ModPath], fixed: osvFixed(v.OSV, v.ModPath)}
			accs[key] = a
			recs[key] = v.OSV
			order = append(order, key)
		}
		lvl := govulnModule
		switch {
		case v.CallSink != 0:
			lvl = govulnSymbol
		case v.ImportSink != 0:
			lvl = govulnPackage
		}
		if lvl > a.level || a.pkg == "" {
			a.level = max(a.level, lvl)
			a.pkg, a.symbol = v.PkgPath, v.Symbol
		}
	}
	out := make([]Finding, 0, len(order))
	for _, key := range order {
		out = append(out, accs[key].finding(target, recs[key]))
	}
	return finishAll(out)
}

// osvFixed lists the "fixed" events of an OSV record's ranges for the
// named package (all packages when name is empty).
func osvFixed(rec *osvRecord, name string) string {
	var fixed []string
	for _, a := range rec.Affected {
		if name != "" && a.Package.Name != "" && !strings.EqualFold(a.Package.Name, name) {
			continue
		}
		for _, rg := range a.Ranges {
			for _, ev := range rg.Events {
				if fx := ev["fixed"]; fx != "" && !slices.Contains(fixed, fx) {
					fixed = append(fixed, fx)
				}
			}
		}
	}
	return strings.Join(fixed, ", ")
}
