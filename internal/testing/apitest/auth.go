package apitest // import "github.com/otelsec/emailcompromise/internal/testing/apitest"

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// The token endpoints below behave as Microsoft's identity platform (v2.0
// client credentials grant, with a client secret or a PS256 client assertion)
// and Google's OAuth 2.0 server (JWT bearer grant of a service account) are
// documented to: form-encoded POST, the same error bodies and codes, tokens
// with expires_in that the APIs then check.

// TokenRegistry remembers the access tokens a token endpoint issued, for
// the APIs to check.
type TokenRegistry struct {
	mu     sync.Mutex
	tokens map[string]issuedToken
	// all is every token ever issued, revoked or not.
	all []string
}

type issuedToken struct {
	audience string
	expiry   time.Time
}

// NewTokenRegistry is an empty registry.
func NewTokenRegistry() *TokenRegistry {
	return &TokenRegistry{tokens: make(map[string]issuedToken)}
}

// Issue makes a token for audience, valid for lifetime.
func (r *TokenRegistry) Issue(audience string, lifetime time.Duration) string {
	buf := make([]byte, 24)
	_, _ = rand.Read(buf)
	access := "tok-" + hex.EncodeToString(buf)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.tokens[access] = issuedToken{audience: audience, expiry: time.Now().Add(lifetime)}
	r.all = append(r.all, access)
	return access
}

// Valid checks the request's bearer token: issued here, for this API, not
// expired.
func (r *TokenRegistry) Valid(req *http.Request, audience string) bool {
	access, ok := strings.CutPrefix(req.Header.Get("Authorization"), "Bearer ")
	if !ok {
		return false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	tok, ok := r.tokens[access]
	return ok && tok.audience == audience && time.Now().Before(tok.expiry)
}

// RevokeAll invalidates every token before its expiry, as a revoked consent
// or a password reset does.
func (r *TokenRegistry) RevokeAll() {
	r.mu.Lock()
	defer r.mu.Unlock()
	clear(r.tokens)
}

// Count is how many tokens were issued.
func (r *TokenRegistry) Count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.all)
}

// All is every token ever issued, revoked or not.
func (r *TokenRegistry) All() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.all...)
}

// oauthError writes the RFC 6749 error body both vendors use.
func oauthError(w http.ResponseWriter, status int, code, description string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": code, "error_description": description})
}

// Audiences of the tokens each API takes.
const (
	manageAudience    = "https://manage.office.com"
	graphAudience     = "https://graph.microsoft.com"
	googleAPIAudience = "https://admin.googleapis.com"
)

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// Entra is the Microsoft identity platform token endpoint (v2.0 client
// credentials grant) of one tenant with one app registration.
type Entra struct {
	*httptest.Server
	Tokens   *TokenRegistry
	Tenant   string
	ClientID string
	// Cert is the certificate registered on the app (nil: secret only);
	// set it before the first request.
	Cert     *x509.Certificate
	lifetime time.Duration

	mu       sync.Mutex
	secret   string
	usedJTIs map[string]bool
	refused  int
}

// NewEntra starts the token endpoint; it stops with the test.
func NewEntra(t testing.TB, tenant, clientID, secret string, opts ...ServerOption) *Entra {
	f := &Entra{
		Tokens:   NewTokenRegistry(),
		Tenant:   tenant,
		ClientID: clientID,
		secret:   secret,
		lifetime: time.Hour,
		usedJTIs: make(map[string]bool),
	}
	f.Server = startServer(t, http.HandlerFunc(f.serveToken), opts)
	return f
}

// TokenURL is the endpoint's URL, as token_url takes it.
func (f *Entra) TokenURL() string { return f.URL + "/" + f.Tenant + "/oauth2/v2.0/token" }

