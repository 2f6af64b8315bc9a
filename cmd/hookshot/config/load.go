package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/spf13/pflag"
	"go.yaml.in/yaml/v3"
)

// Key is one configuration key with its flag and environment variable.
type Key struct {
	Path   string // nats.credsFile
	Flag   string // nats-creds-file ("" when the key has no flag)
	Env    string // HOOKSHOT_NATS_CREDS_FILE ("" when it has none)
	Usage  string
	Secret bool
	field  []int
}

// Keys lists every key of Config, in declaration order.
func Keys() []Key {
	var out []Key
	collect(reflect.TypeOf(Config{}), nil, "", &out)
	return out
}

func collect(t reflect.Type, index []int, prefix string, out *[]Key) {
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		path := name
		if prefix != "" {
			path = prefix + "." + name
		}
		idx := append(append([]int{}, index...), i)
		if f.Type.Kind() == reflect.Struct && f.Type != reflect.TypeOf(Duration(0)) {
			collect(f.Type, idx, path, out)
			continue
		}
		k := Key{Path: path, Usage: f.Tag.Get("usage"), field: idx, Secret: isSecret(f.Type)}
		switch flag := f.Tag.Get("flag"); flag {
		case "-":
		case "":
			k.Flag = kebab(path)
		default:
			k.Flag = flag
		}
		if k.Flag != "" {
			k.Env = "HOOKSHOT_" + strings.ToUpper(strings.ReplaceAll(kebab(path), "-", "_"))
		}
		*out = append(*out, k)
	}
}

func isSecret(t reflect.Type) bool {
	secret := reflect.TypeOf(Secret(""))
	return t == secret || (t.Kind() == reflect.Slice && t.Elem() == secret)
}

