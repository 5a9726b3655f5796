package hosts

import (
	"errors"
	"fmt"
	"strings"
)

// ErrLiveUnsupported is returned (wrapped) when a live source cannot be read
// on this host: no XFRM netlink, no VICI socket.
var ErrLiveUnsupported = errors.New("live host source not available")

// Live reads a snapshot from the running host: "live:xfrm" (the kernel's
// SA database over netlink plus /proc/net/xfrm_stat) or "live:vici" /
// "live:vici=/path/to/charon.vici" (strongSwan's list-sas over VICI).
func Live(spec string) (*Snapshot, error) {
	rest, ok := strings.CutPrefix(spec, "live:")
	if !ok {
		return nil, fmt.Errorf("hosts: %q is not a live source (want live:xfrm or live:vici[=SOCKET])", spec)
	}
	kind, arg, _ := strings.Cut(rest, "=")
	switch kind {
	case "xfrm":
		if arg != "" {
			return nil, fmt.Errorf("hosts: live:xfrm takes no argument")
		}
		return liveXfrm(spec)
	case "vici":
		return liveVici(spec, arg)
	}
	return nil, fmt.Errorf("hosts: unknown live source %q (want live:xfrm or live:vici[=SOCKET])", spec)
}
