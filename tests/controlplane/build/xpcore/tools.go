//go:build tools

// Crossplane core (`crossplane core init|start`) from the same module graph as the CLI:
// .ci/build-controlplane builds it with tests/tools/crossplane's go.mod and go.sum.
package tools

import _ "github.com/crossplane/crossplane/v2/cmd/crossplane"
