// Package deploy holds the Kubernetes manifests of tencent_live_exporter
// (kubernetes/) and the tests that decode them into the real Kubernetes
// and prometheus-operator types. It is a module of its own so that those
// types never become dependencies of the exporter.
package deploy
