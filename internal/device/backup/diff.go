package backup

import "strings"

// Op is the kind of a diff line.
type Op byte

// Diff line kinds.
const (
	Equal  Op = ' '
	Delete Op = '-'
	Insert Op = '+'
)

// Line is one line of a diff. Old and New are 1-based line numbers in a and
// b; zero when the line is absent from that side.
type Line struct {
	Op   Op
	Text string
	Old  int
	New  int
}

// String renders the line as in a unified diff body.
func (l Line) String() string { return string(l.Op) + " " + l.Text }

// MaxEdits bounds the Myers search; past it the differing middle is shown
// as a block replacement so that hostile inputs cannot cost quadratic time.
const MaxEdits = 1500

// Diff returns a line diff turning a into b: every line of a and b appears
// once, in order. Callers diff masked texts.
func Diff(a, b string) []Line {
	return diffLines(splitLines(a), splitLines(b), MaxEdits)
}

// Changes keeps only inserted and deleted lines.
func Changes(d []Line) []Line {
	var out []Line
	for _, l := range d {
		if l.Op != Equal {
			out = append(out, l)
		}
	}
	return out
}

func splitLines(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(strings.TrimSuffix(s, "\n"), "\n")
}

func diffLines(a, b []string, maxEdits int) []Line {
	var out []Line
	// Common prefix and suffix first: configs usually differ in few places.
	pre := 0
	for pre < len(a) && pre < len(b) && a[pre] == b[pre] {
		out = append(out, Line{Op: Equal, Text: a[pre], Old: pre + 1, New: pre + 1})
		pre++
	}
	suf := 0
	for suf < len(a)-pre && suf < len(b)-pre && a[len(a)-1-suf] == b[len(b)-1-suf] {
		suf++
	}
	ma, mb := a[pre:len(a)-suf], b[pre:len(b)-suf]
	mid, ok := myers(ma, mb, maxEdits)
	if !ok {
		mid = mid[:0]
		for i, s := range ma {
			mid = append(mid, Line{Op: Delete, Text: s, Old: i + 1})
		}
		for j, s := range mb {
			mid = append(mid, Line{Op: Insert, Text: s, New: j + 1})
		}
	}
	for _, l := range mid {
		if l.Old != 0 {
			l.Old += pre
		}
		if l.New != 0 {
			l.New += pre
		}
		out = append(out, l)
	}
	for i := 0; i < suf; i++ {
		ai, bi := len(a)-suf+i, len(b)-suf+i
		out = append(out, Line{Op: Equal, Text: a[ai], Old: ai + 1, New: bi + 1})
	}
	return out
}

// myers is the O(ND) greedy shortest edit script. It keeps one V array per
// edit distance d (size 2d+1), so memory is O(D²) and bounded by maxEdits.
func myers(a, b []string, maxEdits int) ([]Line, bool) {
	n, m := len(a), len(b)
	if n == 0 && m == 0 {
		return nil, true
	}
	var trace [][]int
	get := func(v []int, d, k int) int { return v[k+d] }
	found := false
	for d := 0; d <= n+m && d <= maxEdits; d++ {
		cur := make([]int, 2*d+1)
		for k := -d; k <= d; k += 2 {
			var x int
			switch {
			case d == 0:
				x = 0
			case k == -d || (k != d && get(trace[d-1], d-1, k-1) < get(trace[d-1], d-1, k+1)):
				x = get(trace[d-1], d-1, k+1)
			default:
				x = get(trace[d-1], d-1, k-1) + 1
			}
			y := x - k
			for x < n && y < m && a[x] == b[y] {
				x++
				y++
			}
			cur[k+d] = x
			if x >= n && y >= m {
				found = true
			}
		}
		trace = append(trace, cur)
		if found {
			break
		}
	}
	if !found {
		return nil, false
	}
	var rev []Line
	x, y := n, m
	for d := len(trace) - 1; d > 0; d-- {
		k := x - y
		prev := trace[d-1]
		var pk int
		if k == -d || (k != d && get(prev, d-1, k-1) < get(prev, d-1, k+1)) {
			pk = k + 1
		} else {
			pk = k - 1
		}
		px := get(prev, d-1, pk)
		py := px - pk
		for x > px && y > py {
			rev = append(rev, Line{Op: Equal, Text: a[x-1], Old: x, New: y})
			x--
			y--
		}
		if x == px {
			rev = append(rev, Line{Op: Insert, Text: b[y-1], New: y})
			y--
		} else {
			rev = append(rev, Line{Op: Delete, Text: a[x-1], Old: x})
			x--
		}
	}
	for x > 0 && y > 0 {
		rev = append(rev, Line{Op: Equal, Text: a[x-1], Old: x, New: y})
		x--
		y--
	}
	for i, j := 0, len(rev)-1; i < j; i, j = i+1, j-1 {
		rev[i], rev[j] = rev[j], rev[i]
	}
	return rev, true
}
