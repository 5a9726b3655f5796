package analyzer

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// Each step gives a sequence number and whether RFC 4303 §3.4.3 accepts it,
// worked out by hand for the window size given.
func TestReplayWindow(t *testing.T) {
	type step struct {
		seq    uint64
		accept bool
	}
	tests := []struct {
		name  string
		size  int
		steps []step
	}{
		{"in order", 64, []step{{1, true}, {2, true}, {3, true}}},
		{"duplicate", 64, []step{{1, true}, {2, true}, {2, false}, {1, false}}},
		{"zero is never valid", 64, []step{{0, false}, {1, true}, {0, false}}},
		{"capture starts mid-SA", 64, []step{{1000, true}, {999, true}, {1001, true}, {999, false}}},
		// W=64, top=100: the window is 37..100; 36 is left of it.
		{"left edge", 64, []step{{100, true}, {37, true}, {36, false}, {37, false}}},
		{"reordered inside window", 64, []step{{10, true}, {5, true}, {7, true}, {5, false}, {6, true}, {11, true}}},
		// A jump of exactly W clears the whole map: 1 is then left of 2..65.
		{"jump by window size", 64, []step{{1, true}, {65, true}, {1, false}, {2, true}}},
		// W=32 (ring still 64 bits): top 40 → window 9..40; 8 is too old even though its bit was never set.
		{"size below ring", 32, []step{{40, true}, {9, true}, {8, false}}},
		// W=128 uses a two-word ring: top 300 → window 173..300.
		{"two-word ring", 128, []step{{300, true}, {173, true}, {172, false}, {236, true}, {236, false}, {301, true}, {173, false}}},
		// After jumping from 5 to 70 (W=128) the bits of 6..69 were cleared, 5 is still remembered;
		// at top 134 the window is 7..134, so 6 is too old and 7 (never received) is accepted.
		{"ring bits cleared on advance", 128, []step{{5, true}, {70, true}, {5, false}, {6, true}, {134, true}, {6, false}, {7, true}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := NewReplayWindow(tt.size)
			for i, s := range tt.steps {
				got := w.Check(s.seq)
				if got != s.accept {
					t.Fatalf("step %d: seq %d accepted=%v, want %v (top %d)", i, s.seq, got, s.accept, w.Top())
				}
				if got {
					w.Update(s.seq)
				}
			}
		})
	}
}

// A ring of 128 bits indexes 134 and 6 to the same bit: the left-edge test,
// not the bit, must decide.
func TestReplayWindowRingAlias(t *testing.T) {
	w := NewReplayWindow(128)
	for _, s := range []uint64{5, 70, 134} {
		w.Update(s)
	}
	if w.Check(6) {
		t.Fatal("6 is left of the window 7..134 and must be a replay")
	}
	if !w.Check(7) {
		t.Fatal("7 is the window's left edge and was never received")
	}
}

// RFC 4303 Appendix A2.2, worked through for W=64.
func TestInferESN(t *testing.T) {
	tests := []struct {
		name string
		top  uint64
		low  uint32
		want uint64
	}{
		{"same epoch, right of window", 1000, 1001, 1001},
		{"same epoch, inside window", 1000, 990, 990},
		{"wrapped: low far left is the next epoch", 0xfffffff0, 5, 1<<32 | 5},
		{"window spans the boundary: high low value is the previous epoch", 1<<32 | 3, 0xfffffffe, 0xfffffffe},
		{"window spans the boundary: small value stays", 1<<32 | 3, 2, 1<<32 | 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := NewReplayWindow(64)
			w.Update(tt.top)
			if got := w.InferESN(tt.low); got != tt.want {
				t.Errorf("InferESN(%#x) with top %#x = %#x, want %#x", tt.low, tt.top, got, tt.want)
			}
		})
	}
}

