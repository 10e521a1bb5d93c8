package main

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/parcelbot/parcelbot/bot"
	"github.com/parcelbot/parcelbot/dialog"
	"github.com/parcelbot/parcelbot/domain"
)

// fileConfig is the configuration file (docs/parcelbot.example.yaml). Every
// field can be overridden by its environment variable (the configuration
// table in README.md).
type fileConfig struct {
	Shop struct {
		Name        string `yaml:"name"`
		OrderFormat string `yaml:"order_format"`
	} `yaml:"shop"`
	Policy struct {
		LateRefundAfterDays     *int   `yaml:"late_refund_after_days"`
		WaitHoursAfterDelivered *int   `yaml:"wait_hours_after_delivered"`
		AutoApproveLimit        string `yaml:"auto_approve_limit"`
		MaxClaims12m            *int   `yaml:"max_claims_12m"`
		AgentSLAMinutes         *int   `yaml:"agent_sla_minutes"`
		TrialMaxExtensions      *int   `yaml:"trial_max_extensions"`
		PaidMaxExtensions12m    *int   `yaml:"paid_max_extensions_12m"`
		LookupFailures          *int   `yaml:"lookup_failures"`
		LookupWindowMinutes     *int   `yaml:"lookup_window_minutes"`
		LinkFailures            *int   `yaml:"link_failures"`
	} `yaml:"policy"`
	SupportHours map[string]struct {
		Hours string `yaml:"hours"`
		TZ    string `yaml:"tz"`
	} `yaml:"support_hours"`
	Data    string `yaml:"data"`
	Flows   string `yaml:"flows"`
	Locales string `yaml:"locales"`
	Redis   struct {
		URL                 string `yaml:"url"`
		Prefix              string `yaml:"prefix"`
		SessionTTL          string `yaml:"session_ttl"`
		TranscriptRetention string `yaml:"transcript_retention"`
	} `yaml:"redis"`
	LinkTokenSecret string `yaml:"link_token_secret"`
	LogLevel        string `yaml:"log_level"`
	Addr            string `yaml:"addr"`
	OpsAddr         string `yaml:"ops_addr"`
	ShutdownTimeout string `yaml:"shutdown_timeout"`
	Backend         string `yaml:"backend"`
	ShopAPI         struct {
		URL   string `yaml:"url"`
		Token string `yaml:"token"`
	} `yaml:"shop_api"`
	Telegram struct {
		Token         string `yaml:"token"`
		APIURL        string `yaml:"api_url"`
		WebhookURL    string `yaml:"webhook_url"`
		WebhookSecret string `yaml:"webhook_secret"`
		Rate          string `yaml:"rate"`
		ChatInterval  string `yaml:"chat_interval"`
	} `yaml:"telegram"`
	Slack struct {
		BotToken      string `yaml:"bot_token"`
		Channel       string `yaml:"channel"`
		AppToken      string `yaml:"app_token"`
		SigningSecret string `yaml:"signing_secret"`
		APIURL        string `yaml:"api_url"`
		UserGroup     string `yaml:"user_group"`
		ReminderAfter string `yaml:"reminder_after"`
	} `yaml:"slack"`
}

// env is the effective configuration.
type env struct {
	File          string // the configuration file read, if any
	Data          string
	Flows         string
	Locales       string
	RedisURL      string
	RedisPrefix   string
	SessionTTL    time.Duration
	TranscriptTTL time.Duration
	LogLevel      slog.Level
	Bot           bot.Config
	supportSpec   map[string][2]string // hours, tz: for printing
	demoSecret    bool
	Addr          string // PARCELBOT_ADDR
	OpsAddr       string // PARCELBOT_OPS_ADDR
	Shutdown      time.Duration
	Backend       string // demo or shopapi
	ShopURL       string
	ShopToken     string
	Telegram      struct {
		Token, APIURL, WebhookURL, WebhookSecret string
		Rate                                     float64       // messages a second overall
		ChatInterval                             time.Duration // between two messages to one chat
	}
	Slack struct {
		BotToken, Channel, AppToken, SigningSecret, APIURL, UserGroup string
		ReminderAfter                                                 time.Duration // default: the agent SLA
	}
}

