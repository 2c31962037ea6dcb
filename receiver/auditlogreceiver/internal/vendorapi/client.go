package vendorapi // import "github.com/otelsec/emailcompromise/receiver/auditlogreceiver/internal/vendorapi"

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cenkalti/backoff/v5"
	"go.uber.org/zap"
)

// maxResponseBytes bounds one API response held in memory. Listing pages
// and O365 content blobs are a few MB at most; a larger answer is an error,
// not something to buffer.
const maxResponseBytes = 128 << 20

// apiClient sends the requests of one API source: it signs them with the
// source's token, keeps the token on the configured host, and retries what a
// retry can fix, within a bound, so that a poll ends rather than hangs.
type apiClient struct {
	// source names the source in messages that point at its config keys.
	source string
	http   *http.Client
	tokens *tokenCache
	// origin is scheme://host[:port] of the base URL. Paging links and
	// content URLs come from response bodies; a token is never sent to any
	// other origin, so a forged link cannot carry it away.
	origin string
	retry  RetrySettings
	// authHint says which config keys and permissions to check when the
	// credentials are refused.
	authHint string
	logger   *zap.Logger
	metrics  Metrics

	// tokenAccepted is set when the API answered a request with anything
	// but 401: the credentials worked. The source reads and clears it after
	// each poll, to tell a recovery from a poll that never got that far.
	tokenAccepted atomic.Bool

	mu sync.Mutex
	// notBefore is when the API allows the next request after it asked to
	// wait (Retry-After); it holds across requests and polls.
	notBefore time.Time
}

func newAPIClient(source string, client *http.Client, tokens *tokenCache, baseURL string, retry RetrySettings, authHint string, logger *zap.Logger, metrics Metrics) (*apiClient, error) {
	u, err := url.Parse(baseURL)
	if err != nil {
		return nil, err
	}
	return &apiClient{
		source:   source,
		http:     client,
		tokens:   tokens,
		origin:   originOf(u),
		retry:    retry,
		authHint: authHint,
		logger:   logger,
		metrics:  metrics,
	}, nil
}

func originOf(u *url.URL) string {
	return strings.ToLower(u.Scheme + "://" + u.Host)
}

// statusError is an API answer that no retry changes: a 4xx other than 401,
// 408 and 429. Code and message are the vendor's (e.g. AF20051).
type statusError struct {
	method, url string
	status      int
	code        string
	message     string
}

func (e *statusError) Error() string {
	return fmt.Sprintf("%s %s: HTTP %d %s: %s", e.method, e.url, e.status, e.code, e.message)
}

// authError is credentials that do not work: the token endpoint refused
// them, or the API refused a token fetched a moment before. Retrying within
// the poll is pointless; the message says what to check.
type authError struct {
	err  error
	hint string
}

func (e *authError) Error() string { return fmt.Sprintf("%v; check %s", e.err, e.hint) }
func (e *authError) Unwrap() error { return e.err }

// aadstsCode is the number Entra ID puts at the start of its error
// descriptions; it tells a wrong secret (AADSTS7000215) from an unknown app
// (AADSTS700016) or tenant (AADSTS90002), which share their OAuth error.
var aadstsCode = regexp.MustCompile(`\bAADSTS\d+\b`)

// vendorCode is the vendor's name for the refusal: the OAuth error, with
// Entra ID's AADSTS number when there is one ("invalid_client
// AADSTS7000215", Google's "unauthorized_client"), or the API's code for a
// token it refused ("InvalidAuthenticationToken", else "HTTP 401").
func (e *authError) vendorCode() string {
	var cred *credentialsError
	if errors.As(e.err, &cred) {
		if n := aadstsCode.FindString(cred.description); n != "" {
			return strings.TrimSpace(cred.code + " " + n)
		}
		return cred.code
	}
	var status *statusError
	if errors.As(e.err, &status) {
		if status.code != "" {
			return status.code
		}
		return fmt.Sprintf("HTTP %d", status.status)
	}
	return ""
}

