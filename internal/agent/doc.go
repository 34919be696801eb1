// Package agent is the host agent behind `vigil agent`. It owns the host
// inventory collector (OS, kernel, CPU and memory, interfaces, listening
// sockets with their processes, dpkg/apk/rpm packages, users and groups,
// running systemd units) and its parsers, the shipper that tails log files
// into a bounded on-disk spool and sends them to the server's
// /ingest/events in NDJSON batches with retry, the local baseline run, the
// agent's identity in its data directory, the offline collection bundle
// (writing it on the host and reading it back, validated, on the server),
// and the versioned JSON documents the agent posts together with the
// server-side HTTP handlers that receive them.
//
// The agent is kept light: it depends on the log ingest (tailer, spool,
// parsers) and the baseline engine, never on the store drivers, the web UI
// or the API packages.
package agent
