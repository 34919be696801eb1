package backup

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
)

func TestBuiltinProfiles(t *testing.T) {
	ps := builtin(t)
	if len(ps) < 13 {
		t.Errorf("%d profiles, want at least 13", len(ps))
	}
	for name, p := range ps {
		for _, ex := range p.Examples {
			if got := Mask(ex.In, p); got != ex.Out {
				t.Errorf("%s: Mask(%q) = %q, want %q", name, ex.In, got, ex.Out)
			}
			if got := Mask(ex.Out, p); got != ex.Out {
				t.Errorf("%s: Mask not idempotent on %q: %q", name, ex.Out, got)
			}
		}
	}
}

func TestGenericSecrets(t *testing.T) {
	p := builtin(t)["hillstone"]
	for in, want := range map[string]string{
		"snmp-server community public RO":   "snmp-server community <masked> RO",
		"crypto isakmp pre-shared-key k3y!": "crypto isakmp pre-shared-key <masked>",
		"hostname fw1":                      "hostname fw1",
	} {
		if got := Mask(in, p); got != want {
			t.Errorf("Mask(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestLoadProfilesErrors(t *testing.T) {
	good, err := os.ReadFile(filepath.Join("profiles", "cisco-ios.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string]string{
		"bad regex":     "name: x\nsupport: full\nprompt: '('\nshow_config: show\n",
		"no group":      "name: x\nsupport: full\nprompt: '#$'\nshow_config: show\nsecrets: ['password \\S+']\n",
		"empty prompt":  "name: x\nsupport: full\nshow_config: show\n",
		"empty match":   "name: x\nsupport: full\nprompt: '.*'\nshow_config: show\n",
		"unknown field": "name: x\nsupport: full\nprompt: '#$'\nshow_config: show\nfoo: 1\n",
		"bad name":      "name: X Y\nsupport: full\nprompt: '#$'\nshow_config: show\n",
		"newline cmd":   "name: x\nsupport: full\nprompt: '#$'\nshow_config: \"show\\nreload\"\n",
		"example":       "name: x\nsupport: full\nprompt: '#$'\nshow_config: show\nexample_prompt: r1>\n",
		"support":       "name: x\nsupport: maybe\nprompt: '#$'\nshow_config: show\n",
	}
	for name, data := range cases {
		if _, err := ParseProfile([]byte(data)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	_, err = LoadProfiles(fstest.MapFS{
		"a.yaml": {Data: good},
		"b.yaml": {Data: good},
	})
	if err == nil || !strings.Contains(err.Error(), "duplicate") {
		t.Errorf("duplicate names: err = %v", err)
	}
}

func FuzzMask(f *testing.F) {
	ps := builtin(f)
	for _, p := range ps {
		for _, ex := range p.Examples {
			f.Add(p.Name, ex.In, "x")
		}
	}
	f.Add("huawei-vrp", " pre-shared-key cipher %^%#a%^%#", "k")
	f.Fuzz(func(t *testing.T, name, text, secret string) {
		p := ps[name]
		if p == nil {
			p = ps["cisco-ios"]
		}
		_ = Mask(text, p)
		// A plain secret after "enable secret 5" never survives.
		if secret == "" || strings.ContainsAny(secret, " \t\r\n\f") || len(secret) > 256 {
			return
		}
		cisco := ps["cisco-ios"]
		got := Mask("enable secret 5 "+secret, cisco)
		if got != "enable secret 5 "+MaskText {
			t.Fatalf("Mask(enable secret 5 %q) = %q", secret, got)
		}
	})
}

func FuzzParseProfile(f *testing.F) {
	files, _ := filepath.Glob("profiles/*.yaml")
	for _, fn := range files {
		data, err := os.ReadFile(fn)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := ParseProfile(data)
		if err != nil {
			return
		}
		_ = Mask("password 1 x\nenable secret 5 y", p)
		_ = normalize("show\r\nhostname x\r\n#", p.ShowConfig, p)
	})
}
