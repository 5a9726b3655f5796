package relay

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// OpenTUN creates (or attaches to) the TUN device name without packet
// information headers: each read and write is one IP packet.
func OpenTUN(name string) (*os.File, error) {
	fd, err := unix.Open("/dev/net/tun", unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("relay: /dev/net/tun: %w", err)
	}
	ifr, err := unix.NewIfreq(name)
	if err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("relay: device name %q: %w", name, err)
	}
	ifr.SetUint16(unix.IFF_TUN | unix.IFF_NO_PI)
	if err := unix.IoctlIfreq(fd, unix.TUNSETIFF, ifr); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("relay: TUNSETIFF %s: %w", name, err)
	}
	return os.NewFile(uintptr(fd), "/dev/net/tun:"+name), nil
}

// tick is how often held packets are checked against MaxHold.
const tick = 10 * time.Millisecond

// Run relays packets on dev until ctx ends: every packet read is written
// back to the same device (the kernel then routes it on, since it now
// arrives from the TUN device and not from the interface the routing rule
// sends to it), in the order r decides. Each forwarded ESP packet is logged
// to log as one JSON line (Record). When ctx ends, held packets are
// released and logged.
func Run(ctx context.Context, dev io.ReadWriter, r *Relay, log io.Writer) error {
	type read struct {
		pkt []byte
		err error
	}
	in := make(chan read)
	go func() {
		for {
			buf := make([]byte, 65536)
			n, err := dev.Read(buf)
			select {
			case in <- read{buf[:n], err}:
			case <-ctx.Done():
				return
			}
			if err != nil {
				return
			}
		}
	}()
	enc := json.NewEncoder(log)
	send := func(outs []Out) error {
		for _, o := range outs {
			if _, err := dev.Write(o.Pkt); err != nil {
				return fmt.Errorf("relay: write: %w", err)
			}
			if o.Record != nil {
				if err := enc.Encode(o.Record); err != nil {
					return err
				}
			}
		}
		return nil
	}
	t := time.NewTicker(tick)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return send(r.Flush(time.Now()))
		case rd := <-in:
			if rd.err != nil {
				return fmt.Errorf("relay: read: %w", rd.err)
			}
			if err := send(r.Push(rd.pkt, time.Now())); err != nil {
				return err
			}
		case now := <-t.C:
			if err := send(r.Tick(now)); err != nil {
				return err
			}
		}
	}
}
