package main

import (
	"bytes"
	"cmp"
	"crypto/tls"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"os"
	"time"
)

// healthcheck asks the server on this machine for /health and fails unless
// it answers 200 in time: the container image's HEALTHCHECK, which has no
// curl. The port is that of CREDVAULT_ADDR; a server listening on every
// interface is asked on 127.0.0.1; with CREDVAULT_TLS_CERT, over https.
func healthcheck(args []string, getenv func(string) string) error {
	fs := flag.NewFlagSet("healthcheck", flag.ContinueOnError)
	addr := fs.String("addr", cmp.Or(getenv("CREDVAULT_ADDR"), ":8080"), "the server's listen address")
	certFile := fs.String("tls-cert", getenv("CREDVAULT_TLS_CERT"), "the server's TLS certificate: ask over https, trusting it alone")
	timeout := fs.Duration("timeout", 5*time.Second, "how long the server has to answer")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("healthcheck: unexpected argument %q", fs.Arg(0))
	}
	host, port, err := net.SplitHostPort(*addr)
	if err != nil {
		return fmt.Errorf("healthcheck: CREDVAULT_ADDR: %w", err)
	}
	if ip, err := netip.ParseAddr(host); host == "" || (err == nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	// No proxy: the server is on this machine.
	transport := &http.Transport{}
	scheme := "http"
	if *certFile != "" {
		scheme = "https"
		if transport.TLSClientConfig, err = pinnedTLS(*certFile); err != nil {
			return fmt.Errorf("healthcheck: CREDVAULT_TLS_CERT: %w", err)
		}
	}
	url := scheme + "://" + net.JoinHostPort(host, port) + "/health"
	client := &http.Client{Transport: transport, Timeout: *timeout}
	resp, err := client.Get(url)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("healthcheck: %s answered %s", url, resp.Status)
	}
	return nil
}

// pinnedTLS trusts the certificate in certFile alone, whatever names it
// holds: the server is asked by address, and must show its own certificate.
func pinnedTLS(certFile string) (*tls.Config, error) {
	raw, err := os.ReadFile(certFile)
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode(raw)
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, fmt.Errorf("%s does not start with a PEM certificate", certFile)
	}
	return &tls.Config{
		// The chain and the name are not verified: the pin below is.
		InsecureSkipVerify: true,
		VerifyConnection: func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 || !bytes.Equal(cs.PeerCertificates[0].Raw, block.Bytes) {
				return errors.New("the server's certificate is not the one in CREDVAULT_TLS_CERT")
			}
			return nil
		},
	}, nil
}
