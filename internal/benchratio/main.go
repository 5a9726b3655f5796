// Command benchratio summarises `go test -bench` output for `make bench`:
// the median of each benchmark, and each measured run as a ratio against
// its baseline from the same run, because absolute times on shared
// machines say little.
package main

import (
	"bufio"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
)

// pairs: benchmark → its baseline.
var pairs = [][2]string{
	{"Stats", "BareRead"},
	{"StatsKeyed", "KeyedBaseline"},
	{"StatsKeyedParallel", "KeyedBaseline"},
}

type result struct {
	nsop    []float64
	metrics map[string][]float64
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	return s[len(s)/2]
}

func main() {
	res := map[string]*result{}
	var order []string
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
		line := sc.Text()
		fmt.Println(line)
		f := strings.Fields(line)
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") {
			continue
		}
		name := strings.TrimPrefix(f[0], "Benchmark")
		if i := strings.LastIndex(name, "-"); i > 0 {
			name = name[:i]
		}
		r := res[name]
		if r == nil {
			r = &result{metrics: map[string][]float64{}}
			res[name] = r
			order = append(order, name)
		}
		for i := 2; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				continue
			}
			if f[i+1] == "ns/op" {
				r.nsop = append(r.nsop, v)
			} else {
				r.metrics[f[i+1]] = append(r.metrics[f[i+1]], v)
			}
		}
	}
	fmt.Println("\nSummary (medians):")
	for _, n := range order {
		r := res[n]
		var parts []string
		if len(r.nsop) > 0 {
			parts = append(parts, fmt.Sprintf("%.1f ms/op", median(r.nsop)/1e6))
		}
		keys := make([]string, 0, len(r.metrics))
		for k := range r.metrics {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			parts = append(parts, fmt.Sprintf("%.4g %s", median(r.metrics[k]), k))
		}
		fmt.Printf("  %-20s %s\n", n, strings.Join(parts, ", "))
	}
	for _, p := range pairs {
		a, b := res[p[0]], res[p[1]]
		if a == nil || b == nil || len(a.nsop) == 0 || len(b.nsop) == 0 {
			continue
		}
		fmt.Printf("  %s / %s = %.2f× the baseline's time\n", p[0], p[1], median(a.nsop)/median(b.nsop))
	}
}
