package intel

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func indicatorSet(f *Feed) map[string]Indicator {
	m := map[string]Indicator{}
	for _, in := range f.Indicators {
		m[string(in.Type)+" "+in.Value] = in
	}
	return m
}

func TestMISPFeedDir(t *testing.T) {
	feed, err := NewRegistry().LoadPath(context.Background(), "testdata/misp-feed", "", ParseOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got := indicatorSet(feed)
	want := map[string]TLP{
		"domain invoice-portal.example":                                           TLPGreen,
		"url http://invoice-portal.example/login.php":                             TLPGreen,
		"email billing@invoice-portal.example":                                    TLPGreen,
		"filename invoice.pdf.exe":                                                TLPGreen,
		"sha256 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08": TLPGreen,
		"md5 d41d8cd98f00b204e9800998ecf8427e":                                    TLPRed,
		"filename dropper.dll":                                                    TLPGreen,
		"ipv4 203.0.113.77":                                                       TLPAmber,
		"ipv6 2001:db8::bad":                                                      TLPAmber,
		"domain rat-c2.example":                                                   TLPAmber,
		"cidr 203.0.113.0/24":                                                     TLPAmber,
	}
	for k, tlp := range want {
		in, ok := got[k]
		if !ok {
			t.Errorf("missing %s", k)
			continue
		}
		if in.TLP != tlp {
			t.Errorf("%s: TLP %q, want %q", k, in.TLP, tlp)
		}
		if in.Source != "misp-feed" || len(in.Refs) == 0 || !strings.HasPrefix(in.Refs[0], "misp-event:") {
			t.Errorf("%s: source %q refs %v", k, in.Source, in.Refs)
		}
	}
	if len(got) != len(want) {
		t.Errorf("got %d indicators, want %d: %v", len(got), len(want), got)
	}
	if _, ok := got["ipv4 198.51.100.23"]; ok {
		t.Error("to_ids=false attribute became an indicator")
	}
	if _, ok := got["sha1 a94a8fe5ccb19ba61c4c0873d391e987982fbbd3"]; ok {
		t.Error("deleted attribute became an indicator")
	}
	reasons := ""
	for _, r := range feed.Rejected {
		reasons += r.Where + ": " + r.Reason + "\n"
	}
	for _, w := range []string{"not-an-ip", "00000000-0000-4000-8000-000000000000", "hashes.csv line 3"} {
		if !strings.Contains(reasons, w) {
			t.Errorf("no rejection mentioning %q in:\n%s", w, reasons)
		}
	}
	if feed.Counts["events"] != 2 || feed.Counts["hashes.csv"] != 2 || feed.Counts["not-to-ids"] != 2 {
		t.Errorf("counts %v", feed.Counts)
	}
}

func TestMISPEventFile(t *testing.T) {
	feed, err := NewRegistry().LoadPath(context.Background(), "testdata/misp-event.json", "", ParseOptions{Source: "cert"})
	if err != nil {
		t.Fatal(err)
	}
	if feed.Format != "misp-event" || len(feed.Indicators) != 4 {
		t.Fatalf("format %s, %d indicators: %+v", feed.Format, len(feed.Indicators), feed.Indicators)
	}
}

func TestCSVFeed(t *testing.T) {
	feed, err := NewRegistry().LoadPath(context.Background(), "testdata/feed.csv", "", ParseOptions{CSV: CSVMapping{Header: true}, TLP: TLPClear})
	if err != nil {
		t.Fatal(err)
	}
	got := indicatorSet(feed)
	for _, k := range []string{"ipv4 192.0.2.66", "cidr 198.51.100.0/24", "domain baddomain.example", "url http://evil.example/a~b", "md5 44d88612fea8a8f36de82e1f37ade8df"} {
		if in, ok := got[k]; !ok || in.TLP != TLPClear {
			t.Errorf("missing %s (%v)", k, got)
		}
	}
	if len(feed.Rejected) != 1 || feed.Rejected[0].Where != "line 8" {
		t.Errorf("rejected %+v, want line 8 only", feed.Rejected)
	}
	// fixed type and another column
	feed, err = csvParser{}.Parse(context.Background(), strings.NewReader("x;evil.example\ny;192.0.2.1\n"), ParseOptions{CSV: CSVMapping{Column: 1, Delimiter: ';', Type: TypeDomain}})
	if err != nil {
		t.Fatal(err)
	}
	if len(feed.Indicators) != 1 || len(feed.Rejected) != 1 || feed.Rejected[0].Where != "line 2" {
		t.Errorf("fixed type: %+v %+v", feed.Indicators, feed.Rejected)
	}
}

func TestSTIXRejectsObjectsIndividually(t *testing.T) {
	schemas := loadSchemas(t)
	bundle := `{"type":"bundle","id":"bundle--6c0e7c6a-0f38-4f8b-9ad0-0f4c5b1b0c11","objects":[
 {"type":"indicator","spec_version":"2.1","id":"indicator--0a7c3bd8-7b55-4a0c-b2d5-1d4b0e8e1a01","created":"2026-01-01T00:00:00.000Z","modified":"2026-01-01T00:00:00.000Z","pattern":"[ipv4-addr:value = '192.0.2.9']","pattern_type":"stix","valid_from":"2026-01-01T00:00:00Z","object_marking_refs":["marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da"],"confidence":70},
 {"type":"indicator","spec_version":"2.1","id":"indicator--0a7c3bd8-7b55-4a0c-b2d5-1d4b0e8e1a02","created":"2026-01-01T00:00:00.000Z","modified":"2026-01-01T00:00:00.000Z","pattern":"[ipv4-addr:value = ","pattern_type":"stix","valid_from":"2026-01-01T00:00:00Z"},
 {"type":"indicator","spec_version":"2.1","id":"indicator--0a7c3bd8-7b55-4a0c-b2d5-1d4b0e8e1a03","created":"2026-01-01T00:00:00.000Z","modified":"2026-01-01T00:00:00.000Z","pattern":"[file:name = 'a']","pattern_type":"stix"},
 {"type":"indicator","spec_version":"2.1","id":"indicator--0a7c3bd8-7b55-4a0c-b2d5-1d4b0e8e1a04","created":"2026-01-01T00:00:00.000Z","modified":"2026-01-01T00:00:00.000Z","pattern":"[file:name = 'a']","pattern_type":"stix","valid_from":"2026-01-01T00:00:00Z","confidence":300},
 {"type":"indicator","spec_version":"2.1","id":"indicator--0a7c3bd8-7b55-4a0c-b2d5-1d4b0e8e1a05","created":"2026-01-01T00:00:00.000Z","modified":"2026-01-01T00:00:00.000Z","pattern":"alert tcp any any","pattern_type":"snort","valid_from":"2026-01-01T00:00:00Z"},
 {"type":"indicator","spec_version":"2.1","id":"indicator--0a7c3bd8-7b55-4a0c-b2d5-1d4b0e8e1a06","created":"2026-01-01","modified":"2026-01-01T00:00:00.000Z","pattern":"[file:name = 'a']","pattern_type":"stix","valid_from":"2026-01-01T00:00:00Z"},
 {"type":"indicator","spec_version":"2.1","id":"indicator--0a7c3bd8-7b55-4a0c-b2d5-1d4b0e8e1a07","created":"2026-01-01T00:00:00.000Z","modified":"2026-01-01T00:00:00.000Z","pattern":"[file:name = 'a'] FOLLOWEDBY [file:name = 'b']","pattern_type":"stix","valid_from":"2026-01-01T00:00:00Z"},
 {"type":"malware","spec_version":"2.1","id":"tool--0a7c3bd8-7b55-4a0c-b2d5-1d4b0e8e1a08","created":"2026-01-01T00:00:00.000Z","modified":"2026-01-01T00:00:00.000Z","name":"x","is_family":false},
 {"type":"malware","spec_version":"2.1","id":"malware--0a7c3bd8-7b55-4a0c-b2d5-1d4b0e8e1a09","created":"2026-01-01T00:00:00.000Z","modified":"2026-01-01T00:00:00.000Z","name":"x"},
 "not an object",
 {"type":"marking-definition","spec_version":"2.1","id":"marking-definition--0a7c3bd8-7b55-4a0c-b2d5-1d4b0e8e1a10","created":"2026-01-01T00:00:00.000Z","definition_type":"tlp","definition":{"tlp":"amber"}},
 {"type":"indicator","spec_version":"2.1","id":"indicator--0a7c3bd8-7b55-4a0c-b2d5-1d4b0e8e1a11","created":"2026-01-01T00:00:00.000Z","modified":"2026-01-01T00:00:00.000Z","pattern":"[domain-name:value = 'amber.example']","pattern_type":"stix","valid_from":"2026-01-01T00:00:00Z","object_marking_refs":["marking-definition--0a7c3bd8-7b55-4a0c-b2d5-1d4b0e8e1a10"]}
]}`
	feed, err := stixParser{}.Parse(context.Background(), strings.NewReader(bundle), ParseOptions{Schemas: schemas})
	if err != nil {
		t.Fatal(err)
	}
	got := indicatorSet(feed)
	if in, ok := got["ipv4 192.0.2.9"]; !ok || in.TLP != TLPGreen || in.Confidence != 70 {
		t.Errorf("good indicator: %+v", got)
	}
	if len(feed.Indicators) != 2 {
		t.Errorf("%d indicators, want 2", len(feed.Indicators))
	}
	// objects[8] lacks is_family and objects[10] is a TLP marking with a
	// non-standard id: both invalid under the 2.1 schemas.
	wantRejected := []string{"objects[1]", "objects[2]", "objects[3]", "objects[4]", "objects[5]", "objects[6]", "objects[7]", "objects[8]", "objects[9]", "objects[10]"}
	var where []string
	for _, r := range feed.Rejected {
		where = append(where, r.Where)
		if r.Reason == "" {
			t.Errorf("%s: no reason", r.Where)
		}
		t.Logf("%s %s: %s", r.Where, r.ID, r.Reason)
	}
	slices.Sort(where)
	slices.Sort(wantRejected)
	if !slices.Equal(where, wantRejected) {
		t.Errorf("rejected %v, want %v", where, wantRejected)
	}
	// Without schemas the in-bundle TLP marking applies.
	feed, err = stixParser{}.Parse(context.Background(), strings.NewReader(bundle), ParseOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if in, ok := indicatorSet(feed)["domain amber.example"]; !ok || in.TLP != TLPAmber {
		t.Errorf("bundle TLP marking not applied: %+v", feed.Indicators)
	}
	if _, err := (stixParser{}).Parse(context.Background(), strings.NewReader("{"), ParseOptions{}); err == nil {
		t.Error("broken JSON accepted")
	}
	if _, err := (stixParser{}).Parse(context.Background(), strings.NewReader(bundle), ParseOptions{MaxBytes: 100}); !errors.Is(err, ErrTooLarge) {
		t.Errorf("size bound: %v", err)
	}
}

func TestRegistryDetect(t *testing.T) {
	r := NewRegistry()
	requireSTIXCorpus(t)
	cases := map[string]string{
		filepath.Join(stixDir, "examples", "threat-reports", "apt1.json"): "stix",
		"testdata/misp-event.json":                                        "misp-event",
		"testdata/feed.csv":                                               "csv",
	}
	for path, want := range cases {
		f, err := os.Open(path) // #nosec G304 -- test fixtures
		if err != nil {
			t.Fatal(err)
		}
		head := make([]byte, 4096)
		n, _ := f.Read(head)
		_ = f.Close()
		if got := r.Detect(head[:n]).Format(); got != want {
			t.Errorf("%s: detected %s, want %s", path, got, want)
		}
	}
	if _, err := r.LoadPath(context.Background(), "testdata/feed.csv", "nope", ParseOptions{}); err == nil {
		t.Error("unknown format accepted")
	}
}
