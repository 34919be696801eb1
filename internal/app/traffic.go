package app

import (
	"context"
	"encoding/json"
	"time"

	"github.com/vigil-sec/vigil/internal/bus"
)

// trafficJob is the payload of a traffic analysis job.
type trafficJob struct {
	Tenant   string `json:"tenant"`
	Analysis string `json:"analysis"`
}

// enqueueTraffic hands an uploaded traffic analysis to the workers.
func (a *App) enqueueTraffic(ctx context.Context, tenantID, analysisID string) error {
	b, err := json.Marshal(trafficJob{Tenant: tenantID, Analysis: analysisID})
	if err != nil {
		return err
	}
	return a.Bus.Enqueue(ctx, JobsQueue, bus.Message{Subject: JobTrafficRun, Data: b})
}

// runTraffic runs one queued traffic analysis; a redelivered job finds it
// started and does nothing.
func (a *App) runTraffic(ctx context.Context, data []byte) error {
	var j trafficJob
	if err := json.Unmarshal(data, &j); err != nil || j.Tenant == "" || j.Analysis == "" {
		a.Logger.Warn("malformed traffic job dropped", "err", err)
		return nil
	}
	return a.Traffic.Run(asSystem(ctx), j.Tenant, j.Analysis)
}

// trafficEventsEvery is the window of the continuous analysis of the
// tenants' collected Suricata and netfilter events.
const trafficEventsEvery = time.Hour

// runTrafficEvents analyses every tenant's collected events of the last
// complete hour; an hour already analysed is left alone.
func (a *App) runTrafficEvents(ctx context.Context) error {
	n, err := a.Traffic.AnalyseAllEvents(asSystem(ctx), time.Now(), trafficEventsEvery)
	if n > 0 {
		a.Logger.Info("collected traffic events analysed", "tenants", n)
	}
	return err
}