// untrustedServerError is a server whose certificate does not verify: a CA
// the client does not trust, or another host's name. No retry changes that;
// the message names the key that does.
type untrustedServerError struct {
	err    error
	source string
}

func (e *untrustedServerError) Error() string {
	return fmt.Sprintf("%v; the server's certificate is not trusted: set %s.http.tls.ca_file to the CA that signed it (the system's CAs are used without it), or check the host name", e.err, e.source)
}
func (e *untrustedServerError) Unwrap() error { return e.err }

// certificateRejected reports whether err is a TLS handshake that failed to
// verify the server's certificate.
func certificateRejected(err error) bool {
	var verification *tls.CertificateVerificationError
	var unknownAuthority x509.UnknownAuthorityError
	var hostname x509.HostnameError
	var invalid x509.CertificateInvalidError
	return errors.As(err, &verification) || errors.As(err, &unknownAuthority) || errors.As(err, &hostname) || errors.As(err, &invalid)
}

// exhaustedError is a request that kept failing in ways a retry could have
// fixed (5xx, 429, timeouts) until retry.max_attempts ran out: the API is
// unwell, so the poll ends and the next one tries again.
type exhaustedError struct {
	attempts int
	err      error
}

func (e *exhaustedError) Error() string {
	return fmt.Sprintf("gave up after %d attempts: %v", e.attempts, e.err)
}
func (e *exhaustedError) Unwrap() error { return e.err }

// get fetches rawURL and hands the body to decode. A body that does not
// decode is taken for a transfer cut short and retried like a 5xx.
func (c *apiClient) get(ctx context.Context, rawURL string, decode func([]byte) error) (http.Header, error) {
	return c.do(ctx, http.MethodGet, rawURL, decode)
}

func (c *apiClient) post(ctx context.Context, rawURL string) error {
	_, err := c.do(ctx, http.MethodPost, rawURL, func([]byte) error { return nil })
	return err
}

// do sends the request until it succeeds or cannot: 429 and 503 wait as
// Retry-After says (seconds or an HTTP date), or back off without it; other
// 5xx, 408, timeouts and connection errors back off exponentially with
// jitter; a 401 fetches a new token once; every other status is final. At
// most retry.max_attempts responses count; then the last error is returned.
func (c *apiClient) do(ctx context.Context, method, rawURL string, decode func([]byte) error) (http.Header, error) {
	if err := c.checkOrigin(rawURL); err != nil {
		return nil, err
	}
	bo := backoff.NewExponentialBackOff()
	bo.InitialInterval, bo.MaxInterval = c.retry.InitialInterval, c.retry.MaxInterval
	refreshed := false
	for attempt := 1; ; attempt++ {
		if err := c.waitTurn(ctx); err != nil {
			return nil, err
		}
		resp, err := c.once(ctx, method, rawURL)
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if err == nil && resp.status != http.StatusUnauthorized {
			c.tokenAccepted.Store(true)
		}
		var wait time.Duration
		var credErr *credentialsError
		switch {
		case errors.As(err, &credErr):
			return nil, &authError{err: err, hint: c.authHint}
		case certificateRejected(err):
			return nil, &untrustedServerError{err: err, source: c.source}
		case err != nil:
			wait = bo.NextBackOff()
		case resp.status == http.StatusUnauthorized && !refreshed:
			// A token can be revoked before its expiry; one fresh token
			// tells an expired token from refused credentials.
			refreshed = true
			c.tokens.invalidate(resp.token)
			attempt--
			continue
		case resp.status == http.StatusUnauthorized:
			return nil, &authError{err: c.statusError(method, rawURL, resp), hint: c.authHint}
		case resp.status == http.StatusTooManyRequests || resp.status == http.StatusServiceUnavailable:
			wait = retryAfter(resp.header, time.Now())
			if wait < 0 {
				wait = bo.NextBackOff()
			}
			// Every request of the source waits, this poll's and the next.
			c.holdUntil(time.Now().Add(wait))
			c.metrics.Throttle(ctx)
			err = c.statusError(method, rawURL, resp)
		case resp.status >= 500 || resp.status == http.StatusRequestTimeout:
			wait = bo.NextBackOff()
			err = c.statusError(method, rawURL, resp)
		case resp.status < 200 || resp.status > 299:
			return nil, c.statusError(method, rawURL, resp)
		default:
			if err = decode(resp.body); err == nil {
				c.metrics.Page(ctx)
				return resp.header, nil
			}
			err = fmt.Errorf("%s %s: response is not the expected JSON: %w", method, rawURL, err)
			wait = bo.NextBackOff()
		}
		if attempt >= c.retry.MaxAttempts {
			return nil, &exhaustedError{attempts: attempt, err: err}
		}
		c.metrics.Retry(ctx)
		c.logger.Debug("API request failed; trying again", zap.String("url", rawURL), zap.Int("attempt", attempt), zap.Duration("wait", wait), zap.Error(err))
		if err := sleep(ctx, wait); err != nil {
			return nil, err
		}
	}
}

