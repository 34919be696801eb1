package triage_test

import (
	"testing"
	"unicode/utf8"

	"github.com/vigil-sec/vigil/internal/triage"
)

func FuzzParseQuery(f *testing.F) {
	for _, s := range []string{`host.name:web-01 "Failed password"`, `user.name:"John Smith" root`, `"unclosed`,
		`http://x.example/a:b`, `a:b:c d:"e f" "g"`, ``, `::::`, `"""`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, q string) {
		terms, text, err := triage.ParseQuery(q)
		if err != nil {
			return
		}
		for _, term := range terms {
			if term.Field == "" {
				t.Fatalf("%q: empty field in %+v", q, terms)
			}
		}
		if !utf8.ValidString(text) {
			t.Fatalf("%q: text not UTF-8", q)
		}
	})
}
