package main

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	kyaml "github.com/knadh/koanf/parsers/yaml"
	"github.com/knadh/koanf/providers/confmap"
	kenv "github.com/knadh/koanf/providers/env/v2"
	"github.com/knadh/koanf/providers/rawbytes"
	"github.com/knadh/koanf/v2"

	"github.com/parcelbot/parcelbot/bot"
	"github.com/parcelbot/parcelbot/dialog"
	"github.com/parcelbot/parcelbot/domain"
)

// env is the effective configuration.
type env struct {
	File          string            // the configuration file read, if any
	raw           map[string]string // each setting's value as given (for printing)
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
	EventsSecret  []byte // SHOP_EVENTS_SECRET: the shop's order events
	QuietHours    domain.QuietHours
	Telegram      struct {
		Token, APIURL, WebhookURL, WebhookSecret string
		Rate                                     float64       // messages a second overall
		ChatInterval                             time.Duration // between two messages to one chat
		FloodMessages                            int           // per chat in 10 s; -1: off
		WebhookConnections                       int           // Telegram's max_connections to the webhook
		WebhookReplies                           bool          // a one-message reply in the webhook's answer
		TypingAfter                              time.Duration // a turn this slow shows "typing…"; 0: at once
	}
	Slack struct {
		BotToken, Channel, AppToken, SigningSecret, APIURL, UserGroup, Lang string
		ReminderAfter                                                       time.Duration // default: the agent SLA
	}
}

const demoLinkSecret = "parcelbot-demo-link-secret"

// demoEventsSecret signs order events on the demo data (`serve --demo`,
// `parcelbot event`); public, so never accepted for real data.
const demoEventsSecret = "parcelbot-demo-events-secret-0123456789"

// eventsSecret is the secret the events endpoint checks: the configured
// one, or the demo's for `serve --demo`; nil turns the endpoint off.
func (e *env) eventsSecret(demo bool) []byte {
	if len(e.EventsSecret) > 0 {
		return e.EventsSecret
	}
	if demo {
		return []byte(demoEventsSecret)
	}
	return nil
}

// loadEnv reads the settings (settings.go) with koanf: their defaults,
// then the configuration file (PARCELBOT_CONFIG or path), then the
// environment, which wins; and validates the result. Errors name the
// setting and its variable; an unknown key in the file is an error.
func loadEnv(getenv func(string) string, path ...string) (env, error) {
	file := getenv("PARCELBOT_CONFIG")
	if len(path) > 0 && path[0] != "" {
		file = path[0]
	}
	k := koanf.New(".")
	defaults := map[string]any{}
	byEnv := map[string]string{}
	for _, s := range settings {
		defaults[s.key] = s.def
		if s.env != "" {
			byEnv[s.env] = s.key
		}
	}
	if err := k.Load(confmap.Provider(defaults, "."), nil); err != nil {
		return env{}, fmt.Errorf("config defaults: %w", err)
	}
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return env{}, fmt.Errorf("config: %w", err)
		}
		fk := koanf.New(".")
		if err := fk.Load(rawbytes.Provider(b), kyaml.Parser()); err != nil {
			return env{}, fmt.Errorf("config %s: %s", file, strings.TrimPrefix(err.Error(), "yaml: "))
		}
		for _, key := range fk.Keys() {
			if _, ok := defaults[key]; !ok && !strings.HasPrefix(key, "support_hours.") {
				return env{}, fmt.Errorf("config %s: unknown setting %q (see docs/parcelbot.example.yaml)", file, key)
			}
		}
		if err := k.Merge(fk); err != nil {
			return env{}, fmt.Errorf("config %s: %w", file, err)
		}
	}
	err := k.Load(kenv.Provider(".", kenv.Opt{
		EnvironFunc: func() []string {
			var out []string
			for name := range byEnv {
				if v := getenv(name); v != "" {
					out = append(out, name+"="+v)
				}
			}
			return out
		},
		TransformFunc: func(name, v string) (string, any) { return byEnv[name], v },
	}), nil)
	if err != nil {
		return env{}, fmt.Errorf("config environment: %w", err)
	}

	e := env{File: file, Bot: bot.DefaultConfig(), raw: map[string]string{}}
	for _, s := range settings {
		v := k.String(s.key)
		e.raw[s.key] = v
		if err := s.set(&e, v); err != nil {
			return e, fmt.Errorf("%s: %w", s.name(), err)
		}
	}
	if e.Slack.ReminderAfter == 0 {
		e.Slack.ReminderAfter = time.Duration(e.Bot.Policy.AgentSLAMinutes) * time.Minute
	}
	switch {
	case e.Backend == "shopapi" && (e.ShopURL == "" || e.ShopToken == ""):
		return e, errors.New("shop_api.url (SHOP_API_URL) and shop_api.token (SHOP_API_TOKEN): required with PARCELBOT_BACKEND=shopapi")
	case e.Slack.BotToken != "" && e.Slack.Channel == "":
		return e, errors.New("slack.channel (SLACK_CHANNEL): required with SLACK_BOT_TOKEN: the escalation channel's id")
	case e.Slack.BotToken != "" && e.Slack.AppToken == "" && e.Slack.SigningSecret == "":
		return e, errors.New("slack.app_token (SLACK_APP_TOKEN) or slack.signing_secret (SLACK_SIGNING_SECRET): one is required with SLACK_BOT_TOKEN")
	case e.Telegram.WebhookURL != "" && e.Telegram.WebhookSecret == "":
		return e, errors.New("telegram.webhook_secret (TELEGRAM_WEBHOOK_SECRET): required in webhook mode (TELEGRAM_WEBHOOK_URL is set)")
	}
	if err := e.Bot.Policy.Validate(); err != nil {
		return e, fmt.Errorf("config: %w", err)
	}
	e.Bot.SupportHours = map[string]domain.SupportHours{}
	e.supportSpec = map[string][2]string{}
	if hours, ok := k.Get("support_hours").(map[string]any); ok {
		for lang, v := range hours {
			m, _ := v.(map[string]any)
			if dialog.NormalizeLang(lang) != lang || m == nil {
				return e, fmt.Errorf("support_hours.%s: want one of %v with hours and tz", lang, dialog.Languages)
			}
			h, tz := fmt.Sprint(m["hours"]), fmt.Sprint(m["tz"])
			sh, err := domain.ParseSupportHours(h, tz)
			if err != nil {
				return e, fmt.Errorf("support_hours.%s: %w", lang, err)
			}
			e.Bot.SupportHours[lang] = sh
			e.supportSpec[lang] = [2]string{h, tz}
		}
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
	case len(e.EventsSecret) > 0 && len(e.EventsSecret) < minSecretBytes:
		return fmt.Errorf("SHOP_EVENTS_SECRET has %d bytes: it needs at least %d (for example: openssl rand -hex 32)", len(e.EventsSecret), minSecretBytes)
	case string(e.EventsSecret) == demoEventsSecret:
		return errors.New("SHOP_EVENTS_SECRET is the public demo secret: choose your own (openssl rand -hex 32)")
	}
	return nil
}

