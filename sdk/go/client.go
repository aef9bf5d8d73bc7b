// Package credvault is the Go SDK of CredVault's REST API (/api/v1).
//
//	c, err := credvault.NewClient("https://vault.example.com", credvault.WithAPIKey(os.Getenv("CREDVAULT_API_KEY")))
//	key, err := c.APIKeys.Create(ctx, &credvault.CreateAPIKeyRequest{Name: "ci", Scopes: []string{"credentials:read"}})
//	for k, err := range c.APIKeys.List(ctx, nil) { … }
//
// Every REST operation has a typed method on one of the client's services
// (Operations maps each operationId of /api/v1/openapi.json to it). Errors
// the server answers are *Error; requests answered 429 or 503 are retried
// with backoff, honouring Retry-After. NewVerifier verifies API keys
// locally, from the key stream, with no network round trip per key.
//
// The SDK uses the standard library only.
package credvault

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Client is a CredVault API client. It is safe for concurrent use.
type Client struct {
	baseURL    *url.URL
	httpClient *http.Client
	apiKey     string
	token      string
	userAgent  string
	retries    int
	minBackoff time.Duration
	maxBackoff time.Duration

	// APIKeys manages API keys (/api-keys).
	APIKeys *APIKeysService
	// OAuthClients manages OAuth clients (/oauth-clients).
	OAuthClients *OAuthClientsService
	// Credentials stores and reads the vault's credentials (/credentials).
	Credentials *CredentialsService
	// Users manages the tenant's users (/admin/users).
	Users *UsersService
	// ServiceAccounts creates service accounts (/admin/service-account).
	ServiceAccounts *ServiceAccountsService
	// Webhooks manages webhook endpoints and their deliveries (/webhooks).
	Webhooks *WebhooksService
	// Audit reads the audit trail (/admin/audit-logs).
	Audit *AuditService
	// Tenants reads and manages tenants (/admin/tenants).
	Tenants *TenantsService
	// Admin has the operational endpoints: health, stats, features, usage,
	// jobs and DEK rotation.
	Admin *AdminService
	// Auth signs up, signs in and tells who the client is (/auth).
	Auth *AuthService
	// SSO configures the tenant's single sign-on (/admin/sso).
	SSO *SSOService
}

// Option configures a Client.
type Option func(*Client)

// WithAPIKey authenticates with an API key (the X-API-Key header).
func WithAPIKey(key string) Option { return func(c *Client) { c.apiKey = key } }

// WithToken authenticates with a bearer token: a session's access token or
// an OAuth access token.
func WithToken(token string) Option { return func(c *Client) { c.token = token } }

// WithHTTPClient sends requests with hc instead of a client with a 60 s timeout.
func WithHTTPClient(hc *http.Client) Option { return func(c *Client) { c.httpClient = hc } }

// WithRetries sets how many times a request answered 429 or 503 (or failing
// to connect, for idempotent methods) is retried, 3 by default; 0 turns
// retries off.
func WithRetries(n int) Option { return func(c *Client) { c.retries = max(n, 0) } }

// WithBackoff sets the first and the largest wait between retries (250 ms
// and 8 s by default); the wait doubles each time, with jitter, and a
// Retry-After the server sends replaces it.
func WithBackoff(first, largest time.Duration) Option {
	return func(c *Client) { c.minBackoff, c.maxBackoff = first, max(first, largest) }
}

// WithUserAgent prepends product to the User-Agent header.
func WithUserAgent(product string) Option {
	return func(c *Client) { c.userAgent = product + " " + c.userAgent }
}

