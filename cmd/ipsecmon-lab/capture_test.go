package main

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"ipsecmon/capture"
	"ipsecmon/internal/testcorpus"
)

// TestWritePcap copies a tunnel-device recording that tcpdump wrote (the
// committed ikev2-tunnel bob-ipsec0.pcap, LINKTYPE_RAW) through writePcap
// as a live TUN capture delivers it (DLT_RAW, 12 on Linux): the copy must
// read back, with gopacket's own pcap reader, as LINKTYPE_RAW (101, the
// number tcpdump wrote) with every record's bytes and microsecond time
// equal to tcpdump's.
func TestWritePcap(t *testing.T) {
	root, err := testcorpus.RepoRoot()
	if err != nil {
		t.Skip(err)
	}
	in := filepath.Join(root, "testdata", "pcaps", "lab", "ikev2-tunnel", "bob-ipsec0.pcap")
	orig := readPcap(t, in)
	if orig.lt != layers.LinkTypeRaw || len(orig.data) == 0 {
		t.Fatalf("%s: link type %d, %d records: not the tunnel recording this test expects", in, orig.lt, len(orig.data))
	}
	src, err := capture.Open(in)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	out := filepath.Join(t.TempDir(), "copy.pcap")
	f, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	n, err := writePcap(f, src, 12)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	cp := readPcap(t, out)
	if n != len(orig.data) || len(cp.data) != n {
		t.Fatalf("wrote %d records, read back %d, tcpdump's file has %d", n, len(cp.data), len(orig.data))
	}
	if cp.lt != layers.LinkTypeRaw {
		t.Errorf("link type %d, want %d (LINKTYPE_RAW)", cp.lt, layers.LinkTypeRaw)
	}
	for i := range orig.data {
		if !bytes.Equal(cp.data[i], orig.data[i]) || !cp.times[i].Equal(orig.times[i]) {
			t.Errorf("record %d differs from tcpdump's", i+1)
		}
	}
}

type pcapRecords struct {
	lt    layers.LinkType
	data  [][]byte
	times []time.Time
}

func readPcap(t *testing.T, name string) pcapRecords {
	t.Helper()
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := pcapgo.NewReader(f)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	recs := pcapRecords{lt: r.LinkType()}
	for {
		data, ci, err := r.ReadPacketData()
		if err == io.EOF {
			return recs
		}
		if err != nil {
			t.Fatalf("%s: record %d: %v", name, len(recs.data)+1, err)
		}
		recs.data = append(recs.data, data)
		recs.times = append(recs.times, ci.Timestamp)
	}
}
