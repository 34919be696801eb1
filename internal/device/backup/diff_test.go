package backup

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestDiff(t *testing.T) {
	cases := []struct {
		name, a, b string
		want       []string
	}{
		{"equal", "a\nb\n", "a\nb\n", nil},
		{"empty to text", "", "a\nb\n", []string{"+ a", "+ b"}},
		{"text to empty", "a\n", "", []string{"- a"}},
		{"middle change", "a\nb\nc\n", "a\nx\nc\n", []string{"- b", "+ x"}},
		{"insert and delete apart", "a\nb\nc\nd\ne\n", "a\nc\nd\ne\nf\n", []string{"- b", "+ f"}},
		{"no trailing newline", "a\nb", "a\nb\n", nil},
		{"move", "1\n2\n3\n4\n", "2\n3\n4\n1\n", []string{"- 1", "+ 1"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := Diff(c.a, c.b)
			checkDiff(t, c.a, c.b, d)
			if got := diffStrings(d); !cmp.Equal(c.want, got) {
				t.Errorf("got %q, want %q", got, c.want)
			}
		})
	}
}

func TestDiffLineNumbers(t *testing.T) {
	d := Diff("a\nb\nc\n", "a\nc\nd\n")
	want := []Line{
		{Op: Equal, Text: "a", Old: 1, New: 1},
		{Op: Delete, Text: "b", Old: 2},
		{Op: Equal, Text: "c", Old: 3, New: 2},
		{Op: Insert, Text: "d", New: 3},
	}
	if diff := cmp.Diff(want, d); diff != "" {
		t.Error(diff)
	}
}

// TestDiffBounded checks that inputs with no common lines past MaxEdits
// fall back to a block replacement instead of quadratic work.
func TestDiffBounded(t *testing.T) {
	var a, b strings.Builder
	for i := 0; i < 3*MaxEdits; i++ {
		a.WriteString("a" + itoa(i) + "\n")
		b.WriteString("b" + itoa(i) + "\n")
	}
	d := Diff(a.String(), b.String())
	checkDiff(t, a.String(), b.String(), d)
	if n := len(Changes(d)); n != 6*MaxEdits {
		t.Errorf("changes = %d, want %d", n, 6*MaxEdits)
	}
}

func itoa(i int) string {
	const digits = "0123456789"
	if i == 0 {
		return "0"
	}
	var b []byte
	for ; i > 0; i /= 10 {
		b = append([]byte{digits[i%10]}, b...)
	}
	return string(b)
}

// checkDiff verifies the diff rebuilds both sides with consistent numbers.
func checkDiff(t testing.TB, a, b string, d []Line) {
	t.Helper()
	var ga, gb []string
	for _, l := range d {
		switch l.Op {
		case Equal:
			ga, gb = append(ga, l.Text), append(gb, l.Text)
			if l.Old != len(ga) || l.New != len(gb) {
				t.Fatalf("bad numbers on %+v", l)
			}
		case Delete:
			ga = append(ga, l.Text)
			if l.Old != len(ga) || l.New != 0 {
				t.Fatalf("bad numbers on %+v", l)
			}
		case Insert:
			gb = append(gb, l.Text)
			if l.New != len(gb) || l.Old != 0 {
				t.Fatalf("bad numbers on %+v", l)
			}
		default:
			t.Fatalf("bad op %q", l.Op)
		}
	}
	if !cmp.Equal(splitLines(a), ga, cmpEmpty) || !cmp.Equal(splitLines(b), gb, cmpEmpty) {
		t.Fatalf("diff does not rebuild inputs:\na=%q\nb=%q\nd=%v", a, b, d)
	}
}

var cmpEmpty = cmp.Comparer(func(x, y []string) bool {
	if len(x) != len(y) {
		return false
	}
	for i := range x {
		if x[i] != y[i] {
			return false
		}
	}
	return true
})

func FuzzDiff(f *testing.F) {
	f.Add("a\nb\nc\n", "a\nx\nc\n")
	f.Add("", "x\n")
	f.Add("hostname r1\n!\nend\n", "hostname r2\n!\n!\nend\n")
	f.Fuzz(func(t *testing.T, a, b string) {
		if len(a) > 1<<16 || len(b) > 1<<16 {
			return
		}
		d := Diff(a, b)
		checkDiff(t, a, b, d)
		if a == b && len(Changes(d)) != 0 {
			t.Fatal("equal inputs gave changes")
		}
	})
}
