module ipsecmon

go 1.26.0

require (
	github.com/dustin/go-humanize v1.1.0 // indirect
	github.com/google/gopacket v1.1.19 // indirect
	github.com/spf13/pflag v1.1.0 // indirect
	github.com/strongswan/govici v0.8.0
	golang.org/x/crypto v0.59.0 // indirect
	golang.org/x/sys v0.50.0 // indirect
	golang.org/x/term v0.48.0 // indirect
)
