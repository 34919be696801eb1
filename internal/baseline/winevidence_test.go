package baseline

import (
	"archive/zip"
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.yaml.in/yaml/v3"

	"github.com/vigil-sec/vigil/internal/testenv"
)

// The PowerShell collector cannot be executed here (no pwsh on this
// machine): these tests check the script's text against the policies, and
// the evaluator against evidence archives written in the documented layout
// (winevidence.go) by the tests themselves.

const windowsCorpus = corpusDir + "/windows"

func TestWindowsCollectorNotExecuted(t *testing.T) {
	if _, err := exec.LookPath("pwsh"); err != nil {
		t.Skip("pwsh is not installed: the generated PowerShell collector is not executed by any test; its text and the evidence it writes are tested instead")
	}
	t.Log("pwsh is installed, but no test executes the collector yet (it reads the Windows registry)")
}

// rawRules walks a policy YAML with a plain decoder, independently of
// Parse: the rule strings of the requirements and of every check that is
// not manual.
func rawRules(t *testing.T, data []byte) []string {
	t.Helper()
	var doc struct {
		Requirements struct {
			Rules []string `yaml:"rules"`
		} `yaml:"requirements"`
		Variables map[string]string `yaml:"variables"`
		Checks    []struct {
			Type  string   `yaml:"type"`
			Rules []string `yaml:"rules"`
		} `yaml:"checks"`
	}
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Variables) > 0 {
		t.Fatalf("policy has variables %v; the extraction below does not expand them", doc.Variables)
	}
	out := append([]string(nil), doc.Requirements.Rules...)
	for _, c := range doc.Checks {
		if c.Type != "manual" {
			out = append(out, c.Rules...)
		}
	}
	return out
}

// expectedEvidence is what a policy's rules name, by the test's own
// reading of the SCA syntax: registry keys (hive long name, lower case),
// command lines without shell syntax, and whether the secedit idiom occurs.
type expectedEvidence struct {
	keys, cmds map[string]bool
	secedit    bool
	others     int // f:, d:, p: rules
}

func extractEvidence(rules []string) expectedEvidence {
	hives := map[string]string{"HKEY_LOCAL_MACHINE": "HKEY_LOCAL_MACHINE", "HKLM": "HKEY_LOCAL_MACHINE",
		"HKEY_CURRENT_USER": "HKEY_CURRENT_USER", "HKCU": "HKEY_CURRENT_USER", "HKEY_USERS": "HKEY_USERS",
		"HKEY_CLASSES_ROOT": "HKEY_CLASSES_ROOT", "HKEY_CURRENT_CONFIG": "HKEY_CURRENT_CONFIG"}
	ex := expectedEvidence{keys: map[string]bool{}, cmds: map[string]bool{}}
	for _, r := range rules {
		r = strings.TrimSpace(r)
		r = strings.TrimPrefix(r, "not ")
		typ, body := r[:2], r[2:]
		parts := strings.Split(body, " -> ")
		switch typ {
		case "r:":
			key := strings.TrimSpace(parts[0])
			i := strings.Index(key, `\`)
			if long, ok := hives[key[:max(i, 0)]]; ok && i > 0 {
				ex.keys[strings.ToLower(long+key[i:])] = true
			}
		case "c:":
			line := body
			if len(parts) > 1 {
				line = strings.Join(parts[:len(parts)-1], " -> ")
			}
			line = strings.TrimSpace(line)
			switch {
			case isSeceditIdiom(line):
				ex.secedit = true
			case !strings.ContainsAny(line, "|;&><`$"):
				ex.cmds[line] = true
			}
		default:
			ex.others++
		}
	}
	return ex
}

