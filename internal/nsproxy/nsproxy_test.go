package nsproxy

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"runtime"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// listenIn listens on 127.0.0.1:0 inside the namespace at nsPath.
func listenIn(t *testing.T, nsPath string) net.Listener {
	t.Helper()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	own, err := os.Open(fmt.Sprintf("/proc/self/task/%d/ns/net", unix.Gettid()))
	if err != nil {
		t.Fatal(err)
	}
	defer own.Close()
	ns, err := os.Open(nsPath)
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Close()
	if err := unix.Setns(int(ns.Fd()), unix.CLONE_NEWNET); err != nil {
		t.Fatal(err)
	}
	ln, lerr := net.Listen("tcp", "127.0.0.1:0")
	if err := unix.Setns(int(own.Fd()), unix.CLONE_NEWNET); err != nil {
		t.Fatal(err) // the locked thread dies with the test
	}
	if lerr != nil {
		t.Fatal(lerr)
	}
	return ln
}

// A server that exists only inside a namespace of its own (its port is
// closed in this one) answers through the forwarder, both ways.
func TestForwardIntoNamespace(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root (network namespaces)")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("no ip(8)")
	}
	name := fmt.Sprintf("nsproxy-test-%d", os.Getpid())
	if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
		t.Skipf("ip netns add: %v %s", err, out)
	}
	defer exec.Command("ip", "netns", "del", name).Run()
	if out, err := exec.Command("ip", "-n", name, "link", "set", "lo", "up").CombinedOutput(); err != nil {
		t.Fatalf("lo up: %v %s", err, out)
	}
	nsPath := "/run/netns/" + name
	inner := listenIn(t, nsPath)
	defer inner.Close()
	addr := inner.Addr().String()
	go func() {
		for {
			c, err := inner.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				b, _ := io.ReadAll(c)
				fmt.Fprintf(c, "inside got %q", b)
			}()
		}
	}()
	// Here the namespace's address is nobody's.
	if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		c.Close()
		t.Skipf("%s also answers in this namespace; the test cannot tell", addr)
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	outer, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- Serve(ctx, outer, nsPath, addr) }()
	for i := range 3 { // several connections, each on whatever thread
		c, err := net.Dial("tcp", outer.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(c, "ping %d", i)
		c.(*net.TCPConn).CloseWrite()
		c.SetDeadline(time.Now().Add(5 * time.Second))
		b, err := io.ReadAll(c)
		c.Close()
		if want := fmt.Sprintf("inside got \"ping %d\"", i); err != nil || string(b) != want {
			t.Errorf("answer %q (%v), want %q", b, err, want)
		}
	}
	cancel()
	if err := <-served; err != nil {
		t.Errorf("Serve: %v", err)
	}
	if _, err := DialIn(context.Background(), "/run/netns/no-such-namespace", addr); err == nil {
		t.Error("DialIn into a missing namespace succeeded")
	}
}
