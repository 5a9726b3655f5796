package verify

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"ipsecmon/internal/lab/facts"
	"ipsecmon/internal/testcorpus"
)

// Result is what checking one recording found.
type Result struct {
	Frames         int
	ESPPackets     int
	ESPZeroPadding int // unmarked by tshark (pad length 0), verified with Go's crypto instead
	IKEEncrypted   int
	IKEDecrypted   int
	// IKEv1Retransmissions are byte-identical repeats of an earlier IKEv1
	// message, which tshark 4.0 cannot decrypt.
	IKEv1Retransmissions int
	Duplicates           int // all byte-identical repeats of IKE messages
	Keepalives           int
	ClearText            int // UDP to ClearTextPort outside the tunnel (on purpose)
	// TunnelPackets are the packets of the tunnel-device recordings, each
	// matched with an inner packet tshark decrypted from the link capture.
	TunnelPackets int
	// NotDelivered: packets captured for a peer that its tunnel device
	// did not deliver (at most the facts' uncounted_by_receiver).
	NotDelivered int
	// Missing and Reordered: ESP sequence numbers absent from the capture
	// and captured after a higher one (each equal to the path's facts).
	Missing, Reordered int
	Problems           []string
}

// ClearTextPort is the UDP port of the datagrams a scenario sends outside the
// tunnel on purpose.
const ClearTextPort = 9999

func (r *Result) problem(format string, a ...any) {
	r.Problems = append(r.Problems, fmt.Sprintf(format, a...))
}

