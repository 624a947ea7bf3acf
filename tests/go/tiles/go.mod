module escalation-ledger/tests/go/tiles

go 1.19

require golang.org/x/mod v0.7.0

// Debian's golang-golang-x-mod-dev (0.7.0-1), installed by .ci/run: the
// tests need no module proxy.
replace golang.org/x/mod => /usr/share/gocode/src/golang.org/x/mod
