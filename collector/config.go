package collector

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/common/config"
	"github.com/prometheus/common/model"
	"gopkg.in/yaml.v3"

	"github.com/tencent-live-exporter/tencent_live_exporter/tencent"
)

// Defaults for an app's configuration keys.
const (
	DefaultMaxQPS          = 100.0
	DefaultRefreshInterval = 40 * time.Second // upstream data granularity
	DefaultRequestTimeout  = tencent.DefaultTimeout
	DefaultUserSigTTL      = tencent.DefaultUserSigTTL
	// DefaultMaxAgeFactor × refresh_interval is max_age's default: how old
	// a room's values may get, when they cannot be refreshed, before they
	// are no longer served.
	DefaultMaxAgeFactor = 3
	// UpstreamQPSLimit is get_member_list's documented limit per app.
	UpstreamQPSLimit = 200.0
	// MaxQPSTotalLimit bounds max_qps_total: the documented limits of the
	// commands added up (710).
	MaxQPSTotalLimit = UpstreamQPSLimit + RoomListQPSLimit + RoomInfoQPSLimit + RoomStatsQPSLimit + RoomSeatsQPSLimit
	// MaxConcurrencyLimit bounds max_concurrency: far above any need.
	MaxConcurrencyLimit = 1000
	// latencyAllowance sizes the default concurrency: enough requests in
	// flight that a 250 ms upstream still lets max_qps through.
	latencyAllowance = 250 * time.Millisecond
)

// Upper bounds of durations: far above any sensible value, low enough that
// no arithmetic on them can overflow.
const (
	MaxRefreshInterval   = 24 * time.Hour
	MaxOfflineBackoffMax = 7 * 24 * time.Hour
	MaxMaxAge            = 7 * 24 * time.Hour
	MaxRequestTimeout    = 5 * time.Minute
	MaxUserSigTTL        = 365 * 24 * time.Hour
)

// Config is the exporter's configuration file.
type Config struct {
	Apps []*AppConfig `yaml:"apps"`
}

// AppConfig is one Tencent app (SDKAppID) and the rooms watched in it.
type AppConfig struct {
	Name              string           `yaml:"name,omitempty"`
	SDKAppID          uint64           `yaml:"sdkappid"`
	Region            string           `yaml:"region,omitempty"`
	Endpoint          string           `yaml:"endpoint,omitempty"`
	Identifier        string           `yaml:"identifier"`
	SecretKey         config.Secret    `yaml:"secret_key,omitempty"`
	SecretKeyFile     string           `yaml:"secret_key_file,omitempty"`
	UserSigTTL        model.Duration   `yaml:"usersig_ttl"`
	MaxQPS            float64          `yaml:"max_qps"`
	MaxQPSTotal       float64          `yaml:"max_qps_total,omitempty"`
	MaxConcurrency    int              `yaml:"max_concurrency"`
	RefreshInterval   model.Duration   `yaml:"refresh_interval"`
	OfflineBackoffMax model.Duration   `yaml:"offline_backoff_max"`
	MaxAge            model.Duration   `yaml:"max_age"`
	RequestTimeout    model.Duration   `yaml:"request_timeout"`
	Rooms             []RoomConfig     `yaml:"rooms,omitempty"`
	Discovery         *DiscoveryConfig `yaml:"discovery,omitempty"`
	RoomInfo          *RoomInfoConfig  `yaml:"room_info,omitempty"`
	RoomStats         *RoomStatsConfig `yaml:"room_stats,omitempty"`
	RoomSeats         *RoomSeatsConfig `yaml:"room_seats,omitempty"`
	Webhook           *WebhookConfig   `yaml:"webhook,omitempty"`
	// Shard pins the app to one shard (--shard.index), overriding the
	// hash: for a big app that needs a process to itself.
	Shard *int `yaml:"shard,omitempty"`

	line           int // where the app starts in the file, for errors
	secretFileLine int // where secret_key_file is set
}

// Defaults and limits of the optional per-command blocks.
const (
	DefaultDiscoveryInterval = 60 * time.Second
	DefaultDiscoveryMaxQPS   = 10.0
	// RoomListQPSLimit is get_room_list's documented limit per app.
	RoomListQPSLimit         = 10.0
	DefaultDiscoveryMaxPages = 500
	MaxDiscoveryMaxPages     = 100000
	DefaultRoomInfoInterval  = 10 * time.Minute
	DefaultRoomInfoMaxQPS    = 20.0
	// RoomInfoQPSLimit is get_room_info's documented limit per app.
	RoomInfoQPSLimit         = 200.0
	DefaultRoomStatsInterval = 60 * time.Second
	DefaultRoomStatsMaxQPS   = 50.0
	// RoomStatsQPSLimit is get_room_stats' documented limit per app.
	RoomStatsQPSLimit        = 100.0
	DefaultRoomSeatsInterval = 60 * time.Second
	MinRoomSeatsInterval     = time.Second
	DefaultRoomSeatsMaxQPS   = 50.0
	// RoomSeatsQPSLimit is get_seat_list's documented limit per app.
	RoomSeatsQPSLimit = 200.0
	// MaxTaskInterval bounds the intervals of the per-command blocks.
	MaxTaskInterval = 24 * time.Hour
)

