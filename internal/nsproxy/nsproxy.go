// Package nsproxy forwards TCP connections from this network namespace to
// an address inside another one. The lab's gateways live in namespaces of
// their own, where their exporters listen on loopback; a Prometheus server
// on this namespace's loopback reaches them through it, without any
// interface added to the gateways (charon watches its interfaces and
// addresses, and MOBIKE would react to a new one).
package nsproxy

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"sync"

	"golang.org/x/sys/unix"
)

// DialIn connects to addr (host:port) from inside the network namespace
// at nsPath (e.g. /run/netns/NAME). A socket belongs to the namespace of
// the thread that creates it: the dial runs on a thread locked to this
// goroutine and moved into the namespace, and moved back after.
func DialIn(ctx context.Context, nsPath, addr string) (net.Conn, error) {
	target, err := os.Open(nsPath)
	if err != nil {
		return nil, fmt.Errorf("nsproxy: %w", err)
	}
	defer target.Close()
	runtime.LockOSThread()
	own, err := os.Open(fmt.Sprintf("/proc/self/task/%d/ns/net", unix.Gettid()))
	if err != nil {
		runtime.UnlockOSThread()
		return nil, fmt.Errorf("nsproxy: %w", err)
	}
	defer own.Close()
	if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
		runtime.UnlockOSThread()
		return nil, fmt.Errorf("nsproxy: setns %s: %w", nsPath, err)
	}
	var d net.Dialer
	c, dialErr := d.DialContext(ctx, "tcp", addr)
	if err := unix.Setns(int(own.Fd()), unix.CLONE_NEWNET); err != nil {
		// The thread stays in the other namespace: leave it locked, so
		// that it ends with this goroutine instead of serving others.
		if c != nil {
			c.Close()
		}
		return nil, fmt.Errorf("nsproxy: back from %s: %w", nsPath, err)
	}
	runtime.UnlockOSThread()
	if dialErr != nil {
		return nil, fmt.Errorf("nsproxy: %s in %s: %w", addr, nsPath, dialErr)
	}
	return c, nil
}

// Serve accepts connections on ln until ctx ends and forwards each to
// addr inside the namespace at nsPath, both ways, until either side
// closes. A connection that cannot be forwarded is closed (the client sees
// a failed request, as with a server that is down).
func Serve(ctx context.Context, ln net.Listener, nsPath, addr string) error {
	go func() {
		<-ctx.Done()
		ln.Close()
	}()
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		c, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("nsproxy: %w", err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer c.Close()
			up, err := DialIn(ctx, nsPath, addr)
			if err != nil {
				return
			}
			defer up.Close()
			done := make(chan struct{}, 2)
			pipe := func(dst, src net.Conn) {
				io.Copy(dst, src)
				if tc, ok := dst.(*net.TCPConn); ok {
					tc.CloseWrite()
				}
				done <- struct{}{}
			}
			go pipe(up, c)
			go pipe(c, up)
			select {
			case <-done:
				<-done
			case <-ctx.Done():
			}
		}()
	}
}
