// Package vicirec records charon's VICI events (IKE and CHILD SA up/down and
// rekey) as JSON lines, so that the counters of SAs deleted before the end
// of a lab run are kept: `swanctl --list-sas` only shows SAs still alive.
package vicirec

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/strongswan/govici/vici"

	"ipsecmon/internal/lab/vicimsg"
)

// Events are the events the lab records. child-updown and ike-updown with
// up=no carry the final counters of SAs deleted explicitly or with their
// IKE SA; child-rekey carries those of the SA a rekey replaced.
var Events = []string{"ike-updown", "ike-rekey", "child-updown", "child-rekey"}

// Record connects to the VICI socket, subscribes to events, writes a
// "recorder-start" line once subscribed (so a script can wait for it) and
// then one line per event until ctx is cancelled or charon goes away.
func Record(ctx context.Context, socket string, w io.Writer, events []string) error {
	var sess *vici.Session
	var err error
	// charon creates its socket a moment after it starts.
	for range 100 {
		sess, err = vici.NewSession(vici.WithSocketPath(socket))
		if err == nil {
			break
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	if err != nil {
		return fmt.Errorf("vici %s: %w", socket, err)
	}
	defer sess.Close()
	ch := make(chan vici.Event, 1024)
	sess.NotifyEvents(ch)
	if err := sess.Subscribe(events...); err != nil {
		return fmt.Errorf("vici %s: subscribe: %w", socket, err)
	}
	if err := vicimsg.WriteEvent(w, vicimsg.Event{Time: time.Now(), Name: "recorder-start", Data: vicimsg.NewSection()}); err != nil {
		return err
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-ch:
			if !ok {
				return nil // charon stopped
			}
			data, err := convert(ev.Message, 0)
			if err != nil {
				return fmt.Errorf("event %s: %w", ev.Name, err)
			}
			if err := vicimsg.WriteEvent(w, vicimsg.Event{Time: ev.Timestamp, Name: ev.Name, Data: data}); err != nil {
				return err
			}
		}
	}
}

func convert(m *vici.Message, depth int) (*vicimsg.Section, error) {
	if depth > 64 {
		return nil, fmt.Errorf("message nested too deeply")
	}
	out := vicimsg.NewSection()
	if m == nil {
		return out, nil
	}
	for _, k := range m.Keys() {
		switch v := m.Get(k).(type) {
		case string:
			out.Set(k, v)
		case []string:
			out.Set(k, append([]string{}, v...))
		case *vici.Message:
			sub, err := convert(v, depth+1)
			if err != nil {
				return nil, err
			}
			out.Set(k, sub)
		default:
			return nil, fmt.Errorf("key %q: unexpected value type %T", k, v)
		}
	}
	return out, nil
}

// maxConns bounds the connections ListConns takes (the lab loads one).
const maxConns = 256

// ListConns writes the daemon's loaded connections (VICI list-conns, one
// "list-conn" event per connection) as event lines. It subscribes to the
// events and then sends the command, rather than using govici's streaming
// call: govici v0.8.0 hands a streaming call its events and the command's
// reply on two channels and selects between them, so when both are ready
// the reply can win and the events are lost (seen in the lab: 1 call in
// 40 returned no connection). Subscribed events are dispatched by govici's
// reader in arrival order, before it passes on the reply.
func ListConns(ctx context.Context, socket string, w io.Writer) error {
	sess, err := vici.NewSession(vici.WithSocketPath(socket))
	if err != nil {
		return fmt.Errorf("vici %s: %w", socket, err)
	}
	defer sess.Close()
	ch := make(chan vici.Event, maxConns+1)
	sess.NotifyEvents(ch)
	if err := sess.Subscribe("list-conn"); err != nil {
		return fmt.Errorf("vici %s: subscribe: %w", socket, err)
	}
	if _, err := sess.Call(ctx, "list-conns", nil); err != nil {
		return fmt.Errorf("vici %s: list-conns: %w", socket, err)
	}
	if len(ch) > maxConns {
		return fmt.Errorf("vici %s: more than %d connections", socket, maxConns)
	}
	for len(ch) > 0 {
		ev := <-ch
		data, err := convert(ev.Message, 0)
		if err != nil {
			return fmt.Errorf("list-conn: %w", err)
		}
		if err := vicimsg.WriteEvent(w, vicimsg.Event{Time: ev.Timestamp, Name: ev.Name, Data: data}); err != nil {
			return err
		}
	}
	return nil
}
