package main

import (
	"runtime/debug"
	"strings"
	"time"

	"github.com/prometheus/common/version"
)

// promuDateLayout is how make and promu stamp version.BuildDate.
const promuDateLayout = "20060102-15:04:05"

// stampVersion fills in, from what Go records in every binary, the parts
// of the version stamp the linker did not set: `go run .`, `go install
// …@version` and a plain `go build` pass no -X flags. The version is the
// module's (v0.1.0 from go install, a pseudo-version from go build in a
// checkout) or "devel"; the revision and date are the commit's, when Go
// recorded it (go build and go install in a git checkout; not go run).
// Whatever make or promu stamped stays.
func stampVersion(bi *debug.BuildInfo, ok bool) {
	settings := map[string]string{}
	mainVersion := ""
	if ok && bi != nil {
		mainVersion = bi.Main.Version
		for _, s := range bi.Settings {
			settings[s.Key] = s.Value
		}
	}
	if version.Version == "" {
		version.Version = "devel"
		if mainVersion != "" && mainVersion != "(devel)" {
			version.Version = strings.TrimPrefix(mainVersion, "v")
		}
	}
	if version.Revision == "" {
		if rev := settings["vcs.revision"]; rev != "" {
			if settings["vcs.modified"] == "true" {
				rev += "-modified"
			}
			version.Revision = rev
		}
	}
	if version.BuildDate == "" {
		if t, err := time.Parse(time.RFC3339, settings["vcs.time"]); err == nil {
			version.BuildDate = t.UTC().Format(promuDateLayout)
		}
	}
	if version.Branch == "" {
		version.Branch = "unknown"
	}
}

// userAgent is what the exporter calls itself upstream.
func userAgent() string { return exporterName + "/" + version.Version }
