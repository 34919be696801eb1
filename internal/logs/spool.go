package logs

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// Spool is a durable Sink: an append-only write-ahead log of event
// batches in a directory, for putting in front of the store so that a
// listener's acknowledgement means "on disk".
//
// Layout: segment files named NNNNNNNNNNNNNNNNNNNN.wal (a 20-digit
// sequence number), each a run of records
//
//	uint32 length (little endian) | uint32 CRC-32C of payload | payload
//
// where the payload is one batch as a JSON array of events. Write appends
// one record and fsyncs the segment before returning, so a nil return
// means the batch survives a crash. A segment that reaches SegmentSize is
// closed and a new one started (and the directory fsynced).
//
// Recovery: Open scans every segment and truncates each after its last
// complete record whose checksum matches, so a write torn by a crash
// leaves no trace; every batch whose Write returned nil is before that
// point. (Writers share fsyncs, and a rotated segment is fsynced by the
// next group commit, so a torn tail is possible in any recent segment.)
//
// Reading: a SpoolReader returns batches in order from a position and
// records how far a consumer got with Commit (kept in the file
// "committed"); segments wholly before the committed position are
// deleted. Events read back carry JSON-decoded field values (numbers as
// float64, lists as []any). One process at a time may open a directory.
type Spool struct {
	dir  string
	opts SpoolOptions

	// syncMu serialises fsyncs and is taken before mu when both are
	// held. Writers append under mu and then share fsyncs (group
	// commit): one fsync covers every record appended before it.
	syncMu sync.Mutex
	synced uint64 // logical bytes known durable; under syncMu

	mu      sync.Mutex
	seg     uint64
	f       *os.File
	size    int64
	written uint64     // logical bytes appended since Open
	old     []*os.File // rotated segments awaiting their final fsync
	durable Position   // end of the durable records
	err     error      // sticky: a failed write or sync poisons the spool
}

var _ Sink = (*Spool)(nil)

// SpoolOptions configures a Spool.
type SpoolOptions struct {
	// SegmentSize is the size at which a segment is closed; zero means
	// DefaultSegmentSize.
	SegmentSize int64
	// Logger receives operational messages; nil means slog.Default().
	Logger *slog.Logger
}

// DefaultSegmentSize is the segment size when SpoolOptions.SegmentSize is
// zero: 64 MiB.
const DefaultSegmentSize = 64 << 20

// MaxSpoolRecord bounds one record's payload (one batch): 256 MiB.
const MaxSpoolRecord = 256 << 20

const (
	segSuffix     = ".wal"
	committedFile = "committed"
	recHeader     = 8
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Position is a place in the spool: a segment and a byte offset in it.
type Position struct {
	Segment uint64 `json:"segment"`
	Offset  int64  `json:"offset"`
}

// Less reports whether p comes before q.
func (p Position) Less(q Position) bool {
	return p.Segment < q.Segment || p.Segment == q.Segment && p.Offset < q.Offset
}

// OpenSpool opens (creating if needed) the spool in dir and recovers a
// torn tail.
func OpenSpool(dir string, opts SpoolOptions) (*Spool, error) {
	if opts.SegmentSize <= 0 {
		opts.SegmentSize = DefaultSegmentSize
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	s := &Spool{dir: dir, opts: opts}
	segs, err := s.segments()
	if err != nil {
		return nil, err
	}
	if len(segs) == 0 {
		c, err := s.Committed()
		if err != nil {
			return nil, err
		}
		if err := s.openSegment(max(c.Segment, 1), true); err != nil {
			return nil, err
		}
		s.durable = Position{Segment: s.seg}
		return s, nil
	}
	// Group commit fsyncs a rotated segment after its successor was
	// started, so any segment may end in a torn record: recover each.
	for _, n := range segs {
		f, err := os.OpenFile(s.segPath(n), os.O_RDWR, 0) // #nosec G304 G703 -- a segment inside the spool directory
		if err != nil {
			return nil, fmt.Errorf("spool: %w", err)
		}
		good, err := recoverSegment(f, opts.Logger)
		if n != segs[len(segs)-1] {
			if cerr := f.Close(); err == nil && cerr != nil {
				err = fmt.Errorf("spool: %w", cerr)
			}
			if err != nil {
				return nil, err
			}
			continue
		}
		if err != nil {
			_ = f.Close()
			return nil, err
		}
		s.f, s.seg, s.size = f, n, good
		s.durable = Position{Segment: n, Offset: good}
	}
	return s, nil
}

func (s *Spool) segPath(n uint64) string {
	return filepath.Join(s.dir, fmt.Sprintf("%020d%s", n, segSuffix))
}

// segments lists the segment numbers in ascending order.
func (s *Spool) segments() ([]uint64, error) {
	ents, err := os.ReadDir(s.dir)
	if err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	var out []uint64
	for _, e := range ents {
		name, ok := strings.CutSuffix(e.Name(), segSuffix)
		if !ok || e.IsDir() {
			continue
		}
		n, err := strconv.ParseUint(name, 10, 64)
		if err != nil {
			continue
		}
		out = append(out, n)
	}
	slices.Sort(out)
	return out, nil
}

func (s *Spool) openSegment(n uint64, create bool) error {
	flag := os.O_RDWR
	if create {
		flag |= os.O_CREATE | os.O_EXCL
	}
	f, err := os.OpenFile(s.segPath(n), flag, 0o600) // #nosec G304 G703 -- a segment name built from a number inside the spool directory
	if err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	s.f, s.seg, s.size = f, n, 0
	if create {
		if err := syncDir(s.dir); err != nil {
			return err
		}
	}
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir) // #nosec G304 G703 -- the spool directory itself
	if err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	defer func() { _ = d.Close() }()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("spool: sync dir: %w", err)
	}
	return nil
}

