//go:build tools

// etcd, kube-apiserver and kube-controller-manager for the control-plane tests: a consumer
// module requiring k8s.io/kubernetes with every staging module replaced by its published
// v0.35.1 (go.mod). .ci/build-controlplane builds them.

package tools

import (
	_ "go.etcd.io/etcd/server/v3"
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
)
