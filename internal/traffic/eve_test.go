package traffic

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

const eveSample = "../../../shared/corpus/traffic/slips/test6-malicious.suricata.json"

// TestReadEVESample reads the Stratosphere sample and checks the records
// against counts taken by a plain JSON decode of the same file.
func TestReadEVESample(t *testing.T) {
	raw, err := os.ReadFile(eveSample)
	if err != nil {
		t.Skipf("sample not available: %v", err)
	}
	// Independent count: decode each line into a generic map.
	want := map[string]int64{}
	var lines, dnsQueries, dnsAnswers, dnsJoined int
	waiting := map[string]int{}
	tlsBySNI := map[string]string{} // sni → ja3 hash
	sc := bufio.NewScanner(bytes.NewReader(raw))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		lines++
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("line %d: %v", lines, err)
		}
		typ, _ := m["event_type"].(string)
		want[typ]++
		switch typ {
		case "dns":
			// A query and its answer share flow_id, DNS id and question.
			d := m["dns"].(map[string]any)
			k := fmt.Sprint(m["flow_id"], d["id"], strings.ToLower(fmt.Sprint(d["rrname"])), d["rrtype"])
			switch d["type"] {
			case "query":
				dnsQueries++
				waiting[k]++
			case "answer":
				dnsAnswers++
				if waiting[k] > 0 {
					waiting[k]--
					dnsJoined++
				}
			}
		case "tls":
			tl := m["tls"].(map[string]any)
			tlsBySNI[tl["sni"].(string)] = tl["ja3"].(map[string]any)["hash"].(string)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}

	var sink inputSink
	var er EVEReader
	st, err := er.Read(context.Background(), bytes.NewReader(raw), "test6.json", &sink)
	if err != nil {
		t.Fatal(err)
	}
	if st.Skipped != 0 {
		t.Errorf("skipped %d lines, first: %+v", st.Skipped, st.Skips[0])
	}
	if st.Lines != int64(lines) {
		t.Errorf("Lines = %d, want %d", st.Lines, lines)
	}
	if diff := cmp.Diff(want, er.EventTypes); diff != "" {
		t.Errorf("event types (-independent +reader):\n%s", diff)
	}
	if got := int64(len(sink.conns)); got != want["flow"] {
		t.Errorf("conns = %d, want %d flow events", got, want["flow"])
	}
	if got := int64(len(sink.alerts)); got != want["alert"]+want["anomaly"] {
		t.Errorf("alerts = %d, want %d alert + anomaly events", got, want["alert"]+want["anomaly"])
	}
	if got := int64(len(sink.http)); got != want["http"] {
		t.Errorf("http = %d, want %d", got, want["http"])
	}
	if got := int64(len(sink.files)); got != want["fileinfo"] {
		t.Errorf("files = %d, want %d", got, want["fileinfo"])
	}
	if got := int64(len(sink.tls)); got != want["tls"] {
		t.Errorf("tls = %d, want %d", got, want["tls"])
	}
	// Every answer event (version 2: one per response) gives exactly one
	// record with an rcode; queries without answer give records without.
	answered := 0
	for _, d := range sink.dns {
		if d.RCode != "" {
			answered++
		}
		if d.Query == "" {
			t.Errorf("DNS record without query name: %+v", d)
		}
	}
	if answered != dnsAnswers {
		t.Errorf("answered DNS records = %d, want %d answer events", answered, dnsAnswers)
	}
	// Retransmitted queries stay unanswered; so the records are the
	// queries and answers less the pairs that join.
	if n := len(sink.dns); n != dnsQueries+dnsAnswers-dnsJoined || dnsJoined == 0 {
		t.Errorf("DNS records = %d, want %d queries + %d answers - %d joined", n, dnsQueries, dnsAnswers, dnsJoined)
	}
	if st.Records != int64(sink.total()) {
		t.Errorf("Records = %d, handler got %d", st.Records, sink.total())
	}
	for _, tl := range sink.tls {
		if ja3, ok := tlsBySNI[tl.ServerName]; !ok || ja3 != tl.JA3 {
			t.Errorf("TLS %q JA3 %q, want %q", tl.ServerName, tl.JA3, ja3)
		}
	}
	for _, c := range sink.conns {
		if !c.Src.IsValid() || !c.Dst.IsValid() || c.Proto == "" || c.TS.IsZero() {
			t.Fatalf("incomplete conn %+v", c)
		}
	}
}

