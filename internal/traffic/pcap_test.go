package traffic

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// The captures in testdata/loopback.pcap and testdata/loopback.pcapng
// (the same packets) were recorded with tcpdump on the loopback interface
// while a small Go program served DNS (UDP and TCP port 53), HTTP and
// HTTPS on 127.0.0.77, and Go's resolver and HTTP client, curl and
// openssl s_client (TLS 1.2, with and without SNI) talked to it.
var pcapFiles = []string{"testdata/loopback.pcap", "testdata/loopback.pcapng"}

// pcapTsharkFields are the fields the oracle test reads, in one tshark run.
var pcapTsharkFields = []string{
	"tcp.stream", "udp.stream", "ip.src", "tcp.srcport",
	"tcp.flags.syn", "tcp.flags.ack", "tcp.flags.fin", "tcp.flags.reset",
	"tls.handshake.type", "tls.handshake.extensions_server_name", "tls.handshake.ja3",
	"tls.handshake.version", "tls.handshake.ciphersuite", "tls.handshake.extension.type",
	"tls.handshake.sig_hash_alg_len", "tls.handshake.sig_hash_alg",
	"tls.handshake.extensions.supported_version", "tls.handshake.extensions_alpn_str",
	"dns.flags.response", "dns.qry.name", "dns.qry.type", "dns.flags.rcode", "dns.a",
	"http.request.method", "http.host", "http.request.uri", "http.user_agent", "http.referer",
	"http.response.code",
	"x509sat.printableString", "x509sat.uTF8String", "x509af.utcTime",
}

// pcapTshark runs tshark once on file and returns every packet's fields by
// name. Without tshark the test is skipped, unless CI=true, where tshark
// is required.
func pcapTshark(t *testing.T, file string) []map[string]string {
	t.Helper()
	path, err := exec.LookPath("tshark")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("tshark is required under CI=true")
		}
		t.Skip("tshark not installed")
	}
	fields := slices.Clone(pcapTsharkFields)
	if pcapTsharkHasField(path, "tls.handshake.ja4") {
		fields = append(fields, "tls.handshake.ja4")
	}
	args := []string{"-n", "-r", file, "-T", "fields", "-E", "separator=/t", "-E", "aggregator=,", "-E", "occurrence=a"}
	for _, f := range fields {
		args = append(args, "-e", f)
	}
	out, err := exec.Command(path, args...).Output() // #nosec G204 -- fixed test arguments
	if err != nil {
		t.Fatalf("tshark %v: %v", args, err)
	}
	var rows []map[string]string
	for _, l := range strings.Split(strings.TrimRight(string(out), "\n"), "\n") {
		vals := strings.Split(l, "\t")
		row := map[string]string{}
		for i, f := range fields {
			if i < len(vals) {
				row[f] = vals[i]
			}
		}
		rows = append(rows, row)
	}
	return rows
}

// pcapTsharkHasField reports whether this tshark knows a display field
// (tls.handshake.ja4 arrived in Wireshark 4.2).
func pcapTsharkHasField(path, name string) bool {
	out, err := exec.Command(path, "-G", "fields").Output() // #nosec G204 -- fixed test arguments
	if err != nil {
		return false
	}
	return bytes.Contains(out, []byte("\t"+name+"\t"))
}

func pcapHexList(t *testing.T, s string) []uint16 {
	t.Helper()
	var out []uint16
	if s == "" {
		return nil
	}
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.ParseUint(f, 0, 16)
		if err != nil {
			t.Fatalf("tshark value %q: %v", f, err)
		}
		out = append(out, uint16(n))
	}
	return out
}

func readPcapFile(t *testing.T, file string) (*inputSink, Stats) {
	t.Helper()
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var sink inputSink
	st, err := ReadPcap(context.Background(), bytes.NewReader(raw), file, &sink)
	if err != nil {
		t.Fatal(err)
	}
	if st.Records != int64(sink.total()) {
		t.Errorf("Records = %d, handler got %d", st.Records, sink.total())
	}
	return &sink, st
}

