package evtx

import (
	"encoding/json"
	"fmt"

	"github.com/vigil-sec/vigil/internal/logs"
)

// FormatName is the Format of events read from EVTX files.
const FormatName = "evtx"

// Result is what Events read from one file.
type Result struct {
	// Events are the records as normalised events, in file order.
	Events []logs.Event
	// Skipped are the chunks and records that could not be read.
	Skipped []*RecordError
}

// Events reads an EVTX file and returns its records as normalised
// events. Each record is rendered as Windows event JSON and parsed by the
// logs package's Windows parser, so field names and ECS aliases are the
// ones the JSON path gives; the event's Format is "evtx" and its Original
// is the rendered JSON (cut at logs.MaxRecordSize). meta.Source and
// meta.Tenant are set on every event.
func Events(data []byte, meta logs.Meta, lim Limits) (*Result, error) {
	recs, skipped, err := Read(data, lim)
	if err != nil {
		return nil, err
	}
	p, err := logs.NewRegistry().Lookup("windows")
	if err != nil {
		return nil, err
	}
	res := &Result{Skipped: skipped, Events: make([]logs.Event, 0, len(recs))}
	for _, r := range recs {
		line, err := json.Marshal(r.Event)
		if err != nil {
			res.Skipped = append(res.Skipped, &RecordError{Err: fmt.Errorf("record %d: %w", r.ID, err)})
			continue
		}
		ev, err := p.Parse(line, meta)
		if err != nil {
			res.Skipped = append(res.Skipped, &RecordError{Err: fmt.Errorf("record %d: %w", r.ID, err)})
			continue
		}
		ev.Format = FormatName
		res.Events = append(res.Events, ev)
	}
	return res, nil
}
