//go:build benchprofile

package main

import (
	"log/slog"
	"net/http"
	_ "net/http/pprof" // the profiles the load harness reads
	"os"
)

// The load harness (bench/run.sh) builds the server with the benchprofile
// tag to profile it under load: net/http/pprof on
// CREDVAULT_BENCH_PPROF_ADDR, a listener of its own, which builds without
// the tag do not have.
func init() {
	addr := os.Getenv("CREDVAULT_BENCH_PPROF_ADDR")
	if addr == "" {
		return
	}
	go func() {
		if err := http.ListenAndServe(addr, nil); err != nil {
			slog.Error("benchprofile: pprof listener", "addr", addr, "err", err)
		}
	}()
}
