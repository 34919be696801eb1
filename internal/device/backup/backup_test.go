package backup

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
	"go.yaml.in/yaml/v3"
)

type transcript struct {
	Profile     string            `yaml:"profile"`
	Banner      string            `yaml:"banner"`
	Prompt      string            `yaml:"prompt"`
	ModePrompts map[string]string `yaml:"mode_prompts"`
	Pager       []string          `yaml:"pager"`
	Show        string            `yaml:"show"`
	Secrets     []string          `yaml:"secrets"`
	Config      string            `yaml:"config"`
	Changes     []struct {
		From string `yaml:"from"`
		To   string `yaml:"to"`
	} `yaml:"changes"`
	NewSecrets []string `yaml:"new_secrets"`
	WantDiff   []string `yaml:"want_diff"`
}

func builtin(t testing.TB) map[string]*Profile {
	t.Helper()
	ps, err := Builtin()
	if err != nil {
		t.Fatal(err)
	}
	return ps
}

func loadTranscript(t *testing.T, path string) transcript {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var tr transcript
	if err := yaml.Unmarshal(data, &tr); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return tr
}

func fetch(t *testing.T, d *fakeDevice, p *Profile, mod func(*Target)) (Config, error) {
	t.Helper()
	tg := Target{Addr: d.Addr, User: testUser, Password: testPass, HostKey: d.Key, Timeout: 5 * time.Second}
	if mod != nil {
		mod(&tg)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return Fetch(ctx, tg, p)
}

func diffStrings(d []Line) []string {
	var out []string
	for _, l := range Changes(d) {
		out = append(out, l.String())
	}
	return out
}

func assertNoSecrets(t *testing.T, what, text string, secrets []string) {
	t.Helper()
	for _, s := range secrets {
		if strings.Contains(text, s) {
			t.Errorf("%s shows secret %q", what, s)
		}
	}
}

// TestTranscripts backs up each replayed vendor device twice around a
// config change and checks the masked diff shows exactly the change.
func TestTranscripts(t *testing.T) {
	ps := builtin(t)
	files, err := filepath.Glob("testdata/*.yaml")
	if err != nil || len(files) < 3 {
		t.Fatalf("transcripts: %v %v", files, err)
	}
	for _, f := range files {
		tr := loadTranscript(t, f)
		t.Run(tr.Profile, func(t *testing.T) {
			p := ps[tr.Profile]
			if p == nil {
				t.Fatalf("no profile %q", tr.Profile)
			}
			if p.Support != SupportFull {
				t.Errorf("profile %s replayed from a transcript but support=%s", p.Name, p.Support)
			}
			d := startDevice(t, &fakeDevice{Banner: tr.Banner, Prompt: tr.Prompt, ModePrompts: tr.ModePrompts,
				Pager: tr.Pager, Show: tr.Show, Config: tr.Config})

			// First contact: TOFU returns the key to pin.
			tofu, err := fetch(t, d, p, func(tg *Target) { tg.HostKey = nil; tg.TOFU = true })
			if err != nil {
				t.Fatalf("TOFU fetch: %v", err)
			}
			if tofu.HostKey == nil || !bytes.Equal(tofu.HostKey.Marshal(), d.Key.Marshal()) {
				t.Fatal("TOFU did not return the device key")
			}

			c1, err := fetch(t, d, p, nil)
			if err != nil {
				t.Fatalf("fetch: %v", err)
			}
			if c1.Text != tofu.Text {
				t.Error("two fetches of an unchanged device differ")
			}
			if !strings.Contains(c1.Text, firstConfigLine(t, tr.Config, p)) {
				t.Errorf("text lacks config start:\n%s", c1.Text)
			}
			if strings.Contains(c1.Text, tr.Prompt) && !strings.Contains(tr.Config, strings.TrimSpace(tr.Prompt)) {
				t.Errorf("text keeps the prompt:\n%s", c1.Text)
			}
			if strings.Contains(c1.Text, tr.Show) {
				t.Error("text keeps the echoed command")
			}
			for _, s := range tr.Secrets {
				if !strings.Contains(c1.Text, s) {
					t.Errorf("raw text lost secret %q (Text must stay restorable)", s)
				}
			}
			assertNoSecrets(t, "masked text", c1.Masked, tr.Secrets)
			noise := 0
			for _, l := range strings.Split(tr.Config, "\n") {
				if isNoise(l, p) {
					noise++
					if strings.Contains(c1.Text, l) {
						t.Errorf("noise line kept: %q", l)
					}
				}
			}
			if noise == 0 {
				t.Error("transcript has no noise line to strip")
			}
			if len(tr.WantDiff) == 0 {
				t.Error("transcript has no expected diff")
			}

			cfg2 := tr.Config
			for _, ch := range tr.Changes {
				if !strings.Contains(cfg2, ch.From) {
					t.Fatalf("change %q not found in config", ch.From)
				}
				cfg2 = strings.Replace(cfg2, ch.From, ch.To, 1)
			}
			d.SetConfig(cfg2)
			c2, err := fetch(t, d, p, nil)
			if err != nil {
				t.Fatalf("second fetch: %v", err)
			}
			if c2.SHA256 == c1.SHA256 {
				t.Error("SHA256 did not change")
			}
			assertNoSecrets(t, "masked text 2", c2.Masked, append(tr.Secrets, tr.NewSecrets...))
			got := diffStrings(Diff(c1.Masked, c2.Masked))
			if d := cmp.Diff(tr.WantDiff, got); d != "" {
				t.Errorf("diff (-want +got):\n%s", d)
			}
			assertNoSecrets(t, "diff", strings.Join(got, "\n"), append(tr.Secrets, tr.NewSecrets...))
		})
	}
}

func firstConfigLine(t *testing.T, config string, p *Profile) string {
	t.Helper()
	for _, l := range strings.Split(config, "\n") {
		if l != "" && !isNoise(l, p) {
			return l
		}
	}
	t.Fatal("empty config")
	return ""
}

// TestMinimalProfiles drives every profile (minimal ones included) against
// a synthetic device built from the profile's own prompt, pager and show
// commands and masking examples.
func TestMinimalProfiles(t *testing.T) {
	ps := builtin(t)
	for _, name := range []string{"cisco-ios", "cisco-asa", "huawei-vrp", "h3c-comware", "fortios", "panos",
		"juniper-srx", "hillstone", "sangfor", "topsec", "nsfocus", "dptech", "qianxin"} {
		p := ps[name]
		if p == nil {
			t.Errorf("profile %s missing", name)
			continue
		}
		t.Run(name, func(t *testing.T) {
			if p.ExamplePrompt == "" || len(p.Examples) == 0 {
				t.Fatal("profile needs example_prompt and examples")
			}
			var in, want []string
			in = append(in, "hostname test-"+name)
			want = append(want, "hostname test-"+name)
			for _, ex := range p.Examples {
				in, want = append(in, ex.In), append(want, ex.Out)
			}
			d := startDevice(t, &fakeDevice{Banner: "\r\n", Prompt: p.ExamplePrompt, Pager: p.PagerOff,
				Show: p.ShowConfig, Config: strings.Join(in, "\n") + "\n"})
			c, err := fetch(t, d, p, nil)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(strings.Join(want, "\n")+"\n", c.Masked); diff != "" {
				t.Errorf("masked (-want +got):\n%s", diff)
			}
		})
	}
}

func TestHostKeyPinning(t *testing.T) {
	p := builtin(t)["cisco-ios"]
	d := startDevice(t, &fakeDevice{Prompt: "r1#", Pager: p.PagerOff, Show: p.ShowConfig, Config: "hostname r1\n"})
	other := newSigner(t).PublicKey()
	_, err := fetch(t, d, p, func(tg *Target) { tg.HostKey = other })
	if !errors.Is(err, ErrHostKeyChanged) {
		t.Fatalf("changed key: err = %v, want ErrHostKeyChanged", err)
	}
	if !strings.Contains(err.Error(), "SHA256:") {
		t.Errorf("error should name both fingerprints: %v", err)
	}
	// TOFU never overrides a pinned key.
	_, err = fetch(t, d, p, func(tg *Target) { tg.HostKey = other; tg.TOFU = true })
	if !errors.Is(err, ErrHostKeyChanged) {
		t.Fatalf("changed key with TOFU: err = %v", err)
	}
	_, err = fetch(t, d, p, func(tg *Target) { tg.HostKey = nil })
	if !errors.Is(err, ErrNoHostKey) {
		t.Fatalf("no key: err = %v, want ErrNoHostKey", err)
	}
	if _, err = fetch(t, d, p, func(tg *Target) { tg.Password = "" }); err == nil {
		t.Fatal("no credentials accepted")
	}
	_, err = fetch(t, d, p, func(tg *Target) { tg.Password = "wrong" })
	if err == nil {
		t.Fatal("wrong password accepted")
	}
}

func TestPublicKeyAuth(t *testing.T) {
	p := builtin(t)["cisco-ios"]
	d := startDevice(t, &fakeDevice{Prompt: "r1#", Pager: p.PagerOff, Show: p.ShowConfig, Config: "hostname r1\n"})
	// The fake device only knows the password; a signer alone is refused,
	// a signer plus password falls through to the password.
	s := newSigner(t)
	if _, err := fetch(t, d, p, func(tg *Target) { tg.Password = ""; tg.Signer = s }); err == nil {
		t.Fatal("unknown key accepted")
	}
	if _, err := fetch(t, d, p, func(tg *Target) { tg.Signer = s }); err != nil {
		t.Fatal(err)
	}
}

func TestHostileOutput(t *testing.T) {
	p := builtin(t)["cisco-ios"]

	t.Run("huge", func(t *testing.T) {
		d := startDevice(t, &fakeDevice{Session: func(w io.Writer) {
			_, _ = io.WriteString(w, "r1#")
			line := []byte(strings.Repeat("A", 1023) + "\n")
			for i := 0; i < 4096; i++ { // 4 MiB, no prompt
				if _, err := w.Write(line); err != nil {
					return
				}
			}
		}})
		_, err := fetch(t, d, p, func(tg *Target) { tg.MaxOutput = 1 << 20 })
		if !errors.Is(err, ErrTooLarge) {
			t.Fatalf("err = %v, want ErrTooLarge", err)
		}
	})

	t.Run("huge without newlines", func(t *testing.T) {
		d := startDevice(t, &fakeDevice{Session: func(w io.Writer) {
			_, _ = io.WriteString(w, "r1#")
			blob := bytes.Repeat([]byte{0xff, 0x00, 0x1b, '#'}, 64<<10)
			for i := 0; i < 32; i++ { // 8 MiB of binary, never a line break
				if _, err := w.Write(blob); err != nil {
					return
				}
			}
		}})
		_, err := fetch(t, d, p, func(tg *Target) { tg.MaxOutput = 2 << 20 })
		if !errors.Is(err, ErrTooLarge) {
			t.Fatalf("err = %v, want ErrTooLarge", err)
		}
	})

	t.Run("binary and ANSI", func(t *testing.T) {
		config := "\x1b[1;31mhostname\x1b[0m evil\n" +
			"\x1b]0;title\x07interface Gi0\x00\x01\x02\xff\xfe\n" +
			"descr\bription x\n" +
			"enable secret 5 \x1b[7mS3cr3t\x1b[0m\n" +
			"end\n"
		d := startDevice(t, &fakeDevice{Prompt: "\x1b[32mr1#\x1b[0m", Pager: p.PagerOff, Show: p.ShowConfig, Config: config})
		c, err := fetch(t, d, p, nil)
		if err != nil {
			t.Fatal(err)
		}
		want := "hostname evil\ninterface Gi0\ndescription x\nenable secret 5 S3cr3t\nend\n"
		if c.Text != want {
			t.Errorf("text = %q, want %q", c.Text, want)
		}
		if !utf8.ValidString(c.Text) || strings.ContainsFunc(c.Text, func(r rune) bool { return r != '\n' && unicode.IsControl(r) }) {
			t.Errorf("text not clean: %q", c.Text)
		}
		if strings.Contains(c.Masked, "S3cr3t") {
			t.Errorf("masked shows secret: %q", c.Masked)
		}
	})

	t.Run("never prompts", func(t *testing.T) {
		d := startDevice(t, &fakeDevice{Session: func(w io.Writer) {
			_, _ = io.WriteString(w, "Welcome\r\nPress any key")
			time.Sleep(2 * time.Second)
		}})
		start := time.Now()
		_, err := fetch(t, d, p, func(tg *Target) { tg.Timeout = 300 * time.Millisecond })
		if !errors.Is(err, ErrTimeout) {
			t.Fatalf("err = %v, want ErrTimeout", err)
		}
		if time.Since(start) > 1500*time.Millisecond {
			t.Errorf("timeout took %s", time.Since(start))
		}
	})

	t.Run("pager left on", func(t *testing.T) {
		noPager := *p
		noPager.PagerOff = nil
		d := startDevice(t, &fakeDevice{Prompt: "r1#", Pager: p.PagerOff, Show: p.ShowConfig, Config: "hostname r1\nend\n"})
		_, err := fetch(t, d, &noPager, func(tg *Target) { tg.Timeout = 300 * time.Millisecond })
		if !errors.Is(err, ErrTimeout) {
			t.Fatalf("err = %v, want ErrTimeout at --More--", err)
		}
	})

	t.Run("context cancelled", func(t *testing.T) {
		d := startDevice(t, &fakeDevice{Session: func(w io.Writer) { time.Sleep(2 * time.Second) }})
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		_, err := Fetch(ctx, Target{Addr: d.Addr, User: testUser, Password: testPass, HostKey: d.Key}, p)
		if err == nil {
			t.Fatal("no error after cancel")
		}
	})
}
