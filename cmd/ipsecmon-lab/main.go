// Command ipsecmon-lab is the Go side of the strongSwan lab
// (testdata/lab/run.sh): it generates and receives the lab's traffic,
// records charon's VICI events, turns charon's logs and counters into key
// files and facts, and compares two recordings.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"ipsecmon/internal/lab/traffic"
	"ipsecmon/internal/lab/vicirec"
)

const usage = `usage: ipsecmon-lab COMMAND [flags]

commands:
  serve    receive the lab's UDP and TCP traffic on some addresses until stopped
  send     send the lab's traffic mix from one address to another, print a JSON report
  events   record charon's VICI events as JSON lines until stopped
  conns    write a daemon's loaded connections (VICI list-conns) as JSON lines
  capture  record an interface into a pcap file until stopped, then write what the kernel had captured
  relay    forward packets on a TUN device, holding selected ESP packets (the lab's path)
  extract  turn a lab run's logs, events and counters into key files and facts.json
  compare  check that two recordings have the same facts (SPIs, keys, times aside)
  verify   check recordings against tshark: every packet decrypts, counts match the daemons
  keys     write the keys a running scenario negotiated so far (ipsecmon's native format)
  replay   inject capture files into an interface as fast as possible (libpcap)
  benchgen write the benchmarks' synthetic capture (many SAs; -keys: the keyed one and its keys)
  liverate the highest rate tcpdump and ipsecmon capture without a drop (testdata/lab/live-check.sh)
  rss      sample a process's VmRSS every interval until it ends
  stress   hostile inputs at two sizes each: peak memory and CPU time of ipsecmon (make stress)
  stress-gen  write one stress scenario's capture to a file
  livecheck lab|replay|flood|fleet   assert what live ipsecmon reported (testdata/lab/live-check.sh)
  nsproxy  forward a loopback port to an address inside a network namespace (live-check's fleet)
`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var err error
	switch os.Args[1] {
	case "serve":
		err = serveCmd(ctx, os.Args[2:])
	case "send":
		err = sendCmd(ctx, os.Args[2:])
	case "events":
		err = eventsCmd(ctx, os.Args[2:])
	case "conns":
		err = connsCmd(ctx, os.Args[2:])
	case "capture":
		err = captureCmd(ctx, os.Args[2:])
	case "relay":
		err = relayCmd(ctx, os.Args[2:])
	case "extract":
		err = extractCmd(os.Args[2:])
	case "compare":
		err = compareCmd(os.Args[2:])
	case "verify":
		err = verifyCmd(os.Args[2:])
	case "keys":
		err = keysCmd(os.Args[2:])
	case "replay":
		err = replayCmd(ctx, os.Args[2:])
	case "liverate":
		err = liverateCmd(ctx, os.Args[2:])
	case "benchgen":
		err = benchgenCmd(os.Args[2:])
	case "rss":
		err = rssCmd(ctx, os.Args[2:])
	case "stress":
		err = stressCmd(os.Args[2:])
	case "nsproxy":
		err = nsproxyCmd(ctx, os.Args[2:])
	case "stress-gen":
		err = stressGenCmd(os.Args[2:])
	case "livecheck":
		err = livecheckCmd(ctx, os.Args[2:])
	case "-h", "--help", "help":
		fmt.Print(usage)
		return
	default:
		err = fmt.Errorf("unknown command %q\n%s", os.Args[1], usage)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "ipsecmon-lab %s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
}

func parseAddrs(s string) ([]netip.Addr, error) {
	var out []netip.Addr
	for _, f := range strings.Split(s, ",") {
		a, err := netip.ParseAddr(strings.TrimSpace(f))
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, nil
}

func serveCmd(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("serve", flag.ExitOnError)
	addrs := fs.String("addrs", "", "comma-separated addresses to listen on")
	udpPort := fs.Int("udp-port", 9, "UDP port (discard)")
	tcpPort := fs.Int("tcp-port", 9, "TCP port (lock-step transfer)")
	fs.Parse(args)
	as, err := parseAddrs(*addrs)
	if err != nil {
		return fmt.Errorf("-addrs: %w", err)
	}
	return traffic.Serve(ctx, as, *udpPort, *tcpPort)
}

func sendCmd(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("send", flag.ExitOnError)
	src := fs.String("src", "", "source address")
	dst := fs.String("dst", "", "destination address")
	icmp := fs.Int("icmp", 3, "ICMP echo requests")
	icmpSize := fs.Int("icmp-size", 56, "ICMP echo payload bytes")
	udpSizes := fs.String("udp-sizes", "16,400,1200", "UDP payload sizes")
	udpEach := fs.Int("udp-each", 3, "datagrams of each UDP size")
	udpPort := fs.Int("udp-port", 9, "UDP port")
	tcpChunks := fs.Int("tcp-chunks", 8, "TCP chunks (each acknowledged by the server)")
	tcpChunk := fs.Int("tcp-chunk", 1000, "TCP chunk size in bytes")
	tcpPort := fs.Int("tcp-port", 9, "TCP port")
	gap := fs.Duration("gap", 5*time.Millisecond, "pause between datagrams")
	out := fs.String("o", "", "write the JSON report here (default stdout)")
	from := fs.String("from", "", "name of the sending peer, copied into the report")
	fs.Parse(args)
	s, err := netip.ParseAddr(*src)
	if err != nil {
		return fmt.Errorf("-src: %w", err)
	}
	d, err := netip.ParseAddr(*dst)
	if err != nil {
		return fmt.Errorf("-dst: %w", err)
	}
	sizes, err := traffic.ParseSizes(*udpSizes)
	if err != nil {
		return fmt.Errorf("-udp-sizes: %w", err)
	}
	p := traffic.Plan{Src: s, Dst: d, ICMPEchoes: *icmp, ICMPPayload: *icmpSize, UDPSizes: sizes, UDPEach: *udpEach,
		UDPPort: *udpPort, TCPChunks: *tcpChunks, TCPChunkSize: *tcpChunk, TCPPort: *tcpPort, Gap: *gap}
	rep, sendErr := traffic.Send(ctx, p)
	rep.From = *from
	b, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	b = append(b, '\n')
	if *out == "" {
		_, err = os.Stdout.Write(b)
	} else {
		err = os.WriteFile(*out, b, 0o644)
	}
	if sendErr != nil {
		return sendErr
	}
	return err
}

func eventsCmd(ctx context.Context, args []string) error {
	return viciCmd("events", args, func(socket string, w io.Writer) error {
		return vicirec.Record(ctx, socket, w, vicirec.Events)
	})
}

func connsCmd(ctx context.Context, args []string) error {
	return viciCmd("conns", args, func(socket string, w io.Writer) error {
		return vicirec.ListConns(ctx, socket, w)
	})
}

// viciCmd parses -socket and -o and runs record into the output file.
func viciCmd(name string, args []string, record func(socket string, w io.Writer) error) error {
	fs := flag.NewFlagSet(name, flag.ExitOnError)
	socket := fs.String("socket", "", "charon's VICI unix socket path")
	out := fs.String("o", "", "JSON-lines output file")
	fs.Parse(args)
	if *socket == "" || *out == "" {
		return errors.New("-socket and -o are required")
	}
	return writeTo(*out, func(w io.Writer) error { return record(*socket, w) })
}

// writeTo creates path and has write fill it; a failure to close counts.
func writeTo(path string, write func(io.Writer) error) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	if err := write(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
