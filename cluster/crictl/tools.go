//go:build tools

// Package tools pins crictl (cri-tools v1.34.0, the oldest release the Go proxy
// serves here; it speaks CRI v1 like containerd 1.6). down.sh uses it to remove
// pod sandboxes through CRI so that CNI tears down veths and IP leases.
package tools

import _ "sigs.k8s.io/cri-tools/cmd/crictl"
