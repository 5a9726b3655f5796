package espcrypto_test

import (
	"encoding/hex"
	"fmt"

	"ipsecmon/algo"
	"ipsecmon/espcrypto"
	"ipsecmon/ipproto"
)

// RFC 3602 §4, Case #6: a transport-mode ESP packet, AES-128-CBC, no
// integrity.
func Example() {
	key, _ := hex.DecodeString("90d382b410eeba7ad938c46cec1a82bf")
	esp, _ := hex.DecodeString("000043210000000869d08df7d203329db093fc4924e5bd80" +
		"f51995881ec4e0c4488987ce742e8109689bb379d2d750c0d915dca346a89f75")
	tr, err := espcrypto.New(ipproto.ESP, algo.EncAESCBC, key, algo.AuthNone, nil, false)
	if err != nil {
		panic(err)
	}
	r := tr.OpenESP(esp, 0)
	fmt.Println(r.Outcome, r.NextHeader, len(r.Payload), r.PadLen)
	// Output: accepted 1 28 2
}
