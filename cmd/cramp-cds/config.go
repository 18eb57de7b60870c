package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cramp-cds/cramp-cds/cdshooks"
	"github.com/cramp-cds/cramp-cds/cdshooks/auth"
	"github.com/cramp-cds/cramp-cds/cdshooks/feedback"
)

// Config is everything `cramp-cds serve` can be told. DefaultConfig gives the
// defaults; every field has a flag and an environment variable (see options).
type Config struct {
	Addr        string
	PublicURLs  []string
	CORSOrigins []string
	MaxBody     int64
	MaxInFlight int
	// InFlightMemory is the memory the calls in progress may be charged
	// together (see cdshooks.Config.InFlightMemory).
	InFlightMemory int64
	// AnswerDeadline, QueueBudget and DeadlineHeader bound each call's time
	// (see the cdshooks.Config fields of the same names).
	AnswerDeadline  time.Duration
	QueueBudget     time.Duration
	DeadlineHeader  string
	TrustFile       string
	InsecureNoAuth  bool
	AuthDiscovery   bool
	JWTAlgs         []string
	FHIRAllow       []string
	FHIRTimeout     time.Duration
	FHIRAllowHTTP   bool
	Trigger         string
	AllAges         bool
	AdminAddr       string
	LogLevel        slog.Level
	ShutdownTimeout time.Duration
	// Store is where cards, feedback and snoozes are remembered: sqlite:PATH,
	// postgres://… or none (see feedback.ParseDSN).
	Store string
	// StoreKey is the secret patients and fingerprints are pseudonymised
	// with; empty with SQLite means a key file beside the database.
	StoreKey string
	// StoreKeyFile holds that secret instead (a mounted Secret), so that it
	// is never a flag others can read in the process list.
	StoreKeyFile string
	// StorePasswordFile holds the PostgreSQL password, so that the --store
	// URL need not.
	StorePasswordFile string
	StoreRetention    time.Duration
	// Snooze is how long a card overridden as already reviewed stays
	// hidden for that patient; SnoozeNotRelevant, as not relevant.
	Snooze            time.Duration
	SnoozeNotRelevant time.Duration
}

// Trigger modes of the nocturnal-leg-cramps service.
const (
	TriggerLegCramps = "leg-cramps" // speak only for patients with a leg-cramp condition
	TriggerAlways    = "always"     // screening mode: speak for every patient
)

// DefaultAdminAddr is where the admin listener (unauthenticated: metrics,
// probes, the feedback report) listens unless told otherwise: this host
// only. A pod or container names its own address (the Helm chart sets
// :9090 for the kubelet's probes and Prometheus).
const DefaultAdminAddr = "127.0.0.1:9090"

// DefaultConfig returns the configuration used when nothing is set.
func DefaultConfig() Config {
	return Config{
		Addr:              ":8080",
		CORSOrigins:       []string{"*"},
		MaxBody:           cdshooks.DefaultMaxBody,
		AnswerDeadline:    cdshooks.DefaultAnswerDeadline,
		JWTAlgs:           auth.DefaultAlgorithms(),
		FHIRTimeout:       2 * time.Second,
		Trigger:           TriggerLegCramps,
		AdminAddr:         DefaultAdminAddr,
		LogLevel:          slog.LevelInfo,
		ShutdownTimeout:   25 * time.Second,
		Store:             "sqlite:cramp-cds.db",
		StoreRetention:    400 * day,
		Snooze:            90 * day,
		SnoozeNotRelevant: 365 * day,
	}
}

// day is the unit of the store's durations (--store-retention, --snooze).
const day = 24 * time.Hour