// recoverSegment truncates f after its last valid record, leaves the
// file offset there and returns it.
func recoverSegment(f *os.File, log *slog.Logger) (int64, error) {
	good, err := scanValid(f)
	if err != nil {
		return 0, fmt.Errorf("spool: recover %s: %w", f.Name(), err)
	}
	st, err := f.Stat()
	if err != nil {
		return 0, fmt.Errorf("spool: %w", err)
	}
	if st.Size() != good {
		log.Warn("spool: truncating torn tail", "segment", f.Name(), "from", st.Size(), "to", good)
		if err := f.Truncate(good); err != nil {
			return 0, fmt.Errorf("spool: truncate torn tail: %w", err)
		}
		if err := f.Sync(); err != nil {
			return 0, fmt.Errorf("spool: %w", err)
		}
	}
	if _, err := f.Seek(good, io.SeekStart); err != nil {
		return 0, fmt.Errorf("spool: %w", err)
	}
	return good, nil
}

// scanValid returns the offset just after the last complete, checksummed
// record of f.
func scanValid(f *os.File) (int64, error) {
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return 0, err
	}
	r := newRecordReader(f)
	var good int64
	for {
		_, n, err := r.next()
		if err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, errTorn) {
				return good, nil
			}
			return 0, err
		}
		good += n
	}
}

var errTorn = errors.New("torn or corrupt record")

type recordReader struct {
	r   io.Reader
	hdr [recHeader]byte
}

func newRecordReader(r io.Reader) *recordReader { return &recordReader{r: r} }

// next reads one record and returns its payload and total size. It
// returns io.EOF at a clean end and errTorn for a partial or corrupt
// record.
func (rr *recordReader) next() ([]byte, int64, error) {
	n, err := io.ReadFull(rr.r, rr.hdr[:])
	if err != nil {
		if n == 0 && errors.Is(err, io.EOF) {
			return nil, 0, io.EOF
		}
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, 0, errTorn
		}
		return nil, 0, err
	}
	size := binary.LittleEndian.Uint32(rr.hdr[0:4])
	sum := binary.LittleEndian.Uint32(rr.hdr[4:8])
	if size == 0 || size > MaxSpoolRecord {
		return nil, 0, errTorn
	}
	buf := make([]byte, size)
	if _, err := io.ReadFull(rr.r, buf); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			return nil, 0, errTorn
		}
		return nil, 0, err
	}
	if crc32.Checksum(buf, castagnoli) != sum {
		return nil, 0, errTorn
	}
	return buf, int64(recHeader) + int64(size), nil
}

