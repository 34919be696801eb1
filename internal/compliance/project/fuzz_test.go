package project

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/vigil-sec/vigil/internal/compliance"
	"github.com/vigil-sec/vigil/internal/store"
)

// FuzzItemInput feeds arbitrary form values to the item validation: it
// never panics, and what it accepts is a requirement of the framework
// with a known result code and text within its bounds.
func FuzzItemInput(f *testing.F) {
	cat, err := compliance.Builtin()
	if err != nil {
		f.Fatal(err)
	}
	fw := cat.Framework("mlps2-l3")
	f.Add("L3-CES1-01", "db-01", "符合", "evidence", "/t/a/reports/1\nhttps://wiki.test/x", 0.0)
	f.Add("L3-CES1-C01", "", "conform", "", "", 0.5)
	f.Add("L3-PES1-01", "a\x00b", "n/a", "", "javascript:alert(1)", -1.0)
	f.Fuzz(func(t *testing.T, item, object, result, evidence, links string, adj float64) {
		in := ItemInput{Item: item, Object: object, Result: result, Evidence: evidence, Links: strings.Split(links, "\n"),
			Compensation: "measure", Adjustment: adj}
		it, err := checkItem(fw, &in)
		if err != nil {
			return
		}
		if n := fw.Node(it.Item); n == nil || !n.Assessable {
			t.Fatalf("accepted item %q", it.Item)
		}
		if ResultOf(it.Result) == compliance.NotApplicable && it.Result != store.ItemNA {
			t.Fatalf("accepted result code %q", it.Result)
		}
		if !utf8.ValidString(it.Object) || utf8.RuneCountInString(it.Object) > MaxObject || len(it.Links) > MaxLinks {
			t.Fatalf("accepted out-of-bounds input %+v", it)
		}
		if it.Adjustment < 0 || it.Adjustment > 1 {
			t.Fatalf("accepted adjustment %v", it.Adjustment)
		}
		for _, l := range it.Links {
			l = strings.ToLower(l)
			if !strings.HasPrefix(l, "/") && !strings.HasPrefix(l, "http://") && !strings.HasPrefix(l, "https://") || strings.HasPrefix(l, "//") {
				t.Fatalf("accepted link %q", l)
			}
		}
	})
}
