package tencent

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Defaults for a Client.
const (
	// DefaultTimeout bounds one HTTP request; the upstream's own is 3 s.
	DefaultTimeout = 5 * time.Second
	// DefaultMaxBodyBytes caps how much of a response body is read.
	DefaultMaxBodyBytes = 8 << 20
	// DefaultMaxPages caps paging, so a server whose Next never ends
	// cannot keep a caller looping. 1000 listed members fit in far fewer.
	DefaultMaxPages = 50
	// DefaultUserAgent names the caller when WithUserAgent is not used.
	DefaultUserAgent = "tencent_live_exporter"
)

// The commands the client calls, of v4/live_engine_http_srv/ but for
// get_seat_list, of v4/room_engine_http_mic/. Each is also
// the command a RequestGate and a RequestObserver are told about: the
// upstream limits each command on its own.
const (
	// CommandGetMemberList counts (and lists) the people in a room: the
	// command whose answers the exporter exists for.
	CommandGetMemberList = "get_member_list"
	// CommandGetRoomList lists the app's public rooms, a page at a time.
	CommandGetRoomList = "get_room_list"
	// CommandGetRoomInfo describes one room.
	CommandGetRoomInfo = "get_room_info"
	// CommandGetRoomStats reads one room's cumulative counters.
	CommandGetRoomStats = "get_room_stats"
	// CommandGetSeatList lists a room's seats and who sits on them.
	CommandGetSeatList = "get_seat_list"
)

// The services of the commands: paths under the REST domain.
const (
	servicePath    = "/v4/live_engine_http_srv/"
	micServicePath = "/v4/room_engine_http_mic/"
)

// commandPath is the path of a command's endpoint.
func commandPath(command string) string {
	if command == CommandGetSeatList {
		return micServicePath + command
	}
	return servicePath + command
}

// regionDomains maps the documented region names to their REST domains.
var regionDomains = map[string]string{
	"china":     "console.tim.qq.com",
	"singapore": "adminapisgp.im.qcloud.com",
	"korea":     "adminapikr.im.qcloud.com",
	"japan":     "adminapijpn.im.qcloud.com",
	"germany":   "adminapiger.im.qcloud.com",
	"india":     "adminapiind.im.qcloud.com",
	"usa":       "adminapiusa.im.qcloud.com",
	"indonesia": "adminapiidn.im.qcloud.com",
}

// Regions returns the region names accepted by WithRegion, sorted.
func Regions() []string {
	names := make([]string, 0, len(regionDomains))
	for name := range regionDomains {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

// RegionBaseURL returns the https base URL of a region, and whether the
// region is known.
func RegionBaseURL(region string) (string, bool) {
	domain, ok := regionDomains[region]
	if !ok {
		return "", false
	}
	return "https://" + domain, true
}

// ParseBaseURL checks an explicit base URL: http or https, with a host, no
// query or fragment.
func ParseBaseURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("invalid base URL: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("invalid base URL %q: scheme must be http or https", raw)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("invalid base URL %q: no host", raw)
	}
	if u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return nil, fmt.Errorf("invalid base URL %q: must not carry a query, fragment or user info", raw)
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	return u, nil
}

// RequestInfo describes one HTTP request, for a RequestObserver.
type RequestInfo struct {
	Command  string
	Duration time.Duration
	Err      error // nil when the answer was a success
}

// Client calls the live room REST API for one app. It is safe for
// concurrent use; build one per app and reuse it.
type Client struct {
	sdkAppID   uint64
	identifier string
	signer     *Signer

	baseURL    *url.URL
	httpClient *http.Client
	timeout    time.Duration
	userAgent  string
	maxBody    int64
	maxPages   int
	gate       RequestGate
	observe    func(RequestInfo)
}

// Option configures a Client.
type Option func(*Client) error

// WithRegion sends requests to a documented regional domain, e.g.
// "singapore". See Regions.
func WithRegion(region string) Option {
	return func(c *Client) error {
		raw, ok := RegionBaseURL(region)
		if !ok {
			return fmt.Errorf("unknown region %q (known: %s)", region, strings.Join(Regions(), ", "))
		}
		u, err := url.Parse(raw)
		c.baseURL = u
		return err
	}
}

// WithBaseURL sends requests to an explicit http:// or https:// base URL
// (a proxy, a private gateway, or a fake in tests).
func WithBaseURL(raw string) Option {
	return func(c *Client) error {
		u, err := ParseBaseURL(raw)
		c.baseURL = u
		return err
	}
}

// WithHTTPClient replaces the HTTP client. The default one keeps
// connections alive; size its pool to the caller's concurrency.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *Client) error {
		if hc == nil {
			return errors.New("nil http client")
		}
		c.httpClient = hc
		return nil
	}
}

// WithTimeout bounds each HTTP request (default DefaultTimeout).
func WithTimeout(d time.Duration) Option {
	return func(c *Client) error {
		if d <= 0 {
			return fmt.Errorf("timeout must be positive, got %s", d)
		}
		c.timeout = d
		return nil
	}
}

