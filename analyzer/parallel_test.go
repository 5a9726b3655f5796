package analyzer

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/gopacket/gopacket/layers"

	"ipsecmon/decode"
	pb "ipsecmon/internal/pktbuild"
	"ipsecmon/keys"
)

// parallelInput is a keyed capture meant to make a parallel run differ
// from a single-threaded one if it could: many batches of interleaved SAs
// (AES-GCM, AES-CBC with HMAC, an ESN SA verified when applied, an SA
// without keys), integrity and padding failures, replays, Bad SPI to a
// host whose SA list is complete, truncated packets, and a tunnel whose
// inner packets are ESP of an SA that also travels outside it (its
// transform is then used on the caller's goroutine while a worker may hold
// it). What each packet must give is not computed here: the test compares
// worker counts with each other and with the inline run.
func parallelInput(t *testing.T) ([]frame, *keys.Set) {
	t.Helper()
	rng := rand.New(rand.NewPCG(7, 8))
	key := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rng.IntN(256))
		}
		return b
	}
	type sa struct {
		s        pb.Sealer
		src, dst [4]byte
		seq      uint64
	}
	var sas []*sa
	var lines bytes.Buffer
	for i := 0; i < 12; i++ {
		s := &sa{src: [4]byte{10, 0, 0, 1}, dst: [4]byte{10, 1, 0, byte(i)}}
		if i%2 == 1 {
			s.src, s.dst = s.dst, s.src
		}
		spi := uint32(0x1000 + i)
		switch i % 4 {
		case 0:
			k := key(20)
			s.s = pb.Sealer{SPI: spi, Key: k, GCM: true}
			fmt.Fprintf(&lines, "esp spi=0x%x dst=%d.%d.%d.%d enc=aes-gcm-16 enc-key=0x%x\n", spi, s.dst[0], s.dst[1], s.dst[2], s.dst[3], k)
		case 1, 2:
			k, a := key(16), key(32)
			s.s = pb.Sealer{SPI: spi, Key: k, AuthKey: a}
			fmt.Fprintf(&lines, "esp spi=0x%x dst=%d.%d.%d.%d enc=aes-cbc enc-key=0x%x auth=hmac-sha2-256-128 auth-key=0x%x\n", spi, s.dst[0], s.dst[1], s.dst[2], s.dst[3], k, a)
		case 3:
			k := key(20)
			s.s = pb.Sealer{SPI: spi, Key: k, GCM: true, ESN: i == 3}
			esn := ""
			if s.s.ESN {
				esn = " esn=1"
				s.seq = 1<<32 - 100 // crosses into the next high half
			}
			fmt.Fprintf(&lines, "esp spi=0x%x dst=%d.%d.%d.%d enc=aes-gcm-16 enc-key=0x%x%s\n", spi, s.dst[0], s.dst[1], s.dst[2], s.dst[3], k, esn)
		}
		sas = append(sas, s)
	}
	ks, err := keys.Parse("parallel", lines.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	inner := func(n int) []byte {
		return pb.Cat(pb.IPv4(17, [4]byte{192, 168, 1, 1}, [4]byte{192, 168, 2, 1}, 8+n, 0), pb.UDP(1, 2, n), make([]byte, n))
	}
	var frames []frame
	var sent [][]byte
	at := 0.0
	add := func(ip []byte) {
		at += 0.0005
		frames = append(frames, frame{at: at, ip: ip})
		sent = append(sent, ip)
	}
	tunnel := sas[0] // carries ESP of sas[2] inside, besides its own traffic
	for i := 0; i < 6000; i++ {
		switch r := rng.IntN(100); {
		case r < 3 && len(sent) > 0: // a replay of an earlier packet
			add(sent[rng.IntN(len(sent))])
		case r < 5: // Bad SPI: 10.0.0.1's list is complete
			add(pb.ESPPacket([4]byte{10, 1, 0, 9}, [4]byte{10, 0, 0, 1}, 0xbad0000+uint32(rng.IntN(3)), uint32(i), 100))
		case r < 7: // an SA nobody has keys for
			add(pb.ESPPacket([4]byte{10, 2, 0, 1}, [4]byte{10, 2, 0, 2}, 0x7777, uint32(i), 200))
		case r < 10: // the nested SA inside the tunnel
			n := sas[2]
			n.seq++
			esp := n.s.Seal(n.seq, inner(60), 4, pb.NoFault)
			in := pb.Cat(pb.IPv4(50, n.src, n.dst, len(esp), 0), esp)
			tunnel.seq++
			outer := tunnel.s.Seal(tunnel.seq, in, 4, pb.NoFault)
			add(pb.Cat(pb.IPv4(50, tunnel.src, tunnel.dst, len(outer), 0), outer))
		default:
			s := sas[rng.IntN(len(sas))]
			s.seq++
			fault := pb.NoFault
			switch f := rng.IntN(100); {
			case f < 2:
				fault = pb.FlipICV
			case f < 3:
				fault = pb.BadPadding
			}
			esp := s.s.Seal(s.seq, inner(40+rng.IntN(1200)), 4, fault)
			ip := pb.Cat(pb.IPv4(50, s.src, s.dst, len(esp), 0), esp)
			if rng.IntN(100) == 0 {
				ip = ip[:len(ip)/2] // cut by a snap length
			}
			add(ip)
		}
	}
	return frames, ks
}

