package agent

import (
	"bytes"
	"fmt"
	"strconv"

	"github.com/google/uuid"

	"github.com/vigil-sec/vigil/internal/logs"
)

// bundleNamespace makes the IDs of events read from a bundle.
var bundleNamespace = uuid.MustParse("c2d7e3f4-5a6b-4c8d-9e0f-1a2b3c4d5e6f")

// BundleEvents turns the log files of a verified bundle into events of
// the tenant, each line parsed as the running agent parses it (a line no
// parser knows is kept as a raw event), with host.name, agent.id and
// log.file.path set. An event's ID derives from the agent, the file and
// the line, so the same bundle imported twice gives the same IDs.
// Records longer than logs.MaxRecordSize are cut by the parsers.
func BundleEvents(b *Bundle, tenant string) ([]logs.Event, error) {
	auto, err := logs.NewRegistry().Lookup("auto")
	if err != nil {
		return nil, fmt.Errorf("bundle events: %w", err)
	}
	p := lineParser{inner: auto}
	rcv := b.Manifest.Created.UTC()
	var out []logs.Event
	for _, mf := range b.Manifest.Files {
		if mf.Kind != "log" {
			continue
		}
		src := mf.Source
		if src == "" {
			src = mf.Path
		}
		n := 0
		for line := range bytes.Lines(b.Files[mf.Path]) {
			n++
			line = bytes.TrimRight(line, "\r\n")
			if len(bytes.TrimSpace(line)) == 0 {
				continue
			}
			ev, err := p.Parse(line, logs.Meta{Source: src, Tenant: tenant, Received: rcv})
			if err != nil {
				continue
			}
			ev.ID = uuid.NewSHA1(bundleNamespace, []byte(b.Manifest.AgentID+"\x00"+mf.Path+"\x00"+strconv.Itoa(n)+"\x00"+mf.SHA256)).String()
			ev.Tenant, ev.Source = tenant, src
			if ev.Fields == nil {
				ev.Fields = map[string]any{}
			}
			if _, ok := ev.Fields["host.name"]; !ok && b.Manifest.Hostname != "" {
				ev.Fields["host.name"] = b.Manifest.Hostname
			}
			ev.Fields["agent.id"] = b.Manifest.AgentID
			ev.Fields["agent.type"] = "vigil"
			ev.Fields["log.file.path"] = src
			out = append(out, ev)
		}
	}
	return out, nil
}
