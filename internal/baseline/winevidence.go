package baseline

import (
	"archive/zip"
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"regexp"
	"strconv"
	"strings"
)

// Windows evidence, read back from the zip the PowerShell collector writes
// (see WriteWindowsCollector). The layout is the one of the sh bundle with
// these differences:
//
//	vigil-evidence/manifest        format vigil-evidence-windows/1, policy, policy-sha256,
//	                               created, host, items
//	vigil-evidence/e/N/kind        reg | secedit | file | dir | procs | cmd
//	vigil-evidence/e/N/name        reg: the key "HKEY_...\sub\key"; file, dir: the path
//	                               as written (C:\...); cmd: the command line as written
//	vigil-evidence/e/N/view        reg: 64 or 32
//	vigil-evidence/e/N/state       reg: key | absent | denied; secedit, cmd: ran |
//	                               notfound | timeout; others as in the sh bundle
//	vigil-evidence/e/N/data        reg: one value a line, "TYPE<TAB>NAME<TAB>DATA...";
//	                               secedit: the exported security template (UTF-8);
//	                               cmd: stdout then stderr; procs: "pid<TAB>name<TAB>path"
//	vigil-evidence/e/N/output      secedit: what secedit printed
//	vigil-evidence/e/N/status      secedit, cmd: the exit code
//
// In a value line, NAME and each DATA field escape '\' as "\\", tab as
// "\t", newline as "\n", carriage return as "\r" and NUL as "\0". DATA is
// the string (REG_SZ, REG_EXPAND_SZ; not expanded), one field per string
// (REG_MULTI_SZ), the unsigned decimal number (REG_DWORD, REG_QWORD) or the
// lower-case hex bytes (REG_BINARY, REG_NONE, REG_UNKNOWN).
//
// Zip entry names may use '\' (Compress-Archive of Windows PowerShell 5.1
// writes them so); they are read as '/'. Everything else is strict, as for
// the tarball: only the layout's names, bounded sizes and counts, no
// absolute or parent paths, no encrypted entries.

// windowsEvidenceFormat names the layout above in the manifest.
const windowsEvidenceFormat = "vigil-evidence-windows/1"

// WindowsEvidence is Windows evidence collected offline. It implements
// Target, RegistryReader and LineRunner; anything the collector did not
// record is undecided (errors.ErrUnsupported).
type WindowsEvidence struct {
	// Manifest holds the manifest's "key value" lines.
	Manifest map[string]string
	keys     map[string][]RegistryValue // view NUL lower-case key
	absent   map[string]string          // view NUL lower-case key -> absent | denied
	files    map[string]*bundleItem     // lower-case slash path
	dirs     map[string]*bundleItem
	procs    *bundleItem
	cmds     map[string]*bundleItem // command line as written
	secedit  *bundleItem
}

var (
	_ Target         = (*WindowsEvidence)(nil)
	_ RegistryReader = (*WindowsEvidence)(nil)
	_ LineRunner     = (*WindowsEvidence)(nil)
	_ pathMapper     = (*WindowsEvidence)(nil)
)

// Evidence is offline evidence of either kind: a *Bundle (sh collector)
// or a *WindowsEvidence (PowerShell collector).
type Evidence interface {
	Target
	// CheckPolicy refuses a policy other than the one the evidence was
	// collected for.
	CheckPolicy(p *Policy) error
	// PolicyID is the id of the policy named in the manifest.
	PolicyID() string
}