// The window against the definition itself: a set of every accepted
// sequence number and the highest one. A number is new when it is above
// the highest, or within size-1 below it and not in the set. Random walks
// jump forward (often past the whole window), step back into it and
// repeat themselves, with dense phases (numbers in order), for sizes on both sides of each word boundary and
// windows far larger than any kernel's.
func TestReplayWindowAgainstDefinition(t *testing.T) {
	for _, size := range []int{1, 2, 63, 64, 65, 127, 128, 129, 1000, 4096, 1_000_000} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(size), 1))
			w := NewReplayWindow(size)
			accepted := map[uint64]bool{}
			var top uint64
			seq := uint64(1 + rng.IntN(3*size))
			for step := range 20_000 {
				switch r := rng.IntN(10); {
				case step/500%2 == 1 && r < 7:
					seq = top + 1 + uint64(rng.IntN(3)) // a dense phase
				case step/500%2 == 1 && top > 0:
					seq = top - min(top-1, uint64(rng.IntN(min(size, 200))))
				case r < 4:
					seq = top + 1 + uint64(rng.IntN(2*size+130))
				case r < 8 && top > 0:
					seq = top - min(top-1, uint64(rng.IntN(size+70)))
				case r < 9:
					seq = top + uint64(rng.IntN(3))
				}
				want := seq != 0 && (len(accepted) == 0 || seq > top || top-seq < uint64(size) && !accepted[seq])
				if got := w.Check(seq); got != want {
					t.Fatalf("step %d: Check(%d) = %v, want %v (top %d)", step, seq, got, want, top)
				}
				if want {
					w.Update(seq)
					accepted[seq] = true
					top = max(top, seq)
				}
				if w.Top() != top {
					t.Fatalf("step %d: top %d, want %d", step, w.Top(), top)
				}
			}
			if w.ring != nil && !w.dense {
				t.Errorf("the walk never made the window take its ring")
			}
		})
	}
}

// Sparse traffic (jumps of up to a million) keeps a million-packet window
// on its list of at most sparseMax numbers; a dense run then makes it take
// its ring, and both answer as the definition does (the random walks above
// pass through both too).
func TestReplayWindowSparse(t *testing.T) {
	w := NewReplayWindow(1_000_000)
	rng := rand.New(rand.NewPCG(7, 8))
	seq := uint64(0)
	for range 10_000 {
		seq += uint64(1 + rng.IntN(1_000_000))
		if !w.Check(seq) {
			t.Fatalf("%d refused", seq)
		}
		w.Update(seq)
		if w.dense || len(*w.ring) > sparseMax {
			t.Fatalf("sparse traffic made the window dense (%d listed)", len(*w.ring))
		}
	}
	// seq is top; seq-1 was never accepted, seq is.
	if !w.Check(seq-1) || w.Check(seq) {
		t.Fatal("sparse window answers wrong")
	}
	for s := seq + 1; s <= seq+sparseMax+1; s++ {
		w.Update(s)
	}
	if !w.dense || !w.Check(seq-1) {
		t.Fatalf("after a dense run: dense %v, Check(%d) %v", w.dense, seq-1, w.Check(seq-1))
	}
	for s := seq; s <= seq+sparseMax+1; s++ {
		if w.Check(s) {
			t.Fatalf("%d, accepted before the ring was taken, is not refused", s)
		}
	}
}

// A window's memory is what ReplayWindowBytes says, so that the analyzer's
// budget counts what is really held.
func TestReplayWindowBytes(t *testing.T) {
	for _, tt := range []struct {
		size int
		want int64
	}{
		{64, 0},            // the inline word
		{65, (2 + 1) * 16}, // two blocks, plus one for a window that straddles
		{4096, (64 + 1) * 16},
		{1_000_000, (15625 + 1) * 16},
	} {
		w := NewReplayWindow(tt.size)
		for seq := uint64(1); seq <= sparseMax+1; seq++ {
			w.Update(seq) // a dense run: large windows take their ring
		}
		var held int64
		if w.ring != nil {
			held = int64(len(*w.ring)) * 8
		}
		if got := ReplayWindowBytes(tt.size); got != tt.want || held != tt.want {
			t.Errorf("size %d: ReplayWindowBytes %d, ring %d bytes, want %d", tt.size, got, held, tt.want)
		}
	}
}
