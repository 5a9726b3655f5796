package capture

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/gopacket/gopacket/pcapgo"

	"ipsecmon/internal/testcorpus"
)

// ngFile builds pcapng files block by block (draft-ietf-opsawg-pcapng),
// in the byte order of the section being written.
type ngFile struct {
	o binary.AppendByteOrder
	b []byte
}

func pad4(b []byte) []byte { return append(b, make([]byte, (4-len(b)%4)%4)...) }

// block writes a block of typ whose body is the parts, padded, between the
// type and length and the trailing length.
func (f *ngFile) block(typ uint32, parts ...[]byte) *ngFile {
	var body []byte
	for _, p := range parts {
		body = append(body, p...)
	}
	body = pad4(body)
	f.b = f.o.AppendUint32(f.b, typ)
	f.b = f.o.AppendUint32(f.b, uint32(12+len(body)))
	f.b = append(f.b, body...)
	f.b = f.o.AppendUint32(f.b, uint32(12+len(body)))
	return f
}

func (f *ngFile) u16(v uint16) []byte { return f.o.AppendUint16(nil, v) }
func (f *ngFile) u32(v uint32) []byte { return f.o.AppendUint32(nil, v) }
func (f *ngFile) u64(v uint64) []byte { return f.o.AppendUint64(nil, v) }

// opt is an option, value padded; end is the end of options.
func (f *ngFile) opt(code uint16, v []byte) []byte {
	return pad4(append(append(f.u16(code), f.u16(uint16(len(v)))...), v...))
}

var end = make([]byte, 4)

// in sets the byte order of the section written next (before its
// header's options are built: calls are evaluated left to right).
func (f *ngFile) in(o binary.AppendByteOrder) *ngFile {
	f.o = o
	return f
}

func (f *ngFile) shb(major, minor uint16, opts ...[]byte) *ngFile {
	parts := append([][]byte{f.u32(ngByteOrderMagic), f.u16(major), f.u16(minor), f.u64(^uint64(0))}, opts...)
	return f.block(ngSHB, parts...)
}

func (f *ngFile) idb(lt uint16, snap uint32, opts ...[]byte) *ngFile {
	return f.block(ngIDB, append([][]byte{f.u16(lt), f.u16(0), f.u32(snap)}, opts...)...)
}

func (f *ngFile) ts(ts uint64) []byte { return append(f.u32(uint32(ts>>32)), f.u32(uint32(ts))...) }

func (f *ngFile) epb(iface uint32, ts uint64, data []byte, length uint32, opts ...[]byte) *ngFile {
	parts := [][]byte{f.u32(iface), f.ts(ts), f.u32(uint32(len(data))), f.u32(length), pad4(bytes.Clone(data))}
	return f.block(ngEPB, append(parts, opts...)...)
}

// pb is the obsolete packet block: a 16-bit interface and drops count.
func (f *ngFile) pb(iface uint16, ts uint64, data []byte, opts ...[]byte) *ngFile {
	parts := [][]byte{f.u16(iface), f.u16(3), f.ts(ts), f.u32(uint32(len(data))), f.u32(uint32(len(data) + 10)), pad4(bytes.Clone(data))}
	return f.block(ngPB, append(parts, opts...)...)
}

func (f *ngFile) spb(length uint32, data []byte) *ngFile {
	return f.block(ngSPB, f.u32(length), data)
}

func (f *ngFile) isb(iface uint32, ts uint64, opts ...[]byte) *ngFile {
	return f.block(ngISB, append([][]byte{f.u32(iface), f.ts(ts)}, opts...)...)
}

// nrb holds one IPv4 record for 10.0.0.1 and one of an unknown type.
func (f *ngFile) nrb() *ngFile {
	rec := f.opt(1, append([]byte{10, 0, 0, 1}, "gw.example\x00"...))
	return f.block(ngNRB, rec, f.opt(99, []byte("xyz")), end, f.opt(1, []byte("comment")), end)
}

func (f *ngFile) dsb(secret string) *ngFile {
	return f.block(ngDSB, f.u32(0x544c534b), f.u32(uint32(len(secret))), []byte(secret))
}

