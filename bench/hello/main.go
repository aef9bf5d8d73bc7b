// Command hello is the baseline of the load benchmarks: the smallest Go
// HTTP server, measured on the same machine in the same run as CredVault.
package main

import (
	"flag"
	"log"
	"net/http"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:18081", "listen address")
	flag.Parse()
	http.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		_, _ = w.Write([]byte("hello, world\n"))
	})
	log.Fatal(http.ListenAndServe(*addr, nil))
}
