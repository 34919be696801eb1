package app

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"strconv"
	"time"

	"github.com/google/uuid"

	"github.com/vigil-sec/vigil/internal/logs"
)

// httpEventNamespace makes the content-derived IDs of events that arrive
// over HTTP (JSON ingest, EVTX uploads) without an ID of their sender's.
var httpEventNamespace = uuid.MustParse("c5e1f0a3-2b7d-4e96-8f14-9a3d6b0e7c25")

// stableIngestIDs gives the events of one ingest request IDs that a resend
// of the request lands on again, so the store keeps each event once:
//
//   - an event of a Vigil agent (agent.type vigil, agent.id, event.id)
//     gets agentEventID, as the agent's own endpoint does;
//   - any other event with a timestamp of its own gets a UUID derived from
//     the tenant, the sender's credential (its token), the format, the
//     event's time, its canonical content (the record's JSON with sorted
//     keys and no insignificant space, else the record as received) and
//     how many records of the request before it had the same content;
//   - an event without a timestamp of its own keeps the fresh ID it was
//     given: it is stored under its receive time, which a resend does not
//     repeat, and identical untimed records are usually distinct events.
//
// The trade-off is the syslog one: two records of one sender with the same
// content and timestamp, sent in different requests, are stored once.
// Within one request they stay apart. The credential in the derivation
// keeps one sender's records from ever landing on another's IDs.
func stableIngestIDs(credential string, evs []logs.Event) {
	var seen map[[sha256.Size]byte]int
	for i := range evs {
		e := &evs[i]
		if t, _ := e.Fields["agent.type"].(string); t == "vigil" {
			ag, _ := e.Fields["agent.id"].(string)
			if id, ok := agentEventID(e.Tenant, ag, e.Fields); ok {
				e.ID = id
				continue
			}
		}
		if e.Time.Equal(e.Received) || e.Tenant == "" {
			continue
		}
		content := canonicalRecord(e)
		sum := sha256.Sum256(content)
		if seen == nil {
			seen = make(map[[sha256.Size]byte]int)
		}
		n := seen[sum]
		seen[sum] = n + 1
		e.ID = contentEventID(e.Tenant, credential, e.Format, e.Time, n, sum)
	}
}

// contentEventID derives the ID of the nth record with content hash sum
// (occurrence n counts from 0) of a sender's request.
func contentEventID(tenantID, credential, format string, at time.Time, n int, sum [sha256.Size]byte) string {
	var b []byte
	b = append(b, tenantID...)
	b = append(b, 0)
	b = append(b, credential...)
	b = append(b, 0)
	b = append(b, format...)
	b = append(b, 0)
	b = at.UTC().AppendFormat(b, time.RFC3339Nano)
	b = append(b, 0)
	b = strconv.AppendInt(b, int64(n), 10)
	b = append(b, 0)
	b = append(b, sum[:]...)
	return uuid.NewSHA1(httpEventNamespace, b).String()
}

// canonicalRecord is the event's record in a form that does not depend on
// how the sender serialised it: a JSON object re-encoded with sorted keys
// and numbers as written, else the record as received (with a marker when
// it was truncated).
func canonicalRecord(e *logs.Event) []byte {
	raw := []byte(e.Original)
	if !e.Truncated {
		if t := bytes.TrimSpace(raw); len(t) > 0 && t[0] == '{' {
			dec := json.NewDecoder(bytes.NewReader(t))
			dec.UseNumber()
			var v map[string]any
			if dec.Decode(&v) == nil && !dec.More() {
				if out, err := json.Marshal(v); err == nil {
					return out
				}
			}
		}
		return raw
	}
	return append(raw, "\x00truncated"...)
}
