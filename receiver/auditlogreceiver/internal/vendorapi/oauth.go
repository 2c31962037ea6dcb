package vendorapi // import "github.com/otelsec/emailcompromise/receiver/auditlogreceiver/internal/vendorapi"

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
	"golang.org/x/oauth2/google"
)

const (
	// googleReportsScope is the only scope the Reports API activities need.
	googleReportsScope = "https://www.googleapis.com/auth/admin.reports.audit.readonly"
	// clientAssertionType marks a certificate-signed JWT as the client's
	// credential (RFC 7523, as the Microsoft identity platform uses it).
	clientAssertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
	// assertionLifetime is short, as Microsoft asks: the assertion is made
	// afresh for every token request.
	assertionLifetime = 10 * time.Minute
)

// tokenFetch obtains a new access token from the token endpoint.
type tokenFetch = func(ctx context.Context) (*oauth2.Token, error)

// tokenCache holds one access token and fetches a new one shortly before it
// expires, or at once after the API refused it (a token revoked early).
type tokenCache struct {
	fetch tokenFetch
	now   func() time.Time

	mu      sync.Mutex
	current *oauth2.Token
	renewAt time.Time
}

func newTokenCache(fetch tokenFetch) *tokenCache {
	return &tokenCache{fetch: fetch, now: time.Now}
}

// token returns a usable access token, fetching one when needed. A fetch
// error is a *credentialsError when the token endpoint refused the
// credentials, which no retry can fix.
func (c *tokenCache) token(ctx context.Context) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	if c.current != nil && now.Before(c.renewAt) {
		return c.current.AccessToken, nil
	}
	tok, err := c.fetch(ctx)
	if err != nil {
		return "", classifyTokenError(err)
	}
	if tok.AccessToken == "" {
		return "", errors.New("the token endpoint answered without an access_token")
	}
	c.current = tok
	c.renewAt = renewTime(now, tok.Expiry)
	return tok.AccessToken, nil
}

// renewTime is when a token obtained at now should be replaced: a minute
// before it expires, or a quarter of its lifetime for short-lived tokens, so
// that a request never leaves with a token about to lapse.
func renewTime(now, expiry time.Time) time.Time {
	if expiry.IsZero() {
		return now.Add(time.Hour)
	}
	lifetime := expiry.Sub(now)
	return expiry.Add(-min(time.Minute, lifetime/4))
}

// invalidate drops access if it is still the cached token, so that the next
// call fetches a new one.
func (c *tokenCache) invalidate(access string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.current != nil && c.current.AccessToken == access {
		c.current = nil
	}
}

// credentialsError is the token endpoint refusing the credentials (a wrong
// secret, an unknown client, a subject without delegation). It names the
// vendor's code and description, never the credentials.
type credentialsError struct {
	status      int
	code        string
	description string
}

func (e *credentialsError) Error() string {
	return fmt.Sprintf("token endpoint refused the credentials (HTTP %d %s: %s)", e.status, e.code, e.description)
}

// classifyTokenError turns the token endpoint's 4xx into a credentialsError
// (429 excepted: throttling); anything else stays retryable. The raw body
// is left out on purpose: it is the vendor's to word, and it is not ours to
// log whole.
func classifyTokenError(err error) error {
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) || re.Response == nil {
		return err
	}
	status := re.Response.StatusCode
	code, desc := re.ErrorCode, re.ErrorDescription
	if code == "" {
		// golang.org/x/oauth2/jwt does not parse the standard error body.
		var body struct {
			Error       string `json:"error"`
			Description string `json:"error_description"`
		}
		if json.Unmarshal(re.Body, &body) == nil {
			code, desc = body.Error, body.Description
		}
	}
	if status >= 400 && status < 500 && status != http.StatusTooManyRequests {
		return &credentialsError{status: status, code: code, description: truncate(desc, 300)}
	}
	return fmt.Errorf("token endpoint answered HTTP %d %s", status, code)
}

// withHTTPClient makes golang.org/x/oauth2 send token requests through the
// source's client, so that its TLS, proxy and timeout apply to them too.
func withHTTPClient(ctx context.Context, client *http.Client) context.Context {
	return context.WithValue(ctx, oauth2.HTTPClient, client)
}

// newMicrosoftTokenFetch returns the client credentials grant for resource
// (an API's application ID URI), with the client secret or with a client
// assertion signed by the certificate's key.
func newMicrosoftTokenFetch(cfg *MicrosoftAuth, key, resource string, client *http.Client) (tokenFetch, error) {
	cc := clientcredentials.Config{
		ClientID:     cfg.ClientID,
		ClientSecret: string(cfg.ClientSecret),
		TokenURL:     microsoftTokenURL(cfg),
		Scopes:       []string{resource + "/.default"},
		AuthStyle:    oauth2.AuthStyleInParams,
	}
	if cfg.CertificateFile == "" {
		return func(ctx context.Context) (*oauth2.Token, error) {
			return cc.Token(withHTTPClient(ctx, client))
		}, nil
	}
	signer, err := loadCertificateSigner(cfg.CertificateFile, cfg.CertificateKeyFile)
	if err != nil {
		return nil, fmt.Errorf("%s.certificate_file: %w", key, err)
	}
	return func(ctx context.Context) (*oauth2.Token, error) {
		assertion, err := signer.assertion(cc.ClientID, cc.TokenURL, time.Now())
		if err != nil {
			return nil, err
		}
		withAssertion := cc
		withAssertion.EndpointParams = url.Values{
			"client_assertion_type": {clientAssertionType},
			"client_assertion":      {assertion},
		}
		return withAssertion.Token(withHTTPClient(ctx, client))
	}, nil
}