// Check verifies one recorded scenario directory (capture.pcap, facts.json
// and the key tables) with tshark; tmp is an empty scratch directory.
func Check(ctx context.Context, tshark, dir, tmp string) (*Result, error) {
	f, err := facts.Read(filepath.Join(dir, "facts.json"))
	if err != nil {
		return nil, err
	}
	frames, err := Dissect(ctx, tshark, filepath.Join(dir, f.Capture.File), dir, tmp)
	if err != nil {
		return nil, err
	}
	kf, err := os.Open(filepath.Join(dir, "esp_sa"))
	if err != nil {
		return nil, err
	}
	espKeys, err := ReadESPSA(kf, filepath.Join(dir, "esp_sa"))
	kf.Close()
	if err != nil {
		return nil, err
	}
	keyOf := map[uint32]ESPKey{}
	for _, k := range espKeys {
		keyOf[k.SPI] = k
	}
	spiFacts, err := spisOf(f)
	if err != nil {
		return nil, err
	}
	ikeSAs := map[string]int{}
	for _, s := range f.IKESAs {
		ikeSAs[s.SPIi+"/"+s.SPIr] = 0
	}

	res := &Result{Frames: len(frames)}
	type count struct{ packets, bytes uint64 }
	counts := map[uint32]*count{}
	seqs := map[uint32][]uint32{} // ESP sequence numbers per SPI, in capture order
	var seen [][]byte
	for _, fr := range frames {
		switch {
		case fr.ESP != nil:
			e := fr.ESP
			res.ESPPackets++
			sf, ok := spiFacts[e.SPI]
			if !ok {
				res.problem("frame %d: ESP SPI 0x%08x is not in facts.json", fr.Num, e.SPI)
				continue
			}
			if fr.Src != sf.Src || fr.Dst != sf.Dst || fr.SrcPort != sf.SrcPort || fr.DstPort != sf.DstPort {
				res.problem("frame %d: SPI %s travels %s:%d -> %s:%d, facts say %s:%d -> %s:%d", fr.Num, sf.SPI,
					fr.Src, fr.SrcPort, fr.Dst, fr.DstPort, sf.Src, sf.SrcPort, sf.Dst, sf.DstPort)
			}
			switch {
			case e.ICVBad:
				res.problem("frame %d: SPI %s: tshark reports a bad ICV", fr.Num, sf.SPI)
			case e.ICVGood:
			case e.PadLen == 0:
				// tshark 4.0 marks the ICV neither good nor bad when the
				// ESP padding is empty: check it with Go's crypto.
				k, ok := keyOf[e.SPI]
				if !ok {
					res.problem("frame %d: SPI %s has no esp_sa entry", fr.Num, sf.SPI)
				} else if err := CheckESP(k, e.Raw); err != nil {
					res.problem("frame %d: SPI %s (empty padding, unmarked by tshark): %v", fr.Num, sf.SPI, err)
				} else {
					res.ESPZeroPadding++
				}
			default:
				res.problem("frame %d: SPI %s: tshark checked no ICV (pad length %d)", fr.Num, sf.SPI, e.PadLen)
			}
			if !e.Decrypted || e.NextHeader != 4 || e.InnerLen <= 0 {
				res.problem("frame %d: SPI %s did not decrypt to an inner IPv4 packet (next header %d)", fr.Num, sf.SPI, e.NextHeader)
				continue
			}
			if len(e.Inner) != e.InnerLen {
				res.problem("frame %d: SPI %s: tshark's decrypted inner packet has %d bytes, its IP header says %d", fr.Num, sf.SPI, len(e.Inner), e.InnerLen)
			}
			c := counts[e.SPI]
			if c == nil {
				c = &count{}
				counts[e.SPI] = c
			}
			c.packets++
			c.bytes += uint64(e.InnerLen) // libipsec counts the inner IP length
			seqs[e.SPI] = append(seqs[e.SPI], e.Seq)
		case fr.IKE != nil:
			k := fr.IKE
			if _, ok := ikeSAs[k.ISPI+"/"+k.RSPI]; ok {
				ikeSAs[k.ISPI+"/"+k.RSPI]++
			}
			dup := false
			for _, s := range seen {
				if bytes.Equal(s, k.Raw) {
					dup = true
					break
				}
			}
			if dup {
				res.Duplicates++
			} else {
				seen = append(seen, k.Raw)
			}
			if !k.Encrypted {
				continue
			}
			res.IKEEncrypted++
			switch {
			case k.Version == 2 && k.Decrypted && k.ICDCorrect:
				res.IKEDecrypted++
			case k.Version == 2:
				res.problem("frame %d: IKEv2 exchange %d message %d: decrypted %v, integrity checksum correct %v", fr.Num, k.Exchange, k.MsgID, k.Decrypted, k.ICDCorrect)
			case k.Decrypted:
				res.IKEDecrypted++
			case dup:
				// tshark 4.0 takes the CBC IV of an IKEv1 message from the
				// last block of the previous one (RFC 2409 App. B); for an
				// identical retransmission that is the wrong IV.
				res.IKEv1Retransmissions++
			default:
				res.problem("frame %d: IKEv1 exchange %d message 0x%08x did not decrypt", fr.Num, k.Exchange, k.MsgID)
			}
		case fr.NATKeepalive:
			res.Keepalives++
		case fr.DstPort == ClearTextPort:
			// Datagrams a scenario sends around the tunnel on purpose
			// (ikev2-cleartext: the policy violations ipsecmon must find).
			res.ClearText++
		default:
			res.problem("frame %d: neither IKE, ESP nor a NAT-T keepalive (%s -> %s)", fr.Num, fr.Src, fr.Dst)
		}
	}
	if err := checkTunnels(res, f, dir, frames, spiFacts); err != nil {
		return nil, err
	}
	for spis, n := range ikeSAs {
		if n == 0 {
			res.problem("IKE SA %s of facts.json has no message in the capture", spis)
		}
	}
	if res.Duplicates != len(f.Retransmits) {
		res.problem("the capture repeats %d IKE messages byte for byte, the daemons logged %d retransmissions", res.Duplicates, len(f.Retransmits))
	}
	for spi, sf := range spiFacts {
		c := counts[spi]
		if c == nil {
			c = &count{}
		}
		// What crossed the capture point: what the sender sent, less what
		// the path dropped before it (the capture sees a packet the
		// receiver may not count).
		want := count{sf.Sent.Packets, sf.Sent.Bytes}
		if sf.Path != nil {
			want.packets -= uint64(sf.Path.Dropped)
			want.bytes -= sf.Path.DroppedBytes
		}
		if want != *c {
			res.problem("SPI %s: %d packets (%d inner bytes) in the capture, facts say %d (%d) crossed it", sf.SPI, c.packets, c.bytes, want.packets, want.bytes)
		}
		if sf.Uncounted != nil && !f.CountsSplitByTiming && !stopped(f, sf.To()) {
			res.problem("SPI %s: %d packets reached %s uncounted, though no traffic crossed a rekey and it was not stopped", sf.SPI, sf.Uncounted.Packets, sf.To())
		}
		for _, p := range facts.PeerNames {
			ctr, ok := sf.Counters[p]
			if !ok {
				res.problem("SPI %s: no counters from %s", sf.SPI, p)
				continue
			}
			exact := count{sf.Sent.Packets, sf.Sent.Bytes}
			if p != sf.From {
				exact = want
				if sf.Uncounted != nil {
					exact.packets -= sf.Uncounted.Packets
					exact.bytes -= sf.Uncounted.Bytes
				}
			}
			got := count{ctr.Packets, ctr.Bytes}
			switch {
			case got == exact:
			case f.CountsSplitByTiming && got.packets <= exact.packets && got.bytes <= exact.bytes:
				// A reading of an SA that carried traffic until closed.
			default:
				res.problem("SPI %s: %s counted %d packets (%d bytes), facts make it %d (%d) (%s)", sf.SPI, p, got.packets, got.bytes, exact.packets, exact.bytes, ctr.Source)
			}
		}
		checkSequence(res, sf, seqs[spi])
	}
	if f.Liveness != nil {
		n := 0
		for _, l := range f.Liveness {
			n += l.Keepalives
		}
		if n != res.Keepalives {
			res.problem("%d NAT-T keepalives in the capture, the daemons logged %d", res.Keepalives, n)
		}
	}
	return res, nil
}