// DiscoveryConfig finds an app's rooms with get_room_list.
type DiscoveryConfig struct {
	Interval   model.Duration `yaml:"interval"`
	MaxQPS     float64        `yaml:"max_qps"`
	Include    []string       `yaml:"include,omitempty"`
	Exclude    []string       `yaml:"exclude,omitempty"`
	Categories []int          `yaml:"categories,omitempty"`
	Owners     []string       `yaml:"owners,omitempty"`
	MaxRooms   int            `yaml:"max_rooms,omitempty"`
	MaxPages   int            `yaml:"max_pages"`

	include, exclude []*regexp.Regexp
	line             int
}

// RoomInfoConfig fetches each room's metadata with get_room_info.
type RoomInfoConfig struct {
	Interval model.Duration `yaml:"interval"`
	MaxQPS   float64        `yaml:"max_qps"`

	line int
}

// RoomStatsConfig fetches each room's engagement counters with
// get_room_stats.
type RoomStatsConfig struct {
	Interval model.Duration `yaml:"interval"`
	MaxQPS   float64        `yaml:"max_qps"`

	line int
}

// RoomSeatsConfig fetches who sits on each room's seats with
// get_seat_list.
type RoomSeatsConfig struct {
	Interval model.Duration `yaml:"interval"`
	MaxQPS   float64        `yaml:"max_qps"`

	line int
}

// Defaults and limits of the webhook block.
const (
	DefaultReconcileInterval = 10 * time.Minute
	// MaxWebhookTokenLength is the longest token Tencent accepts.
	MaxWebhookTokenLength = 128
)

// WebhookConfig receives the app's Live webhook callbacks (see the
// --callback.* flags): events apply at once, and discovery sweeps slow to
// reconcile_interval while they arrive.
type WebhookConfig struct {
	Token             config.Secret  `yaml:"token,omitempty"`
	TokenFile         string         `yaml:"token_file,omitempty"`
	ReconcileInterval model.Duration `yaml:"reconcile_interval"`
	// AllowUnsigned accepts callbacks without a Sign: only behind a
	// network path that nobody else can reach.
	AllowUnsigned bool `yaml:"allow_unsigned,omitempty"`

	line, tokenFileLine int
}

// UnmarshalYAML sets defaults, decodes and validates a webhook block.
func (c *WebhookConfig) UnmarshalYAML(node *yaml.Node) error {
	*c = WebhookConfig{ReconcileInterval: model.Duration(DefaultReconcileInterval), line: node.Line}
	if err := decodeFields(node, c, "webhook", "webhook"); err != nil {
		return err
	}
	c.tokenFileLine = keyLine(node, "token_file")
	set := 0
	for _, on := range []bool{c.Token != "", c.TokenFile != "", c.AllowUnsigned} {
		if on {
			set++
		}
	}
	switch {
	case set == 0:
		return &positionError{line: c.line, err: errors.New("webhook: one of token, token_file and allow_unsigned: true must be set (an unsigned receiver accepts anybody's events)")}
	case set > 1:
		return &positionError{line: c.line, err: errors.New("webhook: at most one of token, token_file and allow_unsigned may be set")}
	case len(c.Token) > MaxWebhookTokenLength:
		return &positionError{line: keyLine(node, "token"), err: fmt.Errorf("webhook: token must be 1 to %d characters, got %d", MaxWebhookTokenLength, len(c.Token))}
	case c.ReconcileInterval <= 0 || c.ReconcileInterval > model.Duration(MaxTaskInterval):
		return &positionError{line: keyLine(node, "reconcile_interval"), err: fmt.Errorf("webhook: reconcile_interval must be in (0s, %s], got %s", model.Duration(MaxTaskInterval), c.ReconcileInterval)}
	}
	return nil
}

// loadWebhookTokens reads every webhook token_file, relative to dir.
func (c *Config) loadWebhookTokens(dir string) error {
	for _, a := range c.Apps {
		w := a.Webhook
		if w == nil || w.TokenFile == "" {
			continue
		}
		if !filepath.IsAbs(w.TokenFile) {
			w.TokenFile = filepath.Join(dir, w.TokenFile)
		}
		data, err := os.ReadFile(w.TokenFile)
		if err != nil {
			return fmt.Errorf("line %d: app %q: webhook: token_file: %w", w.tokenFileLine, a.Name, err)
		}
		token := strings.TrimSpace(string(data))
		if token == "" || len(token) > MaxWebhookTokenLength {
			return fmt.Errorf("line %d: app %q: webhook: token_file %s must hold 1 to %d characters", w.tokenFileLine, a.Name, w.TokenFile, MaxWebhookTokenLength)
		}
		w.Token = config.Secret(token)
	}
	return nil
}

