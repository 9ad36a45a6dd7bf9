package collector

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
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
	// UpstreamQPSLimit is get_member_list's documented limit per app.
	UpstreamQPSLimit = 200.0
	// MaxConcurrencyLimit bounds max_concurrency: far above any need.
	MaxConcurrencyLimit = 1000
	// latencyAllowance sizes the default concurrency: enough requests in
	// flight that a 250 ms upstream still lets max_qps through.
	latencyAllowance = 250 * time.Millisecond
)

// Config is the exporter's configuration file.
type Config struct {
	Apps []*AppConfig `yaml:"apps"`
}

// AppConfig is one Tencent app (SDKAppID) and the rooms watched in it.
type AppConfig struct {
	Name              string         `yaml:"name,omitempty"`
	SDKAppID          uint64         `yaml:"sdkappid"`
	Region            string         `yaml:"region,omitempty"`
	Endpoint          string         `yaml:"endpoint,omitempty"`
	Identifier        string         `yaml:"identifier"`
	SecretKey         config.Secret  `yaml:"secret_key,omitempty"`
	SecretKeyFile     string         `yaml:"secret_key_file,omitempty"`
	UserSigTTL        model.Duration `yaml:"usersig_ttl"`
	MaxQPS            float64        `yaml:"max_qps"`
	MaxConcurrency    int            `yaml:"max_concurrency"`
	RefreshInterval   model.Duration `yaml:"refresh_interval"`
	OfflineBackoffMax model.Duration `yaml:"offline_backoff_max"`
	RequestTimeout    model.Duration `yaml:"request_timeout"`
	Rooms             []RoomConfig   `yaml:"rooms"`

	line int // where the app starts in the file, for errors
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
// secret_key_file paths resolve against the file's directory, and every
// secret_key_file is read now.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	cfg, err := Decode(bytes.NewReader(data))
	if err != nil {
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
	dec := yaml.NewDecoder(r)
	dec.KnownFields(true)
	var cfg Config
	if err := dec.Decode(&cfg); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("empty configuration: apps must list at least one app")
		}
		return nil, err
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	return &cfg, nil
}

// UnmarshalYAML rejects unknown keys (yaml.v3 does not pass KnownFields to
// custom unmarshalers) and decodes.
func (c *Config) UnmarshalYAML(node *yaml.Node) error {
	if err := checkKeys(node, reflect.TypeFor[Config](), "top level"); err != nil {
		return err
	}
	type plain Config
	return node.Decode((*plain)(c))
}

// UnmarshalYAML sets defaults, decodes and validates one app.
func (a *AppConfig) UnmarshalYAML(node *yaml.Node) error {
	if err := checkKeys(node, reflect.TypeFor[AppConfig](), "app"); err != nil {
		return err
	}
	*a = AppConfig{
		UserSigTTL:      model.Duration(DefaultUserSigTTL),
		MaxQPS:          DefaultMaxQPS,
		RefreshInterval: model.Duration(DefaultRefreshInterval),
		RequestTimeout:  model.Duration(DefaultRequestTimeout),
		line:            node.Line,
	}
	type plain AppConfig
	if err := node.Decode((*plain)(a)); err != nil {
		return err
	}
	if a.Name == "" {
		a.Name = strconv.FormatUint(a.SDKAppID, 10)
	}
	if a.OfflineBackoffMax == 0 {
		a.OfflineBackoffMax = 4 * a.RefreshInterval
	}
	if a.MaxConcurrency == 0 && a.MaxQPS > 0 {
		a.MaxConcurrency = max(4, int(math.Ceil(a.MaxQPS*latencyAllowance.Seconds())))
	}
	if err := a.validate(); err != nil {
		return fmt.Errorf("line %d: app %q: %w", a.line, a.Name, err)
	}
	return nil
}

// UnmarshalYAML decodes and validates one room.
func (r *RoomConfig) UnmarshalYAML(node *yaml.Node) error {
	if err := checkKeys(node, reflect.TypeFor[RoomConfig](), "room"); err != nil {
		return err
	}
	type plain RoomConfig
	if err := node.Decode((*plain)(r)); err != nil {
		return err
	}
	r.line = node.Line
	if r.ID == "" {
		return fmt.Errorf("line %d: room: id must not be empty", r.line)
	}
	for name := range r.Labels {
		switch {
		case !labelNameRE.MatchString(name) || strings.HasPrefix(name, "__"):
			return fmt.Errorf("line %d: room %q: invalid label name %q (must match [a-zA-Z_][a-zA-Z0-9_]* and not start with __)", r.line, r.ID, name)
		case name == "app" || name == "room":
			return fmt.Errorf("line %d: room %q: label name %q is reserved", r.line, r.ID, name)
		}
	}
	return nil
}

