package relay

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
)

// espPacket builds IPv4 + UDP 4500 + ESP header (RFC 3948) with a short
// body; the relay looks at nothing else.
func espPacket(spi, seq uint32) []byte {
	p := make([]byte, 20+8+8+16)
	p[0] = 0x45
	binary.BigEndian.PutUint16(p[2:], uint16(len(p)))
	p[9] = 17
	copy(p[12:], []byte{203, 0, 113, 1, 198, 51, 100, 2})
	binary.BigEndian.PutUint16(p[20:], 4500)
	binary.BigEndian.PutUint16(p[22:], 4500)
	binary.BigEndian.PutUint16(p[24:], uint16(len(p)-20))
	binary.BigEndian.PutUint32(p[28:], spi)
	binary.BigEndian.PutUint32(p[32:], seq)
	return p
}

func TestESPOf(t *testing.T) {
	ike := espPacket(0, 0) // non-ESP marker: IKE on port 4500
	keepalive := espPacket(1, 1)[:20+8+1]
	keepalive[28] = 0xff
	frag := espPacket(1, 1)
	frag[6] = 0x20 // more fragments
	tcp := espPacket(1, 1)
	tcp[9] = 6
	other := espPacket(7, 9)
	binary.BigEndian.PutUint16(other[20:], 500)
	binary.BigEndian.PutUint16(other[22:], 500)
	tests := []struct {
		name     string
		pkt      []byte
		spi, seq uint32
		ok       bool
	}{
		{"esp", espPacket(0xc0ffee01, 42), 0xc0ffee01, 42, true},
		{"ike on 4500", ike, 0, 0, false},
		{"nat-t keepalive", keepalive, 0, 0, false},
		{"fragment", frag, 0, 0, false},
		{"tcp", tcp, 0, 0, false},
		{"udp 500", other, 0, 0, false},
		{"short", []byte{0x45, 0}, 0, 0, false},
	}
	for _, tt := range tests {
		spi, seq, ok := ESPOf(tt.pkt)
		if spi != tt.spi || seq != tt.seq || ok != tt.ok {
			t.Errorf("%s: %#x %d %v, want %#x %d %v", tt.name, spi, seq, ok, tt.spi, tt.seq, tt.ok)
		}
	}
}

type step struct {
	spi, seq uint32 // 0/0: a tick after MaxHold
}

// order runs the relay over steps and returns "spi:seq/overtaken" in
// forwarding order.
func order(r *Relay, steps []step) []string {
	now := time.Unix(0, 0)
	var got []string
	add := func(outs []Out) {
		for _, o := range outs {
			if o.Record != nil {
				got = append(got, fmt.Sprintf("%s:%d/%d", o.Record.SPI[9:], o.Record.Seq, o.Record.Overtaken))
			}
		}
	}
	for _, s := range steps {
		now = now.Add(time.Millisecond)
		if s.spi == 0 {
			now = now.Add(r.MaxHold)
			add(r.Tick(now))
			continue
		}
		add(r.Push(espPacket(s.spi, s.seq), now))
	}
	add(r.Flush(now))
	return got
}

func seqSteps(spi uint32, from, to uint32) []step {
	var s []step
	for q := from; q <= to; q++ {
		s = append(s, step{spi, q})
	}
	return s
}

// TestRelayOrder: the expected orders are worked out by hand from the
// rules (a held packet leaves right after its For-th follower).
func TestRelayOrder(t *testing.T) {
	tests := []struct {
		name  string
		rules []Rule
		steps []step
		want  string
	}{
		{"no rules", nil, seqSteps(1, 1, 4), "1:1/0 1:2/0 1:3/0 1:4/0"},
		{"every 3 at 2 for 2", []Rule{{Every: 3, At: 2, For: 2}}, seqSteps(1, 1, 7),
			"1:1/0 1:3/0 1:4/0 1:2/2 1:6/0 1:7/0 1:5/2"},
		{"one seq for 1", []Rule{{At: 2, For: 1}}, seqSteps(1, 1, 4), "1:1/0 1:3/0 1:2/1 1:4/0"},
		{"followers counted per SPI", []Rule{{At: 1, For: 1}},
			[]step{{1, 1}, {2, 1}, {2, 2}, {1, 2}}, "2:2/0 2:1/1 1:2/0 1:1/1"},
		{"timeout", []Rule{{At: 3, For: 5}}, append(seqSteps(1, 1, 4), step{}), "1:1/0 1:2/0 1:4/0 1:3/1"},
		{"flush at stop", []Rule{{At: 4, For: 5}}, seqSteps(1, 1, 4), "1:1/0 1:2/0 1:3/0 1:4/0"},
	}
	for _, tt := range tests {
		got := strings.Join(order(New(tt.rules, time.Second), tt.steps), " ")
		if got != tt.want {
			t.Errorf("%s:\n got  %s\n want %s", tt.name, got, tt.want)
		}
	}
}

