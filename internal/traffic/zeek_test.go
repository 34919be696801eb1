package traffic

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const zeekCorpus = "../../../shared/corpus/traffic"

// recorder keeps what a reader hands over.
type recorder struct {
	conns []Conn
	dns   []DNS
	http  []HTTP
	tls   []TLS
	files []File
	alert []Alert
}

func (r *recorder) Conn(c *Conn)   { r.conns = append(r.conns, *c) }
func (r *recorder) DNS(d *DNS)     { r.dns = append(r.dns, *d) }
func (r *recorder) HTTP(h *HTTP)   { r.http = append(r.http, *h) }
func (r *recorder) TLS(t *TLS)     { r.tls = append(r.tls, *t) }
func (r *recorder) Alert(a *Alert) { r.alert = append(r.alert, *a) }
func (r *recorder) File(f *File)   { r.files = append(r.files, *f) }

func TestReadZeekDirRITA(t *testing.T) {
	var r recorder
	st, err := ReadZeekDir(context.Background(), filepath.Join(zeekCorpus, "rita-proxy"), &r)
	if err != nil {
		t.Fatal(err)
	}
	if st.Skipped != 0 {
		t.Errorf("skipped %d: %+v", st.Skipped, st.Skips)
	}
	// Counts from the logs' own data lines (lines not starting with '#').
	want := map[string]int{"conn": countData(t, "rita-proxy/conn.log"), "dns": countData(t, "rita-proxy/dns.log"),
		"http": countData(t, "rita-proxy/http.log"), "ssl": countData(t, "rita-proxy/ssl.log"), "files": countData(t, "rita-proxy/files.log")}
	got := map[string]int{"conn": len(r.conns), "dns": len(r.dns), "http": len(r.http), "ssl": len(r.tls), "files": len(r.files)}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: %d records, the log has %d data lines", k, got[k], v)
		}
	}
	c := r.conns[0]
	if c.Src != netip.MustParseAddr("10.136.0.18") || c.DstPort != 3128 || c.Service != "http,ssl" || c.OrigBytes != 1030 || c.State != "SF" {
		t.Errorf("first conn %+v", c)
	}
	h := r.http[0]
	if h.Host != "www.google.com" || h.Method != "CONNECT" || h.Status != 200 || h.UID != "CXHB1X22027MRWU6D" {
		t.Errorf("first http %+v", h)
	}
	if r.tls[0].ServerName != "www.google.com" || !r.tls[0].Established || r.tls[0].JA3 != "456523fc94726331a4d5a2e1d40b2cd7" {
		t.Errorf("first tls %+v", r.tls[0])
	}
}

func countData(t *testing.T, name string) int {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(zeekCorpus, name))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, l := range strings.Split(string(b), "\n") {
		if l != "" && !strings.HasPrefix(l, "#") {
			n++
		}
	}
	return n
}

func TestReadZeekLabelledAndJSON(t *testing.T) {
	var r recorder
	st, err := ReadZeekDir(context.Background(), filepath.Join(zeekCorpus, "slips/test18-malicious-ctu-sme-11-win/zeek-labeled"), &r)
	if err != nil {
		t.Fatal(err)
	}
	if st.Skipped != 0 {
		t.Errorf("skipped %+v", st.Skips)
	}
	labels := map[string]int{}
	for _, c := range r.conns {
		labels[c.Label]++
	}
	if labels["Malicious"] == 0 || labels["Benign"] == 0 || len(r.conns) != countData(t, "slips/test18-malicious-ctu-sme-11-win/zeek-labeled/conn.log.labeled") {
		t.Errorf("labels %v over %d conns", labels, len(r.conns))
	}
	if r.conns[0].DetailedLabel == "" {
		t.Error("no detailed label")
	}

	var j recorder
	st, err = ReadZeekDir(context.Background(), filepath.Join(zeekCorpus, "slips/test9-mixed-zeek-dir"), &j)
	if err != nil {
		t.Fatal(err)
	}
	if st.Skipped != 0 || len(j.conns) != countData(t, "slips/test9-mixed-zeek-dir/conn.log") {
		t.Errorf("JSON conn.log: %d conns, skipped %+v", len(j.conns), st.Skips)
	}
	if j.conns[1].Src != netip.MustParseAddr("10.0.2.15") || j.conns[1].DstPort != 80 || j.conns[1].OrigBytes != 97 {
		t.Errorf("JSON conn %+v", j.conns[1])
	}
}

