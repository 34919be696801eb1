package logs

import (
	"encoding/json"
	"math/rand/v2"
	"testing"
)

// checkJSONString requires appendJSONString(s) to be valid JSON that
// decodes to what encoding/json's own encoding of s decodes to.
func checkJSONString(t *testing.T, s string) {
	t.Helper()
	got := appendJSONString(nil, s)
	if !json.Valid(got) {
		t.Fatalf("%q: invalid JSON %s", s, got)
	}
	ref, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	var a, b string
	if err := json.Unmarshal(got, &a); err != nil {
		t.Fatalf("%q: %v", s, err)
	}
	if err := json.Unmarshal(ref, &b); err != nil {
		t.Fatal(err)
	}
	if a != b {
		t.Fatalf("%q: decodes to %q, encoding/json's to %q", s, a, b)
	}
}

func TestAppendJSONString(t *testing.T) {
	for _, s := range []string{
		"", "plain", `say "hi"`, `back\slash`, "tab\tnew\nline\rcr", "\x00\x01\x1f\x7f",
		"é漢字", "\u2028\u2029", "bad \xff\xfe utf8", "cut \xe6\xbc", "<script>&amp;</script>",
		`192.0.2.1 - - [29/Nov/2026:08:00:00 +0000] "GET / HTTP/1.1" 200 5 "-" "curl/8.5.0"`,
	} {
		checkJSONString(t, s)
	}
	rng := rand.New(rand.NewPCG(1, 2)) // #nosec G404 -- test data
	for range 2000 {
		b := make([]byte, rng.IntN(40))
		for i := range b {
			b[i] = byte(rng.IntN(256)) // #nosec G115 -- below 256
		}
		checkJSONString(t, string(b))
	}
}

func FuzzAppendJSONString(f *testing.F) {
	f.Add("plain")
	f.Add(`"quoted" \ and \n`)
	f.Add("bad \xff utf8 \u2028")
	f.Fuzz(func(t *testing.T, s string) { checkJSONString(t, s) })
}