// UnmarshalYAML sets defaults, decodes and validates a discovery block.
func (d *DiscoveryConfig) UnmarshalYAML(node *yaml.Node) error {
	*d = DiscoveryConfig{Interval: model.Duration(DefaultDiscoveryInterval), MaxQPS: DefaultDiscoveryMaxQPS, MaxPages: DefaultDiscoveryMaxPages, line: node.Line}
	if err := decodeFields(node, d, "discovery", "discovery"); err != nil {
		return err
	}
	fail := func(key, format string, args ...any) error {
		return &positionError{line: keyLine(node, key), err: fmt.Errorf("discovery: "+format, args...)}
	}
	switch {
	case d.Interval <= 0 || d.Interval > model.Duration(MaxTaskInterval):
		return fail("interval", "interval must be in (0s, %s], got %s", model.Duration(MaxTaskInterval), d.Interval)
	case !(d.MaxQPS > 0 && d.MaxQPS <= RoomListQPSLimit):
		return fail("max_qps", "max_qps must be in (0, %g], got %g", RoomListQPSLimit, d.MaxQPS)
	case d.MaxRooms < 0 || d.MaxRooms == 0 && hasKey(node, "max_rooms"):
		return fail("max_rooms", "max_rooms must be at least 1, got %d", d.MaxRooms)
	case d.MaxPages < 1 || d.MaxPages > MaxDiscoveryMaxPages:
		return fail("max_pages", "max_pages must be in [1, %d], got %d", MaxDiscoveryMaxPages, d.MaxPages)
	}
	for _, c := range d.Categories {
		if c < 0 {
			return fail("categories", "categories: %d is negative", c)
		}
	}
	for _, o := range d.Owners {
		if o == "" {
			return fail("owners", "owners: empty account")
		}
	}
	for _, list := range []struct {
		key  string
		in   []string
		into *[]*regexp.Regexp
	}{{"include", d.Include, &d.include}, {"exclude", d.Exclude, &d.exclude}} {
		for i, expr := range list.in {
			re, err := regexp.Compile(expr)
			if err != nil {
				return fail(list.key, "%s[%d]: invalid regular expression %q: %v", list.key, i, expr, err)
			}
			*list.into = append(*list.into, re)
		}
	}
	return nil
}

// keyLine is the line of key in a mapping node, or the node's own line.
func keyLine(node *yaml.Node, key string) int {
	for i := 0; i+1 < len(node.Content); i += 2 {
		if node.Content[i].Value == key {
			return node.Content[i].Line
		}
	}
	return node.Line
}

// hasKey reports whether a mapping node sets key.
func hasKey(node *yaml.Node, key string) bool {
	for i := 0; i+1 < len(node.Content); i += 2 {
		if node.Content[i].Value == key {
			return true
		}
	}
	return false
}

// keeps reports whether the filters keep a listed room.
func (d *DiscoveryConfig) keeps(id, owner string, categories []int) bool {
	if len(d.include) > 0 && !slices.ContainsFunc(d.include, func(re *regexp.Regexp) bool { return re.MatchString(id) }) {
		return false
	}
	if slices.ContainsFunc(d.exclude, func(re *regexp.Regexp) bool { return re.MatchString(id) }) {
		return false
	}
	if len(d.Owners) > 0 && !slices.Contains(d.Owners, owner) {
		return false
	}
	if len(d.Categories) > 0 && !slices.ContainsFunc(categories, func(c int) bool { return slices.Contains(d.Categories, c) }) {
		return false
	}
	return true
}

// UnmarshalYAML sets defaults, decodes and validates a room_info block.
func (c *RoomInfoConfig) UnmarshalYAML(node *yaml.Node) error {
	*c = RoomInfoConfig{Interval: model.Duration(DefaultRoomInfoInterval), MaxQPS: DefaultRoomInfoMaxQPS, line: node.Line}
	if err := decodeFields(node, c, "room_info", "room_info"); err != nil {
		return err
	}
	return validateTask("room_info", node, c.Interval, c.MaxQPS, RoomInfoQPSLimit)
}

// UnmarshalYAML sets defaults, decodes and validates a room_stats block.
func (c *RoomStatsConfig) UnmarshalYAML(node *yaml.Node) error {
	*c = RoomStatsConfig{Interval: model.Duration(DefaultRoomStatsInterval), MaxQPS: DefaultRoomStatsMaxQPS, line: node.Line}
	if err := decodeFields(node, c, "room_stats", "room_stats"); err != nil {
		return err
	}
	return validateTask("room_stats", node, c.Interval, c.MaxQPS, RoomStatsQPSLimit)
}

