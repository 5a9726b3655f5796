//go:build !linux

package hosts

import "fmt"

func liveXfrm(spec string) (*Snapshot, error) {
	return nil, fmt.Errorf("hosts: %s: %w: XFRM is Linux only", spec, ErrLiveUnsupported)
}
