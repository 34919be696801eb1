package baseline

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"sort"
	"strconv"
	"strings"
)

// The offline evidence bundle.
//
// WriteCollector writes a POSIX sh script that gathers exactly the evidence
// a policy needs on a host that Vigil cannot reach: the files its f: rules
// read (content only where a rule inspects it), the listings of its d: rule
// directories (with the regular files in them when a rule inspects their
// content), the process list when a p: rule needs it, and the output and
// exit status of its c: commands (only when commands are allowed). The
// script packs them into a gzip-compressed tar file:
//
//	vigil-evidence/manifest        "key value" lines: format, policy, created, root, host, items
//	vigil-evidence/e/N/kind        file | dir | procs | cmd
//	vigil-evidence/e/N/name        the path, or the command line as written in the policy
//	vigil-evidence/e/N/state       file: regular | dir | other | missing | unreadable;
//	                               dir: dir | notdir | missing | unreadable;
//	                               procs: list | missing; cmd: ran | notfound
//	vigil-evidence/e/N/data        file content, process lines "pid<TAB>comm<TAB>argv0",
//	                               or command output (each at most 4 MiB)
//	vigil-evidence/e/N/list        directory entries, one a line: "d/NAME" (directory),
//	                               "l/NAME" (link to a directory) or "f/NAME" (anything else);
//	                               d: rules that search file names collect subdirectories too
//	vigil-evidence/e/N/status      a command's exit status
//
// OpenBundle reads such a file back, strictly: only those names, regular
// files and directories, bounded sizes and counts. The resulting Bundle is
// a Target whose answers are the recorded evidence; anything the script did
// not record is undecided (errors.ErrUnsupported), never guessed.

// bundleFormat names the layout above in the manifest.
const bundleFormat = "vigil-evidence/1"

// Bounds of the collector and the reader.
const (
	bundleMaxData     = 4 << 20   // bytes of one file or command output collected
	bundleMaxEntries  = 10000     // entries listed per directory
	bundleMaxItems    = 200000    // evidence items in one bundle
	bundleMaxMember   = 8 << 20   // bytes of one tar member
	bundleMaxTotal    = 512 << 20 // uncompressed bytes of the whole bundle
	bundleMaxArchive  = 256 << 20 // compressed bytes read from a bundle file
	bundleDataBlock   = 65536     // dd block size: bundleMaxData/bundleDataBlock blocks
	bundleCmdTimeoutS = 10        // seconds per command when timeout(1) exists
)

// dirPlan is how one directory is collected: the content of its regular
// files or only their names, and how many levels of subdirectories.
type dirPlan struct {
	content bool
	depth   int
}

// evidencePlan is what a policy needs collected.
type evidencePlan struct {
	files map[string]bool // path -> content needed
	dirs  map[string]dirPlan
	procs bool
	cmds  map[string][]string // command line as written -> argv
}

func planEvidence(p *Policy, allowCommands bool) *evidencePlan {
	pl := &evidencePlan{files: map[string]bool{}, dirs: map[string]dirPlan{}, cmds: map[string][]string{}}
	var rules []*Rule
	if p.Requirements != nil {
		rules = append(rules, p.Requirements.Rules...)
	}
	for i := range p.Checks {
		if !p.Checks[i].Manual {
			rules = append(rules, p.Checks[i].Rules...)
		}
	}
	for _, r := range rules {
		switch r.Type {
		case RuleFile:
			for _, t := range r.Targets {
				if strings.HasPrefix(t, "/") && !strings.ContainsRune(t, 0) {
					t = path.Clean(t)
					pl.files[t] = pl.files[t] || r.Content != nil
				}
			}
		case RuleDirectory:
			for _, t := range r.Targets {
				if strings.HasPrefix(t, "/") && !strings.ContainsRune(t, 0) {
					planDir(pl.dirs, path.Clean(t), r)
				}
			}
		case RuleProcess:
			pl.procs = true
		case RuleCommand:
			if !allowCommands {
				continue
			}
			line := r.Targets[0]
			argv, err := splitCommand(line)
			if err != nil || strings.ContainsRune(line, 0) {
				continue // undecided locally as well
			}
			pl.cmds[line] = argv
		}
	}
	return pl
}

