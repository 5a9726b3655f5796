package stress

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"math/rand/v2"
	"net/netip"
	"os"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	pb "ipsecmon/internal/pktbuild"
)

// Addresses of the attacked gateway and of its one genuine peer
// (documentation ranges, RFC 5737).
var (
	Gateway = [4]byte{192, 0, 2, 1}
	Peer    = [4]byte{198, 51, 100, 2}
)

// start is the capture clock of every generated input.
var start = time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)

// frameWriter writes raw-IPv4 frames to a pcap, one microsecond apart
// unless told otherwise.
type frameWriter struct {
	bw *bufio.Writer
	w  *pcapgo.Writer
	t  time.Time
	n  int
}

func newFrameWriter(out io.Writer) (*frameWriter, error) {
	bw := bufio.NewWriterSize(out, 1<<20)
	w := pcapgo.NewWriterNanos(bw)
	if err := w.WriteFileHeader(65535, layers.LinkTypeRaw); err != nil {
		return nil, err
	}
	return &frameWriter{bw: bw, w: w, t: start}, nil
}

func (f *frameWriter) write(pkt []byte) error {
	f.t = f.t.Add(time.Microsecond)
	f.n++
	return f.w.WritePacket(gopacket.CaptureInfo{Timestamp: f.t, CaptureLength: len(pkt), Length: len(pkt)}, pkt)
}

func (f *frameWriter) flush() error { return f.bw.Flush() }

// GenEthernet writes what gen writes with every packet in an Ethernet
// frame (EtherType IPv4), so that it can be injected into an interface.
func GenEthernet(out io.Writer, gen Generator, n int, keyPath string) (int, error) {
	pr, pw := io.Pipe()
	defer pr.Close() // unblocks gen if reading stops early
	errc := make(chan error, 1)
	go func() {
		_, err := gen(pw, n, keyPath)
		pw.CloseWithError(err)
		errc <- err
	}()
	r, err := pcapgo.NewReader(pr)
	if err != nil {
		return 0, err
	}
	bw := bufio.NewWriterSize(out, 1<<20)
	w := pcapgo.NewWriterNanos(bw)
	if err := w.WriteFileHeader(65535, layers.LinkTypeEthernet); err != nil {
		return 0, err
	}
	frames := 0
	for {
		data, ci, err := r.ReadPacketData()
		if err == io.EOF {
			break
		}
		if err != nil {
			return frames, err
		}
		frame := pb.Cat(pb.Eth(0x0800), data)
		ci.CaptureLength, ci.Length = len(frame), len(frame)
		if err := w.WritePacket(ci, frame); err != nil {
			return frames, err
		}
		frames++
	}
	if err := <-errc; err != nil {
		return frames, err
	}
	return frames, bw.Flush()
}

// spoofed returns a source address in 10.0.0.0/8 drawn from rng: what a
// flood with forged sources looks like.
func spoofed(rng *rand.Rand) [4]byte {
	v := rng.Uint32()
	return [4]byte{10, byte(v >> 16), byte(v >> 8), byte(v)}
}

// genPairs writes n spoofed SA pairs between the gateway and its peer: one
// ESP packet each way per pair, every SPI new. Nothing ties the two
// directions together but their addresses, so pairing has n candidates for
// each SA.
func genPairs(out io.Writer, n int, _ string) (int, error) {
	fw, err := newFrameWriter(out)
	if err != nil {
		return 0, err
	}
	for i := range n {
		if err := fw.write(pb.ESPPacket(Peer, Gateway, 0x10000000+uint32(i), 1, 64)); err != nil {
			return fw.n, err
		}
		if err := fw.write(pb.ESPPacket(Gateway, Peer, 0x20000000+uint32(i), 1, 64)); err != nil {
			return fw.n, err
		}
	}
	return fw.n, fw.flush()
}

