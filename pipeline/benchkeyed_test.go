package pipeline_test

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/des"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"hash"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"runtime/trace"
	"sync"
	"testing"
	"time"

	"ipsecmon/algo"
	"ipsecmon/analyzer"
	"ipsecmon/internal/benchgen"
	"ipsecmon/ipproto"
	"ipsecmon/keys"
)

// keyedInput is a generated keyed capture and its key file.
type keyedInput struct {
	once         sync.Once
	write        func(path, keyPath string) (int, int64, error)
	path, keys   string
	frames       int
	err          error
	dir, pattern string
}

func (in *keyedInput) get(b *testing.B) (path, keyFile string, frames int, size int64) {
	in.once.Do(func() {
		dir, err := os.MkdirTemp("", in.pattern)
		if err != nil {
			in.err = err
			return
		}
		in.dir = dir
		in.path, in.keys = filepath.Join(dir, "capture.pcap"), filepath.Join(dir, "keys.txt")
		in.frames, _, in.err = in.write(in.path, in.keys)
	})
	if in.err != nil {
		b.Fatal(in.err)
	}
	st, err := os.Stat(in.path)
	if err != nil {
		b.Fatal(err)
	}
	return in.path, in.keys, in.frames, st.Size()
}

var (
	// keyedBench is the original keyed capture: AES-GCM and AES-CBC with
	// HMAC-SHA2-256 over 400 SAs, 5-54 µs apart.
	keyedBench = &keyedInput{pattern: "ipsecmon-bench-keyed", write: func(p, k string) (int, int64, error) {
		return benchgen.WriteKeyed(p, k, benchgen.Default)
	}}
	// mixedBench is the mixed suite, 1 ms apart.
	mixedBench = &keyedInput{pattern: "ipsecmon-bench-mixed", write: func(p, k string) (int, int64, error) {
		return benchgen.WriteMixed(p, k, benchgen.Mixed, benchgen.MixedGap)
	}}
)

// stdSA is the least a receiver needs per SA, built with the standard
// library only.
type stdSA struct {
	ah    bool
	aead  cipher.AEAD
	salt  []byte
	block cipher.Block
	cbc   cipher.BlockMode // its IV set per packet
	ctr   bool
	mac   hash.Hash
	icv   int
	sum   []byte
	ivLen int
}

func newStdSA(b *testing.B, k *keys.SA) *stdSA {
	s := &stdSA{ah: k.Proto == ipproto.AH}
	switch k.Auth {
	case algo.AuthHMACSHA1_96:
		s.mac, s.icv = hmac.New(sha1.New, k.AuthKey), 12
	case algo.AuthHMACSHA256_128:
		s.mac, s.icv = hmac.New(sha256.New, k.AuthKey), 16
	}
	var err error
	switch k.Enc {
	case algo.EncAESGCM16:
		n := len(k.EncKey) - 4
		s.block, err = aes.NewCipher(k.EncKey[:n])
		if err == nil {
			s.aead, err = cipher.NewGCM(s.block)
		}
		s.salt, s.ivLen = k.EncKey[n:], 8
	case algo.EncAESCBC:
		s.block, err = aes.NewCipher(k.EncKey)
		s.ivLen = 16
	case algo.Enc3DESCBC:
		s.block, err = des.NewTripleDESCipher(k.EncKey)
		s.ivLen = 8
	case algo.EncAESCTR:
		n := len(k.EncKey) - 4
		s.block, err = aes.NewCipher(k.EncKey[:n])
		s.salt, s.ctr, s.ivLen = k.EncKey[n:], true, 8
	case algo.EncNull, algo.EncUnknown:
	default:
		b.Fatalf("baseline: no %v", k.Enc)
	}
	if err != nil {
		b.Fatal(err)
	}
	if s.ivLen > 8 || k.Enc == algo.Enc3DESCBC {
		s.cbc = cipher.NewCBCDecrypter(s.block, make([]byte, s.ivLen))
	}
	return s
}

