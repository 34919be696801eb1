package baseline

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strconv"
	"strings"
)

// Windows registry rules (r:), evaluated as Wazuh SCA evaluates them:
//
//	r:KEY                    true when KEY exists, false when it does not
//	r:KEY -> VALUE           true when KEY has a value named VALUE (names
//	                         compare case-insensitively; "@" is the default
//	                         value), false when KEY has no such value,
//	                         undecided when KEY is absent
//	r:KEY -> VALUE -> EXPR   EXPR tested on the value's data as one line;
//	                         undecided when KEY or VALUE is absent
//
// KEY starts with a hive written exactly as SCA accepts it: HKEY_LOCAL_MACHINE
// or HKLM, HKEY_CLASSES_ROOT, HKEY_CURRENT_CONFIG, HKEY_USERS,
// HKEY_CURRENT_USER or HKCU; anything else (and a bare hive) is undecided.
// SCA reads the key in the 64-bit registry view and, when that does not
// answer "true", in the 32-bit view: the rule is true when either view
// says so, undecided only when both are, false otherwise. A key that
// cannot be opened for lack of rights is undecided. Evidence that lacks a
// view of the key (not collected) leaves the rule undecided unless the
// other view says "true".
//
// The value's data becomes text as SCA prints it: REG_SZ and REG_EXPAND_SZ
// as stored (not expanded, up to the first NUL), REG_MULTI_SZ as each
// string followed by one space, REG_DWORD in decimal, and every other type
// (REG_QWORD, REG_BINARY, REG_NONE...) as the lower-case hex of its bytes in
// storage order, where SCA prints a byte from 0x80 up as "ffffffXX" (it
// widens a signed char); that quirk is kept so results agree.

// RegistryView is one of the two views of the registry on 64-bit Windows.
type RegistryView string

// Registry views, as SCA opens them (KEY_WOW64_64KEY, KEY_WOW64_32KEY).
const (
	RegistryView64 RegistryView = "64"
	RegistryView32 RegistryView = "32"
)

// RegistryValue is one value of a key. Exactly one of Strings (REG_SZ,
// REG_EXPAND_SZ: one string; REG_MULTI_SZ: each), Number (REG_DWORD,
// REG_QWORD) or Bytes (the rest) carries the data, by Type.
type RegistryValue struct {
	Name    string
	Type    string // REG_SZ, REG_EXPAND_SZ, REG_MULTI_SZ, REG_DWORD, REG_QWORD, REG_BINARY, REG_NONE, REG_UNKNOWN
	Strings []string
	Number  uint64
	Bytes   []byte
}

// registryTypes are the value types the collector records.
var registryTypes = map[string]bool{
	"REG_SZ": true, "REG_EXPAND_SZ": true, "REG_MULTI_SZ": true, "REG_DWORD": true,
	"REG_QWORD": true, "REG_BINARY": true, "REG_NONE": true, "REG_UNKNOWN": true,
}

// scaMaxData is the size of SCA's buffer for value data (MAX_VALUE_NAME).
const scaMaxData = 16383

// SCAText is the value's data as SCA prints it before matching.
func (v RegistryValue) SCAText() string {
	var s string
	switch v.Type {
	case "REG_SZ", "REG_EXPAND_SZ":
		if len(v.Strings) > 0 {
			s, _, _ = strings.Cut(v.Strings[0], "\x00")
		}
	case "REG_MULTI_SZ":
		var b strings.Builder
		for _, x := range v.Strings {
			if x == "" {
				break // an empty string ends the list
			}
			b.WriteString(x)
			b.WriteByte(' ')
		}
		s = b.String()
	case "REG_DWORD":
		s = strconv.FormatUint(v.Number&0xffffffff, 10)
	default:
		data := v.Bytes
		if v.Type == "REG_QWORD" {
			data = make([]byte, 8)
			for i := range data {
				data[i] = byte(v.Number >> (8 * i) & 0xff) // #nosec G115 -- masked to one byte
			}
		}
		var b strings.Builder
		for _, c := range data {
			if c >= 0x80 {
				b.WriteString("ffffff")
			}
			fmt.Fprintf(&b, "%02x", c)
		}
		s = b.String()
	}
	if len(s) > scaMaxData {
		s = s[:scaMaxData]
	}
	return s
}

// RegistryReader is implemented by targets that can answer registry rules:
// Windows evidence collected offline. RegistryKey returns the values of a
// key (named "HIVE\path" with the hive's long name) in one view; an error
// wrapping fs.ErrNotExist when the key is absent, fs.ErrPermission when it
// could not be read, errors.ErrUnsupported when it was not collected.
type RegistryReader interface {
	RegistryKey(ctx context.Context, key string, view RegistryView) ([]RegistryValue, error)
}

