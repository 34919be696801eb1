package compliance

import (
	"strings"
	"unicode/utf8"
)

// MaxSearchQuery bounds a standards library search, in characters.
const MaxSearchQuery = 200

// LibraryRow is one node of a framework as the standards library lists it:
// the node, its depth (1 for the top level) and the names of its ancestors.
type LibraryRow struct {
	Node  *Node
	Depth int
	Path  []*Node // ancestors, outermost first
}

// Search lists the nodes of f whose id, clause reference, names or texts
// contain q (case-insensitive), in document order, at most limit of them
// (limit <= 0: no bound). An empty q lists every node. The second result
// counts all matches.
func (f *Framework) Search(q string, limit int) ([]LibraryRow, int) {
	q = strings.ToLower(strings.TrimSpace(q))
	if utf8.RuneCountInString(q) > MaxSearchQuery {
		q = string([]rune(q)[:MaxSearchQuery])
	}
	var out []LibraryRow
	total := 0
	var path []*Node
	f.Walk(func(n, parent *Node, depth int) bool {
		if depth-1 < len(path) {
			path = path[:depth-1]
		}
		if q == "" || nodeMatches(n, q) {
			total++
			if limit <= 0 || len(out) < limit {
				out = append(out, LibraryRow{Node: n, Depth: depth, Path: append([]*Node(nil), path...)})
			}
		}
		path = append(path, n)
		return true
	})
	return out, total
}

func nodeMatches(n *Node, q string) bool {
	for _, s := range []string{n.ID, n.Ref, n.Name, n.NameEn, n.Text, n.TextEn} {
		if s != "" && strings.Contains(strings.ToLower(s), q) {
			return true
		}
	}
	return false
}
