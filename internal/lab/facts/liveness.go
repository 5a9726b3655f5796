package facts

import "time"

// Liveness is what one peer did to find out whether the other is alive,
// from its log, counting what happened before the end of the capture.
type Liveness struct {
	Peer string `json:"peer"`
	// DPDRequests: liveness checks sent (charon's "sending DPD request":
	// an IKEv2 INFORMATIONAL request without payloads, NAT-D notifies
	// aside, RFC 7296 §2.4; the lab has no IKEv1 DPD), the answered ones,
	// and retransmissions of unanswered ones.
	DPDRequests    int `json:"dpd_requests"`
	DPDAnswered    int `json:"dpd_answered"`
	DPDUnanswered  int `json:"dpd_unanswered"` // dpd_requests - dpd_answered: no answer before the end of the capture
	DPDRetransmits int `json:"dpd_retransmits"`
	// Keepalives: NAT-T keepalives sent (RFC 3948 §2.3; one 0xFF byte).
	Keepalives int `json:"keepalives"`
}

// Signal is a signal the lab sent to a daemon before the end of the
// capture: STOP freezes it (it answers nothing until CONT), TERM and KILL
// end it.
type Signal struct {
	Peer   string    `json:"peer"`
	Signal string    `json:"signal"`
	Time   time.Time `json:"time"`
}

func (b *builder) liveness() error {
	for _, s := range b.in.Signals {
		if b.beforeEnd(s.Time) {
			b.f.Signals = append(b.f.Signals, s)
		}
	}
	for _, p := range PeerNames {
		lv := Liveness{Peer: p}
		lg := b.in.Logs[p]
		for _, d := range lg.DPD {
			if !b.beforeEnd(d.Time) {
				continue
			}
			lv.DPDRequests++
			if b.beforeEnd(d.Answered) {
				lv.DPDAnswered++
			}
			for _, t := range d.Retransmits {
				if b.beforeEnd(t) {
					lv.DPDRetransmits++
				}
			}
		}
		lv.DPDUnanswered = lv.DPDRequests - lv.DPDAnswered
		for _, t := range lg.Keepalives {
			if b.beforeEnd(t) {
				lv.Keepalives++
			}
		}
		b.f.Liveness = append(b.f.Liveness, lv)
	}
	return nil
}
