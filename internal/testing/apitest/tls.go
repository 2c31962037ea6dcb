package apitest // import "github.com/otelsec/emailcompromise/internal/testing/apitest"

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// ServerOption changes how a fake server is served.
type ServerOption func(*httptest.Server)

// WithTLS serves over HTTPS with a certificate ca signed: a client trusts
// the server only with ca's certificate (CAFile) among its roots.
func WithTLS(ca *TestCA) ServerOption {
	return func(s *httptest.Server) {
		s.TLS = &tls.Config{Certificates: []tls.Certificate{ca.serverCert}, MinVersion: tls.VersionTLS12}
	}
}

// startServer serves h on 127.0.0.1, over TLS if an option says so, until
// the test ends.
func startServer(t testing.TB, h http.Handler, opts []ServerOption) *httptest.Server {
	s := httptest.NewUnstartedServer(h)
	for _, o := range opts {
		o(s)
	}
	if s.TLS != nil {
		s.StartTLS()
	} else {
		s.Start()
	}
	t.Cleanup(s.Close)
	return s
}

// TestCA is a certificate authority made for one test, with a server
// certificate it signed for 127.0.0.1 and localhost.
type TestCA struct {
	// CAFile is the PEM file of the authority's certificate, as a client's
	// tls.ca_file takes it.
	CAFile     string
	serverCert tls.Certificate
}

// NewTestCA makes an authority and its server certificate, valid for an
// hour, with ECDSA P-256 keys.
func NewTestCA(t testing.TB) *TestCA {
	t.Helper()
	now := time.Now()
	caKey := ecKey(t)
	caTemplate := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "apitest CA"},
		NotBefore:             now.Add(-time.Minute),
		NotAfter:              now.Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTemplate, caTemplate, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatal(err)
	}
	serverKey := ecKey(t)
	serverTemplate := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "127.0.0.1"},
		NotBefore:    now.Add(-time.Minute),
		NotAfter:     now.Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames:     []string{"localhost"},
	}
	serverDER, err := x509.CreateCertificate(rand.Reader, serverTemplate, caCert, &serverKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	return &TestCA{
		CAFile:     caFile,
		serverCert: tls.Certificate{Certificate: [][]byte{serverDER, caDER}, PrivateKey: serverKey},
	}
}

func ecKey(t testing.TB) *ecdsa.PrivateKey {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return key
}
