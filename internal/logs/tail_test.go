package logs

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

func appendLines(t *testing.T, path string, from, to int) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	for i := from; i < to; i++ {
		if _, err := fmt.Fprintf(f, "n=%d kind=tail\n", i); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

func numbers(evs []Event) []int {
	var out []int
	for _, e := range evs {
		var n int
		if _, err := fmt.Sscan(e.Fields["n"].(string), &n); err == nil {
			out = append(out, n)
		}
	}
	return out
}

func seq(from, to int) []int {
	var out []int
	for i := from; i < to; i++ {
		out = append(out, i)
	}
	return out
}

func TestTailRotationTruncationRestart(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "app.log")
	state := filepath.Join(dir, "app.state")
	sink := &MemorySink{}
	kv, _ := NewRegistry().Lookup("kv")
	start := func() (context.CancelFunc, chan error) {
		tl := NewTailer(TailOptions{Options: Options{Parser: kv, Sink: sink, Logger: quietLogger()}, Path: path, StatePath: state, PollInterval: 5 * time.Millisecond})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- tl.Run(ctx) }()
		return cancel, done
	}
	stop := func(cancel context.CancelFunc, done chan error) {
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	appendLines(t, path, 0, 10)
	// A partial line is not read until it is complete.
	f, _ := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0o600)
	_, _ = f.WriteString("n=10 kind=")
	_ = f.Close()
	cancel, done := start()
	waitFor(t, "first lines", func() bool { return sink.Len() == 10 })
	appendLines(t, path, 99, 99) // no-op append keeps the partial line
	f, _ = os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0o600)
	_, _ = f.WriteString("tail\n")
	_ = f.Close()
	waitFor(t, "completed line", func() bool { return sink.Len() == 11 })

	// Rotation by rename: lines written to the old file before the
	// rename are read, then the new file from its start.
	appendLines(t, path, 11, 15)
	if err := os.Rename(path, path+".1"); err != nil {
		t.Fatal(err)
	}
	appendLines(t, path, 15, 20)
	waitFor(t, "rotated lines", func() bool { return sink.Len() == 20 })

	// Restart: stop, write while down, start again.
	stop(cancel, done)
	appendLines(t, path, 20, 25)
	cancel, done = start()
	waitFor(t, "lines written while down", func() bool { return sink.Len() == 25 })

	// Truncation in place restarts at the beginning of the file.
	stop(cancel, done)
	if err := os.Truncate(path, 0); err != nil {
		t.Fatal(err)
	}
	cancel, done = start()
	appendLines(t, path, 25, 28)
	waitFor(t, "lines after truncation", func() bool { return sink.Len() == 28 })
	stop(cancel, done)

	if got, want := numbers(sink.Events()), seq(0, 28); !slices.Equal(got, want) {
		t.Errorf("lines read %v, want %v", got, want)
	}
}
