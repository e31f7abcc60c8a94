//go:build tools

// Package tools pins Prometheus 3 (the server) and promtool (rule tests and checks), which
// cluster/addon-monitoring.sh compiles. Both come from the one module, at one version.
package tools

import (
	_ "github.com/prometheus/prometheus/cmd/prometheus"
	_ "github.com/prometheus/prometheus/cmd/promtool"
)