// apiResponse is a response read whole, with the token it was sent with.
type apiResponse struct {
	status int
	header http.Header
	body   []byte
	token  string
}

// once sends one request. Its error is a transport error, a failed token
// fetch, or a body that could not be read; the status is left to do.
func (c *apiClient) once(ctx context.Context, method, rawURL string) (*apiResponse, error) {
	token, err := c.tokens.token(ctx)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, method, rawURL, http.NoBody)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Accept", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes+1))
	if err != nil {
		return nil, fmt.Errorf("%s %s: reading the response: %w", method, rawURL, err)
	}
	if len(body) > maxResponseBytes {
		return nil, fmt.Errorf("%s %s: response larger than %d bytes", method, rawURL, maxResponseBytes)
	}
	return &apiResponse{status: resp.StatusCode, header: resp.Header, body: body, token: token}, nil
}

func (c *apiClient) checkOrigin(rawURL string) error {
	u, err := url.Parse(rawURL)
	if err != nil {
		return fmt.Errorf("bad URL %q: %w", rawURL, err)
	}
	if got := originOf(u); got != c.origin {
		return fmt.Errorf("refusing to send the access token to %s: the API returned a link outside %s", got, c.origin)
	}
	return nil
}

func (c *apiClient) holdUntil(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if t.After(c.notBefore) {
		c.notBefore = t
	}
}

func (c *apiClient) waitTurn(ctx context.Context) error {
	c.mu.Lock()
	until := c.notBefore
	c.mu.Unlock()
	return sleep(ctx, time.Until(until))
}

func (c *apiClient) statusError(method, rawURL string, resp *apiResponse) *statusError {
	code, message := vendorError(resp.body)
	return &statusError{method: method, url: rawURL, status: resp.status, code: code, message: truncate(message, 300)}
}

// vendorError reads the error object the three vendors share in shape:
// {"error":{"code":"AF20051"|"InvalidAuthenticationToken"|401,"message":...,
// "status":"UNAUTHENTICATED"}}; Google's numeric code gives way to status.
func vendorError(body []byte) (code, message string) {
	var e struct {
		Error struct {
			Code    json.RawMessage `json:"code"`
			Message string          `json:"message"`
			Status  string          `json:"status"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &e) != nil {
		return "", string(body)
	}
	if err := json.Unmarshal(e.Error.Code, &code); err != nil || code == "" {
		code = e.Error.Status
	}
	return code, e.Error.Message
}

// retryAfter reads Retry-After as delay-seconds or an HTTP date; -1 when
// there is none or it cannot be read.
func retryAfter(h http.Header, now time.Time) time.Duration {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return -1
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil && secs >= 0 {
		return time.Duration(min(secs, int64(24*time.Hour/time.Second))) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0)
	}
	return -1
}

// sleep waits d, or less if ctx ends first.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
