package main

import (
	"errors"
	"fmt"
	"io"

	"github.com/gopacket/gopacket/layers"

	"ipsecmon/analyzer"
	"ipsecmon/capture"
	"ipsecmon/decode"
	"ipsecmon/metrics"
	"ipsecmon/pipeline"
	"ipsecmon/plaintext"
	"ipsecmon/report"
)

const decryptSynopsis = `Writes the traffic IPsec protected, decrypted, to a pcapng file: for each ESP/AH packet the keys
verify, its inner IP packet (tunnel mode) or its payload behind a rebuilt IP header (transport mode),
nested SAs unwrapped, with the original timestamp and a packet comment naming SPI, sequence number
and direction. The plaintext comes from the same verification as every other view's figures.
Packets that cannot be decrypted are counted and left out unless --keep-undecrypted; frames that are
not IPsec (IKE, cleartext) are left out unless --all. The file is created with mode 0600
(an existing file is truncated and made 0600).`

const decryptExamples = `  ipsecmon decrypt -r gw.pcap -k keys.txt -w plain.pcapng
  ipsecmon decrypt -r gw.pcap -k ikev2_decryption_table -k esp_sa -w plain.pcapng --all --keep-undecrypted
  ipsecmon decrypt -r gw.pcap -k keys.txt -w icmp.pcapng -f udp --inner-filter icmp --me 192.0.2.1
  ipsecmon decrypt -i eth0 -k keys.txt -w plain.pcapng --rotate-size 100MB
`

func runDecrypt(args []string, stdout, stderr io.Writer) int {
	var in inputFlags
	var lf liveFlags
	var keep, all bool
	var innerExpr string
	fs := newFlagSet("decrypt", decryptSynopsis, decryptExamples)
	in.register(fs)
	lf.register(fs)
	fs.BoolVar(&keep, "keep-undecrypted", false, "also write the IPsec packets that were not decrypted (no keys, failed integrity, bad padding, replays, no SA), unchanged")
	fs.BoolVar(&all, "all", false, "also write the frames that are not IPsec (IKE, NAT keepalives, cleartext), unchanged; live without -f: capture everything")
	fs.StringVar(&innerExpr, "inner-filter", "", "BPF filter on the decrypted packets (raw IP): only those it matches are written")
	// The shared flags whose meaning differs here.
	fs.Lookup("write").Usage = "pcapng file to write the decrypted traffic to (required; mode 0600)"
	fs.Lookup("filter").Usage = "BPF filter on the outer packets, as tcpdump's: on files only the frames it selects are read; live it replaces the default capture filter (none with --all)"
	fs.Lookup("rotate-size").Usage = "start a new -w file at about this size, e.g. 100MB"
	fs.Lookup("output").Usage = "format of the summary: table (on stderr) or json (on stdout)"
	// Flags of the views that decrypt has no use for.
	for _, name := range []string{"expect", "policy", "dns", "dhcp", "wins", "gateway", "system-keywords", "weight"} {
		fs.MarkHidden(name)
	}
	if done, st := parseFlags(fs, args, stdout, stderr); done {
		return st
	}
	fail := func(err error) int { return usageError(stderr, "decrypt", err) }
	switch {
	case lf.write == "":
		return fail(errors.New("give the file to write the decrypted traffic to with -w FILE"))
	case len(in.keyFiles) == 0:
		return fail(errors.New("decrypt needs keys (-k FILE): without them nothing can be decrypted"))
	case len(in.expect) > 0:
		return fail(errors.New("--expect compares views; decrypt shows none"))
	}
	cfg, format, inputs, err := in.config(fs.Args(), lf.live())
	if err != nil {
		return fail(err)
	}
	if format == report.CSV {
		return fail(errors.New("the summary is table or json"))
	}
	if err := lf.apply(&cfg, fs); err != nil {
		return fail(err)
	}
	opts := plaintext.Options{KeepUndecrypted: keep, All: all, Me: cfg.Me}
	if innerExpr != "" {
		if opts.Inner, err = capture.NewBPF(innerExpr); err != nil {
			return fail(fmt.Errorf("--inner-filter: %w", err))
		}
		// The decrypted packets are raw IP: the expression must apply there.
		opts.Inner.Matches(&capture.Frame{LinkType: layers.LinkTypeRaw})
		if u := opts.Inner.Unfit(); len(u) > 0 {
			return fail(fmt.Errorf("--inner-filter: %s", u[0]))
		}
	}
	if err := in.keysAndFilters(&cfg, stderr); err != nil {
		fmt.Fprintf(stderr, "ipsecmon: %v\n", err)
		return exitUsage
	}
	// -w is decrypt's own output here; the shared input path's -w (a copy
	// of the frames read) is not wanted beside it.
	path := lf.write
	lf.write = ""
	out, err := capture.NewWriterMode(path, int64(lf.rotateBytes), 0o600)
	if err != nil {
		fmt.Fprintf(stderr, "ipsecmon: -w: %v\n", err)
		return exitUsage
	}
	if err := in.openLog(lf.live(), stdout, stderr, 0); err != nil {
		out.Close()
		return fail(err)
	}
	var pw *plaintext.Writer
	cfg.OnOpened = func(o *analyzer.Opened) { pw.Opened(o) }
	run := in.newRunOpts(cfg, stderr, pipeline.Options{OnFrame: func(f *capture.Frame, p *decode.Packet, reassembled bool) { pw.Frame(f, p, reassembled) }})
	an := run.Analyzer()
	pw = plaintext.New(out, opts, an.Waiting, an.Flush)

	var r report.Run
	status := exitOK
	if !lf.live() {
		r, status = in.analyse(run, inputs, &lf, stderr)
	} else {
		lf.allFrames = all && lf.filter == ""
		sess, err := lf.start(run, stderr)
		if err != nil {
			out.Close()
			fmt.Fprintf(stderr, "ipsecmon: %v\n", err)
			return exitUsage
		}
		sess.reload = func() { in.reload(sess, stderr) }
		// Every second what is decided goes to the file: a crash loses at
		// most that much.
		sess.wait(pipeline.FlushInterval, func() {
			sess.live.With(func(*pipeline.Run) {
				an.Flush()
				pw.Settle()
				if err := out.Flush(); err != nil {
					fmt.Fprintf(stderr, "ipsecmon: -w: %v\n", err)
				}
			})
		})
		var ifs []metrics.Interface
		r, ifs = sess.finish(stderr)
		r.Capture = captureStats(ifs)
	}
	pw.Settle()
	if st := in.closeLog(stderr); st != exitOK {
		status = st
	}
	werr := pw.Err()
	if err := out.Close(); werr == nil {
		werr = err
	}
	if werr != nil {
		fmt.Fprintf(stderr, "ipsecmon: -w %s: %v\n", path, werr)
		status = exitUsage
	}
	if r.Snap == nil {
		return status
	}
	v := report.Decrypt{Counts: pw.Counts(), Files: out.Files(), Keep: keep, All: all}
	switch {
	case format == report.JSON:
		err = v.Write(stdout, r, format)
	case !in.quiet:
		err = v.Write(stderr, r, format)
	}
	if err != nil {
		fmt.Fprintf(stderr, "ipsecmon: %v\n", err)
		return exitUsage
	}
	return status
}
