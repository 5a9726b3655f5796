//go:build linux

package capture

/*
#cgo LDFLAGS: -lpcap
#include <pcap.h>
#include <poll.h>
#include <stdint.h>
#include <string.h>

struct ipm_frame {
	int64_t sec, frac; // frac: micro- or nanoseconds, the handle's precision
	uint32_t caplen, len;
	size_t off;        // in the arena
};

struct ipm_batch {
	pcap_t *p;
	struct ipm_frame *frames;
	int max, n;
	unsigned char *arena;
	size_t cap, used;
	size_t room;       // the most one packet can take: the snapshot length
	uint64_t excess;   // packets handed over beyond max (dropped; an error)
};

// ipm_copy keeps a packet libpcap hands over: its bytes are valid only
// during the callback (the ring block goes back to the kernel once read).
static void ipm_copy(u_char *user, const struct pcap_pkthdr *h, const u_char *bytes) {
	struct ipm_batch *b = (struct ipm_batch *)user;
	if (b->n >= b->max) { // libpcap was asked for at most max: never
		b->excess++;
		return;
	}
	struct ipm_frame *f = &b->frames[b->n++];
	size_t n = h->caplen;
	if (n > b->room) // libpcap trims to the snapshot; never trust it to
		n = b->room;
	f->sec = h->ts.tv_sec;
	f->frac = h->ts.tv_usec;
	f->caplen = n;
	f->len = h->len;
	f->off = b->used;
	memcpy(b->arena + b->used, bytes, n);
	b->used += (n + 15) & ~(size_t)15;
	// The next packet might not fit: stop after this one. pcap_breakloop
	// is documented for use from a callback; libpcap keeps its place in
	// the ring block and resets the flag before pcap_dispatch returns.
	if (b->used + b->room > b->cap)
		pcap_breakloop(b->p);
}

// ipm_dispatch: the packets copied, or a PCAP_ERROR (PCAP_ERROR_BREAK is
// ipm_copy's own stop).
static int ipm_dispatch(struct ipm_batch *b) {
	int r = pcap_dispatch(b->p, b->max, ipm_copy, (u_char *)b);
	return r < 0 && r != PCAP_ERROR_BREAK ? r : b->n;
}

// ipm_read fills frames (max of them) and arena (cap bytes) with what
// libpcap has, waiting at most wait_ms when it has nothing: the number of
// packets, or a PCAP_ERROR. Both are Go memory, held for this call only,
// as cgo's rules ask. gopacket puts the handle in non-blocking mode, so the
// wait is a poll of its descriptor, as gopacket's own reads do it
// (libpcap's ring makes the descriptor readable when a block is handed
// over, at the latest at the read timeout).
static int ipm_read(pcap_t *p, struct ipm_frame *frames, int max, unsigned char *arena, size_t cap, int wait_ms, uint64_t *excess) {
	struct ipm_batch b = { .p = p, .frames = frames, .max = max, .arena = arena, .cap = cap, .room = (size_t)pcap_snapshot(p) };
	int r = ipm_dispatch(&b);
	if (r == 0) {
		int fd = pcap_get_selectable_fd(p);
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		if (fd >= 0 && poll(&pfd, 1, wait_ms) > 0)
			r = ipm_dispatch(&b);
	}
	*excess = b.excess;
	return r;
}
*/
import "C"

import (
	"errors"
	"fmt"
	"io"
	"reflect"
	"sync"
	"time"
	"unsafe"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/pcap"
)