var (
	le = binary.LittleEndian
	be = binary.BigEndian
)

// tsresol and tsoffset options.
func (f *ngFile) res(v byte) []byte       { return f.opt(ngOptTsresol, []byte{v}) }
func (f *ngFile) off(v uint64) []byte     { return f.opt(ngOptTsoffset, f.u64(v)) }
func (f *ngFile) comment(s string) []byte { return f.opt(1, []byte(s)) }

func pkt(n int, b byte) []byte { return bytes.Repeat([]byte{b}, n) }

// rich is a file of several sections in both byte orders, interfaces of
// different link types, resolutions and offsets, every packet block kind,
// statistics, unknown and custom blocks, options present and absent.
func rich() []byte {
	f := &ngFile{}
	f.in(le).shb(1, 0, f.comment("section one"), f.opt(2, []byte("hw")), f.opt(4, []byte("app")), end)
	f.idb(1, 65535, f.opt(2, []byte("eth0")), f.res(9), f.off(100), f.opt(11, []byte{0, 'u', 'd', 'p'}), end)
	f.idb(113, 0) // SLL, no options at all: µs, snap length 0
	f.epb(0, 1_700_000_000_123_456_789, pkt(60, 1), 60, f.comment("first"), f.opt(2, f.u32(1)), f.opt(3, []byte{2, 1, 2, 3, 4}), f.opt(4, f.u64(7)), end)
	f.epb(1, 1_700_000_001_000_001, pkt(3, 2), 1500)
	f.block(0x00000bad, []byte("unknown block"))
	f.block(0x40000bad, f.u32(32473), []byte("custom, copyable"))
	f.pb(1, 1_700_000_002_000_000, pkt(17, 3), f.comment("obsolete"), end)
	f.spb(200, pkt(200, 4))
	f.isb(0, 1_700_000_003_000_000_000, f.opt(2, f.ts(1)), f.opt(4, f.u64(5)), f.opt(5, []byte{1}), end)
	f.in(be).shb(1, 0)
	f.idb(101, 40, f.res(0x86), f.off(1<<33), end) // raw IP, 2^-6 s, snap length 40
	f.idb(1, 1514, f.res(3), end)
	f.epb(1, 1_700_000_004_123, pkt(61, 5), 61)
	f.epb(0, 0xffff_ffff_ffff, pkt(40, 6), 1400, end)
	f.spb(1400, pkt(40, 7)) // cut to interface 0's snap length
	f.in(le).shb(2, 0, f.comment("version 2: skipped"), end)
	f.idb(1, 0)
	f.epb(0, 1, pkt(10, 8), 10)
	f.in(be).shb(1, 2) // version 1.2: skipped too
	f.epb(0, 1, pkt(10, 9), 10)
	f.in(le).shb(1, 0)
	f.idb(12, 0, f.res(6), end)
	f.epb(0, 5, pkt(0, 0), 0)
	f.epb(0, 6, pkt(1, 10), 1)
	return f.b
}

// failover has the blocks pcapgo reads for pcapngReader, between packets
// whose timestamps need the interfaces read before them.
func failover(at int) []byte {
	f := &ngFile{}
	f.in(be).shb(1, 0)
	f.idb(1, 0, f.res(9), f.off(7), end)
	f.idb(101, 30, f.res(0x83), end)
	f.epb(0, 1_000_000_000_5, pkt(20, 1), 20)
	switch at {
	case 0:
		f.nrb()
	case 1:
		f.dsb("CLIENT_RANDOM 00 11")
	case 2:
		f.block(ngNRB, f.u16(1), f.u16(8), []byte{10, 0}) // a record too short for its address
	}
	f.spb(100, pkt(100, 2))
	f.epb(1, 12345, pkt(50, 3), 50)
	f.idb(113, 0)
	f.epb(2, 99, pkt(5, 4), 5)
	f.in(le).shb(1, 0)
	f.idb(1, 0)
	f.epb(0, 1, pkt(7, 5), 7)
	return f.b
}

