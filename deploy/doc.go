// Package deploy holds the Kubernetes manifests of tencent_live_exporter
// (kubernetes/, kustomize overlays) and its Helm chart
// (helm/tencent-live-exporter/), and the tests that render both with
// kustomize's and Helm's own libraries and decode every object into the
// real Kubernetes and prometheus-operator types. It is a module of its own
// so that those libraries and types never become dependencies of the
// exporter.
package deploy
