package main

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/dustin/go-humanize"
	"golang.org/x/term"

	"ipsecmon/capture"
)

// progressThreshold: smaller inputs finish before a bar would be read.
const progressThreshold = 4 << 20

// startProgress draws a progress line on stderr while src is read, when
// stderr is a terminal and the input is big enough; the returned func stops it.
func startProgress(src capture.Source, stderr io.Writer, quiet bool) func() {
	p, ok := src.(capture.Progress)
	f, isFile := stderr.(*os.File)
	if quiet || !ok || !isFile || !term.IsTerminal(int(f.Fd())) {
		return func() {}
	}
	if _, total := p.Position(); total < progressThreshold {
		return func() {}
	}
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(200 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				fmt.Fprintf(stderr, "\r\033[K")
				return
			case <-t.C:
				n, total := p.Position()
				fmt.Fprintf(stderr, "\r\033[K%s: %3.0f%% (%s of %s)", src.Name(), 100*float64(n)/float64(total), humanize.Bytes(uint64(n)), humanize.Bytes(uint64(total)))
			}
		}
	}()
	return func() { close(done); <-finished }
}