// sameRecords reads want (pcapgo) and got side by side and fails on the
// first difference in a record, its capture info (link type in
// AncillaryData included) or the error. With hold, got's frames after the
// first are held while got.kept says they are Kept, none released, and must
// all still hold their bytes at the end.
func sameRecords(t *testing.T, want packetReader, got chunkReader, hold bool) {
	t.Helper()
	var held, copies [][]byte
	for i := 1; ; i++ {
		wd, wci, werr := want.ZeroCopyReadPacketData()
		gd, gci, gerr := got.ZeroCopyReadPacketData()
		if (werr == nil) != (gerr == nil) || werr != nil && werr.Error() != gerr.Error() {
			t.Fatalf("record %d: pcapgo says %v, ours %v", i, werr, gerr)
		}
		if !wci.Timestamp.Equal(gci.Timestamp) || wci.CaptureLength != gci.CaptureLength || wci.Length != gci.Length ||
			wci.InterfaceIndex != gci.InterfaceIndex || len(wci.AncillaryData) != len(gci.AncillaryData) ||
			len(wci.AncillaryData) > 0 && wci.AncillaryData[0] != gci.AncillaryData[0] {
			t.Fatalf("record %d: capture info %+v, want %+v", i, gci, wci)
		}
		if werr != nil {
			break
		}
		if !bytes.Equal(wd, gd) {
			t.Fatalf("record %d: data differs", i)
		}
		if hold {
			if i == 1 {
				got.Release(0)
			} else if got.kept() {
				held, copies = append(held, gd), append(copies, bytes.Clone(gd))
			}
		}
	}
	for i := range held {
		if !bytes.Equal(held[i], copies[i]) {
			t.Fatalf("held record %d was overwritten", i+2)
		}
	}
}

// samePcapng compares pcapngReader (chunks of size, reads cut by cuts)
// with pcapgo.NgReader, opened as Open opens pcapng, on file.
func samePcapng(t *testing.T, file, cuts []byte, size int, hold bool) {
	t.Helper()
	if bytes.HasPrefix(file, []byte{0x1f, 0x8b}) {
		return // pcapgo gunzips; Open does that before pcapngReader reads
	}
	want, werr := pcapgo.NewNgReader(bytes.NewReader(file), ngOptions)
	got, gerr := newPcapngReaderSize(&chopped{b: file, cuts: cuts}, size)
	if (werr == nil) != (gerr == nil) || werr != nil && werr.Error() != gerr.Error() {
		t.Fatalf("header: pcapgo says %v, pcapngReader %v", werr, gerr)
	}
	if werr != nil {
		return
	}
	sameRecords(t, want, got, hold)
}

// eachNgConfig runs check for chunk sizes from tiny (records straddle
// chunks, large ones bypass them) to the real one, reads whole and cut
// into small pieces, frames held or not.
func eachNgConfig(t *testing.T, name string, file []byte) {
	for _, size := range []int{64, 128, 1 << 20} {
		for _, cuts := range [][]byte{nil, {0}, {6, 40, 2, 200}} {
			for _, hold := range []bool{false, true} {
				t.Run(name, func(t *testing.T) { samePcapng(t, file, cuts, size, hold) })
			}
		}
	}
}