// shQuote quotes s for a POSIX shell: one single-quoted word.
func shQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// collectorHead is the fixed part of the script; only quoted words from the
// policy are appended after it.
const collectorHead = `set -u
umask 077
R=
OUT=vigil-evidence.tar.gz
while [ $# -gt 0 ]; do
  case $1 in
    -r) [ $# -ge 2 ] || { echo "usage: $0 [-r ROOT] [-o OUTPUT.tar.gz]" >&2; exit 2; }; R=${2%/}; shift 2 ;;
    -o) [ $# -ge 2 ] || { echo "usage: $0 [-r ROOT] [-o OUTPUT.tar.gz]" >&2; exit 2; }; OUT=$2; shift 2 ;;
    *) echo "usage: $0 [-r ROOT] [-o OUTPUT.tar.gz]" >&2; exit 2 ;;
  esac
done
W=$(mktemp -d "${TMPDIR:-/tmp}/vigil-evidence.XXXXXX") || exit 1
trap 'rm -rf "$W"' EXIT
trap 'exit 1' HUP INT TERM
E=$W/vigil-evidence
mkdir "$E" "$E/e" || exit 1
n=0
item() {
  n=$((n+1)); I=$E/e/$n; mkdir "$I"
  printf '%s' "$1" > "$I/kind"; printf '%s' "$2" > "$I/name"
}
state() { printf '%s' "$1" > "$I/state"; }
grab() {
  dd if="$1" of="$2" bs=` + "BLOCK count=COUNT" + ` 2>/dev/null
}
file() {
  item file "$1"; fp=$R$1
  if [ -d "$fp" ]; then state dir
  elif [ -f "$fp" ]; then
    if [ "$2" = 0 ]; then state regular
    elif [ -r "$fp" ] && grab "$fp" "$I/data"; then state regular
    else rm -f "$I/data"; state unreadable; fi
  elif [ -e "$fp" ]; then state other
  else state missing; fi
}
dir() {
  item dir "$1"; dp=$R$1; dI=$I
  if [ ! -d "$dp" ]; then
    if [ -e "$dp" ]; then state notdir; else state missing; fi
    return
  fi
  if [ ! -r "$dp" ] || [ ! -x "$dp" ]; then state unreadable; return; fi
  state dir; : > "$dI/list"; dc=0
  for df in "$dp"/* "$dp"/.[!.]* "$dp"/..?*; do
    [ -e "$df" ] || [ -L "$df" ] || continue
    dc=$((dc+1)); [ "$dc" -le MAXENT ] || break
    tc=$((tc+1)); [ "$tc" -le MAXTREE ] || break
    db=${df##*/}
    if [ -L "$df" ] && [ -d "$df" ]; then printf 'l/%s\n' "$db" >> "$dI/list"
    elif [ -d "$df" ]; then
      printf 'd/%s\n' "$db" >> "$dI/list"
      if [ "$3" -gt 0 ]; then
        # Positional parameters are the only per-call variables in sh.
        set -- "$1" "$2" "$3" "$dI" "$dc"
        dir "${1%/}/$db" "$2" $(($3-1))
        dI=$4; dc=$5; dp=$R$1
      fi
    else
      printf 'f/%s\n' "$db" >> "$dI/list"
      if [ "$2" = 1 ] && [ -f "$df" ]; then file "${1%/}/$db" 1; fi
    fi
  done
}
tree() { tc=0; dir "$@"; }
procs() {
  item procs processes
  if [ ! -d "$R/proc" ]; then state missing; return; fi
  state list; : > "$I/data"
  for pd in "$R"/proc/[0-9]*; do
    [ -d "$pd" ] || continue
    pc=$(cat "$pd/comm" 2>/dev/null) || pc=
    pa=$(tr '\000' '\n' < "$pd/cmdline" 2>/dev/null | head -n 1) || pa=
    [ -n "$pc$pa" ] || continue
    printf '%s\t%s\t%s\n' "${pd##*/}" "$pc" "$pa" >> "$I/data"
  done
}
T=
if command -v timeout >/dev/null 2>&1; then T="timeout TIMEOUT"; fi
cmd() {
  item cmd "$1"; shift
  if ! command -v "$1" >/dev/null 2>&1; then state notfound; return; fi
  # The output goes through a pipe so that the capture ends only when every
  # process holding it is gone: a command such as sh -c "a & b" leaves a
  # running in the background, and its output belongs to the evidence.
  { $T "$@" 2>&1 < /dev/null; printf '%s' "$?" > "$I/status"; } | cat > "$I/raw"
  grab "$I/raw" "$I/data"; rm -f "$I/raw"
  state ran
}
`

