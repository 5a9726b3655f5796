package hosts

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/netip"
	"strconv"
	"time"

	"ipsecmon/ipproto"
)

// `Get-NetIPsecQuickModeSA | ConvertTo-Json`: MSFT_NetQuickModeSA instances
// (Windows Firewall with Advanced Security WMI provider, root/StandardCimv2;
// learn.microsoft.com windows/win32/fwp/wmi/wfascimprov/msft-netquickmodesa).
// Each instance is one direction of a quick mode SA: SPI with
// InboundDirection. The class carries no traffic counters, only configured
// lifetimes, so these SAs have nil Bytes and Packets. Cipher and integrity
// algorithm numbers are kept as text: their value maps are not in the
// class documentation this parser was written from.
//
// CIM_IPsecSAEndpoint.EncapsulationMode (DMTF CIM schema): 2 tunnel, 3 transport.

func detectWindowsQMSA(data []byte) bool {
	t := bytes.TrimSpace(data)
	return len(t) > 0 && (t[0] == '[' || t[0] == '{') &&
		(bytes.Contains(t, []byte(`"InboundDirection"`)) || bytes.Contains(t, []byte(`"QmSaId"`)))
}

type qmsa struct {
	Name                       string
	LocalEndpoint              string
	RemoteEndpoint             string
	LocalUdpEncapsulationPort  *uint16
	RemoteUdpEncapsulationPort *uint16
	EncapsulationMode          *uint16
	InboundDirection           *bool
	SPI                        *uint32
	FirstTransformType         *uint32
	FirstCipherAlgorithm       *uint32
	FirstIntegrityAlgorithm    *uint32
	LifetimeSeconds            *uint64
	LifetimeKilobytes          *uint64
	QmSaId                     *uint32
	MmSaId                     *uint64
}

func parseWindowsQMSA(name string, data []byte) (*Snapshot, error) {
	t := bytes.TrimSpace(data)
	var list []qmsa
	if len(t) == 0 {
		return nil, errorf(name, 0, "empty JSON")
	}
	if t[0] == '{' {
		var one qmsa
		if err := json.Unmarshal(t, &one); err != nil {
			return nil, errorf(name, jsonLine(t, err), "JSON: %v", err)
		}
		list = []qmsa{one}
	} else if err := json.Unmarshal(t, &list); err != nil {
		return nil, errorf(name, jsonLine(t, err), "JSON: %v", err)
	}
	s := &Snapshot{}
	for i, q := range list {
		if q.SPI == nil || q.InboundDirection == nil {
			return nil, errorf(name, 0, "quick mode SA %d: no SPI or InboundDirection", i)
		}
		local, err1 := netip.ParseAddr(q.LocalEndpoint)
		remote, err2 := netip.ParseAddr(q.RemoteEndpoint)
		if err1 != nil || err2 != nil {
			return nil, errorf(name, 0, "quick mode SA %d: bad endpoint address", i)
		}
		sa := SA{Proto: ipproto.ESP, SPI: *q.SPI, Child: q.Name, Origin: fmt.Sprintf("%s: SA %d", name, i)}
		if q.FirstTransformType != nil && *q.FirstTransformType == 1 { // IPSEC_TRANSFORM_AH (ipsectypes.h IPSEC_TRANSFORM_TYPE)
			sa.Proto = ipproto.AH
		}
		if *q.InboundDirection {
			sa.Dir, sa.Src, sa.Dst = DirIn, remote, local
		} else {
			sa.Dir, sa.Src, sa.Dst = DirOut, local, remote
		}
		if q.LocalUdpEncapsulationPort != nil && q.RemoteUdpEncapsulationPort != nil && *q.LocalUdpEncapsulationPort != 0 {
			if sa.Dir == DirIn {
				sa.EncapSport, sa.EncapDport = *q.RemoteUdpEncapsulationPort, *q.LocalUdpEncapsulationPort
			} else {
				sa.EncapSport, sa.EncapDport = *q.LocalUdpEncapsulationPort, *q.RemoteUdpEncapsulationPort
			}
		}
		if q.EncapsulationMode != nil {
			switch *q.EncapsulationMode {
			case 2:
				sa.Mode = "tunnel"
			case 3:
				sa.Mode = "transport"
			}
		}
		if q.FirstCipherAlgorithm != nil || q.FirstIntegrityAlgorithm != nil {
			sa.AlgText = "cipher=" + optU32(q.FirstCipherAlgorithm) + " integrity=" + optU32(q.FirstIntegrityAlgorithm)
		}
		if q.LifetimeSeconds != nil {
			sa.ExpiresIn = dur(time.Duration(*q.LifetimeSeconds) * time.Second)
		}
		if q.QmSaId != nil {
			sa.State = "QmSaId " + strconv.FormatUint(uint64(*q.QmSaId), 10)
		}
		s.SAs = append(s.SAs, sa)
	}
	return s, nil
}

func optU32(p *uint32) string {
	if p == nil {
		return "?"
	}
	return strconv.FormatUint(uint64(*p), 10)
}

// jsonLine turns a JSON syntax error offset into a 1-based line number.
func jsonLine(data []byte, err error) int {
	if se, ok := err.(*json.SyntaxError); ok && se.Offset <= int64(len(data)) {
		return bytes.Count(data[:se.Offset], []byte("\n")) + 1
	}
	return 0
}
