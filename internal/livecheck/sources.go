package livecheck

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"ipsecmon/internal/lab/vicimsg"
)

// Count is a packet and byte count.
type Count struct {
	Packets, Bytes uint64
}

// ListingCounters reads one daemon's `swanctl --list-sas --raw` output and
// returns its counters per SPI ("0x%08x"): the inbound SA's bytes-in and
// packets-in under spi-in, the outbound's under spi-out. libipsec counts
// bytes as the inner IP packet length (testdata/pcaps/lab/README.md).
func ListingCounters(r io.Reader, name string) (map[string]Count, error) {
	msgs, err := vicimsg.ParseRaw(r, name)
	if err != nil {
		return nil, err
	}
	out := map[string]Count{}
	for _, m := range msgs {
		if err := childCounters(m.Body, out, 0); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", name, m.Line, err)
		}
	}
	return out, nil
}

func childCounters(s *vicimsg.Section, out map[string]Count, depth int) error {
	if s == nil || depth > 8 {
		return nil
	}
	if s.Str("spi-in") != "" {
		for _, d := range []string{"in", "out"} {
			spi, err := strconv.ParseUint(s.Str("spi-"+d), 16, 32)
			if err != nil {
				return fmt.Errorf("spi-%s %q: %w", d, s.Str("spi-"+d), err)
			}
			var c Count
			if c.Packets, err = s.Uint("packets-" + d); err != nil {
				return err
			}
			if c.Bytes, err = s.Uint("bytes-" + d); err != nil {
				return err
			}
			out[fmt.Sprintf("0x%08x", spi)] = c
		}
		return nil
	}
	for _, k := range s.Subs() {
		if err := childCounters(s.Sub(k), out, depth+1); err != nil {
			return err
		}
	}
	return nil
}

// ReadListingCounters reads a listing file.
func ReadListingCounters(path string) (map[string]Count, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ListingCounters(f, path)
}

// Reload is one SIGHUP of the keyed live instance (live-hooks.sh writes
// reloads.log: time, the lab step it followed, the ESP SPIs in the file).
type Reload struct {
	Time time.Time
	Why  string
	SPIs map[string]bool
}

// ParseReloads reads reloads.log.
func ParseReloads(r io.Reader, name string) ([]Reload, error) {
	var out []Reload
	sc := bufio.NewScanner(r)
	n := 0
	for sc.Scan() {
		n++
		f := strings.Fields(sc.Text())
		if len(f) == 0 {
			continue
		}
		if len(f) < 2 {
			return nil, fmt.Errorf("%s:%d: want \"TIME STEP SPI...\"", name, n)
		}
		t, err := time.Parse(time.RFC3339Nano, f[0])
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", name, n, err)
		}
		rl := Reload{Time: t, Why: f[1], SPIs: map[string]bool{}}
		for _, s := range f[2:] {
			v, err := strconv.ParseUint(strings.TrimPrefix(s, "0x"), 16, 32)
			if err != nil || !strings.HasPrefix(s, "0x") {
				return nil, fmt.Errorf("%s:%d: SPI %q: want 0x and 8 hex digits", name, n, s)
			}
			rl.SPIs[fmt.Sprintf("0x%08x", v)] = true
		}
		if len(out) > 0 && t.Before(out[len(out)-1].Time) {
			return nil, fmt.Errorf("%s:%d: time goes back", name, n)
		}
		out = append(out, rl)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s:%d: %w", name, n, err)
	}
	return out, nil
}

// TsharkESP counts, per SPI, the ESP packets tshark finds in a capture and
// their IPsec bytes as README.md defines them for ipsecmon: from the ESP
// header to the end of the IP packet, i.e. ip.len minus the IP header and,
// for ESP in UDP (RFC 3948), the 8-byte UDP header.
func TsharkESP(ctx context.Context, tshark, pcap string) (map[string]Count, error) {
	cmd := exec.CommandContext(ctx, tshark, "-n", "-r", pcap, "-Y", "esp", "-T", "fields",
		"-e", "esp.spi", "-e", "ip.len", "-e", "ip.hdr_len", "-e", "udp.length", "-E", "occurrence=f")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("tshark: %w: %s", err, strings.TrimSpace(stderr.String()))
	}
	return ParseTsharkESP(bytes.NewReader(out), "tshark output")
}

// ParseTsharkESP reads TsharkESP's field lines: SPI, ip.len, ip.hdr_len,
// udp.length (empty for plain ESP).
func ParseTsharkESP(r io.Reader, name string) (map[string]Count, error) {
	out := map[string]Count{}
	sc := bufio.NewScanner(r)
	n := 0
	for sc.Scan() {
		n++
		if strings.TrimSpace(sc.Text()) == "" {
			continue
		}
		f := strings.Split(sc.Text(), "\t")
		if len(f) != 4 {
			return nil, fmt.Errorf("%s:%d: %d fields, want 4", name, n, len(f))
		}
		spi, err := parseSPI(f[0])
		if err != nil {
			return nil, fmt.Errorf("%s:%d: esp.spi %q: %w", name, n, f[0], err)
		}
		ipLen, err1 := strconv.ParseUint(f[1], 10, 16)
		hdr, err2 := strconv.ParseUint(f[2], 10, 8)
		if err1 != nil || err2 != nil || hdr < 20 || hdr > ipLen {
			return nil, fmt.Errorf("%s:%d: ip.len %q, ip.hdr_len %q: not an IPv4 header", name, n, f[1], f[2])
		}
		b := ipLen - hdr
		if f[3] != "" {
			if b < 8 {
				return nil, fmt.Errorf("%s:%d: UDP in %d bytes", name, n, b)
			}
			b -= 8
		}
		c := out[spi]
		c.Packets++
		c.Bytes += b
		out[spi] = c
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s:%d: %w", name, n, err)
	}
	return out, nil
}

func parseSPI(s string) (string, error) {
	s = strings.TrimSpace(s)
	var v uint64
	var err error
	if h, ok := strings.CutPrefix(s, "0x"); ok {
		v, err = strconv.ParseUint(h, 16, 32)
	} else {
		v, err = strconv.ParseUint(s, 10, 32)
	}
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("0x%08x", v), nil
}

// run runs a command and returns its standard output; stderr goes into the
// error.
func run(ctx context.Context, name string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return out, fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return out, nil
}
