package logs

import (
	"context"
	"errors"
	"io"
	"slices"
	"strconv"
	"testing"
)

func TestSpoolNextUpToCoalesces(t *testing.T) {
	s, err := OpenSpool(t.TempDir(), SpoolOptions{SegmentSize: 4 << 10})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = s.Close() }()
	for n := range 10 {
		if err := s.Write(context.Background(), testBatch(n, 3)); err != nil {
			t.Fatal(err)
		}
	}
	r := s.ReaderAt(Position{Segment: 1})
	defer func() { _ = r.Close() }()
	// Batches of 3 events: 7 wanted means three batches (9 events), then
	// the rest, then nothing.
	var sizes, order []int
	for {
		evs, err := r.NextUpTo(7)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		sizes = append(sizes, len(evs))
		for i := 0; i < len(evs); i += 3 {
			n, err := strconv.Atoi(evs[i].Fields["batch"].(string))
			if err != nil {
				t.Fatal(err)
			}
			order = append(order, n)
		}
	}
	if want := []int{9, 9, 9, 3}; !slices.Equal(sizes, want) {
		t.Errorf("sizes %v, want %v", sizes, want)
	}
	if want := []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}; !slices.Equal(order, want) {
		t.Errorf("batch order %v, want %v", order, want)
	}
	if r.Position() != s.End() {
		t.Errorf("reader at %v, spool ends at %v", r.Position(), s.End())
	}
	// One commit covers every batch returned: a new reader has nothing.
	if err := r.Commit(); err != nil {
		t.Fatal(err)
	}
	r2, err := s.Reader()
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = r2.Close() }()
	if _, err := r2.NextUpTo(7); !errors.Is(err, io.EOF) {
		t.Errorf("after commit: %v, want io.EOF", err)
	}
}