// genLoneSAs writes n SAs of one packet each, all to the gateway: the SA
// view has n rows.
func genLoneSAs(out io.Writer, n int, _ string) (int, error) {
	fw, err := newFrameWriter(out)
	if err != nil {
		return 0, err
	}
	for i := range n {
		if err := fw.write(pb.ESPPacket(Peer, Gateway, 0x10000000+uint32(i), 1, 64)); err != nil {
			return fw.n, err
		}
	}
	return fw.n, fw.flush()
}

// genBadSPI writes n ESP packets with random SPIs from spoofed sources to
// the gateway, whose complete SA list (one SA, in `ip xfrm state` form) is
// written to keyPath: every packet is a Bad SPI.
func genBadSPI(out io.Writer, n int, keyPath string) (int, error) {
	if err := writeFile(keyPath, XfrmState); err != nil {
		return 0, err
	}
	rng := rand.New(rand.NewPCG(3, 4))
	fw, err := newFrameWriter(out)
	if err != nil {
		return 0, err
	}
	for range n {
		spi := rng.Uint32() | 0x100 // SPIs 1-255 are reserved (RFC 4303 §2.1)
		if err := fw.write(pb.ESPPacket(spoofed(rng), Gateway, spi, 1, 64)); err != nil {
			return fw.n, err
		}
	}
	return fw.n, fw.flush()
}

// XfrmState is the gateway's SA database as `ip xfrm state` prints it: one
// inbound SA. With it the gateway's SA list is complete (package keys
// treats an xfrm dump as authoritative).
const XfrmState = `src 198.51.100.2 dst 192.0.2.1
	proto esp spi 0x0000c001 reqid 1 mode tunnel
	replay-window 32 flag af-unspec
	auth-trunc hmac(sha256) 0x00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff 128
	enc cbc(aes) 0x00112233445566778899aabbccddeeff
	anti-replay context: seq 0x0, oseq 0x0, bitmap 0x00000000
	sel src 0.0.0.0/0 dst 0.0.0.0/0
`

// genReplay writes n ESP packets over n/4000 SAs (at least one), 4000 per
// SPI, whose sequence numbers jump ahead by up to a million at a time (4000
// jumps stay below 2^32), with one packet in four going back into the last
// million: the traffic that costs a large anti-replay window most, since
// each jump passes over most of it.
func genReplay(out io.Writer, n int, _ string) (int, error) {
	rng := rand.New(rand.NewPCG(7, 8))
	fw, err := newFrameWriter(out)
	if err != nil {
		return 0, err
	}
	const perSPI = 4000
	sas := max(1, n/perSPI)
	seq := make([]uint32, sas)
	for i := range n {
		sa, k := i%sas, i/sas
		if k%perSPI == 0 {
			seq[sa] = 0
		}
		s := seq[sa]
		if s > 1_000_000 && rng.IntN(4) == 0 {
			s -= uint32(1 + rng.IntN(1_000_000))
		} else {
			s += uint32(1 + rng.IntN(1_000_000))
			seq[sa] = s
		}
		spi := 0x30000000 + uint32(sa)<<8 + uint32(k/perSPI)
		if err := fw.write(pb.ESPPacket(Peer, Gateway, spi, s, 64)); err != nil {
			return fw.n, err
		}
	}
	return fw.n, fw.flush()
}

// genFragments writes n IPv4 datagrams of UDP to port 500 (a large IKE
// message, as far as a reassembler can tell) whose last fragment never
// comes, interleaved: first every datagram's first fragment, an 8-byte
// one holding the UDP header, then every datagram's second fragment of
// 1480 bytes, and so on up to 44 fragments each. A reassembler that checks
// its memory limit only when a datagram begins holds all of them.
func genFragments(out io.Writer, n int, _ string) (int, error) {
	fw, err := newFrameWriter(out)
	if err != nil {
		return 0, err
	}
	const pieces, size = 44, 1480
	total := 8 + pieces*size // the datagram's data; its last 1480 bytes never come
	data := make([]byte, size)
	for j := range pieces {
		for i := range n {
			src := [4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}
			off, body := 0, pb.UDP(500, 500, total-8)
			if j > 0 {
				off, body = 8+(j-1)*size, data
			}
			f := pb.Cat(pb.IPv4(17, src, Gateway, len(body), 0x2000|uint16(off/8)), body)
			binary.BigEndian.PutUint16(f[4:], uint16(i))
			if err := fw.write(f); err != nil {
				return fw.n, err
			}
		}
	}
	return fw.n, fw.flush()
}

