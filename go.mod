module ipsecmon

go 1.26.0

require github.com/strongswan/govici v0.8.0
