// Command gendoc writes ipsecmon's man page and shell completions from the
// help texts of a built binary (make install runs it on the one it installs):
//
//	go run ./internal/helpdoc/gendoc -bin bin/ipsecmon -man ipsecmon.1 -bash ipsecmon -zsh _ipsecmon
package main

import (
	"flag"
	"fmt"
	"io"
	"os"

	"ipsecmon/internal/helpdoc"
)

func main() {
	bin := flag.String("bin", "bin/ipsecmon", "the binary whose help texts to read")
	man := flag.String("man", "", "write the man page to this file")
	bash := flag.String("bash", "", "write the bash completion to this file")
	zsh := flag.String("zsh", "", "write the zsh completion to this file")
	flag.Parse()
	d, err := helpdoc.Load(*bin)
	if err != nil {
		fmt.Fprintln(os.Stderr, "gendoc:", err)
		os.Exit(1)
	}
	for _, out := range []struct {
		path  string
		write func(io.Writer) error
	}{{*man, d.WriteMan}, {*bash, d.WriteBash}, {*zsh, d.WriteZsh}} {
		if out.path == "" {
			continue
		}
		if err := write(out.path, out.write); err != nil {
			fmt.Fprintln(os.Stderr, "gendoc:", err)
			os.Exit(1)
		}
	}
}

func write(path string, w func(io.Writer) error) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := w(f); err != nil {
		f.Close()
		return fmt.Errorf("%s: %w", path, err)
	}
	return f.Close()
}
