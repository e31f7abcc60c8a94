//go:build tools

// Package tools pins VictoriaLogs, the log store of the hermetic cluster's logs add-on.
package tools

import _ "github.com/VictoriaMetrics/VictoriaLogs/app/victoria-logs"
