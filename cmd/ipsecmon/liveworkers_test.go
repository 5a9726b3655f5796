package main

import (
	"runtime"
	"testing"

	"github.com/spf13/pflag"
)

// A live run leaves one core to the kernel's delivery unless --workers says
// otherwise; a run over files keeps every core. The expected counts follow
// from runtime.NumCPU and the flags given, not from the code under test.
func TestLiveWorkersDefault(t *testing.T) {
	cores := runtime.NumCPU()
	allButOne := cores - 1
	if allButOne < 1 {
		allButOne = 1
	}
	for _, tt := range []struct {
		name string
		args []string
		want int
	}{
		{"file", []string{"-r", "x.pcap"}, cores},
		{"file --workers 3", []string{"-r", "x.pcap", "--workers", "3"}, 3},
		{"live", []string{"-i", "lo"}, allButOne},
		{"live --workers 3", []string{"-i", "lo", "--workers", "3"}, 3},
		{"live --workers 2", []string{"-i", "lo", "--workers", "2"}, 2},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var in inputFlags
			var lf liveFlags
			fs := pflag.NewFlagSet("stats", pflag.ContinueOnError)
			in.register(fs)
			lf.register(fs)
			if err := fs.Parse(tt.args); err != nil {
				t.Fatal(err)
			}
			cfg, _, _, err := in.config(fs.Args(), lf.live())
			if err != nil {
				t.Fatal(err)
			}
			if err := lf.apply(&cfg, fs); err != nil {
				t.Fatal(err)
			}
			if cfg.Workers != tt.want {
				t.Errorf("workers %d, want %d (%d cores)", cfg.Workers, tt.want, cores)
			}
		})
	}
	for cores, want := range map[int]int{1: 1, 2: 1, 8: 7} {
		if got := liveWorkers(cores); got != want {
			t.Errorf("liveWorkers(%d) = %d, want %d", cores, got, want)
		}
	}
}
