// Package packaging holds the tests of what is shipped: the binary built
// as the Dockerfile builds it (version and commit stamped, static, its
// version and healthcheck commands, secrets read from files), the
// container image where a Docker daemon answers, and the systemd unit.
package packaging
