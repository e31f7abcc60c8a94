//go:build tools

// Package tools pins KEDA's operator, metrics API server (adapter) and admission
// webhooks, which cluster/addon-keda.sh compiles.
package tools

import (
	_ "github.com/kedacore/keda/v2/cmd/adapter"
	_ "github.com/kedacore/keda/v2/cmd/operator"
	_ "github.com/kedacore/keda/v2/cmd/webhooks"
)
