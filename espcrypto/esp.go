package espcrypto

import (
	"crypto/subtle"
	"encoding/binary"

	"ipsecmon/ipproto"
)

const espHeaderLen = 8 // SPI and sequence number (RFC 4303 §2)

// OpenESP checks and decrypts one ESP packet. esp runs from the first byte
// of the SPI to the end of the IP payload (UDP encapsulation already
// removed). seqHi is the high half of the extended sequence number the
// caller inferred (RFC 4303 Appendix A); it is ignored without ESN.
//
// The order is the receiver's (RFC 4303 §3.4.4): the ICV first, then
// decryption and the trailer. AEAD algorithms check and decrypt in one step.
func (t *Transform) OpenESP(esp []byte, seqHi uint32) Result {
	return t.openESP(esp, seqHi, -1)
}

// OpenESPHead is OpenESP for a caller that reads no more of the plaintext
// than its first head bytes: the ICV is checked over the whole packet and
// the padding and trailer are decrypted and checked as ever, but a CBC
// cipher leaves the blocks between the head and the padding encrypted (in
// CBC a block decrypts from itself and the block before it, NIST SP
// 800-38A §6.2). Payload then holds the first head bytes of the plaintext
// and Skipped the length of the rest; other modes decrypt everything, as
// OpenESP does (an AEAD's tag covers the whole ciphertext anyway).
func (t *Transform) OpenESPHead(esp []byte, seqHi uint32, head int) Result {
	return t.openESP(esp, seqHi, max(head, 0))
}

// openESP opens esp; head < 0 decrypts the whole plaintext.
func (t *Transform) openESP(esp []byte, seqHi uint32, head int) Result {
	if t.proto != ipproto.ESP {
		return Result{Outcome: Malformed, Reason: ReasonBadHeader}
	}
	n := len(esp)
	ctStart := espHeaderLen + t.ivLen
	ctEnd := n - t.icvLen
	// The trailer (pad length, next header) is at least 2 bytes.
	if ctEnd-ctStart < 2 {
		return Result{Outcome: Malformed, Reason: ReasonTruncated}
	}
	binary.BigEndian.PutUint32(t.hi[:], seqHi)
	ct := esp[ctStart:ctEnd]
	icv := esp[ctEnd:]

	var pt []byte
	switch t.mode {
	case modeGCM, modeChaCha, modeGCM8, modeCCM:
		t.setNonce(esp[espHeaderLen:ctStart])
		aad := t.espAAD(esp)
		t.buf = grow(t.buf, len(ct))
		var ok bool
		switch t.mode {
		case modeGCM, modeChaCha:
			// Open needs ciphertext and tag contiguous, as they are on the wire.
			var err error
			pt, err = t.aead.Open(t.buf[:0], t.nonce[:len(t.salt)+t.ivLen], esp[ctStart:], aad)
			ok = err == nil
		case modeGCM8:
			pt, ok = t.openGCM8(ct, icv, aad)
		case modeCCM:
			// RFC 4309 §4: nonce = 3-byte salt || 8-byte IV.
			ok = t.ccm.open(t.buf, t.nonce[:3+t.ivLen], ct, icv, aad)
			pt = t.buf[:len(ct)]
		}
		if !ok {
			return Result{Outcome: NotAuthenticated, Reason: ReasonICVMismatch}
		}
	case modeGMAC:
		t.setNonce(esp[espHeaderLen:ctStart])
		// RFC 4543 §3.3: everything from the SPI to the next header is AAD
		// and nothing is encrypted; with ESN the high bits sit between the
		// SPI and the low bits.
		var aad []byte
		if t.esn {
			t.buf2 = grow(t.buf2, ctEnd+4)
			copy(t.buf2, esp[:4])
			copy(t.buf2[4:], t.hi[:])
			copy(t.buf2[8:], esp[4:ctEnd])
			aad = t.buf2[:ctEnd+4]
		} else {
			aad = esp[:ctEnd]
		}
		if _, err := t.aead.Open(t.buf[:0], t.nonce[:12], icv, aad); err != nil {
			return Result{Outcome: NotAuthenticated, Reason: ReasonICVMismatch}
		}
		pt = ct
	default:
		if t.check {
			t.mac.Reset()
			t.mac.Write(esp[:ctEnd])
			if t.esn {
				// RFC 4303 §2.2.1: the high-order bits are appended after
				// the next header for the ICV, never sent.
				t.mac.Write(t.hi[:])
			}
			sum := t.mac.Sum(t.sum[:0])
			if subtle.ConstantTimeCompare(sum[:t.icvLen], icv) != 1 {
				return Result{Outcome: NotAuthenticated, Reason: ReasonICVMismatch}
			}
		}
		if len(ct)%t.align != 0 {
			return Result{Outcome: NotDecrypted, Reason: ReasonBadLength}
		}
		switch t.mode {
		case modeNull:
			pt = ct
		case modeCBC:
			t.buf = grow(t.buf, len(ct))
			pt = t.buf
			if head < 0 || !t.decryptCBCEnds(pt, esp[espHeaderLen:ctStart], ct, head) {
				t.cbcIV.SetIV(esp[espHeaderLen:ctStart])
				t.cbc.CryptBlocks(pt, ct)
			}
			if head < 0 {
				break
			}
			r := trailer(pt)
			if r.Outcome == Accepted && len(r.Payload) > head {
				r.Skipped = len(r.Payload) - head
				r.Payload = r.Payload[:head]
			}
			return r
		case modeCTR:
			// RFC 3686 §4: counter block = nonce || IV || 1, incremented per block.
			t.buf = grow(t.buf, len(ct))
			copy(t.ctr[:4], t.salt[:])
			copy(t.ctr[4:12], esp[espHeaderLen:ctStart])
			t.ctrXOR(t.buf, ct, 1)
			pt = t.buf
		}
	}
	// AEAD modes have no block alignment, but RFC 4303 §2.4 still asks the
	// trailer to end on a 4-byte boundary, and Linux rejects it otherwise.
	if len(pt)%t.align != 0 {
		return Result{Outcome: NotDecrypted, Reason: ReasonBadLength}
	}
	return trailer(pt)
}

