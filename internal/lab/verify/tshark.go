// Package verify checks a lab recording against an independent decoder:
// TShark decrypts every ESP packet and every encrypted IKE message with the
// recorded key tables, and the per-SPI packet counts in the capture must
// equal both daemons' counters in facts.json. Nothing here uses ipsecmon's
// own decoders: its esp_sa reader and ESP check (espcheck.go) and its pcap
// reader are deliberately a second reading, written apart from packages
// keys, espcrypto and capture, so that a fault in those cannot agree with
// itself here.
package verify

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
)

// Frame is what tshark made of one captured frame.
type Frame struct {
	Num              int
	Src, Dst         string
	SrcPort, DstPort int
	NATKeepalive     bool
	ESP              *ESP
	IKE              *IKE
}

// ESP is an ESP packet and what tshark's decryption said about it.
type ESP struct {
	SPI, Seq        uint32
	Decrypted       bool // tshark produced esp.decrypted_data
	ICVGood, ICVBad bool
	PadLen          int // -1 when tshark did not parse a trailer
	NextHeader      int // -1 likewise
	InnerLen        int // ip.len of the decrypted inner packet, -1 when none
	// Inner is the decrypted inner packet (esp.contained_data: the
	// plaintext without the ESP trailer), nil when tshark gave none.
	Inner []byte
	Raw   []byte
}

// IKE is an ISAKMP message.
type IKE struct {
	Version    int // 1 or 2
	Exchange   int
	MsgID      uint32
	ISPI, RSPI string
	Response   bool // IKEv2 R flag
	Encrypted  bool // IKEv1 E flag, IKEv2 SK payload
	Decrypted  bool
	ICDCorrect bool // IKEv2: tshark showed the integrity checksum [correct]
	Raw        []byte
}

// KeyFiles are the Wireshark tables tshark is given.
var KeyFiles = []string{"esp_sa", "ikev1_decryption_table", "ikev2_decryption_table"}

// Dissect runs tshark over pcap with the key tables found in keyDir, in a
// configuration directory of its own (XDG_CONFIG_HOME) so that no personal
// Wireshark profile interferes.
func Dissect(ctx context.Context, tshark, pcap, keyDir, tmp string) ([]Frame, error) {
	conf := filepath.Join(tmp, "wireshark")
	if err := os.MkdirAll(conf, 0o700); err != nil {
		return nil, err
	}
	for _, k := range KeyFiles {
		b, err := os.ReadFile(filepath.Join(keyDir, k))
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if err := os.WriteFile(filepath.Join(conf, k), b, 0o600); err != nil {
			return nil, err
		}
	}
	cmd := exec.CommandContext(ctx, tshark, "-n", "-r", pcap,
		"-o", "esp.enable_encryption_decode:TRUE", "-o", "esp.enable_authentication_check:TRUE", "-T", "pdml")
	cmd.Env = append(os.Environ(), "XDG_CONFIG_HOME="+tmp, "HOME="+tmp)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("tshark: %w: %s", err, stderr.String())
	}
	raw, err := readFrames(pcap)
	if err != nil {
		return nil, err
	}
	return parsePDML(bytes.NewReader(out), raw)
}

func readFrames(path string) ([][]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	frames, err := ReadPcap(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return frames, nil
}

type node struct {
	XMLName  xml.Name
	Name     string `xml:"name,attr"`
	Show     string `xml:"show,attr"`
	ShowName string `xml:"showname,attr"`
	Value    string `xml:"value,attr"`
	Pos      int    `xml:"pos,attr"`
	Size     int    `xml:"size,attr"`
	Children []node `xml:",any"`
}

func (n *node) find(name string) *node {
	for i := range n.Children {
		c := &n.Children[i]
		if c.Name == name {
			return c
		}
		if f := c.find(name); f != nil {
			return f
		}
	}
	return nil
}

func (n *node) child(name string) *node {
	for i := range n.Children {
		if n.Children[i].Name == name {
			return &n.Children[i]
		}
	}
	return nil
}

func parsePDML(r io.Reader, raw [][]byte) ([]Frame, error) {
	dec := xml.NewDecoder(r)
	var frames []Frame
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("pdml: %w", err)
		}
		se, ok := tok.(xml.StartElement)
		if !ok || se.Name.Local != "packet" {
			continue
		}
		var pkt node
		if err := dec.DecodeElement(&pkt, &se); err != nil {
			return nil, fmt.Errorf("pdml packet %d: %w", len(frames)+1, err)
		}
		n := len(frames) + 1
		if n > len(raw) {
			return nil, fmt.Errorf("pdml has more packets than the capture")
		}
		fr, err := frameOf(&pkt, n, raw[n-1])
		if err != nil {
			return nil, fmt.Errorf("frame %d: %w", n, err)
		}
		frames = append(frames, fr)
	}
	if len(frames) != len(raw) {
		return nil, fmt.Errorf("tshark read %d frames, the capture has %d", len(frames), len(raw))
	}
	return frames, nil
}

func slice(raw []byte, n *node) []byte {
	if n == nil || n.Pos < 0 || n.Size < 0 || n.Pos+n.Size > len(raw) {
		return nil
	}
	return append([]byte(nil), raw[n.Pos:n.Pos+n.Size]...)
}

