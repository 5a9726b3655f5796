package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"path/filepath"
	"strings"

	"ipsecmon/internal/livecheck"
	"ipsecmon/internal/nsproxy"
)

// nsproxyCmd forwards a loopback port of this namespace to an address in a
// lab namespace (live-check's fleet: Prometheus scrapes the gateways'
// exporters through it).
func nsproxyCmd(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("nsproxy", flag.ExitOnError)
	listen := fs.String("listen", "127.0.0.1:0", "address to listen on, in this namespace")
	netns := fs.String("netns", "", "the namespace's name (ip netns) or path")
	to := fs.String("to", "127.0.0.1:9477", "address to connect to, inside the namespace")
	fs.Parse(args)
	if *netns == "" {
		return errors.New("-netns is required")
	}
	path := *netns
	if !strings.Contains(path, "/") {
		path = filepath.Join("/run/netns", path)
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	return nsproxy.Serve(ctx, ln, path, *to)
}

// livecheckFleet runs `livecheck fleet`.
func livecheckFleet(ctx context.Context, args []string) (*livecheck.Report, error) {
	fs := flag.NewFlagSet("livecheck fleet", flag.ExitOnError)
	var c livecheck.FleetConfig
	var peers string
	fs.StringVar(&c.Dir, "dir", "", "fleet-hooks.sh's output")
	fs.StringVar(&c.Recording, "rec", "", "the scenario's recording directory")
	fs.StringVar(&c.Prometheus, "prometheus", "http://127.0.0.1:9090", "the Prometheus server that scraped the exporters")
	fs.StringVar(&c.Ipsecmon, "ipsecmon", "ipsecmon", "ipsecmon binary for the offline event logs")
	fs.StringVar(&c.Promtool, "promtool", "promtool", "promtool binary")
	fs.StringVar(&c.Rules, "rules", "contrib/prometheus/ipsecmon.rules.yml", "the rules file Prometheus loaded")
	fs.StringVar(&peers, "peers", "alice,bob", "the gateways (their gateway label)")
	fs.Parse(args)
	if c.Dir == "" || c.Recording == "" {
		return nil, fmt.Errorf("-dir and -rec are required")
	}
	c.Peers = strings.Split(peers, ",")
	return livecheck.Fleet(ctx, c)
}