// TestReadPcapng checks that the pcapng copy of the capture gives the
// same records as the pcap.
func TestReadPcapng(t *testing.T) {
	a, sta := readPcapFile(t, pcapFiles[0])
	b, stb := readPcapFile(t, pcapFiles[1])
	if sta.Lines != stb.Lines || sta.Records != stb.Records || sta.Skipped != 0 || stb.Skipped != 0 {
		t.Errorf("pcap %+v, pcapng %+v", sta, stb)
	}
	if diff := cmp.Diff(a, b, cmp.AllowUnexported(inputSink{}), nfConnCmp); diff != "" {
		t.Errorf("(-pcap +pcapng):\n%s", diff)
	}
}

func TestReadPcapAgainstTshark(t *testing.T) {
	file := pcapFiles[0]
	rows := pcapTshark(t, file)
	sink, st := readPcapFile(t, file)
	if st.Skipped != 0 {
		t.Errorf("skips: %+v", st.Skips)
	}
	if st.Lines != int64(len(rows)) {
		t.Errorf("read %d packets, tshark %d", st.Lines, len(rows))
	}
	hasType := func(r map[string]string, typ string) bool {
		return slices.Contains(strings.Split(r["tls.handshake.type"], ","), typ)
	}

	t.Run("tls", func(t *testing.T) {
		type want struct{ JA3, JA4, Version string }
		byStream := map[string]string{} // tcp.stream → SNI
		wants := map[string]want{}      // SNI → fingerprints
		for _, r := range rows {
			if !hasType(r, "1") {
				continue
			}
			// JA4 from the fields tshark dissected; the JA4 assembly
			// itself is checked against the specification in
			// TestJA4SpecExample.
			ch := &clientHello{
				ciphers:  pcapHexList(t, r["tls.handshake.ciphersuite"]),
				versions: pcapHexList(t, r["tls.handshake.extensions.supported_version"]),
				hasSNI:   r["tls.handshake.extensions_server_name"] != "",
			}
			ch.version = pcapHexList(t, r["tls.handshake.version"])[0]
			for _, e := range strings.Split(r["tls.handshake.extension.type"], ",") {
				n, _ := strconv.Atoi(e)
				ch.extensions = append(ch.extensions, uint16(n))
			}
			// tshark lists signature_algorithms (13) and
			// signature_algorithms_cert (50) in one field; the first
			// length belongs to whichever extension comes first.
			if l := r["tls.handshake.sig_hash_alg_len"]; l != "" {
				lens := strings.Split(l, ",")
				all := pcapHexList(t, r["tls.handshake.sig_hash_alg"])
				n, _ := strconv.Atoi(lens[0])
				sigs := all[:n/2]
				i13, i50 := slices.Index(ch.extensions, 13), slices.Index(ch.extensions, 50)
				if i50 >= 0 && i50 < i13 && len(lens) > 1 {
					m, _ := strconv.Atoi(lens[1])
					sigs = all[n/2 : n/2+m/2]
				}
				if i13 >= 0 {
					ch.sigAlgs = sigs
				}
			}
			if alpn := r["tls.handshake.extensions_alpn_str"]; alpn != "" {
				ch.alpn = []byte(strings.Split(alpn, ",")[0])
			}
			sni := r["tls.handshake.extensions_server_name"]
			w := want{JA3: r["tls.handshake.ja3"], JA4: ch.ja4('t')}
			if ja4, ok := r["tls.handshake.ja4"]; ok {
				w.JA4 = ja4
			}
			byStream[r["tcp.stream"]] = sni
			wants[sni] = w
		}
		for _, r := range rows {
			if !hasType(r, "2") {
				continue
			}
			v := strings.Split(r["tls.handshake.version"], ",")[0]
			if sv := r["tls.handshake.extensions.supported_version"]; sv != "" {
				v = sv
			}
			n, _ := strconv.ParseUint(v, 0, 16)
			sni := byStream[r["tcp.stream"]]
			w := wants[sni]
			w.Version = tlsVersionName(uint16(n))
			wants[sni] = w
		}
		// Certificates (TLS 1.2 only: TLS 1.3 encrypts them): tshark
		// lists the issuer's then the subject's name parts and the
		// validity times.
		certs := map[string][]string{} // SNI → [notBefore, notAfter, subject parts...]
		for _, r := range rows {
			if !hasType(r, "11") {
				continue
			}
			times := strings.Split(r["x509af.utcTime"], ",")
			var parts []string
			for _, f := range []string{"x509sat.printableString", "x509sat.uTF8String"} {
				if v := r[f]; v != "" {
					parts = append(parts, strings.Split(v, ",")...)
				}
			}
			if len(times) < 2 || len(parts)%2 != 0 {
				t.Fatalf("tshark certificate fields %v %v", times, parts)
			}
			certs[byStream[r["tcp.stream"]]] = append(times[:2], parts...)
		}
		if len(certs) < 2 {
			t.Fatalf("tshark saw %d certificates", len(certs))
		}
		for _, tl := range sink.tls {
			c, ok := certs[tl.ServerName]
			if !ok {
				if tl.Subject != "" {
					t.Errorf("%q: subject %q where tshark saw no certificate", tl.ServerName, tl.Subject)
				}
				continue
			}
			const layout = "2006-01-02 15:04:05 (UTC)"
			if nb, na := tl.NotBefore.UTC().Format(layout), tl.NotAfter.UTC().Format(layout); nb != c[0] || na != c[1] {
				t.Errorf("%q: validity %s – %s, tshark %s – %s", tl.ServerName, nb, na, c[0], c[1])
			}
			parts := c[2:]
			issuer, subject := parts[:len(parts)/2], parts[len(parts)/2:]
			for _, p := range subject {
				if !strings.Contains(tl.Subject, p) {
					t.Errorf("%q: subject %q lacks %q", tl.ServerName, tl.Subject, p)
				}
			}
			if self := slices.Equal(issuer, subject); tl.SelfSigned != self {
				t.Errorf("%q: self-signed %v, tshark names say %v", tl.ServerName, tl.SelfSigned, self)
			}
		}
		if len(wants) < 4 {
			t.Fatalf("tshark saw only %d client hellos", len(wants))
		}
		got := map[string]want{}
		for _, tl := range sink.tls {
			got[tl.ServerName] = want{JA3: tl.JA3, JA4: tl.JA4, Version: tl.Version}
			if tl.Version != "" && !tl.Established {
				t.Errorf("%q: not established", tl.ServerName)
			}
		}
		if diff := cmp.Diff(wants, got); diff != "" {
			t.Errorf("TLS by SNI (-tshark +ours):\n%s", diff)
		}
	})

	t.Run("dns", func(t *testing.T) {
		var wantQ, wantNX, wantA, gotQ, gotNX, gotA []string
		for _, r := range rows {
			switch r["dns.flags.response"] {
			case "0":
				wantQ = append(wantQ, r["dns.qry.name"]+"/"+r["dns.qry.type"])
			case "1":
				if r["dns.flags.rcode"] == "3" {
					wantNX = append(wantNX, r["dns.qry.name"])
				}
				if r["dns.a"] != "" {
					wantA = append(wantA, r["dns.qry.name"]+"="+r["dns.a"])
				}
			}
		}
		for _, d := range sink.dns {
			// Only the A, AAAA and TXT types occur in the capture.
			n := map[string]string{"A": "1", "AAAA": "28", "TXT": "16"}[d.QType]
			gotQ = append(gotQ, d.Query+"/"+n)
			if d.RCode == "NXDOMAIN" {
				gotNX = append(gotNX, d.Query)
			}
			if d.QType == "A" && len(d.Answers) > 0 {
				gotA = append(gotA, d.Query+"="+strings.Join(d.Answers, ","))
			}
		}
		for _, s := range [][]string{wantQ, wantNX, wantA, gotQ, gotNX, gotA} {
			slices.Sort(s)
		}
		if len(wantQ) == 0 || len(wantNX) == 0 || len(wantA) == 0 {
			t.Fatalf("capture lacks DNS: %v %v %v", wantQ, wantNX, wantA)
		}
		if diff := cmp.Diff(wantQ, gotQ); diff != "" {
			t.Errorf("DNS queries (-tshark +ours):\n%s", diff)
		}
		if diff := cmp.Diff(wantNX, gotNX); diff != "" {
			t.Errorf("NXDOMAIN (-tshark +ours):\n%s", diff)
		}
		if diff := cmp.Diff(wantA, gotA); diff != "" {
			t.Errorf("A answers (-tshark +ours):\n%s", diff)
		}
	})

	t.Run("http", func(t *testing.T) {
		var wantH, gotH, wantS, gotS []string
		for _, r := range rows {
			if m := r["http.request.method"]; m != "" {
				wantH = append(wantH, strings.Join([]string{m, r["http.host"], r["http.request.uri"], r["http.user_agent"], r["http.referer"]}, "|"))
			}
			if c := r["http.response.code"]; c != "" {
				wantS = append(wantS, c)
			}
		}
		for _, h := range sink.http {
			gotH = append(gotH, strings.Join([]string{h.Method, h.Host, h.URI, h.UserAgent, h.Referrer}, "|"))
			gotS = append(gotS, strconv.Itoa(h.Status))
		}
		for _, s := range [][]string{wantH, gotH, wantS, gotS} {
			slices.Sort(s)
		}
		if len(wantH) == 0 {
			t.Fatal("capture lacks HTTP")
		}
		if diff := cmp.Diff(wantH, gotH); diff != "" {
			t.Errorf("HTTP requests (-tshark +ours):\n%s", diff)
		}
		if diff := cmp.Diff(wantS, gotS); diff != "" {
			t.Errorf("HTTP status (-tshark +ours):\n%s", diff)
		}
	})

	t.Run("conns", func(t *testing.T) {
		// TCP states from the flags tshark dissects, per originator (the
		// side that sent the SYN); one Conn per TCP and UDP stream.
		type side struct{ fin, rst bool }
		flags := map[string]*[2]side{} // tcp.stream → [orig, resp]
		origOf := map[string]string{}
		udp := map[string]bool{}
		for _, r := range rows {
			if s := r["udp.stream"]; s != "" {
				udp[s] = true
			}
			st := r["tcp.stream"]
			if st == "" {
				continue
			}
			ep := r["ip.src"] + ":" + r["tcp.srcport"]
			if r["tcp.flags.syn"] == "1" && r["tcp.flags.ack"] == "0" {
				origOf[st] = ep
			}
			if flags[st] == nil {
				flags[st] = &[2]side{}
			}
			i := 0
			if origOf[st] != ep {
				i = 1
			}
			flags[st][i].fin = flags[st][i].fin || r["tcp.flags.fin"] == "1"
			flags[st][i].rst = flags[st][i].rst || r["tcp.flags.reset"] == "1"
		}
		wantState := map[string]string{}
		for st, f := range flags {
			switch {
			case f[0].rst:
				wantState[origOf[st]] = "RSTO"
			case f[1].rst:
				wantState[origOf[st]] = "RSTR"
			case f[0].fin && f[1].fin:
				wantState[origOf[st]] = "SF"
			}
		}
		count := map[string]int{}
		for _, c := range sink.conns {
			count[c.Proto]++
			if w, ok := wantState[c.Src.String()+":"+strconv.Itoa(int(c.SrcPort))]; c.Proto == "tcp" && (!ok || w != c.State) {
				t.Errorf("conn %v:%d → %v:%d state %s, want %s", c.Src, c.SrcPort, c.Dst, c.DstPort, c.State, w)
			}
		}
		if count["tcp"] != len(flags) || count["udp"] != len(udp) {
			t.Errorf("conns %v, tshark streams tcp %d udp %d", count, len(flags), len(udp))
		}
	})
}