const demoLinkSecret = "parcelbot-demo-link-secret"

// loadEnv reads the configuration file (PARCELBOT_CONFIG or path), then the
// environment, and validates the result; errors name the field.
func loadEnv(getenv func(string) string, path ...string) (env, error) {
	var fc fileConfig
	file := getenv("PARCELBOT_CONFIG")
	if len(path) > 0 && path[0] != "" {
		file = path[0]
	}
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return env{}, fmt.Errorf("config: %w", err)
		}
		dec := yaml.NewDecoder(bytes.NewReader(b))
		dec.KnownFields(true)
		if err := dec.Decode(&fc); err != nil {
			return env{}, fmt.Errorf("config %s: %s", file, strings.TrimPrefix(err.Error(), "yaml: "))
		}
	}
	e := env{File: file, Bot: bot.DefaultConfig(), SessionTTL: 30 * 24 * time.Hour, TranscriptTTL: 90 * 24 * time.Hour, LogLevel: slog.LevelWarn, Shutdown: 20 * time.Second}
	// strings: file, then environment
	str := func(fileVal, envName string) string {
		if v := getenv(envName); v != "" {
			return v
		}
		return fileVal
	}
	e.Bot.ShopName = or(str(fc.Shop.Name, "PARCELBOT_SHOP_NAME"), e.Bot.ShopName)
	e.Bot.OrderFormat = or(str(fc.Shop.OrderFormat, "PARCELBOT_ORDER_FORMAT"), e.Bot.OrderFormat)
	e.Data = str(fc.Data, "PARCELBOT_DATA")
	e.Flows = str(fc.Flows, "PARCELBOT_FLOWS")
	e.Locales = str(fc.Locales, "PARCELBOT_LOCALES")
	e.RedisURL = str(fc.Redis.URL, "REDIS_URL")
	e.RedisPrefix = or(str(fc.Redis.Prefix, "REDIS_PREFIX"), "parcelbot:")
	secret := str(fc.LinkTokenSecret, "LINK_TOKEN_SECRET")
	if secret == "" {
		// The demo's secret: fine for trying deep links, never for production.
		secret, e.demoSecret = demoLinkSecret, true
	}
	e.Bot.LinkSecret = []byte(secret)
	e.Addr = or(str(fc.Addr, "PARCELBOT_ADDR"), ":8080")
	e.OpsAddr = or(str(fc.OpsAddr, "PARCELBOT_OPS_ADDR"), "127.0.0.1:9090")
	e.Telegram.Token = str(fc.Telegram.Token, "TELEGRAM_BOT_TOKEN")
	e.Telegram.APIURL = or(str(fc.Telegram.APIURL, "TELEGRAM_API_URL"), "https://api.telegram.org")
	e.Telegram.WebhookURL = str(fc.Telegram.WebhookURL, "TELEGRAM_WEBHOOK_URL")
	e.Telegram.WebhookSecret = str(fc.Telegram.WebhookSecret, "TELEGRAM_WEBHOOK_SECRET")
	e.Telegram.Rate, e.Telegram.ChatInterval = 30, time.Second
	if v := str(fc.Telegram.Rate, "TELEGRAM_RATE"); v != "" {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || f <= 0 {
			return e, fmt.Errorf("telegram.rate (TELEGRAM_RATE): %q is not a positive number of messages a second", v)
		}
		e.Telegram.Rate = f
	}
	if v := str(fc.Telegram.ChatInterval, "TELEGRAM_CHAT_INTERVAL"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return e, fmt.Errorf("telegram.chat_interval (TELEGRAM_CHAT_INTERVAL): %q is not a positive duration such as 1s", v)
		}
		e.Telegram.ChatInterval = d
	}
	e.Backend = or(str(fc.Backend, "PARCELBOT_BACKEND"), "demo")
	e.ShopURL = str(fc.ShopAPI.URL, "SHOP_API_URL")
	e.ShopToken = str(fc.ShopAPI.Token, "SHOP_API_TOKEN")
	switch e.Backend {
	case "demo":
	case "shopapi":
		if e.ShopURL == "" || e.ShopToken == "" {
			return e, errors.New("shop_api.url (SHOP_API_URL) and shop_api.token (SHOP_API_TOKEN): required with PARCELBOT_BACKEND=shopapi")
		}
	default:
		return e, fmt.Errorf("backend (PARCELBOT_BACKEND): %q is not demo or shopapi", e.Backend)
	}
	e.Slack.BotToken = str(fc.Slack.BotToken, "SLACK_BOT_TOKEN")
	e.Slack.Channel = str(fc.Slack.Channel, "SLACK_CHANNEL")
	e.Slack.AppToken = str(fc.Slack.AppToken, "SLACK_APP_TOKEN")
	e.Slack.SigningSecret = str(fc.Slack.SigningSecret, "SLACK_SIGNING_SECRET")
	e.Slack.APIURL = str(fc.Slack.APIURL, "SLACK_API_URL")
	e.Slack.UserGroup = str(fc.Slack.UserGroup, "SLACK_USER_GROUP")
	e.Slack.ReminderAfter = time.Duration(e.Bot.Policy.AgentSLAMinutes) * time.Minute
	if v := str(fc.Slack.ReminderAfter, "SLACK_REMINDER_AFTER"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return e, fmt.Errorf("slack.reminder_after (SLACK_REMINDER_AFTER): %q is not a positive duration", v)
		}
		e.Slack.ReminderAfter = d
	}
	if e.Slack.BotToken != "" {
		if e.Slack.Channel == "" {
			return e, errors.New("slack.channel (SLACK_CHANNEL): required with SLACK_BOT_TOKEN: the escalation channel's id")
		}
		if e.Slack.AppToken == "" && e.Slack.SigningSecret == "" {
			return e, errors.New("slack.app_token (SLACK_APP_TOKEN) or slack.signing_secret (SLACK_SIGNING_SECRET): one is required with SLACK_BOT_TOKEN")
		}
	}
	if e.Telegram.WebhookURL != "" && e.Telegram.WebhookSecret == "" {
		return e, errors.New("telegram.webhook_secret (TELEGRAM_WEBHOOK_SECRET): required in webhook mode (TELEGRAM_WEBHOOK_URL is set)")
	}
	if e.Telegram.WebhookURL != "" && !strings.HasPrefix(e.Telegram.WebhookURL, "https://") && !strings.HasPrefix(e.Telegram.WebhookURL, "http://") {
		return e, fmt.Errorf("telegram.webhook_url (TELEGRAM_WEBHOOK_URL): %q is not a URL", e.Telegram.WebhookURL)
	}

	p := &e.Bot.Policy
	ints := []struct {
		field, env string
		file       *int
		dst        *int
	}{
		{"policy.late_refund_after_days", "LATE_REFUND_AFTER_DAYS", fc.Policy.LateRefundAfterDays, &p.LateRefundAfterDays},
		{"policy.wait_hours_after_delivered", "WAIT_HOURS_AFTER_DELIVERED", fc.Policy.WaitHoursAfterDelivered, &p.WaitHoursAfterDelivered},
		{"policy.max_claims_12m", "MAX_CLAIMS_12M", fc.Policy.MaxClaims12m, &p.MaxClaims12m},
		{"policy.agent_sla_minutes", "AGENT_SLA_MINUTES", fc.Policy.AgentSLAMinutes, &p.AgentSLAMinutes},
		{"policy.trial_max_extensions", "", fc.Policy.TrialMaxExtensions, &p.TrialMaxExtensions},
		{"policy.paid_max_extensions_12m", "", fc.Policy.PaidMaxExtensions12m, &p.PaidMaxExtensions12m},
		{"policy.lookup_failures", "LOOKUP_FAILURES", fc.Policy.LookupFailures, &p.LookupFailures},
		{"policy.lookup_window_minutes", "LOOKUP_WINDOW_MINUTES", fc.Policy.LookupWindowMinutes, &p.LookupWindowMinutes},
		{"policy.link_failures", "LINK_FAILURES", fc.Policy.LinkFailures, &p.LinkFailures},
	}
	for _, i := range ints {
		if i.file != nil {
			*i.dst = *i.file
		}
		if i.env == "" {
			continue
		}
		if v := getenv(i.env); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil {
				return e, fmt.Errorf("%s (%s): %q is not a whole number", i.field, i.env, v)
			}
			*i.dst = n
		}
	}
	if v := str(fc.Policy.AutoApproveLimit, "AUTO_APPROVE_LIMIT"); v != "" {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || f < 0 {
			return e, fmt.Errorf("policy.auto_approve_limit (AUTO_APPROVE_LIMIT): %q is not an amount such as 250.00", v)
		}
		p.AutoApproveLimit = int64(f*100 + 0.5)
	}
	if err := p.Validate(); err != nil {
		return e, fmt.Errorf("config: %w", err)
	}
	if _, err := bot.ParseOrderFormat(e.Bot.OrderFormat); err != nil {
		return e, fmt.Errorf("shop.order_format (PARCELBOT_ORDER_FORMAT): %w", err)
	}
	durs := []struct {
		field, env, file string
		dst              *time.Duration
	}{
		{"redis.session_ttl", "SESSION_TTL", fc.Redis.SessionTTL, &e.SessionTTL},
		{"redis.transcript_retention", "TRANSCRIPT_RETENTION", fc.Redis.TranscriptRetention, &e.TranscriptTTL},
		{"shutdown_timeout", "SHUTDOWN_TIMEOUT", fc.ShutdownTimeout, &e.Shutdown},
	}
	for _, d := range durs {
		if v := str(d.file, d.env); v != "" {
			x, err := time.ParseDuration(v)
			if err != nil || x <= 0 {
				return e, fmt.Errorf("%s (%s): %q is not a positive duration such as 720h", d.field, d.env, v)
			}
			*d.dst = x
		}
	}
	if v := str(fc.LogLevel, "LOG_LEVEL"); v != "" {
		if err := e.LogLevel.UnmarshalText([]byte(v)); err != nil {
			return e, fmt.Errorf("log_level (LOG_LEVEL): %q is not debug, info, warn or error", v)
		}
	}
	e.Bot.SupportHours = map[string]domain.SupportHours{}
	e.supportSpec = map[string][2]string{}
	for lang, sh := range fc.SupportHours {
		if dialog.NormalizeLang(lang) != lang {
			return e, fmt.Errorf("support_hours.%s: want one of %v", lang, dialog.Languages)
		}
		h, err := domain.ParseSupportHours(sh.Hours, sh.TZ)
		if err != nil {
			return e, fmt.Errorf("support_hours.%s: %w", lang, err)
		}
		e.Bot.SupportHours[lang] = h
		e.supportSpec[lang] = [2]string{sh.Hours, sh.TZ}
	}
	return e, nil
}

