package pipeline_test

import (
	"bytes"
	"errors"
	"io"
	"path/filepath"
	"testing"

	"ipsecmon/analyzer"
	"ipsecmon/capture"
	"ipsecmon/internal/benchgen"
	"ipsecmon/keys"
	"ipsecmon/pipeline"
)

// scribbler serves frames the way a chunked reader does, and holds the
// Releaser contract to the letter: once released, a frame's bytes are
// overwritten, as a chunk read into again would be.
type scribbler struct {
	name      string
	frames    []capture.Frame
	next      int
	released  int
	releasing bool
}

func (s *scribbler) Name() string { return s.name }
func (s *scribbler) Close() error { return nil }

func (s *scribbler) Next(f *capture.Frame) error {
	if s.next == len(s.frames) {
		return io.EOF
	}
	*f = s.frames[s.next]
	f.Index, f.Kept = s.next+1, s.releasing
	s.next++
	return nil
}

func (s *scribbler) Release(index int) {
	s.releasing = true
	for ; s.released < min(index, s.next); s.released++ {
		i := s.released
		for k := range s.frames[i].Data {
			s.frames[i].Data[k] = 0xa5
		}
	}
}

// TestKeptFramesReleased: frames are released only once no worker holds
// them, also when the next source has the same name and its frames'
// numbers start again below those still held from the one before (an
// earlier pipeline released the new source's frames by the old one's
// numbers). Every packet must verify with 2 workers as with 1.
func TestKeptFramesReleased(t *testing.T) {
	dir := t.TempDir()
	path, keyFile := filepath.Join(dir, "k.pcap"), filepath.Join(dir, "k.txt")
	frames, _, err := benchgen.WriteKeyed(path, keyFile, benchgen.Spec{Packets: 20000, Pairs: 20})
	if err != nil {
		t.Fatal(err)
	}
	ks, err := keys.Load(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	src, err := capture.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	var all []capture.Frame
	for {
		var f capture.Frame
		if err := src.Next(&f); err != nil {
			if !errors.Is(err, io.EOF) {
				t.Fatal(err)
			}
			break
		}
		f.Data = bytes.Clone(f.Data)
		all = append(all, f)
	}
	src.Close()
	if len(all) != frames {
		t.Fatalf("read %d frames, want %d", len(all), frames)
	}
	verified := map[int]uint64{}
	for _, w := range []int{1, 2} {
		an := analyzer.New(analyzer.Config{Keys: ks, Workers: w})
		run := pipeline.New(an, pipeline.Options{})
		// Two halves of the capture, as two files of one name.
		for _, half := range [][]capture.Frame{all[:frames/2], all[frames/2:]} {
			s := &scribbler{name: "same.pcap"}
			for _, f := range half {
				f.Data = bytes.Clone(f.Data)
				s.frames = append(s.frames, f)
			}
			if err := run.Source(s); err != nil {
				t.Fatal(err)
			}
		}
		run.Finish()
		for _, sa := range an.SAs() {
			verified[w] += sa.Accepted - sa.Unverified
			if sa.NotAuthenticated > 0 {
				t.Errorf("%d workers: %v: %d packets not authenticated: their bytes were released while held", w, sa.Key, sa.NotAuthenticated)
			}
		}
	}
	if verified[1] != uint64(frames) || verified[2] != uint64(frames) {
		t.Errorf("verified %d with 1 worker and %d with 2, want %d each", verified[1], verified[2], frames)
	}
}