func (f *Entra) serveToken(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/"+f.Tenant+"/oauth2/v2.0/token" {
		oauthError(w, http.StatusNotFound, "invalid_request", "AADSTS90002: Tenant not found.")
		return
	}
	if err := r.ParseForm(); err != nil || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		oauthError(w, http.StatusBadRequest, "invalid_request", "AADSTS900144: The request body must contain the following parameter: 'grant_type'.")
		return
	}
	form := r.PostForm
	if form.Get("grant_type") != "client_credentials" {
		oauthError(w, http.StatusBadRequest, "unsupported_grant_type", "AADSTS70003: The app requested an unsupported grant type.")
		return
	}
	if form.Get("client_id") != f.ClientID {
		oauthError(w, http.StatusBadRequest, "unauthorized_client", fmt.Sprintf("AADSTS700016: Application with identifier '%s' was not found in the directory.", form.Get("client_id")))
		return
	}
	resource, ok := strings.CutSuffix(form.Get("scope"), "/.default")
	if !ok {
		oauthError(w, http.StatusBadRequest, "invalid_scope", "AADSTS1002012: The provided value for scope is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier.")
		return
	}
	switch {
	case form.Has("client_assertion"):
		if form.Get("client_assertion_type") != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer" {
			oauthError(w, http.StatusBadRequest, "invalid_request", "AADSTS50027: Invalid client_assertion_type.")
			return
		}
		if err := f.checkAssertion(form.Get("client_assertion")); err != nil {
			f.refuse()
			oauthError(w, http.StatusUnauthorized, "invalid_client", "AADSTS700027: Client assertion failed signature validation. "+err.Error())
			return
		}
	case !f.secretMatches(form.Get("client_secret")):
		f.refuse()
		oauthError(w, http.StatusUnauthorized, "invalid_client", "AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID.")
		return
	}
	lifetime := f.tokenLifetime()
	writeJSON(w, http.StatusOK, map[string]any{
		"token_type":     "Bearer",
		"expires_in":     int(lifetime / time.Second),
		"ext_expires_in": int(lifetime / time.Second),
		"access_token":   f.Tokens.Issue(resource, lifetime),
	})
}

// SetSecret replaces the app's client secret, as a secret added in the
// Entra admin center, or one removed or expired, does.
func (f *Entra) SetSecret(secret string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.secret = secret
}

func (f *Entra) secretMatches(secret string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.secret != "" && secret == f.secret
}

// Refused is how many requests had a wrong secret or assertion.
func (f *Entra) Refused() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.refused
}

// Assertions is how many client assertions were accepted, each with its own
// jti.
func (f *Entra) Assertions() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.usedJTIs)
}

func (f *Entra) refuse() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.refused++
}

func (f *Entra) tokenLifetime() time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.lifetime
}

// SetLifetime sets expires_in of the tokens issued from now on.
func (f *Entra) SetLifetime(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lifetime = d
}

// checkAssertion verifies a client assertion as Entra ID does: PS256 over
// header.claims with the registered certificate's key, x5t#S256 naming that
// certificate, aud the token endpoint, iss and sub the client, a fresh jti,
// and nbf/exp around now.
func (f *Entra) checkAssertion(assertion string) error {
	if f.Cert == nil {
		return fmt.Errorf("no certificate registered")
	}
	var header struct {
		Alg, Typ string
		X5tS256  string `json:"x5t#S256"`
	}
	var claims struct {
		Aud, Iss, Sub, Jti string
		Nbf, Exp, Iat      int64
	}
	if err := verifyJWT(assertion, &header, &claims, func(input, sig []byte) error {
		digest := sha256.Sum256(input)
		return rsa.VerifyPSS(f.Cert.PublicKey.(*rsa.PublicKey), crypto.SHA256, digest[:], sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthAuto})
	}); err != nil {
		return err
	}
	sum := sha256.Sum256(f.Cert.Raw)
	now := time.Now().Unix()
	switch {
	case header.Alg != "PS256" || header.Typ != "JWT":
		return fmt.Errorf("alg %q typ %q", header.Alg, header.Typ)
	case header.X5tS256 != base64.RawURLEncoding.EncodeToString(sum[:]):
		return fmt.Errorf("x5t#S256 names another certificate")
	case claims.Aud != f.TokenURL():
		return fmt.Errorf("aud %q", claims.Aud)
	case claims.Iss != f.ClientID || claims.Sub != f.ClientID:
		return fmt.Errorf("iss %q sub %q", claims.Iss, claims.Sub)
	case claims.Nbf > now+60 || claims.Exp <= now || claims.Exp-claims.Nbf > 3600:
		return fmt.Errorf("nbf %d exp %d at %d", claims.Nbf, claims.Exp, now)
	case claims.Jti == "":
		return fmt.Errorf("no jti")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.usedJTIs[claims.Jti] {
		return fmt.Errorf("jti %s replayed", claims.Jti)
	}
	f.usedJTIs[claims.Jti] = true
	return nil
}

// verifyJWT splits a compact JWS, checks its signature and decodes header
// and claims.
func verifyJWT(token string, header, claims any, verify func(input, sig []byte) error) error {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return fmt.Errorf("not a compact JWS")
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		return err
	}
	if err := verify([]byte(parts[0]+"."+parts[1]), sig); err != nil {
		return fmt.Errorf("signature: %w", err)
	}
	for i, v := range []any{header, claims} {
		raw, err := base64.RawURLEncoding.DecodeString(parts[i])
		if err != nil {
			return err
		}
		if err := json.Unmarshal(raw, v); err != nil {
			return err
		}
	}
	return nil
}

