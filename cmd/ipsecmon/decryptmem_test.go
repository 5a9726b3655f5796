package main

import (
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"ipsecmon/internal/benchgen"
)

// peakHeap runs fn while sampling the heap in use every 20 ms, after a
// collection before it starts, and returns the highest sample.
func peakHeap(fn func()) uint64 {
	runtime.GC()
	var peak atomic.Uint64
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		var m runtime.MemStats
		for {
			runtime.ReadMemStats(&m)
			if m.HeapInuse > peak.Load() {
				peak.Store(m.HeapInuse)
			}
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	}()
	fn()
	close(stop)
	<-done
	return peak.Load()
}

// Issue 16's acceptance "memory flat on a 1 GB capture": decrypt's peak
// heap on a keyed capture of IPSECMON_LARGE bytes (e.g. 1e9) against the
// same traffic at a tenth of the size, in the same run (benchgen's keyed
// capture: 400 SAs, real AES-GCM and AES-CBC/HMAC-SHA2 ciphertext, every
// packet decrypted and written). Only the SA table and the bounded queue of
// frames waiting for their outcome grow with the input, and the SAs are the
// same: the peak may not grow with the capture (allowed: 1.5 times the
// small run's, plus 8 MiB for the collector's pacing). Skipped unless
// IPSECMON_LARGE is set: the capture takes minutes to write and read.
func TestDecryptMemoryFlat(t *testing.T) {
	size, err := strconv.ParseFloat(os.Getenv("IPSECMON_LARGE"), 64)
	if err != nil || size <= 0 {
		t.Skip("IPSECMON_LARGE=BYTES (e.g. 1e9) runs decrypt on a capture of that size")
	}
	dir := t.TempDir()
	const perPacket = 640 // benchgen's keyed frames average about this many bytes
	run := func(packets int) (uint64, int64) {
		capture, keyFile := filepath.Join(dir, "big.pcap"), filepath.Join(dir, "big.keys")
		_, bytes, err := benchgen.WriteKeyed(capture, keyFile, benchgen.Spec{Packets: packets, Pairs: 200})
		if err != nil {
			t.Fatal(err)
		}
		out := filepath.Join(dir, "plain.pcapng")
		var code int
		var stderr string
		peak := peakHeap(func() {
			_, stderr, code = runCmd(t, "decrypt", "-q", "-r", capture, "-k", keyFile, "-w", out)
		})
		if code != exitOK {
			t.Fatalf("decrypt: exit %d: %s", code, stderr)
		}
		st, err := os.Stat(out)
		if err != nil {
			t.Fatal(err)
		}
		os.Remove(out)
		os.Remove(capture)
		t.Logf("%d packets, %d MB capture, %d MB written: peak heap %.1f MiB", packets, bytes/1e6, st.Size()/1e6, float64(peak)/(1<<20))
		return peak, bytes
	}
	n := int(size / perPacket)
	small, _ := run(n / 10)
	big, bytes := run(n)
	if bytes < int64(size*0.8) {
		t.Errorf("the capture has %d bytes, want about %g", bytes, size)
	}
	if float64(big) > 1.5*float64(small)+8<<20 {
		t.Errorf("peak heap %.1f MiB on the whole capture, %.1f MiB on a tenth of it: memory grows with the input", float64(big)/(1<<20), float64(small)/(1<<20))
	}
}
