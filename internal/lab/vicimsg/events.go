package vicimsg

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"
)

// Event is one VICI event as the lab's recorder writes it: a JSON object per
// line, {"time": RFC 3339 with nanoseconds, "event": name, "data": message}.
type Event struct {
	Time time.Time `json:"time"`
	Name string    `json:"event"`
	Data *Section  `json:"data"`
	Line int       `json:"-"`
}

// WriteEvent appends e as one line.
func WriteEvent(w io.Writer, e Event) error {
	b, err := json.Marshal(e)
	if err != nil {
		return err
	}
	b = append(b, '\n')
	_, err = w.Write(b)
	return err
}

// ReadEvents reads a JSON-lines event file; name is used in errors.
func ReadEvents(r io.Reader, name string) ([]Event, error) {
	var out []Event
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 16*1024*1024)
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		if text == "" {
			continue
		}
		var e Event
		if err := json.Unmarshal([]byte(text), &e); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", name, line, err)
		}
		if e.Name == "" {
			return nil, fmt.Errorf("%s:%d: event without a name", name, line)
		}
		if e.Time.IsZero() {
			return nil, fmt.Errorf("%s:%d: event without a time", name, line)
		}
		if e.Data == nil {
			e.Data = NewSection()
		}
		e.Line = line
		out = append(out, e)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s:%d: %w", name, line, err)
	}
	return out, nil
}