const collectorTail = `{
  printf 'format %s\n' FORMAT
  printf 'policy %s\n' POLICY
  printf 'policy-sha256 %s\n' HASH
  printf 'created %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  printf 'root %s\n' "${R:-/}"
  printf 'host %s\n' "$(uname -n 2>/dev/null)"
  printf 'items %s\n' "$n"
} > "$E/manifest"
(cd "$W" && tar -cf - vigil-evidence) | gzip -c > "$OUT" || { echo "writing $OUT failed" >&2; exit 1; }
echo "evidence written to $OUT ($n items)" >&2
`

// WriteCollector writes the offline collection script for p to w. Command
// rules are collected only when allowCommands is set. The script takes
// "-r ROOT" (evaluate a mounted or copied filesystem instead of /) and
// "-o OUTPUT.tar.gz".
func WriteCollector(w io.Writer, p *Policy, allowCommands bool) error {
	pl := planEvidence(p, allowCommands)
	var b strings.Builder
	b.WriteString("#!/bin/sh\n")
	fmt.Fprintf(&b, "# Vigil offline evidence collector for policy %s.\n", strings.Map(printable, p.ID))
	b.WriteString("# Generated; run as: sh collect.sh [-r ROOT] [-o OUTPUT.tar.gz]\n")
	b.WriteString("# -r reads files, directories and ROOT/proc under ROOT; commands still run on this host.\n")
	b.WriteString("# Then evaluate: vigil baseline check --policy POLICY --target OUTPUT.tar.gz\n")
	head := strings.NewReplacer(
		"BLOCK", strconv.Itoa(bundleDataBlock),
		"COUNT", strconv.Itoa(bundleMaxData/bundleDataBlock),
		"MAXENT", strconv.Itoa(bundleMaxEntries),
		"MAXTREE", strconv.Itoa(defaultMaxDirTree),
		"TIMEOUT", strconv.Itoa(bundleCmdTimeoutS),
	).Replace(collectorHead)
	b.WriteString(head)
	for _, f := range sortedKeys(pl.files) {
		flag := "0"
		if pl.files[f] {
			flag = "1"
		}
		fmt.Fprintf(&b, "file %s %s\n", shQuote(f), flag)
	}
	for _, d := range sortedKeys(pl.dirs) {
		flag := "0"
		if pl.dirs[d].content {
			flag = "1"
		}
		fmt.Fprintf(&b, "tree %s %s %d\n", shQuote(d), flag, pl.dirs[d].depth)
	}
	if pl.procs {
		b.WriteString("procs\n")
	}
	for _, line := range sortedKeys(pl.cmds) {
		b.WriteString("cmd " + shQuote(line))
		for _, a := range pl.cmds[line] {
			b.WriteString(" " + shQuote(a))
		}
		b.WriteString("\n")
	}
	b.WriteString(strings.NewReplacer("FORMAT", shQuote(bundleFormat), "POLICY", shQuote(p.ID), "HASH", shQuote(p.SHA256)).Replace(collectorTail))
	_, err := io.WriteString(w, b.String())
	return err
}