// NewClient returns a client of the CredVault server at baseURL, such as
// "https://vault.example.com" (the API is under /api/v1).
func NewClient(baseURL string, opts ...Option) (*Client, error) {
	u, err := url.Parse(strings.TrimRight(baseURL, "/"))
	if err != nil {
		return nil, fmt.Errorf("credvault: base URL: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("credvault: base URL %q: want http(s)://host", baseURL)
	}
	u.Path = strings.TrimSuffix(u.Path, "/api/v1")
	c := &Client{baseURL: u, httpClient: &http.Client{Timeout: 60 * time.Second},
		userAgent: "credvault-go/" + Version, retries: 3, minBackoff: 250 * time.Millisecond, maxBackoff: 8 * time.Second}
	for _, o := range opts {
		o(c)
	}
	c.APIKeys = &APIKeysService{c}
	c.OAuthClients = &OAuthClientsService{c}
	c.Credentials = &CredentialsService{c}
	c.Users = &UsersService{c}
	c.ServiceAccounts = &ServiceAccountsService{c}
	c.Webhooks = &WebhooksService{c}
	c.Audit = &AuditService{c}
	c.Tenants = &TenantsService{c}
	c.Admin = &AdminService{c}
	c.Auth = &AuthService{c}
	c.SSO = &SSOService{c}
	return c, nil
}

// BaseURL is the server's URL, without /api/v1.
func (c *Client) BaseURL() string { return c.baseURL.String() }

// Pagination is meta.pagination of a list answer.
type Pagination struct {
	Limit             int     `json:"limit"`
	Offset            int     `json:"offset"`
	Total             int     `json:"total"`
	TotalIsLowerBound bool    `json:"total_is_lower_bound,omitempty"`
	HasNext           bool    `json:"has_next"`
	NextCursor        *string `json:"next_cursor"`
	Page              *int    `json:"page,omitempty"`
	PerPage           *int    `json:"per_page,omitempty"`
	TotalPages        *int    `json:"total_pages,omitempty"`
	HasPrevious       *bool   `json:"has_previous,omitempty"`
}

// envelope is every /api/v1 answer.
type envelope struct {
	Success bool            `json:"success"`
	Message string          `json:"message"`
	Data    json.RawMessage `json:"data"`
	Error   *struct {
		Code    string         `json:"code"`
		Message string         `json:"message"`
		Details map[string]any `json:"details"`
	} `json:"error"`
	Meta struct {
		RequestID  string      `json:"request_id"`
		Pagination *Pagination `json:"pagination"`
	} `json:"meta"`
}

// request is one API call.
type request struct {
	method string
	// path is under /api/v1, with its parameters escaped.
	path  string
	query url.Values
	body  any
	// header adds headers.
	header http.Header
}

// do sends req, retrying as configured, and decodes the envelope's data
// into out (when not nil); it returns the envelope's pagination.
func (c *Client) do(ctx context.Context, req *request, out any) (*Pagination, error) {
	var body []byte
	if req.body != nil {
		var err error
		if body, err = json.Marshal(req.body); err != nil {
			return nil, fmt.Errorf("credvault: encode request: %w", err)
		}
	}
	u := c.baseURL.String() + "/api/v1" + req.path
	if len(req.query) > 0 {
		u += "?" + req.query.Encode()
	}
	for attempt := 0; ; attempt++ {
		resp, err := c.send(ctx, req, u, body)
		if err != nil {
			if ctx.Err() != nil || attempt >= c.retries || !idempotent(req.method) {
				return nil, err
			}
			if err := c.sleep(ctx, c.backoff(attempt)); err != nil {
				return nil, err
			}
			continue
		}
		raw, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
		resp.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("credvault: read answer: %w", err)
		}
		if (resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable) && attempt < c.retries {
			wait := c.backoff(attempt)
			if ra, ok := retryAfter(resp.Header.Get("Retry-After")); ok {
				wait = ra
			}
			if err := c.sleep(ctx, wait); err != nil {
				return nil, err
			}
			continue
		}
		return decode(resp, raw, out)
	}
}

func (c *Client) send(ctx context.Context, req *request, u string, body []byte) (*http.Response, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	hr, err := http.NewRequestWithContext(ctx, req.method, u, rd)
	if err != nil {
		return nil, fmt.Errorf("credvault: %w", err)
	}
	if body != nil {
		hr.Header.Set("Content-Type", "application/json")
	}
	hr.Header.Set("Accept", "application/json")
	for k, vs := range req.header {
		hr.Header[k] = vs
	}
	c.authorize(hr)
	resp, err := c.httpClient.Do(hr)
	if err != nil {
		return nil, fmt.Errorf("credvault: %s %s: %w", req.method, req.path, err)
	}
	return resp, nil
}

