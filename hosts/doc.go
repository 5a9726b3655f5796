// Package hosts reads what an IPsec host says about its own security
// associations and counters, so that ipsecmon can compare the host's view with
// what it saw on the wire. Each source has its own file (xfrm_state.go,
// xfrm_stat.go, swanctl.go, statusall.go, libreswan.go, windows_*.go,
// live_*.go) and turns its text, JSON or netlink/VICI messages into one
// neutral Snapshot. Parse detects the format from content.
//
// # What the byte counters count
//
// Every source counts bytes at a different point of the ESP processing; SA.ByteBasis
// says which. The comparison must convert ipsecmon's own wire counts to that basis.
//
//	Source                          Dir  Basis              Counts
//	Linux XFRM (ip -s xfrm state,   in   LinuxXfrmIn        skb->len after the ESP transform's input: the ESP
//	  netlink, Libreswan on Linux)                          header, IV, padding, trailer and ICV are gone and the
//	                                                        outer IP header was pulled before xfrm_input. Tunnel
//	                                                        mode: the inner IP packet. Transport mode: the
//	                                                        upper-layer payload without the IP header.
//	                                                        (net/xfrm/xfrm_input.c xfrm_input():
//	                                                        "x->curlft.bytes += skb->len" after
//	                                                        x->type->input; net/ipv4/esp4.c esp_input_done2
//	                                                        trims the trailer and pulls the ESP header and IV.)
//	                                out  LinuxXfrmOut       skb->len after the outer mode added the outer
//	                                                        headers and before the ESP transform's output:
//	                                                        outer IP header + UDP header when encapsulated +
//	                                                        ESP header + IV + inner packet (tunnel), or IP
//	                                                        header + ESP header + IV + payload (transport);
//	                                                        no padding, pad length, next header or ICV.
//	                                                        (net/xfrm/xfrm_output.c xfrm_output_one():
//	                                                        "x->curlft.bytes += skb->len" between
//	                                                        xfrm_outer_mode_output and x->type->output;
//	                                                        esp_init_state sets props.header_len.)
//	strongSwan kernel-libipsec      both InnerIP            the plaintext inner IP packet, both directions
//	  (swanctl, statusall, VICI)                            (src/libipsec/ipsec_processor.c: inbound
//	                                                        "sa->update_usestats(sa, ip_packet->get_encoding(
//	                                                        ip_packet).len)" after decrypt; outbound the same
//	                                                        on the packet before encryption). Measured in the
//	                                                        lab: 3 ICMP echoes of IP length 128 gave 384
//	                                                        bytes in and 384 out (testdata/README.md).
//	strongSwan kernel-netlink       both LinuxXfrmIn/Out    charon queries the XFRM SA (kernel_netlink_ipsec.c
//	                                                        query_sa returns curlft.bytes): the Linux basis.
//	Libreswan trafficstatus         both LinuxXfrmIn/Out    pluto reads the XFRM SA's curlft.bytes on Linux;
//	                                                        other kernels print no bytes (libreswan#2854).
//	Windows                         -    (none)             MSFT_NetQuickModeSA has no per-SA traffic
//	                                                        counters, only lifetimes; the IPsec Driver
//	                                                        counters' byte figures are rates (.../sec).
//
// A snapshot of a strongSwan daemon says which kernel backend it used only
// when the source names its plugins (ipsec statusall, live VICI); otherwise
// the basis stays Unknown until the caller states it with AssumeBackend.
//
// # Direction
//
// strongSwan, Libreswan and Windows say which SAs are inbound. An XFRM state
// does not (before Linux 6.10's optional "dir"): it is inbound when its
// destination is a local address, which a dump alone does not tell. Such SAs
// keep DirUnknown and BasisLinuxXfrm until ResolveDirections is given the
// host's addresses.
package hosts
