//go:build tools

// Package tools pins the Prometheus Operator and its config reloader, which
// cluster/addon-monitoring.sh compiles. Upstream's go.mod replaces its nested modules
// (pkg/apis/monitoring, pkg/client) with local paths, which `go install MODULE@VERSION`
// refuses; this module requires all three at the same tag instead.
package tools

import (
	_ "github.com/prometheus-operator/prometheus-operator/cmd/operator"
	_ "github.com/prometheus-operator/prometheus-operator/cmd/prometheus-config-reloader"
)
