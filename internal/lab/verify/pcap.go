package verify

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// maxFrame bounds a record's captured length (tcpdump's largest snap length).
const maxFrame = 262144

// ReadPcap reads the frames of a classic pcap file (the format tcpdump -w
// writes: a 24-byte file header, then a 16-byte header per record), in
// either byte order and with micro- or nanosecond timestamps. The lab needs
// only the bytes, to look at what tshark reports by offset.
func ReadPcap(r io.Reader) ([][]byte, error) {
	_, frames, err := ReadPcapLink(r)
	return frames, err
}

// Link types of the lab's recordings (pcap file header, www.tcpdump.org/linktypes.html).
const (
	LinkTypeEthernet = 1
	LinkTypeRaw      = 101 // the record starts with the IP header (tcpdump on a TUN device)
)

// ReadPcapLink is ReadPcap that also returns the file's link type.
func ReadPcapLink(r io.Reader) (uint32, [][]byte, error) {
	br := bufio.NewReader(r)
	var hdr [24]byte
	if _, err := io.ReadFull(br, hdr[:]); err != nil {
		return 0, nil, fmt.Errorf("pcap file header: %w", err)
	}
	var bo binary.ByteOrder
	switch binary.LittleEndian.Uint32(hdr[:4]) {
	case 0xa1b2c3d4, 0xa1b23c4d:
		bo = binary.LittleEndian
	case 0xd4c3b2a1, 0x4d3cb2a1:
		bo = binary.BigEndian
	default:
		return 0, nil, errors.New("not a pcap file (bad magic number)")
	}
	link := bo.Uint32(hdr[20:24]) & 0x0fffffff // the top bits carry FCS information
	var out [][]byte
	for {
		var rec [16]byte
		_, err := io.ReadFull(br, rec[:])
		if err == io.EOF {
			return link, out, nil
		}
		if err != nil {
			return 0, nil, fmt.Errorf("record %d header: %w", len(out)+1, err)
		}
		n := bo.Uint32(rec[8:12])
		if n > maxFrame {
			return 0, nil, fmt.Errorf("record %d: captured length %d is larger than %d", len(out)+1, n, maxFrame)
		}
		data := make([]byte, n)
		if _, err := io.ReadFull(br, data); err != nil {
			return 0, nil, fmt.Errorf("record %d data: %w", len(out)+1, err)
		}
		out = append(out, data)
	}
}
