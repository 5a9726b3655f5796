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
	"strings"
	"time"

	"ipsecmon/internal/lab/relay"
)

// holdRules collects repeated -hold flags.
type holdRules []relay.Rule

func (h *holdRules) String() string {
	var s []string
	for _, r := range *h {
		s = append(s, r.String())
	}
	return strings.Join(s, " ")
}

func (h *holdRules) Set(v string) error {
	r, err := relay.ParseRule(v)
	if err != nil {
		return err
	}
	*h = append(*h, r)
	return nil
}

// relayCmd runs the lab's path relay on a TUN device until stopped.
func relayCmd(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("relay", flag.ExitOnError)
	tun := fs.String("tun", "relay0", "TUN device to create and relay on")
	out := fs.String("o", "", "JSON-lines log of the forwarded ESP packets")
	maxHold := fs.Duration("max-hold", 500*time.Millisecond, "release a held packet after this long even without followers")
	holdDst := fs.String("hold-dst", "", "apply the hold rules only to packets to this address")
	var rules holdRules
	fs.Var(&rules, "hold", "hold rule: every=M,at=N,for=K (sequence numbers with seq % M == N) or seq=N,for=K; repeatable")
	fs.Parse(args)
	if *out == "" {
		return errors.New("-o is required")
	}
	r := relay.New(rules, *maxHold)
	if *holdDst != "" {
		a, err := netip.ParseAddr(*holdDst)
		if err != nil {
			return fmt.Errorf("-hold-dst: %w", err)
		}
		r.HoldDst = a
	}
	dev, err := relay.OpenTUN(*tun)
	if err != nil {
		return err
	}
	defer dev.Close()
	var hold []string
	for _, r := range rules {
		hold = append(hold, r.String())
	}
	return writeTo(*out, func(log io.Writer) error {
		hdr := map[string]any{"relay": map[string]any{"device": *tun, "hold": hold, "hold_dst": *holdDst, "max_hold": maxHold.String()}}
		if err := json.NewEncoder(log).Encode(hdr); err != nil {
			return err
		}
		// The lab waits for this line before routing packets to the device.
		fmt.Fprintf(os.Stderr, "relaying on %s, hold rules: %s\n", *tun, rules.String())
		return relay.Run(ctx, dev, r, log)
	})
}
