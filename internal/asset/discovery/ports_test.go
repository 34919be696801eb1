package discovery

import (
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParsePorts(t *testing.T) {
	tests := []struct {
		spec string
		want []uint16
	}{
		{"22,80,443", []uint16{22, 80, 443}},
		{"443, 22 ,22", []uint16{22, 443}},
		{"1-5", []uint16{1, 2, 3, 4, 5}},
		{"-3", []uint16{1, 2, 3}},
		{"65533-", []uint16{65533, 65534, 65535}},
		{"top:3", []uint16{22, 80, 443}},
		{"top:2,8080,79-80", []uint16{79, 80, 443, 8080}},
	}
	for _, tt := range tests {
		got, err := ParsePorts(tt.spec)
		if err != nil {
			t.Errorf("ParsePorts(%q): %v", tt.spec, err)
			continue
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("ParsePorts(%q) (-want +got):\n%s", tt.spec, diff)
		}
	}
	all, err := ParsePorts("-")
	if err != nil || len(all) != 65535 || all[0] != 1 || all[len(all)-1] != 65535 {
		t.Errorf("ParsePorts(-) = %d ports, %v", len(all), err)
	}
}

func TestParsePortsErrors(t *testing.T) {
	for _, spec := range []string{"", ",", "0", "65536", "80-22", "http", "top:0", "top:101", "top:x", "1-2-3", "22;80", strings.Repeat("1,", 5000)} {
		if got, err := ParsePorts(spec); err == nil {
			t.Errorf("ParsePorts(%.20q) = %v, want error", spec, got)
		}
	}
}

func TestCommonPorts(t *testing.T) {
	cp := CommonPorts()
	if len(cp) != 100 {
		t.Fatalf("%d common ports, want 100", len(cp))
	}
	seen := map[uint16]bool{}
	for _, c := range cp {
		if c.Port == 0 || c.Name == "" || seen[c.Port] {
			t.Errorf("bad or duplicate entry %+v", c)
		}
		seen[c.Port] = true
	}
	top, err := ParsePorts("top:100")
	if err != nil || len(top) != 100 || !slices.IsSorted(top) {
		t.Errorf("top:100 = %d ports, %v", len(top), err)
	}
	if PortName(22) != "ssh" || PortName(1) != "" {
		t.Error("PortName wrong")
	}
}
