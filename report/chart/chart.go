// Package chart draws the HTML report's charts as inline SVG: a time axis
// shared by every chart of a report, so that they line up; timelines of
// lanes with bars (lifetimes), marks (events) and rules (moments that
// concern every lane); and area charts of rates over time. It writes plain
// SVG text, escaped, with CSS classes for the page's stylesheet to colour:
// no script, no external resource, readable with JavaScript off. Titles
// (<title>) give each bar and mark a tooltip.
package chart

import (
	"fmt"
	"html"
	"math"
	"strings"
	"time"
)

// Width is the drawing width in SVG units (the SVG scales to the page).
const Width = 1000

// Gutter is the width of the lane labels left of the plot.
const Gutter = 170

// Axis maps the capture's time onto the plot's x range.
type Axis struct {
	Start, End time.Time
}

// X is where t lies on the plot.
func (a Axis) X(t time.Time) float64 {
	span := a.End.Sub(a.Start)
	if span <= 0 {
		return Gutter
	}
	f := float64(t.Sub(a.Start)) / float64(span)
	return Gutter + math.Max(0, math.Min(1, f))*(Width-Gutter-10)
}

// steps are the tick intervals the axis chooses from.
var steps = []time.Duration{
	100 * time.Millisecond, 200 * time.Millisecond, 500 * time.Millisecond,
	time.Second, 2 * time.Second, 5 * time.Second, 10 * time.Second, 15 * time.Second, 30 * time.Second,
	time.Minute, 2 * time.Minute, 5 * time.Minute, 10 * time.Minute, 15 * time.Minute, 30 * time.Minute,
	time.Hour, 2 * time.Hour, 3 * time.Hour, 6 * time.Hour, 12 * time.Hour, 24 * time.Hour,
}

// Ticks are at most max round moments within the axis, and their labels.
func (a Axis) Ticks(max int) ([]time.Time, func(time.Time) string) {
	span := a.End.Sub(a.Start)
	step := steps[len(steps)-1]
	for _, s := range steps {
		if span/s <= time.Duration(max) {
			step = s
			break
		}
	}
	label := func(t time.Time) string { return t.UTC().Format("15:04:05") }
	if step < time.Second {
		label = func(t time.Time) string { return t.UTC().Format("15:04:05.0") }
	}
	var out []time.Time
	for t := a.Start.Truncate(step); !t.After(a.End); t = t.Add(step) {
		if !t.Before(a.Start) {
			out = append(out, t)
		}
	}
	return out, label
}

// svg accumulates SVG text.
type svg struct{ strings.Builder }

func (b *svg) f(format string, args ...any) { fmt.Fprintf(b, format, args...) }

// esc escapes text for SVG text content and attribute values.
func esc(s string) string { return html.EscapeString(s) }

// open starts an <svg> element of the given height.
func (b *svg) open(class, label string, height float64) {
	b.f(`<svg class="%s" viewBox="0 0 %d %.0f" width="100%%" role="img" aria-label="%s" preserveAspectRatio="xMinYMin meet">`, esc(class), Width, height, esc(label))
}

// labelHalf is half a tick label's width ("15:04:05" at the stylesheet's
// 10-unit font, with room to spare).
const labelHalf = 28

// grid draws the axis ticks and their labels, from y0 to y1, labels at ly.
func (b *svg) grid(a Axis, y0, y1, ly float64) {
	ticks, label := a.Ticks(8)
	b.f(`<g class="axis">`)
	for _, t := range ticks {
		x := a.X(t)
		b.f(`<line class="tick" x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f"/>`, x, y0, x, y1)
		// A label centred on a tick near the right edge would be cut
		// off by the SVG's box ("15:59:5"): it ends at the edge instead.
		anchor, lx := "middle", x
		if x+labelHalf > Width {
			anchor, lx = "end", Width-1
		}
		b.f(`<text class="tick-label" x="%.1f" y="%.1f" text-anchor="%s">%s</text>`, lx, ly, anchor, esc(label(t)))
	}
	b.f(`</g>`)
}

// Bar is a span of time on a lane: a lifetime.
type Bar struct {
	From, To time.Time
	Class    string // e.g. "active", "deleted"
	Title    string // the tooltip
	// Inner is a thinner span inside the bar (the traffic within a
	// lifetime); zero times: none.
	InnerFrom, InnerTo time.Time
}

// Shape is how a mark is drawn.
type Shape uint8

const (
	Diamond Shape = iota // a rekey
	Cross                // a deletion
	Tick                 // an anomaly report, its height growing with Size
	Flag                 // a finding
	Dot                  // an expiry
)

// Mark is a moment on a lane.
type Mark struct {
	At    time.Time
	Shape Shape
	Class string
	Title string
	// Size scales a Tick (1: the smallest); its Count is shown in Title.
	Size float64
}

// Lane is one row of a timeline.
type Lane struct {
	Label, Title string
	Class        string
	Bars         []Bar
	Marks        []Mark
}

