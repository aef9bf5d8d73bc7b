package server

import (
	"runtime/debug"
	"testing"
)

// TestResolveBuild checks how a build names itself: stamped values win;
// unstamped, the commit and date come from the VCS settings the go command
// recorded, "-dirty" marking a modified tree, and the version from the
// module; what nothing names is "unknown".
func TestResolveBuild(t *testing.T) {
	t.Parallel()
	const rev = "0123456789abcdef0123456789abcdef01234567"
	vcs := func(modified string) *debug.BuildInfo {
		return &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: []debug.BuildSetting{
			{Key: "vcs", Value: "git"}, {Key: "vcs.revision", Value: rev},
			{Key: "vcs.time", Value: "2026-11-30T10:00:00Z"}, {Key: "vcs.modified", Value: modified},
		}}
	}
	stamped := Build{Version: "v1.2.3", Commit: "abc", Date: "2026-12-01T00:00:00Z", GoVersion: "go1.26.8"}
	unstamped := Build{Version: "dev", GoVersion: "go1.26.8"}
	for _, tc := range []struct {
		name string
		b    Build
		info *debug.BuildInfo
		want Build
	}{
		{"stamped", stamped, vcs("true"), stamped},
		{"clean checkout", unstamped, vcs("false"), Build{"dev", rev, "2026-11-30T10:00:00Z", "go1.26.8"}},
		{"modified checkout", unstamped, vcs("true"), Build{"dev", rev + "-dirty", "2026-11-30T10:00:00Z", "go1.26.8"}},
		{"stamped version, commit from git", Build{Version: "v2.0.0", GoVersion: "go1.26.8"}, vcs("false"),
			Build{"v2.0.0", rev, "2026-11-30T10:00:00Z", "go1.26.8"}},
		{"go install of a version", unstamped, &debug.BuildInfo{Main: debug.Module{Version: "v1.4.0"}},
			Build{"v1.4.0", "unknown", "unknown", "go1.26.8"}},
		{"nothing recorded", unstamped, &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}},
			Build{"dev", "unknown", "unknown", "go1.26.8"}},
		{"no build info", unstamped, nil, Build{"dev", "unknown", "unknown", "go1.26.8"}},
	} {
		if got := resolveBuild(tc.b, tc.info); got != tc.want {
			t.Errorf("%s: %+v, want %+v", tc.name, got, tc.want)
		}
	}
}