func printable(r rune) rune {
	if r < 0x20 || r == 0x7f {
		return -1
	}
	return r
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// Bundle is evidence collected offline, read back from the tarball. It
// implements Target.
type Bundle struct {
	// Manifest holds the manifest's "key value" lines.
	Manifest map[string]string
	files    map[string]*bundleItem
	dirs     map[string]*bundleItem
	procs    *bundleItem
	cmds     map[string]*bundleItem // argv joined by NUL
}

var _ Target = (*Bundle)(nil)

type bundleItem struct {
	kind, name, state string
	data, list        []byte
	hasData, hasList  bool
	status            int
	// Windows evidence only: the registry view of a key, the console
	// output of secedit.
	view                 string
	output               []byte
	hasOutput, hasStatus bool
	rawStatus            []byte
}

// OpenBundle reads an evidence bundle file written by the collector script.
func OpenBundle(name string) (*Bundle, error) {
	f, err := os.Open(name) // #nosec G304 -- the operator names the evidence file to evaluate
	if err != nil {
		return nil, fmt.Errorf("evidence bundle: %w", err)
	}
	defer f.Close()
	return ReadBundle(io.LimitReader(f, bundleMaxArchive))
}

// ReadBundle reads an evidence bundle (gzip-compressed tar) and validates
// it: only the documented names, regular files and directories, no path
// traversal, every member and the whole bounded.
func ReadBundle(r io.Reader) (*Bundle, error) {
	zr, err := gzip.NewReader(r)
	if err != nil {
		return nil, fmt.Errorf("evidence bundle: %w", err)
	}
	defer zr.Close()
	tr := tar.NewReader(zr)
	var ms memberSet
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("evidence bundle: %w", err)
		}
		var dir bool
		switch h.Typeflag {
		case tar.TypeDir:
			dir = true
		case tar.TypeReg:
		default:
			return nil, fmt.Errorf("evidence bundle: member %q: only regular files and directories are allowed", truncate(h.Name, 80))
		}
		if err := ms.add(h.Name, dir, h.Size, tr); err != nil {
			return nil, fmt.Errorf("evidence bundle: %w", err)
		}
	}
	manifest, err := ms.parseManifest()
	if err != nil {
		return nil, fmt.Errorf("evidence bundle: %w", err)
	}
	if manifest["format"] != bundleFormat {
		return nil, fmt.Errorf("evidence bundle: format %q, want %q", truncate(manifest["format"], 40), bundleFormat)
	}
	b := &Bundle{Manifest: manifest, files: map[string]*bundleItem{}, dirs: map[string]*bundleItem{}, cmds: map[string]*bundleItem{}}
	for _, n := range ms.numbers() {
		it := ms.items[n]
		if err := it.parseStatus(0, 255); err != nil {
			return nil, fmt.Errorf("evidence bundle: item %d: %w", n, err)
		}
		if err := b.add(it); err != nil {
			return nil, fmt.Errorf("evidence bundle: item %d: %w", n, err)
		}
	}
	return b, nil
}

// memberSet collects the members of an evidence archive (tar or zip) under
// the layout's names, bounded in count and size.
type memberSet struct {
	items    map[int]*bundleItem
	manifest []byte
	total    int64
	members  int
}

// add reads one member. name uses '/' (a zip written by PowerShell 5.1 may
// use '\'; the caller converts it).
func (ms *memberSet) add(name string, dir bool, size int64, r io.Reader) error {
	ms.members++
	if ms.members > 8*bundleMaxItems {
		return errors.New("too many members")
	}
	if ms.items == nil {
		ms.items = map[int]*bundleItem{}
	}
	if name != path.Clean(name) && name != path.Clean(name)+"/" || strings.HasPrefix(name, "/") || strings.Contains(name, "..") || strings.ContainsAny(name, "\x00:") {
		return fmt.Errorf("member %q: path not allowed", truncate(name, 80))
	}
	name = strings.TrimSuffix(name, "/")
	if dir {
		if !bundleDirName(name) {
			return fmt.Errorf("unexpected directory %q", truncate(name, 80))
		}
		return nil
	}
	if size < 0 || size > bundleMaxMember {
		return fmt.Errorf("member %q: size %d over %d bytes", truncate(name, 80), size, bundleMaxMember)
	}
	ms.total += size
	if ms.total > bundleMaxTotal {
		return fmt.Errorf("more than %d bytes uncompressed", bundleMaxTotal)
	}
	var field string
	var n int
	if name != "vigil-evidence/manifest" {
		var ok bool
		if n, field, ok = bundleItemName(name); !ok {
			return fmt.Errorf("unexpected member %q", truncate(name, 80))
		}
	}
	// Read one byte past the announced size: a member longer than its
	// header says (a lying zip header) is refused, not truncated.
	data, err := io.ReadAll(io.LimitReader(r, size+1))
	if err != nil {
		return fmt.Errorf("member %q: %w", truncate(name, 80), err)
	}
	if int64(len(data)) != size {
		return fmt.Errorf("member %q: %d bytes, header says %d", truncate(name, 80), len(data), size)
	}
	if field == "" {
		if ms.manifest != nil {
			return errors.New("two manifests")
		}
		ms.manifest = data
		return nil
	}
	it := ms.items[n]
	if it == nil {
		if len(ms.items) >= bundleMaxItems {
			return fmt.Errorf("more than %d items", bundleMaxItems)
		}
		it = &bundleItem{status: -1}
		ms.items[n] = it
	}
	switch field {
	case "kind":
		it.kind = string(data)
	case "name":
		it.name = string(data)
	case "state":
		it.state = string(data)
	case "data":
		it.data, it.hasData = data, true
	case "list":
		it.list, it.hasList = data, true
	case "status":
		it.rawStatus, it.hasStatus = data, true
	case "view":
		it.view = string(data)
	case "output":
		it.output, it.hasOutput = data, true
	}
	return nil
}

