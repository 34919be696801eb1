// Package evtx reads Windows event log files (.evtx): the file header, the
// 64 KiB chunks, the event records and their binary XML (BinXML) with
// templates and substitutions. Each record is rendered as the JSON tree
// evtx tools write ({"Event":{"#attributes":…,"System":…,"EventData":…}})
// and handed to the logs package's Windows event parser, so an event read
// from an .evtx file carries exactly the fields the same event gets when it
// arrives as JSON.
//
// The parser reads untrusted input: every offset and size is checked
// against the chunk, and Limits bound the file size, the number of records
// and the nesting depth of elements and templates. A damaged record or
// chunk is reported as a RecordError and the rest of the file is still
// read; a damaged file header is an error for the whole file.
package evtx

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"time"
)

// Format sizes and signatures.
const (
	fileHeaderSize  = 4096
	chunkSize       = 65536
	chunkHeaderSize = 512
	recordHeader    = 24
	recordMin       = 28
)

var (
	fileMagic  = []byte("ElfFile\x00")
	chunkMagic = []byte("ElfChnk\x00")
)

// Default limits.
const (
	DefaultMaxFileSize = 256 << 20
	DefaultMaxRecords  = 1_000_000
	DefaultMaxDepth    = 64
)

// Limits bound what a file may make the parser do. Zero fields take the
// defaults.
type Limits struct {
	// MaxFileSize is the largest file accepted, in bytes.
	MaxFileSize int64
	// MaxRecords is the most event records read from one file.
	MaxRecords int
	// MaxDepth bounds the nesting of elements, templates and embedded
	// BinXML fragments within one record.
	MaxDepth int
	// SkipChecksums reads chunks whose CRC32 checksums do not match.
	SkipChecksums bool
}

func (l Limits) withDefaults() Limits {
	if l.MaxFileSize <= 0 {
		l.MaxFileSize = DefaultMaxFileSize
	}
	if l.MaxRecords <= 0 {
		l.MaxRecords = DefaultMaxRecords
	}
	if l.MaxDepth <= 0 {
		l.MaxDepth = DefaultMaxDepth
	}
	return l
}

// Errors for whole files.
var (
	ErrNotEVTX   = errors.New("evtx: not an EVTX file (no ElfFile signature)")
	ErrTooLarge  = errors.New("evtx: file too large")
	ErrTooMany   = errors.New("evtx: too many records")
	ErrTruncated = errors.New("evtx: file shorter than its header")
)

// Record is one event record.
type Record struct {
	// ID is the event record identifier.
	ID uint64
	// Written is when the record was written to the log.
	Written time.Time
	// Event is the rendered event: an *Object whose single key is the
	// root element's name ("Event").
	Event *Object
}

// RecordError says why a chunk or record was skipped.
type RecordError struct {
	Chunk  int   // chunk index, from 0
	Offset int   // byte offset of the record in its chunk; 0 for a chunk error
	Err    error // the reason
}

func (e *RecordError) Error() string {
	if e.Offset == 0 {
		return fmt.Sprintf("evtx: chunk %d: %v", e.Chunk, e.Err)
	}
	return fmt.Sprintf("evtx: chunk %d, record at offset %d: %v", e.Chunk, e.Offset, e.Err)
}

func (e *RecordError) Unwrap() error { return e.Err }

// IsEVTX reports whether b starts with the EVTX file signature.
func IsEVTX(b []byte) bool { return bytes.HasPrefix(b, fileMagic) }

