package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"slices"
	"strings"

	"golang.org/x/term"

	"ipsecmon/algo"
	"ipsecmon/analyzer"
	"ipsecmon/ipproto"
	"ipsecmon/keyexport"
	"ipsecmon/keys"
)

const keysSynopsis = `Writes every key known for the capture's SAs, given (-k) or derived from IKE (Quick Mode KEYMAT from
SKEYID_d, CHILD SA keys from SK_d), in the format another tool reads: Wireshark's esp_sa,
ikev1_decryption_table (ikev1) and ikev2_decryption_table (ikev2), tcpdump's -E secrets, the text
'ip xfrm state' prints (xfrm), or ipsecmon's native format. This is the one command that prints keys,
and only because it was asked to: it refuses to write them to a terminal without --force, and -w
creates the file with mode 0600. Entries the format cannot express are named on stderr.`

const keysExamples = `  ipsecmon keys -r gw.pcap -k keys.txt --format esp_sa -w esp_sa.txt
  ipsecmon keys -r gw.pcap -k keys.txt -k ikev2_decryption_table --format ikev2 -w ikev2.txt
  ipsecmon keys -r gw.pcap -k keys.txt --format native --force
`

func runKeys(args []string, stdout, stderr io.Writer) int {
	var in inputFlags
	var lf liveFlags
	var format string
	var force bool
	fs := newFlagSet("keys", keysSynopsis, keysExamples)
	in.register(fs)
	lf.register(fs)
	fs.StringVar(&format, "format", "", "the format to write: "+strings.Join(keyexport.Formats, ", ")+" (required)")
	fs.BoolVar(&force, "force", false, "write the keys to standard output even when it is a terminal")
	fs.Lookup("write").Usage = "file to write the keys to (created with mode 0600); standard output without it"
	// Flags of the views and of live capture, which keys has no use for.
	for _, name := range []string{"expect", "policy", "dns", "dhcp", "wins", "gateway", "system-keywords", "weight", "rotate-size", "output", "events",
		"events-rotate-size", "events-keep", "interface", "snaplen", "no-promisc", "immediate", "buffer-size", "duration", "metrics-listen", "metrics-max-tunnels"} {
		fs.MarkHidden(name)
	}
	if done, st := parseFlags(fs, args, stdout, stderr); done {
		return st
	}
	fail := func(err error) int { return usageError(stderr, "keys", err) }
	switch {
	case format == "":
		return fail(fmt.Errorf("give the format with --format (%s)", strings.Join(keyexport.Formats, ", ")))
	case !slices.Contains(keyexport.Formats, format):
		return fail(fmt.Errorf("--format %q: one of %s", format, strings.Join(keyexport.Formats, ", ")))
	case len(in.keyFiles) == 0:
		return fail(errors.New("keys needs key material (-k FILE): IKE keys to derive the SAs' keys from, or the SAs' own"))
	case lf.write == "" && !force && isTerminal(stdout):
		return fail(errors.New("refusing to print keys on a terminal: write them to a file with -w FILE, or give --force"))
	}
	if lf.live() {
		return fail(errors.New("keys reads captures (-r FILE): the keys of a live capture's SAs are those of its recording"))
	}
	cfg, _, inputs, err := in.config(fs.Args(), false)
	if err != nil {
		return fail(err)
	}
	if err := lf.apply(&cfg, fs); err != nil {
		return fail(err)
	}
	// -w is the key file here, not a copy of the frames read.
	path := lf.write
	lf.write = ""
	if err := in.keysAndFilters(&cfg, stderr); err != nil {
		fmt.Fprintf(stderr, "ipsecmon: %v\n", err)
		return exitUsage
	}
	r, status := in.analyse(in.newRun(cfg, stderr), inputs, &lf, stderr)
	warnIKEKeys(r, stderr)
	if r.Snap == nil {
		return max(status, exitUsage)
	}
	known := knownKeys(r.Snap, cfg.Keys)
	var b bytes.Buffer
	res, err := keyexport.Write(&b, format, known)
	if err != nil {
		fmt.Fprintf(stderr, "ipsecmon: %v\n", err)
		return exitUsage
	}
	for _, n := range res.Notes {
		fmt.Fprintf(stderr, "ipsecmon: note: %s\n", n)
	}
	if path == "" {
		_, err = stdout.Write(b.Bytes())
	} else {
		err = writeSecret(path, b.Bytes())
	}
	if err != nil {
		fmt.Fprintf(stderr, "ipsecmon: -w: %v\n", err)
		return exitUsage
	}
	if !in.quiet {
		fmt.Fprintf(stderr, "ipsecmon: %d %s entries written (%d ESP/AH SAs and %d IKE SAs with keys in the capture)\n",
			res.Written, format, len(known.SAs), len(known.IKEv1)+len(known.IKEv2))
	}
	return status
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// writeSecret creates path with mode 0600 (an existing file is truncated
// and made 0600 too: it is about to hold keys).
func writeSecret(path string, b []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// knownKeys is the key material of the capture's SAs: each tracked SA's
// entry (given, or derived from IKE), named by the SA's own SPI, addresses,
// encapsulation and mode; and the IKE SAs of the capture that an entry of
// set matched.
func knownKeys(snap *analyzer.Snapshot, set *keys.Set) keys.Set {
	var out keys.Set
	type id struct {
		proto uint8
		spi   uint32
		dst   netip.Addr
	}
	seen := map[id]bool{}
	for _, q := range snap.Rows {
		for _, sa := range q.SAs() {
			m := sa.Keys().Material()
			if m == nil || m.NoKeys || seen[id{sa.Key.Proto, sa.Key.SPI, sa.Key.Dst}] {
				continue
			}
			seen[id{sa.Key.Proto, sa.Key.SPI, sa.Key.Dst}] = true
			k := *m
			k.Proto, k.SPI, k.AnySPI, k.SPIWild = sa.Key.Proto, sa.Key.SPI, false, 0
			k.Dst = netip.PrefixFrom(sa.Key.Dst, sa.Key.Dst.BitLen())
			if sa.Src.IsValid() {
				k.Src = netip.PrefixFrom(sa.Src, sa.Src.BitLen())
			}
			if sa.Key.Encapsulated() {
				k.EncapSport, k.EncapDport = sa.Key.SrcPort, sa.Key.DstPort
			}
			if k.Mode == "" && sa.Mode != analyzer.ModeUnknown {
				k.Mode = sa.Mode.String()
			}
			if k.Proto == ipproto.AH {
				k.Enc = algo.EncNull
			}
			out.SAs = append(out.SAs, k)
		}
	}
	if set == nil {
		return out
	}
	for _, s := range snap.IKESAs {
		if !s.KeysKnown {
			continue
		}
		for _, k := range set.IKEv1 {
			if s.Version == 1 && k.ICookie == s.ISPI {
				out.IKEv1 = append(out.IKEv1, k)
				break
			}
		}
		for _, k := range set.IKEv2 {
			if s.Version == 2 && k.SPIi == s.ISPI && k.SPIr == s.RSPI {
				out.IKEv2 = append(out.IKEv2, k)
				break
			}
		}
	}
	return out
}
