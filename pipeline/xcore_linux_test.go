package pipeline_test

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// crossCoreRTT is how long two threads pinned to the first two CPUs take
// to pass a cache line there and back. Handing a packet to a worker costs
// mostly such passes, and on a virtual machine their time depends on where
// the hypervisor puts the vCPUs at the moment: on the 2-core development
// machine it moved between about 110 and 480 ns from one quarter hour to
// the next, and the keyed ratios with it.
func crossCoreRTT() (time.Duration, bool) {
	var all unix.CPUSet
	if unix.SchedGetaffinity(0, &all) != nil {
		return 0, false
	}
	var cpus []int
	for c := 0; c < 1024 && len(cpus) < 2; c++ {
		if all.IsSet(c) {
			cpus = append(cpus, c)
		}
	}
	if len(cpus) < 2 || runtime.GOMAXPROCS(0) < 2 {
		return 0, false
	}
	// pin locks the goroutine to its thread and the thread to cpu; the
	// function it returns undoes both, so that the runtime gets its thread
	// back unpinned.
	pin := func(cpu int) func() {
		runtime.LockOSThread()
		var one unix.CPUSet
		one.Set(cpu)
		_ = unix.SchedSetaffinity(0, &one)
		return func() {
			_ = unix.SchedSetaffinity(0, &all)
			runtime.UnlockOSThread()
		}
	}
	const rounds = 20000
	var flag atomic.Int64
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer pin(cpus[1])()
		for i := int64(1); i <= rounds; i++ {
			for flag.Load() != 2*i-1 {
			}
			flag.Store(2 * i)
		}
	}()
	unpin := pin(cpus[0])
	start := time.Now()
	for i := int64(1); i <= rounds; i++ {
		flag.Store(2*i - 1)
		for flag.Load() != 2*i {
		}
	}
	d := time.Since(start)
	unpin()
	wg.Wait()
	return d / rounds, true
}
