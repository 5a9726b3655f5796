// Package livecheck holds the checks of ipsecmon's live capture against
// sources other than ipsecmon: the lab daemons' facts, tshark, libpcap's
// and the kernel's counters, /proc.
package livecheck