// Validate reports every setting that cannot work, including the refusal to
// run with neither a trust file nor --insecure-no-auth.
func (c Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	switch {
	case c.TrustFile == "" && !c.InsecureNoAuth:
		bad("refusing to start without caller authentication: give a trust file with --trust FILE " +
			"(CRAMP_CDS_TRUST_FILE), or --insecure-no-auth for a local experiment")
	case c.TrustFile != "" && c.InsecureNoAuth:
		bad("--trust and --insecure-no-auth contradict each other: give one")
	case c.TrustFile != "" && len(c.PublicURLs) == 0:
		// Without it the audience would have to come from the Host header,
		// which the caller chooses: a token minted for any URL would pass.
		bad("--trust needs --public-url (CRAMP_CDS_PUBLIC_URL): a JWT's aud is checked against it and never " +
			"against the Host header; give every URL callers use, comma-separated (make run gives " +
			"http://localhost:8080,http://127.0.0.1:8080)")
	}
	if c.Addr == "" {
		bad("--addr is empty")
	}
	for _, p := range c.PublicURLs {
		if u, err := url.Parse(p); err != nil || !isHTTP(u) || u.RawQuery != "" || u.Fragment != "" {
			bad("--public-url %q must be an absolute http(s) URL without query, like https://cds.example.org", p)
		}
	}
	for _, o := range c.CORSOrigins {
		if o == "*" {
			continue
		}
		if u, err := url.Parse(o); err != nil || !isHTTP(u) || strings.Trim(u.Path, "/") != "" {
			bad("--cors-origins: %q is not * or an origin like https://sandbox.cds-hooks.org", o)
		}
	}
	if c.MaxBody <= 0 {
		bad("--max-body must be positive")
	}
	if c.MaxInFlight < 0 {
		bad("--max-in-flight must be 0 (the default, %d) or positive", cdshooks.DefaultMaxInFlight)
	}
	if c.InFlightMemory < 0 {
		bad("--in-flight-memory must be 0 (the default, %dMiB) or positive", cdshooks.DefaultInFlightMemory>>20)
	}
	if c.AnswerDeadline <= 0 {
		bad("--answer-deadline must be positive")
	}
	if c.QueueBudget < 0 || (c.AnswerDeadline > 0 && c.QueueBudget >= c.AnswerDeadline) {
		bad("--queue-budget must be 0 (the default, --answer-deadline/20) or positive and shorter than --answer-deadline")
	}
	if c.DeadlineHeader != "" && !validHeaderName(c.DeadlineHeader) {
		bad("--deadline-header %q is not an HTTP header name", c.DeadlineHeader)
	}
	if len(c.JWTAlgs) == 0 {
		bad("--jwt-algs is empty")
	}
	for _, s := range c.FHIRAllow {
		if u, err := url.Parse(s); err != nil || !isHTTP(u) {
			bad("--fhir-allow: %q is not an absolute http(s) URL", s)
		}
	}
	if c.FHIRTimeout <= 0 {
		bad("--fhir-timeout must be positive")
	}
	if c.Trigger != TriggerLegCramps && c.Trigger != TriggerAlways {
		bad("--trigger %q must be %s or %s", c.Trigger, TriggerLegCramps, TriggerAlways)
	}
	if c.ShutdownTimeout <= 0 {
		bad("--shutdown-timeout must be positive")
	}
	errs = append(errs, c.validateStore()...)
	return errors.Join(errs...)
}

// validateStore checks the store settings. Its messages never repeat the
// store URL or the key: both are secrets.
func (c Config) validateStore() []error {
	var errs []error
	kind, _, err := feedback.ParseDSN(c.Store)
	if err != nil {
		errs = append(errs, fmt.Errorf("--store: %w", err))
	}
	if c.StoreKey != "" && len(c.StoreKey) < feedback.MinKeyLength {
		errs = append(errs, fmt.Errorf("--store-key must be at least %d characters (generate one with `openssl rand -hex 32`)", feedback.MinKeyLength))
	}
	if c.StoreKey != "" && c.StoreKeyFile != "" {
		errs = append(errs, errors.New("give the store key once: --store-key or --store-key-file, not both"))
	}
	if kind == feedback.KindPostgres && c.StoreKey == "" && c.StoreKeyFile == "" {
		errs = append(errs, errors.New("--store-key-file (CRAMP_CDS_STORE_KEY_FILE) or --store-key is required with PostgreSQL: every replica must pseudonymise patients with the same secret"))
	}
	for _, d := range []struct {
		flag string
		v    time.Duration
	}{{"--store-retention", c.StoreRetention}, {"--snooze", c.Snooze}, {"--snooze-not-relevant", c.SnoozeNotRelevant}} {
		if d.v <= 0 {
			errs = append(errs, fmt.Errorf("%s must be positive", d.flag))
		}
	}
	return errs
}

// PublicURL is the first of PublicURLs, the one the cards link the knowledge
// base under; "" when there is none.
func (c Config) PublicURL() string {
	if len(c.PublicURLs) == 0 {
		return ""
	}
	return c.PublicURLs[0]
}

// validHeaderName reports whether s is an HTTP field name (RFC 9110 token).
func validHeaderName(s string) bool {
	return s != "" && !strings.ContainsFunc(s, func(r rune) bool {
		return r <= ' ' || r >= 0x7f || strings.ContainsRune("\"(),/:;<=>?@[\\]{}", r)
	})
}