// spisOf indexes the facts' SPIs by number.
func spisOf(f *facts.Facts) (map[uint32]facts.SPI, error) {
	spiFacts := map[uint32]facts.SPI{}
	for _, s := range f.SPIs {
		v, err := strconv.ParseUint(strings.TrimPrefix(s.SPI, "0x"), 16, 32)
		if err != nil {
			return nil, fmt.Errorf("facts.json: SPI %q", s.SPI)
		}
		spiFacts[uint32(v)] = s
	}
	return spiFacts, nil
}

// Decrypted is one inner packet another decrypter than tshark took out of
// a recording's link capture, with the SPI of its ESP packet.
type Decrypted struct {
	SPI   uint32
	Inner []byte
}

// CheckTunnelDevices checks the inner packets another decrypter took out
// of the link capture of the recording in dir, in capture order, as Check
// checks tshark's: against the tunnel devices' recordings (checkTunnels),
// and per SPI in number and inner bytes against what facts.json says
// crossed the capture point.
func CheckTunnelDevices(dir string, dec []Decrypted) (*Result, error) {
	f, err := facts.Read(filepath.Join(dir, "facts.json"))
	if err != nil {
		return nil, err
	}
	spiFacts, err := spisOf(f)
	if err != nil {
		return nil, err
	}
	res := &Result{ESPPackets: len(dec)}
	frames := make([]Frame, len(dec))
	type count struct{ packets, bytes uint64 }
	counts := map[uint32]count{}
	for i, d := range dec {
		frames[i] = Frame{Num: i + 1, ESP: &ESP{SPI: d.SPI, Inner: d.Inner}}
		if _, ok := spiFacts[d.SPI]; !ok {
			res.problem("packet %d: SPI 0x%08x is not in facts.json", i+1, d.SPI)
		}
		c := counts[d.SPI]
		counts[d.SPI] = count{c.packets + 1, c.bytes + uint64(len(d.Inner))}
	}
	for spi, sf := range spiFacts {
		want := count{sf.Sent.Packets, sf.Sent.Bytes}
		if sf.Path != nil {
			want.packets -= uint64(sf.Path.Dropped)
			want.bytes -= sf.Path.DroppedBytes
		}
		if got := counts[spi]; got != want {
			res.problem("SPI %s: %d inner packets (%d bytes) decrypted, facts say %d (%d) crossed the capture point", sf.SPI, got.packets, got.bytes, want.packets, want.bytes)
		}
	}
	if err := checkTunnels(res, f, dir, frames, spiFacts); err != nil {
		return nil, err
	}
	return res, nil
}

// stopped says whether the lab froze or ended a peer's daemon during the capture.
func stopped(f *facts.Facts, peer string) bool {
	for _, s := range f.Signals {
		if s.Peer == peer {
			return true
		}
	}
	return false
}

// RecordingsDir is where tests find the recorded scenarios:
// IPSECMON_LAB_DIR, else the repository's testdata/pcaps/lab.
func RecordingsDir() (string, error) {
	if d := os.Getenv("IPSECMON_LAB_DIR"); d != "" {
		return d, nil
	}
	root, err := testcorpus.RepoRoot()
	if err != nil {
		return "", fmt.Errorf("repository root: %w", err)
	}
	return filepath.Join(root, "testdata", "pcaps", "lab"), nil
}