// Write appends the batch as one record and returns once an fsync has
// covered it; nil means it is durable. Concurrent writers share fsyncs.
func (s *Spool) Write(ctx context.Context, events []Event) error {
	if len(events) == 0 {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	rec, err := appendEventsJSON(make([]byte, recHeader, recHeader+512*len(events)), events)
	if err != nil {
		return fmt.Errorf("spool: encode batch: %w", err)
	}
	payload := rec[recHeader:]
	if len(payload) > MaxSpoolRecord {
		return fmt.Errorf("spool: batch of %d bytes exceeds %d", len(payload), MaxSpoolRecord)
	}
	binary.LittleEndian.PutUint32(rec[0:4], uint32(len(payload))) // #nosec G115 -- bounded by MaxSpoolRecord above
	binary.LittleEndian.PutUint32(rec[4:8], crc32.Checksum(payload, castagnoli))

	s.mu.Lock()
	if err := s.appendLocked(rec); err != nil {
		s.mu.Unlock()
		return err
	}
	mine := s.written
	s.mu.Unlock()
	return s.syncTo(mine)
}

// appendLocked writes one record, rotating first when the segment is
// full. Called with mu held.
func (s *Spool) appendLocked(rec []byte) error {
	if s.err != nil {
		return s.err
	}
	if s.f == nil {
		return errors.New("spool: closed")
	}
	if s.size > 0 && s.size+int64(len(rec)) > s.opts.SegmentSize {
		s.old = append(s.old, s.f)
		s.f = nil
		if err := s.openSegment(s.seg+1, true); err != nil {
			s.err = err
			return err
		}
	}
	if _, err := s.f.Write(rec); err != nil {
		s.err = fmt.Errorf("spool: write: %w", err)
		return s.err
	}
	s.size += int64(len(rec))
	s.written += uint64(len(rec))
	return nil
}

// syncTo returns once the first n logical bytes are durable, running one
// fsync for everything appended so far if no other writer's did.
func (s *Spool) syncTo(n uint64) error {
	s.syncMu.Lock()
	defer s.syncMu.Unlock()
	if s.synced >= n {
		return nil
	}
	s.mu.Lock()
	if s.err != nil {
		s.mu.Unlock()
		return s.err
	}
	target, end := s.written, Position{Segment: s.seg, Offset: s.size}
	old, cur := s.old, s.f
	s.old = nil
	s.mu.Unlock()
	for _, f := range old {
		err := f.Sync()
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return s.fail(fmt.Errorf("spool: fsync rotated segment: %w", err))
		}
	}
	if err := cur.Sync(); err != nil {
		return s.fail(fmt.Errorf("spool: fsync: %w", err))
	}
	s.synced = target
	s.mu.Lock()
	s.durable = end
	s.mu.Unlock()
	return nil
}

func (s *Spool) fail(err error) error {
	s.mu.Lock()
	if s.err == nil {
		s.err = err
	}
	s.mu.Unlock()
	return err
}

// End is the position just after the last durable record.
func (s *Spool) End() Position {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.durable
}

// Close makes everything written durable and closes the spool.
func (s *Spool) Close() error {
	s.syncMu.Lock()
	defer s.syncMu.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	var errs []error
	for _, f := range append(s.old, s.f) {
		if f == nil {
			continue
		}
		if s.err == nil {
			errs = append(errs, f.Sync())
		}
		errs = append(errs, f.Close())
	}
	s.old, s.f = nil, nil
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("spool: close: %w", err)
	}
	return nil
}

// Committed returns the committed read position (the start when nothing
// was committed).
func (s *Spool) Committed() (Position, error) {
	b, err := os.ReadFile(filepath.Join(s.dir, committedFile))
	if errors.Is(err, os.ErrNotExist) {
		segs, err := s.segments()
		if err != nil || len(segs) == 0 {
			return Position{Segment: 1}, err
		}
		return Position{Segment: segs[0]}, nil
	}
	if err != nil {
		return Position{}, fmt.Errorf("spool: %w", err)
	}
	var p Position
	if err := json.Unmarshal(b, &p); err != nil {
		return Position{}, fmt.Errorf("spool: committed position: %w", err)
	}
	return p, nil
}

