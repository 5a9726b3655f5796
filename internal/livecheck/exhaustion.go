package livecheck

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"
)

// isExhaustion reports the SA view's seq_exhaustion_in/out columns, which
// Diff cannot compare exactly between a live run and tcpdump's file of it.
func isExhaustion(path string) bool {
	i := strings.LastIndexByte(path, '.')
	return i >= 0 && strings.HasPrefix(path[i+1:], "seq_exhaustion_")
}

// exhaustionApart compares the seq_exhaustion columns of two SA views
// (JSON arrays of rows, in the same order) within what microsecond
// timestamps can move them.
//
// The figure extrapolates a rate, (hi-lo) sequence numbers over the span
// S from an SA's first accepted packet to its last, to the 2^32-1-hi
// numbers left: left*S/(hi-lo) seconds, written as whole seconds. A live
// run sees the kernel's nanosecond timestamps; tcpdump's pcap truncates
// each to the microsecond, so S may differ by less than 2 µs and the
// figure by less than 2 µs*left/(hi-lo), plus one for the whole seconds.
// hi is the row's highest_seq and hi-lo is at least packets-1, the
// accepted packets having distinct numbers (a replayed one is not
// accepted), so the bound is taken from the row itself.
func exhaustionApart(a, b []byte) ([]string, error) {
	ra, err := rows(a, "first SA view")
	if err != nil {
		return nil, err
	}
	rb, err := rows(b, "second SA view")
	if err != nil {
		return nil, err
	}
	if len(ra) != len(rb) {
		return []string{fmt.Sprintf("%d rows vs %d", len(ra), len(rb))}, nil
	}
	var out []string
	for i := range ra {
		for _, dir := range []string{"in", "out"} {
			key := "seq_exhaustion_" + dir
			va, oka := ra[i][key].(json.Number)
			vb, okb := rb[i][key].(json.Number)
			if !oka || !okb {
				if show(ra[i][key]) != show(rb[i][key]) {
					out = append(out, fmt.Sprintf("[%d].%s: %s vs %s", i, key, show(ra[i][key]), show(rb[i][key])))
				}
				continue
			}
			x, errx := va.Float64()
			y, erry := vb.Float64()
			hi, errh := number(ra[i]["highest_seq_"+dir])
			n, errn := number(ra[i]["packets_"+dir])
			if errx != nil || erry != nil || errh != nil || errn != nil || n < 2 {
				out = append(out, fmt.Sprintf("[%d].%s: %s vs %s (no highest_seq/packets to bound it)", i, key, va, vb))
				continue
			}
			tol := 2e-6*(math.MaxUint32-hi)/(n-1) + 1
			if math.Abs(x-y) > tol {
				out = append(out, fmt.Sprintf("[%d].%s: %s vs %s (more than %.0f apart)", i, key, va, vb, tol))
			}
		}
	}
	return out, nil
}

func rows(b []byte, what string) ([]map[string]any, error) {
	v, err := decode(b, what)
	if err != nil {
		return nil, err
	}
	list, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("%s: not an array of rows", what)
	}
	out := make([]map[string]any, len(list))
	for i, r := range list {
		if out[i], ok = r.(map[string]any); !ok {
			return nil, fmt.Errorf("%s: row %d is not an object", what, i)
		}
	}
	return out, nil
}

func number(v any) (float64, error) {
	n, ok := v.(json.Number)
	if !ok {
		return 0, fmt.Errorf("%s is not a number", show(v))
	}
	return n.Float64()
}