// Read parses a whole EVTX file held in data. It returns the records in
// file order and the records or chunks it had to skip. The error is
// non-nil only when data is not a readable EVTX file or exceeds a limit;
// then no records are returned.
func Read(data []byte, lim Limits) ([]Record, []*RecordError, error) {
	lim = lim.withDefaults()
	if int64(len(data)) > lim.MaxFileSize {
		return nil, nil, fmt.Errorf("%w: %d bytes (limit %d)", ErrTooLarge, len(data), lim.MaxFileSize)
	}
	if !IsEVTX(data) {
		return nil, nil, ErrNotEVTX
	}
	if len(data) < 128 {
		return nil, nil, ErrTruncated
	}
	if hs := binary.LittleEndian.Uint32(data[32:]); hs != 128 {
		return nil, nil, fmt.Errorf("evtx: file header size %d, want 128", hs)
	}
	if !lim.SkipChecksums {
		if want, got := binary.LittleEndian.Uint32(data[124:]), crc32.ChecksumIEEE(data[:120]); want != got {
			return nil, nil, fmt.Errorf("evtx: file header checksum %08x, computed %08x", want, got)
		}
	}
	var (
		recs []Record
		bad  []*RecordError
	)
	for i := 0; fileHeaderSize+i*chunkSize < len(data); i++ {
		// The last chunk of a cut file may be short: its records are
		// read as far as they are whole.
		start := fileHeaderSize + i*chunkSize
		chunk := data[start:min(start+chunkSize, len(data))]
		if len(chunk) < chunkHeaderSize {
			bad = append(bad, &RecordError{Chunk: i, Err: fmt.Errorf("chunk cut after %d bytes", len(chunk))})
			break
		}
		if !bytes.HasPrefix(chunk, chunkMagic) {
			// Unused space at the end of a file is zeroed.
			if allZero(chunk[:8]) {
				continue
			}
			bad = append(bad, &RecordError{Chunk: i, Err: errors.New("no ElfChnk signature")})
			continue
		}
		var err error
		recs, bad, err = readChunk(chunk, i, lim, recs, bad)
		if err != nil {
			return nil, nil, err
		}
	}
	return recs, bad, nil
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

func readChunk(chunk []byte, idx int, lim Limits, recs []Record, bad []*RecordError) ([]Record, []*RecordError, error) {
	free := int(binary.LittleEndian.Uint32(chunk[48:]))
	if free < chunkHeaderSize || free > len(chunk) {
		return recs, append(bad, &RecordError{Chunk: idx, Err: fmt.Errorf("free space offset %d out of range", free)}), nil
	}
	if !lim.SkipChecksums {
		h := crc32.NewIEEE()
		_, _ = h.Write(chunk[:120])
		_, _ = h.Write(chunk[128:chunkHeaderSize])
		if want := binary.LittleEndian.Uint32(chunk[124:]); want != h.Sum32() {
			return recs, append(bad, &RecordError{Chunk: idx, Err: fmt.Errorf("chunk header checksum %08x, computed %08x", want, h.Sum32())}), nil
		}
		if want, got := binary.LittleEndian.Uint32(chunk[52:]), crc32.ChecksumIEEE(chunk[chunkHeaderSize:free]); want != got {
			return recs, append(bad, &RecordError{Chunk: idx, Err: fmt.Errorf("records checksum %08x, computed %08x", want, got)}), nil
		}
	}
	p := &parser{chunk: chunk, maxDepth: lim.MaxDepth, names: make(map[int]string), chunkWork: maxChunkWork}
	for off := chunkHeaderSize; off+recordMin <= free; {
		if !bytes.Equal(chunk[off:off+4], []byte{0x2a, 0x2a, 0, 0}) {
			if allZero(chunk[off : off+4]) {
				break
			}
			bad = append(bad, &RecordError{Chunk: idx, Offset: off, Err: errors.New("no record signature; rest of chunk skipped")})
			break
		}
		size := int(binary.LittleEndian.Uint32(chunk[off+4:]))
		if size < recordMin || off+size > free {
			bad = append(bad, &RecordError{Chunk: idx, Offset: off, Err: fmt.Errorf("record size %d out of range; rest of chunk skipped", size)})
			break
		}
		if tail := int(binary.LittleEndian.Uint32(chunk[off+size-4:])); tail != size {
			bad = append(bad, &RecordError{Chunk: idx, Offset: off, Err: fmt.Errorf("record size %d and trailing copy %d differ; rest of chunk skipped", size, tail)})
			break
		}
		if len(recs) >= lim.MaxRecords {
			return nil, nil, fmt.Errorf("%w: more than %d", ErrTooMany, lim.MaxRecords)
		}
		rec := Record{
			ID:      binary.LittleEndian.Uint64(chunk[off+8:]),
			Written: filetime(binary.LittleEndian.Uint64(chunk[off+16:])),
		}
		ev, err := p.record(off+recordHeader, off+size-4)
		if err != nil {
			bad = append(bad, &RecordError{Chunk: idx, Offset: off, Err: err})
		} else {
			rec.Event = ev
			recs = append(recs, rec)
		}
		off += size
	}
	return recs, bad, nil
}

// filetime converts a Windows FILETIME (100 ns since 1601-01-01 UTC).
func filetime(ft uint64) time.Time {
	const epochDelta = 11644473600           // seconds from 1601 to 1970
	sec := int64(ft/10_000_000) - epochDelta // #nosec G115 -- ft/1e7 < 2^61
	ns := int64(ft%10_000_000) * 100         // #nosec G115 -- below 1e9
	return time.Unix(sec, ns).UTC()
}
