// Package traffic generates the lab's known traffic between the inner
// addresses of two IPsec peers and receives it on the other side: ICMP echo
// through a raw socket (the lab machines have no ping), UDP datagrams of
// several sizes, and a lock-step TCP transfer whose segment count does not
// depend on timing (every chunk fits one segment and is answered before the
// next is sent; the lab's routes carry `quickack 1`, so every segment is
// acknowledged at once instead of after the delayed-ACK timer).
package traffic

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// Header sizes used to report the inner IP packet lengths, which is what
// libipsec counts (RFC 791 §3.1, RFC 768, RFC 792: no options are sent).
const (
	ipv4Header = 20
	udpHeader  = 8
	icmpHeader = 8
)

// Plan is what one peer sends to one address of the other.
type Plan struct {
	Src, Dst     netip.Addr
	ICMPEchoes   int   // echo requests, each waiting for its reply
	ICMPPayload  int   // bytes of ICMP data per request
	UDPSizes     []int // UDP payload sizes; each is sent UDPEach times
	UDPEach      int
	UDPPort      int
	TCPChunks    int // chunks of the TCP transfer, each acknowledged by the server
	TCPChunkSize int // payload bytes per chunk (must fit one segment)
	TCPPort      int
	Gap          time.Duration // pause between datagrams
}

// Report is what was sent, as the generator counted it.
type Report struct {
	From string     `json:"from,omitempty"` // the sending peer, as the lab names it
	Src  string     `json:"src"`
	Dst  string     `json:"dst"`
	ICMP ICMPReport `json:"icmp"`
	UDP  []UDPCount `json:"udp"`
	TCP  TCPReport  `json:"tcp"`
}

// ICMPReport counts echo requests sent and replies received.
type ICMPReport struct {
	Requests    int `json:"echo_requests"`
	Replies     int `json:"echo_replies"`
	PayloadSize int `json:"payload_size"`
	IPLength    int `json:"ip_length"` // of each request and reply
}

// UDPCount is one datagram size.
type UDPCount struct {
	PayloadSize int `json:"payload_size"`
	IPLength    int `json:"ip_length"`
	Sent        int `json:"sent"`
}

// TCPReport describes the TCP transfer.
type TCPReport struct {
	Chunks      int `json:"chunks"`
	ChunkSize   int `json:"chunk_size"`
	Bytes       int `json:"bytes"` // application bytes sent, chunk headers included
	AcksRead    int `json:"acks_read"`
	Connections int `json:"connections"`
}

// Send carries out p. It stops at the first error, returning what was sent.
func Send(ctx context.Context, p Plan) (Report, error) {
	rep := Report{Src: p.Src.String(), Dst: p.Dst.String()}
	if p.ICMPEchoes > 0 {
		if err := sendICMP(ctx, p, &rep.ICMP); err != nil {
			return rep, fmt.Errorf("icmp %s -> %s: %w", p.Src, p.Dst, err)
		}
	}
	if len(p.UDPSizes) > 0 && p.UDPEach > 0 {
		if err := sendUDP(ctx, p, &rep); err != nil {
			return rep, fmt.Errorf("udp %s -> %s: %w", p.Src, p.Dst, err)
		}
	}
	if p.TCPChunks > 0 {
		if err := sendTCP(ctx, p, &rep.TCP); err != nil {
			return rep, fmt.Errorf("tcp %s -> %s: %w", p.Src, p.Dst, err)
		}
	}
	return rep, nil
}

