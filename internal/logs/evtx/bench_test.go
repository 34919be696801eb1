package evtx

import (
	"os"
	"testing"

	"github.com/vigil-sec/vigil/internal/logs"
)

// BenchmarkEvents reads every .evtx file of the Sigma regression data
// into normalised events and reports events per second (records through
// the JSON rendering and the Windows parser) and, as a peer in the same
// run, Read alone.
func BenchmarkEvents(b *testing.B) {
	var files [][]byte
	records := 0
	for _, c := range evtxCases(b) {
		data, err := os.ReadFile(c.evtx)
		if err != nil {
			b.Fatal(err)
		}
		recs, _, err := Read(data, Limits{})
		if err != nil {
			b.Fatal(err)
		}
		records += len(recs)
		files = append(files, data)
	}
	b.Run("Read", func(b *testing.B) {
		for b.Loop() {
			for _, f := range files {
				if _, _, err := Read(f, Limits{}); err != nil {
					b.Fatal(err)
				}
			}
		}
		b.ReportMetric(float64(records*b.N)/b.Elapsed().Seconds(), "records/s")
	})
	b.Run("Events", func(b *testing.B) {
		for b.Loop() {
			for _, f := range files {
				if _, err := Events(f, logs.Meta{Tenant: "t"}, Limits{}); err != nil {
					b.Fatal(err)
				}
			}
		}
		b.ReportMetric(float64(records*b.N)/b.Elapsed().Seconds(), "events/s")
	})
}
