//go:build !linux

package capture

import (
	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/pcap"
)

// batchReader is Linux-only (batch_linux.go); elsewhere live sources read
// a packet at a time through gopacket.
type batchReader struct{}

func newBatchReader(*pcap.Handle) *batchReader { return nil }

func (*batchReader) read() ([]byte, gopacket.CaptureInfo, error) { panic("unreachable") }

func (*batchReader) close(*pcap.Handle) {}
