package report

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// svgChart is the geometry of one chart. Go code computes every coordinate;
// the HTML template turns it into SVG elements, escaping every text, so no
// markup is ever built from strings.
type svgChart struct {
	Title     string
	Kind      ChartKind
	W, H      int
	TitleX    int
	Grid      []svgLine
	Axes      []svgLine
	Rects     []svgRect
	Polylines []svgPolyline
	Dots      []svgDot
	Slices    []svgSlice
	Circles   []svgDot // a pie slice that is the whole pie
	Texts     []svgText
	Legend    []svgLegend
}

type svgLine struct{ X1, Y1, X2, Y2 float64 }

type svgRect struct {
	X, Y, W, H float64
	Fill, Tip  string
}

type svgPolyline struct{ Points, Stroke, Tip string }

type svgDot struct {
	X, Y, R   float64
	Fill, Tip string
}

type svgSlice struct{ D, Fill, Tip string }

// svgText is a label; Class is one of tick, xlabel, title, legend; Rotate is
// a transform built from numbers only.
type svgText struct {
	X, Y          float64
	Anchor, Class string
	Rotate, Text  string
}

type svgLegend struct {
	X, Y, BoxY, TextX float64
	Fill, Text        string
}

func legendAt(x, y float64, fill, text string) svgLegend {
	return svgLegend{X: r1(x), Y: r1(y), BoxY: r1(y - 9), TextX: r1(x + 14), Fill: fill, Text: text}
}

// colour returns the i-th series colour: colour-blind-friendly (Okabe–Ito
// first), repeating after twelve.
func colour(i int) string {
	return [...]string{
		"#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9",
		"#F0E442", "#000000", "#8C564B", "#7F7F7F", "#BCBD22", "#17BECF",
	}[i%paletteSize]
}

const (
	paletteSize = 12
	chartW      = 640
	chartH      = 320
	maxXLabels  = 24 // x-axis labels drawn; the others are skipped
	maxLegend   = 14 // pie legend entries before "+N"
	labelRunes  = 18 // a longer label is cut with an ellipsis
	plotLeft    = 60.0
	plotRight   = 16.0
	legendSpace = 22.0
)

func r1(x float64) float64 { return math.Round(x*10) / 10 }

