// Package corpus locates the shared vendor-sample corpus that tests read.
//
// The corpus lives outside the repository (it is shared between work trees
// and CI gets a copy beside the clone), so tests find it relative to the
// repository root rather than to their own package directory.
package corpus

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// moduleLine identifies this repository's go.mod; matching the module path
// keeps the walk from stopping at a nested or vendored go.mod.
const moduleLine = "module github.com/otelsec/emailcompromise"

// RepoRoot returns the repository root: the nearest directory at or above the
// working directory whose go.mod starts with this module's path. It fails the
// test if there is none, since no test can locate its inputs without it.
func RepoRoot(tb testing.TB) string {
	tb.Helper()
	wd, err := os.Getwd()
	if err != nil {
		tb.Fatalf("corpus: working directory: %v", err)
	}
	for dir := wd; ; {
		if firstLine(filepath.Join(dir, "go.mod")) == moduleLine {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			tb.Fatalf("corpus: no go.mod starting with %q at or above %s", moduleLine, wd)
		}
		dir = parent
	}
}

// Dir returns the corpus directory, <root>/../shared/corpus. When it is
// missing the test is skipped, because developers may work without the
// corpus; under CI=true it fails instead, so that CI cannot pass by silently
// skipping every corpus-backed test.
func Dir(tb testing.TB) string {
	tb.Helper()
	dir, ok := Lookup(tb)
	if !ok {
		if os.Getenv("CI") == "true" {
			tb.Fatalf("corpus not found at %s", dir)
		}
		tb.Skipf("corpus not found at %s", dir)
	}
	return dir
}

// Lookup returns where the corpus should be and whether it is there, for
// callers that can do without it (fuzz seeds, benchmarks with built-in
// samples) and so must neither skip nor fail.
func Lookup(tb testing.TB) (dir string, ok bool) {
	tb.Helper()
	dir = filepath.Join(filepath.Dir(RepoRoot(tb)), "shared", "corpus")
	info, err := os.Stat(dir)
	return dir, err == nil && info.IsDir()
}

// firstLine returns the first line of the named file without surrounding
// space, or "" if the file cannot be read.
func firstLine(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	if !sc.Scan() {
		return ""
	}
	return strings.TrimSpace(sc.Text())
}

// GlobEscape makes a path a glob that matches only itself (corpus names
// contain brackets and parentheses), for the receiver's include patterns.
func GlobEscape(path string) string {
	var b strings.Builder
	for _, r := range path {
		if strings.ContainsRune(`*?[\`, r) {
			b.WriteRune('[')
			b.WriteRune(r)
			b.WriteRune(']')
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}
