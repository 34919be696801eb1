package agent

import (
	"io/fs"
	"os"
	"testing"
	"testing/fstest"
)

// fakeRoot loads testdata/root (a small Debian host) into a MapFS and adds
// what a checkout cannot hold portably: the /proc/<pid>/fd socket links,
// /proc/<pid>/exe links and systemd's invocation links. The host has:
//
//   - sshd (pid 812) holding sockets 1001 (tcp 0.0.0.0:22) and 1004
//     (tcp6 [::]:22);
//   - python3 (pid 950, uid 1000) holding 1002 (tcp 127.0.0.1:8080);
//   - systemd-resolve (pid 420) holding 1005 (udp 127.0.0.53:53);
//   - an established ssh connection (1003) and a connected udp socket
//     (1006), which are not listeners;
//   - units ssh.service and systemd-resolved.service running.
func fakeRoot(t testing.TB) fstest.MapFS {
	t.Helper()
	m := fstest.MapFS{}
	src := os.DirFS("testdata/root")
	err := fs.WalkDir(src, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(src, p)
		if err != nil {
			return err
		}
		m[p] = &fstest.MapFile{Data: b, Mode: 0o644}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	link := func(name, target string) {
		m[name] = &fstest.MapFile{Data: []byte(target), Mode: fs.ModeSymlink | 0o777}
	}
	proc := func(pid, comm, exe string, fds map[string]string) {
		m["proc/"+pid+"/comm"] = &fstest.MapFile{Data: []byte(comm + "\n")}
		if exe != "" {
			link("proc/"+pid+"/exe", exe)
		}
		for fd, target := range fds {
			link("proc/"+pid+"/fd/"+fd, target)
		}
	}
	proc("1", "systemd", "/usr/lib/systemd/systemd", map[string]string{"0": "/dev/null", "5": "anon_inode:[eventpoll]"})
	proc("420", "systemd-resolve", "/usr/lib/systemd/systemd-resolved", map[string]string{"12": "socket:[1005]"})
	proc("812", "sshd", "/usr/sbin/sshd", map[string]string{"3": "socket:[1001]", "4": "socket:[1004]", "5": "socket:[1003]"})
	proc("950", "python3", "", map[string]string{"7": "socket:[1002]", "8": "pipe:[777]"})
	for _, u := range []string{"ssh.service", "systemd-resolved.service"} {
		link("run/systemd/units/invocation:"+u, "0f3c1a2b4d5e6f708192a3b4c5d6e7f8")
	}
	link("run/systemd/units/log-extra-fields:ssh.service", "x")
	return m
}
