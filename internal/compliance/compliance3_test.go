package compliance

import "testing"

// TestLibrarySearch lists and searches the level-3 framework: every node
// with an empty query (10 categories + 71 control points + 211 items, the
// counts of GB/T 22239 level 3), one item by its id with its two
// ancestors, and nothing for a text no node holds.
func TestLibrarySearch(t *testing.T) {
	cat, err := Builtin()
	if err != nil {
		t.Fatal(err)
	}
	fw := cat.Framework("mlps2-l3")
	rows, total := fw.Search("", 0)
	if total != 10+71+211 || len(rows) != total {
		t.Fatalf("empty query: %d rows of %d", len(rows), total)
	}
	rows, total = fw.Search("  l3-ces1-01 ", 10)
	if total != 1 || len(rows) != 1 || rows[0].Node.ID != "L3-CES1-01" || rows[0].Depth != 3 || len(rows[0].Path) != 2 ||
		rows[0].Path[0].ID != "L3-CES1" || rows[0].Path[1].ID != "L3-CES1-C01" {
		t.Fatalf("by id: %d %+v", total, rows)
	}
	rows, total = fw.Search("身份鉴别", 1)
	if total < 2 || len(rows) != 1 {
		t.Fatalf("limit: %d rows of %d", len(rows), total)
	}
	if _, total = fw.Search("no node holds this text", 0); total != 0 {
		t.Fatalf("nonsense matched %d", total)
	}
}