func (ms *memberSet) parseManifest() (map[string]string, error) {
	if ms.manifest == nil {
		return nil, errors.New("no manifest")
	}
	m := map[string]string{}
	for line := range strings.SplitSeq(strings.ReplaceAll(string(ms.manifest), "\r\n", "\n"), "\n") {
		if k, v, ok := strings.Cut(line, " "); ok {
			m[k] = v
		}
	}
	return m, nil
}

func (ms *memberSet) numbers() []int {
	nums := make([]int, 0, len(ms.items))
	for n := range ms.items {
		nums = append(nums, n)
	}
	sort.Ints(nums)
	return nums
}

// parseStatus reads a recorded exit status within [lo, hi].
func (it *bundleItem) parseStatus(lo, hi int64) error {
	if !it.hasStatus {
		return nil
	}
	st, err := strconv.ParseInt(strings.TrimSpace(string(it.rawStatus)), 10, 64)
	if err != nil || st < lo || st > hi {
		return fmt.Errorf("bad exit status %q", truncate(string(it.rawStatus), 20))
	}
	it.status = int(st)
	return nil
}

func bundleDirName(name string) bool {
	if name == "vigil-evidence" || name == "vigil-evidence/e" {
		return true
	}
	rest, ok := strings.CutPrefix(name, "vigil-evidence/e/")
	return ok && isItemNumber(rest)
}

func bundleItemName(name string) (int, string, bool) {
	rest, ok := strings.CutPrefix(name, "vigil-evidence/e/")
	if !ok {
		return 0, "", false
	}
	num, field, ok := strings.Cut(rest, "/")
	if !ok || !isItemNumber(num) {
		return 0, "", false
	}
	switch field {
	case "kind", "name", "state", "data", "list", "status", "view", "output":
	default:
		return 0, "", false
	}
	n, _ := strconv.Atoi(num)
	return n, field, true
}

func isItemNumber(s string) bool {
	return s != "" && len(s) <= 7 && s[0] != '0' && strings.Trim(s, "0123456789") == ""
}

func (b *Bundle) add(it *bundleItem) error {
	switch it.kind {
	case "file", "dir":
		if !strings.HasPrefix(it.name, "/") {
			return fmt.Errorf("%s %q is not an absolute path", it.kind, truncate(it.name, 80))
		}
		return addPathItem(b.files, b.dirs, path.Clean(it.name), it)
	case "procs":
		if it.state != "list" && it.state != "missing" {
			return fmt.Errorf("process list state %q unknown", truncate(it.state, 20))
		}
		b.procs = it
	case "cmd":
		if it.state != "ran" && it.state != "notfound" {
			return fmt.Errorf("command state %q unknown", truncate(it.state, 20))
		}
		argv, err := splitCommand(it.name)
		if err != nil {
			return fmt.Errorf("command %q: %w", truncate(it.name, 80), err)
		}
		b.cmds[strings.Join(argv, "\x00")] = it
	default:
		return fmt.Errorf("kind %q unknown", truncate(it.kind, 20))
	}
	return nil
}

func notCollected(what string) error {
	return fmt.Errorf("%s was not collected in the evidence bundle: %w", what, errors.ErrUnsupported)
}

// ReadFile implements Target.
func (b *Bundle) ReadFile(_ context.Context, name string, max int64) ([]byte, error) {
	it := b.files[path.Clean(name)]
	if it == nil {
		return nil, notCollected(name)
	}
	switch it.state {
	case "missing":
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	case "dir":
		return nil, fmt.Errorf("%s is a directory", name)
	case "unreadable":
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrPermission}
	case "other":
		return nil, fmt.Errorf("%s is not a regular file", name)
	}
	if !it.hasData {
		return nil, notCollected("the content of " + name)
	}
	return it.data[:min(int64(len(it.data)), max)], nil
}