// Rule is a moment drawn across every lane (a rekey of the tunnel).
type Rule struct {
	At    time.Time
	Class string
	Title string
	Shape Shape // drawn on the axis above the lanes
}

// Timeline is a chart of lanes over the axis.
type Timeline struct {
	Axis  Axis
	Class string // CSS class of the <svg>
	Label string // its accessible name
	Lanes []Lane
	Rules []Rule
	// Heading names the lanes' labels (drawn above them).
	Heading string
}

// lane geometry.
const (
	laneH   = 24.0
	top     = 22.0 // room for the rules' marks above the lanes
	bottomH = 22.0 // the axis labels below
)

// SVG draws the timeline.
func (t *Timeline) SVG() string {
	var b svg
	h := top + laneH*float64(len(t.Lanes)) + bottomH
	b.open("timeline "+t.Class, t.Label, h)
	y1 := top + laneH*float64(len(t.Lanes))
	for i := range t.Lanes {
		if i%2 == 1 {
			b.f(`<rect class="lane-bg" x="0" y="%.1f" width="%d" height="%.1f"/>`, top+laneH*float64(i), Width, laneH)
		}
	}
	b.grid(t.Axis, top-4, y1, y1+15)
	if t.Heading != "" {
		b.f(`<text class="lane-heading" x="6" y="%.1f">%s</text>`, top-8, esc(t.Heading))
	}
	for i, l := range t.Lanes {
		y := top + laneH*float64(i)
		cls := "lane"
		if l.Class != "" {
			cls += " " + l.Class
		}
		b.f(`<g class="%s">`, esc(cls))
		b.f(`<text class="lane-label" x="6" y="%.1f">%s`, y+laneH/2+4, esc(l.Label))
		if l.Title != "" {
			b.f(`<title>%s</title>`, esc(l.Title))
		}
		b.f(`</text>`)
		for _, bar := range l.Bars {
			x0, x1 := t.Axis.X(bar.From), t.Axis.X(bar.To)
			// Half a unit off each end: bars that follow each other stay apart.
			b.f(`<rect class="bar %s" x="%.1f" y="%.1f" width="%.1f" height="%.1f" rx="3"><title>%s</title></rect>`,
				esc(bar.Class), x0+0.5, y+5, math.Max(x1-x0-1, 2), laneH-10, esc(bar.Title))
			if !bar.InnerFrom.IsZero() {
				i0, i1 := t.Axis.X(bar.InnerFrom), t.Axis.X(bar.InnerTo)
				b.f(`<rect class="traffic" x="%.1f" y="%.1f" width="%.1f" height="4" rx="2"><title>%s</title></rect>`,
					i0, y+laneH/2-2, math.Max(i1-i0, 1.5), esc("traffic "+bar.InnerFrom.UTC().Format("15:04:05.000")+" – "+bar.InnerTo.UTC().Format("15:04:05.000")))
			}
		}
		for _, m := range l.Marks {
			b.mark(t.Axis.X(m.At), y+laneH/2, m)
		}
		b.f(`</g>`)
	}
	for _, r := range t.Rules {
		x := t.Axis.X(r.At)
		b.f(`<g class="%s"><title>%s</title>`, esc(r.Class), esc(r.Title))
		b.f(`<line class="rule" x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f"/>`, x, top-2, x, y1)
		b.shape(x, top-10, r.Shape, 6)
		b.f(`</g>`)
	}
	b.f(`</svg>`)
	return b.String()
}

// mark draws one mark centred at (x, y).
func (b *svg) mark(x, y float64, m Mark) {
	b.f(`<g class="mark %s"><title>%s</title>`, esc(m.Class), esc(m.Title))
	if m.Shape == Tick {
		// Even a single packet's tick stands out of the lane's bar (14
		// high) so that it is seen on a lifetime, not lost inside it.
		h := 8 + math.Log2(math.Max(m.Size, 1))
		h = math.Min(h, laneH/2-1)
		b.f(`<rect x="%.1f" y="%.1f" width="4" height="%.1f"/>`, x-2, y-h, 2*h)
	} else {
		b.shape(x, y, m.Shape, 5.5)
	}
	b.f(`</g>`)
}

// shape draws a shape of radius r centred at (x, y).
func (b *svg) shape(x, y float64, s Shape, r float64) {
	switch s {
	case Diamond:
		b.f(`<path d="M%.1f %.1fl%.1f %.1fl%.1f %.1fl%.1f %.1fz"/>`, x, y-r, r, r, -r, r, -r, -r)
	case Cross:
		b.f(`<path class="cross" d="M%.1f %.1fl%.1f %.1fM%.1f %.1fl%.1f %.1f"/>`, x-r, y-r, 2*r, 2*r, x-r, y+r, 2*r, -2*r)
	case Flag:
		b.f(`<path d="M%.1f %.1fl%.1f %.1fl%.1f %.1fz"/>`, x, y-r-1, r+1, 2*r+2, -2*r-2, 0.0)
	case Dot:
		b.f(`<circle cx="%.1f" cy="%.1f" r="%.1f"/>`, x, y, r-1)
	}
}