// IKEv2 numbers (RFC 7296 §3.1, §3.2, §3.3.2; RFC 7383 §2.5 for SKF).
const (
	ikeSAInit       = 34
	ikeInformation  = 37
	payloadSA       = 33
	payloadKE       = 34
	payloadNonce    = 40
	payloadSK       = 46
	payloadSKF      = 53
	flagInitiator   = 0x08
	flagResponse    = 0x20
	ikeHeaderLength = 28
)

// ikeHeader is an IKEv2 header (RFC 7296 §3.1) for a message of length bytes.
func ikeHeader(ispi, rspi uint64, next, exchange, flags uint8, msgID uint32, length int) []byte {
	h := make([]byte, ikeHeaderLength)
	binary.BigEndian.PutUint64(h[0:], ispi)
	binary.BigEndian.PutUint64(h[8:], rspi)
	h[16], h[17], h[18], h[19] = next, 0x20, exchange, flags
	binary.BigEndian.PutUint32(h[20:], msgID)
	binary.BigEndian.PutUint32(h[24:], uint32(length))
	return h
}

// payload is a generic payload header (RFC 7296 §3.2) and its body.
func payload(next uint8, body []byte) []byte {
	return pb.Cat([]byte{next, 0}, pb.U16(uint16(4+len(body))), body)
}

// transform is a transform substructure (RFC 7296 §3.3.2).
func transform(last bool, typ uint8, id uint16, attrs []byte) []byte {
	more := byte(3)
	if last {
		more = 0
	}
	return pb.Cat([]byte{more, 0}, pb.U16(uint16(8+len(attrs))), []byte{typ, 0}, pb.U16(id), attrs)
}

// saInitOffer is the SA payload body of a typical IKE_SA_INIT request: one
// IKE proposal, AES-CBC-256, HMAC-SHA2-256 PRF and integrity, MODP 2048.
var saInitOffer = func() []byte {
	ts := pb.Cat(
		transform(false, 1, 12, pb.Cat(pb.U16(0x800e), pb.U16(256))),
		transform(false, 2, 5, nil),
		transform(false, 3, 12, nil),
		transform(true, 4, 14, nil),
	)
	return pb.Cat([]byte{0, 0}, pb.U16(uint16(8+len(ts))), []byte{1, 1, 0, 4}, ts)
}()

// ikeUDP wraps an IKE message in UDP 500 and IPv4.
func ikeUDP(src, dst [4]byte, msg []byte) []byte {
	return pb.Cat(pb.IPv4(17, src, dst, 8+len(msg), 0), pb.UDP(500, 500, len(msg)), msg)
}

// genIKEInit writes n IKE_SA_INIT requests (SA, KE with 256 bytes of
// MODP-2048 public value, a 32-byte nonce) from spoofed sources, each with
// a new initiator SPI: a flood of half-open IKE SAs, as a responder without
// cookies would face it.
func genIKEInit(out io.Writer, n int, _ string) (int, error) {
	rng := rand.New(rand.NewPCG(11, 12))
	fw, err := newFrameWriter(out)
	if err != nil {
		return 0, err
	}
	ke := pb.Cat(pb.U16(14), pb.U16(0), make([]byte, 256))
	nonce := make([]byte, 32)
	for range n {
		for i := range nonce {
			nonce[i] = byte(rng.Uint32())
		}
		body := pb.Cat(payload(payloadKE, saInitOffer), payload(payloadNonce, ke), payload(0, nonce))
		msg := pb.Cat(ikeHeader(rng.Uint64()|1, 0, payloadSA, ikeSAInit, flagInitiator, 0, ikeHeaderLength+len(body)), body)
		if err := fw.write(ikeUDP(spoofed(rng), Gateway, msg)); err != nil {
			return fw.n, err
		}
	}
	return fw.n, fw.flush()
}