// UnmarshalYAML sets defaults, decodes and validates a room_seats block.
func (c *RoomSeatsConfig) UnmarshalYAML(node *yaml.Node) error {
	*c = RoomSeatsConfig{Interval: model.Duration(DefaultRoomSeatsInterval), MaxQPS: DefaultRoomSeatsMaxQPS, line: node.Line}
	if err := decodeFields(node, c, "room_seats", "room_seats"); err != nil {
		return err
	}
	if c.Interval > 0 && c.Interval < model.Duration(MinRoomSeatsInterval) {
		return &positionError{line: keyLine(node, "interval"), err: fmt.Errorf("room_seats: interval must be at least %s, got %s", model.Duration(MinRoomSeatsInterval), c.Interval)}
	}
	return validateTask("room_seats", node, c.Interval, c.MaxQPS, RoomSeatsQPSLimit)
}

func validateTask(block string, node *yaml.Node, interval model.Duration, maxQPS, limit float64) error {
	switch {
	case interval <= 0 || interval > model.Duration(MaxTaskInterval):
		return &positionError{line: keyLine(node, "interval"), err: fmt.Errorf("%s: interval must be in (0s, %s], got %s", block, model.Duration(MaxTaskInterval), interval)}
	case !(maxQPS > 0 && maxQPS <= limit):
		return &positionError{line: keyLine(node, "max_qps"), err: fmt.Errorf("%s: max_qps must be in (0, %g], got %g", block, limit, maxQPS)}
	}
	return nil
}

// RoomConfig is one watched room.
type RoomConfig struct {
	ID     string            `yaml:"id"`
	Labels map[string]string `yaml:"labels,omitempty"`

	line int
}

// labelNameRE is Prometheus' legacy label name syntax.
var labelNameRE = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)

// Load reads, decodes and validates a configuration file. Relative
// secret_key_file paths resolve against systemd's credentials directory
// when it holds them, else against the file's directory (see
// loadSecrets), and every secret_key_file is read now.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	cfg, err := Decode(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	if err := cfg.loadWebhookTokens(filepath.Dir(path)); err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	if err := cfg.loadSecrets(filepath.Dir(path)); err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	return cfg, nil
}

// Decode decodes and validates a configuration without touching the file
// system: secret_key_file paths are checked but not read.
func Decode(r io.Reader) (*Config, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var cfg Config
	if err := dec.Decode(&cfg); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("empty configuration: apps must list at least one app")
		}
		return nil, syntaxError(data, err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("line %d: a second YAML document; the configuration is one document", extra.Line)
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	return &cfg, nil
}

// yamlErrorRE matches yaml.v3's syntax errors.
var yamlErrorRE = regexp.MustCompile(`^yaml: line (\d+): (.+)$`)

// maxSyntaxScan bounds the lines syntaxError parses prefixes of.
const maxSyntaxScan = 5000

// syntaxError rewrites a yaml.v3 syntax error to name the line at fault.
// yaml.v3 reports the line where the enclosing block starts ("line 1: did
// not find expected key" for a key misindented on line 5), so the line is
// found again: the first n such that the first n lines of the file fail
// to parse with the same message. Other errors are returned unchanged.
func syntaxError(data []byte, err error) error {
	m := yamlErrorRE.FindStringSubmatch(err.Error())
	if m == nil {
		return err
	}
	line, _ := strconv.Atoi(m[1])
	msg := m[2]
	lines := bytes.SplitAfter(data, []byte("\n"))
	for n := line; n <= len(lines) && n <= maxSyntaxScan; n++ {
		var node yaml.Node
		perr := yaml.Unmarshal(bytes.Join(lines[:n], nil), &node)
		if pm := yamlErrorRE.FindStringSubmatch(fmt.Sprint(perr)); pm != nil && pm[2] == msg {
			line = n
			break
		}
	}
	switch msg {
	case "did not find expected key", "did not find expected '-' indicator", "mapping values are not allowed in this context":
		msg += " (check the indentation of this line and the one before)"
	}
	return &positionError{line: line, err: fmt.Errorf("invalid YAML: %s", msg)}
}

// UnmarshalYAML rejects unknown keys (yaml.v3 does not pass KnownFields to
// custom unmarshalers) and decodes.
func (c *Config) UnmarshalYAML(node *yaml.Node) error {
	return decodeFields(node, c, "top level", "")
}