// TestRelayRecords: positions count ESP packets only, and the release
// reason is recorded.
func TestRelayRecords(t *testing.T) {
	r := New([]Rule{{At: 1, For: 1}}, time.Second)
	now := time.Unix(100, 0)
	var recs []*Record
	keep := func(outs []Out) {
		for _, o := range outs {
			if o.Record != nil {
				recs = append(recs, o.Record)
			}
		}
	}
	if out := r.Push(espPacket(0, 0), now); len(out) != 1 || out[0].Record != nil {
		t.Fatalf("IKE: %v", out)
	}
	keep(r.Push(espPacket(5, 1), now))
	if r.Holding() != 1 {
		t.Fatalf("holding %d", r.Holding())
	}
	keep(r.Push(espPacket(5, 2), now))
	if len(recs) != 2 || recs[0].N != 1 || recs[0].Seq != 2 || recs[1].N != 2 || !recs[1].Held || recs[1].Released != "followers" || recs[1].Overtaken != 1 {
		b, _ := json.Marshal(recs)
		t.Errorf("%s", b)
	}
}

func TestParseRule(t *testing.T) {
	good := map[string]Rule{
		"every=50,at=25,for=2": {Every: 50, At: 25, For: 2},
		"seq=300,for=40":       {At: 300, For: 40},
	}
	for s, want := range good {
		r, err := ParseRule(s)
		if err != nil || r != want || r.String() != s {
			t.Errorf("%q: %+v %v (%s)", s, r, err, r.String())
		}
	}
	for _, s := range []string{"", "every=5,for=1", "seq=1", "seq=1,every=2,at=1,for=1", "every=5,at=5,for=1", "seq=x,for=1", "bogus=1,seq=1,for=1", "seq=1,for=0"} {
		if _, err := ParseRule(s); err == nil {
			t.Errorf("%q: no error", s)
		}
	}
}

// TestRun drives Run over an in-memory device: every packet read is
// written back, held ones after their followers, and each ESP packet is
// logged once.
func TestRun(t *testing.T) {
	dev := &memDev{in: [][]byte{espPacket(9, 1), espPacket(9, 2), espPacket(0, 0), espPacket(9, 3)}}
	r := New([]Rule{{At: 1, For: 2}}, time.Hour)
	var log bytes.Buffer
	err := Run(t.Context(), dev, r, &log)
	if err == nil || !strings.Contains(err.Error(), "read") {
		t.Fatalf("Run: %v, want the device's end as a read error", err)
	}
	var seqs []uint32
	for _, p := range dev.out {
		if _, seq, ok := ESPOf(p); ok {
			seqs = append(seqs, seq)
		}
	}
	if fmt.Sprint(seqs) != "[2 3 1]" || len(dev.out) != 4 {
		t.Errorf("written %v (%d packets)", seqs, len(dev.out))
	}
	if n := strings.Count(log.String(), "\n"); n != 3 {
		t.Errorf("%d log lines:\n%s", n, log.String())
	}
}

type memDev struct {
	in, out [][]byte
}

func (d *memDev) Read(b []byte) (int, error) {
	if len(d.in) == 0 {
		return 0, fmt.Errorf("no more packets")
	}
	n := copy(b, d.in[0])
	d.in = d.in[1:]
	return n, nil
}

func (d *memDev) Write(b []byte) (int, error) {
	d.out = append(d.out, append([]byte(nil), b...))
	return len(b), nil
}

// FuzzRelay: any packet sequence goes through the relay without a panic,
// and every ESP packet pushed leaves exactly once.
func FuzzRelay(f *testing.F) {
	f.Add(espPacket(1, 2), espPacket(1, 1), []byte{0x45})
	f.Fuzz(func(t *testing.T, a, b, c []byte) {
		r := New([]Rule{{Every: 2, At: 1, For: 1}, {At: 0, For: 3}}, time.Second)
		now := time.Unix(0, 0)
		in, out := 0, 0
		for _, p := range [][]byte{a, b, c, a} {
			if _, _, ok := ESPOf(p); ok {
				in++
			}
			for _, o := range r.Push(p, now) {
				if o.Record != nil {
					out++
				}
			}
		}
		for _, o := range r.Flush(now) {
			if o.Record != nil {
				out++
			}
		}
		if in != out {
			t.Errorf("%d ESP packets in, %d out", in, out)
		}
	})
}