func TestPcapngReaderAsPcapgo(t *testing.T) {
	r := rich()
	set := func(b []byte, at int, v ...byte) []byte {
		b = bytes.Clone(b)
		copy(b[at:], v)
		return b
	}
	one := func(build func(f *ngFile)) []byte {
		f := &ngFile{}
		f.in(le).shb(1, 0)
		build(f)
		return f.b
	}
	big := one(func(f *ngFile) {
		f.idb(1, 0)
		f.epb(0, 1, pkt(300_000, 1), 300_000) // above pcapgo's eager read and half a chunk
		f.epb(0, 2, pkt(700_000, 2), 700_000)
		f.epb(0, 3, pkt(5, 3), 5)
	})
	cases := []struct {
		name string
		file []byte
	}{
		{"rich", r},
		{"failover at a name resolution block", failover(0)},
		{"failover at a decryption secrets block", failover(1)},
		{"failover to a damaged name resolution block", failover(2)},
		{"failover, cut in the block", failover(1)[:len(failover(1))-150]},
		{"large packets", big},
		{"large packet cut", big[:len(big)-500_000]},
		{"empty", nil},
		{"one byte", []byte{0x0a}},
		{"not a section header first", set(r, 0, 1, 0, 0, 0)},
		{"bad byte order magic", set(r, 8, 1, 2, 3, 4)},
		{"only a section header", one(func(*ngFile) {})},
		{"packet before any interface", one(func(f *ngFile) { f.epb(0, 1, pkt(4, 1), 4) })},
		{"simple packet before any interface", one(func(f *ngFile) { f.spb(4, pkt(4, 1)) })},
		{"statistics of a missing interface", one(func(f *ngFile) { f.idb(1, 0); f.isb(1, 0) })},
		{"obsolete packet of a missing interface", one(func(f *ngFile) { f.idb(1, 0); f.pb(1, 0, pkt(4, 1)) })},
		{"resolution 10^-20 (wraps in pcapgo)", one(func(f *ngFile) { f.idb(1, 0, f.res(20), end); f.epb(0, 1<<62, pkt(4, 1), 4) })},
		{"resolution 10^-64", one(func(f *ngFile) { f.idb(1, 0, f.res(64), end) })},
		{"resolution 2^-63", one(func(f *ngFile) { f.idb(1, 0, f.res(0x80|63), end); f.epb(0, 1<<63|5, pkt(4, 1), 4) })},
		{"resolution 2^-64", one(func(f *ngFile) { f.idb(1, 0, f.res(0x80|64), end) })},
		{"short tsresol and tsoffset values", one(func(f *ngFile) {
			f.idb(1, 0, f.opt(ngOptTsresol, nil), f.opt(ngOptTsoffset, []byte{1, 2, 3}), end)
			f.epb(0, 5_000_001, pkt(4, 1), 4)
		})},
		{"end of options with a length", one(func(f *ngFile) { f.idb(1, 0, f.u16(0), f.u16(4), f.u32(0)) })},
		{"caplen above the block", one(func(f *ngFile) {
			f.idb(1, 0)
			f.block(ngEPB, f.u32(0), f.ts(1), f.u32(1000), f.u32(1000), pkt(8, 1))
			f.epb(0, 1, pkt(4, 1), 4)
		})},
		{"block length below its header", one(func(f *ngFile) {
			f.idb(1, 0)
			f.b = append(f.b, f.u32(ngEPB)...)
			f.b = append(f.b, f.u32(8)...)
			f.b = append(f.b, f.u32(0)...)
			f.b = append(f.b, f.ts(1)...)
			f.b = append(f.b, f.u32(4)...)
			f.b = append(f.b, f.u32(4)...)
			f.b = append(f.b, pkt(16, 1)...)
		})},
		{"section header length below its fields", set(one(func(f *ngFile) { f.idb(1, 0) }), 4, 4, 0, 0, 0)},
	}
	for _, c := range cases {
		eachNgConfig(t, c.name, c.file)
	}
	// Cut at every byte, and every byte damaged, of the rich and failover files.
	for _, file := range [][]byte{r, failover(0)} {
		for n := range len(file) {
			samePcapng(t, file[:n], []byte{6, 40, 2, 200}, 64, true)
			samePcapng(t, set(file, n, file[n]^0xff), []byte{6, 40, 2, 200}, 64, true)
			samePcapng(t, set(file, n, file[n]+1), nil, 128, true)
		}
	}
}

// TestPcapngReaderCaptures compares the readers on every pcapng capture
// the repository and the shared corpus hold (plain or gzip-compressed).
func TestPcapngReaderCaptures(t *testing.T) {
	root, err := testcorpus.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	n := eachPcapng(t, filepath.Join(root, "testdata", "pcaps"))
	if n += eachPcapng(t, testcorpus.Dir(t)); n < 5 {
		// MANIFEST.md lists five: wireshark-wiki's capture.pcapng, tcpdump's
		// two and nDPI's esp and ah.
		t.Errorf("%d pcapng captures found, want at least 5", n)
	}
}