// batchReader reads a live handle a batch at a time: one pcap_dispatch
// (one cgo call) hands over everything libpcap has ready, up to
// batchFrames packets, instead of one pcap_next_ex per packet through
// gopacket, with its cgo call, its locks and libpcap's per-call set-up
// around each packet's copy (in ipsecmon-lab liverate's trials batches
// took about a tenth off the CPU of a keyed packet). The copy stays:
// pcap_next_ex made the same one into libpcap's own buffer.
//
// The frames and their bytes are Go memory, which libpcap's callback
// writes into during the call that reads a batch: a packet read before
// Close stays readable after it, and the C side keeps nothing between
// calls. (Pinning them for the reader's life instead made a reader
// dropped without Close a panic of the runtime's.)
type batchReader struct {
	frames []C.struct_ipm_frame
	arena  []byte
	n      int // frames in the batch
	next   int
	nano   bool
	excess C.uint64_t // what the last read counted beyond the frames

	mu sync.Mutex // a read in libpcap against closing the handle under it
	p  *C.pcap_t  // nil once closed
}

const (
	batchFrames = 256
	batchArena  = 2 << 20 // grown to two packets of the snapshot length if that is more
)

// handlePtr is libpcap's pcap_t behind a gopacket handle. gopacket does not
// export it; the field is read through reflection, and a gopacket whose
// Handle has no such pointer gets the per-packet reads instead (the live
// tests check that the batched reader is the one in use).
func handlePtr(h *pcap.Handle) unsafe.Pointer {
	f := reflect.ValueOf(h).Elem().FieldByName("cptr")
	if !f.IsValid() || f.Kind() != reflect.Pointer {
		return nil
	}
	return *(*unsafe.Pointer)(unsafe.Pointer(f.UnsafeAddr()))
}

// newBatchReader returns nil where batches cannot be read from h.
func newBatchReader(h *pcap.Handle) *batchReader {
	p := handlePtr(h)
	if p == nil {
		return nil
	}
	return &batchReader{
		frames: make([]C.struct_ipm_frame, batchFrames),
		arena:  make([]byte, max(batchArena, 2*h.SnapLen())),
		nano:   h.Resolution() == gopacket.TimestampResolutionNanosecond,
		p:      (*C.pcap_t)(p),
	}
}

// read returns the next packet; its bytes are valid until the batch after
// the current one is read, which is longer than the Source contract asks.
// A read that waited the read timeout for nothing says so as gopacket's
// own reads do.
func (r *batchReader) read() ([]byte, gopacket.CaptureInfo, error) {
	if r.next >= r.n {
		r.mu.Lock()
		if r.p == nil {
			r.mu.Unlock()
			return nil, gopacket.CaptureInfo{}, io.EOF
		}
		n := int(C.ipm_read(r.p, &r.frames[0], C.int(len(r.frames)), (*C.uchar)(&r.arena[0]), C.size_t(len(r.arena)),
			C.int(readTimeout.Milliseconds()), &r.excess))
		if n < 0 {
			err := errors.New(C.GoString(C.pcap_geterr(r.p)))
			r.mu.Unlock()
			return nil, gopacket.CaptureInfo{}, err
		}
		r.mu.Unlock()
		r.n, r.next = n, 0
		if r.excess > 0 {
			// The batch's packets come with the next reads.
			return nil, gopacket.CaptureInfo{}, fmt.Errorf("libpcap handed over %d packets more than the %d asked for (not analysed)", r.excess, len(r.frames))
		}
		if n == 0 {
			return nil, gopacket.CaptureInfo{}, pcap.NextErrorTimeoutExpired
		}
	}
	f := &r.frames[r.next]
	r.next++
	frac := int64(f.frac)
	if !r.nano {
		frac *= 1000
	}
	ci := gopacket.CaptureInfo{
		Timestamp:     time.Unix(int64(f.sec), frac),
		CaptureLength: int(f.caplen),
		Length:        int(f.len),
	}
	return r.arena[f.off : f.off+C.size_t(f.caplen) : f.off+C.size_t(f.caplen)], ci, nil
}

// close closes the handle once no read is in libpcap; reads after it
// return io.EOF.
func (r *batchReader) close(h *pcap.Handle) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.p != nil {
		h.Close()
		r.p = nil
	}
}
