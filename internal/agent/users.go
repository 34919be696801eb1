package agent

import (
	"bufio"
	"fmt"
	"io"
	"path"
	"strconv"
	"strings"
)

// User is one account of /etc/passwd.
type User struct {
	Name  string `json:"name"`
	UID   uint32 `json:"uid"`
	GID   uint32 `json:"gid"`
	Home  string `json:"home,omitempty"`
	Shell string `json:"shell,omitempty"`
	// Root is set for uid 0, whatever the account's name.
	Root bool `json:"root,omitempty"`
	// Login is set when the shell lets the account log in
	// interactively (not nologin, false, sync, halt or shutdown).
	Login bool `json:"login,omitempty"`
}

// Group is one group of /etc/group.
type Group struct {
	Name    string   `json:"name"`
	GID     uint32   `json:"gid"`
	Members []string `json:"members,omitempty"`
}

// maxAccountLine bounds a passwd or group line.
const maxAccountLine = 64 << 10

// noLoginShells are shells that refuse an interactive login.
var noLoginShells = map[string]bool{"nologin": true, "false": true, "sync": true, "halt": true, "shutdown": true}

// ParsePasswd reads /etc/passwd (name:password:uid:gid:gecos:home:shell).
// Comment lines and NIS "+"/"-" entries are skipped. At most maxUsers are
// returned; more is an error wrapping ErrTooMany.
func ParsePasswd(r io.Reader, maxUsers int) ([]User, error) {
	var out []User
	err := scanColonFile(r, "passwd", func(line int, f []string) error {
		if len(f) != 7 {
			return fmt.Errorf("passwd line %d: %d fields, want 7", line, len(f))
		}
		uid, err := strconv.ParseUint(f[2], 10, 32)
		if err != nil {
			return fmt.Errorf("passwd line %d: uid %q is not a number", line, f[2])
		}
		gid, err := strconv.ParseUint(f[3], 10, 32)
		if err != nil {
			return fmt.Errorf("passwd line %d: gid %q is not a number", line, f[3])
		}
		if len(out) >= maxUsers {
			return fmt.Errorf("passwd line %d: %w (limit %d)", line, ErrTooMany, maxUsers)
		}
		u := User{Name: f[0], UID: uint32(uid), GID: uint32(gid), Home: f[5], Shell: f[6]}
		u.Root = u.UID == 0
		u.Login = u.Shell != "" && !noLoginShells[path.Base(u.Shell)]
		out = append(out, u)
		return nil
	})
	return out, err
}

// ParseGroup reads /etc/group (name:password:gid:member,member). At most
// maxGroups are returned; more is an error wrapping ErrTooMany.
func ParseGroup(r io.Reader, maxGroups int) ([]Group, error) {
	var out []Group
	err := scanColonFile(r, "group", func(line int, f []string) error {
		if len(f) != 4 {
			return fmt.Errorf("group line %d: %d fields, want 4", line, len(f))
		}
		gid, err := strconv.ParseUint(f[2], 10, 32)
		if err != nil {
			return fmt.Errorf("group line %d: gid %q is not a number", line, f[2])
		}
		if len(out) >= maxGroups {
			return fmt.Errorf("group line %d: %w (limit %d)", line, ErrTooMany, maxGroups)
		}
		g := Group{Name: f[0], GID: uint32(gid)}
		if f[3] != "" {
			for m := range strings.SplitSeq(f[3], ",") {
				if m = strings.TrimSpace(m); m != "" {
					g.Members = append(g.Members, m)
				}
			}
		}
		out = append(out, g)
		return nil
	})
	return out, err
}

func scanColonFile(r io.Reader, name string, fn func(line int, fields []string) error) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 1024), maxAccountLine)
	line := 0
	for sc.Scan() {
		line++
		t := strings.TrimRight(sc.Text(), "\r")
		if t == "" || t[0] == '#' || t[0] == '+' || t[0] == '-' {
			continue
		}
		if err := fn(line, strings.Split(t, ":")); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("%s line %d: %w", name, line+1, err)
	}
	return nil
}
