//go:build tools

// Package tools pins the Ollama server that the LLM tests run against
// (.ci/build-ollama builds it; nothing here is shipped).
package tools

import _ "github.com/ollama/ollama"
