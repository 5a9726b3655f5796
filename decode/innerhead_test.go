package decode

import (
	"math/rand/v2"
	"testing"
)

// checkInnerHead fails when ParseInner concludes differently from the
// first InnerHead bytes of data than from all of it, although
// ReadsPastHead says those bytes suffice.
func checkInnerHead(t *testing.T, nh uint8, data []byte) {
	t.Helper()
	head := data[:min(len(data), InnerHead)]
	if ReadsPastHead(nh, head) {
		return
	}
	want, werr := ParseInner(nh, data)
	got, gerr := ParseInner(nh, head)
	if got != want || (gerr == nil) != (werr == nil) {
		t.Fatalf("nh %d, %d bytes %x: from the head %+v (%v), from all %+v (%v)", nh, len(data), data, got, gerr, want, werr)
	}
}

// ParseInner reads no more than InnerHead bytes unless ReadsPastHead says
// so: inner IPv4 with every header length (5 to 15 words), IPv6 with and
// without extension headers, transport protocols with ports and without,
// over random bytes of every length up to 200, and the cases where the
// head is all there is. The reference is ParseInner over the whole data.
func TestParseInnerHead(t *testing.T) {
	r := rand.New(rand.NewPCG(18, 64))
	nhs := []uint8{4, 41, 6, 17, 132, 1, 50, 51, 0}
	for i := 0; i < 200000; i++ {
		nh := nhs[r.IntN(len(nhs))]
		data := make([]byte, r.IntN(200))
		for k := range data {
			data[k] = byte(r.Uint32())
		}
		if len(data) > 0 {
			switch nh {
			case 4:
				data[0] = 0x40 | byte(5+r.IntN(11))
				if len(data) > 7 && r.IntN(2) == 0 {
					data[6], data[7] = 0, 0 // first fragment or none: ports read
				}
				if len(data) > 9 {
					data[9] = nhs[r.IntN(len(nhs))]
				}
			case 41:
				data[0] = 0x60
				if len(data) > 6 {
					data[6] = []uint8{6, 17, 0, 43, 44, 60, 59}[r.IntN(7)]
				}
			}
		}
		checkInnerHead(t, nh, data)
	}
	// An IPv6 packet with extension headers reaches past the head.
	v6 := make([]byte, 120)
	v6[0], v6[6] = 0x60, 60
	if !ReadsPastHead(41, v6[:InnerHead]) || ReadsPastHead(4, v6[:InnerHead]) {
		t.Error("ReadsPastHead: IPv6 with a destination options header")
	}
}
