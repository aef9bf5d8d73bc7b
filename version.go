package main

import (
	"fmt"
	"io"
	"runtime"

	"github.com/credvault/credvault/server"
)

// printVersion writes which build this is, one "name: value" a line.
func printVersion(w io.Writer) error {
	b := server.BuildInfo()
	_, err := fmt.Fprintf(w, "version: %s\ncommit:  %s\ndate:    %s\ngo:      %s %s/%s\n",
		b.Version, b.Commit, b.Date, b.GoVersion, runtime.GOOS, runtime.GOARCH)
	return err
}
