// Package fails is a fixture of testsummary: a test that fails.
package fails

import "testing"

func TestFails(t *testing.T) { t.Error("the failure shows") }

func TestSkips(t *testing.T) { t.Skip("skipped beside a failure") }