func (a *AppConfig) validate() error {
	switch {
	case a.SDKAppID == 0:
		return errors.New("sdkappid must be set")
	case a.Identifier == "":
		return errors.New("identifier must be set")
	case a.Region == "" && a.Endpoint == "":
		return errors.New("one of region and endpoint must be set")
	case a.Region != "" && a.Endpoint != "":
		return errors.New("at most one of region and endpoint may be set")
	case a.SecretKey == "" && a.SecretKeyFile == "":
		return errors.New("one of secret_key and secret_key_file must be set")
	case a.SecretKey != "" && a.SecretKeyFile != "":
		return errors.New("at most one of secret_key and secret_key_file may be set")
	case !(a.MaxQPS > 0 && a.MaxQPS <= UpstreamQPSLimit):
		return fmt.Errorf("max_qps must be in (0, %g], got %g", UpstreamQPSLimit, a.MaxQPS)
	case a.MaxConcurrency < 1 || a.MaxConcurrency > MaxConcurrencyLimit:
		return fmt.Errorf("max_concurrency must be in [1, %d], got %d", MaxConcurrencyLimit, a.MaxConcurrency)
	case a.UserSigTTL <= 0:
		return fmt.Errorf("usersig_ttl must be positive, got %s", a.UserSigTTL)
	case a.RefreshInterval <= 0:
		return fmt.Errorf("refresh_interval must be positive, got %s", a.RefreshInterval)
	case a.RequestTimeout <= 0:
		return fmt.Errorf("request_timeout must be positive, got %s", a.RequestTimeout)
	case a.OfflineBackoffMax < a.RefreshInterval:
		return fmt.Errorf("offline_backoff_max must be at least refresh_interval (%s), got %s", a.RefreshInterval, a.OfflineBackoffMax)
	case len(a.Rooms) == 0:
		return errors.New("rooms must list at least one room")
	}
	if a.Region != "" {
		if _, ok := tencent.RegionBaseURL(a.Region); !ok {
			return fmt.Errorf("unknown region %q (known: %s)", a.Region, strings.Join(tencent.Regions(), ", "))
		}
	}
	if a.Endpoint != "" {
		if _, err := tencent.ParseBaseURL(a.Endpoint); err != nil {
			return fmt.Errorf("endpoint: %w", err)
		}
	}
	seen := make(map[string]int, len(a.Rooms))
	for _, r := range a.Rooms {
		if first, dup := seen[r.ID]; dup {
			return fmt.Errorf("line %d: duplicate room id %q (first at line %d)", r.line, r.ID, first)
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
	for _, a := range c.Apps {
		if a == nil {
			return errors.New("apps: empty entry")
		}
		if first, dup := names[a.Name]; dup {
			return fmt.Errorf("line %d: duplicate app name %q (first at line %d)", a.line, a.Name, first)
		}
		if first, dup := ids[a.SDKAppID]; dup {
			return fmt.Errorf("line %d: duplicate sdkappid %d (first at line %d)", a.line, a.SDKAppID, first)
		}
		names[a.Name] = a.line
		ids[a.SDKAppID] = a.line
	}
	return nil
}

// loadSecrets reads every secret_key_file, relative to dir.
func (c *Config) loadSecrets(dir string) error {
	for _, a := range c.Apps {
		if a.SecretKeyFile == "" {
			continue
		}
		if !filepath.IsAbs(a.SecretKeyFile) {
			a.SecretKeyFile = filepath.Join(dir, a.SecretKeyFile)
		}
		data, err := os.ReadFile(a.SecretKeyFile)
		if err != nil {
			return fmt.Errorf("line %d: app %q: secret_key_file: %w", a.line, a.Name, err)
		}
		key := strings.TrimSpace(string(data))
		if key == "" {
			return fmt.Errorf("line %d: app %q: secret_key_file %s is empty", a.line, a.Name, a.SecretKeyFile)
		}
		a.SecretKey = config.Secret(key)
	}
	return nil
}

// secret returns the app's key, from secret_key or the file read by Load.
func (a *AppConfig) secret() string { return string(a.SecretKey) }

// String renders the configuration as YAML with every secret replaced by
// "<secret>", for the /config page.
func (c *Config) String() string {
	shown := Config{Apps: make([]*AppConfig, len(c.Apps))}
	for i, a := range c.Apps {
		cp := *a
		if cp.SecretKeyFile != "" {
			cp.SecretKey = "" // read from the file; show the path only
		}
		shown.Apps[i] = &cp
	}
	out, err := yaml.Marshal(shown)
	if err != nil {
		return fmt.Sprintf("# cannot render config: %v\n", err)
	}
	return string(out)
}

// checkKeys rejects mapping keys that t's yaml tags do not name, giving
// the line of the offending key.
func checkKeys(node *yaml.Node, t reflect.Type, what string) error {
	if node.Kind != yaml.MappingNode {
		return nil // let Decode report the type mismatch
	}
	known := make(map[string]bool, t.NumField())
	for i := range t.NumField() {
		if tag, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ","); tag != "" && tag != "-" {
			known[tag] = true
		}
	}
	for i := 0; i+1 < len(node.Content); i += 2 {
		key := node.Content[i]
		if !known[key.Value] {
			return fmt.Errorf("line %d: unknown key %q in %s", key.Line, key.Value, what)
		}
	}
	return nil
}