// decryptCBCEnds decrypts into pt the blocks of ct that hold the first
// head bytes of the plaintext and those of the trailer and padding (RFC
// 4303 §2.4: pad length and next header last, up to 255 bytes of padding
// before them), and reports false, having decrypted nothing, when that
// would leave no block out.
func (t *Transform) decryptCBCEnds(pt, iv, ct []byte, head int) bool {
	bs := t.block.BlockSize()
	n := len(ct) / bs
	first := (head + bs - 1) / bs // blocks of the head
	if first+1 >= n {
		return false
	}
	// The last block holds the pad length; the padding may reach further
	// back. Blocks first..n-1 are those left out, those the padding needs
	// taken back.
	t.cbcBlocks(pt, iv, ct, 0, first)
	t.cbcBlocks(pt, iv, ct, n-1, n)
	l := len(pt)
	if padLen := int(pt[l-2]); padLen <= l-2 {
		if from := (l - 2 - padLen) / bs; from < n-1 {
			t.cbcBlocks(pt, iv, ct, max(from, first), n-1)
		}
	}
	return true
}

// cbcBlocks decrypts blocks i to j-1 of ct into pt: the IV of block i is
// ciphertext block i-1, or iv for the first.
func (t *Transform) cbcBlocks(pt, iv, ct []byte, i, j int) {
	if i >= j {
		return
	}
	bs := t.block.BlockSize()
	if i > 0 {
		iv = ct[(i-1)*bs : i*bs]
	}
	t.cbcIV.SetIV(iv)
	t.cbc.CryptBlocks(pt[i*bs:j*bs], ct[i*bs:j*bs])
}

// setNonce lays out salt || IV, the nonce of RFC 4106 §4, RFC 4309 §4 (with
// a 3-byte salt), RFC 4543 §3.2 and RFC 7634 §2.
func (t *Transform) setNonce(iv []byte) {
	s := t.enc.SaltLen()
	copy(t.nonce[:s], t.salt[:s])
	copy(t.nonce[s:], iv)
}

// espAAD is SPI || seq (RFC 4106 §5, RFC 7634 §2.1), with the ESN high bits
// between them when the SA uses ESN.
func (t *Transform) espAAD(esp []byte) []byte {
	if !t.esn {
		return esp[:espHeaderLen]
	}
	copy(t.aad[:4], esp[:4])
	copy(t.aad[4:8], t.hi[:])
	copy(t.aad[8:12], esp[4:8])
	return t.aad[:]
}

// ctrXOR runs AES in counter mode over src starting at counter value first;
// t.ctr[:12] holds the fixed part. A Stream from cipher.NewCTR would
// allocate per packet.
func (t *Transform) ctrXOR(dst, src []byte, first uint32) {
	c := first
	for len(src) > 0 {
		binary.BigEndian.PutUint32(t.ctr[12:], c)
		t.block.Encrypt(t.ks[:], t.ctr[:])
		k := subtle.XORBytes(dst, src, t.ks[:])
		dst, src = dst[k:], src[k:]
		c++
	}
}

// openGCM8 decrypts with the GCM counter (J0 = nonce || 1, data from
// counter 2, NIST SP 800-38D §7.2), then recomputes the full tag by
// sealing the plaintext again and compares its leftmost 8 bytes.
func (t *Transform) openGCM8(ct, icv, aad []byte) ([]byte, bool) {
	pt := t.buf[:len(ct)]
	copy(t.ctr[:12], t.nonce[:12])
	t.ctrXOR(pt, ct, 2)
	t.buf2 = grow(t.buf2, len(ct)+16)
	sealed := t.aead.Seal(t.buf2[:0], t.nonce[:12], pt, aad)
	tag := sealed[len(ct):]
	return pt, subtle.ConstantTimeCompare(tag[:len(icv)], icv) == 1
}

// trailer checks the decrypted padding and next header (RFC 4303 §2.4,
// §2.6) and strips them.
func trailer(pt []byte) Result {
	l := len(pt)
	padLen := int(pt[l-2])
	nh := pt[l-1]
	r := Result{NextHeader: nh, PadLen: padLen}
	if padLen > l-2 {
		r.Outcome, r.Reason = NotDecrypted, ReasonBadPadLen
		return r
	}
	pad := pt[l-2-padLen : l-2]
	for i, b := range pad {
		if b != byte(i+1) {
			r.Outcome, r.Reason = NotDecrypted, ReasonBadPadding
			return r
		}
	}
	if impossibleNextHeader(nh) {
		r.Outcome, r.Reason = NotDecrypted, ReasonBadNextHeader
		return r
	}
	r.Outcome = Accepted
	r.Payload = pt[:l-2-padLen]
	if nh == 59 {
		r.Reason = ReasonDummy
	}
	return r
}

// impossibleNextHeader reports next header values that cannot follow ESP:
// IPv6 Hop-by-Hop, Routing and Fragment headers come before ESP (RFC 4303
// §3.1.1), 255 is reserved and 146–252 are unassigned in the IANA protocol
// numbers registry.
func impossibleNextHeader(nh uint8) bool {
	switch {
	case nh == 0, nh == 43, nh == 44, nh == 255:
		return true
	case nh >= 146 && nh <= 252:
		return true
	}
	return false
}
