package trap

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Engine is the receiver's own SNMP engine (RFC 3411 snmpEngineID,
// snmpEngineBoots, snmpEngineTime). A receiver of SNMPv3 informs is their
// authoritative engine: senders learn its engine ID and clock by
// discovery (RFC 3414 section 4) and localise their keys with its ID.
// Boots counts the starts of the engine; Time is seconds since this one.
type Engine struct {
	ID    []byte
	Boots int64

	mu    sync.Mutex
	start time.Time
}

// EngineFile is the name of the file that keeps the engine ID and boot
// count, in the data directory.
const EngineFile = "snmp-engine"

// NewEngine returns an engine with a new random engine ID (RFC 3411
// format 5, octets) and one boot, not kept anywhere.
func NewEngine() (*Engine, error) {
	id := make([]byte, 5+12)
	// Enterprise 0 with the high bit set, format 5: administratively
	// assigned octets.
	copy(id, []byte{0x80, 0x00, 0x00, 0x00, 0x05})
	if _, err := rand.Read(id[5:]); err != nil {
		return nil, err
	}
	return &Engine{ID: id, Boots: 1}, nil
}

// LoadEngine reads the engine kept in path, counts one more boot and
// writes it back; a missing file gets a new engine. The boot count must
// grow across restarts, or senders would see replayed clocks; so a file
// that cannot be written back is an error.
func LoadEngine(path string) (*Engine, error) {
	b, err := os.ReadFile(path) // #nosec G304 -- a fixed name in the operator's data directory
	var e *Engine
	switch {
	case err == nil:
		if e, err = parseEngine(b); err != nil {
			return nil, fmt.Errorf("%s: %w", filepath.Base(path), err)
		}
		if e.Boots < maxBoots {
			e.Boots++
		}
	case errors.Is(err, fs.ErrNotExist):
		if e, err = NewEngine(); err != nil {
			return nil, err
		}
	default:
		return nil, err
	}
	if err := writeEngine(path, e); err != nil {
		return nil, err
	}
	return e, nil
}

// parseEngine reads "engine-id HEX" and "boots N" lines.
func parseEngine(b []byte) (*Engine, error) {
	if len(b) > 4096 {
		return nil, errors.New("snmp engine file too large")
	}
	e := &Engine{}
	for line := range strings.SplitSeq(string(b), "\n") {
		k, v, _ := strings.Cut(strings.TrimSpace(line), " ")
		var err error
		switch k {
		case "engine-id":
			e.ID, err = hex.DecodeString(strings.TrimSpace(v))
		case "boots":
			e.Boots, err = strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		}
		if err != nil {
			return nil, fmt.Errorf("snmp engine file: %s: %w", k, err)
		}
	}
	if len(e.ID) < 5 || len(e.ID) > 32 || e.Boots < 0 || e.Boots > maxBoots {
		return nil, errors.New("snmp engine file: an engine ID of 5 to 32 octets and a boot count are needed")
	}
	return e, nil
}

func writeEngine(path string, e *Engine) error {
	var buf bytes.Buffer
	fmt.Fprintf(&buf, "engine-id %s\nboots %d\n", hex.EncodeToString(e.ID), e.Boots)
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, buf.Bytes(), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// clock returns the engine's boots and time at now; the first call
// starts the engine's time.
func (e *Engine) clock(now time.Time) (boots, t int64) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.start.IsZero() {
		e.start = now
	}
	t = int64(now.Sub(e.start) / time.Second)
	return e.Boots, max(0, min(t, maxBoots))
}
