package evtx

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/vigil-sec/vigil/internal/logs"
)

// seed returns the bytes of a fuzz seed file: a real .evtx file from the
// Sigma regression data cut after its only chunk's last record.
func seed(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "fuzz", "FuzzRead", name))
	if err != nil {
		t.Fatal(err)
	}
	_, lit, ok := strings.Cut(strings.TrimSpace(string(b)), "\n")
	if !ok {
		t.Fatalf("seed %s: no value line", name)
	}
	lit = strings.TrimSuffix(strings.TrimPrefix(lit, "[]byte("), ")")
	s, err := strconv.Unquote(lit)
	if err != nil {
		t.Fatalf("seed %s: %v", name, err)
	}
	return []byte(s)
}

// TestCutFile reads the Task Scheduler seed (event 142 "task disabled",
// from the Sigma regression data) and checks values read by hand from
// the JSON export next to the original file.
func TestCutFile(t *testing.T) {
	recs, skipped, err := Read(seed(t, "taskscheduler-4701"), Limits{})
	if err != nil || len(skipped) > 0 {
		t.Fatalf("err %v, skipped %v", err, skipped)
	}
	if len(recs) != 1 {
		t.Fatalf("%d records, want 1", len(recs))
	}
	ev := generic(t, recs[0].Event)["Event"].(map[string]any)
	sys := ev["System"].(map[string]any)
	if got := sys["EventID"]; got.(interface{ String() string }).String() != "142" {
		t.Errorf("EventID %v, want 142", got)
	}
	if got := sys["Channel"]; got != "Microsoft-Windows-TaskScheduler/Operational" {
		t.Errorf("Channel %v", got)
	}
	data := ev["EventData"].(map[string]any)
	if got := data["TaskName"]; got != `\Microsoft\Windows\SystemRestore\SR` {
		t.Errorf("TaskName %v", got)
	}
	if got := data["#attributes"].(map[string]any)["Name"]; got != "TaskDisabled" {
		t.Errorf("EventData Name %v", got)
	}
	res, err := Events(seed(t, "taskscheduler-4701"), logs.Meta{Tenant: "t", Source: "upload.evtx"}, Limits{})
	if err != nil || len(res.Events) != 1 {
		t.Fatalf("Events: %v, %+v", err, res)
	}
	e := res.Events[0]
	if e.Format != "evtx" || e.Fields["event.code"] != "142" || e.Fields["winlog.channel"] != "Microsoft-Windows-TaskScheduler/Operational" {
		t.Errorf("event %+v", e.Fields)
	}
	if e.Time.Format("2006-01-02T15:04:05") != "2026-03-11T05:16:41" {
		t.Errorf("time %v", e.Time)
	}
}

func TestLimitsAndDamage(t *testing.T) {
	good := seed(t, "sysmon-16")
	if _, _, err := Read(good, Limits{MaxFileSize: int64(len(good)) - 1}); !errors.Is(err, ErrTooLarge) {
		t.Errorf("size limit: %v", err)
	}
	if _, _, err := Read([]byte("not an evtx file at all"), Limits{}); !errors.Is(err, ErrNotEVTX) {
		t.Errorf("not evtx: %v", err)
	}
	if _, _, err := Read(good[:100], Limits{}); err == nil {
		t.Error("a cut header was accepted")
	}
	// Two copies of the chunk make two records; a limit of one refuses
	// the file.
	two := append(append([]byte{}, good[:fileHeaderSize]...), padChunk(good[fileHeaderSize:])...)
	two = append(two, padChunk(good[fileHeaderSize:])...)
	if recs, skipped, err := Read(two, Limits{}); err != nil || len(recs) != 2 || len(skipped) != 0 {
		t.Fatalf("two chunks: %d records, %v, %v", len(recs), skipped, err)
	}
	if _, _, err := Read(two, Limits{MaxRecords: 1}); !errors.Is(err, ErrTooMany) {
		t.Errorf("record limit: %v", err)
	}
	// A shallow depth limit refuses the record (Event > System >
	// Provider is three levels inside a template) and says why.
	recs, skipped, err := Read(good, Limits{MaxDepth: 2})
	if err != nil || len(recs) != 0 || len(skipped) != 1 || !strings.Contains(skipped[0].Error(), "nesting deeper") {
		t.Errorf("depth limit: %d records, %v, %v", len(recs), skipped, err)
	}
	// A flipped byte in the record data fails the chunk's checksum.
	bad := bytes.Clone(good)
	bad[fileHeaderSize+chunkHeaderSize+100] ^= 0xff
	recs, skipped, err = Read(bad, Limits{})
	if err != nil || len(recs) != 0 || len(skipped) != 1 || !strings.Contains(skipped[0].Error(), "checksum") {
		t.Errorf("checksum: %d records, %v, %v", len(recs), skipped, err)
	}
	// A damaged file header checksum refuses the file.
	bad = bytes.Clone(good)
	bad[20] ^= 1
	if _, _, err := Read(bad, Limits{}); err == nil || !strings.Contains(err.Error(), "checksum") {
		t.Errorf("header checksum: %v", err)
	}
	// A record whose size runs past the chunk is reported, not read.
	bad = bytes.Clone(good)
	binary.LittleEndian.PutUint32(bad[fileHeaderSize+chunkHeaderSize+4:], 60000)
	fixChunkCRC(bad[fileHeaderSize:])
	if recs, skipped, err := Read(bad, Limits{}); err != nil || len(recs) != 0 || len(skipped) != 1 {
		t.Errorf("record size: %d records, %v, %v", len(recs), skipped, err)
	}
}

// padChunk pads a cut chunk to the full chunk size.
func padChunk(c []byte) []byte {
	out := make([]byte, chunkSize)
	copy(out, c)
	return out
}

func fixChunkCRC(chunk []byte) {
	free := binary.LittleEndian.Uint32(chunk[48:])
	binary.LittleEndian.PutUint32(chunk[52:], crc32.ChecksumIEEE(chunk[chunkHeaderSize:free]))
	h := crc32.NewIEEE()
	_, _ = h.Write(chunk[:120])
	_, _ = h.Write(chunk[128:chunkHeaderSize])
	binary.LittleEndian.PutUint32(chunk[124:], h.Sum32())
}

// FuzzRead feeds damaged files (seeded with cut real files) to the
// reader with checksums off, so mutations reach the BinXML parser: it
// must never panic, and what it returns must render as JSON.
func FuzzRead(f *testing.F) {
	f.Add([]byte("ElfFile\x00"))
	f.Fuzz(func(t *testing.T, data []byte) {
		recs, _, err := Read(data, Limits{SkipChecksums: true, MaxFileSize: 1 << 20, MaxRecords: 1000})
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error")
			}
			return
		}
		for _, r := range recs {
			if _, err := r.Event.MarshalJSON(); err != nil {
				t.Fatalf("record %d does not render: %v", r.ID, err)
			}
		}
		_, _ = Events(data, logs.Meta{}, Limits{SkipChecksums: true, MaxFileSize: 1 << 20, MaxRecords: 1000})
	})
}
