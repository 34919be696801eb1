package app

import (
	"strings"

	"github.com/vigil-sec/vigil/internal/bus"
	"github.com/vigil-sec/vigil/internal/config"
)

// eventsQueueConfig is the events queue's settings: the fixed ack wait and
// delivery bound, and the stream's copies, size and age limits from the
// configuration.
func eventsQueueConfig(c config.Config) bus.QueueConfig {
	return bus.QueueConfig{Name: EventsQueue, Subjects: []string{eventsSubjectRoot + ".>"},
		AckWait: eventsAckWait, MaxDeliver: eventsMaxDeliver,
		Replicas: busReplicas(c), MaxBytes: c.BusMaxBytes, MaxAge: c.BusMaxAge}
}

// busReplicas is the configured replica count, or by default 3 when the
// bus URL lists at least three NATS servers (a cluster that survives
// losing one) and 1 otherwise.
func busReplicas(c config.Config) int {
	if c.BusReplicas > 0 {
		return c.BusReplicas
	}
	n := 0
	for u := range strings.SplitSeq(c.Bus, ",") {
		if strings.TrimSpace(u) != "" {
			n++
		}
	}
	if n >= 3 {
		return 3
	}
	return 1
}
