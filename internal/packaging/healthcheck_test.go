package packaging_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestHealthcheckCommand checks `credvault healthcheck`, the image's
// HEALTHCHECK, against servers on this machine: exit 0 for a 200 from
// /health (over https too, trusting CREDVAULT_TLS_CERT's certificate
// whatever its names); exit 1, saying why, for another status, another
// path's answer, a closed port, an answer slower than --timeout, another
// certificate, or a malformed address.
func TestHealthcheckCommand(t *testing.T) {
	t.Parallel()
	bin := stampedBinary(t)
	health := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/health" {
			http.NotFound(w, r)
			return
		}
		w.WriteHeader(http.StatusOK)
	})
	serve := func(h http.Handler) string {
		srv := httptest.NewServer(h)
		t.Cleanup(srv.Close)
		return srv.Listener.Addr().String()
	}
	ok := serve(health)
	failing := serve(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	slow := serve(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(5 * time.Second):
		case <-r.Context().Done():
		}
	}))
	tlsSrv := httptest.NewUnstartedServer(health)
	// The refused handshake of "another certificate" is expected: unlogged.
	tlsSrv.Config.ErrorLog = log.New(io.Discard, "", 0)
	tlsSrv.StartTLS()
	t.Cleanup(tlsSrv.Close)
	dir := t.TempDir()
	serverCert := writePEM(t, filepath.Join(dir, "server.pem"), tlsSrv.Certificate().Raw)
	otherCert := writePEM(t, filepath.Join(dir, "other.pem"), selfSigned(t))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()
	port := func(addr string) string { return addr[strings.LastIndex(addr, ":")+1:] }

	for _, tc := range []struct {
		name    string
		env     []string
		args    []string
		code    int
		wantErr string
	}{
		{"200 on every interface's port", []string{"CREDVAULT_ADDR=:" + port(ok)}, nil, 0, ""},
		{"200 on 0.0.0.0", []string{"CREDVAULT_ADDR=0.0.0.0:" + port(ok)}, nil, 0, ""},
		{"200 by flag", nil, []string{"--addr", ok}, 0, ""},
		{"the flag wins", []string{"CREDVAULT_ADDR=" + closed}, []string{"--addr", ok}, 0, ""},
		{"200 over https with the server's certificate", []string{"CREDVAULT_ADDR=" + tlsSrv.Listener.Addr().String(),
			"CREDVAULT_TLS_CERT=" + serverCert}, nil, 0, ""},
		{"503", []string{"CREDVAULT_ADDR=" + failing}, nil, 1, "503 Service Unavailable"},
		{"closed port", []string{"CREDVAULT_ADDR=" + closed}, nil, 1, "connection refused"},
		{"slower than the timeout", []string{"CREDVAULT_ADDR=" + slow}, []string{"--timeout", "300ms"}, 1, "Timeout"},
		{"another certificate", []string{"CREDVAULT_ADDR=" + tlsSrv.Listener.Addr().String(),
			"CREDVAULT_TLS_CERT=" + otherCert}, nil, 1, "not the one in CREDVAULT_TLS_CERT"},
		{"https to a plain server", []string{"CREDVAULT_ADDR=" + ok, "CREDVAULT_TLS_CERT=" + serverCert}, nil, 1, "healthcheck:"},
		{"certificate file missing", []string{"CREDVAULT_ADDR=" + ok, "CREDVAULT_TLS_CERT=" + filepath.Join(dir, "none.pem")}, nil, 1, "CREDVAULT_TLS_CERT"},
		{"address without a port", []string{"CREDVAULT_ADDR=localhost"}, nil, 1, "CREDVAULT_ADDR"},
		{"stray argument", []string{"CREDVAULT_ADDR=" + ok}, []string{"now"}, 1, "unexpected argument"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var env []string
			for _, kv := range os.Environ() {
				if !strings.HasPrefix(kv, "CREDVAULT_") {
					env = append(env, kv)
				}
			}
			code, stderr := run(t, bin, append(env, tc.env...), append([]string{"healthcheck"}, tc.args...)...)
			if code != tc.code || !strings.Contains(stderr, tc.wantErr) {
				t.Errorf("exit %d, stderr %q; want %d and %q", code, stderr, tc.code, tc.wantErr)
			}
		})
	}
}

func writePEM(t *testing.T, path string, der []byte) string {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// selfSigned is a certificate for 127.0.0.1 that no server here holds.
func selfSigned(t *testing.T) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "other"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}
