package findings

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/dustin/go-humanize"

	"ipsecmon/analyzer"
)

// natMapping finds an SA whose packets arrived from more than one source:
// the same SPI to the same destination under other UDP ports or from
// another address (the analyzer keys UDP-encapsulated SAs by their ports
// too), or an SA whose source address changed under one key. A NAT
// between the peers dropped and rebuilt its mapping; until the other peer
// follows (RFC 7296 §2.23: it updates the address it sends to from
// authenticated packets), its packets go to the old mapping and are lost.
func (a *auditor) natMapping() []Finding {
	type spiKey struct {
		dst   netip.Addr
		proto uint8
		spi   uint32
	}
	groups := map[spiKey][]*analyzer.SA{}
	rowOf := map[*analyzer.SA]*analyzer.QuickModeSA{}
	var order []spiKey
	for _, r := range a.snap.Rows {
		for _, sa := range r.SAs() {
			if sa.Packets() == 0 {
				continue
			}
			k := spiKey{sa.Key.Dst, sa.Key.Proto, sa.Key.SPI}
			if groups[k] == nil {
				order = append(order, k)
			}
			groups[k] = append(groups[k], sa)
			rowOf[sa] = r
		}
	}
	var out []Finding
	for _, k := range order {
		sas := groups[k]
		var changed uint64
		for _, sa := range sas {
			changed += uint64(sa.SrcChanges)
		}
		if len(sas) < 2 && changed == 0 {
			continue
		}
		var from []string
		first, last := sas[0], sas[0]
		for _, sa := range sas {
			from = append(from, fmt.Sprintf("%s (%s packets from %s)", source(sa), humanize.Comma(int64(sa.Packets())), lastText(sa.FirstSeen)[3:]))
			if sa.FirstSeen < first.FirstSeen {
				first = sa
			}
			if sa.LastSeen > last.LastSeen {
				last = sa
			}
		}
		f := saFinding(NATMappingChanged, Low, rowOf[last])
		f.Time, f.Until = tm(first.FirstSeen), tm(last.LastSeen)
		detail := fmt.Sprintf("SPI 0x%08x to %s arrived from %s", k.spi, k.dst, strings.Join(from, ", then "))
		if changed > 0 {
			detail += fmt.Sprintf("; %s packets came from another address than the SA's first", humanize.Comma(int64(changed)))
		}
		f.Detail = detail + ". A NAT between the peers rebuilt its mapping (RFC 3948 §2.2: the UDP encapsulation is what lets the mapping be kept); until the other peer updates the address it sends to from authenticated packets (RFC 7296 §2.23), its traffic goes to the old mapping and is lost."
		out = append(out, f)
	}
	return out
}

// source is where an SA's packets came from, with the encapsulation port.
func source(sa *analyzer.SA) string {
	if sa.Key.Encapsulated() {
		return netip.AddrPortFrom(sa.Src, sa.Key.SrcPort).String()
	}
	return sa.Src.String()
}