// stdOpener verifies and decrypts one frame the way a receiver must, with
// standard-library calls only: the floor of a keyed run.
type stdOpener struct {
	sas   map[uint32]*stdSA
	out   []byte
	z     []byte
	nonce [12]byte
	ctr   [16]byte
}

func newStdOpener(b *testing.B, keyFile string) *stdOpener {
	ks, err := keys.Load(keyFile)
	if err != nil {
		b.Fatal(err)
	}
	o := &stdOpener{sas: map[uint32]*stdSA{}, out: make([]byte, 2048), z: make([]byte, 2048)}
	for i := range ks.SAs {
		o.sas[ks.SAs[i].SPI] = newStdSA(b, &ks.SAs[i])
	}
	return o
}

type ivSetter interface{ SetIV([]byte) }

// open reports whether the frame (Ethernet, IPv4 without options, ESP, ESP
// in UDP or AH) verifies and decrypts to well-formed padding.
func (o *stdOpener) open(frame []byte) bool {
	ip := frame[14:]
	hl := int(ip[0]&0xf) * 4
	p := ip[hl:]
	if ip[9] == 17 {
		p = p[8:]
	}
	if ip[9] == 51 {
		s := o.sas[binary.BigEndian.Uint32(p[4:])]
		// RFC 4302 §3.3.3.1.1.1: TOS, flags and offset, TTL, checksum and
		// the ICV count as zero.
		z := append(o.z[:0], ip...)
		z[1], z[6], z[7], z[8], z[10], z[11] = 0, 0, 0, 0, 0, 0
		clear(z[hl+12 : hl+12+s.icv])
		s.mac.Reset()
		s.mac.Write(z)
		s.sum = s.mac.Sum(s.sum[:0])
		return hmac.Equal(s.sum[:s.icv], p[12:12+s.icv])
	}
	s := o.sas[binary.BigEndian.Uint32(p)]
	iv := p[8 : 8+s.ivLen]
	var pt []byte
	if s.aead != nil {
		copy(o.nonce[:4], s.salt)
		copy(o.nonce[4:], iv)
		var err error
		if pt, err = s.aead.Open(o.out[:0], o.nonce[:], p[16:], p[:8]); err != nil {
			return false
		}
	} else {
		n := len(p) - s.icv
		s.mac.Reset()
		s.mac.Write(p[:n])
		s.sum = s.mac.Sum(s.sum[:0])
		if !hmac.Equal(s.sum[:s.icv], p[n:]) {
			return false
		}
		ct := p[8+s.ivLen : n]
		pt = o.out[:len(ct)]
		switch {
		case s.cbc != nil:
			s.cbc.(ivSetter).SetIV(iv)
			s.cbc.CryptBlocks(pt, ct)
		case s.ctr:
			// The standard library's CTR cannot be restarted: one per packet.
			copy(o.ctr[:4], s.salt)
			copy(o.ctr[4:12], iv)
			o.ctr[12], o.ctr[13], o.ctr[14], o.ctr[15] = 0, 0, 0, 1
			cipher.NewCTR(s.block, o.ctr[:]).XORKeyStream(pt, ct)
		default:
			copy(pt, ct)
		}
	}
	pad := int(pt[len(pt)-2])
	return pad+2 <= len(pt)
}

// benchBaseline reads the capture and verifies and decrypts every packet
// single-threaded with the standard library, and nothing else.
func benchBaseline(b *testing.B, in *keyedInput) {
	path, keyFile, frames, size := in.get(b)
	o := newStdOpener(b, keyFile)
	b.SetBytes(size)
	u := startUsage(b)
	for i := 0; i < b.N; i++ {
		if ok := eachFrame(b, path, o.open); ok != frames {
			b.Fatalf("%d of %d packets verified", ok, frames)
		}
	}
	u.report(b, frames)
}