// UnmarshalYAML sets defaults, decodes and validates one app.
func (a *AppConfig) UnmarshalYAML(node *yaml.Node) error {
	*a = AppConfig{
		UserSigTTL:      model.Duration(DefaultUserSigTTL),
		MaxQPS:          DefaultMaxQPS,
		RefreshInterval: model.Duration(DefaultRefreshInterval),
		RequestTimeout:  model.Duration(DefaultRequestTimeout),
		line:            node.Line,
	}
	unquoteSDKAppID(node)
	if err := decodeFields(node, a, "app", ""); err != nil {
		return err
	}
	// The console shows "Singapore"; the regions are matched in lower case.
	a.Region = strings.ToLower(strings.TrimSpace(a.Region))
	a.secretFileLine = keyLine(node, "secret_key_file")
	if a.Name == "" {
		a.Name = strconv.FormatUint(a.SDKAppID, 10)
	}
	if a.OfflineBackoffMax == 0 && a.RefreshInterval > 0 && a.RefreshInterval <= model.Duration(MaxRefreshInterval) {
		a.OfflineBackoffMax = min(4*a.RefreshInterval, model.Duration(MaxOfflineBackoffMax))
	}
	if a.MaxAge == 0 && a.RefreshInterval > 0 && a.RefreshInterval <= model.Duration(MaxRefreshInterval) {
		a.MaxAge = min(DefaultMaxAgeFactor*a.RefreshInterval, model.Duration(MaxMaxAge))
	}
	if a.Discovery != nil && a.Discovery.MaxRooms == 0 && a.RefreshInterval > 0 && a.RefreshInterval <= model.Duration(MaxRefreshInterval) {
		// What the get_member_list budget can refresh in time.
		a.Discovery.MaxRooms = max(1, int(a.MaxQPS*time.Duration(a.RefreshInterval).Seconds()))
	}
	if a.MaxConcurrency == 0 && a.MaxQPS > 0 {
		a.MaxConcurrency = max(4, int(math.Ceil(a.MaxQPS*latencyAllowance.Seconds())))
	}
	if err := a.validate(); err != nil {
		line := a.line
		var pe *positionError
		var ke *keyError
		switch {
		case errors.As(err, &pe):
			line, err = pe.line, pe.err
		case errors.As(err, &ke):
			// The line of the key at fault, or the app's when it is unset
			// (a default, or a key that must be set).
			line, err = keyLine(node, ke.key), ke.err
		}
		return &positionError{line: line, err: fmt.Errorf("app %q: %w", a.Name, err)}
	}
	return nil
}

// unquoteSDKAppID lets sdkappid be quoted, as copied from the console
// ("1400012345"): a string of digits decodes as the number it spells.
func unquoteSDKAppID(node *yaml.Node) {
	for i := 0; i+1 < len(node.Content); i += 2 {
		k, v := node.Content[i], node.Content[i+1]
		if k.Value != "sdkappid" || v.Kind != yaml.ScalarNode || v.ShortTag() != "!!str" {
			continue
		}
		digits := strings.TrimSpace(v.Value)
		if _, err := strconv.ParseUint(digits, 10, 64); err == nil {
			v.Tag, v.Value, v.Style = "!!int", digits, 0
		}
	}
}

// keyError is a validation error about one key of a block; the block's
// UnmarshalYAML turns it into a positionError at that key's line.
type keyError struct {
	key string
	err error
}

func (e *keyError) Error() string { return e.err.Error() }
func (e *keyError) Unwrap() error { return e.err }

// at ties a validation error to key.
func at(key string, err error) error { return &keyError{key: key, err: err} }

// UnmarshalYAML decodes and validates one room.
func (r *RoomConfig) UnmarshalYAML(node *yaml.Node) error {
	if err := decodeFields(node, r, "room", roomContext(node)); err != nil {
		return err
	}
	r.line = node.Line
	if r.ID == "" {
		return &positionError{line: r.line, err: errors.New("room: id must not be empty")}
	}
	names := slices.Sorted(maps.Keys(r.Labels)) // report the first bad one, always the same
	for _, name := range names {
		switch {
		case !labelNameRE.MatchString(name) || strings.HasPrefix(name, "__"):
			return &positionError{line: r.line, err: fmt.Errorf("room %q: invalid label name %q (must match [a-zA-Z_][a-zA-Z0-9_]* and not start with __)", r.ID, name)}
		case name == "app" || name == "room":
			return &positionError{line: r.line, err: fmt.Errorf("room %q: label name %q is reserved", r.ID, name)}
		}
	}
	return nil
}

