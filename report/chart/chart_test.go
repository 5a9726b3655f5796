package chart

import (
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// TestAxis: times map linearly onto [Gutter, Width-10], clamped; ticks
// fall on round moments of the largest step that gives at most max.
func TestAxis(t *testing.T) {
	a := Axis{Start: t0, End: t0.Add(100 * time.Second)}
	for _, c := range []struct {
		at   time.Duration
		want float64
	}{{0, Gutter}, {50 * time.Second, Gutter + (Width-Gutter-10)/2.0}, {100 * time.Second, Width - 10}, {-time.Hour, Gutter}, {time.Hour, Width - 10}} {
		if got := a.X(t0.Add(c.at)); got != c.want {
			t.Errorf("X(+%v) = %v, want %v", c.at, got, c.want)
		}
	}
	// 100 s in at most 8 ticks: 15 s steps (10 s would give 10); the
	// first round quarter-minute at or after 03:04:05 is 03:04:15.
	ticks, label := a.Ticks(8)
	if len(ticks) != 7 || label(ticks[0]) != "03:04:15" || ticks[1].Sub(ticks[0]) != 15*time.Second {
		t.Errorf("ticks %v", ticks)
	}
}

func TestNiceCeil(t *testing.T) {
	for _, c := range [][2]float64{{0, 0}, {1, 1}, {1.2, 2}, {3, 5}, {7, 10}, {99, 100}, {101, 200}, {0.03, 0.05}} {
		if got := niceCeil(c[0]); got != c[1] {
			t.Errorf("niceCeil(%v) = %v, want %v", c[0], got, c[1])
		}
	}
}

// TestTimelineSVG: one lane per Lane, one group per rule and mark, titles
// escaped.
func TestTimelineSVG(t *testing.T) {
	tl := Timeline{Axis: Axis{Start: t0, End: t0.Add(time.Minute)}, Class: "x", Label: "a <b>",
		Lanes: []Lane{
			{Label: "one", Bars: []Bar{{From: t0, To: t0.Add(time.Second), Class: "active", Title: `"<&>"`}}, Marks: []Mark{{At: t0, Shape: Cross, Class: "delete"}}},
			{Label: "two", Marks: []Mark{{At: t0, Shape: Tick, Class: "anomaly badspi", Size: 1000}}},
		},
		Rules: []Rule{{At: t0.Add(30 * time.Second), Class: "rekey", Shape: Diamond, Title: "r"}},
	}
	s := tl.SVG()
	for _, c := range []struct {
		sub  string
		want int
	}{
		{`<g class="lane">`, 2}, {`<g class="rekey">`, 1}, {`<g class="mark delete">`, 1}, {`<g class="mark anomaly badspi">`, 1},
		{`&#34;&lt;&amp;&gt;&#34;`, 1}, {`aria-label="a &lt;b&gt;"`, 1}, {"<b>", 0},
	} {
		if n := strings.Count(s, c.sub); n != c.want {
			t.Errorf("%q: %d, want %d", c.sub, n, c.want)
		}
	}
}

// TestAreaMirror: with Mirror the first series rises above the baseline
// and the second falls below it, both scaled to the larger peak.
func TestAreaMirror(t *testing.T) {
	a := Area{Axis: Axis{Start: t0, End: t0.Add(2 * time.Second)}, Start: t0, Width: time.Second, Mirror: true,
		Series: []Series{{Name: "in", Class: "in", Values: []float64{10, 0}}, {Name: "out", Class: "out", Values: []float64{0, 5}}}}
	s := a.SVG()
	// areaH 160, top 8: baseline at 88, half height 76; scale niceCeil(10) = 10.
	for _, want := range []string{"L170.0 12.0", "L580.0 126.0"} {
		if !strings.Contains(s, want) {
			t.Errorf("no %q in %s", want, s)
		}
	}
}

// TestTickLabelsInside: a tick at the axis' end (x = Width-10) would have
// its centred label cut by the SVG's right edge; it is anchored at the
// edge instead, the others stay centred. Axis 03:04:04-03:04:18: ticks
// every 2 s (8 at most) on even seconds, the last on the plot's right end.
func TestTickLabelsInside(t *testing.T) {
	tl := Timeline{Axis: Axis{Start: t0.Add(-time.Second), End: t0.Add(13 * time.Second)}, Lanes: []Lane{{Label: "l"}}}
	s := tl.SVG()
	if n := strings.Count(s, `x="999.0" y="61.0" text-anchor="end">03:04:18<`); n != 1 {
		t.Errorf("the last tick's label is not anchored at the edge: %s", s)
	}
	if n := strings.Count(s, `text-anchor="middle"`); n != 7 {
		t.Errorf("%d centred tick labels, want 7 (03:04:04-16)", n)
	}
}
