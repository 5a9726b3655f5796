package ikestate

import (
	"testing"
	"time"
)

// The history of the lifecycle counts is capped: beyond MaxHistory changes
// the counts go on, and the moments from the first change not kept on are
// reported as unknown rather than undercounted.
func TestHistoryCap(t *testing.T) {
	tr := New(nil)
	t0 := time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC)
	for i := 0; i < MaxHistory+10; i++ {
		tr.count(&tr.deletions, TallyDeletion, t0.Add(time.Duration(i)*time.Millisecond))
	}
	h := tr.History()
	if len(h.Changes) != MaxHistory || tr.deletions != MaxHistory+10 {
		t.Fatalf("%d changes kept, %d counted", len(h.Changes), tr.deletions)
	}
	lost := t0.Add(MaxHistory * time.Millisecond)
	if !h.LostFrom.Equal(lost) || h.Lost != 10 || tr.HistoryLost() != 10 {
		t.Errorf("lost from %v, want %v", h.LostFrom, lost)
	}
	if n, ok := h.CountAt(TallyDeletion, t0.Add(99*time.Millisecond)); !ok || n != 100 {
		t.Errorf("at 99 ms: %d %v, want 100", n, ok)
	}
	if _, ok := h.CountAt(TallyDeletion, lost); ok {
		t.Error("a count from the first change not kept on is reported as known")
	}
	if _, _, _, ok := h.LifecycleAt(lost.Add(time.Hour)); ok {
		t.Error("LifecycleAt after the loss is reported as known")
	}
}