// GoogleAuth is Google's OAuth 2.0 token endpoint (JWT bearer grant) for
// one service account with domain-wide delegation for one administrator.
type GoogleAuth struct {
	*httptest.Server
	Tokens   *TokenRegistry
	key      *rsa.PrivateKey
	keyID    string
	email    string
	subject  string
	lifetime time.Duration
}

// NewGoogleAuth starts the token endpoint; it stops with the test.
func NewGoogleAuth(t testing.TB, subject string, opts ...ServerOption) *GoogleAuth {
	f := &GoogleAuth{
		Tokens:   NewTokenRegistry(),
		key:      RSAKey(t),
		keyID:    "0123456789abcdef0123456789abcdef01234567",
		email:    "audit-reader@contoso-sec.iam.gserviceaccount.com",
		subject:  subject,
		lifetime: time.Hour,
	}
	f.Server = startServer(t, http.HandlerFunc(f.serveToken), opts)
	return f
}

// TokenURL is the endpoint's URL, as token_url takes it.
func (f *GoogleAuth) TokenURL() string { return f.URL + "/token" }

// CredentialsFile writes the service account key file as the Cloud console
// downloads it and returns its path.
func (f *GoogleAuth) CredentialsFile(t testing.TB) string {
	keyDER, err := x509.MarshalPKCS8PrivateKey(f.key)
	if err != nil {
		t.Fatal(err)
	}
	data, _ := json.MarshalIndent(map[string]string{
		"type":                        "service_account",
		"project_id":                  "contoso-sec",
		"private_key_id":              f.keyID,
		"private_key":                 string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})),
		"client_email":                f.email,
		"client_id":                   "104857600000000000001",
		"auth_uri":                    "https://accounts.google.com/o/oauth2/auth",
		"token_uri":                   "https://oauth2.googleapis.com/token",
		"auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs",
	}, "", "  ")
	path := filepath.Join(t.TempDir(), "service-account.json")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func (f *GoogleAuth) serveToken(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/token" || r.ParseForm() != nil {
		oauthError(w, http.StatusBadRequest, "invalid_request", "Invalid request.")
		return
	}
	if r.PostForm.Get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer" {
		oauthError(w, http.StatusBadRequest, "unsupported_grant_type", "Invalid grant_type: "+r.PostForm.Get("grant_type"))
		return
	}
	var header struct{ Alg, Typ, Kid string }
	var claims struct {
		Iss, Sub, Scope, Aud string
		Iat, Exp             int64
	}
	if err := verifyJWT(r.PostForm.Get("assertion"), &header, &claims, func(input, sig []byte) error {
		digest := sha256.Sum256(input)
		return rsa.VerifyPKCS1v15(&f.key.PublicKey, crypto.SHA256, digest[:], sig)
	}); err != nil || header.Alg != "RS256" || header.Kid != f.keyID || claims.Iss != f.email {
		oauthError(w, http.StatusBadRequest, "invalid_grant", "Invalid JWT Signature.")
		return
	}
	now := time.Now().Unix()
	if claims.Aud != f.TokenURL() || claims.Exp <= now || claims.Exp-claims.Iat > 3600 || claims.Iat > now+60 {
		oauthError(w, http.StatusBadRequest, "invalid_grant", "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your iat and exp values in the JWT claim.")
		return
	}
	if claims.Sub != f.subject || !strings.Contains(" "+claims.Scope+" ", " https://www.googleapis.com/auth/admin.reports.audit.readonly ") {
		oauthError(w, http.StatusUnauthorized, "unauthorized_client", "Client is unauthorized to retrieve access tokens using this method, or client not authorized for any of the scopes requested.")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"access_token": f.Tokens.Issue(googleAPIAudience, f.lifetime),
		"expires_in":   int(f.lifetime / time.Second),
		"token_type":   "Bearer",
	})
}

var (
	rsaKeyOnce sync.Once
	rsaKey     *rsa.PrivateKey
)

// RSAKey is one 2048-bit key for the whole test binary: generating one per
// test would cost seconds.
func RSAKey(t testing.TB) *rsa.PrivateKey {
	rsaKeyOnce.Do(func() {
		var err error
		if rsaKey, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			t.Fatal(err)
		}
	})
	return rsaKey
}

// SelfSignedCert makes an app's certificate and writes it with its key as one
// PEM file, as certificate_file takes it.
func SelfSignedCert(t testing.TB) (*x509.Certificate, string) {
	key := RSAKey(t)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "otelcol-audit-reader"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	data := append(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})...)
	path := filepath.Join(t.TempDir(), "app.pem")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return cert, path
}
