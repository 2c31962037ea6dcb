//go:build tools

// Package lint pins the linters that `make lint` builds into ./bin. It is a
// module of its own, apart from internal/tools, so that staticcheck's
// golang.org/x/tools never moves mdatagen's dependencies (nor the product's),
// and so that CI downloads only what the linters need. doccheck/ is the
// project's own checker of doc comments.
package lint

import (
	_ "honnef.co/go/tools/cmd/staticcheck"
)