// Stat implements Target.
func (b *Bundle) Stat(_ context.Context, name string) (FileInfo, error) {
	name = path.Clean(name)
	if it := b.files[name]; it != nil {
		switch it.state {
		case "missing":
			return FileInfo{}, &fs.PathError{Op: "stat", Path: name, Err: fs.ErrNotExist}
		case "dir":
			return FileInfo{IsDir: true}, nil
		case "other":
			return FileInfo{}, nil
		}
		return FileInfo{IsRegular: true, Size: int64(len(it.data))}, nil
	}
	if it := b.dirs[name]; it != nil {
		switch it.state {
		case "missing":
			return FileInfo{}, &fs.PathError{Op: "stat", Path: name, Err: fs.ErrNotExist}
		case "dir", "unreadable":
			return FileInfo{IsDir: true}, nil
		}
	}
	return FileInfo{}, notCollected(name)
}

// ReadDir implements Target.
func (b *Bundle) ReadDir(_ context.Context, name string, max int) ([]DirEntry, error) {
	it := b.dirs[path.Clean(name)]
	if it == nil {
		return nil, notCollected(name)
	}
	switch it.state {
	case "missing":
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	case "notdir":
		return nil, fmt.Errorf("%s: not a directory", name)
	case "unreadable":
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrPermission}
	}
	var out []DirEntry
	sc := bufio.NewScanner(bytes.NewReader(it.list))
	sc.Buffer(make([]byte, 0, 4096), 64<<10)
	for sc.Scan() && len(out) < max {
		t, n, ok := strings.Cut(sc.Text(), "/")
		if !ok || n == "" || n == "." || n == ".." || (t != "d" && t != "f" && t != "l") {
			continue // a name with a newline in it; not representable
		}
		out = append(out, DirEntry{Name: n, IsDir: t != "f", Link: t == "l"})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s listing: %w", name, err)
	}
	return out, nil
}

// Processes implements Target.
func (b *Bundle) Processes(_ context.Context) ([]Process, error) {
	if b.procs == nil || b.procs.state != "list" {
		return nil, notCollected("the process list")
	}
	var out []Process
	sc := bufio.NewScanner(bytes.NewReader(b.procs.data))
	sc.Buffer(make([]byte, 0, 4096), 256<<10)
	for sc.Scan() && len(out) < maxProcesses {
		f := strings.SplitN(sc.Text(), "\t", 3)
		if len(f) != 3 || f[0] == "" || strings.Trim(f[0], "0123456789") != "" {
			continue
		}
		out = append(out, Process{PID: f[0], Comm: f[1], Argv0: f[2]})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("process list: %w", err)
	}
	return out, nil
}

// Run implements Target by returning the recorded output of argv.
func (b *Bundle) Run(_ context.Context, argv []string, max int64) (CommandResult, error) {
	it := b.cmds[strings.Join(argv, "\x00")]
	if it == nil {
		return CommandResult{}, notCollected("the output of " + strings.Join(argv, " "))
	}
	if it.state == "notfound" {
		return CommandResult{}, fmt.Errorf("%s: executable file not found", argv[0])
	}
	return CommandResult{Output: it.data[:min(int64(len(it.data)), max)], ExitStatus: it.status}, nil
}

// planDir records that the directory t (a slash path, possibly with a
// wildcard) must be collected for the d: rule r. A wildcard is expanded
// from the listings of its leading directory, so that one is collected
// deep enough; a file-name search descends MaxDirDepth levels below each
// directory it starts from.
func planDir(dirs map[string]dirPlan, t string, r *Rule) {
	t, depth := globPrefix(t)
	if r.FileName != nil {
		depth += defaultMaxDirDepth
	}
	d := dirs[t]
	d.content = d.content || (r.FileName != nil && r.Content != nil)
	d.depth = max(d.depth, depth)
	dirs[t] = d
}

// addPathItem checks the state of an evidence record of kind file or dir
// and keeps it under name (the path as the evaluator looks it up).
func addPathItem(files, dirs map[string]*bundleItem, name string, it *bundleItem) error {
	if it.kind == "file" {
		switch it.state {
		case "regular", "dir", "other", "missing", "unreadable":
		default:
			return fmt.Errorf("file state %q unknown", truncate(it.state, 20))
		}
		// The same file may be recorded by an f: and a d: rule; keep the
		// record that has the content.
		if old := files[name]; old == nil || !old.hasData {
			files[name] = it
		}
		return nil
	}
	switch it.state {
	case "dir", "notdir", "missing", "unreadable":
	default:
		return fmt.Errorf("directory state %q unknown", truncate(it.state, 20))
	}
	if it.state == "dir" && !it.hasList {
		return errors.New("directory without a listing")
	}
	dirs[name] = it
	return nil
}