// isSeceditIdiom: a PowerShell (by name or path) running secedit /export
// and Select-String on the export.
func isSeceditIdiom(line string) bool {
	prog, rest, _ := strings.Cut(line, " ")
	prog = strings.ToLower(prog[strings.LastIndex(prog, `\`)+1:])
	return (prog == "powershell" || prog == "powershell.exe") && strings.HasPrefix(rest, "secedit /export /cfg ") &&
		strings.Contains(rest, "| Select-String \"")
}

// psArgs reads the single-quoted arguments of one script line.
func psArgs(t *testing.T, line string) []string {
	t.Helper()
	var out []string
	for i := 0; i < len(line); i++ {
		if line[i] != '\'' {
			continue
		}
		var b strings.Builder
		for i++; ; i++ {
			if i >= len(line) {
				t.Fatalf("unterminated quote in %q", line)
			}
			if line[i] == '\'' {
				if i+1 < len(line) && line[i+1] == '\'' {
					b.WriteByte('\'')
					i++
					continue
				}
				break
			}
			b.WriteByte(line[i])
		}
		out = append(out, b.String())
	}
	return out
}

func TestWindowsCollectorCorpus(t *testing.T) {
	dir := testenv.RequireCorpus(t, windowsCorpus)
	files, err := filepath.Glob(filepath.Join(dir, "*.yml"))
	if err != nil || len(files) < 8 {
		t.Fatalf("windows policies: %v %v", files, err)
	}
	seceditPolicies := 0
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			p, err := Parse(data, filepath.Base(f))
			if err != nil {
				t.Fatal(err)
			}
			want := extractEvidence(rawRules(t, data))
			if want.others != 0 || len(want.keys) < 50 {
				t.Fatalf("unexpected policy shape: %d keys, %d f:/d:/p: rules", len(want.keys), want.others)
			}
			for _, allow := range []bool{false, true} {
				var buf bytes.Buffer
				if err := WriteWindowsCollector(&buf, p, allow); err != nil {
					t.Fatal(err)
				}
				script := buf.String()
				got := expectedEvidence{keys: map[string]bool{}, cmds: map[string]bool{}}
				for _, line := range strings.Split(script, "\n") {
					switch {
					case strings.HasPrefix(line, "Get-RegistryKey '"):
						a := psArgs(t, line)
						got.keys[strings.ToLower(a[0])] = true
						if !strings.HasSuffix(a[0], `\`+a[2]) {
							t.Errorf("key %q opened as subkey %q", a[0], a[2])
						}
					case strings.HasPrefix(line, "Invoke-CommandLine '"):
						a := psArgs(t, line)
						got.cmds[a[0]] = true
						if strings.TrimSpace(a[1]+" "+a[2]) != a[0] && `"`+a[1]+`" `+a[2] != a[0] {
							t.Errorf("command %q split as %q %q", a[0], a[1], a[2])
						}
					case line == "Export-SecurityPolicy":
						got.secedit = true
					case strings.HasPrefix(line, "Get-Evidence") && !strings.HasPrefix(line, "Get-EvidenceFile(") &&
						!strings.HasPrefix(line, "Get-EvidenceDir(") && !strings.HasPrefix(line, "Get-EvidenceTree(") &&
						!strings.HasPrefix(line, "Get-EvidenceProcesses {"):
						got.others++
					}
				}
				w := want
				if !allow {
					w = expectedEvidence{keys: want.keys, cmds: map[string]bool{}}
				}
				if d := cmp.Diff(w, got, cmp.AllowUnexported(expectedEvidence{})); d != "" {
					t.Errorf("allow-commands=%v: script evidence differs from the policy's rules (-policy +script):\n%s", allow, d)
				}
				if allow && len(got.cmds) == 0 {
					t.Error("no commands collected")
				}
				if allow && got.secedit {
					seceditPolicies++
				}
				if !strings.Contains(script, "policy-sha256 "+p.SHA256) || !strings.Contains(script, "'policy ' + '"+p.ID+"'") {
					t.Error("manifest lacks the policy id or hash")
				}
				for _, bad := range []string{"Invoke-WebRequest", "Invoke-RestMethod", "Net.WebClient", "Sockets", "http://", "https://", "Start-BitsTransfer", "$env:TEMP"} {
					if strings.Contains(script, bad) {
						t.Errorf("script contains %q", bad)
					}
				}
			}
		})
	}
	// Seven of the eight policies read the password policy through secedit.
	if seceditPolicies < 7 {
		t.Errorf("secedit export planned for %d policies, want 7", seceditPolicies)
	}
}

func TestWindowsCommandSplit(t *testing.T) {
	for _, tt := range []struct {
		line, prog, args string
		ok               bool
	}{
		{`auditpol.exe /get /subcategory:"Audit Policy Change"`, "auditpol.exe", `/get /subcategory:"Audit Policy Change"`, true},
		{`net user`, "net", "user", true},
		{`reg query HKLM\SOFTWARE\x /v legalnoticetext`, "reg", `query HKLM\SOFTWARE\x /v legalnoticetext`, true},
		{`"C:\Program Files\x.exe" -a`, `C:\Program Files\x.exe`, "-a", true},
		{`whoami`, "whoami", "", true},
		{`powershell secedit /export /cfg $env:TEMP\secpol.cfg; Get-Content x`, "", "", false},
		{`cmd /c dir & del x`, "", "", false},
		{`"unterminated`, "", "", false},
		{"a\nb", "", "", false},
	} {
		prog, args, ok := windowsCommand(tt.line)
		if prog != tt.prog || args != tt.args || ok != tt.ok {
			t.Errorf("windowsCommand(%q) = %q %q %v, want %q %q %v", tt.line, prog, args, ok, tt.prog, tt.args, tt.ok)
		}
	}
	if got := psQuote("it's ‘q’"); got != "'it''s ‘‘q’’'" {
		t.Errorf("psQuote = %s", got)
	}
}

// winItem is one evidence item for makeWindowsZip.
type winItem map[string]string

// makeWindowsZip writes evidence in the collector's layout, with entry
// names using '\' as Compress-Archive of PowerShell 5.1 does.
func makeWindowsZip(t testing.TB, manifest string, items []winItem) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	add := func(name, content string) {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write([]byte(content)); err != nil {
			t.Fatal(err)
		}
	}
	add(`vigil-evidence\manifest`, manifest)
	for i, it := range items {
		fields := make([]string, 0, len(it))
		for f := range it {
			fields = append(fields, f)
		}
		sort.Strings(fields)
		for _, f := range fields {
			add(fmt.Sprintf(`vigil-evidence\e\%d\%s`, i+1, f), it[f])
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func winManifest(id, hash string) string {
	return "format vigil-evidence-windows/1\r\npolicy " + id + "\r\npolicy-sha256 " + hash + "\r\ncreated 2026-11-30T03:00:00Z\r\nhost WIN-TEST\r\nitems 0\r\n"
}

// regKey is a key present in both views with the given value lines.
func regKey(name string, values ...string) []winItem {
	data := strings.Join(values, "\n")
	if data != "" {
		data += "\n"
	}
	return []winItem{
		{"kind": "reg", "name": name, "view": "64", "state": "key", "data": data},
		{"kind": "reg", "name": name, "view": "32", "state": "key", "data": data},
	}
}

func regState(name, view, state string) winItem {
	return winItem{"kind": "reg", "name": name, "view": view, "state": state}
}

func loadCorpusPolicy(t *testing.T, name string) *Policy {
	t.Helper()
	dir := testenv.RequireCorpus(t, windowsCorpus)
	data, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	p, err := Parse(data, name)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

const (
	hklmLsa      = `HKEY_LOCAL_MACHINE\System\CurrentControlSet\Control\Lsa`
	hklmPolicies = `HKEY_LOCAL_MACHINE\Software\Microsoft\Windows\CurrentVersion\Policies\System`
	hklmWinlogon = `HKEY_LOCAL_MACHINE\SOFTWARE\Microsoft\Windows NT\CurrentVersion\Winlogon`
	hklmNetlogon = `HKEY_LOCAL_MACHINE\System\CurrentControlSet\Services\Netlogon\Parameters`
	hklmFirewall = `HKEY_LOCAL_MACHINE\SOFTWARE\Policies\Microsoft\WindowsFirewall\`
	hklmAllowed  = `HKEY_LOCAL_MACHINE\System\CurrentControlSet\Control\SecurePipeServers\Winreg\AllowedPaths`
)

// handEvidence is a small Windows Server 2022 for the corpus CIS policy.
func handEvidence(t testing.TB, p *Policy) []byte {
	var items []winItem
	items = append(items, regKey(`HKEY_LOCAL_MACHINE\SOFTWARE\Microsoft\Windows NT\CurrentVersion`,
		"REG_SZ\tProductName\tWindows Server 2022 Datacenter", "REG_DWORD\tCurrentMajorVersionNumber\t10")...)
	// Spelled in upper case here; the policy writes "System" and "SYSTEM".
	items = append(items, regKey(strings.ToUpper(hklmLsa),
		"REG_DWORD\tLimitBlankPasswordUse\t1", "REG_DWORD\tcrashonauditfail\t1")...)
	items = append(items, regKey(hklmPolicies, "REG_DWORD\tInactivityTimeoutSecs\t900")...)
	items = append(items, regKey(`HKEY_LOCAL_MACHINE\System\CurrentControlSet\Control\SAM`,
		"REG_DWORD\tRelaxMinimumPasswordLengthLimits\t1")...)
	// Winlogon only in the 32-bit view.
	items = append(items, regState(hklmWinlogon, "64", "absent"),
		winItem{"kind": "reg", "name": hklmWinlogon, "view": "32", "state": "key",
			"data": "REG_DWORD\tPasswordExpiryWarning\t14\nREG_SZ\tCachedLogonsCount\t10\n"})
	items = append(items, regState(hklmNetlogon, "64", "absent"), regState(hklmNetlogon, "32", "absent"))
	items = append(items, regKey(hklmFirewall+`DomainProfile\Logging`, "REG_DWORD\tLogFileSize\t16384")...)
	items = append(items, regKey(hklmFirewall+`PublicProfile\Logging`, "REG_DWORD\tLogFileSize\t4096")...)
	items = append(items, regState(hklmFirewall+`PrivateProfile\Logging`, "64", "denied"),
		regState(hklmFirewall+`PrivateProfile\Logging`, "32", "denied"))
	items = append(items, regKey(hklmAllowed, "REG_MULTI_SZ\tMachine\t"+strings.Join([]string{
		`System\\CurrentControlSet\\Control\\Print\\Printers`, `System\\CurrentControlSet\\Services\\Eventlog`,
		`Software\\Microsoft\\OLAP Server`, `Software\\Microsoft\\Windows NT\\CurrentVersion\\Print`,
		`Software\\Microsoft\\Windows NT\\CurrentVersion\\Windows`, `System\\CurrentControlSet\\Control\\ContentIndex`,
		`System\\CurrentControlSet\\Control\\Terminal Server`, `System\\CurrentControlSet\\Control\\Terminal Server\\UserConfig`,
		`System\\CurrentControlSet\\Control\\Terminal Server\\DefaultUserConfiguration`,
		`Software\\Microsoft\\Windows NT\\CurrentVersion\\Perflib`, `System\\CurrentControlSet\\Services\\SysmonLog`}, "\t"))...)
	items = append(items, winItem{"kind": "secedit", "name": "secedit /export", "state": "ran", "status": "0",
		"output": "The task has completed successfully.\r\nSee log C:\\w\\secedit.log for detail info.\r\n",
		"data": "[Unicode]\r\nUnicode=yes\r\n[System Access]\r\nMinimumPasswordAge = 0\r\nMaximumPasswordAge = 42\r\n" +
			"MinimumPasswordLength = 14\r\nPasswordComplexity = 1\r\nPasswordHistorySize = 24\r\nLockoutBadCount = 0\r\n"})
	items = append(items, winItem{"kind": "cmd", "name": `auditpol.exe /get /subcategory:"Credential Validation"`, "state": "ran", "status": "0",
		"data": "System audit policy\r\nCategory/Subcategory                      Setting\r\nAccount Logon\r\n  Credential Validation                   Success\r\n"},
		winItem{"kind": "cmd", "name": `auditpol.exe /get /subcategory:"Logoff"`, "state": "ran", "status": "0",
			"data": "System audit policy\r\nCategory/Subcategory                      Setting\r\nLogon/Logoff\r\n  Logoff                                  Success\r\n"},
		winItem{"kind": "cmd", "name": "net user", "state": "ran", "status": "0",
			"data": "User accounts for \\\\WIN-TEST\r\n\r\n-------------------------------------------------------------------------------\r\nAdministrator            DefaultAccount           Guest\r\nWDAGUtilityAccount\r\nThe command completed successfully.\r\n"})
	return makeWindowsZip(t, winManifest(p.ID, p.SHA256), items)
}

func TestWindowsEvidenceHandWorked(t *testing.T) {
	p := loadCorpusPolicy(t, "cis_win2022.yml")
	ev, err := ReadEvidence(handEvidence(t, p))
	if err != nil {
		t.Fatal(err)
	}
	if err := ev.CheckPolicy(p); err != nil {
		t.Fatal(err)
	}
	rep, err := Evaluate(context.Background(), p, Options{Target: ev, AllowCommands: true})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.RequirementsMet {
		t.Fatalf("requirements not met: %v", rep.Requirements)
	}
	got := map[string]Result{}
	for _, c := range rep.Checks {
		got[c.ID] = c.Result
	}
	// Worked out by hand from the rules of cis_win2022.yml and the
	// evidence above (both views hold the same key unless said otherwise):
	want := map[string]Result{
		// 27000 all: secedit line "PasswordHistorySize = 24", n:... >= 24 → true.
		"27000": Passed,
		// 27002 all: "MinimumPasswordAge = 0", compare >= 1 → false.
		"27002": Failed,
		// 27003 all: "MinimumPasswordLength = 14" >= 14 → true.
		"27003": Passed,
		// 27004 all: SAM exists, value exists, data "1" == literal 1.
		"27004": Passed,
		// 27006 all: "LockoutBadCount = 0"; first rule "compare > 0" is false.
		"27006": Failed,
		// 27007 all: no ResetLockoutCount line in the export → no output line matches → false.
		"27007": Failed,
		// 27008 all: the key exists, NoConnectedUser does not (key present) → false.
		"27008": Failed,
		// 27010 any: "not r:Lsa -> LimitBlankPasswordUse" is false (value
		// exists), "-> 1" is true → passed.
		"27010": Passed,
		// 27011 all: "not c:net user -> r:Admin|..." — the output lists
		// Administrator → the rule is false → failed.
		"27011": Failed,
		// 27014 any: not key (false), not value (false; the name matches
		// case-insensitively), "-> 0" on "1" (false) → failed.
		"27014": Failed,
		// 27017 any: "not r:Lsa -> SubmitControl": the key exists without the
		// value → false → negated true → passed.
		"27017": Passed,
		// 27022 all: Netlogon\Parameters absent in both views → r:KEY false.
		"27022": Failed,
		// 27026 all: every rule names a value of the absent key → undecided
		// in both views → not applicable.
		"27026": NotApplicable,
		// 27030 all: key, value, "not ... -> 0" on "900" (true), n: <= 900 (true).
		"27030": Passed,
		// 27033 all: Winlogon is absent in the 64-bit view but present in the
		// 32-bit one; CachedLogonsCount "10" <= 4 is false → failed.
		"27033": Failed,
		// 27034 all: PasswordExpiryWarning 14 (32-bit view): >= 5 && <= 14 → passed.
		"27034": Passed,
		// 27053 all: REG_MULTI_SZ printed as each string and a space; the
		// first alternative of the regex matches the start → passed.
		"27053": Passed,
		// 27085 all: LogFileSize 16384 >= 16384 → passed.
		"27085": Passed,
		// 27093 all: access denied in both views → every rule undecided.
		"27093": NotApplicable,
		// 27103 all: 4096 >= 16384 is false → failed.
		"27103": Failed,
		// 27106 all: "Success" only; r:Success and Failure → false.
		"27106": Failed,
		// 27121 all: "Logoff ... Success" → r:Success → passed.
		"27121": Passed,
		// 27122 all: auditpol for "Logon" was not collected → not applicable.
		"27122": NotApplicable,
	}
	for id, w := range want {
		if got[id] != w {
			for _, c := range rep.Checks {
				if c.ID == id {
					t.Errorf("check %s: %s, want %s (%s)", id, c.Result, w, strings.Join(c.Evidence, " | "))
				}
			}
		}
	}
	// Commands are used only when allowed.
	rep2, err := Evaluate(context.Background(), p, Options{Target: ev})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range rep2.Checks {
		if c.ID == "27000" && c.Result != NotApplicable {
			t.Errorf("27000 without --allow-commands: %s", c.Result)
		}
	}
	// Another policy, or another version of this one, is refused.
	other := loadCorpusPolicy(t, "cis_win2019.yml")
	if err := ev.CheckPolicy(other); err == nil || !strings.Contains(err.Error(), `collected for policy "cis_win2022"`) {
		t.Errorf("other policy: %v", err)
	}
	changed := *p
	changed.SHA256 = strings.Repeat("0", 64)
	if err := ev.CheckPolicy(&changed); err == nil || !strings.Contains(err.Error(), "another version") {
		t.Errorf("other version: %v", err)
	}
}

// TestWindowsReport: Windows runs appear in the baseline report like others.
func TestWindowsReport(t *testing.T) {
	p := loadCorpusPolicy(t, "cis_win2022.yml")
	ev, err := ReadEvidence(handEvidence(t, p))
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Evaluate(context.Background(), p, Options{Target: ev, AllowCommands: true})
	if err != nil {
		t.Fatal(err)
	}
	doc, err := ReportDocument(Assessment{Tenant: "ACME", Lang: "en", Runs: []PolicyRun{{Asset: "win01", PolicyID: p.ID, PolicyTitle: p.Name, Report: rep}},
		Policies: map[string]*Policy{p.ID: p}})
	if err != nil {
		t.Fatal(err)
	}
	fs := findSection(doc, reportWords["en"]["failures"])
	if fs == nil || len(fs.Tables) == 0 {
		t.Fatal("no failures section")
	}
	found := false
	for _, row := range fs.Tables[0].Rows {
		for _, cell := range row {
			found = found || cell == "27103"
		}
	}
	if !found {
		t.Errorf("failed Windows check 27103 not in the report's failures: %v", fs.Tables[0].Rows)
	}
	bp := findSection(doc, reportWords["en"]["by_policy"])
	if bp == nil || !strings.Contains(fmt.Sprint(bp.Tables), p.Name) {
		t.Errorf("policy %q not in the by-policy section", p.Name)
	}
}

// refRule is the reference evaluator's view of one r: rule.
type refRule struct {
	not          bool
	key, value   string
	hasValue     bool
	pattern      string // "" when none; literal, "r:^X", "r:X$", "n:^(\d+) compare OP N"; "!" prefix negates
	hasPattern   bool
	invalidHive  bool
	originalText string
}

// refKey is one view of a key in the reference's registry.
type refKey struct {
	state  string // key, absent, denied
	values map[string]string
}

// refText is SCA's printing of a value, restated for the reference.
func refText(typ string, fields []string) string {
	switch typ {
	case "REG_SZ", "REG_EXPAND_SZ":
		return fields[0]
	case "REG_MULTI_SZ":
		s := ""
		for _, f := range fields {
			s += f + " "
		}
		return s
	case "REG_DWORD":
		return fields[0]
	case "REG_QWORD":
		n, _ := strconv.ParseUint(fields[0], 10, 64)
		s := ""
		for i := 0; i < 8; i++ {
			b := byte(n >> (8 * i))
			if b >= 0x80 {
				s += "ffffff"
			}
			s += fmt.Sprintf("%02x", b)
		}
		return s
	}
	s := ""
	for i := 0; i+1 < len(fields[0]); i += 2 {
		if fields[0][i] >= '8' {
			s += "ffffff"
		}
		s += fields[0][i : i+2]
	}
	return s
}

func refMatch(pattern, text string) bool {
	neg := strings.HasPrefix(pattern, "!")
	pattern = strings.TrimPrefix(pattern, "!")
	var ok bool
	switch {
	case strings.HasPrefix(pattern, "r:^"):
		ok = strings.HasPrefix(text, pattern[3:])
	case strings.HasPrefix(pattern, "r:") && strings.HasSuffix(pattern, "$"):
		ok = strings.HasSuffix(text, pattern[2:len(pattern)-1])
	case strings.HasPrefix(pattern, "n:"):
		f := strings.Fields(pattern)
		want, _ := strconv.Atoi(f[3])
		i := 0
		for i < len(text) && text[i] >= '0' && text[i] <= '9' {
			i++
		}
		if i > 0 {
			v, _ := strconv.Atoi(text[:i])
			switch f[2] {
			case "<=":
				ok = v <= want
			case ">=":
				ok = v >= want
			case "==":
				ok = v == want
			}
		}
	default:
		ok = text == pattern
	}
	return ok != neg
}

const (
	refFound    = 1
	refNotFound = 0
	refInvalid  = 2
)

// refView restates SCA's wm_sca_test_key and wm_sca_winreg_querykey.
func refView(k refKey, r refRule, types map[string]string, raw map[string][]string) int {
	switch k.state {
	case "denied":
		return refInvalid
	case "absent", "":
		if !r.hasValue {
			return refNotFound
		}
		return refInvalid
	}
	if !r.hasValue {
		return refFound
	}
	for name := range k.values {
		if strings.EqualFold(name, r.value) {
			if !r.hasPattern {
				return refFound
			}
			if refMatch(r.pattern, refText(types[name], raw[name])) {
				return refFound
			}
			return refNotFound
		}
	}
	if r.hasPattern {
		return refInvalid
	}
	return refNotFound
}

// TestRegistryDifferential evaluates random registry facts with random r:
// rules through the zip reader and Evaluate, and with a small reference
// evaluator written from SCA's C code above; the results must agree.
func TestRegistryDifferential(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	keyNames := []string{`HKEY_LOCAL_MACHINE\Software\A`, `HKEY_LOCAL_MACHINE\Software\B`, `HKEY_USERS\S-1-5-18\C`}
	writeKeys := []string{`HKEY_LOCAL_MACHINE\Software\A`, `HKLM\SOFTWARE\a`, `HKEY_LOCAL_MACHINE\Software\B`, `HKEY_USERS\S-1-5-18\C`, `HKU\S-1-5-18\C`}
	valueNames := []string{"Alpha", "beta", "@", "Gamma"}
	for round := range 300 {
		// The registry: per key and view a state and typed values.
		type typed struct {
			typ    string
			fields []string
		}
		reg := map[string]map[string]refKey{} // view -> lower key
		types := map[string]map[string]string{}
		raws := map[string]map[string][]string{}
		var items []winItem
		for _, view := range []string{"64", "32"} {
			reg[view] = map[string]refKey{}
			for _, k := range keyNames {
				st := []string{"key", "key", "key", "absent", "denied", ""}[rng.IntN(6)]
				rk := refKey{state: st, values: map[string]string{}}
				id := view + strings.ToLower(k)
				types[id], raws[id] = map[string]string{}, map[string][]string{}
				var lines []string
				if st == "key" {
					for _, vn := range valueNames {
						if rng.IntN(3) == 0 {
							continue
						}
						name := vn
						if vn == "@" {
							name = ""
						}
						var v typed
						switch rng.IntN(6) {
						case 0:
							v = typed{"REG_DWORD", []string{strconv.Itoa(rng.IntN(40))}}
						case 1:
							v = typed{"REG_SZ", []string{[]string{"10", "abc", "ab", "20x", "x"}[rng.IntN(5)]}}
						case 2:
							v = typed{"REG_MULTI_SZ", []string{"ab", "c"}[:1+rng.IntN(2)]}
						case 3:
							v = typed{"REG_QWORD", []string{strconv.FormatUint(rng.Uint64()>>uint(rng.IntN(64)), 10)}}
						case 4:
							v = typed{"REG_BINARY", []string{[]string{"", "0a", "80ff", "1234"}[rng.IntN(4)]}}
						default:
							v = typed{"REG_EXPAND_SZ", []string{"%SystemRoot%"}}
						}
						rk.values[name] = v.typ
						lookup := name
						if lookup == "" {
							lookup = "@"
						}
						types[id][lookup], raws[id][lookup] = v.typ, v.fields
						lines = append(lines, v.typ+"\t"+name+"\t"+strings.Join(v.fields, "\t"))
					}
				}
				// The reference matches the default value by "@".
				vals := map[string]string{}
				for n, ty := range rk.values {
					if n == "" {
						n = "@"
					}
					vals[n] = ty
				}
				rk.values = vals
				reg[view][strings.ToLower(k)] = rk
				if st == "" {
					continue // not collected: the evaluator must call it undecided
				}
				it := winItem{"kind": "reg", "name": k, "view": view, "state": st}
				if st == "key" {
					it["data"] = strings.Join(lines, "\n")
				}
				items = append(items, it)
			}
		}
		// The rules: one check per rule, condition all.
		var rules []refRule
		var yml strings.Builder
		yml.WriteString("policy:\n  id: diff\n  name: diff\nchecks:\n")
		patterns := []string{"10", "ab c", "r:^ab", "r:^ffffff80", "r:x$", "n:^(\\d+) compare <= 15", "n:^(\\d+) compare >= 20", "!r:^1", "%SystemRoot%"}
		for i := range 12 {
			key := writeKeys[rng.IntN(len(writeKeys))]
			r := refRule{not: rng.IntN(3) == 0, key: key}
			r.invalidHive = strings.HasPrefix(key, "HKU")
			text := key
			if rng.IntN(4) > 0 {
				r.hasValue, r.value = true, []string{"alpha", "BETA", "@", "gamma", "delta"}[rng.IntN(5)]
				text += " -> " + r.value
				if rng.IntN(3) > 0 {
					r.hasPattern, r.pattern = true, patterns[rng.IntN(len(patterns))]
					text += " -> " + r.pattern
				}
			}
			if r.not {
				text = "not r:" + text
			} else {
				text = "r:" + text
			}
			r.originalText = text
			rules = append(rules, r)
			fmt.Fprintf(&yml, "  - id: %d\n    title: t%d\n    condition: all\n    rules:\n      - '%s'\n", i, i, text)
		}
		p, err := Parse([]byte(yml.String()), "diff.yml")
		if err != nil || len(p.Problems) > 0 {
			t.Fatalf("round %d: %v %v\n%s", round, err, p.Problems, yml.String())
		}
		ev, err := ReadWindowsEvidence(makeWindowsZip(t, winManifest("diff", p.SHA256), items))
		if err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		rep, err := Evaluate(context.Background(), p, Options{Target: ev})
		if err != nil {
			t.Fatal(err)
		}
		for i, r := range rules {
			var want Result
			if r.invalidHive {
				want = NotApplicable
			} else {
				lk := strings.ToLower(strings.Replace(r.key, "HKLM", "HKEY_LOCAL_MACHINE", 1))
				get := func(view string) int {
					k := reg[view][lk]
					if k.state == "" {
						return -1 // not collected: nothing settled
					}
					return refView(k, r, types[view+lk], raws[view+lk])
				}
				r64 := get("64")
				r32 := refNotFound
				if r64 != refFound {
					r32 = get("32")
				}
				var res int
				switch {
				case r64 == refFound || r32 == refFound:
					res = refFound
				case r64 == -1 || r32 == -1:
					res = -1
				case r64 == refInvalid && r32 == refInvalid:
					res = refInvalid
				default:
					res = refNotFound
				}
				switch {
				case res == refInvalid || res == -1:
					want = NotApplicable
				case (res == refFound) != r.not:
					want = Passed
				default:
					want = Failed
				}
			}
			if got := rep.Checks[i].Result; got != want {
				t.Fatalf("round %d rule %q: got %s, want %s (%s)\nevidence items %v", round, r.originalText, got, want, rep.Checks[i].Evidence, items)
			}
		}
	}
}

func TestReadWindowsEvidenceRejects(t *testing.T) {
	good := []winItem{{"kind": "reg", "name": hklmLsa, "view": "64", "state": "key", "data": "REG_DWORD\tX\t1\n"}}
	if _, err := ReadWindowsEvidence(makeWindowsZip(t, winManifest("p", ""), good)); err != nil {
		t.Fatalf("good archive: %v", err)
	}
	raw := func(entries map[string]string) []byte {
		var buf bytes.Buffer
		zw := zip.NewWriter(&buf)
		names := make([]string, 0, len(entries))
		for n := range entries {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			w, err := zw.Create(n)
			if err != nil {
				t.Fatal(err)
			}
			_, _ = w.Write([]byte(entries[n]))
		}
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}
	m := winManifest("p", "")
	for _, tt := range []struct {
		name    string
		data    []byte
		wantErr string
	}{
		{"zip slip", raw(map[string]string{"vigil-evidence/manifest": m, "vigil-evidence/../../evil": "x"}), "path not allowed"},
		{"zip slip backslash", raw(map[string]string{"vigil-evidence/manifest": m, `vigil-evidence\..\..\evil`: "x"}), "path not allowed"},
		{"absolute", raw(map[string]string{"vigil-evidence/manifest": m, "/etc/passwd": "x"}), "path not allowed"},
		{"drive", raw(map[string]string{"vigil-evidence/manifest": m, `C:\Windows\evil`: "x"}), "path not allowed"},
		{"unknown member", raw(map[string]string{"vigil-evidence/manifest": m, "vigil-evidence/e/1/evil": "x"}), "unexpected member"},
		{"no manifest", raw(map[string]string{"vigil-evidence/e/1/kind": "reg"}), "no manifest"},
		{"sh format", raw(map[string]string{"vigil-evidence/manifest": "format vigil-evidence/1\n"}), "format"},
		{"bad hive", makeWindowsZip(t, m, []winItem{{"kind": "reg", "name": `HKU\x`, "view": "64", "state": "absent"}}), "HIVE"},
		{"bad view", makeWindowsZip(t, m, []winItem{{"kind": "reg", "name": hklmLsa, "view": "16", "state": "absent"}}), "view"},
		{"bad state", makeWindowsZip(t, m, []winItem{{"kind": "reg", "name": hklmLsa, "view": "64", "state": "maybe"}}), "state"},
		{"bad type", makeWindowsZip(t, m, []winItem{{"kind": "reg", "name": hklmLsa, "view": "64", "state": "key", "data": "REG_LINK\tX\t1\n"}}), "bad value line"},
		{"bad dword", makeWindowsZip(t, m, []winItem{{"kind": "reg", "name": hklmLsa, "view": "64", "state": "key", "data": "REG_DWORD\tX\t4294967296\n"}}), "REG_DWORD"},
		{"bad hex", makeWindowsZip(t, m, []winItem{{"kind": "reg", "name": hklmLsa, "view": "64", "state": "key", "data": "REG_BINARY\tX\t0G\n"}}), "hex"},
		{"bad escape", makeWindowsZip(t, m, []winItem{{"kind": "reg", "name": hklmLsa, "view": "64", "state": "key", "data": "REG_SZ\tX\ta\\q\n"}}), "escape"},
		{"bad status", makeWindowsZip(t, m, []winItem{{"kind": "cmd", "name": "net user", "state": "ran", "status": "x"}}), "exit status"},
		{"relative path", makeWindowsZip(t, m, []winItem{{"kind": "file", "name": `Windows\x`, "state": "missing"}}), "absolute"},
		{"not a zip", []byte("PK not really"), "zip"},
	} {
		_, err := ReadWindowsEvidence(tt.data)
		if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("%s: error %v, want one containing %q", tt.name, err, tt.wantErr)
		}
	}
	// A member announced over the per-member limit is refused before it is read.
	big := makeWindowsZip(t, m, []winItem{{"kind": "cmd", "name": "net user", "state": "ran", "data": strings.Repeat("a", bundleMaxMember+1)}})
	if _, err := ReadWindowsEvidence(big); err == nil || !strings.Contains(err.Error(), "size") {
		t.Errorf("oversized member: %v", err)
	}
	// A symbolic link entry is refused.
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	h := &zip.FileHeader{Name: "vigil-evidence/manifest"}
	h.SetMode(os.ModeSymlink | 0o777)
	w, _ := zw.CreateHeader(h)
	_, _ = w.Write([]byte("/etc/passwd"))
	_ = zw.Close()
	if _, err := ReadWindowsEvidence(buf.Bytes()); err == nil || !strings.Contains(err.Error(), "only regular files") {
		t.Errorf("symlink: %v", err)
	}
	// Neither format.
	if _, err := ReadEvidence([]byte("plain text")); err == nil || !strings.Contains(err.Error(), "neither") {
		t.Errorf("plain text: %v", err)
	}
}

func FuzzReadWindowsEvidence(f *testing.F) {
	f.Add(makeWindowsZip(f, winManifest("p", ""), []winItem{
		{"kind": "reg", "name": hklmLsa, "view": "64", "state": "key", "data": "REG_DWORD\tX\t1\nREG_MULTI_SZ\tM\ta\tb\\tc\n"},
		{"kind": "secedit", "name": "secedit /export", "state": "ran", "data": "LockoutBadCount = 3\n", "output": "ok"},
	}))
	f.Fuzz(func(t *testing.T, data []byte) {
		w, err := ReadWindowsEvidence(data)
		if err != nil {
			return
		}
		p := &Policy{ID: "p", Checks: []Check{{ID: "1", Condition: CondAll, Rules: []*Rule{
			mustRule(t, `r:HKLM\System\CurrentControlSet\Control\Lsa -> X -> n:^(\d+) compare >= 1`),
			mustRule(t, `c:powershell secedit /export /cfg $env:TEMP\s.cfg; Get-Content $env:TEMP\s.cfg | Select-String "LockoutBadCount"; Remove-Item $env:TEMP\s.cfg -> r:3`),
		}}}}
		if _, err := Evaluate(context.Background(), p, Options{Target: w, AllowCommands: true}); err != nil {
			t.Fatal(err)
		}
	})
}

func mustRule(t testing.TB, s string) *Rule {
	t.Helper()
	r, err := ParseRule(s)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestWindowsFilesAndProcesses: f:, d: and p: rules with Windows paths,
// answered from the evidence (paths compare case-insensitively).
func TestWindowsFilesAndProcesses(t *testing.T) {
	const yml = `policy:
  id: winfiles
  name: files
checks:
  - id: 1
    title: file content
    condition: all
    rules:
      - 'f:C:\Windows\win.ini -> r:^\[fonts\]'
  - id: 2
    title: file in a directory
    condition: all
    rules:
      - 'd:C:\windows -> r:^win\.ini$'
  - id: 3
    title: process
    condition: all
    rules:
      - 'p:sshd.exe'
  - id: 4
    title: missing file
    condition: all
    rules:
      - 'not f:C:\Windows\missing.txt'
  - id: 5
    title: not collected
    condition: all
    rules:
      - 'f:D:\other.txt'
`
	p, err := Parse([]byte(yml), "winfiles.yml")
	if err != nil {
		t.Fatal(err)
	}
	var script bytes.Buffer
	if err := WriteWindowsCollector(&script, p, false); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`Get-EvidenceFile 'C:\Windows\win.ini' 1`, `Get-EvidenceFile 'C:\Windows\missing.txt' 0`,
		`Get-EvidenceTree 'C:\windows' 0 16`, "Get-EvidenceProcesses"} {
		if !strings.Contains(script.String(), "\n"+want+"\n") {
			t.Errorf("script lacks %q", want)
		}
	}
	data := makeWindowsZip(t, winManifest("winfiles", p.SHA256), []winItem{
		{"kind": "file", "name": `C:\Windows\win.ini`, "state": "regular", "data": "; for 16-bit app support\r\n[fonts]\r\n"},
		{"kind": "file", "name": `C:\Windows\missing.txt`, "state": "missing"},
		{"kind": "dir", "name": `C:\windows`, "state": "dir", "list": "d/System32\nf/WIN.INI\n"},
		{"kind": "dir", "name": `C:\windows\System32`, "state": "dir", "list": ""},
		{"kind": "procs", "name": "processes", "state": "list", "data": "4\tSystem\t\n612\tsshd.exe\tC:\\Program Files\\OpenSSH\\sshd.exe\n"},
	})
	ev, err := ReadEvidence(data)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Evaluate(context.Background(), p, Options{Target: ev})
	if err != nil {
		t.Fatal(err)
	}
	// 1: "[fonts]" is a line → passed. 2: the listing has WIN.INI, the
	// regex is case-sensitive → failed. 3: sshd.exe runs → passed.
	// 4: recorded missing → passed. 5: not collected → not applicable.
	want := []Result{Passed, Failed, Passed, Passed, NotApplicable}
	for i, c := range rep.Checks {
		if c.Result != want[i] {
			t.Errorf("check %s: %s, want %s (%v)", c.ID, c.Result, want[i], c.Evidence)
		}
	}
}