func (a *AppConfig) validate() error {
	switch {
	case a.SDKAppID == 0:
		return at("sdkappid", errors.New("sdkappid must be set"))
	case a.Identifier == "":
		return at("identifier", errors.New("identifier must be set"))
	case a.Region == "" && a.Endpoint == "":
		return errors.New("one of region and endpoint must be set")
	case a.Region != "" && a.Endpoint != "":
		return at("endpoint", errors.New("at most one of region and endpoint may be set"))
	case a.SecretKey == "" && a.SecretKeyFile == "":
		return errors.New("one of secret_key and secret_key_file must be set")
	case a.SecretKey != "" && a.SecretKeyFile != "":
		return at("secret_key", errors.New("at most one of secret_key and secret_key_file may be set"))
	case !(a.MaxQPS > 0 && a.MaxQPS <= UpstreamQPSLimit):
		return at("max_qps", fmt.Errorf("max_qps must be in (0, %g], got %g", UpstreamQPSLimit, a.MaxQPS))
	case a.MaxQPSTotal < 0 || a.MaxQPSTotal > MaxQPSTotalLimit || math.IsNaN(a.MaxQPSTotal):
		return at("max_qps_total", fmt.Errorf("max_qps_total must be in (0, %g] when set, got %g", MaxQPSTotalLimit, a.MaxQPSTotal))
	case a.MaxConcurrency < 1 || a.MaxConcurrency > MaxConcurrencyLimit:
		return at("max_concurrency", fmt.Errorf("max_concurrency must be in [1, %d], got %d", MaxConcurrencyLimit, a.MaxConcurrency))
	case a.UserSigTTL <= 0 || a.UserSigTTL > model.Duration(MaxUserSigTTL):
		return at("usersig_ttl", fmt.Errorf("usersig_ttl must be in (0s, %s], got %s", model.Duration(MaxUserSigTTL), a.UserSigTTL))
	case a.RefreshInterval <= 0 || a.RefreshInterval > model.Duration(MaxRefreshInterval):
		return at("refresh_interval", fmt.Errorf("refresh_interval must be in (0s, %s], got %s", model.Duration(MaxRefreshInterval), a.RefreshInterval))
	case a.RequestTimeout <= 0 || a.RequestTimeout > model.Duration(MaxRequestTimeout):
		return at("request_timeout", fmt.Errorf("request_timeout must be in (0s, %s], got %s", model.Duration(MaxRequestTimeout), a.RequestTimeout))
	case a.OfflineBackoffMax < a.RefreshInterval || a.OfflineBackoffMax > model.Duration(MaxOfflineBackoffMax):
		return at("offline_backoff_max", fmt.Errorf("offline_backoff_max must be in [refresh_interval (%s), %s], got %s", a.RefreshInterval, model.Duration(MaxOfflineBackoffMax), a.OfflineBackoffMax))
	case a.Shard != nil && *a.Shard < 0:
		return at("shard", fmt.Errorf("shard must be at least 0, got %d", *a.Shard))
	case a.MaxAge < a.RefreshInterval || a.MaxAge > model.Duration(MaxMaxAge):
		return at("max_age", fmt.Errorf("max_age must be in [refresh_interval (%s), %s], got %s", a.RefreshInterval, model.Duration(MaxMaxAge), a.MaxAge))
	case len(a.Rooms) == 0 && a.Discovery == nil:
		return at("rooms", errors.New("rooms must list at least one room (or set discovery)"))
	}
	if a.Region != "" {
		if _, ok := tencent.RegionBaseURL(a.Region); !ok {
			return at("region", fmt.Errorf("unknown region %q (known: %s)", a.Region, strings.Join(tencent.Regions(), ", ")))
		}
	}
	if a.Endpoint != "" {
		if _, err := tencent.ParseBaseURL(a.Endpoint); err != nil {
			return at("endpoint", fmt.Errorf("endpoint: %w", err))
		}
	}
	seen := make(map[string]int, len(a.Rooms))
	for _, r := range a.Rooms { // null entries were rejected by decodeFields
		if first, dup := seen[r.ID]; dup {
			return &positionError{line: r.line, err: fmt.Errorf("duplicate room id %q (first at line %d)", r.ID, first)}
		}
		seen[r.ID] = r.line
	}
	return nil
}

func (c *Config) validate() error {
	if len(c.Apps) == 0 {
		return errors.New("apps must list at least one app")
	}
	names := make(map[string]int, len(c.Apps))
	ids := make(map[uint64]int, len(c.Apps))
	for _, a := range c.Apps { // null entries were rejected by decodeFields
		// sdkappid first: an unnamed app's name is its sdkappid.
		if first, dup := ids[a.SDKAppID]; dup {
			return fmt.Errorf("line %d: duplicate sdkappid %d (first at line %d)", a.line, a.SDKAppID, first)
		}
		if first, dup := names[a.Name]; dup {
			return fmt.Errorf("line %d: duplicate app name %q (first at line %d)", a.line, a.Name, first)
		}
		names[a.Name] = a.line
		ids[a.SDKAppID] = a.line
	}
	return nil
}

// CredentialsDirectoryEnv is the environment variable in which systemd
// names the directory of the credentials LoadCredential= passes a service.
const CredentialsDirectoryEnv = "CREDENTIALS_DIRECTORY"

