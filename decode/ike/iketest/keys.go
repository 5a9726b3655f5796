package iketest

import (
	"fmt"

	"ipsecmon/keys"
)

// The key tables are read with package keys (which has its own tests on
// them); these wrappers keep the IKE tests' call sites short.

// IKEv2Table reads a Wireshark ikev2_decryption_table (or any key file) and
// returns its IKEv2 SAs.
func IKEv2Table(path string) ([]keys.IKEv2SA, error) {
	s, err := keys.Load(path)
	if err != nil {
		return nil, err
	}
	if len(s.IKEv2) == 0 {
		return nil, fmt.Errorf("%s: no IKEv2 keys", path)
	}
	return s.IKEv2, nil
}

// IKEv1Table reads a Wireshark ikev1_decryption_table (or any key file) and
// returns its ISAKMP SAs.
func IKEv1Table(path string) ([]keys.IKEv1SA, error) {
	s, err := keys.Load(path)
	if err != nil {
		return nil, err
	}
	if len(s.IKEv1) == 0 {
		return nil, fmt.Errorf("%s: no IKEv1 keys", path)
	}
	return s.IKEv1, nil
}

// Native reads a key file in ipsecmon's native format.
func Native(path string) (*keys.Set, error) { return keys.Load(path) }