// OpenEvidence reads an evidence file of either kind, telling them apart
// by content: gzip (sh collector) or zip (PowerShell collector).
func OpenEvidence(name string) (Evidence, error) {
	f, err := os.Open(name) // #nosec G304 -- the operator names the evidence file to evaluate
	if err != nil {
		return nil, fmt.Errorf("evidence: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("evidence: %w", err)
	}
	if st.Size() > bundleMaxArchive {
		return nil, fmt.Errorf("evidence: %s is larger than %d MiB", name, bundleMaxArchive>>20)
	}
	data, err := io.ReadAll(io.LimitReader(f, bundleMaxArchive+1))
	if err != nil {
		return nil, fmt.Errorf("evidence: %w", err)
	}
	return ReadEvidence(data)
}

// ReadEvidence reads evidence of either kind from memory.
func ReadEvidence(data []byte) (Evidence, error) {
	switch {
	case len(data) > bundleMaxArchive:
		return nil, fmt.Errorf("evidence: larger than %d MiB", bundleMaxArchive>>20)
	case bytes.HasPrefix(data, []byte{0x1f, 0x8b}):
		return ReadBundle(bytes.NewReader(data))
	case bytes.HasPrefix(data, []byte("PK")):
		return ReadWindowsEvidence(data)
	}
	return nil, errors.New("evidence: neither a .tar.gz from the sh collector nor a .zip from the PowerShell collector")
}

// ReadWindowsEvidence reads and validates the zip written by the
// PowerShell collector.
func ReadWindowsEvidence(data []byte) (*WindowsEvidence, error) {
	if len(data) > bundleMaxArchive {
		return nil, fmt.Errorf("windows evidence: larger than %d MiB", bundleMaxArchive>>20)
	}
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return nil, fmt.Errorf("windows evidence: %w", err)
	}
	if len(zr.File) > 8*bundleMaxItems {
		return nil, errors.New("windows evidence: too many members")
	}
	var ms memberSet
	for _, zf := range zr.File {
		name := strings.ReplaceAll(zf.Name, `\`, "/")
		if zf.Flags&0x1 != 0 {
			return nil, fmt.Errorf("windows evidence: member %q is encrypted", truncate(name, 80))
		}
		mode := zf.Mode()
		dir := strings.HasSuffix(name, "/") || mode.IsDir()
		if !dir && !mode.IsRegular() {
			return nil, fmt.Errorf("windows evidence: member %q: only regular files and directories are allowed", truncate(name, 80))
		}
		if dir {
			if err := ms.add(name, true, 0, nil); err != nil {
				return nil, fmt.Errorf("windows evidence: %w", err)
			}
			continue
		}
		if zf.UncompressedSize64 > bundleMaxMember {
			return nil, fmt.Errorf("windows evidence: member %q: size %d over %d bytes", truncate(name, 80), zf.UncompressedSize64, bundleMaxMember)
		}
		rc, err := zf.Open()
		if err != nil {
			return nil, fmt.Errorf("windows evidence: member %q: %w", truncate(name, 80), err)
		}
		err = ms.add(name, false, int64(zf.UncompressedSize64), rc) // #nosec G115 -- bounded just above
		_ = rc.Close()
		if err != nil {
			return nil, fmt.Errorf("windows evidence: %w", err)
		}
	}
	manifest, err := ms.parseManifest()
	if err != nil {
		return nil, fmt.Errorf("windows evidence: %w", err)
	}
	if manifest["format"] != windowsEvidenceFormat {
		return nil, fmt.Errorf("windows evidence: format %q, want %q", truncate(manifest["format"], 40), windowsEvidenceFormat)
	}
	w := &WindowsEvidence{Manifest: manifest, keys: map[string][]RegistryValue{}, absent: map[string]string{},
		files: map[string]*bundleItem{}, dirs: map[string]*bundleItem{}, cmds: map[string]*bundleItem{}}
	for _, n := range ms.numbers() {
		it := ms.items[n]
		if err := it.parseStatus(-1<<31, 1<<32-1); err != nil {
			return nil, fmt.Errorf("windows evidence: item %d: %w", n, err)
		}
		if err := w.add(it); err != nil {
			return nil, fmt.Errorf("windows evidence: item %d: %w", n, err)
		}
	}
	return w, nil
}

func (w *WindowsEvidence) add(it *bundleItem) error {
	switch it.kind {
	case "reg":
		key, _, _, ok := RegistryKeyName(it.name)
		if !ok {
			return fmt.Errorf("registry key %q is not HIVE\\path", truncate(it.name, 80))
		}
		if it.view != string(RegistryView64) && it.view != string(RegistryView32) {
			return fmt.Errorf("registry view %q unknown", truncate(it.view, 10))
		}
		id := it.view + "\x00" + strings.ToLower(key)
		switch it.state {
		case "key":
			values, err := parseRegistryValues(it.data)
			if err != nil {
				return fmt.Errorf("key %s: %w", truncate(key, 80), err)
			}
			w.keys[id] = values
		case "absent", "denied":
			w.absent[id] = it.state
		default:
			return fmt.Errorf("registry state %q unknown", truncate(it.state, 20))
		}
	case "secedit":
		if it.state != "ran" && it.state != "notfound" && it.state != "timeout" {
			return fmt.Errorf("secedit state %q unknown", truncate(it.state, 20))
		}
		w.secedit = it
	case "cmd":
		if it.state != "ran" && it.state != "notfound" && it.state != "timeout" {
			return fmt.Errorf("command state %q unknown", truncate(it.state, 20))
		}
		w.cmds[it.name] = it
	case "procs":
		if it.state != "list" && it.state != "missing" {
			return fmt.Errorf("process list state %q unknown", truncate(it.state, 20))
		}
		w.procs = it
	case "file", "dir":
		p, ok := windowsPath(it.name)
		if !ok {
			return fmt.Errorf("%s %q is not an absolute Windows path", it.kind, truncate(it.name, 80))
		}
		return addPathItem(w.files, w.dirs, strings.ToLower(p), it)
	default:
		return fmt.Errorf("kind %q unknown", truncate(it.kind, 20))
	}
	return nil
}

// maxRegistryValues bounds the values read from one key.
const maxRegistryValues = 100000

// parseRegistryValues reads the value lines of a key.
func parseRegistryValues(data []byte) ([]RegistryValue, error) {
	var out []RegistryValue
	for line := range strings.SplitSeq(string(data), "\n") {
		line = strings.TrimSuffix(line, "\r")
		if line == "" {
			continue
		}
		if len(out) >= maxRegistryValues {
			return nil, fmt.Errorf("more than %d values", maxRegistryValues)
		}
		f := strings.Split(line, "\t")
		if len(f) < 2 || !registryTypes[f[0]] {
			return nil, fmt.Errorf("bad value line %q", truncate(line, 60))
		}
		name, err := unescapeRegistry(f[1])
		if err != nil {
			return nil, err
		}
		v := RegistryValue{Name: name, Type: f[0]}
		fields := f[2:]
		switch v.Type {
		case "REG_SZ", "REG_EXPAND_SZ", "REG_MULTI_SZ":
			if v.Type != "REG_MULTI_SZ" && len(fields) != 1 {
				return nil, fmt.Errorf("value %q: %s takes one string", truncate(name, 40), v.Type)
			}
			for _, x := range fields {
				s, err := unescapeRegistry(x)
				if err != nil {
					return nil, err
				}
				v.Strings = append(v.Strings, s)
			}
		case "REG_DWORD", "REG_QWORD":
			bits := 64
			if v.Type == "REG_DWORD" {
				bits = 32
			}
			if len(fields) != 1 {
				return nil, fmt.Errorf("value %q: %s takes one number", truncate(name, 40), v.Type)
			}
			if v.Number, err = strconv.ParseUint(fields[0], 10, bits); err != nil {
				return nil, fmt.Errorf("value %q: %s %q", truncate(name, 40), v.Type, truncate(fields[0], 30))
			}
		default:
			if len(fields) > 1 || len(fields) == 1 && (len(fields[0])%2 != 0 || strings.Trim(fields[0], "0123456789abcdef") != "") {
				return nil, fmt.Errorf("value %q: %s is not lower-case hex", truncate(name, 40), v.Type)
			}
			if len(fields) == 1 {
				v.Bytes = make([]byte, len(fields[0])/2)
				for i := range v.Bytes {
					b, _ := strconv.ParseUint(fields[0][2*i:2*i+2], 16, 8)
					v.Bytes[i] = byte(b)
				}
			}
		}
		out = append(out, v)
	}
	return out, nil
}

func unescapeRegistry(s string) (string, error) {
	if !strings.Contains(s, `\`) {
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' {
			b.WriteByte(s[i])
			continue
		}
		if i+1 == len(s) {
			return "", errors.New("registry data ends in a lone backslash")
		}
		i++
		switch s[i] {
		case '\\':
			b.WriteByte('\\')
		case 't':
			b.WriteByte('\t')
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case '0':
			b.WriteByte(0)
		default:
			return "", fmt.Errorf("registry data: unknown escape \\%c", s[i])
		}
	}
	return b.String(), nil
}

// windowsPath maps an absolute Windows path (C:\dir\file, or with '/') to
// the slash form the evaluator uses: /C:/dir/file.
func windowsPath(p string) (string, bool) {
	if len(p) < 3 || !(p[0] >= 'A' && p[0] <= 'Z' || p[0] >= 'a' && p[0] <= 'z') || p[1] != ':' || (p[2] != '\\' && p[2] != '/') ||
		strings.ContainsAny(p, "\x00\r\n") {
		return "", false
	}
	return path.Clean("/" + strings.ReplaceAll(p, `\`, "/")), true
}

// fromSlash is windowsPath undone: /C:/dir/file -> C:\dir\file.
func fromSlash(p string) string {
	p = strings.ReplaceAll(strings.TrimPrefix(p, "/"), "/", `\`)
	if len(p) == 2 && p[1] == ':' {
		p += `\`
	}
	return p
}

func (w *WindowsEvidence) rulePath(written string) (string, bool) { return windowsPath(written) }

// PolicyID implements Evidence.
func (w *WindowsEvidence) PolicyID() string { return w.Manifest["policy"] }

// CheckPolicy implements Evidence.
func (w *WindowsEvidence) CheckPolicy(p *Policy) error { return checkManifestPolicy(w.Manifest, p) }

// PolicyID implements Evidence.
func (b *Bundle) PolicyID() string { return b.Manifest["policy"] }

// CheckPolicy implements Evidence.
func (b *Bundle) CheckPolicy(p *Policy) error { return checkManifestPolicy(b.Manifest, p) }

func checkManifestPolicy(m map[string]string, p *Policy) error {
	if id := m["policy"]; id != p.ID {
		return fmt.Errorf("the evidence was collected for policy %q, not %q", truncate(id, 80), p.ID)
	}
	if h := m["policy-sha256"]; h != "" && p.SHA256 != "" && h != p.SHA256 {
		return fmt.Errorf("the evidence was collected for another version of policy %q (sha256 %s, this file %s); generate the collector again", p.ID, truncate(h, 64), p.SHA256)
	}
	return nil
}

// RegistryKey implements RegistryReader.
func (w *WindowsEvidence) RegistryKey(_ context.Context, key string, view RegistryView) ([]RegistryValue, error) {
	id := string(view) + "\x00" + strings.ToLower(key)
	if v, ok := w.keys[id]; ok {
		return v, nil
	}
	switch w.absent[id] {
	case "absent":
		return nil, &fs.PathError{Op: "open key", Path: key, Err: fs.ErrNotExist}
	case "denied":
		return nil, fmt.Errorf("access denied for registry %s", key)
	}
	return nil, notCollected("registry key " + key + " (" + string(view) + "-bit view)")
}

// seceditLine matches the way SCA policies read the local security policy:
// export it to a temporary file, print the lines naming one setting, and
// remove the file; the program may be named by a path
// (%WINDIR%\SysNative\WindowsPowerShell\v1.0\powershell). The collector
// exports it once into its own folder
// instead; the output is answered from that export.
var seceditLine = regexp.MustCompile(`^(?i:\S*\\)?(?i:powershell)(?:\.exe)? secedit /export /cfg (\S+); Get-Content (\S+) \| Select-String "([^"]*)"; Remove-Item (\S+)$`)

// seceditSetting returns the Select-String pattern of a command line of
// that form, ok false for any other line.
func seceditSetting(line string) (string, bool) {
	m := seceditLine.FindStringSubmatch(strings.TrimSpace(line))
	if m == nil || m[1] != m[2] || m[1] != m[4] {
		return "", false
	}
	return m[3], true
}

// RunLine implements LineRunner with the recorded output of line.
func (w *WindowsEvidence) RunLine(_ context.Context, line string, max int64) (CommandResult, error) {
	if setting, ok := seceditSetting(line); ok {
		return w.seceditOutput(setting, max)
	}
	it := w.cmds[line]
	if it == nil {
		return CommandResult{}, notCollected("the output of " + line)
	}
	switch it.state {
	case "notfound":
		return CommandResult{}, fmt.Errorf("%s: program not found", truncate(line, 80))
	case "timeout":
		return CommandResult{}, fmt.Errorf("%s: timed out", truncate(line, 80))
	}
	return CommandResult{Output: it.data[:min(int64(len(it.data)), max)], ExitStatus: it.status}, nil
}

// seceditOutput answers the secedit idiom: what secedit printed, then the
// lines of the exported template that Select-String (a case-insensitive
// .NET regular expression) picks.
func (w *WindowsEvidence) seceditOutput(setting string, max int64) (CommandResult, error) {
	it := w.secedit
	if it == nil {
		return CommandResult{}, notCollected("the secedit export")
	}
	if it.state != "ran" || !it.hasData {
		return CommandResult{}, fmt.Errorf("secedit /export did not run (%s)", it.state)
	}
	re, err := regexp.Compile("(?i)" + setting)
	if err != nil {
		return CommandResult{}, fmt.Errorf("Select-String pattern %q: %w", truncate(setting, 60), errors.ErrUnsupported)
	}
	var out bytes.Buffer
	out.Write(it.output)
	if len(it.output) > 0 && !bytes.HasSuffix(it.output, []byte("\n")) {
		out.WriteByte('\n')
	}
	sc := bufio.NewScanner(bytes.NewReader(it.data))
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for sc.Scan() {
		l := strings.TrimSuffix(sc.Text(), "\r")
		if re.MatchString(l) {
			out.WriteString(l + "\n")
		}
	}
	if err := sc.Err(); err != nil {
		return CommandResult{}, fmt.Errorf("secedit export: %w", err)
	}
	b := out.Bytes()
	return CommandResult{Output: b[:min(int64(len(b)), max)]}, nil
}

// Run implements Target: Windows commands are command lines (RunLine).
func (w *WindowsEvidence) Run(_ context.Context, argv []string, _ int64) (CommandResult, error) {
	return CommandResult{}, notCollected("the output of " + strings.Join(argv, " "))
}

// ReadFile implements Target.
func (w *WindowsEvidence) ReadFile(_ context.Context, name string, max int64) ([]byte, error) {
	it := w.files[strings.ToLower(path.Clean(name))]
	if it == nil {
		return nil, notCollected(fromSlash(name))
	}
	return (&Bundle{files: map[string]*bundleItem{path.Clean(name): it}}).ReadFile(context.Background(), name, max)
}

// Stat implements Target.
func (w *WindowsEvidence) Stat(ctx context.Context, name string) (FileInfo, error) {
	key := strings.ToLower(path.Clean(name))
	b := &Bundle{files: map[string]*bundleItem{}, dirs: map[string]*bundleItem{}}
	if it := w.files[key]; it != nil {
		b.files[path.Clean(name)] = it
	}
	if it := w.dirs[key]; it != nil {
		b.dirs[path.Clean(name)] = it
	}
	return b.Stat(ctx, name)
}

// ReadDir implements Target.
func (w *WindowsEvidence) ReadDir(ctx context.Context, name string, max int) ([]DirEntry, error) {
	it := w.dirs[strings.ToLower(path.Clean(name))]
	if it == nil {
		return nil, notCollected(fromSlash(name))
	}
	return (&Bundle{dirs: map[string]*bundleItem{path.Clean(name): it}}).ReadDir(ctx, name, max)
}

// Processes implements Target.
func (w *WindowsEvidence) Processes(ctx context.Context) ([]Process, error) {
	return (&Bundle{procs: w.procs}).Processes(ctx)
}