// genIKEResponders writes n IKE_SA_INIT responses that share one initiator
// SPI, each from a different responder SPI: every message names an IKE SA
// the tracker has not seen, among n others with the same initiator SPI.
func genIKEResponders(out io.Writer, n int, _ string) (int, error) {
	rng := rand.New(rand.NewPCG(13, 14))
	fw, err := newFrameWriter(out)
	if err != nil {
		return 0, err
	}
	const ispi = 0x0123456789abcdef
	nonce := make([]byte, 32)
	for range n {
		msg := pb.Cat(ikeHeader(ispi, rng.Uint64()|1, payloadNonce, ikeSAInit, flagResponse, 0, ikeHeaderLength+4+len(nonce)), payload(0, nonce))
		if err := fw.write(ikeUDP(spoofed(rng), Gateway, msg)); err != nil {
			return fw.n, err
		}
	}
	return fw.n, fw.flush()
}

// genIKEMessages writes n INFORMATIONAL requests on one IKE SA, each with
// its own message ID and 64 encrypted bytes: none is a retransmission of
// another, so each is a new message of that SA.
func genIKEMessages(out io.Writer, n int, _ string) (int, error) {
	rng := rand.New(rand.NewPCG(15, 16))
	fw, err := newFrameWriter(out)
	if err != nil {
		return 0, err
	}
	sk := make([]byte, 64)
	for i := range n {
		for j := range sk {
			sk[j] = byte(rng.Uint32())
		}
		body := payload(0, sk)
		body[0] = 42 // the first inner payload would be a Delete
		msg := pb.Cat(ikeHeader(0x1111, 0x2222, payloadSK, ikeInformation, flagInitiator, uint32(i+1), ikeHeaderLength+len(body)), body)
		if err := fw.write(ikeUDP(Peer, Gateway, msg)); err != nil {
			return fw.n, err
		}
	}
	return fw.n, fw.flush()
}

// genIKEFragments writes n SKF payloads (RFC 7383) on one IKE SA: messages
// of 16 fragments of which only the first 15 ever come, each fragment with
// 256 encrypted bytes, so that every one is held for a message that never
// completes.
func genIKEFragments(out io.Writer, n int, _ string) (int, error) {
	rng := rand.New(rand.NewPCG(17, 18))
	fw, err := newFrameWriter(out)
	if err != nil {
		return 0, err
	}
	const total = 16
	data := make([]byte, 256)
	for i := range n {
		msgID, number := uint32(i/(total-1)+1), uint16(i%(total-1)+1)
		for j := range data {
			data[j] = byte(rng.Uint32())
		}
		next := uint8(0)
		if number == 1 {
			next = 42
		}
		body := payload(0, pb.Cat(pb.U16(number), pb.U16(total), data))
		body[0] = next
		msg := pb.Cat(ikeHeader(0x3333, 0x4444, payloadSKF, ikeInformation, flagInitiator, msgID, ikeHeaderLength+len(body)), body)
		if err := fw.write(ikeUDP(Peer, Gateway, msg)); err != nil {
			return fw.n, err
		}
	}
	return fw.n, fw.flush()
}

// gatewayAddr is the gateway as a netip.Addr, for --me.
func gatewayAddr() string { return netip.AddrFrom4(Gateway).String() }

func writeFile(path, content string) error {
	if path == "" {
		return fmt.Errorf("no path for the key file")
	}
	// Key files are secrets: ipsecmon warns about one others can read.
	return os.WriteFile(path, []byte(content), 0o600)
}
