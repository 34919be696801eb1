package agent

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/vigil-sec/vigil/internal/logs"
)

// Bounds of the journal reader.
const (
	// MaxJournalLine bounds one JSON entry from journalctl: 1 MiB.
	MaxJournalLine = 1 << 20
	// maxJournalFields bounds the fields of one entry.
	maxJournalFields = 512
	// maxJournalValue bounds one field's value kept in an event.
	maxJournalValue = 64 << 10
	// maxCursor bounds a cursor.
	maxCursor = 1024
)

// JournalEntry is one entry of `journalctl -o json`.
type JournalEntry struct {
	Cursor string
	// Time is __REALTIME_TIMESTAMP (microseconds since the epoch).
	Time time.Time
	// Fields are the entry's fields as text: a binary value (a JSON array
	// of bytes) is decoded, invalid UTF-8 replaced; a field given several
	// times (a JSON array of values) keeps the first.
	Fields map[string]string
}

// ParseJournalEntry decodes one line of `journalctl -o json`. An entry
// needs __CURSOR; every value must be a string, null, an array of byte
// values or an array of those.
func ParseJournalEntry(line []byte) (JournalEntry, error) {
	var e JournalEntry
	if len(line) > MaxJournalLine {
		return e, fmt.Errorf("journal entry of %d bytes, limit %d", len(line), MaxJournalLine)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(line, &raw); err != nil {
		return e, fmt.Errorf("journal entry: %w", err)
	}
	if len(raw) > maxJournalFields {
		return e, fmt.Errorf("journal entry: %d fields, limit %d", len(raw), maxJournalFields)
	}
	e.Fields = make(map[string]string, len(raw))
	for k, v := range raw {
		if k == "" || len(k) > 64 {
			return e, fmt.Errorf("journal entry: field name %q", clipForError(k))
		}
		s, ok, err := journalValue(v)
		if err != nil {
			return e, fmt.Errorf("journal entry: %s: %w", clipForError(k), err)
		}
		if ok {
			if len(s) > maxJournalValue {
				s = strings.ToValidUTF8(s[:maxJournalValue], "")
			}
			e.Fields[k] = s
		}
	}
	e.Cursor = e.Fields["__CURSOR"]
	if e.Cursor == "" || len(e.Cursor) > maxCursor || strings.ContainsFunc(e.Cursor, isControl) {
		return e, errors.New("journal entry: __CURSOR missing or malformed")
	}
	delete(e.Fields, "__CURSOR")
	if ts := e.Fields["__REALTIME_TIMESTAMP"]; ts != "" {
		us, err := strconv.ParseInt(ts, 10, 64)
		if err != nil || us < 0 || us > 1<<53 {
			return e, fmt.Errorf("journal entry: __REALTIME_TIMESTAMP %q", clipForError(ts))
		}
		e.Time = time.UnixMicro(us).UTC()
	}
	return e, nil
}

// journalValue decodes one field value: a string, null (absent), an
// array of byte values (binary data), or an array of such values (the
// field repeated), of which the first is kept.
func journalValue(v json.RawMessage) (string, bool, error) {
	v = bytes.TrimSpace(v)
	if len(v) == 0 {
		return "", false, errors.New("empty value")
	}
	switch v[0] {
	case 'n':
		return "", false, nil
	case '"':
		var s string
		if err := json.Unmarshal(v, &s); err != nil {
			return "", false, err
		}
		return s, true, nil
	case '[':
		var arr []json.RawMessage
		if err := json.Unmarshal(v, &arr); err != nil {
			return "", false, err
		}
		if len(arr) == 0 {
			return "", true, nil
		}
		first := bytes.TrimSpace(arr[0])
		if len(first) > 0 && (first[0] == '"' || first[0] == '[' || first[0] == 'n') {
			// Several values of the field: keep the first.
			return journalValue(first)
		}
		var bs []int
		if err := json.Unmarshal(v, &bs); err != nil {
			return "", false, errors.New("array is neither bytes nor values")
		}
		b := make([]byte, len(bs))
		for i, x := range bs {
			if x < 0 || x > 255 {
				return "", false, fmt.Errorf("byte value %d", x)
			}
			b[i] = byte(x)
		}
		if !utf8.Valid(b) {
			return strings.ToValidUTF8(string(b), "\uFFFD"), true, nil
		}
		return string(b), true, nil
	}
	return "", false, fmt.Errorf("value of JSON type %q", v[:1])
}

// journalNamespace makes event IDs from cursors.
var journalNamespace = uuid.MustParse("9a3c2b7e-1d4f-4a8b-b6c5-0e7f1a2d3c4b")

// syslogLevels maps PRIORITY to log.level.
var syslogLevels = [...]string{"emergency", "alert", "critical", "error", "warning", "notice", "informational", "debug"}

// Event turns an entry into the event shipped to the server. Its ID
// derives from the cursor, so an entry read twice (after a crash before
// the cursor was saved) keeps its ID.
func (e JournalEntry) Event(received time.Time) logs.Event {
	f := map[string]any{"event.module": "journald", "journald.cursor": e.Cursor}
	msg := e.Fields["MESSAGE"]
	f["message"] = msg
	for k, name := range map[string]string{
		"_HOSTNAME": "host.name", "SYSLOG_IDENTIFIER": "process.name", "_SYSTEMD_UNIT": "systemd.unit",
		"_EXE": "process.executable", "_CMDLINE": "process.command_line", "_TRANSPORT": "journald.transport",
		"_BOOT_ID": "journald.boot_id", "SYSLOG_FACILITY": "log.syslog.facility.code",
	} {
		if v := e.Fields[k]; v != "" {
			f[name] = v
		}
	}
	if _, ok := f["process.name"]; !ok && e.Fields["_COMM"] != "" {
		f["process.name"] = e.Fields["_COMM"]
	}
	for k, name := range map[string]string{"_PID": "process.pid", "_UID": "user.id"} {
		if n, err := strconv.Atoi(e.Fields[k]); err == nil && n >= 0 {
			f[name] = n
		}
	}
	if p, err := strconv.Atoi(e.Fields["PRIORITY"]); err == nil && p >= 0 && p < len(syslogLevels) {
		f["log.syslog.severity.code"] = p
		f["log.level"] = syslogLevels[p]
	}
	t := e.Time
	if t.IsZero() {
		t = received
	}
	orig := msg
	if id := f["process.name"]; id != nil {
		orig = fmt.Sprint(id) + ": " + msg
	}
	return logs.Event{
		ID: uuid.NewSHA1(journalNamespace, []byte(e.Cursor)).String(), Time: t, Received: received, Source: "journald",
		Format: "journald", LogSource: logs.LogSource{Product: "linux"}, Fields: f, Original: orig,
	}
}

// JournalOptions configures a journal reader.
type JournalOptions struct {
	// Command is journalctl and any leading arguments; nil means
	// {"journalctl"}. Tests point it at a fake.
	Command []string
	// Units limits the journal to these units (-u).
	Units []string
	// CursorPath keeps the cursor of the last entry written to Sink.
	// Required.
	CursorPath string
	Sink       logs.Sink
	// BatchSize bounds a batch; zero means 500. FlushInterval is how long
	// a partial batch waits; zero means 500ms.
	BatchSize     int
	FlushInterval time.Duration
	// RestartDelay is the wait before journalctl is started again after
	// it exited; zero means 5s.
	RestartDelay time.Duration
	Logger       *slog.Logger
}

// ErrNoJournalctl is returned by RunJournal when journalctl is not there.
var ErrNoJournalctl = errors.New("journalctl not found")

// JournalArgs returns journalctl's arguments: JSON output, following,
// from just after cursor (or only new entries when there is none),
// limited to units.
func JournalArgs(cursor string, units []string) []string {
	args := []string{"--output=json", "--follow", "--no-pager", "--quiet"}
	if cursor != "" {
		args = append(args, "--after-cursor="+cursor)
	} else {
		args = append(args, "--lines=0")
	}
	for _, u := range units {
		args = append(args, "--unit="+u)
	}
	return args
}

// RunJournal follows the journal until ctx ends, writing entries to the
// sink in batches and saving the cursor after each batch is written. When
// journalctl exits it is started again from the saved cursor. It returns
// ErrNoJournalctl at once when the command is not installed, so the
// agent can go on without it.
func RunJournal(ctx context.Context, opts JournalOptions) error {
	if len(opts.Command) == 0 {
		opts.Command = []string{defaultJournalCmd}
	}
	if opts.BatchSize <= 0 {
		opts.BatchSize = 500
	}
	if opts.FlushInterval <= 0 {
		opts.FlushInterval = 500 * time.Millisecond
	}
	if opts.RestartDelay <= 0 {
		opts.RestartDelay = 5 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if _, err := exec.LookPath(opts.Command[0]); err != nil {
		return fmt.Errorf("%w: %w", ErrNoJournalctl, err)
	}
	for ctx.Err() == nil {
		err := runJournalOnce(ctx, opts)
		if ctx.Err() != nil {
			return nil
		}
		opts.Logger.Warn("journald: journalctl stopped; starting again", "err", err, "in", opts.RestartDelay)
		if !sleep(ctx, opts.RestartDelay) {
			return nil
		}
	}
	return nil
}

// ReadCursor returns the saved cursor, "" when there is none.
func ReadCursor(p string) string {
	b, err := os.ReadFile(p) // #nosec G304 -- inside the agent's data directory
	if err != nil || len(b) > maxCursor {
		return ""
	}
	c := strings.TrimSpace(string(b))
	if strings.ContainsFunc(c, isControl) {
		return ""
	}
	return c
}

func runJournalOnce(ctx context.Context, opts JournalOptions) error {
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	args := append(append([]string{}, opts.Command[1:]...), JournalArgs(ReadCursor(opts.CursorPath), opts.Units)...)
	cmd := exec.CommandContext(cctx, opts.Command[0], args...) // #nosec G204 -- journalctl with arguments built here
	cmd.Stderr = io.Discard
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	lines := make(chan JournalEntry, opts.BatchSize)
	readErr := make(chan error, 1)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(out)
		sc.Buffer(make([]byte, 64<<10), MaxJournalLine+1)
		for sc.Scan() {
			line := sc.Bytes()
			if len(bytes.TrimSpace(line)) == 0 {
				continue
			}
			e, err := ParseJournalEntry(line)
			if err != nil {
				opts.Logger.Warn("journald: entry skipped", "err", err)
				continue
			}
			select {
			case lines <- e:
			case <-cctx.Done():
				return
			}
		}
		readErr <- sc.Err()
	}()
	var batch []logs.Event
	var last string
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		if err := opts.Sink.Write(ctx, batch); err != nil {
			return err
		}
		if err := writeFileAtomic(opts.CursorPath, []byte(last+"\n")); err != nil {
			return fmt.Errorf("journald: save cursor: %w", err)
		}
		batch = batch[:0]
		return nil
	}
	tick := time.NewTicker(opts.FlushInterval)
	defer tick.Stop()
	for {
		select {
		case e, ok := <-lines:
			if !ok {
				err := flush()
				_ = cmd.Wait()
				select {
				case rerr := <-readErr:
					err = errors.Join(err, rerr)
				default:
				}
				return errors.Join(err, errors.New("journalctl exited"))
			}
			batch = append(batch, e.Event(time.Now().UTC()))
			last = e.Cursor
			if len(batch) >= opts.BatchSize {
				if err := flush(); err != nil {
					return err
				}
			}
		case <-tick.C:
			if err := flush(); err != nil {
				return err
			}
		case <-ctx.Done():
			// Entries not yet written are read again after the saved
			// cursor next time.
			cancel()
			_ = cmd.Wait()
			return nil
		}
	}
}