// loadSecrets reads every secret_key_file. A relative path is looked up
// first among systemd's credentials ($CREDENTIALS_DIRECTORY, when the
// service has any), then in dir, the configuration file's directory. So
// one configuration naming prod-live.key works for the service, which
// reads the copy LoadCredential= made of /etc/tencent_live_exporter/
// prod-live.key, and for --config.check run as root before the service
// ever started, which reads that file itself.
func (c *Config) loadSecrets(dir string) error {
	credentials := os.Getenv(CredentialsDirectoryEnv)
	for _, a := range c.Apps {
		if a.SecretKeyFile == "" {
			continue
		}
		hint := ""
		if !filepath.IsAbs(a.SecretKeyFile) {
			rel := a.SecretKeyFile
			a.SecretKeyFile = filepath.Join(dir, rel)
			if credentials != "" {
				if p := filepath.Join(credentials, rel); fileExists(p) {
					a.SecretKeyFile = p
				} else {
					hint = fmt.Sprintf(" (nor is it among the service's credentials in %s: add LoadCredential=%s:%s to the unit)", credentials, rel, filepath.Join(dir, rel))
				}
			}
		}
		data, err := os.ReadFile(a.SecretKeyFile)
		if err != nil {
			return fmt.Errorf("line %d: app %q: secret_key_file: %w%s", a.secretFileLine, a.Name, err, hint)
		}
		key := strings.TrimSpace(string(data))
		if key == "" {
			return fmt.Errorf("line %d: app %q: secret_key_file %s is empty", a.secretFileLine, a.Name, a.SecretKeyFile)
		}
		a.SecretKey = config.Secret(key)
	}
	return nil
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// String renders the configuration as YAML with every secret replaced by
// "<secret>", for the /config page.
func (c *Config) String() string {
	shown := Config{Apps: make([]*AppConfig, len(c.Apps))}
	for i, a := range c.Apps {
		cp := *a
		if cp.SecretKeyFile != "" {
			cp.SecretKey = "" // read from the file; show the path only
		}
		if w := cp.Webhook; w != nil && w.TokenFile != "" {
			wc := *w
			wc.Token = ""
			cp.Webhook = &wc
		}
		shown.Apps[i] = &cp
	}
	out, err := yaml.Marshal(shown)
	if err != nil {
		return fmt.Sprintf("# cannot render config: %v\n", err)
	}
	return string(out)
}

// positionError is an error that already names its line.
type positionError struct {
	line int
	err  error
}

func (e *positionError) Error() string { return fmt.Sprintf("line %d: %v", e.line, e.err) }
func (e *positionError) Unwrap() error { return e.err }

// roomContext names a room in errors about its keys: by its id when the
// mapping sets one.
func roomContext(node *yaml.Node) string {
	for i := 0; i+1 < len(node.Content); i += 2 {
		if k, v := node.Content[i], node.Content[i+1]; k.Value == "id" && v.Kind == yaml.ScalarNode && v.Value != "" {
			return fmt.Sprintf("room %q", v.Value)
		}
	}
	return "room"
}

// decodeFields decodes a mapping into the struct out points to, key by
// key, so every error names its key and line. It also rejects unknown keys,
// because yaml.v3 does not pass KnownFields on to custom unmarshalers.
// what names the mapping in messages about its keys ("unknown key in
// room"); context, when not empty, leads messages about their values
// (`room "live-1": labels: ...`), as the block's own validation does.
func decodeFields(node *yaml.Node, out any, what, context string) error {
	if node.Kind != yaml.MappingNode {
		return &positionError{line: node.Line, err: fmt.Errorf("%s must be a mapping, got %s", what, nodeKind(node))}
	}
	v := reflect.ValueOf(out).Elem()
	fields := make(map[string]int, v.NumField())
	for i := range v.NumField() {
		if tag, _, _ := strings.Cut(v.Type().Field(i).Tag.Get("yaml"), ","); tag != "" && tag != "-" {
			fields[tag] = i
		}
	}
	if context != "" {
		context += ": "
	}
	// Every key first, then the values: a key that slipped out of its
	// block (a dedented rooms:) is reported as such, not as what its block
	// then lacks.
	seen := make(map[string]int, len(node.Content)/2)
	for i := 0; i+1 < len(node.Content); i += 2 {
		key := node.Content[i]
		if _, ok := fields[key.Value]; !ok {
			return &positionError{line: key.Line, err: fmt.Errorf("unknown key %q in %s%s", key.Value, what, misplacedHint(key.Value, what))}
		}
		if first, dup := seen[key.Value]; dup {
			return &positionError{line: key.Line, err: fmt.Errorf("duplicate key %q in %s (first at line %d)", key.Value, what, first)}
		}
		seen[key.Value] = key.Line
	}
	for i := 0; i+1 < len(node.Content); i += 2 {
		key, value := node.Content[i], node.Content[i+1]
		idx := fields[key.Value]
		if t := v.Field(idx).Type(); value.ShortTag() == "!!null" && t.Kind() == reflect.Pointer && t.Elem().Kind() == reflect.Struct {
			// yaml.v3 leaves the block nil, which turns it off: surely not
			// what a key written without a value meant.
			return &positionError{line: key.Line, err: fmt.Errorf("%s%s: empty block; write `%s: {}` for its defaults, or remove the key to leave it off", context, key.Value, key.Value)}
		}
		if value.Kind == yaml.SequenceNode {
			for j, item := range value.Content {
				if item.ShortTag() == "!!null" { // yaml.v3 would drop it silently
					return &positionError{line: item.Line, err: fmt.Errorf("%s%s[%d]: empty entry", context, key.Value, j)}
				}
			}
		}
		if err := value.Decode(v.Field(idx).Addr().Interface()); err != nil {
			var pe *positionError
			if errors.As(err, &pe) {
				return err // from a nested entry, which named its own line
			}
			var te *yaml.TypeError
			if errors.As(err, &te) {
				path, line, msg := mismatch(value, v.Field(idx).Type())
				return &positionError{line: line, err: fmt.Errorf("%s%s%s: %s", context, key.Value, path, msg)}
			}
			return &positionError{line: value.Line, err: fmt.Errorf("%s%s: %w", context, key.Value, err)}
		}
	}
	return nil
}

// blocks are the mappings of a configuration, by the name decodeFields
// gives them in messages, for misplacedHint: the top level, an app, a
// room, and every block of an app (a pointer to a struct), in the order
// of AppConfig's fields.
var blocks = func() []block {
	b := []block{{"top level", reflect.TypeFor[Config]()}, {"app", reflect.TypeFor[AppConfig]()}, {"room", reflect.TypeFor[RoomConfig]()}}
	app := reflect.TypeFor[AppConfig]()
	for i := range app.NumField() {
		if f := app.Field(i); f.Type.Kind() == reflect.Pointer && f.Type.Elem().Kind() == reflect.Struct {
			tag, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			b = append(b, block{tag, f.Type.Elem()})
		}
	}
	return b
}()

// block is a mapping of the configuration and the type it decodes into.
type block struct {
	name string
	typ  reflect.Type
}

// misplacedHint says, for a key unknown in block what that is a key of
// other blocks, which: usually the key is indented wrongly.
func misplacedHint(key, what string) string {
	var owners []string
	for _, b := range blocks {
		if b.name == what {
			continue
		}
		for i := range b.typ.NumField() {
			if tag, _, _ := strings.Cut(b.typ.Field(i).Tag.Get("yaml"), ","); tag == key {
				owners = append(owners, b.name)
			}
		}
	}
	switch len(owners) {
	case 0:
		return ""
	case 1:
		return fmt.Sprintf(" (%s is a key of %s: check its indentation)", key, owners[0])
	}
	return fmt.Sprintf(" (%s is a key of %s and %s: check its indentation)", key, strings.Join(owners[:len(owners)-1], ", "), owners[len(owners)-1])
}

// mismatch finds, in a node yaml.v3 could not decode into a t, the node at
// fault: for a mapping or a list, the first entry that does not decode
// into t's element type, at any depth. It returns that node's path below
// the key (": tier" for a mapping's entry, "[1]" for a list's, "" for the
// node itself), its line, and what was found and expected there.
func mismatch(n *yaml.Node, t reflect.Type) (path string, line int, msg string) {
	switch {
	case t.Kind() == reflect.Map && n.Kind == yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if !decodesAs(k, t.Key()) {
				return "", k.Line, fmt.Sprintf("cannot use %s as a key", nodeKind(k))
			}
			if !decodesAs(v, t.Elem()) {
				p, l, m := mismatch(v, t.Elem())
				return ": " + k.Value + p, l, m
			}
		}
	case t.Kind() == reflect.Slice && n.Kind == yaml.SequenceNode:
		for i, item := range n.Content {
			if !decodesAs(item, t.Elem()) {
				p, l, m := mismatch(item, t.Elem())
				return fmt.Sprintf("[%d]%s", i, p), l, m
			}
		}
	}
	return "", n.Line, fmt.Sprintf("cannot use %s as %s", nodeKind(n), typeName(t))
}

