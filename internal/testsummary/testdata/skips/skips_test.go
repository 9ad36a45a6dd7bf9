// Package skips is a fixture of testsummary: tests that pass and skip,
// run by TestMakeListsSkips through the Makefile.
package skips

import "testing"

func TestPasses(t *testing.T) { t.Log("passing tests print nothing") }

func TestNeedsPromtool(t *testing.T) {
	t.Skip("promtool not found in PATH (install the Debian package prometheus); skipping because CI is unset")
}

func TestTable(t *testing.T) {
	t.Run("needs chromium", func(t *testing.T) {
		t.Skipf("chromium not found in PATH (install the Debian package %s); skipping because CI is unset", "chromium")
	})
	t.Run("runs", func(t *testing.T) {})
}
