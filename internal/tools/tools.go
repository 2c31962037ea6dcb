//go:build tools

// Package tools pins the code generators the project uses. It is a separate
// module so that mdatagen's own dependencies never enter the product's go.mod;
// CI does not need it because the generated code is committed.
package tools

import (
	_ "go.opentelemetry.io/collector/cmd/mdatagen"
)
