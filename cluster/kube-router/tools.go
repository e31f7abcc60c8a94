//go:build tools

// Package tools pins kube-router, whose network policy firewall build.sh compiles
// (only its firewall runs: the bridge CNI and kube-proxy stay in charge of the rest).
package tools

import (
	_ "github.com/cloudnativelabs/kube-router/v2/cmd/kube-router"
)
