package server

import (
	"runtime"
	"runtime/debug"
	"sync"
)

// The build's version, commit and date, stamped by a release build:
//
//	go build -ldflags "-X github.com/credvault/credvault/server.Version=v1.4.0
//	  -X github.com/credvault/credvault/server.Commit=$(git rev-parse HEAD)
//	  -X github.com/credvault/credvault/server.BuildDate=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
//
// Left unstamped, Commit and BuildDate are what the go command recorded
// of the git checkout it built (see BuildInfo).
var (
	Version   = "dev"
	Commit    string
	BuildDate string
)

// Build names the running build.
type Build struct {
	Version, Commit, Date, GoVersion string
}

// BuildInfo is the running build: what was stamped, completed by what the
// go command recorded (see resolveBuild).
var BuildInfo = sync.OnceValue(func() Build {
	info, _ := debug.ReadBuildInfo()
	return resolveBuild(Build{Version: Version, Commit: Commit, Date: BuildDate, GoVersion: runtime.Version()}, info)
})

// resolveBuild completes the stamped b from info (nil when the binary has
// none): the module version for a "dev" version, and the VCS revision,
// time and modified flag the go command records when it builds a git
// checkout ("-dirty" marking uncommitted changes); "unknown" where neither
// says.
func resolveBuild(b Build, info *debug.BuildInfo) Build {
	if info == nil {
		info = &debug.BuildInfo{}
	}
	if b.Version == "dev" && info.Main.Version != "" && info.Main.Version != "(devel)" {
		b.Version = info.Main.Version
	}
	vcs := map[string]string{}
	for _, s := range info.Settings {
		vcs[s.Key] = s.Value
	}
	if b.Commit == "" && vcs["vcs.revision"] != "" {
		b.Commit = vcs["vcs.revision"]
		if vcs["vcs.modified"] == "true" {
			b.Commit += "-dirty"
		}
	}
	if b.Date == "" {
		b.Date = vcs["vcs.time"]
	}
	for _, v := range []*string{&b.Commit, &b.Date} {
		if *v == "" {
			*v = "unknown"
		}
	}
	return b
}
