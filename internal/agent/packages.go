package agent

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"strings"
)

// Package is one installed software package.
type Package struct {
	Name    string `json:"name"`
	Version string `json:"version"`
	Arch    string `json:"arch,omitempty"`
	// Source is the source package (dpkg) or origin (apk) when it differs
	// from Name.
	Source string `json:"source,omitempty"`
	// Manager is dpkg, apk or rpm.
	Manager string `json:"manager"`
}

// maxPackageLine bounds one line of a package database; dpkg
// descriptions and conffile lists are the longest.
const maxPackageLine = 64 << 10

// ParseDpkgStatus reads a dpkg status file (/var/lib/dpkg/status): RFC
// 822-style stanzas separated by blank lines. Only packages whose Status
// ends in "installed" are returned (not config-files or half-installed
// ones). Continuation lines (starting with a space or tab) belong to the
// field before them and are skipped. At most maxPackages are returned;
// more is an error wrapping ErrTooMany.
func ParseDpkgStatus(r io.Reader, maxPackages int) ([]Package, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), maxPackageLine)
	var (
		out   []Package
		cur   Package
		state string
		line  int
		start int
	)
	flush := func() error {
		defer func() { cur, state = Package{}, "" }()
		if cur.Name == "" && cur.Version == "" && state == "" {
			return nil
		}
		if cur.Name == "" {
			return fmt.Errorf("dpkg status line %d: stanza without a Package field", start)
		}
		if !dpkgInstalled(state) {
			return nil
		}
		if len(out) >= maxPackages {
			return fmt.Errorf("dpkg status line %d: %w (limit %d)", start, ErrTooMany, maxPackages)
		}
		cur.Manager = "dpkg"
		if cur.Source == cur.Name {
			cur.Source = ""
		}
		out = append(out, cur)
		return nil
	}
	for sc.Scan() {
		line++
		b := sc.Bytes()
		if len(bytes.TrimSpace(b)) == 0 {
			if err := flush(); err != nil {
				return out, err
			}
			continue
		}
		if b[0] == ' ' || b[0] == '\t' {
			continue
		}
		if cur.Name == "" && cur.Version == "" && state == "" {
			start = line
		}
		k, v, ok := bytes.Cut(b, []byte(":"))
		if !ok {
			return out, fmt.Errorf("dpkg status line %d: no colon in field line", line)
		}
		val := strings.TrimSpace(string(v))
		switch string(k) {
		case "Package":
			cur.Name = val
		case "Version":
			cur.Version = val
		case "Architecture":
			cur.Arch = val
		case "Source":
			// "Source: name (version)" names the source version too.
			cur.Source, _, _ = strings.Cut(val, " ")
		case "Status":
			state = val
		}
	}
	if err := sc.Err(); err != nil {
		return out, fmt.Errorf("dpkg status line %d: %w", line+1, err)
	}
	if err := flush(); err != nil {
		return out, err
	}
	return out, nil
}

// dpkgInstalled reports whether a Status value ("want flag status") says
// the package is installed.
func dpkgInstalled(status string) bool {
	f := strings.Fields(status)
	return len(f) == 3 && f[2] == "installed"
}

// ParseApkInstalled reads an Alpine apk database (/lib/apk/db/installed):
// stanzas of "X:value" lines separated by blank lines, where P is the
// package, V its version, A the architecture and o its origin. At most
// maxPackages are returned; more is an error wrapping ErrTooMany.
func ParseApkInstalled(r io.Reader, maxPackages int) ([]Package, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), maxPackageLine)
	var (
		out  []Package
		cur  Package
		line int
	)
	flush := func() error {
		defer func() { cur = Package{} }()
		if cur == (Package{}) {
			return nil
		}
		if cur.Name == "" {
			return fmt.Errorf("apk database line %d: stanza without a P: line", line)
		}
		if len(out) >= maxPackages {
			return fmt.Errorf("apk database line %d: %w (limit %d)", line, ErrTooMany, maxPackages)
		}
		cur.Manager = "apk"
		if cur.Source == cur.Name {
			cur.Source = ""
		}
		out = append(out, cur)
		return nil
	}
	for sc.Scan() {
		line++
		b := sc.Bytes()
		if len(bytes.TrimSpace(b)) == 0 {
			if err := flush(); err != nil {
				return out, err
			}
			continue
		}
		if len(b) < 2 || b[1] != ':' {
			return out, fmt.Errorf("apk database line %d: want a \"X:value\" line", line)
		}
		val := string(b[2:])
		switch b[0] {
		case 'P':
			cur.Name = val
		case 'V':
			cur.Version = val
		case 'A':
			cur.Arch = val
		case 'o':
			cur.Source = val
		}
	}
	if err := sc.Err(); err != nil {
		return out, fmt.Errorf("apk database line %d: %w", line+1, err)
	}
	if err := flush(); err != nil {
		return out, err
	}
	return out, nil
}

// rpmQueryFormat is the --qf of `rpm -qa`: one tab-separated line per
// package.
const rpmQueryFormat = `%{NAME}\t%|EPOCH?{%{EPOCH}:}:{}|%{VERSION}-%{RELEASE}\t%{ARCH}\t%{SOURCERPM}\n`

// parseRPMList reads the output of rpm -qa with rpmQueryFormat.
func parseRPMList(r io.Reader, maxPackages int) ([]Package, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), maxPackageLine)
	var out []Package
	line := 0
	for sc.Scan() {
		line++
		t := strings.TrimSpace(sc.Text())
		if t == "" {
			continue
		}
		f := strings.Split(t, "\t")
		if len(f) < 3 {
			return out, fmt.Errorf("rpm list line %d: %d fields, want 4", line, len(f))
		}
		if len(out) >= maxPackages {
			return out, fmt.Errorf("rpm list line %d: %w (limit %d)", line, ErrTooMany, maxPackages)
		}
		p := Package{Name: f[0], Version: f[1], Arch: f[2], Manager: "rpm"}
		if len(f) > 3 && f[3] != "(none)" {
			p.Source = f[3]
		}
		out = append(out, p)
	}
	if err := sc.Err(); err != nil {
		return out, fmt.Errorf("rpm list line %d: %w", line+1, err)
	}
	return out, nil
}