func sendICMP(ctx context.Context, p Plan, rep *ICMPReport) error {
	c, err := net.ListenPacket("ip4:icmp", p.Src.String())
	if err != nil {
		return err
	}
	defer c.Close()
	id := uint16(os.Getpid())
	rep.PayloadSize = p.ICMPPayload
	rep.IPLength = ipv4Header + icmpHeader + p.ICMPPayload
	dst := &net.IPAddr{IP: p.Dst.AsSlice()}
	buf := make([]byte, 65536)
	for seq := 1; seq <= p.ICMPEchoes; seq++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		msg := echoRequest(id, uint16(seq), p.ICMPPayload)
		if _, err := c.WriteTo(msg, dst); err != nil {
			return err
		}
		rep.Requests++
		deadline := time.Now().Add(3 * time.Second)
		if err := c.SetReadDeadline(deadline); err != nil {
			return err
		}
		for {
			n, from, err := c.ReadFrom(buf)
			if err != nil {
				return fmt.Errorf("no reply to echo %d: %w", seq, err)
			}
			if a, ok := from.(*net.IPAddr); !ok || !a.IP.Equal(dst.IP) {
				continue
			}
			if isEchoReply(buf[:n], id, uint16(seq)) {
				rep.Replies++
				break
			}
		}
	}
	return nil
}

// echoRequest builds an ICMP echo request (RFC 792) with a patterned payload.
func echoRequest(id, seq uint16, size int) []byte {
	b := make([]byte, icmpHeader+size)
	b[0] = 8 // echo request
	binary.BigEndian.PutUint16(b[4:], id)
	binary.BigEndian.PutUint16(b[6:], seq)
	for i := icmpHeader; i < len(b); i++ {
		b[i] = byte(i)
	}
	binary.BigEndian.PutUint16(b[2:], checksum(b))
	return b
}

func isEchoReply(b []byte, id, seq uint16) bool {
	return len(b) >= icmpHeader && b[0] == 0 && b[1] == 0 &&
		binary.BigEndian.Uint16(b[4:]) == id && binary.BigEndian.Uint16(b[6:]) == seq
}

// checksum is the Internet checksum (RFC 1071).
func checksum(b []byte) uint16 {
	var s uint32
	for i := 0; i+1 < len(b); i += 2 {
		s += uint32(b[i])<<8 | uint32(b[i+1])
	}
	if len(b)%2 == 1 {
		s += uint32(b[len(b)-1]) << 8
	}
	for s>>16 != 0 {
		s = s&0xffff + s>>16
	}
	return ^uint16(s)
}

func sendUDP(ctx context.Context, p Plan, rep *Report) error {
	laddr := &net.UDPAddr{IP: p.Src.AsSlice()}
	raddr := &net.UDPAddr{IP: p.Dst.AsSlice(), Port: p.UDPPort}
	c, err := net.DialUDP("udp4", laddr, raddr)
	if err != nil {
		return err
	}
	defer c.Close()
	for _, size := range p.UDPSizes {
		uc := UDPCount{PayloadSize: size, IPLength: ipv4Header + udpHeader + size}
		payload := make([]byte, size)
		for i := range payload {
			payload[i] = byte(i)
		}
		for range p.UDPEach {
			if err := ctx.Err(); err != nil {
				return err
			}
			if _, err := c.Write(payload); err != nil {
				rep.UDP = append(rep.UDP, uc)
				return err
			}
			uc.Sent++
			time.Sleep(p.Gap)
		}
		rep.UDP = append(rep.UDP, uc)
	}
	return nil
}

func sendTCP(ctx context.Context, p Plan, rep *TCPReport) error {
	if p.TCPChunkSize < 3 || p.TCPChunkSize > 0xffff {
		return fmt.Errorf("chunk size %d out of range", p.TCPChunkSize)
	}
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: p.Src.AsSlice()}, Timeout: 5 * time.Second}
	conn, err := d.DialContext(ctx, "tcp4", netip.AddrPortFrom(p.Dst, uint16(p.TCPPort)).String())
	if err != nil {
		return err
	}
	c := conn.(*net.TCPConn)
	defer c.Close()
	rep.Connections = 1
	rep.ChunkSize = p.TCPChunkSize
	if err := c.SetNoDelay(true); err != nil {
		return err
	}
	if err := c.SetDeadline(time.Now().Add(30 * time.Second)); err != nil {
		return err
	}
	chunk := make([]byte, p.TCPChunkSize)
	binary.BigEndian.PutUint16(chunk, uint16(p.TCPChunkSize-2))
	for i := 2; i < len(chunk); i++ {
		chunk[i] = byte(i)
	}
	ack := make([]byte, 1)
	for range p.TCPChunks {
		if _, err := c.Write(chunk); err != nil {
			return err
		}
		rep.Chunks++
		rep.Bytes += len(chunk)
		if _, err := io.ReadFull(c, ack); err != nil {
			return fmt.Errorf("waiting for chunk ack: %w", err)
		}
		rep.AcksRead++
	}
	if err := c.CloseWrite(); err != nil {
		return err
	}
	// Wait for the server's FIN so that the connection is over before the
	// lab reads the counters.
	if n, err := c.Read(ack); n != 0 || err != io.EOF {
		return fmt.Errorf("expected the server to close, got %d bytes, %v", n, err)
	}
	return checkRetransmits(c)
}