// Commit durably records that everything before p was consumed and
// deletes segments that lie wholly before it.
func (s *Spool) Commit(p Position) error {
	b, err := json.Marshal(p)
	if err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	tmp := filepath.Join(s.dir, committedFile+".tmp")
	if err := writeFileSync(tmp, b); err != nil {
		return err
	}
	if err := os.Rename(tmp, filepath.Join(s.dir, committedFile)); err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	if err := syncDir(s.dir); err != nil {
		return err
	}
	segs, err := s.segments()
	if err != nil {
		return err
	}
	for _, n := range segs {
		if n < p.Segment {
			if err := os.Remove(s.segPath(n)); err != nil {
				return fmt.Errorf("spool: remove consumed segment: %w", err)
			}
		}
	}
	return nil
}

// writeFileSync writes b to path and fsyncs it.
func writeFileSync(path string, b []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600) // #nosec G304 G703 -- path inside a directory Vigil owns
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if _, err := f.Write(b); err != nil {
		_ = f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		_ = f.Close()
		return fmt.Errorf("sync %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("close %s: %w", path, err)
	}
	return nil
}

// SpoolReader reads batches in order. It is not safe for concurrent use;
// it may run while the Spool is being written.
type SpoolReader struct {
	s   *Spool
	pos Position
	f   *os.File
	fr  *recordReader
}

// Reader returns a reader starting at the committed position.
func (s *Spool) Reader() (*SpoolReader, error) {
	p, err := s.Committed()
	if err != nil {
		return nil, err
	}
	return s.ReaderAt(p), nil
}

// ReaderAt returns a reader starting at p.
func (s *Spool) ReaderAt(p Position) *SpoolReader { return &SpoolReader{s: s, pos: p} }

// Position is where the next Next reads from.
func (r *SpoolReader) Position() Position { return r.pos }

// Next returns the next batch, or io.EOF when the reader has caught up
// with the durable end.
func (r *SpoolReader) Next() ([]Event, error) {
	for {
		end := r.s.End()
		if r.pos.Segment > end.Segment || r.pos.Segment == end.Segment && r.pos.Offset >= end.Offset {
			return nil, io.EOF
		}
		if r.f == nil {
			f, err := os.Open(r.s.segPath(r.pos.Segment))
			if errors.Is(err, os.ErrNotExist) && r.pos.Segment < end.Segment {
				r.pos = Position{Segment: r.pos.Segment + 1}
				continue
			}
			if err != nil {
				return nil, fmt.Errorf("spool read: %w", err)
			}
			if _, err := f.Seek(r.pos.Offset, io.SeekStart); err != nil {
				_ = f.Close()
				return nil, fmt.Errorf("spool read: %w", err)
			}
			r.f, r.fr = f, newRecordReader(f)
		}
		payload, n, err := r.fr.next()
		if errors.Is(err, io.EOF) && r.pos.Segment < end.Segment {
			_ = r.f.Close()
			r.f, r.pos = nil, Position{Segment: r.pos.Segment + 1}
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("spool read %s at %d: %w", r.s.segPath(r.pos.Segment), r.pos.Offset, err)
		}
		events, err := decodeEvents(payload)
		if err != nil {
			return nil, fmt.Errorf("spool read %s at %d: %w", r.s.segPath(r.pos.Segment), r.pos.Offset, err)
		}
		r.pos.Offset += n
		return events, nil
	}
}

// DrainBatch is the number of events a consumer that fell behind takes
// from the spool at once (see NextUpTo): one store transaction and one
// Commit per up to this many events.
const DrainBatch = 4096

// NextUpTo returns the events of the next batch and of the batches after
// it that are already durable, until it holds at least max events (or
// the reader caught up): a consumer that fell behind catches up in large
// batches instead of one small batch per writer's fsync. It returns
// io.EOF when not even one batch is there. The position moves past every
// batch returned, so one Commit covers them all.
func (r *SpoolReader) NextUpTo(max int) ([]Event, error) {
	events, err := r.Next()
	if err != nil {
		return nil, err
	}
	for len(events) < max {
		more, err := r.Next()
		if err != nil {
			// Caught up, or a bad record: return what was read. After a
			// bad record the file is reopened at the position, so the
			// next call meets the error again.
			if !errors.Is(err, io.EOF) {
				_ = r.Close()
			}
			break
		}
		events = append(events, more...)
	}
	return events, nil
}

// Commit records the reader's position as consumed.
func (r *SpoolReader) Commit() error { return r.s.Commit(r.pos) }

// Close releases the reader's file.
func (r *SpoolReader) Close() error {
	if r.f == nil {
		return nil
	}
	err := r.f.Close()
	r.f = nil
	return err
}
