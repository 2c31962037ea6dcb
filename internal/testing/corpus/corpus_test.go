package corpus_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/otelsec/emailcompromise/internal/testing/corpus"
)

func TestRepoRootHoldsGoMod(t *testing.T) {
	root := corpus.RepoRoot(t)
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("RepoRoot() = %s, which has no go.mod: %v", root, err)
	}
}

func TestDirIsBesideRepoRoot(t *testing.T) {
	dir := corpus.Dir(t)
	want := filepath.Join(filepath.Dir(corpus.RepoRoot(t)), "shared", "corpus")
	if dir != want {
		t.Fatalf("Dir() = %s, want %s", dir, want)
	}
}

func TestLookupAgreesWithDir(t *testing.T) {
	dir, ok := corpus.Lookup(t)
	if !ok {
		t.Skipf("corpus not found at %s", dir)
	}
	if got := corpus.Dir(t); got != dir {
		t.Fatalf("Dir() = %s, Lookup() = %s", got, dir)
	}
}