// Series is one curve of an area chart: a value per bin.
type Series struct {
	Name, Class string
	Values      []float64
}

// Area is a chart of rates over the axis: each series' value per bin, the
// bins Width wide from Start. With Mirror and two series the first is
// drawn above the baseline and the second below it (received over sent),
// so that neither hides the other.
type Area struct {
	Axis   Axis
	Class  string
	Label  string
	Start  time.Time
	Width  time.Duration
	Series []Series
	Mirror bool
	// Unit formats a value for the y axis and the tooltips.
	Unit func(float64) string
}

const areaH = 160.0

// SVG draws the chart: one filled step curve per series, the y axis
// scaled to the largest value, a legend left of the plot.
func (a *Area) SVG() string {
	var b svg
	h := areaH + bottomH + 8
	b.open("area "+a.Class, a.Label, h)
	top := 8.0
	base, height := top+areaH, areaH // the baseline, and the height of the largest value
	mirror := a.Mirror && len(a.Series) == 2
	if mirror {
		base, height = top+areaH/2, areaH/2-4
	}
	peak := 0.0
	for _, s := range a.Series {
		for _, v := range s.Values {
			peak = math.Max(peak, v)
		}
	}
	b.grid(a.Axis, top, top+areaH, top+areaH+15)
	scale := niceCeil(peak)
	levels := []float64{0.5, 1}
	for _, l := range levels {
		for _, dir := range []float64{1, -1} {
			if dir < 0 && !mirror {
				continue
			}
			y := base - dir*height*l
			b.f(`<line class="hgrid" x1="%d" y1="%.1f" x2="%d" y2="%.1f"/>`, Gutter, y, Width-10, y)
			b.f(`<text class="tick-label" x="%d" y="%.1f" text-anchor="end">%s</text>`, Gutter-6, y+4, esc(a.unit(scale*l)))
		}
	}
	b.f(`<line class="baseline" x1="%d" y1="%.1f" x2="%d" y2="%.1f"/>`, Gutter, base, Width-10, base)
	for i, s := range a.Series {
		dir := 1.0
		if mirror && i == 1 {
			dir = -1
		}
		b.f(`<g class="series %s">`, esc(s.Class))
		ly := top + 4 + float64(i)*18
		if mirror && i == 1 {
			ly = top + areaH - 14
		}
		b.f(`<rect class="legend" x="8" y="%.1f" width="10" height="10" rx="2"/><text class="legend-label" x="24" y="%.1f">%s</text>`, ly, ly+9, esc(s.Name))
		if scale > 0 && len(s.Values) > 0 {
			var line, fill strings.Builder
			for j, v := range s.Values {
				x0 := a.Axis.X(a.Start.Add(time.Duration(j) * a.Width))
				x1 := a.Axis.X(a.Start.Add(time.Duration(j+1) * a.Width))
				y := base - dir*height*v/scale
				cmd := "L"
				if j == 0 {
					cmd = "M"
					fmt.Fprintf(&fill, "M%.1f %.1f", x0, base)
				}
				// A step per bin: the rate was v over the whole bin.
				fmt.Fprintf(&line, "%s%.1f %.1fL%.1f %.1f", cmd, x0, y, x1, y)
				fmt.Fprintf(&fill, "L%.1f %.1fL%.1f %.1f", x0, y, x1, y)
				if j == len(s.Values)-1 {
					fmt.Fprintf(&fill, "L%.1f %.1fz", x1, base)
				}
			}
			b.f(`<path class="fill" d="%s"/><path class="line" d="%s"/>`, fill.String(), line.String())
			// Tooltips: a transparent column per bin with a value.
			for j, v := range s.Values {
				if v == 0 {
					continue
				}
				t0 := a.Start.Add(time.Duration(j) * a.Width)
				x0, x1 := a.Axis.X(t0), a.Axis.X(t0.Add(a.Width))
				hh := height * v / scale
				y := base - hh
				if dir < 0 {
					y = base
				}
				b.f(`<rect class="hit" x="%.1f" y="%.1f" width="%.1f" height="%.1f"><title>%s %s–%s: %s</title></rect>`,
					x0, y, math.Max(x1-x0, 1), hh, esc(s.Name), esc(t0.UTC().Format("15:04:05")), esc(t0.Add(a.Width).UTC().Format("15:04:05")), esc(a.unit(v)))
			}
		}
		b.f(`</g>`)
	}
	b.f(`</svg>`)
	return b.String()
}

func (a *Area) unit(v float64) string {
	if a.Unit == nil {
		return fmt.Sprintf("%.0f", v)
	}
	return a.Unit(v)
}

// niceCeil rounds v up to 1, 2 or 5 times a power of ten.
func niceCeil(v float64) float64 {
	if v <= 0 {
		return 0
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= v {
			return m * p
		}
	}
	return 10 * p
}