// The DNS layouts below follow the Suricata EVE format documentation
// (doc/userguide/output/eve/eve-json-format.rst in OISF/suricata): the
// version 1 layout logs one event per answer record, version 2 groups the
// answers in one event, and Suricata 8 (version 3) logs "queries" and
// "answers" arrays with type "request"/"response".
func TestReadEVEDNSLayouts(t *testing.T) {
	const hdr = `"flow_id":77,"event_type":"dns","src_ip":"10.0.0.2","src_port":5353,"dest_ip":"10.0.0.1","dest_port":53,"proto":"UDP"`
	const rhdr = `"flow_id":77,"event_type":"dns","src_ip":"10.0.0.1","src_port":53,"dest_ip":"10.0.0.2","dest_port":5353,"proto":"UDP"`
	tests := []struct {
		name  string
		lines []string
		want  []DNS
	}{
		{
			name: "v1 answer per event",
			lines: []string{
				`{"timestamp":"2020-01-01T00:00:00.000000+0000",` + hdr + `,"dns":{"type":"query","id":7,"rrname":"a.example.","rrtype":"A","tx_id":0}}`,
				`{"timestamp":"2020-01-01T00:00:00.100000+0000",` + rhdr + `,"dns":{"type":"answer","id":7,"rcode":"NOERROR","rrname":"a.example","rrtype":"A","ttl":60,"rdata":"192.0.2.1"}}`,
				`{"timestamp":"2020-01-01T00:00:00.100000+0000",` + rhdr + `,"dns":{"type":"answer","id":7,"rcode":"NOERROR","rrname":"a.example","rrtype":"A","ttl":60,"rdata":"192.0.2.2"}}`,
			},
			want: []DNS{{Query: "a.example", QType: "A", RCode: "NOERROR", Answers: []string{"192.0.2.1", "192.0.2.2"}, TTLs: []time.Duration{time.Minute, time.Minute}}},
		},
		{
			name: "v2 answers array and nxdomain",
			lines: []string{
				`{"timestamp":"2020-01-01T00:00:00.000000+0000",` + hdr + `,"dns":{"type":"query","id":8,"rrname":"b.example","rrtype":"TXT","tx_id":0}}`,
				`{"timestamp":"2020-01-01T00:00:00.000000+0000",` + hdr + `,"dns":{"type":"query","id":9,"rrname":"nx.example","rrtype":"A","tx_id":1}}`,
				`{"timestamp":"2020-01-01T00:00:00.200000+0000",` + rhdr + `,"dns":{"version":2,"type":"answer","id":9,"flags":"8183","rrname":"nx.example","rrtype":"A","rcode":"NXDOMAIN"}}`,
				`{"timestamp":"2020-01-01T00:00:00.300000+0000",` + rhdr + `,"dns":{"version":2,"type":"answer","id":8,"flags":"8180","rrname":"b.example","rrtype":"TXT","rcode":"NOERROR","answers":[{"rrname":"b.example","rrtype":"TXT","ttl":5,"rdata":"hello"}]}}`,
			},
			want: []DNS{
				{Query: "nx.example", QType: "A", RCode: "NXDOMAIN"},
				{Query: "b.example", QType: "TXT", RCode: "NOERROR", Answers: []string{"hello"}, TTLs: []time.Duration{5 * time.Second}},
			},
		},
		{
			name: "suricata 8",
			lines: []string{
				`{"timestamp":"2020-01-01T00:00:00.000000+0000",` + hdr + `,"dns":{"version":3,"type":"request","tx_id":0,"id":10,"flags":"100","rd":true,"opcode":0,"queries":[{"rrname":"c.example","rrtype":"AAAA"}]}}`,
				`{"timestamp":"2020-01-01T00:00:00.050000+0000",` + rhdr + `,"dns":{"version":3,"type":"response","tx_id":0,"id":10,"flags":"8180","qr":true,"rcode":"NOERROR","queries":[{"rrname":"c.example","rrtype":"AAAA"}],"answers":[{"rrname":"c.example","rrtype":"AAAA","ttl":300,"rdata":"2001:db8::1"}]}}`,
			},
			want: []DNS{{Query: "c.example", QType: "AAAA", RCode: "NOERROR", Answers: []string{"2001:db8::1"}, TTLs: []time.Duration{300 * time.Second}}},
		},
		{
			// As in the Stratosphere sample: a query captured twice and
			// answered twice; and A and AAAA queries sharing one id.
			name: "duplicates and shared id",
			lines: []string{
				`{"timestamp":"2020-01-01T00:00:00.000000+0000",` + hdr + `,"dns":{"type":"query","id":20,"rrname":"d.example","rrtype":"A","tx_id":0}}`,
				`{"timestamp":"2020-01-01T00:00:00.000001+0000",` + hdr + `,"dns":{"type":"query","id":20,"rrname":"d.example","rrtype":"A","tx_id":1}}`,
				`{"timestamp":"2020-01-01T00:00:00.000002+0000",` + hdr + `,"dns":{"type":"query","id":20,"rrname":"d.example","rrtype":"AAAA","tx_id":2}}`,
				`{"timestamp":"2020-01-01T00:00:00.100000+0000",` + rhdr + `,"dns":{"version":2,"type":"answer","id":20,"rrname":"d.example","rrtype":"AAAA","rcode":"NOERROR","answers":[{"rrname":"d.example","rrtype":"AAAA","ttl":1,"rdata":"2001:db8::d"}]}}`,
				`{"timestamp":"2020-01-01T00:00:00.100001+0000",` + rhdr + `,"dns":{"version":2,"type":"answer","id":20,"rrname":"D.example","rrtype":"A","rcode":"NOERROR","answers":[{"rrname":"d.example","rrtype":"A","ttl":1,"rdata":"192.0.2.13"}]}}`,
				`{"timestamp":"2020-01-01T00:00:00.100002+0000",` + rhdr + `,"dns":{"version":2,"type":"answer","id":20,"rrname":"d.example","rrtype":"A","rcode":"NOERROR","grouped":{"A":["192.0.2.13"]}}}`,
			},
			want: []DNS{
				{Query: "d.example", QType: "AAAA", RCode: "NOERROR", Answers: []string{"2001:db8::d"}, TTLs: []time.Duration{time.Second}},
				{Query: "d.example", QType: "A", RCode: "NOERROR", Answers: []string{"192.0.2.13"}, TTLs: []time.Duration{time.Second}},
				{Query: "d.example", QType: "A", RCode: "NOERROR", Answers: []string{"192.0.2.13"}, TTLs: []time.Duration{0}},
			},
		},
		{
			name: "query without answer and answer without query",
			lines: []string{
				`{"timestamp":"2020-01-01T00:00:00.000000+0000",` + hdr + `,"dns":{"type":"query","id":11,"rrname":"lost.example","rrtype":"A"}}`,
				`{"timestamp":"2020-01-01T00:00:00.000000+0000",` + rhdr + `,"dns":{"version":3,"type":"response","id":12,"rcode":"SERVFAIL","queries":[{"rrname":"orphan.example","rrtype":"MX"}]}}`,
			},
			want: []DNS{
				{Query: "orphan.example", QType: "MX", RCode: "SERVFAIL"},
				{Query: "lost.example", QType: "A"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var sink inputSink
			st, err := ReadEVE(context.Background(), strings.NewReader(strings.Join(tt.lines, "\n")), "dns.json", &sink)
			if err != nil {
				t.Fatal(err)
			}
			if st.Skipped != 0 {
				t.Fatalf("skips: %+v", st.Skips)
			}
			for i := range sink.dns {
				d := &sink.dns[i]
				// Every record is oriented client → server.
				if d.Src.String() != "10.0.0.2" || d.DstPort != 53 || d.UID != "77" || d.Proto != "udp" {
					t.Errorf("record %d header %v:%d → %v:%d uid %q", i, d.Src, d.SrcPort, d.Dst, d.DstPort, d.UID)
				}
			}
			type view struct {
				Query, QType, RCode string
				Answers             []string
				TTLs                []time.Duration
			}
			project := func(ds []DNS) []view {
				var out []view
				for _, d := range ds {
					out = append(out, view{d.Query, d.QType, d.RCode, d.Answers, d.TTLs})
				}
				return out
			}
			if diff := cmp.Diff(project(tt.want), project(sink.dns), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestReadEVEBadLines(t *testing.T) {
	good := `{"timestamp":"2021-06-06T15:59:46.457984+0200","flow_id":1,"event_type":"alert","src_ip":"192.0.2.9","src_port":1,"dest_ip":"10.0.0.1","dest_port":445,"proto":"TCP","alert":{"action":"allowed","signature_id":5,"signature":"x","category":"c","severity":2}}`
	in := strings.Join([]string{
		good,
		`{"timestamp":`,          // 2: truncated
		`not json`,               // 3
		`{"event_type":"alert"}`, // 4: no timestamp
		`{"timestamp":"2021-06-06T15:59:46.457984+0200"}`,                                                       // 5: no event_type
		`{"timestamp":"2021-06-06T15:59:46.457984+0200","event_type":"stats","stats":{}}`,                       // 6: counted only
		`{"timestamp":"2021-06-06T15:59:46Z","event_type":"flow"}`,                                              // 7: no flow object
		`{"timestamp":"x","event_type":"flow"}`,                                                                 // 8: bad time
		`{"timestamp":"2021-06-06T15:59:46Z","event_type":"x","pad":"` + strings.Repeat("a", MaxEVELine) + `"}`, // 9: too long
		``,
		good, // 10 (blank lines are not counted)
	}, "\n")
	var sink inputSink
	var er EVEReader
	st, err := er.Read(context.Background(), strings.NewReader(in), "bad.json", &sink)
	if err != nil {
		t.Fatal(err)
	}
	if len(sink.alerts) != 2 || sink.alerts[1].Severity != 2 || sink.alerts[0].SignatureID != 5 {
		t.Errorf("alerts = %+v", sink.alerts)
	}
	var gotLines []int64
	for _, s := range st.Skips {
		gotLines = append(gotLines, s.Line)
		if s.Source != "bad.json" || s.Reason == "" {
			t.Errorf("skip %+v", s)
		}
	}
	if diff := cmp.Diff([]int64{2, 3, 4, 5, 7, 8, 9}, gotLines); diff != "" {
		t.Errorf("skipped lines (-want +got):\n%s", diff)
	}
	if st.Lines != 10 || er.EventTypes["stats"] != 1 {
		t.Errorf("Lines = %d, types %v", st.Lines, er.EventTypes)
	}
}

func TestReadEVECancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := ReadEVE(ctx, strings.NewReader("{}\n"), "x", Nop{})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
}

type eveFailingReader struct{}

func (eveFailingReader) Read([]byte) (int, error) { return 0, errors.New("disk gone") }

func TestReadEVEReadError(t *testing.T) {
	_, err := ReadEVE(context.Background(), eveFailingReader{}, "x", Nop{})
	if err == nil || !strings.Contains(err.Error(), "disk gone") {
		t.Fatalf("err = %v", err)
	}
}

// TestFlowTCPState checks the flag → conn_state table against the state
// definitions in Zeek's conn.log documentation.
func TestFlowTCPState(t *testing.T) {
	tests := []struct {
		ts, tc   uint8
		respSent bool
		want     string
	}{
		{flowSYN, 0, false, "S0"},
		{flowSYN, flowRST | flowACK, true, "REJ"},
		{flowSYN | flowRST, 0, false, "RSTOS0"},
		{flowSYN | flowFIN, 0, false, "SH"},
		{flowSYN | flowACK | flowFIN, flowSYN | flowACK | flowFIN, true, "SF"},
		{flowSYN | flowACK | flowRST, flowSYN | flowACK, true, "RSTO"},
		{flowSYN | flowACK, flowSYN | flowACK | flowRST, true, "RSTR"},
		{flowSYN | flowACK, flowSYN | flowACK, true, "S1"},
		{flowSYN | flowACK | flowFIN, flowSYN | flowACK, true, "S2"},
		{flowSYN | flowACK, flowSYN | flowACK | flowFIN, true, "S3"},
		{0, flowSYN | flowACK, true, "SHR"},
		{flowACK, flowACK, true, "OTH"},
	}
	for _, tt := range tests {
		if got := flowTCPState(tt.ts, tt.tc, tt.respSent); got != tt.want {
			t.Errorf("flowTCPState(%02x, %02x) = %s, want %s", tt.ts, tt.tc, got, tt.want)
		}
	}
}

func FuzzEVE(f *testing.F) {
	if raw, err := os.ReadFile(eveSample); err == nil {
		for i, l := range bytes.Split(raw, []byte("\n")) {
			if i%500 == 0 {
				f.Add(l)
			}
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var sink inputSink
		st, err := ReadEVE(context.Background(), bytes.NewReader(data), "fuzz", &sink)
		if err != nil {
			t.Fatal(err)
		}
		if st.Records != int64(sink.total()) {
			t.Fatalf("Records %d != handled %d", st.Records, sink.total())
		}
		if st.Skipped > st.Lines {
			t.Fatalf("skipped %d > lines %d", st.Skipped, st.Lines)
		}
	})
}

func BenchmarkReadEVE(b *testing.B) {
	raw, err := os.ReadFile(eveSample)
	if err != nil {
		b.Skip(err)
	}
	b.SetBytes(int64(len(raw)))
	var lines int64
	for b.Loop() {
		st, err := ReadEVE(context.Background(), bytes.NewReader(raw), "x", Nop{})
		if err != nil {
			b.Fatal(err)
		}
		lines += st.Lines
	}
	b.ReportMetric(float64(lines)/b.Elapsed().Seconds(), "lines/s")
}

func TestReadEVEICMP(t *testing.T) {
	line := `{"timestamp":"2021-06-06T15:59:46.457984+0200","flow_id":9,"event_type":"flow","src_ip":"10.0.0.2","dest_ip":"10.0.0.1","proto":"ICMP","icmp_type":8,"icmp_code":0,"response_icmp_type":0,"response_icmp_code":0,"flow":{"pkts_toserver":1,"pkts_toclient":1,"bytes_toserver":98,"bytes_toclient":98,"start":"2021-06-06T15:59:46.457984+0200","end":"2021-06-06T15:59:46.458984+0200","state":"established"}}`
	var sink inputSink
	if _, err := ReadEVE(context.Background(), strings.NewReader(line), "icmp.json", &sink); err != nil {
		t.Fatal(err)
	}
	if len(sink.conns) != 1 {
		t.Fatalf("conns %+v", sink.conns)
	}
	c := sink.conns[0]
	if c.Proto != "icmp" || c.SrcPort != 8 || c.DstPort != 0 || c.State != "SF" || c.Duration != time.Millisecond {
		t.Errorf("conn %+v", c)
	}
}