// eachPcapng compares the readers on every file below dir that is pcapng
// by its magic, once gunzipped if need be, and returns how many.
func eachPcapng(t *testing.T, dir string) int {
	n := 0
	// The corpus may be a symbolic link (../shared/corpus beside a clone),
	// which WalkDir would take for a file.
	if d, err := filepath.EvalSymlinks(dir); err == nil {
		dir = d
	}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if bytes.HasPrefix(b, []byte{0x1f, 0x8b}) {
			zr, err := gzip.NewReader(bytes.NewReader(b))
			if err != nil {
				return nil
			}
			if b, err = io.ReadAll(zr); err != nil {
				return nil
			}
		}
		if len(b) < 4 || binary.LittleEndian.Uint32(b) != magicPcapngBlock {
			return nil
		}
		n++
		eachNgConfig(t, path, b)
		return nil
	})
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		t.Fatal(err)
	}
	return n
}

// TestPcapngKept: through NewReader, pcapng frames become Kept once the
// consumer releases, keep their bytes while held, released chunks are read
// into again, and from a block pcapgo reads on, frames are no longer Kept.
func TestPcapngKept(t *testing.T) {
	f := &ngFile{}
	f.in(le).shb(1, 0)
	f.idb(1, 0)
	var payloads [][]byte
	for i := range 3000 {
		payloads = append(payloads, bytes.Repeat([]byte{byte(i)}, 700+i%300))
		f.epb(0, uint64(i), payloads[i], uint32(len(payloads[i])))
	}
	f.nrb()
	f.epb(0, 1, []byte("after"), 5)
	src, err := NewReader("t.pcapng", bytes.NewReader(f.b))
	if err != nil {
		t.Fatal(err)
	}
	rel := src.(Releaser)
	var fr Frame
	var held []Frame
	check := func() {
		for _, h := range held {
			if !bytes.Equal(h.Data, payloads[h.Index-1]) {
				t.Fatalf("held frame %d overwritten", h.Index)
			}
		}
	}
	for {
		if err := src.Next(&fr); err != nil {
			if !errors.Is(err, io.EOF) {
				t.Fatal(err)
			}
			break
		}
		switch {
		case fr.Index == 1:
			if fr.Kept {
				t.Fatal("frame 1 Kept before any Release")
			}
			rel.Release(0)
			continue
		case fr.Index == 3001:
			if fr.Kept || string(fr.Data) != "after" {
				t.Fatalf("frame after the name resolution block: Kept %v, data %q", fr.Kept, fr.Data)
			}
			continue
		case !fr.Kept:
			t.Fatalf("frame %d not Kept after Release", fr.Index)
		}
		held = append(held, fr)
		if len(held) == 500 {
			check()
			rel.Release(held[len(held)-1].Index)
			held = held[:0]
		}
	}
	check()
	if fr.Index != 3001 {
		t.Fatalf("%d frames, want 3001", fr.Index)
	}
	ng := src.(*fileSource).r.(*pcapngReader)
	if n := len(ng.free) + len(ng.held) + 1; n > 3 {
		t.Errorf("%d chunks made for 2.4 MB with 0.4 MB held at a time, want at most 3", n)
	}
}

// FuzzPcapngReader: pcapngReader answers as pcapgo.NgReader does on any
// bytes, in any read sizes and chunk sizes, and held frames keep their
// bytes.
func FuzzPcapngReader(f *testing.F) {
	f.Add(rich(), []byte{3, 17}, uint8(0), true)
	f.Add(failover(0), []byte(nil), uint8(1), true)
	f.Add(failover(2), []byte{5}, uint8(0), false)
	f.Add(rich()[:100], []byte(nil), uint8(2), false)
	f.Add([]byte{0x0a, 0x0d, 0x0d}, []byte(nil), uint8(0), false)
	f.Fuzz(func(t *testing.T, file, cuts []byte, size uint8, hold bool) {
		samePcapng(t, file, cuts, 64<<(size%6), hold)
	})
}
