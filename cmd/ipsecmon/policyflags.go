package main

import (
	"fmt"
	"io"
	"net/netip"
	"strings"

	"github.com/spf13/pflag"

	"ipsecmon/filters"
	"ipsecmon/policy"
)

// policyFlags read the host's IPsec policy and expand its keywords.
type policyFlags struct {
	files                    []string
	dns, dhcp, wins, gateway []string
	system                   bool
	weight                   string
	set                      *policy.Set
}

func (f *policyFlags) register(fs *pflag.FlagSet) {
	fs.StringArrayVar(&f.files, "policy", nil, "IPsec policy: ip xfrm policy output, swanctl.conf, swanctl --list-conns or ipsecmon's policy format (detected); repeatable")
	fs.StringArrayVar(&f.dns, "dns", nil, "address(es) the policy keyword dns stands for")
	fs.StringArrayVar(&f.dhcp, "dhcp", nil, "address(es) the policy keyword dhcp stands for")
	fs.StringArrayVar(&f.wins, "wins", nil, "address(es) the policy keyword wins stands for")
	fs.StringArrayVar(&f.gateway, "gateway", nil, "address(es) the policy keyword gateway stands for")
	fs.BoolVar(&f.system, "system-keywords", false, "expand the policy keywords (me, dns, dhcp, wins, gateway) from this host: interface addresses, /etc/resolv.conf, the default route, DHCP leases")
	fs.StringVar(&f.weight, "weight", "2003", "filter weights: 2003 (Windows Server 2003 ordering) or vista (always 0, as Windows Vista and later show)")
}

func addrs(list []string) ([]netip.Addr, error) {
	var out []netip.Addr
	for _, s := range list {
		for _, item := range strings.Split(s, ",") {
			a, err := parseAddr(strings.TrimSpace(item))
			if err != nil {
				return nil, fmt.Errorf("%q: %w", item, err)
			}
			out = append(out, a)
		}
	}
	return out, nil
}

// load reads the policy files (nil when none was given).
func (f *policyFlags) load(stderr io.Writer) (*policy.Set, error) {
	if len(f.files) == 0 {
		return nil, nil
	}
	set := &policy.Set{}
	for _, name := range f.files {
		s, err := policy.Load(name)
		if err != nil {
			return nil, err
		}
		set.Filters = append(set.Filters, s.Filters...)
		set.Policies = append(set.Policies, s.Policies...)
		set.Warnings = append(set.Warnings, s.Warnings...)
	}
	for _, w := range set.Warnings {
		fmt.Fprintf(stderr, "ipsecmon: warning: %s\n", w)
	}
	f.set = set
	return set, nil
}

// expander gives the keywords their addresses: from the flags, or from this
// host with --system-keywords (flags still win for what they name).
func (f *policyFlags) expander(me []netip.Prefix, stderr io.Writer) (*filters.Expander, error) {
	e := &filters.Expander{}
	if f.system {
		se, warns := filters.DefaultSystem.Expander()
		for _, w := range warns {
			fmt.Fprintf(stderr, "ipsecmon: warning: %s\n", w)
		}
		e = se
	}
	var err error
	for _, p := range me {
		if p.IsSingleIP() {
			e.Me = append(e.Me, p.Addr())
		}
	}
	for _, kw := range []struct {
		flag string
		in   []string
		out  *[]netip.Addr
	}{{"--dns", f.dns, &e.DNS}, {"--dhcp", f.dhcp, &e.DHCP}, {"--wins", f.wins, &e.WINS}, {"--gateway", f.gateway, &e.Gateway}} {
		if len(kw.in) == 0 {
			continue
		}
		if *kw.out, err = addrs(kw.in); err != nil {
			return nil, fmt.Errorf("%s: %w", kw.flag, err)
		}
	}
	return e, nil
}

// build reads the policy and expands it into specific filters (nil without --policy).
func (f *policyFlags) build(me []netip.Prefix, stderr io.Writer) (*filters.Set, error) {
	set, err := f.load(stderr)
	if err != nil || set == nil {
		return nil, err
	}
	rule, err := filters.ParseWeightRule(f.weight)
	if err != nil {
		return nil, err
	}
	e, err := f.expander(me, stderr)
	if err != nil {
		return nil, err
	}
	fs := filters.Build(set, e, rule)
	for _, w := range fs.Warnings {
		fmt.Fprintf(stderr, "ipsecmon: warning: %s\n", w)
	}
	return fs, nil
}
