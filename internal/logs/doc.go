// Package logs is Vigil's log ingest. It owns the normalised event schema
// (Event, with ECS-style dotted field names), the parser registry (RFC 5424
// and RFC 3164 syslog, JSON, CEF, LEEF, key=value, web access logs,
// Suricata EVE, Linux auth.log, auditd, Windows event JSON, netfilter
// kernel lines, and an auto-detecting chain over them), the listeners that
// receive logs (syslog over UDP, TCP and TLS, HTTP JSON/NDJSON, file tail)
// and a durable spool, an append-only write-ahead log that can sit in front
// of the store.
//
// Flow: a listener reads a bounded record (MaxRecordSize), hands it to a
// Parser, and collects the resulting events into batches it passes to a
// Sink. A record that does not parse becomes a DeadLetter for the
// DeadLetterSink and never stops the stream. Every listener keeps Counters.
//
// Acknowledgement and backpressure: a listener reads no further than one
// bounded buffer ahead of the Sink. The HTTP handler answers 202 only after
// Sink.Write returned nil; the TCP/TLS syslog listener has no
// application-level acknowledgement, so it stops reading from a connection
// while a Write is in progress and the kernel's TCP window pushes back on
// the sender; the file tailer records its offset only after a successful
// Write. UDP has no backpressure: datagrams arriving while the Sink is slow
// are dropped by the kernel.
//
// EVTX (binary Windows event log files) is not read; Windows events are
// accepted as JSON in the rendered {"Event":{"System":…,"EventData":…}}
// shape.
package logs