// authorize sets the request's credentials and User-Agent.
func (c *Client) authorize(hr *http.Request) {
	hr.Header.Set("User-Agent", c.userAgent)
	if c.apiKey != "" {
		hr.Header.Set("X-API-Key", c.apiKey)
	}
	if c.token != "" {
		hr.Header.Set("Authorization", "Bearer "+c.token)
	}
}

// decode reads an answer: the data of a success into out, else an *Error.
func decode(resp *http.Response, raw []byte, out any) (*Pagination, error) {
	var env envelope
	jsonErr := json.Unmarshal(raw, &env)
	if resp.StatusCode >= 300 || !env.Success {
		e := &Error{Status: resp.StatusCode, RequestID: resp.Header.Get("X-Request-ID")}
		if jsonErr == nil && env.Error != nil {
			e.Code, e.Message, e.Details = env.Error.Code, env.Error.Message, env.Error.Details
			if env.Meta.RequestID != "" {
				e.RequestID = env.Meta.RequestID
			}
		} else {
			e.Code = codeOfStatus(resp.StatusCode)
			e.Message = strings.TrimSpace(string(raw[:min(len(raw), 200)]))
		}
		if ra, ok := retryAfter(resp.Header.Get("Retry-After")); ok {
			e.RetryAfter = ra
		}
		return nil, e
	}
	if jsonErr != nil {
		return nil, fmt.Errorf("credvault: decode answer (status %d): %w", resp.StatusCode, jsonErr)
	}
	if out != nil && len(env.Data) > 0 {
		if err := json.Unmarshal(env.Data, out); err != nil {
			return nil, fmt.Errorf("credvault: decode data: %w", err)
		}
	}
	return env.Meta.Pagination, nil
}

func idempotent(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPut, http.MethodDelete, http.MethodOptions:
		return true
	}
	return false
}

// backoff is the wait before retry attempt+1: exponential with full jitter
// over its upper half.
func (c *Client) backoff(attempt int) time.Duration {
	d := c.minBackoff << min(attempt, 16)
	if d > c.maxBackoff || d <= 0 {
		d = c.maxBackoff
	}
	return d/2 + rand.N(d/2+1)
}

func (c *Client) sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// retryAfter parses a Retry-After header: seconds, or an HTTP date.
func retryAfter(v string) (time.Duration, bool) {
	if v == "" {
		return 0, false
	}
	if s, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && s >= 0 {
		return time.Duration(s) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(time.Until(t), 0), true
	}
	return 0, false
}

// pathEscape escapes one path parameter.
func pathEscape(s string) string { return url.PathEscape(s) }

// ErrNoAuth is returned by NewVerifier for a client without credentials.
var ErrNoAuth = errors.New("credvault: the client has no API key or token")

// stream opens a streaming GET of path: the answer, status 200, for the
// caller to read and close; any other answer is an *Error. The client's
// timeout does not apply (a stream lasts): ctx bounds it.
func (c *Client) stream(ctx context.Context, path string, q url.Values, accept string, header http.Header) (*http.Response, error) {
	u := c.baseURL.String() + "/api/v1" + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	hr, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("credvault: %w", err)
	}
	for k, vs := range header {
		hr.Header[k] = vs
	}
	hr.Header.Set("Accept", accept)
	c.authorize(hr)
	hc := *c.httpClient
	hc.Timeout = 0
	resp, err := hc.Do(hr)
	if err != nil {
		return nil, fmt.Errorf("credvault: GET %s: %w", path, err)
	}
	if resp.StatusCode != http.StatusOK {
		defer resp.Body.Close()
		raw, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		_, err := decode(resp, raw, nil)
		if err == nil {
			err = &Error{Status: resp.StatusCode, Code: codeOfStatus(resp.StatusCode), Message: "unexpected status"}
		}
		return nil, err
	}
	return resp, nil
}
