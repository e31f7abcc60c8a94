//go:build tools

// Package tools pins the cluster add-on commands that build.sh compiles:
// helm and metrics-server, both built against the Kubernetes 1.33 client libraries.
package tools

import (
	_ "helm.sh/helm/v3/cmd/helm"
	_ "sigs.k8s.io/metrics-server/cmd/metrics-server"
)
