package replay

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// batchFrames are handed to the kernel per system call by RunBatched.
const batchFrames = 64

// RunBatched is RunAt with the frames handed to the kernel batchFrames at
// a time by sendmmsg(2) on a packet socket bound to iface: one system call
// per batch instead of one per frame (libpcap's pcap_sendpacket), so that
// a rate measurement is limited by the capturer before the sender. Counts
// are what the kernel accepted, as RunAt's.
func RunBatched(ctx context.Context, iface string, files []string, loops int, pps float64) (Report, error) {
	rep := Report{Interface: iface, Files: files, Loops: loops}
	if loops < 1 {
		return rep, fmt.Errorf("replay: loops %d: need at least 1", loops)
	}
	ifi, err := net.InterfaceByName(iface)
	if err != nil {
		return rep, fmt.Errorf("replay: %w", err)
	}
	// Protocol 0: the socket receives nothing, it only sends.
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW, 0)
	if err != nil {
		return rep, fmt.Errorf("replay: packet socket: %w", err)
	}
	defer unix.Close(fd)
	if err := unix.Bind(fd, &unix.SockaddrLinklayer{Ifindex: ifi.Index}); err != nil {
		return rep, fmt.Errorf("replay: bind to %s: %w", iface, err)
	}
	b := &mmsgBatch{fd: fd}
	start := time.Now()
	for l := 0; l < loops && err == nil; l++ {
		for _, name := range files {
			if err = b.sendFile(ctx, name, &rep, start, pps); err != nil {
				break
			}
		}
	}
	if err == nil {
		err = b.flush(&rep)
	}
	rep.Seconds = time.Since(start).Seconds()
	return rep, err
}

// mmsgBatch holds up to batchFrames frames copied out of the reader's buffer.
type mmsgBatch struct {
	fd    int
	n     int
	arena [batchFrames][]byte
	iov   [batchFrames]unix.Iovec
	msgs  [batchFrames]unix.Mmsghdr
}

func (b *mmsgBatch) sendFile(ctx context.Context, name string, rep *Report, start time.Time, pps float64) error {
	f, r, err := openCapture(name)
	if err != nil {
		return err
	}
	defer f.Close()
	for n := 1; ; n++ {
		data, _, err := r.ZeroCopyReadPacketData()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("replay: %s: packet %d: %w", name, n, err)
		}
		b.arena[b.n] = append(b.arena[b.n][:0], data...)
		b.n++
		if b.n < batchFrames {
			continue
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if pps > 0 {
			// Sent so far plus this batch, at the requested rate.
			due := time.Duration(float64(rep.Packets+uint64(b.n)) / pps * float64(time.Second))
			if ahead := due - time.Since(start); ahead > 0 {
				time.Sleep(ahead)
			}
		}
		if err := b.flush(rep); err != nil {
			return fmt.Errorf("replay: %s: near packet %d: %w", name, n, err)
		}
	}
}

// flush sends the batch, retrying what the kernel refused for a full queue.
func (b *mmsgBatch) flush(rep *Report) error {
	for i := 0; i < b.n; i++ {
		b.iov[i] = unix.Iovec{Base: &b.arena[i][0]}
		b.iov[i].SetLen(len(b.arena[i]))
		b.msgs[i] = unix.Mmsghdr{}
		b.msgs[i].Hdr.Iov = &b.iov[i]
		b.msgs[i].Hdr.SetIovlen(1)
	}
	done, tries := 0, 0
	for done < b.n {
		r, _, errno := unix.Syscall6(unix.SYS_SENDMMSG, uintptr(b.fd), uintptr(unsafe.Pointer(&b.msgs[done])), uintptr(b.n-done), 0, 0, 0)
		if errno != 0 {
			if errno != unix.ENOBUFS && errno != unix.EAGAIN && errno != unix.EINTR {
				return errno
			}
			if tries++; tries >= maxRetries {
				return fmt.Errorf("queue full for %d tries: %w", tries, errno)
			}
			rep.Retries++
			time.Sleep(5 * time.Microsecond)
			continue
		}
		for _, m := range b.msgs[done : done+int(r)] {
			rep.Bytes += uint64(m.Len)
		}
		rep.Packets += uint64(r)
		done += int(r)
	}
	b.n = 0
	return nil
}