// WithUserAgent sets the User-Agent header, e.g. "tencent_live_exporter/1.0.0".
func WithUserAgent(ua string) Option {
	return func(c *Client) error {
		c.userAgent = ua
		return nil
	}
}

// WithMaxBodyBytes caps how much of a response body is read (default DefaultMaxBodyBytes).
func WithMaxBodyBytes(n int64) Option {
	return func(c *Client) error {
		if n <= 0 {
			return fmt.Errorf("max body bytes must be positive, got %d", n)
		}
		c.maxBody = n
		return nil
	}
}

// WithMaxPages caps how many pages one GetMemberList may fetch (default DefaultMaxPages).
func WithMaxPages(n int) Option {
	return func(c *Client) error {
		if n <= 0 {
			return fmt.Errorf("max pages must be positive, got %d", n)
		}
		c.maxPages = n
		return nil
	}
}

// RequestGate is called before every HTTP request and may block, e.g.
// on a rate limiter. command is the upstream command about to be called
// (e.g. CommandGetMemberList): the upstream limits each command on its
// own, so a gate can keep one limit per command. It returns done, which
// the client calls once the request has completed (answered, failed or
// been cancelled): the server has seen the request by then, so a gate
// that counts completions can bound what the server sees in any window.
type RequestGate func(ctx context.Context, command string) (done func(), err error)

// WithRequestGate makes every HTTP request (pages and retries included)
// pass gate first. A gate error aborts the call with that error.
func WithRequestGate(gate RequestGate) Option {
	return func(c *Client) error {
		c.gate = gate
		return nil
	}
}

// WithRequestObserver is called after every HTTP request, e.g. to record
// its latency.
func WithRequestObserver(observe func(RequestInfo)) Option {
	return func(c *Client) error {
		c.observe = observe
		return nil
	}
}

// NewClient returns a Client for one app. Exactly one of WithRegion and
// WithBaseURL must be given.
func NewClient(sdkAppID uint64, identifier string, signer *Signer, opts ...Option) (*Client, error) {
	if signer == nil {
		return nil, errors.New("nil signer")
	}
	c := &Client{
		sdkAppID:   sdkAppID,
		identifier: identifier,
		signer:     signer,
		timeout:    DefaultTimeout,
		userAgent:  DefaultUserAgent,
		maxBody:    DefaultMaxBodyBytes,
		maxPages:   DefaultMaxPages,
	}
	for _, o := range opts {
		if err := o(c); err != nil {
			return nil, err
		}
	}
	if c.baseURL == nil {
		return nil, errors.New("no region or base URL")
	}
	if c.httpClient == nil {
		c.httpClient = NewHTTPClient(0)
	}
	return c, nil
}

// NewHTTPClient returns an HTTP client with a keep-alive pool sized for
// maxConns requests in flight to one host (at least 16).
func NewHTTPClient(maxConns int) *http.Client {
	maxConns = max(maxConns, 16)
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.Proxy = http.ProxyFromEnvironment
	t.MaxIdleConns = maxConns
	t.MaxIdleConnsPerHost = maxConns
	t.IdleConnTimeout = 90 * time.Second
	return &http.Client{Transport: t}
}

// MemberList is the answer of GetMemberList.
type MemberList struct {
	// MemberCount is the number of people in the room (from the first page).
	MemberCount int
	// Members are the listed accounts, de-duplicated, in the order first
	// seen; only filled with WithMembers. Upstream lists at most 1000.
	Members []string
	// Pages is how many requests the call made.
	Pages int
	// RequestID is the upstream RequestId of the first page.
	RequestID string
}

// MemberListOption changes what GetMemberList fetches.
type MemberListOption func(*memberListOptions)

type memberListOptions struct{ listMembers bool }

// WithMembers pages through the member list (one request per page) instead
// of stopping after the first page, which already carries MemberCount.
func WithMembers() MemberListOption {
	return func(o *memberListOptions) { o.listMembers = true }
}

type memberListRequest struct {
	RoomID string `json:"RoomId"`
	Next   string `json:"Next"`
}

// GetMemberList asks how many people are in a room, and with WithMembers
// who they are. It calls v4/live_engine_http_srv/get_member_list, documented
// at https://www.tencentcloud.com/document/product/1071/78156.
func (c *Client) GetMemberList(ctx context.Context, roomID string, opts ...MemberListOption) (*MemberList, error) {
	var o memberListOptions
	for _, opt := range opts {
		opt(&o)
	}
	var (
		out  MemberList
		seen map[string]struct{}
		req  = memberListRequest{RoomID: roomID}
	)
	for {
		if out.Pages == c.maxPages {
			return nil, &TransportError{Command: CommandGetMemberList, Code: "paging",
				Err: fmt.Errorf("room %q: still a Next after %d pages", roomID, c.maxPages)}
		}
		// Without WithMembers the list is not decoded at all, so an odd
		// list cannot fail a count that only needs MemberCount.
		page := memberListPage{listMembers: o.listMembers}
		requestID, err := c.call(ctx, CommandGetMemberList, req, &page)
		if err != nil {
			return nil, err
		}
		out.Pages++
		if out.Pages == 1 {
			out.MemberCount = page.MemberCount
			out.RequestID = requestID
		}
		if !o.listMembers {
			return &out, nil
		}
		if seen == nil {
			seen = make(map[string]struct{}, len(page.Members))
		}
		for _, account := range page.Members {
			if _, dup := seen[account]; !dup {
				seen[account] = struct{}{}
				out.Members = append(out.Members, account)
			}
		}
		if page.Next == "" {
			return &out, nil
		}
		req.Next = page.Next
	}
}

