package policy

import (
	"bufio"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"ipsecmon/algo"
)

// charonChild is what charon 5.9.8 logs about a loaded child at cfg level 2
// (testdata/swanctl/*.charon-cfg.log, recorded by record.sh): strongSwan's
// own reading of the swanctl.conf beside it.
type charonChild struct {
	conn, name                     string
	version                        int
	mode, startAction, closeAction string
	proposals                      string
	localTS, remoteTS              []string
	rekeyTime, rekeyBytes          uint64
}

func readCharonCfg(t *testing.T, path string) []charonChild {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []charonChild
	var pending []charonChild // children come before their conn's version line
	conn := ""
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		_, line, ok := strings.Cut(sc.Text(), "[CFG] ")
		if !ok {
			continue
		}
		trim := strings.TrimSpace(line)
		indent := len(line) - len(strings.TrimLeft(line, " "))
		switch {
		case indent == 1 && strings.HasPrefix(trim, "conn "):
			out = append(out, pending...)
			pending = nil
			conn = strings.TrimSuffix(strings.TrimPrefix(trim, "conn "), ":")
		case indent == 2 && strings.HasPrefix(trim, "child "):
			pending = append(pending, charonChild{conn: conn, name: strings.TrimSuffix(strings.TrimPrefix(trim, "child "), ":")})
		case indent == 3 && len(pending) > 0:
			k, v, _ := strings.Cut(trim, " = ")
			c := &pending[len(pending)-1]
			switch k {
			case "mode":
				c.mode = v
			case "start_action":
				c.startAction = v
			case "close_action":
				c.closeAction = v
			case "proposals":
				c.proposals = v
			case "local_ts":
				c.localTS = strings.Fields(v)
			case "remote_ts":
				c.remoteTS = strings.Fields(v)
			case "rekey_time":
				c.rekeyTime, _ = strconv.ParseUint(v, 10, 64)
			case "rekey_bytes":
				c.rekeyBytes, _ = strconv.ParseUint(v, 10, 64)
			}
		case indent == 2 && strings.HasPrefix(trim, "version = "):
			n, _ := strconv.Atoi(strings.TrimPrefix(trim, "version = "))
			for i := range pending {
				pending[i].version = n
			}
		}
	}
	return append(out, pending...)
}

// charon's transform names (strongSwan's enum names in its log), mapped by
// hand to ipsecmon's algorithms; independent of the keyword tables.
var charonEnc = map[string]struct {
	enc  algo.Enc
	bits int
}{
	"AES_CBC_128": {algo.EncAESCBC, 128}, "AES_CBC_192": {algo.EncAESCBC, 192}, "AES_CBC_256": {algo.EncAESCBC, 256},
	"AES_GCM_16_128": {algo.EncAESGCM16, 128}, "AES_GCM_16_192": {algo.EncAESGCM16, 192}, "AES_GCM_16_256": {algo.EncAESGCM16, 256},
	"3DES_CBC": {algo.Enc3DESCBC, 0}, "NULL": {algo.EncNull, 0},
}

var charonInteg = map[string]algo.Auth{
	"HMAC_SHA2_256_128": algo.AuthHMACSHA256_128, "HMAC_SHA2_384_192": algo.AuthHMACSHA384_192,
	"HMAC_SHA2_512_256": algo.AuthHMACSHA512_256, "HMAC_SHA1_96": algo.AuthHMACSHA1_96,
	"AES_XCBC_96": algo.AuthAESXCBC96, "HMAC_MD5_96": algo.AuthHMACMD5_96,
}

var charonDH = map[string]uint16{"MODP_1024": 2, "MODP_2048": 14, "MODP_3072": 15, "ECP_256": 19, "ECP_384": 20}

