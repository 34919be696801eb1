package baseline

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"
)

// Directory rules (d:) follow the semantics of Wazuh SCA:
//
//	d:DIR                      DIR exists and is a directory
//	d:DIR -> NAME              some file below DIR, at any depth, has a name
//	                           matching NAME
//	d:DIR -> NAME -> CONTENT   some such file has a line matching CONTENT
//
// The search is recursive: subdirectories are descended into (symbolic
// links to directories are not, so a tree with a link loop terminates),
// and every other entry whose name matches NAME is a candidate file.
// NAME is a regular expression when written "r:REGEX"; otherwise it is the
// simple OSSEC match (see parseNamePattern). DIR may be a comma-separated
// list and may contain shell wildcards (*, ?, [...]) in its components,
// which expand to the existing directories they match (links to
// directories excluded); where the last component matches a file rather
// than a directory, that file is a candidate itself, so
// "d:/etc/security/pwquality.conf.d/* -> r:\.conf$ -> ..." inspects the
// .conf files in that directory as its authors meant.
//
// Three-valued outcome, as Wazuh: a matching file (with a matching line)
// makes the rule true; otherwise a directory that cannot be listed, a
// candidate file that cannot be read, or a search cut short by a limit
// makes it undecided (not applicable); otherwise it is false. A DIR that
// does not exist holds no file: the rule is false, as an f: rule on a
// missing file is in this engine (Wazuh reports the searching forms on a
// missing directory as not applicable instead; Vigil's own policies list
// the directories of several distributions and rely on absence).
//
// Limits: Options.MaxDirDepth levels below DIR (default 16),
// Options.MaxDirTree entries visited per rule target (default 20000),
// Options.MaxDirEntries per directory and at most maxGlobDirs directories
// from one wildcard.

// Directory search defaults; the offline collector uses the same numbers so
// that a bundle answers exactly what a local run would ask.
const (
	defaultMaxDirDepth = 16
	defaultMaxDirTree  = 20000
	maxGlobDirs        = 1000
)

// nameAlt is one alternative of a simple name match.
type nameAlt struct {
	text       string // lower-cased
	start, end bool   // anchored with ^ / $
}

// parseNamePattern parses the file-name part of a d: rule. "r:REGEX" (the
// prefix in any case) is a regular expression applied to the name, the
// whole rest being the expression (no "&&" or "!" here). Anything else is
// the OSSEC simple match: alternatives separated by "|", each matching
// case-insensitively anywhere in the name, at its start when it begins with
// "^", at its end when it ends with "$"; an empty alternative matches every
// name. So ".sh" matches "umask.sh" and "a.shell", "^.htaccess$" only
// ".htaccess".
func parseNamePattern(s string) (Expr, error) {
	if s == "" {
		return nil, errors.New("empty file name pattern")
	}
	if len(s) >= 2 && strings.EqualFold(s[:2], "r:") {
		re, err := TranslateRegex(s[2:])
		if err != nil {
			return nil, fmt.Errorf("regex %q: %w", truncate(s[2:], 80), err)
		}
		return Expr{{Kind: PatternRegex, Text: s[2:], Re: re}}, nil
	}
	p := Pattern{Kind: PatternName, Text: s}
	for a := range strings.SplitSeq(s, "|") {
		var alt nameAlt
		if rest, ok := strings.CutPrefix(a, "^"); ok {
			alt.start, a = true, rest
		}
		if rest, ok := strings.CutSuffix(a, "$"); ok {
			alt.end, a = true, rest
		}
		alt.text = strings.ToLower(a)
		p.alts = append(p.alts, alt)
	}
	return Expr{p}, nil
}

func matchName(alts []nameAlt, name string) bool {
	n := strings.ToLower(name)
	for _, a := range alts {
		switch {
		case a.start && a.end:
			if n == a.text {
				return true
			}
		case a.start:
			if strings.HasPrefix(n, a.text) {
				return true
			}
		case a.end:
			if strings.HasSuffix(n, a.text) {
				return true
			}
		default:
			if strings.Contains(n, a.text) {
				return true
			}
		}
	}
	return false
}

// notADir reports errors meaning "exists but is no directory".
func notADir(err error) bool {
	return err != nil && strings.Contains(err.Error(), "not a directory")
}

func (e *evaluator) dirRule(ctx context.Context, r *Rule) (ruleState, string) {
	var notes []string
	unknown := false
	for _, written := range r.Targets {
		t, ok := e.rulePath(written)
		if !ok {
			notes = append(notes, written+": not an absolute path")
			continue
		}
		st, note := e.dirTarget(ctx, r, path.Clean(t))
		if st == ruleTrue {
			return st, note
		}
		unknown = unknown || st == ruleUnknown
		notes = append(notes, note)
	}
	if unknown {
		return ruleUnknown, strings.Join(notes, "; ")
	}
	return ruleFalse, strings.Join(notes, "; ")
}