// TestReadPcapBroken corrupts packets of the capture: they are skipped and
// counted, the rest still read.
func TestReadPcapBroken(t *testing.T) {
	raw, err := os.ReadFile("testdata/loopback.pcap")
	if err != nil {
		t.Fatal(err)
	}
	_, clean := readPcapFile(t, "testdata/loopback.pcap")

	// Break the IPv4 header length of the first three packets (pcap file
	// header 24 bytes, record header 16, Ethernet 14).
	bad := bytes.Clone(raw)
	off := 24
	for i := 0; i < 3; i++ {
		capLen := int(binary.LittleEndian.Uint32(bad[off+8:]))
		bad[off+16+14] = 0x41 // version 4, IHL 1 (4 bytes): invalid
		off += 16 + capLen
	}
	var sink inputSink
	st, err := ReadPcap(context.Background(), bytes.NewReader(bad), "bad.pcap", &sink)
	if err != nil {
		t.Fatal(err)
	}
	if st.Skipped != 3 || st.Lines != clean.Lines {
		t.Errorf("skipped %d of %d packets, want 3 of %d: %+v", st.Skipped, st.Lines, clean.Lines, st.Skips)
	}
	for i, s := range st.Skips {
		if s.Line != int64(i+1) {
			t.Errorf("skip %d at packet %d", i, s.Line)
		}
	}

	// A capture cut inside a packet.
	st, err = ReadPcap(context.Background(), bytes.NewReader(raw[:len(raw)-10]), "cut.pcap", &sink)
	if err != nil {
		t.Fatal(err)
	}
	if st.Skipped != 1 || !strings.Contains(st.Skips[0].Reason, "truncated") {
		t.Errorf("cut capture: %+v", st)
	}

	for _, in := range []string{"", "not a capture at all", "\xd4\xc3\xb2\xa1"} {
		if _, err := ReadPcap(context.Background(), strings.NewReader(in), "junk", Nop{}); err == nil {
			t.Errorf("%q: no error", in)
		}
	}
}

