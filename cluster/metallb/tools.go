//go:build tools

// Package tools pins MetalLB's controller (assigns LoadBalancer addresses from an
// IPAddressPool) and speaker (announces them in L2 mode), which build.sh compiles.
package tools

import (
	_ "go.universe.tf/metallb/controller"
	_ "go.universe.tf/metallb/speaker"
)