// print writes the effective configuration as YAML, secrets redacted, in
// the order of the settings table.
func (e env) print(w io.Writer) {
	fmt.Fprintf(w, "# effective configuration (file: %s)\n", or(e.File, "none"))
	writeYAML(w, func(s setting) string { return s.value(&e, e.raw[s.key]) }, false)
	fmt.Fprintf(w, "support_hours:")
	if len(e.supportSpec) == 0 {
		fmt.Fprintf(w, " {} # always open\n")
		return
	}
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

// writeYAML writes every setting as nested YAML with value(s); with docs,
// each line carries its variable and doc as a comment.
func writeYAML(w io.Writer, value func(s setting) string, docs bool) {
	section := ""
	for i, s := range settings {
		top, leaf, nested := strings.Cut(s.key, ".")
		indent := ""
		if nested {
			if top != section {
				if docs && i > 0 {
					fmt.Fprintln(w)
				}
				fmt.Fprintf(w, "%s:\n", top)
				section = top
			}
			indent = "  "
		} else {
			if docs && section != "" {
				fmt.Fprintln(w)
			}
			section, leaf = "", s.key
		}
		v := value(s)
		if !plainYAML.MatchString(v) {
			v = strconv.Quote(v)
		}
		line := fmt.Sprintf("%s%s: %s", indent, leaf, v)
		if docs {
			comment := s.doc
			if s.env != "" {
				comment = s.env + ": " + comment
			}
			line = fmt.Sprintf("%-48s # %s", line, comment)
		}
		fmt.Fprintln(w, line)
	}
}

// plainYAML are values written without quotes: whole numbers, durations,
// plain words.
var plainYAML = regexp.MustCompile(`^(\d+|\d+(ns|us|ms|s|m|h)|[a-z]+)$`)

// docsTable writes the settings as the Markdown table in README.md.
func docsTable(w io.Writer) {
	fmt.Fprintln(w, "| setting (file) | variable | default | meaning |")
	fmt.Fprintln(w, "| --- | --- | --- | --- |")
	for _, s := range settings {
		v, def := "(file only)", "none"
		if s.env != "" {
			v = "`" + s.env + "`"
		}
		if s.def != "" {
			def = "`" + s.def + "`"
		}
		if s.secret {
			def += " (secret)"
		}
		fmt.Fprintf(w, "| `%s` | %s | %s | %s |\n", s.key, v, def, s.doc)
	}
	fmt.Fprintln(w, "| `support_hours.<lang>` | (file only) | always open | when agents work per language market, e.g. `de: {hours: \"mon-sat 08:00-20:00\", tz: Europe/Berlin}` |")
	fmt.Fprintln(w, "| | `PARCELBOT_CONFIG` | none | the configuration file (or `--config file` before the command) |")
}

// exampleFile writes docs/parcelbot.example.yaml: every setting with its
// default, variable and meaning.
func exampleFile(w io.Writer) {
	fmt.Fprint(w, `# parcelbot configuration, generated by `+"`parcelbot config -example`"+` from the
# settings table (cmd/parcelbot/settings.go). Use it with
# `+"`parcelbot --config parcelbot.yaml <command>`"+` or PARCELBOT_CONFIG=parcelbot.yaml.
# Every setting with a variable (named in its comment) can be overridden by
# it; `+"`parcelbot config`"+` prints the effective configuration with secrets
# redacted. Values shown are the defaults.

`)
	writeYAML(w, func(s setting) string { return s.def }, true)
	fmt.Fprint(w, `
# When agents work, per language market. A market not listed is always open.
# Outside these hours a customer handed to an agent is told when agents are back.
support_hours:
  en: {hours: "mon-fri 09:00-18:00", tz: Europe/London}
  de: {hours: "mon-sat 08:00-20:00", tz: Europe/Berlin}
  fr: {hours: "mon-fri 09:00-19:00", tz: Europe/Paris}
  it: {hours: "mon-fri 09:00-18:00", tz: Europe/Rome}
`)
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