// result is everything a run shows: each SA's record, the tallies, the
// events in order.
type result struct {
	sas    []SA
	counts Counts
	events []Event
}

func runWorkers(t *testing.T, frames []frame, ks *keys.Set, workers int) result {
	t.Helper()
	var r result
	a := New(Config{Keys: ks, CompleteKeys: true, Workers: workers, Me: prefixes("10.0.0.1"),
		OnEvent: func(e Event) { r.events = append(r.events, e) }})
	dec := decode.NewDecoder()
	for i, f := range frames {
		var p decode.Packet
		// Cut frames keep their IPv4 total length as the wire length.
		if err := dec.Decode(layers.LinkTypeRaw, f.ip, int(binary.BigEndian.Uint16(f.ip[2:])), &p); err != nil {
			t.Fatalf("frame %d: %v", i+1, err)
		}
		a.Packet(at(f.at), &p, Ref{Source: "test", Index: i + 1})
	}
	a.Finish()
	for _, sa := range a.SAs() {
		c := *sa
		c.Window.ring, c.tr, c.pair = nil, nil, nil
		r.sas = append(r.sas, c)
	}
	r.counts = a.Counts()
	return r
}

// Every worker count gives the inline run's SAs, counts and events, in the
// same order.
func TestParallelEqualsInline(t *testing.T) {
	frames, ks := parallelInput(t)
	want := runWorkers(t, frames, ks, 1)
	// The input must exercise what it is meant to.
	var auth, dec, replays, verified, nested uint64
	for _, sa := range want.sas {
		auth += sa.NotAuthenticated
		dec += sa.NotDecrypted
		replays += sa.Replayed
		verified += sa.Accepted - sa.Unverified
		if sa.Key.SPI == 0x1002 {
			nested = sa.Accepted
		}
	}
	if auth == 0 || dec == 0 || replays == 0 || want.counts.BadSPI == 0 || want.counts.TruncatedIPsec == 0 || verified < 4000 || nested < 100 {
		t.Fatalf("input too tame: %d auth, %d decryption failures, %d replays, %d Bad SPI, %d truncated, %d verified, %d nested",
			auth, dec, replays, want.counts.BadSPI, want.counts.TruncatedIPsec, verified, nested)
	}
	for _, w := range []int{2, 3, 8} {
		got := runWorkers(t, frames, ks, w)
		if !reflect.DeepEqual(got.counts, want.counts) {
			t.Errorf("%d workers: counts %+v, want %+v", w, got.counts, want.counts)
		}
		if len(got.sas) != len(want.sas) {
			t.Fatalf("%d workers: %d SAs, want %d", w, len(got.sas), len(want.sas))
		}
		for i := range want.sas {
			if !reflect.DeepEqual(got.sas[i], want.sas[i]) {
				t.Errorf("%d workers: SA %d:\n got %+v\nwant %+v", w, i, got.sas[i], want.sas[i])
			}
		}
		if !reflect.DeepEqual(got.events, want.events) {
			t.Errorf("%d workers: %d events, want %d (or in another order)", w, len(got.events), len(want.events))
		}
	}
}

// TestWorkersOnlyWithKeys: the verification workers start when there is a
// key to verify with, at New or at SetKeys (SIGHUP), never for a keyless
// run, whose packets they would only copy and hand back.
func TestWorkersOnlyWithKeys(t *testing.T) {
	one := &keys.Set{SAs: []keys.SA{{SPI: 1}}}
	for _, c := range []struct {
		name     string
		cfg      Config
		set      *keys.Set
		atNew    bool
		afterSet bool
	}{
		{"keyless, 2 workers", Config{Workers: 2}, nil, false, false},
		{"empty key set", Config{Workers: 2, Keys: &keys.Set{}}, &keys.Set{}, false, false},
		{"keys at New", Config{Workers: 2, Keys: one}, one, true, true},
		{"keys by SetKeys", Config{Workers: 2}, one, false, true},
		{"one worker", Config{Workers: 1, Keys: one}, one, false, false},
	} {
		a := New(c.cfg)
		if got := a.par != nil; got != c.atNew {
			t.Errorf("%s: workers at New: %v, want %v", c.name, got, c.atNew)
		}
		if c.set != nil {
			a.SetKeys(c.set)
		}
		if got := a.par != nil; got != c.afterSet {
			t.Errorf("%s: workers after SetKeys: %v, want %v", c.name, got, c.afterSet)
		}
	}
}
