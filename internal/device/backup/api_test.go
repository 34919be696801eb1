package backup

import (
	"context"
	"errors"
	"net/http"
	"os"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/vigil-sec/vigil/internal/device/devicetest"
)

const apiToken = "r7Qx-api-token-0123"

func apiTarget(d *devicetest.APIDevice, method string) APITarget {
	return APITarget{Method: method, Addr: d.Addr, Token: apiToken, RootCAs: d.Roots}
}

func TestFetchAPIFortiOS(t *testing.T) {
	tr := loadTranscript(t, "testdata/fortios.yaml")
	p := builtin(t)["fortios"]
	d := devicetest.StartAPI(t, "fortios", apiToken, tr.Config)
	for _, post := range []bool{false, true} {
		d.SetPostOnly(post)
		cfg, err := FetchAPI(context.Background(), apiTarget(d, MethodFortiOS), p)
		if err != nil {
			t.Fatalf("post=%v: %v", post, err)
		}
		// Noise lines are dropped, secrets masked, the digest is of the
		// unmasked text.
		if strings.Contains(cfg.Text, "#conf_file_ver=") || !strings.HasPrefix(cfg.Text, "#config-version=FGT60F-7.2.8") {
			t.Fatalf("post=%v: text starts %q", post, cfg.Text[:min(80, len(cfg.Text))])
		}
		assertNoSecrets(t, "fortios api", cfg.Masked, tr.Secrets)
		for _, s := range tr.Secrets {
			if !strings.Contains(cfg.Text, s) {
				t.Fatalf("secret %q missing from the unmasked text", s)
			}
		}
		if cfg.SHA256 != Fingerprint([]byte(cfg.Text)) { // the same SHA-256 hex of the text
			t.Fatal("digest is not of the text")
		}
		// The same configuration as an SSH backup of the same device.
		if want := cleanAPI(tr.Config, p); cfg.Text != want {
			t.Fatalf("text differs from the cleaned configuration")
		}
	}
	// Three requests: GET, then GET (405) and POST.
	if n := d.Requests(); n != 3 {
		t.Fatalf("requests = %d, want 3", n)
	}
}

func TestFetchAPIPANOS(t *testing.T) {
	raw, err := os.ReadFile("testdata/panos-running.xml")
	if err != nil {
		t.Fatal(err)
	}
	p := builtin(t)["panos"]
	d := devicetest.StartAPI(t, "panos", apiToken, string(raw))
	cfg, err := FetchAPI(context.Background(), apiTarget(d, MethodPANOS), p)
	if err != nil {
		t.Fatal(err)
	}
	assertNoSecrets(t, "panos api", cfg.Masked, []string{"$5$qxlwnbpa$Hd1QmT0bkZ4bOiL9x2q3", "-AQ==Zr9k3LmPsk0Wq1="})
	if !strings.Contains(cfg.Masked, "<hostname>pa-edge-01</hostname>") || !strings.Contains(cfg.Text, "<key>-AQ==Zr9k3LmPsk0Wq1=</key>") {
		t.Fatalf("masked:\n%s", cfg.Masked)
	}
	// A change on the device is exactly the changed line in the diff.
	d.SetConfig(strings.Replace(string(raw), "<action>allow</action>", "<action>deny</action>", 1))
	cfg2, err := FetchAPI(context.Background(), apiTarget(d, MethodPANOS), p)
	if err != nil {
		t.Fatal(err)
	}
	got := diffStrings(Changes(Diff(cfg.Masked, cfg2.Masked)))
	want := []string{"-                   <action>allow</action>", "+                   <action>deny</action>"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("diff = %q", got)
	}
}

