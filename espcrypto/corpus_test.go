package espcrypto

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"ipsecmon/internal/testcorpus"
	"ipsecmon/ipproto"
	"ipsecmon/keys"
)

// Acceptance test against tshark: for every corpus capture that has ESP
// keys, the number of packets per SA (SPI, source, destination of the IP
// header before ESP) whose integrity check passes must equal tshark's
// esp.icv_good count in ORACLE.json. For SAs without a checkable ICV the
// number of packets this package accepts must equal tshark's
// trailer_valid count (esp.protocol shown). The keys are read with package
// keys from the same files the oracle's tshark profiles held (ORACLE.md,
// "Key profiles"). Packets are taken apart with gopacket here because the
// project's own decoder is not this package's to use.

type oracleSA struct {
	DecryptAttempted int `json:"decrypt_attempted"`
	TrailerValid     int `json:"trailer_valid"`
	ICVGood          int `json:"icv_good"`
	ICVBad           int `json:"icv_bad"`
}

type saCount struct {
	packets   int
	checked   bool
	icvPass   int // integrity verified: accepted or not decrypted
	accepted  int
	reasons   map[Reason]int
	nextHdrs  map[uint8]int
	zeroPad   int // accepted with pad length 0
	byOutcome map[Outcome]int
}

func TestCorpusAgainstTshark(t *testing.T) {
	dir := testcorpus.Dir(t)
	data, err := os.ReadFile(filepath.Join(dir, "ORACLE.json"))
	if err != nil {
		t.Fatal(err)
	}
	var oracle struct {
		Captures map[string]struct {
			KeysProfile   string              `json:"keys_profile"`
			ESPDecryption map[string]oracleSA `json:"esp_decryption"`
		}
	}
	if err := json.Unmarshal(data, &oracle); err != nil {
		t.Fatal(err)
	}
	names := make([]string, 0, len(oracle.Captures))
	for name, c := range oracle.Captures {
		if c.KeysProfile != "" && len(c.ESPDecryption) > 0 {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	if len(names) < 10 {
		t.Fatalf("only %d keyed captures with ESP in ORACLE.json", len(names))
	}
	for _, name := range names {
		c := oracle.Captures[name]
		t.Run(name, func(t *testing.T) {
			keyFile, ok := testcorpus.ESPKeyProfiles[c.KeysProfile]
			if !ok {
				t.Fatalf("no key file known for profile %q", c.KeysProfile)
			}
			set, err := keys.Load(filepath.Join(dir, keyFile))
			if err != nil {
				t.Fatal(err)
			}
			file, _, _ := strings.Cut(name, " (")
			got := countCapture(t, filepath.Join(dir, file), set)
			compareWithOracle(t, name, got, c.ESPDecryption)
		})
	}
}

func compareWithOracle(t *testing.T, capture string, got map[string]*saCount, want map[string]oracleSA) {
	for sa, o := range want {
		g := got[sa]
		if o.DecryptAttempted == 0 {
			// tshark had no key for this SA; neither should we.
			if g != nil {
				t.Errorf("%s: tshark had no key, we matched %d packets", sa, g.packets)
			}
			continue
		}
		if g == nil {
			t.Errorf("%s: tshark decrypted %d packets, we matched none", sa, o.DecryptAttempted)
			continue
		}
		t.Logf("%s: %d packets, checked=%v icv pass %d (tshark icv_good %d), accepted %d (tshark trailer_valid %d), pad length 0 in %d, outcomes %v, next headers %v",
			sa, g.packets, g.checked, g.icvPass, o.ICVGood, g.accepted, o.TrailerValid, g.zeroPad, g.byOutcome, g.nextHdrs)
		// The lead's brief warns that tshark 4.0 leaves packets without
		// padding unmarked. Its dissect_esp (4.0 branch) only omits the
		// esp.pad field when the pad length is 0; esp.protocol and
		// esp.icv_good are still set. No accepted packet in the corpus
		// has pad length 0, so the comparison below needs no adjustment;
		// should one appear, this says where to look first.
		if g.zeroPad != 0 {
			t.Errorf("%s: %d accepted packets have pad length 0; check how tshark 4.0 marked them before comparing", sa, g.zeroPad)
		}
		if g.packets != o.DecryptAttempted {
			t.Errorf("%s: %d packets, tshark attempted %d", sa, g.packets, o.DecryptAttempted)
		}
		if g.checked {
			if g.icvPass != o.ICVGood || o.ICVBad != g.packets-g.icvPass {
				t.Errorf("%s: integrity passed for %d, tshark icv_good %d icv_bad %d", sa, g.icvPass, o.ICVGood, o.ICVBad)
			}
			// Good keys: every packet should be accepted as well.
			if g.accepted != o.TrailerValid {
				t.Errorf("%s: accepted %d, tshark trailer_valid %d (%v)", sa, g.accepted, o.TrailerValid, g.reasons)
			}
			continue
		}
		if o.ICVGood != 0 {
			t.Errorf("%s: tshark checked %d ICVs, our SA has no checkable ICV", sa, o.ICVGood)
		}
		if capture == "tcpdump/espudp1.pcap" {
			// The corpus says this file's key does not fit the capture
			// (MANIFEST.md §3, ORACLE.md): tshark 4.0 shows a next header
			// for one packet because it does not look at the padding
			// bytes (dissect_esp only needs a dissector for the next
			// header). The receiver's checks reject all eight.
			if g.accepted != 0 || o.TrailerValid != 1 || g.nextHdrs[0xe0] != 1 {
				t.Errorf("%s: accepted %d (want 0; tshark trailer_valid %d), next headers %v", sa, g.accepted, o.TrailerValid, g.nextHdrs)
			}
			continue
		}
		if g.accepted != o.TrailerValid {
			t.Errorf("%s: accepted %d, tshark trailer_valid %d (%v)", sa, g.accepted, o.TrailerValid, g.reasons)
		}
	}
	for sa, g := range got {
		if _, ok := want[sa]; !ok {
			t.Errorf("%s: we matched %d packets to a key, tshark did not list the SA", sa, g.packets)
		}
	}
}

// countCapture runs every ESP packet of a capture with a key through
// OpenESP, descending into the inner packet of tunnel-mode SAs.
func countCapture(t *testing.T, path string, set *keys.Set) map[string]*saCount {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	br := bufio.NewReader(f)
	magic, err := br.Peek(4)
	if err != nil {
		t.Fatal(err)
	}
	var src gopacket.PacketDataSource
	var link layers.LinkType
	if binary.BigEndian.Uint32(magic) == 0x0a0d0d0a {
		r, err := pcapgo.NewNgReader(br, pcapgo.DefaultNgReaderOptions)
		if err != nil {
			t.Fatal(err)
		}
		src, link = r, r.LinkType()
	} else {
		r, err := pcapgo.NewReader(br)
		if err != nil {
			t.Fatal(err)
		}
		src, link = r, r.LinkType()
	}
	w := &corpusWalker{t: t, set: set, trs: map[*keys.SA]*Transform{}, counts: map[string]*saCount{}}
	for {
		data, _, err := src.ReadPacketData()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		p := gopacket.NewPacket(data, link, gopacket.NoCopy)
		for _, l := range p.Layers() {
			if l.LayerType() == layers.LayerTypeIPv4 || l.LayerType() == layers.LayerTypeIPv6 {
				w.ip(append(l.LayerContents(), l.LayerPayload()...), 0)
				break
			}
		}
	}
	return w.counts
}

type corpusWalker struct {
	t      *testing.T
	set    *keys.Set
	trs    map[*keys.SA]*Transform
	counts map[string]*saCount
}

// ip finds ESP in an IP packet (directly or in UDP 4500, RFC 3948) and
// opens it.
func (w *corpusWalker) ip(pkt []byte, depth int) {
	if depth > 4 || len(pkt) < 20 {
		return
	}
	var src, dst netip.Addr
	var proto uint8
	var payload []byte
	switch pkt[0] >> 4 {
	case 4:
		ihl := int(pkt[0]&15) * 4
		total := int(binary.BigEndian.Uint16(pkt[2:]))
		if ihl < 20 || total < ihl || total > len(pkt) {
			return
		}
		src, dst = netip.AddrFrom4([4]byte(pkt[12:16])), netip.AddrFrom4([4]byte(pkt[16:20]))
		proto, payload = pkt[9], pkt[ihl:total]
	case 6:
		if len(pkt) < 40 {
			return
		}
		end := 40 + int(binary.BigEndian.Uint16(pkt[4:]))
		if end > len(pkt) {
			return
		}
		src, dst = netip.AddrFrom16([16]byte(pkt[8:24])), netip.AddrFrom16([16]byte(pkt[24:40]))
		proto, payload = pkt[6], pkt[40:end]
	default:
		return
	}
	switch proto {
	case ipproto.ESP:
		w.esp(src, dst, payload, depth)
	case 17:
		if len(payload) < 8 {
			return
		}
		sport, dport := binary.BigEndian.Uint16(payload), binary.BigEndian.Uint16(payload[2:])
		body := payload[8:]
		// RFC 3948 §2.2: a zero non-ESP marker is IKE, one 0xff byte a keepalive.
		if (sport == 4500 || dport == 4500) && len(body) > 8 && binary.BigEndian.Uint32(body) != 0 {
			w.esp(src, dst, body, depth)
		}
	}
}

func (w *corpusWalker) esp(src, dst netip.Addr, esp []byte, depth int) {
	if len(esp) < 8 {
		return
	}
	spi := binary.BigEndian.Uint32(esp)
	sa := w.set.ESPFor(ipproto.ESP, src, dst, spi)
	if sa == nil {
		return
	}
	tr, ok := w.trs[sa]
	if !ok {
		var err error
		if tr, err = NewFromKeys(sa); err != nil {
			w.t.Fatalf("%v: %v", sa, err)
		}
		w.trs[sa] = tr
	}
	key := fmt.Sprintf("0x%08x %s -> %s", spi, src, dst)
	c := w.counts[key]
	if c == nil {
		c = &saCount{checked: tr.Checked(), reasons: map[Reason]int{}, nextHdrs: map[uint8]int{}, byOutcome: map[Outcome]int{}}
		w.counts[key] = c
	}
	r := tr.OpenESP(esp, 0) // no corpus SA uses ESN
	c.packets++
	c.byOutcome[r.Outcome]++
	c.reasons[r.Reason]++
	c.nextHdrs[r.NextHeader]++
	if tr.Checked() && (r.Outcome == Accepted || r.Outcome == NotDecrypted) {
		c.icvPass++
	}
	if r.Outcome == Accepted {
		c.accepted++
		if r.PadLen == 0 {
			c.zeroPad++
		}
		if r.NextHeader == 4 || r.NextHeader == 41 {
			w.ip(append([]byte(nil), r.Payload...), depth+1)
		}
	}
}