// benchAnalyzer is `ipsecmon stats --keys --workers N` on the capture. With
// several workers it also reports the CPU time of the caller's goroutine
// (read, decode, look up, apply, render) and of the workers apart, from a
// CPU profile whose samples carry the goroutines' labels: CPU time, unlike
// wall time, does not depend on what else the machine runs, and it shows
// how the run would scale on more cores.
func benchAnalyzer(b *testing.B, in *keyedInput, workers int) {
	path, keyFile, frames, size := in.get(b)
	ks, err := keys.Load(keyFile)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(size)
	var rtt time.Duration
	if workers > 1 {
		rtt, _ = crossCoreRTT() // reported after the timer's reset
	}
	var prof bytes.Buffer
	profiling := workers > 1 && pprof.StartCPUProfile(&prof) == nil
	// Under -trace, internal/tracestat reads the passes between these marks.
	trace.Log(context.Background(), "ipsecmon-bench", "start")
	defer trace.Log(context.Background(), "ipsecmon-bench", "stop")
	u := startUsage(b)
	for i := 0; i < b.N; i++ {
		var an *analyzer.Analyzer
		// Workers inherit their creator's labels.
		pprof.Do(context.Background(), pprof.Labels("role", "verify"), func(context.Context) {
			an = analyzer.New(analyzer.Config{Keys: ks, Workers: workers})
		})
		pprof.Do(context.Background(), pprof.Labels("role", "main"), func(context.Context) {
			statsOnce(b, an, path)
		})
		var verified uint64
		for _, sa := range an.SAs() {
			verified += sa.Accepted - sa.Unverified
		}
		if verified != uint64(frames) {
			b.Fatalf("%d of %d packets verified", verified, frames)
		}
	}
	u.report(b, frames)
	if rtt > 0 {
		b.ReportMetric(float64(rtt.Nanoseconds()), "xcore-rtt-ns")
	}
	if profiling {
		pprof.StopCPUProfile()
		roles, err := cpuByLabel(&prof, "role")
		if err != nil {
			b.Fatal(err)
		}
		n := float64(b.N)
		b.ReportMetric(roles["main"].Seconds()*1e3/n, "main-ms/op")
		b.ReportMetric(roles["verify"].Seconds()*1e3/n, "verify-ms/op")
		b.ReportMetric(roles[""].Seconds()*1e3/n, "runtime-ms/op")
	}
}

// BenchmarkKeyed is the keyed capture: the standard-library floor, then
// ipsecmon with 1 and 2 workers (and every core, when there are more).
func BenchmarkKeyed(b *testing.B) { benchKeyedSet(b, keyedBench) }

// BenchmarkMixed is the same on the mixed-suite capture (1 ms timestamps).
func BenchmarkMixed(b *testing.B) { benchKeyedSet(b, mixedBench) }

func benchKeyedSet(b *testing.B, in *keyedInput) {
	b.Run("baseline", func(b *testing.B) { benchBaseline(b, in) })
	ws := []int{1, 2}
	if n := runtime.NumCPU(); n > 2 {
		ws = append(ws, n)
	}
	for _, w := range ws {
		b.Run(fmt.Sprintf("workers=%d", w), func(b *testing.B) { benchAnalyzer(b, in, w) })
	}
}

// usage measures a benchmark's process CPU time and the time its threads
// waited for a CPU the kernel gave to other processes (schedstat's run
// delay): on a shared machine, that wait is what wall time lost to others.
type usage struct {
	cpu, runq time.Duration
	wall      time.Time
}

func startUsage(b *testing.B) usage {
	b.ResetTimer()
	return usage{cpu: cpuTime(), runq: runDelay(), wall: time.Now()}
}

func (u usage) report(b *testing.B, frames int) {
	wall := time.Since(u.wall)
	cpu, runq := cpuTime()-u.cpu, runDelay()-u.runq
	n := float64(b.N)
	report1(b, frames)
	b.ReportMetric(cpu.Seconds()*1e3/n, "cpu-ms/op")
	b.ReportMetric(runq.Seconds()*1e3/n, "runq-ms/op")
	b.ReportMetric(cpu.Seconds()/wall.Seconds(), "cores-busy")
}