func TestReadZeekHeadersEscapesAndBadLines(t *testing.T) {
	log := "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\tdns\n" +
		"#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tquery\tqtype_name\trcode_name\tanswers\tTTLs\n" +
		"#types\ttime\tstring\taddr\tport\taddr\tport\tenum\tstring\tstring\tstring\tvector[string]\tvector[interval]\n" +
		"1.5\tC1\t10.0.0.1\t5000\t10.0.0.53\t53\tudp\ta\\x09b.example.org\tTXT\tNOERROR\t1.2.3.4,5.6.7.8\t60.0,30.0\n" +
		"2.5\tC2\tnot-an-ip\t5000\t10.0.0.53\t53\tudp\tx.org\tA\t-\t-\t-\n" +
		"3.5\tC3\t10.0.0.1\n" +
		"#close\t2024\n" +
		// A second header block with another layout.
		"#separator \\x09\n#path\tconn\n#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tconn_state\n" +
		"#types\ttime\tstring\taddr\tport\taddr\tport\tenum\tstring\n" +
		"4.0\tC4\t10.0.0.2\t1\t10.0.0.3\t22\ttcp\tS0\n"
	var r recorder
	st, err := ReadZeek(context.Background(), strings.NewReader(log), "x.log", &r)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.dns) != 1 || r.dns[0].Query != "a\tb.example.org" || len(r.dns[0].Answers) != 2 || r.dns[0].TTLs[1].Seconds() != 30 {
		t.Errorf("dns %+v", r.dns)
	}
	if len(r.conns) != 1 || r.conns[0].State != "S0" || r.conns[0].DstPort != 22 {
		t.Errorf("conns %+v", r.conns)
	}
	if st.Skipped != 2 || st.Skips[0].Line != 9 || st.Skips[1].Line != 10 {
		t.Errorf("skips %+v", st.Skips)
	}
}

func TestReadZeekGzipAndLongLine(t *testing.T) {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, _ = zw.Write([]byte(`{"ts":1.0,"uid":"C1","id.orig_h":"10.0.0.1","id.orig_p":1,"id.resp_h":"10.0.0.2","id.resp_p":80,"method":"GET","host":"h.example","uri":"/` + strings.Repeat("a", MaxZeekLine) + `"}` + "\n" +
		`{"ts":"2024-01-02T03:04:05.5Z","uid":"C2","id.orig_h":"10.0.0.1","id.orig_p":1,"id.resp_h":"10.0.0.2","id.resp_p":80,"method":"GET","host":"h.example","uri":"/x","status_code":200}` + "\n"))
	_ = zw.Close()
	var r recorder
	st, err := ReadZeek(context.Background(), &buf, "http.log.gz", &r)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.http) != 1 || r.http[0].Status != 200 || r.http[0].TS.Year() != 2024 {
		t.Errorf("http %+v", r.http)
	}
	if st.Skipped != 1 || st.Skips[0].Line != 1 || !strings.Contains(st.Skips[0].Reason, "longer than") {
		t.Errorf("skips %+v", st.Skips)
	}
}

func FuzzZeek(f *testing.F) {
	f.Add([]byte("#separator \\x09\n#path\tconn\n#fields\tts\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tservice\n#types\ttime\taddr\tport\taddr\tport\tenum\tset[string]\n1.0\t10.0.0.1\t1\t10.0.0.2\t80\ttcp\thttp,ssl\n"))
	f.Add([]byte(`{"ts":1.0,"id.orig_h":"10.0.0.1","id.orig_p":1,"id.resp_h":"10.0.0.2","id.resp_p":53,"query":"a.b","answers":["1.2.3.4"],"TTLs":[1.0]}` + "\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		var r recorder
		st, err := ReadZeek(context.Background(), bytes.NewReader(data), "fuzz.log", &r)
		if err != nil {
			t.Fatal(err)
		}
		if st.Records != int64(len(r.conns)+len(r.dns)+len(r.http)+len(r.tls)+len(r.files)+len(r.alert)) {
			t.Fatalf("records %d do not match handler calls", st.Records)
		}
	})
}