func frameOf(pkt *node, num int, raw []byte) (Frame, error) {
	fr := Frame{Num: num}
	seenESP := false
	for i := range pkt.Children {
		p := &pkt.Children[i]
		switch p.Name {
		case "ip":
			if seenESP {
				if fr.ESP != nil && fr.ESP.InnerLen < 0 {
					if l := p.child("ip.len"); l != nil {
						fr.ESP.InnerLen, _ = strconv.Atoi(l.Show)
					}
				}
				continue
			}
			if s := p.child("ip.src"); s != nil {
				fr.Src = s.Show
			}
			if d := p.child("ip.dst"); d != nil {
				fr.Dst = d.Show
			}
		case "udp":
			if seenESP {
				continue
			}
			if s := p.child("udp.srcport"); s != nil {
				fr.SrcPort, _ = strconv.Atoi(s.Show)
			}
			if d := p.child("udp.dstport"); d != nil {
				fr.DstPort, _ = strconv.Atoi(d.Show)
			}
		case "udpencap":
			if p.find("udpencap.nat_keepalive") != nil {
				fr.NATKeepalive = true
			}
		case "esp":
			if seenESP {
				return fr, errors.New("nested ESP")
			}
			seenESP = true
			e := &ESP{PadLen: -1, NextHeader: -1, InnerLen: -1, Raw: slice(raw, p)}
			if f := p.child("esp.spi"); f != nil {
				v, err := strconv.ParseUint(strings.TrimPrefix(f.Show, "0x"), 16, 32)
				if err != nil {
					return fr, fmt.Errorf("esp.spi %q", f.Show)
				}
				e.SPI = uint32(v)
			}
			if f := p.child("esp.sequence"); f != nil {
				v, _ := strconv.ParseUint(f.Show, 10, 32)
				e.Seq = uint32(v)
			}
			e.Decrypted = p.find("esp.decrypted_data") != nil
			if f := p.find("esp.contained_data"); f != nil {
				b, err := hex.DecodeString(f.Value)
				if err != nil {
					return fr, fmt.Errorf("esp.contained_data is not hex: %w", err)
				}
				e.Inner = b
			}
			if f := p.find("esp.icv_good"); f != nil && f.Show == "1" {
				e.ICVGood = true
			}
			if f := p.find("esp.icv_bad"); f != nil && f.Show == "1" {
				e.ICVBad = true
			}
			if f := p.find("esp.pad_len"); f != nil {
				e.PadLen, _ = strconv.Atoi(f.Show)
			}
			if f := p.find("esp.protocol"); f != nil {
				v, _ := strconv.ParseUint(strings.TrimPrefix(f.Show, "0x"), 16, 8)
				e.NextHeader = int(v)
			}
			fr.ESP = e
		case "isakmp":
			ike, err := ikeOf(p, raw)
			if err != nil {
				return fr, err
			}
			fr.IKE = ike
		}
	}
	return fr, nil
}

func ikeOf(p *node, raw []byte) (*IKE, error) {
	k := &IKE{Raw: slice(raw, p)}
	if f := p.child("isakmp.version"); f != nil {
		switch f.Show {
		case "0x10":
			k.Version = 1
		case "0x20":
			k.Version = 2
		default:
			return nil, fmt.Errorf("isakmp.version %q", f.Show)
		}
	}
	if f := p.child("isakmp.ispi"); f != nil {
		k.ISPI = f.Value
	}
	if f := p.child("isakmp.rspi"); f != nil {
		k.RSPI = f.Value
	}
	if f := p.child("isakmp.exchangetype"); f != nil {
		k.Exchange, _ = strconv.Atoi(f.Show)
	}
	if f := p.child("isakmp.messageid"); f != nil {
		v, _ := strconv.ParseUint(strings.TrimPrefix(f.Show, "0x"), 16, 32)
		k.MsgID = uint32(v)
	}
	if f := p.find("isakmp.flag_r"); f != nil && f.Show == "1" {
		k.Response = true
	}
	switch k.Version {
	case 1:
		if f := p.find("isakmp.flag_e"); f != nil && f.Show == "1" {
			k.Encrypted = true
			k.Decrypted = ikev1Parsed(p)
		}
	case 2:
		for _, c := range p.Children {
			if c.Name == "isakmp.typepayload" && (c.Show == "46" || c.Show == "53") {
				k.Encrypted = true
			}
		}
		if k.Encrypted {
			k.Decrypted = p.find("isakmp.enc.decrypted") != nil
			if f := p.find("isakmp.enc.icd"); f != nil && strings.HasSuffix(f.ShowName, "[correct]") {
				k.ICDCorrect = true
			}
		}
	}
	return k, nil
}

// ikev1Parsed decides whether tshark decrypted an IKEv1 message: the
// decrypted payload chain must start with the payload type the header
// announces and end with "no next payload" (RFC 2408 §3.2). Garbage from a
// wrong key or IV does not form such a chain.
func ikev1Parsed(p *node) bool {
	data := p.child("isakmp.enc.data")
	np := p.child("isakmp.nextpayload")
	if data == nil || np == nil {
		return false
	}
	var chain []*node
	for i := range data.Children {
		if data.Children[i].Name == "isakmp.typepayload" {
			chain = append(chain, &data.Children[i])
		}
	}
	if len(chain) == 0 || chain[0].Show != np.Show {
		return false
	}
	for i, c := range chain {
		next := c.child("isakmp.nextpayload")
		if next == nil {
			return false
		}
		if i+1 < len(chain) && next.Show != chain[i+1].Show {
			return false
		}
		if i+1 == len(chain) && next.Show != "0" {
			return false
		}
	}
	return true
}