// decodesAs reports whether n decodes into a t without a type error.
func decodesAs(n *yaml.Node, t reflect.Type) bool {
	var te *yaml.TypeError
	return !errors.As(n.Decode(reflect.New(t).Interface()), &te)
}

// nodeKind names what a YAML node holds, without echoing its value (which
// might be a misplaced secret).
func nodeKind(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias"
	}
	switch n.ShortTag() {
	case "!!str":
		return "a string"
	case "!!int", "!!float":
		return "a number"
	case "!!bool":
		return "a boolean"
	case "!!null":
		return "null"
	}
	return "a " + strings.TrimPrefix(n.ShortTag(), "!!")
}

// typeName says what a field wants, in the user's terms.
func typeName(t reflect.Type) string {
	switch {
	case t == reflect.TypeFor[model.Duration]():
		return "a duration (e.g. 40s)"
	case t.Kind() == reflect.Slice:
		return "a list"
	case t.Kind() == reflect.Map, t.Kind() == reflect.Struct, t.Kind() == reflect.Pointer:
		return "a mapping"
	case t.Kind() == reflect.String:
		return "a string"
	case t.Kind() == reflect.Uint64, t.Kind() == reflect.Int:
		return "an integer"
	case t.Kind() == reflect.Float64:
		return "a number"
	}
	return t.String()
}
