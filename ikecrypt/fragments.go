package ikecrypt

import "fmt"

// Fragments collects the decrypted SKF fragments of one IKEv2 message (RFC
// 7383 §2.6). Each fragment is protected on its own; the message is the
// concatenation of their plaintexts in fragment-number order, and its first
// inner payload type is the Next Payload of fragment 1.
type Fragments struct {
	total uint16
	first uint8
	parts map[uint16][]byte
}

// Add stores fragment num of total (plain is copied). It reports whether the
// message is now complete. A fragment whose total disagrees with the
// earlier ones restarts the collection, as RFC 7383 §2.6 lets a sender
// re-fragment a retransmission with a different size.
func (f *Fragments) Add(num, total uint16, next uint8, plain []byte) (bool, error) {
	if num == 0 || total == 0 || num > total {
		return false, fmt.Errorf("SKF: fragment %d of %d", num, total)
	}
	if f.parts == nil || f.total != total {
		f.parts = make(map[uint16][]byte, total)
		f.total = total
	}
	if num == 1 {
		f.first = next
	}
	if _, dup := f.parts[num]; !dup {
		f.parts[num] = append([]byte(nil), plain...)
	}
	return len(f.parts) == int(f.total), nil
}

// Received is how many distinct fragments are held, out of Total.
func (f *Fragments) Received() int { return len(f.parts) }

// Total is the announced number of fragments (0 before the first).
func (f *Fragments) Total() uint16 { return f.total }

// Message joins the fragments: the first inner payload type and the chain.
func (f *Fragments) Message() (uint8, []byte, error) {
	if f.total == 0 || len(f.parts) != int(f.total) {
		return 0, nil, fmt.Errorf("SKF: %d of %d fragments", len(f.parts), f.total)
	}
	var out []byte
	for i := uint16(1); i <= f.total; i++ {
		out = append(out, f.parts[i]...)
	}
	return f.first, out, nil
}
