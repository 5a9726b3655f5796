package analyzer

import (
	"fmt"
	"net/netip"

	"github.com/gopacket/gopacket/layers"

	"ipsecmon/decode"
	"ipsecmon/espcrypto"
	"ipsecmon/event"
	"ipsecmon/ipproto"
	"ipsecmon/keys"
)

// indexKeys notes the destinations whose SA list is complete.
func (a *Analyzer) indexKeys() {
	ks := a.cfg.Keys
	if ks == nil || !(ks.Authoritative || a.cfg.CompleteKeys) {
		return
	}
	a.covered = map[netip.Addr]bool{}
	for i := range ks.SAs {
		if d := ks.SAs[i].Dst; d.IsValid() && d.IsSingleIP() {
			a.covered[d.Addr()] = true
		}
	}
	// The host's own addresses are covered too: every SA it has is listed.
	for _, p := range a.cfg.Me {
		if p.IsSingleIP() {
			a.covered[p.Addr()] = true
		}
	}
}

// BadSPIKnown reports whether Bad SPI can be counted: when some source lists
// the complete set of SAs, or decrypted IKE negotiations show which SAs exist.
func (a *Analyzer) BadSPIKnown() bool {
	return a.covered != nil || a.ikeBad || a.ikeView().counters.Decrypted > 0
}

// badSPI counts a packet for an unknown SA as Bad SPI when its destination's
// SA list is complete.
func (a *Analyzer) badSPI(now int64, key SAKey, p *decode.Packet, ref Ref) bool {
	if !a.covered[key.Dst] {
		return false
	}
	if a.cfg.Keys != nil && a.cfg.Keys.ESPFor(key.Proto, p.Src, key.Dst, key.SPI) != nil {
		return false
	}
	a.countBadSPI(now, key, p, ref, "no SA in the authoritative SA list has this SPI")
	return true
}

func (a *Analyzer) countBadSPI(now int64, key SAKey, p *decode.Packet, ref Ref, why string) {
	a.counts.BadSPI++
	if a.badSPIs == nil {
		a.badSPIs = map[netip.Addr]uint64{}
	}
	// By destination only: those are hosts with a complete SA list, SAs
	// of the table or peers of decrypted IKE, all bounded elsewhere (the
	// SPIs of a flood are not).
	a.badSPIs[key.Dst]++
	a.anomaly(now, event.BadSPI, key, p.Src, ref, why)
}

// attachKeys gives a new SA its transform when the keys cover it.
func (a *Analyzer) attachKeys(sa *SA) {
	ks := a.cfg.Keys
	if ks == nil {
		return
	}
	k := ks.ESPFor(sa.Key.Proto, sa.Src, sa.Key.Dst, sa.Key.SPI)
	if k == nil {
		return
	}
	ki := &KeyInfo{Origin: k.Origin, Enc: k.Enc, Auth: k.Auth, seqHiStart: k.SeqHi, material: k}
	if k.Enc.SaltLen() < len(k.EncKey) {
		ki.EncKeyBits = 8 * (len(k.EncKey) - k.Enc.SaltLen())
	}
	sa.key = ki
	sa.ESN = k.ESN
	// The host's own window for the SA (an `ip xfrm state` dump, a native
	// replay-window=), for an SA that has not checked a packet yet.
	if w := min(k.ReplayWindow, MaxReplayWindow); w > 0 && w != sa.Window.Size() && !sa.Window.Started() {
		a.windowBytes -= ReplayWindowBytes(sa.Window.Size())
		sa.Window = a.newWindow(w)
	}
	switch k.Mode {
	case "tunnel":
		sa.Mode = ModeTunnel
	case "transport":
		sa.Mode = ModeTransport
	}
	if k.NoKeys {
		return
	}
	tr, err := espcrypto.NewFromKeys(k)
	if err != nil {
		ki.Unusable = err.Error()
		// One message per key entry, without the key itself.
		if a.keyErrors == nil {
			a.keyErrors = map[string]bool{}
		}
		if !a.keyErrors[k.Origin] {
			a.keyErrors[k.Origin] = true
			a.emit(Event{Kind: event.KeyUnusable, SA: eventSA(sa.Key, sa.Src), Detail: fmt.Sprintf("%s: %v", k.Origin, err)})
		}
		return
	}
	sa.tr = &cipher{t: tr}
}

// SetKeys replaces the key set (SIGHUP in a live run): SAs without keys
// that the new set covers become verifiable from their next packet.
func (a *Analyzer) SetKeys(ks *keys.Set) {
	a.flush()
	a.cfg.Keys = ks
	a.startWorkers() // nothing is in flight: flush applied it all
	a.covered = nil
	a.indexKeys()
	if a.tracker != nil {
		a.tracker.SetKeys(ks)
	}
	for _, sa := range a.order {
		if sa.tr == nil {
			a.attachKeys(sa)
		}
	}
}

const rawLink = layers.LinkTypeRaw

// plaintext takes what a verified packet carried: the SA's mode, the inner
// traffic, and any IPsec nested inside a tunnel.
func (a *Analyzer) plaintext(now int64, sa *SA, o *opened, ref Ref, depth int) {
	sa.PlainBytes += uint64(o.plainLen)
	if o.res.Reason == espcrypto.ReasonDummy {
		return // RFC 4303 §2.6: dummy packets carry nothing
	}
	nh := o.res.NextHeader
	if sa.Key.Proto == ipproto.ESP {
		if nh == 4 || nh == 41 {
			sa.Mode = ModeTunnel
		} else {
			sa.Mode = ModeTransport
		}
	} else if nh == ipproto.ESP {
		sa.ahCarriesESP = true
		return
	} else if nh == 4 || nh == 41 {
		sa.Mode = ModeTunnel
	} else {
		sa.Mode = ModeTransport
	}
	if !o.innerOK {
		return
	}
	in := o.inner
	sa.noteInner(in.Proto, in.SrcPort, in.DstPort, in.Src, in.Dst)
	if o.nested == nil || depth+1 >= maxNesting {
		return
	}
	// A tunnel may carry IPsec of its own (nested SAs): analyse it too.
	if a.inner == nil {
		a.inner = decode.NewDecoder()
	}
	ip := &a.innerPkt[depth]
	if err := a.inner.Decode(rawLink, o.nested, len(o.nested), ip); err != nil || ip.Kind != decode.KindIPsec {
		return
	}
	for i := 0; i < ip.NIPsec; i++ {
		a.ipsecAt(now, ip, &ip.IPsec[i], ref, depth+1)
	}
}