// registryHives maps the hive names SCA accepts (case-sensitively) to
// their long names and to the .NET RegistryHive the collector opens.
var registryHives = map[string][2]string{
	"HKEY_LOCAL_MACHINE":  {"HKEY_LOCAL_MACHINE", "LocalMachine"},
	"HKLM":                {"HKEY_LOCAL_MACHINE", "LocalMachine"},
	"HKEY_CLASSES_ROOT":   {"HKEY_CLASSES_ROOT", "ClassesRoot"},
	"HKEY_CURRENT_CONFIG": {"HKEY_CURRENT_CONFIG", "CurrentConfig"},
	"HKEY_USERS":          {"HKEY_USERS", "Users"},
	"HKEY_CURRENT_USER":   {"HKEY_CURRENT_USER", "CurrentUser"},
	"HKCU":                {"HKEY_CURRENT_USER", "CurrentUser"},
}

// RegistryKeyName splits a key as written in an r: rule into its canonical
// name ("HKEY_LOCAL_MACHINE\sub\key"), the .NET hive name and the subkey.
// ok is false for a hive SCA does not know or a key without a subkey.
func RegistryKeyName(key string) (canonical, hive, sub string, ok bool) {
	h, sub, found := strings.Cut(key, `\`)
	names, known := registryHives[h]
	if !found || !known || sub == "" || strings.ContainsAny(key, "\x00\r\n") {
		return "", "", "", false
	}
	return names[0] + `\` + sub, names[1], sub, true
}

func (e *evaluator) registryRule(ctx context.Context, r *Rule) (ruleState, string) {
	rr, ok := e.target.(RegistryReader)
	if !ok {
		return ruleUnknown, "registry rules apply to Windows hosts only: not applicable on this OS"
	}
	key, _, _, ok := RegistryKeyName(r.Targets[0])
	if !ok {
		return ruleUnknown, "invalid registry key " + truncate(r.Targets[0], 120)
	}
	st64, ev64 := e.registryView(ctx, rr, r, key, RegistryView64)
	if st64 == ruleTrue {
		return st64, ev64
	}
	st32, ev32 := e.registryView(ctx, rr, r, key, RegistryView32)
	switch {
	case st32 == ruleTrue:
		return st32, ev32 + " (32-bit view)"
	case st64 == ruleUnknown && st32 == ruleUnknown:
		return ruleUnknown, ev64
	case e.registryMissing(ctx, rr, key):
		// A view the collector did not record could have said "true".
		return ruleUnknown, ev64 + "; " + ev32
	}
	return ruleFalse, ev64
}

// registryMissing reports whether either view of key was not collected.
func (e *evaluator) registryMissing(ctx context.Context, rr RegistryReader, key string) bool {
	for _, v := range []RegistryView{RegistryView64, RegistryView32} {
		_, err := e.regs.get(string(v)+"\x00"+strings.ToLower(key), func() ([]RegistryValue, error) {
			return rr.RegistryKey(ctx, key, v)
		})
		if errors.Is(err, errors.ErrUnsupported) {
			return true
		}
	}
	return false
}

// registryView is SCA's test of one key in one view.
func (e *evaluator) registryView(ctx context.Context, rr RegistryReader, r *Rule, key string, view RegistryView) (ruleState, string) {
	values, err := e.regs.get(string(view)+"\x00"+strings.ToLower(key), func() ([]RegistryValue, error) {
		return rr.RegistryKey(ctx, key, view)
	})
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if r.RegValue == "" {
			return ruleFalse, "key " + key + " does not exist"
		}
		// SCA cannot look for a value in a missing key: undecided.
		return ruleUnknown, "key " + key + " does not exist"
	case err != nil:
		return ruleUnknown, err.Error()
	case r.RegValue == "":
		return ruleTrue, "key " + key + " exists"
	}
	for _, v := range values {
		name := v.Name
		if name == "" {
			name = "@"
		}
		if !strings.EqualFold(name, r.RegValue) {
			continue
		}
		if r.Content == nil {
			return ruleTrue, fmt.Sprintf("value %s exists (%s)", name, v.Type)
		}
		text := v.SCAText()
		if r.Content.Match(text) {
			return ruleTrue, fmt.Sprintf("value %s = %q (%s) matched", name, truncate(text, 120), v.Type)
		}
		return ruleFalse, fmt.Sprintf("value %s = %q (%s) did not match", name, truncate(text, 120), v.Type)
	}
	if r.Content == nil {
		return ruleFalse, "no value " + r.RegValue + " in " + key
	}
	return ruleUnknown, "no value " + r.RegValue + " in " + key
}
