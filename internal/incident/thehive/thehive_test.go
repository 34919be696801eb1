package thehive

import (
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func parseFile(t *testing.T, name string) []Case {
	t.Helper()
	f, err := os.Open("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cases, err := Parse(f, Limits{})
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return cases
}

// TestTheHive4Case checks the TheHive 4 sample against the meaning of each
// field in TheHive 4's API: severity 3 is high, TLP 3 is red (TLP 1.0),
// PAP 2 amber, Resolved+TruePositive is a closed true positive, and
// artifacts map to Vigil observable types.
func TestTheHive4Case(t *testing.T) {
	cases := parseFile(t, "thehive4-case.json")
	if len(cases) != 1 {
		t.Fatalf("%d cases", len(cases))
	}
	c := cases[0]
	if c.Version != Version4 || c.Number != 1234 || c.ID != "AXq9b2c3d4e5f6a7b8c9" {
		t.Errorf("version %s number %d id %s", c.Version, c.Number, c.ID)
	}
	if c.Severity != 3 || c.SeverityName != "high" || c.TLPName != "red" || c.PAPName != "amber" {
		t.Errorf("severity %d %s, tlp %s, pap %s", c.Severity, c.SeverityName, c.TLPName, c.PAPName)
	}
	if c.Status != "closed" || c.Resolution != "true_positive" || c.RawStatus != "Resolved/TruePositive" {
		t.Errorf("status %q resolution %q raw %q", c.Status, c.Resolution, c.RawStatus)
	}
	if diff := cmp.Diff([]string{"webshell", "portal"}, c.Tags); diff != "" {
		t.Errorf("tags (blank tag dropped): %s", diff)
	}
	if c.Assignee != "analyst1" || !c.Flag || Time(c.CreatedAt) != time.Date(2021, 3, 31, 8, 40, 0, 0, time.UTC) {
		t.Errorf("assignee %q flag %v created %v", c.Assignee, c.Flag, Time(c.CreatedAt))
	}
	wantCF := []CustomField{{Name: "hostsAffected", Type: "integer", Value: "1", Order: 0},
		{Name: "businessUnit", Type: "string", Value: "Intranet", Order: 1},
		{Name: "reportedToRegulator", Type: "boolean", Value: "false", Order: 2}}
	if diff := cmp.Diff(wantCF, c.CustomFields); diff != "" {
		t.Errorf("custom fields: %s", diff)
	}
	if len(c.Tasks) != 2 || len(c.Tasks[0].Logs) != 2 || c.Tasks[0].Logs[1].Attachment != "access.log.gz" ||
		c.Tasks[0].Assignee != "ops1" || c.Tasks[0].Logs[0].Date != 1617184000000 || c.Tasks[1].Status != "Waiting" {
		t.Errorf("tasks: %+v", c.Tasks)
	}
	var got [][2]string
	for _, o := range c.Observables {
		got = append(got, [2]string{o.Type, o.Data})
	}
	want := [][2]string{{"ip", "203.0.113.45"}, {"url", "http://portal.example.com/upload/img/x.php"}, {"file", "x.php"},
		{"other", "Mozilla/5.0 (compatible; evil/1.0)"}, {"domain", "portal.example.com"}, {"email", "attacker@example.net"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("observables: %s", diff)
	}
	if o := c.Observables[0]; !o.IOC || !o.Sighted || o.TLP != 2 || o.Tags[0] != "attacker" {
		t.Errorf("first observable %+v", o)
	}
	if o := c.Observables[2]; len(o.Hashes) != 2 || o.DataType != "file" {
		t.Errorf("file observable %+v", o)
	}
}

// TestTheHive5Cases checks an array of API v1 cases: the TLP label decides
// (AMBER+STRICT is 3 in TLP 2.0), custom fields come from the list form in
// order, and status FalsePositive with stage Closed is a closed false
// positive.
func TestTheHive5Cases(t *testing.T) {
	cases := parseFile(t, "thehive5-cases.json")
	if len(cases) != 2 {
		t.Fatalf("%d cases", len(cases))
	}
	a, b := cases[0], cases[1]
	if a.Version != Version5 || a.Number != 42 || a.SeverityName != "medium" || a.TLP != 3 || a.TLPName != "amber+strict" ||
		a.PAPName != "green" || a.Status != "open" || a.Assignee != "analyst@soc.example.org" || a.CreatedBy != "analyst@soc.example.org" {
		t.Errorf("case 42: %+v", a)
	}
	wantCF := []CustomField{{Name: "campaign", Type: "string", Value: "invoice-nov", Order: 0},
		{Name: "recipients", Type: "integer", Value: "37", Order: 1},
		{Name: "channels", Type: "string", Value: "mail, teams", Order: 2}}
	if diff := cmp.Diff(wantCF, a.CustomFields); diff != "" {
		t.Errorf("custom fields: %s", diff)
	}
	if len(a.Tasks) != 1 || a.Tasks[0].DueDate != 1700010000000 || a.Tasks[0].Logs[0].Attachment != "purge.csv" {
		t.Errorf("tasks %+v", a.Tasks)
	}
	types := []string{}
	for _, o := range a.Observables {
		types = append(types, o.Type)
	}
	if diff := cmp.Diff([]string{"domain", "other", "hash"}, types); diff != "" {
		t.Errorf("observable types: %s", diff)
	}
	if a.Observables[0].TLP != 4 {
		t.Errorf("RED label gives TLP %d, want 4", a.Observables[0].TLP)
	}
	if b.SeverityName != "low" || b.TLPName != "clear" || b.PAPName != "white" || b.Status != "closed" || b.Resolution != "false_positive" {
		t.Errorf("case 43: %+v", b)
	}
}

func TestImportWrapperAndNDJSON(t *testing.T) {
	w := parseFile(t, "thehive5-import.json")
	if len(w) != 1 || w[0].Title != "Ransomware on file server" || w[0].SeverityName != "critical" || w[0].PAPName != "red" ||
		w[0].Resolution != "true_positive" || len(w[0].Observables) != 2 || w[0].Observables[1].Type != "file" {
		t.Fatalf("wrapper: %+v", w)
	}
	nd := parseFile(t, "thehive5-cases.ndjson")
	if len(nd) != 2 || nd[0].Title != "First" || nd[1].Resolution != "duplicate" || nd[1].TLPName != "green" {
		t.Fatalf("ndjson: %+v", nd)
	}
}

// TestTLPVersions: the same number means different colours in TheHive 4
// (TLP 1.0) and TheHive 5 (TLP 2.0).
func TestTLPVersions(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{`{"caseId":1,"title":"t","tlp":3}`, "red"},
		{`{"_type":"Case","number":1,"title":"t","tlp":3}`, "amber+strict"},
		{`{"_type":"Case","number":1,"title":"t","tlp":4}`, "red"},
		{`{"_type":"Case","number":1,"title":"t","tlp":0,"tlpLabel":"WHITE"}`, "clear"},
		{`{"caseId":1,"title":"t"}`, "amber"},
	} {
		cs, err := Parse(strings.NewReader(c.in), Limits{})
		if err != nil {
			t.Fatalf("%s: %v", c.in, err)
		}
		if cs[0].TLPName != c.want {
			t.Errorf("%s: TLP %q, want %q", c.in, cs[0].TLPName, c.want)
		}
	}
}

func TestVigilType(t *testing.T) {
	for in, want := range map[string]string{"ip": "ip", "fqdn": "domain", "domain": "domain", "url": "url", "hash": "hash",
		"mail": "email", "filename": "file", "file": "file", "user-agent": "other", "registry": "other",
		"autonomous-system": "other", "uri_path": "other", "mail_subject": "other", "custom-thing": "other"} {
		if got := VigilType(in); got != want {
			t.Errorf("VigilType(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestErrors: each bad input gives an error naming where the problem is.
func TestErrors(t *testing.T) {
	for _, c := range []struct{ name, in, want string }{
		{"empty", "  \n", "no case in input"},
		{"not json", "{\"title\": }", "line 1"},
		{"no title", `{"caseId": 3}`, "$.title: a case needs a title"},
		{"severity", `{"title":"t","severity":7}`, "$.severity: 7: want 1 (low) to 4 (critical)"},
		{"severity type", `{"title":"t","severity":true}`, "$.severity: want a number, got a boolean"},
		{"tlp", `{"title":"t","tlp":9}`, "$.tlp: TLP 9: want 0 to 3"},
		{"tlp label", `{"_type":"Case","title":"t","tlpLabel":"PURPLE"}`, "$.tlpLabel: unknown TLP"},
		{"array path", `[{"title":"a"},{"title":"b","tasks":[{"title":"x","logs":[{"message":5}]}]}]`, "case 2: $[1].tasks[0].logs[0].message: want a string, got a number"},
		{"observable path", `{"title":"t","artifacts":[{"dataType":"ip"}]}`, "$.artifacts[0].data: an observable needs data"},
		{"observable type", `{"title":"t","observables":[{"data":"x"}]}`, "$.observables[0].dataType: an observable needs a dataType"},
		{"ndjson line", "{\"title\":\"a\"}\n{\"title\":\"b\"}\n{\"title\":\"c\",\"tags\":\"x\"}\n", "record 3 (line 3): $.tags: want an array"},
		{"custom fields", `{"title":"t","customFields":"x"}`, "$.customFields: want an object or an array"},
		{"date", `{"title":"t","startDate":-5}`, "$.startDate: -5 is not a date"},
		{"top type", `"just a string"`, "$: want an object, got a string"},
		{"bad utf8", "{\"title\":\"\xff\"}", "not valid UTF-8"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse(strings.NewReader(c.in), Limits{})
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want it to contain %q", err, c.want)
			}
		})
	}
}

func TestLimits(t *testing.T) {
	if _, err := Parse(strings.NewReader(`{"title":"a"}`), Limits{MaxBytes: 5}); !errors.Is(err, ErrTooLarge) {
		t.Errorf("size: %v", err)
	}
	if _, err := Parse(strings.NewReader(`[{"title":"a"},{"title":"b"}]`), Limits{MaxCases: 1}); err == nil || !strings.Contains(err.Error(), "2 cases, limit 1") {
		t.Errorf("cases: %v", err)
	}
	if _, err := Parse(strings.NewReader("{\"title\":\"a\"}\n{\"title\":\"b\"}"), Limits{MaxCases: 1}); err == nil || !strings.Contains(err.Error(), "more than 1 cases") {
		t.Errorf("ndjson cases: %v", err)
	}
	if _, err := Parse(strings.NewReader(`{"title":"a","tasks":[{"title":"x"},{"title":"y"}]}`), Limits{MaxTasks: 1}); err == nil || !strings.Contains(err.Error(), "$.tasks: 2 entries, limit 1") {
		t.Errorf("tasks: %v", err)
	}
	if _, err := Parse(strings.NewReader(`{"title":"a","description":"0123456789"}`), Limits{MaxText: 4}); err == nil || !strings.Contains(err.Error(), "$.description: 10 bytes, limit 4") {
		t.Errorf("text: %v", err)
	}
}