func or(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// minSecretBytes is the least a secret that signs something may have.
const minSecretBytes = 32

// serveSecrets refuses to serve customers with a secret anyone can read:
// the link-token secret signs the deep links that tie a chat to a customer
// account, so with the public demo secret anyone could link a chat to any
// customer. Only `serve --demo` on the demo data accepts it.
func (e *env) serveSecrets(demo bool) error {
	switch {
	case demo && e.Backend == "shopapi":
		return errors.New("--demo uses the public demo link secret and serves the demo data only; it refuses PARCELBOT_BACKEND=shopapi")
	case demo:
		return nil
	case e.demoSecret:
		return fmt.Errorf("LINK_TOKEN_SECRET is not set: serve needs a secret of at least %d bytes shared with the shop's website (for example: openssl rand -hex 32). To try serve on the demo data with the public demo secret, run parcelbot serve --demo", minSecretBytes)
	case len(e.Bot.LinkSecret) < minSecretBytes:
		return fmt.Errorf("LINK_TOKEN_SECRET has %d bytes: it needs at least %d (for example: openssl rand -hex 32)", len(e.Bot.LinkSecret), minSecretBytes)
	}
	return nil
}

// redacted hides a secret, showing only whether it is set.
func redacted(s string) string {
	if s == "" {
		return "(not set)"
	}
	return "[redacted]"
}

// print writes the effective configuration as YAML, secrets redacted.
func (e env) print(w interface{ Write([]byte) (int, error) }) {
	p := e.Bot.Policy
	fmt.Fprintf(w, "# effective configuration (file: %s)\n", or(e.File, "none"))
	fmt.Fprintf(w, "shop:\n  name: %q\n  order_format: %q\n", e.Bot.ShopName, e.Bot.OrderFormat)
	fmt.Fprintf(w, "policy:\n  late_refund_after_days: %d\n  wait_hours_after_delivered: %d\n  auto_approve_limit: \"%d.%02d\"\n  max_claims_12m: %d\n  agent_sla_minutes: %d\n  trial_max_extensions: %d\n  paid_max_extensions_12m: %d\n  lookup_failures: %d\n  lookup_window_minutes: %d\n  link_failures: %d\n",
		p.LateRefundAfterDays, p.WaitHoursAfterDelivered, p.AutoApproveLimit/100, p.AutoApproveLimit%100, p.MaxClaims12m, p.AgentSLAMinutes, p.TrialMaxExtensions, p.PaidMaxExtensions12m,
		p.LookupFailures, p.LookupWindowMinutes, p.LinkFailures)
	fmt.Fprintf(w, "support_hours:")
	if len(e.supportSpec) == 0 {
		fmt.Fprintf(w, " {} # always open\n")
	} else {
		fmt.Fprintln(w)
		var langs []string
		for l := range e.supportSpec {
			langs = append(langs, l)
		}
		sort.Strings(langs)
		for _, l := range langs {
			fmt.Fprintf(w, "  %s: {hours: %q, tz: %s}\n", l, e.supportSpec[l][0], e.supportSpec[l][1])
		}
	}
	fmt.Fprintf(w, "data: %q\nflows: %q\nlocales: %q\n", e.Data, e.Flows, e.Locales)
	fmt.Fprintf(w, "redis:\n  url: %q\n  prefix: %q\n  session_ttl: %s\n  transcript_retention: %s\n", redactURL(e.RedisURL), e.RedisPrefix, e.SessionTTL, e.TranscriptTTL)
	secret := redacted(string(e.Bot.LinkSecret))
	if e.demoSecret {
		secret = "(not set: the demo secret is used; set LINK_TOKEN_SECRET in production)"
	}
	fmt.Fprintf(w, "link_token_secret: %s\nlog_level: %s\naddr: %q\nshutdown_timeout: %s\n", secret, strings.ToLower(e.LogLevel.String()), e.Addr, e.Shutdown)
	fmt.Fprintf(w, "backend: %s\nshop_api:\n  url: %q\n  token: %s\n", e.Backend, e.ShopURL, redacted(e.ShopToken))
	fmt.Fprintf(w, "telegram:\n  token: %s\n  api_url: %q\n  webhook_url: %q\n  webhook_secret: %s\n  rate: %g\n  chat_interval: %s\n",
		redacted(e.Telegram.Token), e.Telegram.APIURL, e.Telegram.WebhookURL, redacted(e.Telegram.WebhookSecret), e.Telegram.Rate, e.Telegram.ChatInterval)
	fmt.Fprintf(w, "slack:\n  bot_token: %s\n  channel: %q\n  app_token: %s\n  signing_secret: %s\n  api_url: %q\n  user_group: %q\n",
		redacted(e.Slack.BotToken), e.Slack.Channel, redacted(e.Slack.AppToken), redacted(e.Slack.SigningSecret), e.Slack.APIURL, e.Slack.UserGroup)
}

// redactURL hides a password in a Redis URL.
func redactURL(u string) string {
	if at := strings.LastIndex(u, "@"); at > 0 {
		if scheme := strings.Index(u, "://"); scheme >= 0 && scheme < at {
			return u[:scheme+3] + "[redacted]" + u[at:]
		}
	}
	return u
}