func TestFetchAPIRefusals(t *testing.T) {
	p := builtin(t)
	fgt := devicetest.StartAPI(t, "fortios", apiToken, "#config-version=x\nconfig system global\nend\n")
	pan := devicetest.StartAPI(t, "panos", apiToken, "<config/>\n")
	ctx := context.Background()

	// Wrong token or key: refused, with the device's reason.
	bad := apiTarget(fgt, MethodFortiOS)
	bad.Token = "wrong"
	if _, err := FetchAPI(ctx, bad, p["fortios"]); !errors.Is(err, ErrAPIRefused) || !strings.Contains(err.Error(), "401") {
		t.Fatalf("fortios wrong token: %v", err)
	}
	bad = apiTarget(pan, MethodPANOS)
	bad.Token = "wrong"
	if _, err := FetchAPI(ctx, bad, p["panos"]); !errors.Is(err, ErrAPIRefused) || !strings.Contains(err.Error(), "Invalid Credential") {
		t.Fatalf("panos wrong key: %v", err)
	}

	// TLS is verified by default: the test certificate is not trusted by
	// the system roots.
	sys := apiTarget(fgt, MethodFortiOS)
	sys.RootCAs = nil
	if _, err := FetchAPI(ctx, sys, p["fortios"]); err == nil || errors.Is(err, ErrAPIRefused) {
		t.Fatalf("untrusted certificate accepted: %v", err)
	}
	// A pinned fingerprint replaces the chain check …
	sys.Fingerprint = strings.ToUpper(fgt.Fingerprint[:2]) + ":" + fgt.Fingerprint[2:]
	if _, err := FetchAPI(ctx, sys, p["fortios"]); err != nil {
		t.Fatalf("pinned certificate refused: %v", err)
	}
	// … and another certificate is refused even when the chain is trusted.
	pinned := apiTarget(fgt, MethodFortiOS)
	pinned.Fingerprint = Fingerprint([]byte("another certificate"))
	if _, err := FetchAPI(ctx, pinned, p["fortios"]); !errors.Is(err, ErrFingerprint) {
		t.Fatalf("wrong pin: %v", err)
	}
	if _, err := NormalizeFingerprint("abc"); err == nil {
		t.Fatal("short fingerprint accepted")
	}

	// Size limit.
	big := apiTarget(fgt, MethodFortiOS)
	big.MaxOutput = 10
	if _, err := FetchAPI(ctx, big, p["fortios"]); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("size limit: %v", err)
	}

	// A redirect is not followed (it would carry the token elsewhere).
	fgt.SetHandler(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "https://192.0.2.1/steal", http.StatusFound)
	})
	if _, err := FetchAPI(ctx, apiTarget(fgt, MethodFortiOS), p["fortios"]); !errors.Is(err, ErrAPIRefused) {
		t.Fatalf("redirect: %v", err)
	}
	// A JSON error with 200, and a PAN-OS error with 200, are refusals.
	fgt.SetHandler(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte(`{"status":"error","http_status":403}`))
	})
	if _, err := FetchAPI(ctx, apiTarget(fgt, MethodFortiOS), p["fortios"]); !errors.Is(err, ErrAPIRefused) {
		t.Fatalf("json error: %v", err)
	}
	pan.SetHandler(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte(`<response status="error"><msg><line>export failed</line></msg></response>`))
	})
	if _, err := FetchAPI(ctx, apiTarget(pan, MethodPANOS), p["panos"]); !errors.Is(err, ErrAPIRefused) || !strings.Contains(err.Error(), "export failed") {
		t.Fatalf("panos error: %v", err)
	}
	// Hostile output is stored as inert text.
	pan.SetHandler(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("<config>\x1b[31m<script>\x00\xff</script>\r\n</config>\n"))
	})
	cfg, err := FetchAPI(ctx, apiTarget(pan, MethodPANOS), p["panos"])
	if err != nil {
		t.Fatal(err)
	}
	if !utf8.ValidString(cfg.Text) || strings.ContainsAny(cfg.Text, "\x1b\x00\r") {
		t.Fatalf("text %q", cfg.Text)
	}
}

// FuzzAPIAnswer feeds arbitrary device answers to the API answer readers
// and the cleaner: they never panic, and the cleaned text is valid UTF-8
// without control characters but newline and tab.
func FuzzAPIAnswer(f *testing.F) {
	f.Add([]byte(`<response status = 'error' code = '403'><result><msg>Invalid Credential</msg></result></response>`))
	f.Add([]byte(`<?xml version="1.0"?><config version="10.2.0"><x/></config>`))
	f.Add([]byte(`{"http_method":"GET","status":"error","http_status":401}`))
	f.Add([]byte("#config-version=FGT\n#conf_file_ver=1\nconfig system global\nend\n"))
	ps := builtin(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = panosError(b)
		_ = fortiError(b)
		for _, name := range []string{"fortios", "panos"} {
			s := cleanAPI(string(b), ps[name])
			if !utf8.ValidString(s) || strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 && r != '\n' && r != '\t' }) {
				t.Fatalf("cleaned %q", s)
			}
			_ = Mask(s, ps[name])
		}
	})
}