// FuzzZeekAddr: the reader's address parser agrees with netip.ParseAddr.
func FuzzZeekAddr(f *testing.F) {
	for _, s := range []string{"10.0.0.1", "255.255.255.255", "0.0.0.0", "01.2.3.4", "1.2.3", "1.2.3.4.5", "256.1.1.1",
		"1..2.3", "::1", "fe80::1%eth0", "::ffff:1.2.3.4", "1.2.3.4 ", "", "-"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		got, gerr := parseAddr(b)
		want, werr := netip.ParseAddr(string(b))
		if (gerr == nil) != (werr == nil) || got != want {
			t.Fatalf("parseAddr(%q) = %v, %v; netip says %v, %v", b, got, gerr, want, werr)
		}
	})
}

// TestZeekRecordsOutliveTheLine: records a handler keeps are not changed
// by the lines read after them, escaped fields are decoded, and
// low-cardinality fields are shared between records.
func TestZeekRecordsOutliveTheLine(t *testing.T) {
	log := "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\tconn\n" +
		"#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tservice\tconn_state\tlabel\n" +
		"#types\ttime\tstring\taddr\tport\taddr\tport\tenum\tstring\tstring\tstring\n" +
		"1.5\tCa\t10.0.0.1\t1\t10.0.0.2\t80\tTCP\thttp\\x2cssl\tSF\tBenign\n" +
		"2.5\tCb\t2001:db8::1\t2\t10.0.0.3\t53\tudp\t(empty)\tS0\tMalicious\n" +
		"3.5\tCc\t10.0.0.1\t3\t10.0.0.2\t80\tTCP\thttp\\x2cssl\tSF\tBenign\n"
	var r recorder
	st, err := ReadZeek(context.Background(), strings.NewReader(log), "conn.log", &r)
	if err != nil || st.Records != 3 || st.Skipped != 0 {
		t.Fatalf("%+v %v", st, err)
	}
	c := r.conns
	if c[0].UID != "Ca" || c[0].Proto != "tcp" || c[0].Service != "http,ssl" || c[0].State != "SF" || c[0].Label != "Benign" ||
		c[0].TS.UnixMilli() != 1500 || c[0].Src != netip.MustParseAddr("10.0.0.1") {
		t.Errorf("first conn %+v", c[0])
	}
	if c[1].UID != "Cb" || c[1].Proto != "udp" || c[1].Service != "" || c[1].Src != netip.MustParseAddr("2001:db8::1") || c[1].Label != "Malicious" {
		t.Errorf("second conn %+v", c[1])
	}
	if c[2].UID != "Cc" || c[2].Service != "http,ssl" {
		t.Errorf("third conn %+v", c[2])
	}
}

// BenchmarkReadZeekConn: reading conn.log lines into a handler that keeps
// nothing; allocations per line are the reader's own.
func BenchmarkReadZeekConn(b *testing.B) {
	var buf bytes.Buffer
	buf.WriteString("#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\tconn\n" +
		"#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tservice\tduration\torig_bytes\tresp_bytes\tconn_state\tlocal_orig\tlocal_resp\tmissed_bytes\thistory\torig_pkts\torig_ip_bytes\tresp_pkts\tresp_ip_bytes\ttunnel_parents\n" +
		"#types\ttime\tstring\taddr\tport\taddr\tport\tenum\tstring\tinterval\tcount\tcount\tstring\tbool\tbool\tcount\tstring\tcount\tcount\tcount\tcount\tset[string]\n")
	const lines = 10_000
	for i := range lines {
		fmt.Fprintf(&buf, "%d.%06d\tC%d\t10.0.%d.%d\t%d\t198.51.%d.%d\t443\ttcp\tssl\t1.250000\t512\t4096\tSF\tT\tF\t0\tShADadFf\t5\t700\t5\t1300\t-\n",
			1700000000+i, i, i, i>>8&255, i&255, 1024+i%60000, i>>4&255, i&255)
	}
	data := buf.Bytes()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		st, err := ReadZeek(context.Background(), bytes.NewReader(data), "conn.log", Nop{})
		if err != nil || st.Records != lines {
			b.Fatal(st, err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*lines), "ns/line")
}
