package main

import (
	"bytes"
	"context"
	"runtime"
	"runtime/trace"
	"testing"
	"time"
)

// One goroutine spins while the other waits for it, on 2 Ps: one P has
// nothing to run for about half the P time. The shares come from goroutine
// states, not from how fast the spinner ran, so a loaded machine does not
// move them much; the bounds are wide for the runtime's own goroutines.
func TestOneOfTwoPsIdle(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
	var buf bytes.Buffer
	if err := trace.Start(&buf); err != nil {
		t.Skip("tracing unavailable:", err)
	}
	trace.Log(context.Background(), "ipsecmon-bench", "start")
	done := make(chan struct{})
	go func() {
		for end := time.Now().Add(200 * time.Millisecond); time.Now().Before(end); {
		}
		close(done)
	}()
	<-done
	trace.Log(context.Background(), "ipsecmon-bench", "stop")
	trace.Stop()
	s, err := read(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if s.procs != 2 {
		t.Fatalf("%d Ps, want 2", s.procs)
	}
	idle := s.idleNoWork / (2 * s.wall)
	if idle < 0.35 || idle > 0.65 {
		t.Errorf("idle with nothing runnable %.2f of the P time, want about 0.5\n%s", idle, s)
	}
	if s.byRunning[1]/s.wall < 0.8 {
		t.Errorf("one goroutine running %.2f of the time, want nearly all\n%s", s.byRunning[1]/s.wall, s)
	}
}
