package cli

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"

	"github.com/vigil-sec/vigil/internal/detect"
	"github.com/vigil-sec/vigil/internal/logs/evtx"
)

// detectInput runs the rules over one input: a Windows event log file
// when it starts with the EVTX signature, JSON lines otherwise.
func detectInput(r io.Reader, name string, eng *detect.Engine, corr *detect.Correlator, enc *json.Encoder, stderr io.Writer, st *detectStats) error {
	br := bufio.NewReaderSize(r, 64<<10)
	head, _ := br.Peek(8)
	if !evtx.IsEVTX(head) {
		return detectStream(br, name, eng, corr, enc, stderr, st)
	}
	return detectEVTX(br, name, eng, corr, enc, stderr, st)
}

// detectEVTX reads a whole EVTX file (at most evtx.DefaultMaxFileSize
// bytes) and matches each record, rendered as Windows event JSON, in file
// order. Skipped records are reported on stderr and counted as malformed.
func detectEVTX(r io.Reader, name string, eng *detect.Engine, corr *detect.Correlator, enc *json.Encoder, stderr io.Writer, st *detectStats) error {
	data, err := io.ReadAll(io.LimitReader(r, evtx.DefaultMaxFileSize+1))
	if err != nil {
		return fmt.Errorf("detect: read %s: %w", name, err)
	}
	recs, skipped, err := evtx.Read(data, evtx.Limits{})
	if err != nil {
		return fmt.Errorf("detect: %s: %w", name, err)
	}
	for _, s := range skipped {
		st.malformed++
		fmt.Fprintf(stderr, "%s: %v, skipped\n", name, s)
	}
	var rules []*detect.Rule
	for _, rec := range recs {
		line, err := json.Marshal(rec.Event)
		if err == nil {
			var ev *detect.Event
			if ev, err = parseEventLine(line); err == nil {
				if rules, err = detectOne(ev, eng, corr, enc, st, rules); err != nil {
					return err
				}
				continue
			}
		}
		st.malformed++
		fmt.Fprintf(stderr, "%s: record %d: %v, skipped\n", name, rec.ID, err)
	}
	return nil
}