// Shorten cuts s to at most n runes, the last an ellipsis when it is cut.
func Shorten(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

// formatNum prints a chart value compactly: integers without decimals,
// others with up to two.
func formatNum(v float64) string {
	if v == math.Trunc(v) && math.Abs(v) < 1e15 {
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	return strconv.FormatFloat(math.Round(v*100)/100, 'f', -1, 64)
}

// niceStep rounds raw up to 1, 2, 2.5 or 5 times a power of ten.
func niceStep(raw float64) float64 {
	if raw <= 0 || math.IsNaN(raw) || math.IsInf(raw, 0) {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if raw <= m*p {
			return m * p
		}
	}
	return 10 * p
}

// buildChart computes the geometry of a validated chart.
func buildChart(c *Chart) svgChart {
	g := svgChart{Title: c.Title, Kind: c.Kind, W: chartW, H: chartH, TitleX: chartW / 2}
	if c.Kind == ChartPie {
		g.pie(c)
		return g
	}
	g.cartesian(c)
	return g
}

func (g *svgChart) cartesian(c *Chart) {
	n := len(c.Labels)
	top := 16.0
	if g.Title != "" {
		top = 36
	}
	bottom := float64(g.H) - 48
	if n > 8 {
		bottom = float64(g.H) - 72 // room for slanted labels
	}
	if len(c.Series) > 1 {
		bottom -= legendSpace
	}
	left, right := plotLeft, float64(g.W)-plotRight

	// Value range, including zero so bars start on the axis.
	lo, hi := 0.0, 0.0
	for i := range n {
		stack := 0.0
		for _, s := range c.Series {
			v := s.Values[i]
			if c.Kind == ChartStackedBar {
				stack += v
				v = stack
			}
			lo, hi = math.Min(lo, v), math.Max(hi, v)
		}
	}
	if hi == lo {
		hi = lo + 1
	}
	step := niceStep((hi - lo) / 5)
	lo, hi = math.Floor(lo/step)*step, math.Ceil(hi/step)*step
	y := func(v float64) float64 { return r1(bottom - (v-lo)/(hi-lo)*(bottom-top)) }

	for t, k := lo, 0; t <= hi+step/2 && k < 50; t, k = t+step, k+1 {
		g.Grid = append(g.Grid, svgLine{left, y(t), right, y(t)})
		g.Texts = append(g.Texts, svgText{X: left - 6, Y: y(t) + 4, Anchor: "end", Class: "tick", Text: formatNum(t)})
	}
	g.Axes = append(g.Axes, svgLine{left, y(0), right, y(0)}, svgLine{left, top, left, bottom})

	slot := (right - left) / float64(n)
	every := (n + maxXLabels - 1) / maxXLabels
	for i, l := range c.Labels {
		if i%every != 0 {
			continue
		}
		x := r1(left + slot*(float64(i)+0.5))
		t := svgText{X: x, Y: bottom + 16, Anchor: "middle", Class: "xlabel", Text: Shorten(l, labelRunes)}
		if n > 8 {
			t.Anchor = "end"
			t.Rotate = fmt.Sprintf("rotate(-35 %v %v)", x, r1(bottom+12))
			t.Y = bottom + 12
		}
		g.Texts = append(g.Texts, t)
	}

	switch c.Kind {
	case ChartBar:
		ns := float64(len(c.Series))
		bw := slot * 0.8 / ns
		for si, s := range c.Series {
			for i, v := range s.Values {
				x := left + slot*float64(i) + slot*0.1 + bw*float64(si)
				y0, y1 := y(0), y(v)
				g.Rects = append(g.Rects, svgRect{X: r1(x), Y: math.Min(y0, y1), W: r1(bw), H: r1(math.Abs(y1 - y0)),
					Fill: colour(si), Tip: tip(c.Labels[i], s.Name, v)})
			}
		}
	case ChartStackedBar:
		bw := slot * 0.6
		base := make([]float64, n)
		for si, s := range c.Series {
			for i, v := range s.Values {
				x := left + slot*float64(i) + slot*0.2
				y0, y1 := y(base[i]), y(base[i]+v)
				base[i] += v
				g.Rects = append(g.Rects, svgRect{X: r1(x), Y: y1, W: r1(bw), H: r1(y0 - y1),
					Fill: colour(si), Tip: tip(c.Labels[i], s.Name, v)})
			}
		}
	case ChartLine:
		for si, s := range c.Series {
			var pts strings.Builder
			for i, v := range s.Values {
				x := r1(left + slot*(float64(i)+0.5))
				fmt.Fprintf(&pts, "%v,%v ", x, y(v))
				if n <= 60 {
					g.Dots = append(g.Dots, svgDot{X: x, Y: y(v), R: 3, Fill: colour(si), Tip: tip(c.Labels[i], s.Name, v)})
				}
			}
			g.Polylines = append(g.Polylines, svgPolyline{Points: strings.TrimSpace(pts.String()), Stroke: colour(si), Tip: s.Name})
		}
	}

	if len(c.Series) > 1 {
		x := left
		for si, s := range c.Series {
			if si >= paletteSize {
				break
			}
			g.Legend = append(g.Legend, legendAt(x, float64(g.H)-14, colour(si), Shorten(s.Name, labelRunes)))
			x += 20 + 7*float64(min(utf8.RuneCountInString(s.Name), labelRunes)+2)
		}
	}
}

func tip(label, series string, v float64) string {
	if series == "" {
		return label + ": " + formatNum(v)
	}
	return label + " — " + series + ": " + formatNum(v)
}

func (g *svgChart) pie(c *Chart) {
	s := c.Series[0]
	total := 0.0
	for _, v := range s.Values {
		total += v
	}
	top := 16.0
	if g.Title != "" {
		top = 36
	}
	r := (float64(g.H) - top - 16) / 2
	cx, cy := 24+r, top+r
	angle := -math.Pi / 2
	for i, v := range s.Values {
		if v <= 0 {
			continue
		}
		frac := v / total
		fill := colour(i)
		t := fmt.Sprintf("%s (%s%%)", tip(c.Labels[i], s.Name, v), formatNum(frac*100))
		if frac > 0.9999 {
			g.Circles = append(g.Circles, svgDot{X: r1(cx), Y: r1(cy), R: r1(r), Fill: fill, Tip: t})
			continue
		}
		end := angle + frac*2*math.Pi
		large := 0
		if frac > 0.5 {
			large = 1
		}
		d := fmt.Sprintf("M%v %v L%v %v A%v %v 0 %d 1 %v %v Z",
			r1(cx), r1(cy), r1(cx+r*math.Cos(angle)), r1(cy+r*math.Sin(angle)),
			r1(r), r1(r), large, r1(cx+r*math.Cos(end)), r1(cy+r*math.Sin(end)))
		g.Slices = append(g.Slices, svgSlice{D: d, Fill: fill, Tip: t})
		angle = end
	}
	lx, ly := cx+r+32, top+8
	shown := 0
	for i, v := range s.Values {
		if shown == maxLegend {
			g.Texts = append(g.Texts, svgText{X: r1(lx), Y: r1(ly + 4), Anchor: "start", Class: "legend",
				Text: fmt.Sprintf("+%d", len(s.Values)-i)})
			break
		}
		g.Legend = append(g.Legend, legendAt(lx, ly, colour(i),
			fmt.Sprintf("%s — %s (%s%%)", Shorten(c.Labels[i], 28), formatNum(v), formatNum(v/total*100))))
		ly += 18
		shown++
	}
}
