package enrich

import (
	"errors"
	"strings"
	"testing"
	"time"
)

const kevSmall = `{
  "title": "CISA Catalog of Known Exploited Vulnerabilities",
  "catalogVersion": "2025.01.02",
  "dateReleased": "2025-01-02T15:00:00.000Z",
  "count": 2,
  "vulnerabilities": [
    {"cveID": "CVE-2021-44228", "vendorProject": "Apache", "product": "Log4j2",
     "vulnerabilityName": "Apache Log4j2 Remote Code Execution Vulnerability",
     "dateAdded": "2021-12-10", "shortDescription": "JNDI lookups.",
     "requiredAction": "Apply updates per vendor instructions.", "dueDate": "2021-12-24",
     "knownRansomwareCampaignUse": "Known", "notes": "", "cwes": ["CWE-20", "CWE-917"]},
    {"cveID": "CVE-2020-0001", "vendorProject": "Example", "product": "Widget",
     "vulnerabilityName": "Widget Bug", "dateAdded": "2022-03-01", "shortDescription": "x",
     "requiredAction": "Patch.", "dueDate": "2022-03-15", "knownRansomwareCampaignUse": "Unknown"}
  ]
}`

func TestLoadKEV(t *testing.T) {
	k, err := LoadKEV(strings.NewReader(kevSmall), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if k.Len() != 2 || k.DeclaredCount != 2 || k.Version != "2025.01.02" {
		t.Fatalf("got len %d count %d version %q", k.Len(), k.DeclaredCount, k.Version)
	}
	e, ok := k.Lookup(" cve-2021-44228")
	if !ok {
		t.Fatal("CVE-2021-44228 not found")
	}
	want := KEVEntry{
		CVE: "CVE-2021-44228", Vendor: "Apache", Product: "Log4j2",
		Name:      "Apache Log4j2 Remote Code Execution Vulnerability",
		DateAdded: Date{time.Date(2021, 12, 10, 0, 0, 0, 0, time.UTC)}, DueDate: Date{time.Date(2021, 12, 24, 0, 0, 0, 0, time.UTC)},
		Ransomware: true, RequiredAction: "Apply updates per vendor instructions.",
	}
	if e.CVE != want.CVE || e.Vendor != want.Vendor || e.Product != want.Product || e.Name != want.Name ||
		!e.DateAdded.Equal(want.DateAdded.Time) || !e.DueDate.Equal(want.DueDate.Time) || e.Ransomware != want.Ransomware ||
		e.RequiredAction != want.RequiredAction || len(e.CWEs) != 2 {
		t.Fatalf("got %+v", e)
	}
	if e, _ := k.Lookup("CVE-2020-0001"); e.Ransomware {
		t.Fatal("Unknown ransomware use read as Known")
	}
	if _, ok := k.Lookup("CVE-1999-0001"); ok {
		t.Fatal("found an absent CVE")
	}
	var nilKEV *KEV
	if _, ok := nilKEV.Lookup("CVE-2021-44228"); ok || nilKEV.Len() != 0 {
		t.Fatal("nil KEV is not empty")
	}
}

func TestLoadKEVErrors(t *testing.T) {
	entry := `{"cveID": "CVE-2020-0001", "vendorProject": "v", "product": "p", "vulnerabilityName": "n",
	  "dateAdded": "2022-03-01", "shortDescription": "d", "requiredAction": "a", "dueDate": "2022-03-15"}`
	cat := func(entries ...string) string {
		return `{"catalogVersion":"1","dateReleased":"2025-01-02T15:00:00Z","count":1,"vulnerabilities":[` +
			strings.Join(entries, ",") + `]}`
	}
	tests := []struct {
		name, in, want string
		offset         int64 // checked when > 0
	}{
		{"not object", `[]`, "must be a JSON object", 0},
		{"empty", ``, "unexpected EOF", 0},
		{"syntax", `{"catalogVersion": "1", "count": 1,, }`, "invalid character", 35},
		{"truncated", cat(entry)[:60], "unexpected EOF", 0},
		{"trailing", cat(entry) + `{}`, "after catalogue", 0},
		{"missing top field", `{"catalogVersion":"1","dateReleased":"2025-01-02T15:00:00Z","vulnerabilities":[]}`, "missing required field count", 0},
		{"bad release date", strings.Replace(cat(entry), "2025-01-02T15:00:00Z", "yesterday", 1), "dateReleased", 0},
		{"count type", strings.Replace(cat(entry), `"count":1`, `"count":"1"`, 1), "count", 0},
		{"vulns not array", `{"vulnerabilities":{}}`, "must be an array", 0},
		{"missing cveID", cat(strings.Replace(entry, `"cveID": "CVE-2020-0001", `, "", 1)), "missing required field cveID", 0},
		{"missing dueDate", cat(entry, strings.Replace(strings.Replace(entry, `, "dueDate": "2022-03-15"`, "", 1), "0001", "0002", 1)), "vulnerabilities[1]: missing required field dueDate", 0},
		{"bad cve", cat(strings.Replace(entry, "CVE-2020-0001", "CVE-20-1", 1)), "is not CVE-YYYY-NNNN", 0},
		{"bad date", cat(strings.Replace(entry, "2022-03-01", "03/01/2022", 1)), "dateAdded", 0},
		{"bad cwe", cat(strings.Replace(entry, `"dueDate"`, `"cwes":["79"],"dueDate"`, 1)), "is not CWE-N", 0},
		{"field type", cat(strings.Replace(entry, `"product": "p"`, `"product": 7`, 1)), "cannot unmarshal", 0},
		{"duplicate", cat(entry, entry), "listed twice", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, err := LoadKEV(strings.NewReader(tt.in), Options{})
			if err == nil {
				t.Fatalf("no error, %d entries", k.Len())
			}
			if k != nil {
				t.Fatal("catalogue returned with an error")
			}
			if !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "kev: offset ") {
				t.Fatalf("error %q, want it to contain %q", err, tt.want)
			}
			var ke *KEVError
			if !errors.As(err, &ke) {
				t.Fatalf("error %T is not a *KEVError", err)
			}
			if tt.offset > 0 && ke.Offset != tt.offset {
				t.Fatalf("offset %d, want %d", ke.Offset, tt.offset)
			}
		})
	}
}

func TestLoadKEVEntryOffset(t *testing.T) {
	// The offset of a bad entry points at (just before) that entry.
	in := kevSmall[:strings.Index(kevSmall, `{"cveID": "CVE-2020-0001"`)] +
		`{"cveID": "CVE-2020-0001"}]}`
	_, err := LoadKEV(strings.NewReader(in), Options{})
	var ke *KEVError
	if !errors.As(err, &ke) {
		t.Fatalf("error %v", err)
	}
	at := int64(strings.Index(in, `{"cveID": "CVE-2020-0001"`))
	if ke.Offset > at || at-ke.Offset > 8 {
		t.Fatalf("offset %d, entry starts at %d (%v)", ke.Offset, at, err)
	}
}

func TestLoadKEVSizeLimit(t *testing.T) {
	if _, err := LoadKEV(strings.NewReader(kevSmall), Options{MaxBytes: int64(len(kevSmall))}); err != nil {
		t.Fatalf("input of exactly the limit: %v", err)
	}
	_, err := LoadKEV(strings.NewReader(kevSmall), Options{MaxBytes: int64(len(kevSmall)) - 1})
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("got %v, want ErrTooLarge", err)
	}
}
