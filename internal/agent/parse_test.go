package agent

import (
	"bytes"
	"errors"
	"net/netip"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseProcNet(t *testing.T) {
	f, err := os.Open("testdata/root/proc/net/tcp")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	socks, err := ParseProcNet(f, "tcp", 100)
	if err != nil {
		t.Fatal(err)
	}
	// proc(5): addresses are hex in host byte order, so on a
	// little-endian machine 0100007F is 127.0.0.1; 1F90 is port 8080.
	if len(socks) != 3 || socks[1].Local != netip.MustParseAddrPort("127.0.0.1:8080") || socks[1].UID != 1000 ||
		socks[1].Inode != 1002 || socks[1].State != tcpListen {
		t.Fatalf("sockets %+v", socks)
	}
	if socks[2].Remote != netip.MustParseAddrPort("10.0.0.100:54321") {
		t.Errorf("remote %v", socks[2].Remote)
	}
}

func TestParseProcNetErrors(t *testing.T) {
	const hdr = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
	const good = "   0: 00000000:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1001 1\n"
	for _, tc := range []struct{ name, proto, in, want string }{
		{"no header", "tcp", good, "line 1: not a socket table header"},
		{"unknown table", "raw", hdr, "unknown table"},
		{"short address", "tcp", hdr + strings.Replace(good, "00000000:0016", "0000:0016", 1), "line 2: local address"},
		{"v4 in v6 table", "tcp6", hdr + good, "line 2: local address"},
		{"bad state", "tcp", hdr + strings.Replace(good, " 0A ", " ZZ ", 1), "line 2: state"},
		{"few fields", "tcp", hdr + "   0: 00000000:0016\n", "line 2: 2 fields"},
		{"long line", "tcp", hdr + strings.Repeat("x", 5000) + "\n", "line 2: bufio.Scanner: token too long"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseProcNet(strings.NewReader(tc.in), tc.proto, 10)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
	_, err := ParseProcNet(strings.NewReader(hdr+good+good+good), "tcp", 2)
	if !errors.Is(err, ErrTooMany) {
		t.Errorf("three sockets with a limit of two: %v", err)
	}
}

func TestParseDpkgStatusErrors(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"no package", "Status: install ok installed\nVersion: 1\n", "line 1: stanza without a Package field"},
		{"no colon", "Package: a\nnonsense\n", "line 2: no colon"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseDpkgStatus(strings.NewReader(tc.in), 10)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
	var many bytes.Buffer
	for range 5 {
		many.WriteString("Package: p\nStatus: install ok installed\nVersion: 1\n\n")
	}
	if _, err := ParseDpkgStatus(&many, 4); !errors.Is(err, ErrTooMany) {
		t.Errorf("five packages with a limit of four: %v", err)
	}
}

func TestParseAccountsErrors(t *testing.T) {
	if _, err := ParsePasswd(strings.NewReader("root:x:0:0:root:/root:/bin/bash\nbad:x:zero:0::/:/bin/sh\n"), 10); err == nil ||
		!strings.Contains(err.Error(), "passwd line 2: uid") {
		t.Errorf("bad uid: %v", err)
	}
	if _, err := ParseGroup(strings.NewReader("a:x:1\n"), 10); err == nil || !strings.Contains(err.Error(), "group line 1: 3 fields") {
		t.Errorf("short group line: %v", err)
	}
}

func TestParseOSRelease(t *testing.T) {
	got := ParseOSRelease([]byte("# c\nNAME=\"Alpine \\\"Linux\\\"\"\nID=alpine\nVERSION_ID='3.20.3'\nbroken\n"))
	want := map[string]string{"NAME": `Alpine "Linux"`, "ID": "alpine", "VERSION_ID": "3.20.3"}
	if d := cmp.Diff(want, got); d != "" {
		t.Error(d)
	}
}

func FuzzParseProcNet(f *testing.F) {
	for _, p := range []string{"tcp", "tcp6", "udp"} {
		if b, err := os.ReadFile("testdata/root/proc/net/" + p); err == nil {
			f.Add(b, uint8(len(p)))
		}
	}
	protos := []string{"tcp", "tcp6", "udp", "udp6"}
	f.Fuzz(func(t *testing.T, data []byte, which uint8) {
		proto := protos[int(which)%len(protos)]
		socks, err := ParseProcNet(bytes.NewReader(data), proto, 64)
		if len(socks) > 64 {
			t.Fatalf("%d sockets past the limit", len(socks))
		}
		for _, s := range socks {
			if s.Proto != proto || !s.Local.IsValid() {
				t.Fatalf("socket %+v from table %s", s, proto)
			}
		}
		_ = err
	})
}

func FuzzParseDpkgStatus(f *testing.F) {
	if b, err := os.ReadFile("testdata/root/var/lib/dpkg/status"); err == nil {
		f.Add(b)
	}
	if b, err := os.ReadFile("testdata/root/lib/apk/db/installed"); err == nil {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		pkgs, _ := ParseDpkgStatus(bytes.NewReader(data), 32)
		if len(pkgs) > 32 {
			t.Fatalf("%d packages past the limit", len(pkgs))
		}
		for _, p := range pkgs {
			if p.Name == "" || p.Manager != "dpkg" {
				t.Fatalf("package %+v", p)
			}
		}
		apks, _ := ParseApkInstalled(bytes.NewReader(data), 32)
		for _, p := range apks {
			if p.Name == "" || p.Manager != "apk" {
				t.Fatalf("apk package %+v", p)
			}
		}
	})
}

func FuzzParsePasswd(f *testing.F) {
	for _, n := range []string{"passwd", "group"} {
		if b, err := os.ReadFile("testdata/root/etc/" + n); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		users, _ := ParsePasswd(bytes.NewReader(data), 32)
		for _, u := range users {
			if u.Root != (u.UID == 0) {
				t.Fatalf("user %+v", u)
			}
		}
		groups, _ := ParseGroup(bytes.NewReader(data), 32)
		if len(users) > 32 || len(groups) > 32 {
			t.Fatal("past the limit")
		}
		_ = ParseOSRelease(data)
	})
}