// kebab turns nats.credsFile into nats-creds-file.
func kebab(path string) string {
	var b strings.Builder
	for i, r := range path {
		switch {
		case r == '.':
			b.WriteByte('-')
		case unicode.IsUpper(r):
			if i > 0 && path[i-1] != '.' && !unicode.IsUpper(rune(path[i-1])) {
				b.WriteByte('-')
			}
			b.WriteRune(unicode.ToLower(r))
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// Register adds a flag for every key that has one, showing its default.
func Register(fs *pflag.FlagSet) {
	def := Default()
	v := reflect.ValueOf(&def).Elem()
	for _, k := range Keys() {
		if k.Flag == "" || fs.Lookup(k.Flag) != nil {
			continue
		}
		fv := v.FieldByIndex(k.field)
		usage := k.Usage + " (env " + k.Env + ")"
		switch {
		case fv.Kind() == reflect.Slice:
			fs.StringArray(k.Flag, nil, usage)
		case fv.Kind() == reflect.Bool:
			fs.Bool(k.Flag, fv.Bool(), usage)
		default:
			shown := fmt.Sprint(fv.Interface())
			if k.Secret {
				shown = ""
			}
			fs.String(k.Flag, shown, usage)
		}
	}
	fs.StringP("config", "c", "", "YAML configuration file (env HOOKSHOT_CONFIG); flags and environment override it")
}

// Load builds the effective configuration: defaults, then the file (the
// --config flag or HOOKSHOT_CONFIG), then environment variables, then the
// flags given on the command line. getenv is os.Getenv in production.
func Load(fs *pflag.FlagSet, getenv func(string) string) (Config, error) {
	c := Default()
	file := getenv("HOOKSHOT_CONFIG")
	if f := fs.Lookup("config"); f != nil && f.Changed {
		file = f.Value.String()
	}
	if file != "" {
		raw, err := os.ReadFile(file)
		if err != nil {
			return c, fmt.Errorf("config file: %w", err)
		}
		dec := yaml.NewDecoder(bytes.NewReader(raw))
		dec.KnownFields(true)
		if err := dec.Decode(&c); err != nil && !errors.Is(err, io.EOF) {
			return c, fmt.Errorf("config file %s: %s", file, yamlProblem(err))
		}
	}
	v := reflect.ValueOf(&c).Elem()
	for _, k := range Keys() {
		if k.Env == "" {
			continue
		}
		if raw, ok := lookupEnv(getenv, k.Env); ok {
			if err := set(v.FieldByIndex(k.field), raw, true); err != nil {
				return c, fmt.Errorf("%s: %w", k.Env, err)
			}
		}
	}
	for _, k := range Keys() {
		if k.Flag == "" {
			continue
		}
		f := fs.Lookup(k.Flag)
		if f == nil || !f.Changed {
			continue
		}
		fv := v.FieldByIndex(k.field)
		if fv.Kind() == reflect.Slice {
			vals, _ := fs.GetStringArray(k.Flag)
			if err := setSlice(fv, vals); err != nil {
				return c, fmt.Errorf("--%s: %w", k.Flag, err)
			}
			continue
		}
		if err := set(fv, f.Value.String(), false); err != nil {
			return c, fmt.Errorf("--%s: %w", k.Flag, err)
		}
	}
	return c, c.Validate()
}

func lookupEnv(getenv func(string) string, name string) (string, bool) {
	v := getenv(name)
	return v, v != ""
}

// set parses raw into the field v; fromEnv splits lists on commas.
func set(v reflect.Value, raw string, fromEnv bool) error {
	switch v.Kind() {
	case reflect.String:
		v.SetString(raw)
	case reflect.Bool:
		b, err := strconv.ParseBool(raw)
		if err != nil {
			return fmt.Errorf("%q is not true or false", raw)
		}
		v.SetBool(b)
	case reflect.Int, reflect.Int64:
		if v.Type() == reflect.TypeOf(Duration(0)) {
			var d Duration
			if err := d.Set(raw); err != nil {
				return err
			}
			v.SetInt(int64(d))
			return nil
		}
		n, err := strconv.ParseInt(raw, 10, 64)
		if err != nil {
			return fmt.Errorf("%q is not a whole number", raw)
		}
		v.SetInt(n)
	case reflect.Slice:
		if !fromEnv {
			return setSlice(v, []string{raw})
		}
		var vals []string
		for _, s := range strings.Split(raw, ",") {
			if s = strings.TrimSpace(s); s != "" {
				vals = append(vals, s)
			}
		}
		return setSlice(v, vals)
	default:
		return fmt.Errorf("cannot be set from text")
	}
	return nil
}

func setSlice(v reflect.Value, vals []string) error {
	if v.Type().Elem().Kind() != reflect.String {
		return fmt.Errorf("can only be set in the configuration file")
	}
	out := reflect.MakeSlice(v.Type(), len(vals), len(vals))
	for i, s := range vals {
		out.Index(i).SetString(s)
	}
	v.Set(out)
	return nil
}

// Validate checks values that have a fixed set or range.
func (c Config) Validate() error {
	var bad []string
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		bad = append(bad, fmt.Sprintf("log.level %q: must be debug, info, warn or error", c.Log.Level))
	}
	switch c.Log.Format {
	case "auto", "json", "console":
	default:
		bad = append(bad, fmt.Sprintf("log.format %q: must be auto, json or console", c.Log.Format))
	}
	if c.NATS.Replicas != 1 && c.NATS.Replicas != 3 {
		bad = append(bad, fmt.Sprintf("nats.replicas %d: must be 1 or 3", c.NATS.Replicas))
	}
	if c.Workers.Concurrency < 1 {
		bad = append(bad, fmt.Sprintf("workers.concurrency %d: must be at least 1", c.Workers.Concurrency))
	}
	if c.Workers.AckWait.D() < time.Second {
		bad = append(bad, fmt.Sprintf("workers.ackWait %s: must be at least 1s", c.Workers.AckWait))
	}
	if c.Workers.MaxAttempts < 1 {
		bad = append(bad, fmt.Sprintf("workers.maxAttempts %d: must be at least 1", c.Workers.MaxAttempts))
	}
	if (c.API.TLSCert == "") != (c.API.TLSKey == "") {
		bad = append(bad, "api.tlsCert and api.tlsKey: give both or neither")
	}
	if c.API.ClientCA != "" && c.API.TLSCert == "" {
		bad = append(bad, "api.clientCA: needs api.tlsCert and api.tlsKey (mTLS is TLS)")
	}
	if (c.NATS.CertFile == "") != (c.NATS.KeyFile == "") {
		bad = append(bad, "nats.certFile and nats.keyFile: give both or neither")
	}
	if c.NATS.Password != "" && c.NATS.User == "" {
		bad = append(bad, "nats.password: needs nats.user")
	}
	for i, ci := range c.API.ClientCerts {
		if ci.Account == "" || ci.Role == "" || (ci.CommonName == "" && ci.Organization == "") {
			bad = append(bad, fmt.Sprintf("api.clientCerts[%d]: needs account, role and a commonName or organization", i))
		}
	}
	if len(bad) > 0 {
		return errors.New(strings.Join(bad, "; "))
	}
	return nil
}

// Print writes the configuration as YAML with every secret masked.
func (c Config) Print() ([]byte, error) {
	masked := c
	masked.API.Tokens = nil
	for _, t := range c.API.Tokens {
		parts := strings.SplitN(string(t), ":", 3)
		if len(parts) == 3 && !strings.HasPrefix(parts[2], "sha256:") {
			parts[2] = Masked
		}
		masked.API.Tokens = append(masked.API.Tokens, Secret(strings.Join(parts, ":")))
	}
	if masked.NATS.Password != "" {
		masked.NATS.Password = Masked
	}
	return yaml.Marshal(masked)
}

var unknownField = regexp.MustCompile(`^line (\d+): field (\S+) not found in type config\.(\w+)$`)

// yamlProblem turns a YAML error into one line, naming unknown keys by
// their full path (workers.concurency).
func yamlProblem(err error) string {
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		return strings.TrimPrefix(err.Error(), "yaml: ")
	}
	prefixes := map[string]string{"Config": ""}
	var walk func(t reflect.Type, prefix string)
	walk = func(t reflect.Type, prefix string) {
		for i := range t.NumField() {
			f := t.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			ft := f.Type
			if ft.Kind() == reflect.Slice {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct && ft != reflect.TypeOf(Duration(0)) {
				prefixes[ft.Name()] = prefix + name + "."
				walk(ft, prefix+name+".")
			}
		}
	}
	walk(reflect.TypeOf(Config{}), "")
	parts := make([]string, len(te.Errors))
	for i, e := range te.Errors {
		if m := unknownField.FindStringSubmatch(e); m != nil {
			parts[i] = fmt.Sprintf("line %s: unknown key %s%s", m[1], prefixes[m[3]], m[2])
			continue
		}
		parts[i] = e
	}
	return strings.Join(parts, "; ")
}