// call does one command, retrying once with a fresh signature after a
// 70001 (UserSig expired) answer. It returns the answer's RequestId.
func (c *Client) call(ctx context.Context, command string, body, out any) (string, error) {
	requestID, err := c.do(ctx, command, body, out)
	var apiErr *APIError
	if errors.As(err, &apiErr) && apiErr.Code == CodeUserSigExpired {
		c.signer.Invalidate()
		requestID, err = c.do(ctx, command, body, out)
	}
	return requestID, err
}

// do sends one request through the gate and decodes its answer.
func (c *Client) do(ctx context.Context, command string, body, out any) (string, error) {
	if c.gate != nil {
		done, err := c.gate(ctx, command)
		if err != nil {
			return "", &TransportError{Command: command, Code: contextCode(ctx, err), Err: err}
		}
		defer done()
	}
	start := time.Now()
	requestID, err := c.roundTrip(ctx, command, body, out)
	if c.observe != nil {
		c.observe(RequestInfo{Command: command, Duration: time.Since(start), Err: err})
	}
	return requestID, err
}

func (c *Client) roundTrip(ctx context.Context, command string, body, out any) (string, error) {
	payload, err := json.Marshal(body)
	if err != nil {
		return "", fmt.Errorf("%s: encode request: %w", command, err)
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.requestURL(command), bytes.NewReader(payload))
	if err != nil {
		return "", fmt.Errorf("%s: build request: %w", command, redactError(err))
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.userAgent)

	resp, err := c.httpClient.Do(req)
	if err != nil {
		return "", &TransportError{Command: command, Code: transportCode(ctx, err), Err: redactError(err)}
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, c.maxBody+1))
	if err != nil {
		return "", &TransportError{Command: command, Code: transportCode(ctx, err), Err: redactError(err)}
	}
	if resp.StatusCode != http.StatusOK {
		return "", &TransportError{Command: command, Code: "http_" + strconv.Itoa(resp.StatusCode),
			Err: fmt.Errorf("HTTP status %s", resp.Status)}
	}
	if int64(len(data)) > c.maxBody {
		return "", &TransportError{Command: command, Code: "body_too_large",
			Err: fmt.Errorf("response body larger than %d bytes", c.maxBody)}
	}
	return decodeAnswer(command, data, out)
}

func (c *Client) requestURL(command string) string {
	q := url.Values{}
	q.Set("sdkappid", strconv.FormatUint(c.sdkAppID, 10))
	q.Set("identifier", c.identifier)
	q.Set("usersig", c.signer.UserSig())
	q.Set("random", strconv.FormatUint(uint64(rand.Uint32()), 10))
	q.Set("contenttype", "json")
	u := *c.baseURL
	u.Path += commandPath(command)
	u.RawQuery = q.Encode()
	return u.String()
}

// transportCode names a failure to get an answer.
func transportCode(ctx context.Context, err error) string {
	if code := contextCode(ctx, err); code != "network" {
		return code
	}
	var netErr net.Error
	if errors.As(err, &netErr) && netErr.Timeout() {
		return "timeout"
	}
	return "network"
}

// contextCode tells a cancelled caller from a deadline.
func contextCode(ctx context.Context, err error) string {
	switch {
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(ctx.Err(), context.DeadlineExceeded):
		return "timeout"
	case errors.Is(err, context.Canceled) || errors.Is(ctx.Err(), context.Canceled):
		return "canceled"
	}
	return "network"
}

// redactError drops the request URL (which carries the usersig) from
// net/http's errors and scrubs any usersig left in the text.
func redactError(err error) error {
	var urlErr *url.Error
	if errors.As(err, &urlErr) {
		err = urlErr.Err
	}
	msg := err.Error()
	if !strings.Contains(msg, "usersig=") {
		return err
	}
	return redactedError{msg: RedactUserSig(msg), err: err}
}

type redactedError struct {
	msg string
	err error
}

func (e redactedError) Error() string { return e.msg }
func (e redactedError) Unwrap() error { return e.err }

// RedactUserSig replaces the value of every usersig= query parameter in s
// with "REDACTED".
func RedactUserSig(s string) string {
	const param = "usersig="
	var b strings.Builder
	for {
		i := strings.Index(s, param)
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		b.WriteString(s[:i+len(param)])
		b.WriteString("REDACTED")
		s = s[i+len(param):]
		end := strings.IndexAny(s, "& \"'")
		if end < 0 {
			return b.String()
		}
		s = s[end:]
	}
}