// checkRetransmits fails when the kernel sent any segment of c twice: the
// lab's packet counts assume every segment is sent once (a retransmission
// adds a packet, and its receiver's duplicate acknowledgement another).
func checkRetransmits(c *net.TCPConn) error {
	rc, err := c.SyscallConn()
	if err != nil {
		return err
	}
	var info *unix.TCPInfo
	var ierr error
	if err := rc.Control(func(fd uintptr) {
		info, ierr = unix.GetsockoptTCPInfo(int(fd), unix.IPPROTO_TCP, unix.TCP_INFO)
	}); err != nil {
		return err
	}
	if ierr != nil {
		return fmt.Errorf("TCP_INFO: %w", ierr)
	}
	if info.Total_retrans > 0 {
		return fmt.Errorf("%s -> %s: TCP retransmitted %d segments (round trip time %d µs, retransmission timeout %d µs): the capture has more packets than the mix",
			c.LocalAddr(), c.RemoteAddr(), info.Total_retrans, info.Rtt, info.Rto)
	}
	return nil
}

// Serve receives UDP (discarding it) and lock-step TCP on each address
// until ctx is done.
func Serve(ctx context.Context, addrs []netip.Addr, udpPort, tcpPort int) error {
	errc := make(chan error, 2*len(addrs))
	var closers []io.Closer
	defer func() {
		for _, c := range closers {
			c.Close()
		}
	}()
	for _, a := range addrs {
		u, err := net.ListenUDP("udp4", &net.UDPAddr{IP: a.AsSlice(), Port: udpPort})
		if err != nil {
			return err
		}
		closers = append(closers, u)
		go func() {
			buf := make([]byte, 65536)
			for {
				if _, _, err := u.ReadFrom(buf); err != nil {
					errc <- nil
					return
				}
			}
		}()
		l, err := net.ListenTCP("tcp4", &net.TCPAddr{IP: a.AsSlice(), Port: tcpPort})
		if err != nil {
			return err
		}
		closers = append(closers, l)
		go func() {
			for {
				c, err := l.AcceptTCP()
				if err != nil {
					errc <- nil
					return
				}
				go serveTCP(c)
			}
		}()
	}
	<-ctx.Done()
	return nil
}

func serveTCP(c *net.TCPConn) {
	defer c.Close()
	_ = c.SetNoDelay(true)
	hdr := make([]byte, 2)
	buf := make([]byte, 0xffff)
	for {
		if _, err := io.ReadFull(c, hdr); err != nil {
			// EOF: the client closed; closing answers with our FIN. The
			// lab fails a run when this side retransmitted (serve's
			// standard error is the lab's record of it).
			if err := checkRetransmits(c); err != nil {
				fmt.Fprintf(os.Stderr, "serve: %v\n", err)
			}
			return
		}
		n := int(binary.BigEndian.Uint16(hdr))
		if _, err := io.ReadFull(c, buf[:n]); err != nil {
			return
		}
		if _, err := c.Write([]byte{'A'}); err != nil {
			return
		}
	}
}

// ParseSizes reads a comma-separated list of sizes, e.g. "16,512,1200".
func ParseSizes(s string) ([]int, error) {
	if s == "" {
		return nil, nil
	}
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 0 || n > 65507 {
			return nil, fmt.Errorf("bad size %q", f)
		}
		out = append(out, n)
	}
	if len(out) == 0 {
		return nil, errors.New("no sizes")
	}
	return out, nil
}
