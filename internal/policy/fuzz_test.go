package policy

import (
	"bytes"
	"context"
	"errors"
	"testing"
)

// FuzzParseIptablesSave checks that the parser never panics, that every
// error is a ParseError (with a line) or a size error, and that whatever
// parses can be analysed.
func FuzzParseIptablesSave(f *testing.F) {
	f.Add([]byte("*filter\n:INPUT DROP [0:0]\n-A INPUT -p tcp --dport 22 -j ACCEPT\nCOMMIT\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 1<<16 {
			return
		}
		rs, err := ParseIptablesSave(bytes.NewReader(data), IPv4)
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) && !errors.Is(err, ErrTooLarge) {
				t.Fatalf("error without a line: %v", err)
			}
			if pe != nil && pe.Line < 1 {
				t.Fatalf("line %d < 1: %v", pe.Line, err)
			}
			return
		}
		if _, err := Analyze(context.Background(), rs, Options{MaxEntries: 10_000}); err != nil && !errors.Is(err, ErrTooLarge) {
			t.Fatalf("analyze: %v", err)
		}
	})
}
