package drill

import (
	"bytes"
	"errors"
	"testing"
)

func FuzzParseScheme(f *testing.F) {
	f.Add(defaultScheme)
	f.Add([]byte("name: x\nattacker: {points: {target_system: 5}, repeat_percent: [100, 0]}\ndefender: {fast_within: 1h, repeat_percent: [100]}\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		s, err := ParseScheme(bytes.NewReader(in))
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error does not wrap ErrInvalid: %v", err)
			}
			return
		}
		if err := s.Validate(); err != nil {
			t.Fatalf("parsed scheme does not validate: %v", err)
		}
	})
}

func FuzzParseLibrary(f *testing.F) {
	data, err := libraryFS.ReadFile("library/techniques.yaml")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(data)
	f.Add([]byte("cases:\n  - {id: a, technique: T1001, tactic: impact, name: x, layers: [edr], commands: [{text: y}]}\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		lib, err := ParseLibrary(bytes.NewReader(in))
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error does not wrap ErrInvalid: %v", err)
			}
			return
		}
		for _, c := range lib.Cases() {
			if err := c.Validate(); err != nil {
				t.Fatalf("library case does not validate: %v", err)
			}
		}
	})
}