// expandCharon turns "ESP:AES_CBC_128/HMAC_SHA1_96/MODP_2048/NO_EXT_SEQ, ..."
// into methods: every combination, encryption outermost, then integrity,
// then DH group (ipsecmon's documented expansion order); IKEv1 keeps the
// first of each kind.
func expandCharon(t *testing.T, s string, ikev1 bool) []SecurityMethod {
	t.Helper()
	var out []SecurityMethod
	for _, prop := range strings.Split(s, ", ") {
		protoS, algs, _ := strings.Cut(prop, ":")
		proto := uint8(50)
		if protoS == "AH" {
			proto = 51
		}
		type enc struct {
			enc  algo.Enc
			bits int
		}
		var encs []enc
		var integs []algo.Auth
		var dhs []uint16
		for _, a := range strings.Split(algs, "/") {
			if e, ok := charonEnc[a]; ok {
				encs = append(encs, enc{e.enc, e.bits})
			} else if i, ok := charonInteg[a]; ok {
				integs = append(integs, i)
			} else if g, ok := charonDH[a]; ok {
				dhs = append(dhs, g)
			} else if a != "NO_EXT_SEQ" {
				t.Fatalf("charon transform %q not in the test's table", a)
			}
		}
		if ikev1 {
			encs, integs, dhs = first(encs), first(integs), first(dhs)
		}
		if len(encs) == 0 {
			encs = []enc{{}}
		}
		if len(dhs) == 0 {
			dhs = []uint16{0}
		}
		for _, e := range encs {
			is := integs
			if len(is) == 0 {
				is = []algo.Auth{algo.AuthNone}
			}
			for _, i := range is {
				for _, g := range dhs {
					out = append(out, SecurityMethod{Proto: proto, Enc: e.enc, EncKeyBits: e.bits, Auth: i, PFSGroup: g})
				}
			}
		}
	}
	return out
}

// TestSwanctlConfAgainstCharon checks every sample swanctl.conf (ours and
// the lab's) against charon's own reading of it: the children, their modes,
// actions, traffic selectors and proposals.
func TestSwanctlConfAgainstCharon(t *testing.T) {
	confs, _ := filepath.Glob("testdata/swanctl/*.conf")
	lab, _ := filepath.Glob("testdata/swanctl/lab/*.conf")
	confs = append(confs, lab...)
	if len(confs) < 20 {
		t.Fatalf("only %d sample configurations", len(confs))
	}
	for _, conf := range confs {
		t.Run(filepath.Base(conf), func(t *testing.T) {
			set, err := Load(conf)
			if err != nil {
				t.Fatal(err)
			}
			children := readCharonCfg(t, strings.TrimSuffix(conf, ".conf")+".charon-cfg.log")
			if len(children) == 0 {
				t.Fatal("no children in charon's log")
			}
			nfilters := 0
			for _, c := range children {
				name := c.conn + "/" + c.name
				var fs []GenericFilter
				for _, f := range set.Filters {
					if f.Name == name {
						fs = append(fs, f)
					}
				}
				// One filter per local × remote selector.
				var want [][2]trafficSelector
				for _, l := range c.localTS {
					for _, r := range c.remoteTS {
						lt, err1 := parseTS(l)
						rt, err2 := parseTS(r)
						if err1 != nil || err2 != nil {
							t.Fatalf("%s: charon's selectors %q %q: %v %v", name, l, r, err1, err2)
						}
						want = append(want, [2]trafficSelector{lt, rt})
					}
				}
				if len(fs) != len(want) {
					t.Fatalf("%s: %d filters, charon has %d selector pairs", name, len(fs), len(want))
				}
				nfilters += len(fs)
				for i, f := range fs {
					l, r := want[i][0], want[i][1]
					if !l.dynamic && f.Src != l.addr || !r.dynamic && f.Dst != r.addr {
						t.Errorf("%s: filter %s -> %s, charon %v -> %v", name, f.Src, f.Dst, l.addr, r.addr)
					}
					if f.SrcPort != l.ports || f.DstPort != r.ports || f.Proto != max(l.proto, r.proto) {
						t.Errorf("%s: proto/ports %d %v %v, charon %d/%d %v %v", name, f.Proto, f.SrcPort, f.DstPort, l.proto, r.proto, l.ports, r.ports)
					}
					wantAct := map[string]Action{"TUNNEL": ActionNegotiate, "TRANSPORT": ActionNegotiate, "PASS": ActionPermit, "DROP": ActionBlock}[c.mode]
					if f.Inbound != wantAct || f.Outbound != wantAct || !f.Mirrored || !f.LocalSrc {
						t.Errorf("%s: actions %s/%s mirrored %v, charon mode %s", name, f.Inbound, f.Outbound, f.Mirrored, c.mode)
					}
					if f.Tunnel() != (c.mode == "TUNNEL") {
						t.Errorf("%s: tunnel %v, charon mode %s", name, f.Tunnel(), c.mode)
					}
				}
				pol := set.Policy(name)
				if c.mode == "PASS" || c.mode == "DROP" {
					if pol != nil {
						t.Errorf("%s: a shunt has a negotiation policy", name)
					}
					continue
				}
				if pol == nil {
					t.Fatalf("%s: no negotiation policy", name)
				}
				if strings.ToUpper(pol.Mode.String()) != c.mode {
					t.Errorf("%s: mode %s, charon %s", name, pol.Mode, c.mode)
				}
				// charon 5.9 logs close_action = restart as "start".
				ca := pol.CloseAction
				if ca == "restart" {
					ca = "start"
				}
				if pol.StartAction != c.startAction || ca != c.closeAction {
					t.Errorf("%s: start/close %s/%s, charon %s/%s", name, pol.StartAction, pol.CloseAction, c.startAction, c.closeAction)
				}
				want2 := expandCharon(t, c.proposals, c.version == 1)
				if len(pol.Offers) != len(want2) {
					t.Fatalf("%s: %d offers, charon's proposals %q give %d", name, len(pol.Offers), c.proposals, len(want2))
				}
				for i, o := range pol.Offers {
					w := want2[i]
					w.LifeSeconds, w.LifeKBytes = c.rekeyTime, c.rekeyBytes/1024
					if o != w {
						t.Errorf("%s: offer %d = %s, charon %s", name, i, o, w)
					}
				}
			}
			if nfilters != len(set.Filters) {
				t.Errorf("%d filters, charon's children account for %d", len(set.Filters), nfilters)
			}
		})
	}
}