// dirTarget evaluates r for one directory target (a path or a wildcard).
func (e *evaluator) dirTarget(ctx context.Context, r *Rule, t string) (ruleState, string) {
	dirs, files, err := e.globDirs(ctx, t)
	if err != nil {
		return ruleUnknown, err.Error()
	}
	if len(dirs) == 0 && (len(files) == 0 || r.FileName == nil) {
		return ruleFalse, t + ": no such directory"
	}
	if r.FileName == nil {
		var notes []string
		unknown := false
		for _, d := range dirs {
			_, err := e.readDir(ctx, d)
			switch {
			case err == nil:
				return ruleTrue, d + " exists"
			case errors.Is(err, fs.ErrNotExist):
				notes = append(notes, d+" does not exist")
			case notADir(err):
				notes = append(notes, d+" is not a directory")
			default:
				unknown = true
				notes = append(notes, err.Error())
			}
		}
		if unknown {
			return ruleUnknown, strings.Join(notes, "; ")
		}
		return ruleFalse, strings.Join(notes, "; ")
	}
	w := &dirWalk{e: e, r: r, budget: e.opts.MaxDirTree}
	for _, d := range dirs {
		if found, ev := w.walk(ctx, d, 0); found {
			return ruleTrue, ev
		}
	}
	for _, f := range files {
		w.seen++
		if found, ev := w.candidate(ctx, f); found {
			return ruleTrue, ev
		}
	}
	if w.unknown {
		return ruleUnknown, t + ": " + strings.Join(w.notes, "; ")
	}
	if len(w.absent) == len(dirs) && len(files) == 0 {
		return ruleFalse, strings.Join(w.absent, "; ")
	}
	if w.matched == 0 {
		return ruleFalse, fmt.Sprintf("%s: no file name matched (%d entries searched)", t, w.seen)
	}
	return ruleFalse, fmt.Sprintf("%s: no line matched in %d matching files", t, w.matched)
}

// dirWalk is the state of one recursive search.
type dirWalk struct {
	e       *evaluator
	r       *Rule
	budget  int // entries still allowed
	seen    int
	matched int
	unknown bool
	notes   []string
	absent  []string // named directories that do not exist
}

func (w *dirWalk) note(s string) {
	w.unknown = true
	if len(w.notes) < 5 {
		w.notes = append(w.notes, s)
	}
}

// walk searches dir and, depth allowing, its subdirectories; it reports
// the first matching file.
func (w *dirWalk) walk(ctx context.Context, dir string, depth int) (bool, string) {
	if ctx.Err() != nil {
		w.note(ctx.Err().Error())
		return false, ""
	}
	entries, err := w.e.readDir(ctx, dir)
	if err != nil {
		switch {
		case errors.Is(err, fs.ErrNotExist) && depth == 0:
			w.absent = append(w.absent, dir+" does not exist")
		case notADir(err) && depth == 0:
			w.absent = append(w.absent, dir+" is not a directory")
		default:
			w.note(err.Error())
		}
		return false, ""
	}
	if len(entries) >= w.e.opts.MaxDirEntries {
		w.note(fmt.Sprintf("%s: only the first %d entries searched", dir, w.e.opts.MaxDirEntries))
	}
	for _, de := range entries {
		if w.budget <= 0 {
			w.note(fmt.Sprintf("search stopped after %d entries", w.e.opts.MaxDirTree))
			return false, ""
		}
		w.budget--
		w.seen++
		full := path.Join(dir, de.Name)
		if de.IsDir {
			if de.Link {
				continue // never follow a link to a directory: no loops
			}
			if depth >= w.e.opts.MaxDirDepth {
				w.note(fmt.Sprintf("%s: deeper than %d levels, not searched", full, w.e.opts.MaxDirDepth))
				continue
			}
			if found, ev := w.walk(ctx, full, depth+1); found {
				return true, ev
			}
			continue
		}
		if found, ev := w.candidate(ctx, full); found {
			return true, ev
		}
	}
	return false, ""
}

// candidate tests one file: its name, then its lines.
func (w *dirWalk) candidate(ctx context.Context, full string) (bool, string) {
	if !w.r.FileName.Match(path.Base(full)) {
		return false, ""
	}
	w.matched++
	if w.r.Content == nil {
		return true, full + " exists"
	}
	line, found, err := w.e.searchFile(ctx, full, w.r.Content)
	if err != nil {
		w.note(err.Error())
		return false, ""
	}
	if found {
		return true, fmt.Sprintf("%s: line %q matched", full, truncate(line, 120))
	}
	return false, ""
}

// hasGlob reports whether a path component uses shell wildcards.
func hasGlob(s string) bool { return strings.ContainsAny(s, "*?[") }

// globDirs expands the wildcards in the components of an absolute clean
// path to the directories (not links to directories) they match, in name
// order, and to the other entries the last component matches. A path
// without wildcards is returned as is, unread.
func (e *evaluator) globDirs(ctx context.Context, p string) (dirs, files []string, err error) {
	if !hasGlob(p) {
		return []string{p}, nil, nil
	}
	parts := strings.Split(strings.TrimPrefix(p, "/"), "/")
	cur := []string{"/"}
	for i, part := range parts {
		if _, err := path.Match(part, ""); err != nil {
			return nil, nil, fmt.Errorf("%s: bad wildcard %q", p, part)
		}
		last := i == len(parts)-1
		var next []string
		for _, d := range cur {
			if !hasGlob(part) {
				next = append(next, path.Join(d, part))
				continue
			}
			entries, err := e.readDir(ctx, d)
			if err != nil {
				if errors.Is(err, fs.ErrNotExist) || notADir(err) {
					continue
				}
				return nil, nil, err
			}
			for _, de := range entries {
				ok, _ := path.Match(part, de.Name)
				switch {
				case !ok:
				case de.IsDir && !de.Link:
					next = append(next, path.Join(d, de.Name))
				case last && !de.IsDir:
					files = append(files, path.Join(d, de.Name))
				}
			}
			if len(next)+len(files) > maxGlobDirs {
				return nil, nil, fmt.Errorf("%s: wildcard matches more than %d entries", p, maxGlobDirs)
			}
		}
		cur = next
	}
	return cur, files, nil
}

// globPrefix splits a wildcard path into its longest leading part without
// wildcards and the number of components after it.
func globPrefix(p string) (string, int) {
	parts := strings.Split(strings.TrimPrefix(p, "/"), "/")
	for i, part := range parts {
		if hasGlob(part) {
			return "/" + strings.Join(parts[:i], "/"), len(parts) - i
		}
	}
	return p, 0
}
