//go:build tools

// Package tools pins the OpenTelemetry Collector builder (ocb) that addon-logs.sh runs
// on ../otelcol-builder.yaml to make the log collector of the hermetic cluster.
package tools

import _ "go.opentelemetry.io/collector/cmd/builder"