// TestListConnsAgainstConf: `swanctl --list-conns` (strongSwan's rendering
// of the same file) gives the same filters as the file itself, and no offers.
func TestListConnsAgainstConf(t *testing.T) {
	lists, _ := filepath.Glob("testdata/swanctl/*.list-conns.txt")
	lab, _ := filepath.Glob("testdata/swanctl/lab/*.list-conns.txt")
	for _, lc := range append(lists, lab...) {
		t.Run(filepath.Base(lc), func(t *testing.T) {
			fromList, err := Load(lc)
			if err != nil {
				t.Fatal(err)
			}
			fromConf, err := Load(strings.TrimSuffix(lc, ".list-conns.txt") + ".conf")
			if err != nil {
				t.Fatal(err)
			}
			if len(fromList.Filters) != len(fromConf.Filters) {
				t.Fatalf("%d filters, the .conf gives %d", len(fromList.Filters), len(fromConf.Filters))
			}
			for i := range fromList.Filters {
				a, b := fromList.Filters[i], fromConf.Filters[i]
				a.Origin, b.Origin = "", ""
				if a != b {
					t.Errorf("filter %d:\n list-conns %+v\n conf       %+v", i, a, b)
				}
			}
			if len(fromList.Policies) != len(fromConf.Policies) {
				t.Fatalf("%d policies, the .conf gives %d", len(fromList.Policies), len(fromConf.Policies))
			}
			for i, p := range fromList.Policies {
				if p.Name != fromConf.Policies[i].Name || p.Mode != fromConf.Policies[i].Mode || len(p.Offers) != 0 {
					t.Errorf("policy %d: %+v", i, p)
				}
			}
		})
	}
}