func isHTTP(u *url.URL) bool {
	return (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

// option is one setting: its flag, environment variable and help.
type option struct {
	flag, env, usage string
}

// setting is one row of the configuration table: a flag, its environment
// variable (CRAMP_CDS_ and the flag name in capitals unless given), its help,
// and how it binds to a Config field.
type setting struct {
	flag, env, usage string
	bind             func(fs *flag.FlagSet, c *Config, name string)
}

// settings is the configuration table, in the order --help lists it. serve
// binds every row; evaluate, population and report bind the rows they share
// with serve, so a setting has one flag and one variable everywhere.
//
// The table is the standard flag package's rather than a flag library's
// (github.com/alecthomas/kong was weighed for it): flag accepts -addr as well
// as --addr, and here a variable set to "" counts as unset; kong reads -addr
// as the short flags -a -d -d -r, and reads variables itself from the process
// environment, an empty one as set, so keeping both behaviours (and tests that
// pass their own environment) would take this table again as a kong resolver.
func settings() []setting {
	str := func(field func(*Config) *string) func(*flag.FlagSet, *Config, string) {
		return func(fs *flag.FlagSet, c *Config, name string) { fs.StringVar(field(c), name, *field(c), "") }
	}
	boolean := func(field func(*Config) *bool) func(*flag.FlagSet, *Config, string) {
		return func(fs *flag.FlagSet, c *Config, name string) { fs.BoolVar(field(c), name, *field(c), "") }
	}
	duration := func(field func(*Config) *time.Duration) func(*flag.FlagSet, *Config, string) {
		return func(fs *flag.FlagSet, c *Config, name string) { fs.DurationVar(field(c), name, *field(c), "") }
	}
	list := func(field func(*Config) *[]string) func(*flag.FlagSet, *Config, string) {
		return func(fs *flag.FlagSet, c *Config, name string) { fs.Var((*listValue)(field(c)), name, "") }
	}
	inDays := func(field func(*Config) *time.Duration) func(*flag.FlagSet, *Config, string) {
		return func(fs *flag.FlagSet, c *Config, name string) { fs.Var((*days)(field(c)), name, "") }
	}
	return []setting{
		{"addr", "", "address the CDS Hooks API listens on", str(func(c *Config) *string { return &c.Addr })},
		{"public-url", "", "comma-separated external base URLs callers use (e.g. https://cds.example.org); JWT aud must be one of them plus the path, and cards' source.url points under the first. Required with --trust",
			list(func(c *Config) *[]string { return &c.PublicURLs })},
		{"cors-origins", "", "comma-separated browser origins allowed by CORS, or *", list(func(c *Config) *[]string { return &c.CORSOrigins })},
		{"max-body", "", "largest request body accepted: bytes, or with a unit (KiB, MiB, GiB, kB, MB, GB)",
			func(fs *flag.FlagSet, c *Config, name string) { fs.Var((*byteSize)(&c.MaxBody), name, "") }},
		{"max-in-flight", "", "service and feedback calls in progress at once; one more gets 503 with Retry-After. 0: " + strconv.Itoa(cdshooks.DefaultMaxInFlight),
			func(fs *flag.FlagSet, c *Config, name string) { fs.IntVar(&c.MaxInFlight, name, c.MaxInFlight, "") }},
		{"in-flight-memory", "", "memory the calls in progress may hold together, each charged 5 times its body (at least 256 KiB; --max-body when its length is not declared); a call that does not fit gets 503 with Retry-After. 0: " +
			strconv.FormatInt(cdshooks.DefaultInFlightMemory>>20, 10) + "MiB (8 calls of 5 MiB or 128 small ones, for a 256 MiB pod)",
			func(fs *flag.FlagSet, c *Config, name string) { fs.Var((*byteSize)(&c.InFlightMemory), name, "") }},
		{"answer-deadline", "", "time a service or feedback call has to be answered, from its arrival (unless --deadline-header gives its own): the FHIR fallback, the store and the answer stop at it",
			duration(func(c *Config) *time.Duration { return &c.AnswerDeadline })},
		{"queue-budget", "", "longest a call waits for a slot before it is refused with 503 and Retry-After; a call predicted to wait longer is refused at once. 0: --answer-deadline/20 (100ms)",
			duration(func(c *Config) *time.Duration { return &c.QueueBudget })},
		{"deadline-header", "", "request header carrying the caller's own answer deadline in milliseconds, set by a proxy you trust to overwrite it (e.g. x-envoy-expected-rq-timeout-ms); empty: every call gets --answer-deadline",
			str(func(c *Config) *string { return &c.DeadlineHeader })},
		{"trust", "CRAMP_CDS_TRUST_FILE", "trust file (YAML) listing the JWT issuers we accept", str(func(c *Config) *string { return &c.TrustFile })},
		{"insecure-no-auth", "", "accept every caller without a JWT (local experiments only; logs a warning on every request)",
			boolean(func(c *Config) *bool { return &c.InsecureNoAuth })},
		{"auth-discovery", "", "require a JWT on GET /cds-services too", boolean(func(c *Config) *bool { return &c.AuthDiscovery })},
		{"jwt-algs", "", "comma-separated JWS algorithms accepted (asymmetric only)", list(func(c *Config) *[]string { return &c.JWTAlgs })},
		{"fhir-allow", "", "comma-separated fhirServer base URLs any caller may ask us to read, besides those the trust file grants",
			list(func(c *Config) *[]string { return &c.FHIRAllow })},
		{"fhir-timeout", "", "time allowed for reading the FHIR server during one request", duration(func(c *Config) *time.Duration { return &c.FHIRTimeout })},
		{"fhir-allow-http", "", "let an allowed fhirServer be read over plain http (a local sandbox and FHIR server only: the access token travels unencrypted)",
			boolean(func(c *Config) *bool { return &c.FHIRAllowHTTP })},
		{"trigger", "", "leg-cramps: cards only for patients with a leg-cramp condition; always: for every patient",
			str(func(c *Config) *string { return &c.Trigger })},
		{"all-ages", "", "speak for patients under 18 too (the sources describe cramps in adults, so by default the services are silent for them)",
			boolean(func(c *Config) *bool { return &c.AllAges })},
		{"admin-addr", "", "address of the admin listener (/metrics, /healthz, /readyz); empty disables it", str(func(c *Config) *string { return &c.AdminAddr })},
		{"log-level", "", "debug, info, warn or error", func(fs *flag.FlagSet, c *Config, name string) { fs.TextVar(&c.LogLevel, name, c.LogLevel, "") }},
		{"shutdown-timeout", "", "how long in-flight requests may take to finish after SIGTERM",
			duration(func(c *Config) *time.Duration { return &c.ShutdownTimeout })},
		{"store", "", "where cards, feedback and snoozes are remembered: sqlite:PATH, postgres://… (from a Secret), or none",
			str(func(c *Config) *string { return &c.Store })},
		{"store-key", "", "secret (32+ characters) that pseudonymises patients in the store; required with PostgreSQL, from a Secret. With SQLite, default: a key file generated beside the database",
			str(func(c *Config) *string { return &c.StoreKey })},
		{"store-key-file", "", "file holding that secret (a mounted Secret; refused when others may write it): keeps it out of the process list",
			str(func(c *Config) *string { return &c.StoreKeyFile })},
		{"store-password-file", "", "file holding the PostgreSQL password (its first line; refused when others may write it), so the --store URL need not",
			str(func(c *Config) *string { return &c.StorePasswordFile })},
		{"store-retention", "", "how long issued cards and feedback are kept: days (400d) or a Go duration",
			inDays(func(c *Config) *time.Duration { return &c.StoreRetention })},
		{"snooze", "", "how long a card overridden as already reviewed is not shown again for that patient (unless what it is about changes)",
			inDays(func(c *Config) *time.Duration { return &c.Snooze })},
		{"snooze-not-relevant", "", "the same, for a card overridden as not relevant for the patient",
			inDays(func(c *Config) *time.Duration { return &c.SnoozeNotRelevant })},
	}
}

// bind declares c's flags on fs (defaults taken from c) for the named
// settings, every one when none is named, and returns them with their
// environment variables, in table order.
func (c *Config) bind(fs *flag.FlagSet, only ...string) []option {
	var opts []option
	for _, s := range settings() {
		if len(only) > 0 && !slices.Contains(only, s.flag) {
			continue
		}
		env := s.env
		if env == "" {
			env = "CRAMP_CDS_" + strings.ToUpper(strings.ReplaceAll(s.flag, "-", "_"))
		}
		s.bind(fs, c, s.flag)
		opts = append(opts, option{flag: s.flag, env: env, usage: s.usage})
	}
	return opts
}

// describe gives the flags of opts their help from the table, naming the
// environment variable, for a subcommand's fs.PrintDefaults.
func describe(fs *flag.FlagSet, opts []option) {
	for _, o := range opts {
		fs.Lookup(o.flag).Usage = o.usage + " (env " + o.env + ")"
	}
}

// applyEnv fills every flag of opts not given on the command line from its
// environment variable: a flag wins over the environment.
func applyEnv(fs *flag.FlagSet, opts []option, getenv func(string) string) error {
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	for _, o := range opts {
		v := getenv(o.env)
		if given[o.flag] || v == "" {
			continue
		}
		if err := fs.Set(o.flag, v); err != nil {
			return fmt.Errorf("%s: %w", o.env, err)
		}
	}
	return nil
}

// parseConfig reads the serve flags, then fills every flag not given from its
// environment variable (a flag wins over the environment), and validates.
// --help prints the options to stdout and returns flag.ErrHelp.
func parseConfig(args []string, getenv func(string) string, stdout io.Writer) (Config, error) {
	cfg := DefaultConfig()
	fs := flag.NewFlagSet("cramp-cds serve", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	opts := cfg.bind(fs)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			printUsage(stdout, fs, opts)
			return cfg, err
		}
		return cfg, fmt.Errorf("%w (see cramp-cds serve --help)", err)
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("unexpected arguments %q (see cramp-cds serve --help)", fs.Args())
	}
	if err := applyEnv(fs, opts, getenv); err != nil {
		return cfg, err
	}
	if err := cfg.Validate(); err != nil {
		return cfg, err
	}
	return cfg, nil
}

func printUsage(w io.Writer, fs *flag.FlagSet, opts []option) {
	fmt.Fprintf(w, "Usage: cramp-cds serve [flags]\n\nServes the CDS Hooks API. Every flag can also be set by its environment variable; a flag wins.\n\n")
	for _, o := range opts {
		f := fs.Lookup(o.flag)
		fmt.Fprintf(w, "  --%s  (%s)\n      %s", o.flag, o.env, o.usage)
		if f.DefValue != "" && f.DefValue != "false" {
			fmt.Fprintf(w, " (default %s)", f.DefValue)
		}
		fmt.Fprintln(w)
	}
}

// listValue is a comma-separated flag; setting it replaces the default.
type listValue []string

func (l *listValue) String() string { return strings.Join(*l, ",") }

func (l *listValue) Set(s string) error {
	*l = nil
	for _, item := range strings.Split(s, ",") {
		if item = strings.TrimSpace(item); item != "" {
			*l = append(*l, item)
		}
	}
	return nil
}

// days is a duration flag that also takes whole days, like 90d.
type days time.Duration

func (d *days) String() string {
	if v := time.Duration(*d); v > 0 && v%day == 0 {
		return strconv.FormatInt(int64(v/day), 10) + "d"
	}
	return time.Duration(*d).String()
}

func (d *days) Set(s string) error {
	if n, ok := strings.CutSuffix(strings.TrimSpace(s), "d"); ok {
		v, err := strconv.Atoi(n)
		if err != nil || v <= 0 || v > 100*365 {
			return fmt.Errorf("%q is not a number of days like 90d", s)
		}
		*d = days(time.Duration(v) * day)
		return nil
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("%q is neither days (90d) nor a duration (2160h)", s)
	}
	*d = days(v)
	return nil
}

// byteSize is a size flag: plain bytes or a number with a unit.
type byteSize int64

// byteUnits are the accepted suffixes, longest first so "MiB" is not read as "B".
var byteUnits = []struct {
	suffix string
	factor int64
}{
	{"kib", 1 << 10}, {"mib", 1 << 20}, {"gib", 1 << 30},
	{"kb", 1000}, {"mb", 1000 * 1000}, {"gb", 1000 * 1000 * 1000},
	{"b", 1},
}

func (b *byteSize) String() string {
	for _, u := range []struct {
		suffix string
		factor int64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
		if int64(*b) >= u.factor && int64(*b)%u.factor == 0 {
			return strconv.FormatInt(int64(*b)/u.factor, 10) + u.suffix
		}
	}
	return strconv.FormatInt(int64(*b), 10)
}

func (b *byteSize) Set(s string) error {
	text := strings.ToLower(strings.TrimSpace(s))
	factor := int64(1)
	for _, u := range byteUnits {
		if strings.HasSuffix(text, u.suffix) {
			text, factor = strings.TrimSpace(strings.TrimSuffix(text, u.suffix)), u.factor
			break
		}
	}
	n, err := strconv.ParseInt(text, 10, 64)
	if err != nil || n <= 0 || n > (1<<40)/factor {
		return fmt.Errorf("%q is not a size like 5MiB or 1048576", s)
	}
	*b = byteSize(n * factor)
	return nil
}
