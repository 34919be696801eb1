package thehive

import (
	"bytes"
	"fmt"
	"testing"
)

// BenchmarkParse reads an array of 1,000 TheHive 5 cases with 3 tasks of 5
// logs and 50 observables each, and reports cases per second and MB/s.
func BenchmarkParse(b *testing.B) {
	var buf bytes.Buffer
	buf.WriteString("[")
	for i := range 1000 {
		if i > 0 {
			buf.WriteString(",")
		}
		fmt.Fprintf(&buf, `{"_id":"~%d","_type":"Case","number":%d,"title":"Case %d","description":"Generated case for the benchmark.","severity":%d,"tlp":2,"pap":2,"status":"InProgress","stage":"InProgress","tags":["bench","t%d"],"_createdAt":1700000000000,"customFields":[{"name":"unit","type":"string","value":"ops","order":0}],"tasks":[`, i, i, i, i%4+1, i%10)
		for t := range 3 {
			if t > 0 {
				buf.WriteString(",")
			}
			fmt.Fprintf(&buf, `{"title":"Task %d","group":"contain","status":"Waiting","order":%d,"logs":[`, t, t)
			for l := range 5 {
				if l > 0 {
					buf.WriteString(",")
				}
				fmt.Fprintf(&buf, `{"message":"log %d","date":1700000000%03d,"owner":"a@example.org"}`, l, l)
			}
			buf.WriteString("]}")
		}
		buf.WriteString(`],"observables":[`)
		for o := range 50 {
			if o > 0 {
				buf.WriteString(",")
			}
			fmt.Fprintf(&buf, `{"dataType":"ip","data":"192.0.2.%d","ioc":true,"tlp":2,"tags":["x"]}`, o+1)
		}
		buf.WriteString("]}")
	}
	buf.WriteString("]")
	data := buf.Bytes()
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for b.Loop() {
		cs, err := Parse(bytes.NewReader(data), Limits{})
		if err != nil || len(cs) != 1000 {
			b.Fatalf("%d cases, %v", len(cs), err)
		}
	}
	b.ReportMetric(float64(1000*b.N)/b.Elapsed().Seconds(), "cases/s")
}