// certificateSigner signs client assertions as the Microsoft identity
// platform documents them: PS256, with the certificate's SHA-256 thumbprint
// in x5t#S256.
type certificateSigner struct {
	key        *rsa.PrivateKey
	thumbprint string
}

func loadCertificateSigner(certFile, keyFile string) (*certificateSigner, error) {
	certPEM, err := os.ReadFile(certFile)
	if err != nil {
		return nil, err
	}
	keyPEM := certPEM
	if keyFile != "" {
		if keyPEM, err = os.ReadFile(keyFile); err != nil {
			return nil, fmt.Errorf("certificate_key_file: %w", err)
		}
	}
	var cert *x509.Certificate
	for block, rest := pem.Decode(certPEM); block != nil && cert == nil; block, rest = pem.Decode(rest) {
		if block.Type == "CERTIFICATE" {
			if cert, err = x509.ParseCertificate(block.Bytes); err != nil {
				return nil, fmt.Errorf("%s: certificate: %w", certFile, err)
			}
		}
	}
	if cert == nil {
		return nil, fmt.Errorf("%s holds no PEM CERTIFICATE block", certFile)
	}
	key, err := findRSAKey(keyPEM)
	if err != nil {
		return nil, err
	}
	if pub, ok := cert.PublicKey.(*rsa.PublicKey); !ok || !pub.Equal(&key.PublicKey) {
		return nil, errors.New("the private key does not belong to the certificate")
	}
	sum := sha256.Sum256(cert.Raw)
	return &certificateSigner{key: key, thumbprint: base64.RawURLEncoding.EncodeToString(sum[:])}, nil
}

// findRSAKey reads the first private key block, PKCS#8 or PKCS#1. Entra ID
// takes RSA certificates only, so any other key is a configuration error.
func findRSAKey(data []byte) (*rsa.PrivateKey, error) {
	for block, rest := pem.Decode(data); block != nil; block, rest = pem.Decode(rest) {
		switch block.Type {
		case "PRIVATE KEY":
			k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
			if err != nil {
				return nil, fmt.Errorf("private key: %w", err)
			}
			rsaKey, ok := k.(*rsa.PrivateKey)
			if !ok {
				return nil, errors.New("the private key is not RSA; Entra ID certificate credentials are RSA")
			}
			return rsaKey, nil
		case "RSA PRIVATE KEY":
			k, err := x509.ParsePKCS1PrivateKey(block.Bytes)
			if err != nil {
				return nil, fmt.Errorf("private key: %w", err)
			}
			return k, nil
		case "ENCRYPTED PRIVATE KEY":
			return nil, errors.New("the private key is encrypted; give an unencrypted PEM key (protect the file instead)")
		}
	}
	return nil, errors.New("no PEM PRIVATE KEY or RSA PRIVATE KEY block found; put it in certificate_file or set certificate_key_file")
}

func (s *certificateSigner) assertion(clientID, audience string, now time.Time) (string, error) {
	jti := make([]byte, 16)
	if _, err := rand.Read(jti); err != nil {
		return "", err
	}
	header, _ := json.Marshal(map[string]string{"alg": "PS256", "typ": "JWT", "x5t#S256": s.thumbprint})
	claims, _ := json.Marshal(map[string]any{
		"aud": audience,
		"iss": clientID,
		"sub": clientID,
		"jti": fmt.Sprintf("%x-%x-%x-%x-%x", jti[0:4], jti[4:6], jti[6:8], jti[8:10], jti[10:]),
		"nbf": now.Unix(),
		"iat": now.Unix(),
		"exp": now.Add(assertionLifetime).Unix(),
	})
	signingInput := base64.RawURLEncoding.EncodeToString(header) + "." + base64.RawURLEncoding.EncodeToString(claims)
	digest := sha256.Sum256([]byte(signingInput))
	sig, err := rsa.SignPSS(rand.Reader, s.key, crypto.SHA256, digest[:], &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
	if err != nil {
		return "", err
	}
	return signingInput + "." + base64.RawURLEncoding.EncodeToString(sig), nil
}

// newGoogleTokenFetch returns the service account's JWT bearer grant acting
// as subject (domain-wide delegation).
func newGoogleTokenFetch(cfg *GoogleSettings, key string, client *http.Client) (tokenFetch, error) {
	data, err := os.ReadFile(cfg.CredentialsFile)
	if err != nil {
		return nil, fmt.Errorf("%s.credentials_file: %w", key, err)
	}
	jwtCfg, err := google.JWTConfigFromJSON(data, googleReportsScope)
	if err != nil {
		return nil, fmt.Errorf("%s.credentials_file: not a service account key file: %w", key, err)
	}
	jwtCfg.Subject = cfg.Subject
	if cfg.TokenURL != "" {
		jwtCfg.TokenURL = cfg.TokenURL
	}
	return func(ctx context.Context) (*oauth2.Token, error) {
		// golang.org/x/oauth2/jwt words the transport's error into its own
		// without wrapping it: a certificate that does not verify is kept
		// aside, so that it is told from a failure a retry can fix.
		var rejected error
		observed := *client
		base := client.Transport
		if base == nil {
			base = http.DefaultTransport
		}
		observed.Transport = roundTripFunc(func(req *http.Request) (*http.Response, error) {
			resp, err := base.RoundTrip(req)
			if certificateRejected(err) {
				rejected = err
			}
			return resp, err
		})
		tok, err := jwtCfg.TokenSource(withHTTPClient(ctx, &observed)).Token()
		if err != nil && rejected != nil {
			return nil, rejected
		}
		return tok, err
	}, nil
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(req *http.Request) (*http.Response, error) { return f(req) }

// truncate shortens vendor text for a log line, at a rune boundary.
func truncate(s string, n int) string {
	s = strings.TrimSpace(s)
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
