package expect

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

// The current results the cases compare with, written by hand in the
// shape of `stats -o json` and `sas -o json`.
const (
	statsNow = `{"active_security_associations":2,"bad_spi_packets":null,
		"notes":{"bad_spi_packets":"needs keys"},"input":{"files":[{"name":"now.pcap"}]},
		"analysis":{"packets":10,"ipsec_packets":8}}`
	sasNow = `[{"spi_in":"0x00000100","spi_out":"0x00000200","packets_in":5,"state":"active"},
		{"spi_in":"0x00000300","spi_out":null,"packets_in":1,"state":"deleted"}]`
	ikeSAsNow = `[{"id":1,"version":"IKEv2","ispi":"0101010101010101","rspi":"0202020202020202","encryption":"AES-CBC-256","state":"rekeyed"},
		{"id":2,"version":"IKEv2","ispi":"0303030303030303","rspi":"0404040404040404","encryption":"AES-CBC-256","state":"established"}]`
	policiesNow = `[{"name":"policy 1","offered":[{"protocol":"ESP","encryption":["AES-GCM-128"]}],"negotiations":[1,2]}]`
)

func compare(t *testing.T, expected string) ([]string, error) {
	t.Helper()
	return Compare([]byte(expected), Current{
		Stats:    func() ([]byte, error) { return []byte(statsNow), nil },
		SAs:      func() ([]byte, error) { return []byte(sasNow), nil },
		IKESAs:   func() ([]byte, error) { return []byte(ikeSAsNow), nil },
		Policies: func() ([]byte, error) { return []byte(policiesNow), nil },
	})
}

func TestCompare(t *testing.T) {
	for _, tc := range []struct {
		name     string
		expected string
		diffs    []string
	}{
		{"the same statistics", statsNow, nil},
		{"only the pinned fields", `{"active_security_associations":2}`, nil},
		{"a figure differs", `{"active_security_associations":3}`,
			[]string{"stats: active_security_associations: expected 3, got 2"}},
		{"unknown is not 0", `{"bad_spi_packets":0}`,
			[]string{"stats: bad_spi_packets: expected 0, got null"}},
		{"a field the result lacks", `{"replay":1}`,
			[]string{`stats: replay: expected 1, not in the result`}},
		// input and notes describe the run (file names, prose), not the traffic.
		{"input and notes are not compared", `{"input":{"files":[{"name":"then.pcap"}]},"notes":{"bad_spi_packets":"other words"}}`, nil},
		{"nested objects field by field", `{"analysis":{"packets":11}}`,
			[]string{"stats: analysis: packets: expected 11, got 10"}},
		{"differences in key order", `{"z":1,"a":2,"active_security_associations":0}`,
			[]string{"stats: a: expected 2, not in the result", "stats: active_security_associations: expected 0, got 2", "stats: z: expected 1, not in the result"}},
		{"the same SA rows", sasNow, nil},
		// Rows pinned by SPIs are found whatever their order.
		{"SA rows in another order", `[{"spi_in":"0x00000300","spi_out":null,"state":"deleted"},{"spi_in":"0x00000100","spi_out":"0x00000200"}]`, nil},
		{"an SA row's field differs", `[{"spi_in":"0x00000100","spi_out":"0x00000200","packets_in":6},{"spi_in":"0x00000300"}]`,
			[]string{"sa in 0x00000100 out 0x00000200: packets_in: expected 6, got 5"}},
		{"an SA row not in the result", `[{"spi_in":"0x00000100","spi_out":"0x00000200"},{"spi_in":"0x00000300"},{"spi_in":"0x00000999"}]`,
			[]string{"sa in 0x00000999 out -: expected, not in the result"}},
		{"an SA row not expected", `[{"spi_in":"0x00000100","spi_out":"0x00000200"}]`,
			[]string{"sa in 0x00000300 out -: in the result, not expected"}},
		// Rows without SPIs are matched by position, and extra result rows
		// are not reported.
		{"rows by position", `[{"state":"active"}]`, nil},
		{"rows by position differ", `[{"state":"active"},{"state":"active"}]`,
			[]string{"sa row 2: state: expected \"active\", got \"deleted\""}},
		{"more rows by position than the result has", `[{},{},{"state":"active"}]`,
			[]string{"sa row 3: expected, not in the result"}},
		{"a row that is not an object", `[1]`, []string{"sa row 1: not an object"}},
		// mmsas rows (they have ispi and rspi) are found by their SPIs.
		{"IKE SA rows in another order", `[{"ispi":"0303030303030303","rspi":"0404040404040404","state":"established"},{"ispi":"0101010101010101","rspi":"0202020202020202"}]`, nil},
		{"an IKE SA's field differs", `[{"ispi":"0101010101010101","rspi":"0202020202020202","encryption":"3DES-192"},{"ispi":"0303030303030303","rspi":"0404040404040404"}]`,
			[]string{`ike sa ispi 0101010101010101 rspi 0202020202020202: encryption: expected "3DES-192", got "AES-CBC-256"`}},
		{"an IKE SA not expected", `[{"ispi":"0101010101010101","rspi":"0202020202020202"}]`,
			[]string{"ike sa ispi 0303030303030303 rspi 0404040404040404: in the result, not expected"}},
		// policies rows (they have offered) by name, nested lists compared whole.
		{"a policy's offers differ", `[{"name":"policy 1","offered":[{"protocol":"ESP","encryption":["AES-GCM-256"]}]}]`,
			[]string{`policy policy 1: offered: expected [{"encryption":["AES-GCM-256"],"protocol":"ESP"}], got [{"encryption":["AES-GCM-128"],"protocol":"ESP"}]`}},
		{"a policy not in the result", `[{"name":"policy 2","offered":[]}]`,
			[]string{"policy policy 2: expected, not in the result", "policy policy 1: in the result, not expected"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			diffs, err := compare(t, tc.expected)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(diffs, tc.diffs) {
				t.Errorf("differences\n  %q\nwant\n  %q", diffs, tc.diffs)
			}
		})
	}
}

func TestCompareErrors(t *testing.T) {
	for _, tc := range []struct{ expected, err string }{
		{`{"a":`, "not JSON from 'ipsecmon ... -o json'"},
		{`"text"`, "expected a JSON object (stats) or array (sas, mmsas, policies)"},
		{`42`, "expected a JSON object (stats) or array (sas, mmsas, policies)"},
	} {
		_, err := compare(t, tc.expected)
		if err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("%s: error %v, want %q", tc.expected, err, tc.err)
		}
	}
	// The current result is produced only for the kind the file holds,
	// and its errors are passed on.
	fail := func() ([]byte, error) { return nil, errors.New("no result") }
	if _, err := Compare([]byte(`{}`), Current{Stats: fail}); err == nil || err.Error() != "no result" {
		t.Errorf("stats producer's error: %v", err)
	}
	if _, err := Compare([]byte(`[]`), Current{SAs: fail}); err == nil || err.Error() != "no result" {
		t.Errorf("SA rows producer's error: %v", err)
	}
}

func TestSummary(t *testing.T) {
	if got := Summary("a.json", nil); got != "expect a.json: no differences" {
		t.Errorf("no differences: %q", got)
	}
	want := "expect a.json: 2 difference(s):\n  one\n  two"
	if got := Summary("a.json", []string{"one", "two"}); got != want {
		t.Errorf("summary %q, want %q", got, want)
	}
}
