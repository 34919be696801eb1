package app

import (
	"context"
	"time"
)

// weblogCollectedEvery is the window of the analysis of the web systems'
// collected access logs: a day, so behaviour over the day is seen whole.
const weblogCollectedEvery = 24 * time.Hour

// runWeblogCollected analyses every tenant's web systems' access logs of
// the last complete day; a day already analysed is left alone.
func (a *App) runWeblogCollected(ctx context.Context) error {
	n, err := a.Compromise.AnalyseAllCollected(asSystem(ctx), time.Now(), weblogCollectedEvery)
	if n > 0 {
		a.Logger.Info("collected access logs analysed", "runs", n)
	}
	return err
}