func TestReadPcapMaxFlows(t *testing.T) {
	raw, err := os.ReadFile("testdata/loopback.pcap")
	if err != nil {
		t.Fatal(err)
	}
	var all, one inputSink
	if _, err := ReadPcap(context.Background(), bytes.NewReader(raw), "x", &all); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadPcapOpts(context.Background(), bytes.NewReader(raw), "x", &one, PcapOptions{MaxFlows: 1}); err != nil {
		t.Fatal(err)
	}
	// Interleaved flows are cut into more, shorter conns; no packet is
	// lost.
	sum := func(s *inputSink) (n int64) {
		for _, c := range s.conns {
			n += c.OrigPkts + c.RespPkts
		}
		return n
	}
	if len(one.conns) <= len(all.conns) || sum(&one) != sum(&all) {
		t.Errorf("MaxFlows 1: %d conns / %d packets, default %d / %d", len(one.conns), sum(&one), len(all.conns), sum(&all))
	}
}

func TestReadPcapCancel(t *testing.T) {
	raw, err := os.ReadFile("testdata/loopback.pcap")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := ReadPcap(ctx, bytes.NewReader(raw), "x", Nop{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
}

func BenchmarkReadPcap(b *testing.B) {
	raw, err := os.ReadFile("testdata/loopback.pcap")
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(raw)))
	var pkts int64
	for b.Loop() {
		st, err := ReadPcap(context.Background(), bytes.NewReader(raw), "x", Nop{})
		if err != nil {
			b.Fatal(err)
		}
		pkts += st.Lines
	}
	b.ReportMetric(float64(pkts)/b.Elapsed().Seconds(), "packets/s")
}

func FuzzPcap(f *testing.F) {
	for _, file := range pcapFiles {
		if raw, err := os.ReadFile(file); err == nil {
			f.Add(raw[:min(len(raw), 4096)])
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var sink inputSink
		st, _ := ReadPcap(context.Background(), bytes.NewReader(data), "fuzz", &sink)
		if st.Records != int64(sink.total()) {
			t.Fatalf("Records %d != handled %d", st.Records, sink.total())
		}
	})
}
