package main

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/parcelbot/parcelbot/bot"
	"github.com/parcelbot/parcelbot/domain"
)

// setting is the one declaration of a configuration setting: its key in
// the file, its environment variable ("" for file only), its default, and
// whether it is a secret. The loader (koanf: defaults, then the file, then
// the environment), `parcelbot config`, `parcelbot config -docs` (the
// table in README.md) and `parcelbot config -example`
// (docs/parcelbot.example.yaml) all read this table.
type setting struct {
	key    string
	env    string
	def    string
	secret bool
	doc    string
	set    func(e *env, v string) error // parses and stores the value
	show   func(e *env) string          // the effective value, when it is not the raw one
}

// settings in the order the example file and the table show them.
var settings = []setting{
	{key: "shop.name", env: "PARCELBOT_SHOP_NAME", def: "Parcel Shop", doc: "the shop's name in messages",
		set: func(e *env, v string) error { e.Bot.ShopName = v; return nil }},
	{key: "shop.order_format", env: "PARCELBOT_ORDER_FORMAT", def: "NNN-NNNNNNN-NNNNNNN", doc: "order numbers: `N` digit, `A` letter, `X` either, anything else a separator",
		set: func(e *env, v string) error {
			if _, err := bot.ParseOrderFormat(v); err != nil {
				return err
			}
			e.Bot.OrderFormat = v
			return nil
		}},
	{key: "shop.events_secret", env: "SHOP_EVENTS_SECRET", secret: true, doc: "shared with the shop; signs the order events it POSTs to `/shop/events` (docs/shop-api.yaml, x-webhooks); at least 32 bytes. Empty: `serve` takes no events (`serve --demo` and `parcelbot event` use the public demo secret)",
		set: func(e *env, v string) error { e.EventsSecret = []byte(v); return nil },
		show: func(e *env) string {
			if len(e.EventsSecret) == 0 {
				return "(not set: no order events)"
			}
			return "[redacted]"
		}},
	{key: "shop.quiet_hours", env: "NOTIFY_QUIET_HOURS", def: "22-7", doc: "hours (in the customer's zone) the bot does not write first; news are held until they end; `off` for none",
		set: func(e *env, v string) error {
			q, err := domain.ParseQuietHours(v)
			e.QuietHours = q
			return err
		}},
	{key: "policy.late_refund_after_days", env: "LATE_REFUND_AFTER_DAYS", def: "5", doc: "late by this many days: wait, replacement or refund",
		set: intInto(func(e *env) *int { return &e.Bot.Policy.LateRefundAfterDays })},
	{key: "policy.wait_hours_after_delivered", env: "WAIT_HOURS_AFTER_DELIVERED", def: "36", doc: `"delivered" less than this long ago: look around first`,
		set: intInto(func(e *env) *int { return &e.Bot.Policy.WaitHoursAfterDelivered })},
	{key: "policy.auto_approve_limit", env: "AUTO_APPROVE_LIMIT", def: "250.00", doc: "missing-parcel claims up to this order total are approved without an agent",
		set: func(e *env, v string) error {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil || f < 0 {
				return fmt.Errorf("%q is not an amount such as 250.00", v)
			}
			e.Bot.Policy.AutoApproveLimit = int64(f*100 + 0.5)
			return nil
		},
		show: func(e *env) string {
			return fmt.Sprintf("%d.%02d", e.Bot.Policy.AutoApproveLimit/100, e.Bot.Policy.AutoApproveLimit%100)
		}},
	{key: "policy.max_claims_12m", env: "MAX_CLAIMS_12M", def: "2", doc: "from this many claims in 12 months on, an agent decides",
		set: intInto(func(e *env) *int { return &e.Bot.Policy.MaxClaims12m })},
	{key: "policy.agent_sla_minutes", env: "AGENT_SLA_MINUTES", def: "10", doc: "an unclaimed case gets a reminder (and the customer a word) after this long",
		set: intInto(func(e *env) *int { return &e.Bot.Policy.AgentSLAMinutes })},
	{key: "policy.trial_max_extensions", def: "1", doc: "free months ever granted on a trial",
		set: intInto(func(e *env) *int { return &e.Bot.Policy.TrialMaxExtensions })},
	{key: "policy.paid_max_extensions_12m", def: "12", doc: "free months in any 12 months on a paid plan",
		set: intInto(func(e *env) *int { return &e.Bot.Policy.PaidMaxExtensions12m })},
	{key: "policy.lookup_failures", env: "LOOKUP_FAILURES", def: "5", doc: "wrong order numbers/postcodes a chat may give in the window before a cool-down",
		set: intInto(func(e *env) *int { return &e.Bot.Policy.LookupFailures })},
	{key: "policy.lookup_window_minutes", env: "LOOKUP_WINDOW_MINUTES", def: "10", doc: "that window and cool-down (also for link tokens)",
		set: intInto(func(e *env) *int { return &e.Bot.Policy.LookupWindowMinutes })},
	{key: "policy.link_failures", env: "LINK_FAILURES", def: "5", doc: "invalid deep-link tokens a chat may try before none is accepted for the window",
		set: intInto(func(e *env) *int { return &e.Bot.Policy.LinkFailures })},
	{key: "data", env: "PARCELBOT_DATA", doc: "a data file (orders, customers, lockers) instead of the embedded demo; see docs/data.md",
		set: func(e *env, v string) error { e.Data = v; return nil }},
	{key: "flows", env: "PARCELBOT_FLOWS", doc: "a directory of flow files instead of the embedded ones (docs/flows.md)",
		set: func(e *env, v string) error { e.Flows = v; return nil }},
	{key: "locales", env: "PARCELBOT_LOCALES", doc: "a directory of locale files instead of the embedded ones (docs/locales.md)",
		set: func(e *env, v string) error { e.Locales = v; return nil }},
	{key: "redis.url", env: "REDIS_URL", doc: "empty: an in-process Redis (demo and tests only); `redis://host:6379/0`, `rediss://…`, `redis-sentinel://s1:26379,s2:26379/mymaster`, `redis+cluster://h1:6379,h2:6379` (or `h1:6379,h2:6379`); a single address of a cluster node is detected",
		set:  func(e *env, v string) error { e.RedisURL = v; return nil },
		show: func(e *env) string { return redactURL(e.RedisURL) }},
	{key: "redis.prefix", env: "REDIS_PREFIX", def: "parcelbot:", doc: "key prefix",
		set: func(e *env, v string) error { e.RedisPrefix = v; return nil }},
	{key: "redis.session_ttl", env: "SESSION_TTL", def: "720h", doc: "a conversation idle this long is forgotten (at most a thirtieth longer: the TTL is renewed once in each thirtieth, a day for 30 days)",
		set: durInto(func(e *env) *time.Duration { return &e.SessionTTL })},
	{key: "redis.transcript_retention", env: "TRANSCRIPT_RETENTION", def: "2160h", doc: "transcripts are kept this long after a conversation's last message (at most a thirtieth of `SESSION_TTL` longer); `/forget` deletes them at once",
		set: durInto(func(e *env) *time.Duration { return &e.TranscriptTTL })},
	{key: "link_token_secret", env: "LINK_TOKEN_SECRET", secret: true, doc: "shared with the shop's website; signs `/start` deep-link tokens; at least 32 bytes (`openssl rand -hex 32`). `serve` refuses to start without it; `chat`, `test`, `link` and `serve --demo` (demo data only) use the public demo secret",
		set: func(e *env, v string) error {
			if v == "" {
				v, e.demoSecret = demoLinkSecret, true // fine for trying deep links, never for production
			}
			e.Bot.LinkSecret = []byte(v)
			return nil
		},
		show: func(e *env) string {
			if e.demoSecret {
				return "(not set: the demo secret is used; set LINK_TOKEN_SECRET in production)"
			}
			return "[redacted]"
		}},
	{key: "log_level", env: "LOG_LEVEL", def: "warn", doc: "`debug`, `info`, `warn`, `error`",
		set: func(e *env, v string) error {
			if err := e.LogLevel.UnmarshalText([]byte(v)); err != nil {
				return fmt.Errorf("%q is not debug, info, warn or error", v)
			}
			return nil
		},
		show: func(e *env) string { return strings.ToLower(e.LogLevel.String()) }},
	{key: "addr", env: "PARCELBOT_ADDR", def: ":8080", doc: "public HTTP address of `serve` (webhooks, `/healthz`)",
		set: func(e *env, v string) error { e.Addr = v; return nil }},
	{key: "ops_addr", env: "PARCELBOT_OPS_ADDR", def: "127.0.0.1:9090", doc: "ops HTTP address: `/metrics`, `/readyz`, `/healthz` (loopback by default; `:9090` in Kubernetes)",
		set: func(e *env, v string) error { e.OpsAddr = v; return nil }},
	{key: "shutdown_timeout", env: "SHUTDOWN_TIMEOUT", def: "20s", doc: "graceful shutdown deadline on SIGTERM",
		set: durInto(func(e *env) *time.Duration { return &e.Shutdown })},
	{key: "backend", env: "PARCELBOT_BACKEND", def: "demo", doc: "`demo`, or `shopapi`: read and write through the shop's API (docs/shop-api.yaml)",
		set: func(e *env, v string) error {
			if v != "demo" && v != "shopapi" {
				return fmt.Errorf("%q is not demo or shopapi", v)
			}
			e.Backend = v
			return nil
		}},
	{key: "shop_api.url", env: "SHOP_API_URL", doc: "the shop API's base URL (with `shopapi`)",
		set: func(e *env, v string) error { e.ShopURL = v; return nil }},
	{key: "shop_api.token", env: "SHOP_API_TOKEN", secret: true, doc: "its bearer token",
		set: func(e *env, v string) error { e.ShopToken = v; return nil }},
	{key: "telegram.token", env: "TELEGRAM_BOT_TOKEN", secret: true, doc: "enables the Telegram channel (from @BotFather)",
		set: func(e *env, v string) error { e.Telegram.Token = v; return nil }},
	{key: "telegram.api_url", env: "TELEGRAM_API_URL", def: "https://api.telegram.org", doc: "a self-hosted Bot API server (or a test fake)",
		set: func(e *env, v string) error { e.Telegram.APIURL = v; return nil }},
	{key: "telegram.webhook_url", env: "TELEGRAM_WEBHOOK_URL", doc: "webhook mode: the public URL Telegram posts to (empty: long polling)",
		set: func(e *env, v string) error {
			if v != "" && !strings.HasPrefix(v, "https://") && !strings.HasPrefix(v, "http://") {
				return fmt.Errorf("%q is not a URL", v)
			}
			e.Telegram.WebhookURL = v
			return nil
		}},
	{key: "telegram.webhook_secret", env: "TELEGRAM_WEBHOOK_SECRET", secret: true, doc: "required in webhook mode; checked on every webhook request",
		set: func(e *env, v string) error { e.Telegram.WebhookSecret = v; return nil }},
	{key: "telegram.rate", env: "TELEGRAM_RATE", def: "30", doc: "messages a second overall",
		set: func(e *env, v string) error {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil || f <= 0 {
				return fmt.Errorf("%q is not a positive number of messages a second", v)
			}
			e.Telegram.Rate = f
			return nil
		}},
	{key: "telegram.chat_interval", env: "TELEGRAM_CHAT_INTERVAL", def: "1s", doc: "time between two messages to one chat",
		set: durInto(func(e *env) *time.Duration { return &e.Telegram.ChatInterval })},
	{key: "telegram.flood_messages", env: "TELEGRAM_FLOOD_MESSAGES", def: "20", doc: "a chat sending more than this in 10 s gets one notice and its extra messages are dropped (`-1`: off, e.g. for load tests)",
		set: func(e *env, v string) error {
			n, err := strconv.Atoi(v)
			if err != nil || n < -1 || n == 0 {
				return fmt.Errorf("%q is not a count (or -1 for off)", v)
			}
			e.Telegram.FloodMessages = n
			return nil
		}},
	{key: "telegram.webhook_connections", env: "TELEGRAM_WEBHOOK_CONNECTIONS", def: "40", doc: "webhook mode: the most connections Telegram opens at once (its `max_connections`, 1–100); the Bot API client keeps as many connections idle as that many turns need",
		set: func(e *env, v string) error {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > 100 {
				return fmt.Errorf("%q is not a number of connections from 1 to 100", v)
			}
			e.Telegram.WebhookConnections = n
			return nil
		}},
	{key: "telegram.webhook_replies", env: "TELEGRAM_WEBHOOK_REPLIES", def: "false", doc: "webhook mode: a turn's reply, when it is one message, goes in the webhook's answer instead of a sendMessage call (one Bot API call fewer an update; but Telegram does not say whether it was sent: a reply it refuses is lost, not retried)",
		set: func(e *env, v string) error {
			b, err := strconv.ParseBool(v)
			if err != nil {
				return fmt.Errorf("%q is not true or false", v)
			}
			e.Telegram.WebhookReplies = b
			return nil
		}},
	{key: "telegram.typing_after", env: "TELEGRAM_TYPING_AFTER", def: "300ms", doc: "a turn that runs this long shows \"typing…\" in the chat (a fast answer needs none; `0`: always, at once)",
		set: func(e *env, v string) error {
			d, err := time.ParseDuration(v)
			if v == "0" {
				d, err = 0, nil
			}
			if err != nil || d < 0 {
				return fmt.Errorf("%q is not a duration such as 300ms (or 0)", v)
			}
			e.Telegram.TypingAfter = d
			return nil
		}},
	{key: "slack.bot_token", env: "SLACK_BOT_TOKEN", secret: true, doc: "enables the Slack agent desk (`xoxb-…`; empty: the console desk)",
		set: func(e *env, v string) error { e.Slack.BotToken = v; return nil }},
	{key: "slack.channel", env: "SLACK_CHANNEL", doc: "the escalation channel's id (required with Slack)",
		set: func(e *env, v string) error { e.Slack.Channel = v; return nil }},
	{key: "slack.app_token", env: "SLACK_APP_TOKEN", secret: true, doc: "Socket Mode (`xapp-…`); or use the signing secret",
		set: func(e *env, v string) error { e.Slack.AppToken = v; return nil }},
	{key: "slack.signing_secret", env: "SLACK_SIGNING_SECRET", secret: true, doc: "HTTP events at `/slack/events` and `/slack/interactivity`",
		set: func(e *env, v string) error { e.Slack.SigningSecret = v; return nil }},
	{key: "slack.api_url", env: "SLACK_API_URL", doc: "Slack's API URL (empty: https://slack.com/api/; for tests)",
		set: func(e *env, v string) error { e.Slack.APIURL = v; return nil }},
	{key: "slack.user_group", env: "SLACK_USER_GROUP", doc: "only members of this user group may act on cases (empty: the channel's members)",
		set: func(e *env, v string) error { e.Slack.UserGroup = v; return nil }},
	{key: "slack.lang", env: "SLACK_LANG", def: "en", doc: "the agents' team language for cards and thread notes (`en`, `de`, `fr`, `it`); notices to one agent and the App Home follow each agent's Slack locale",
		set: func(e *env, v string) error {
			switch v {
			case "en", "de", "fr", "it":
				e.Slack.Lang = v
				return nil
			}
			return fmt.Errorf("%q is not en, de, fr or it", v)
		}},
	{key: "slack.reminder_after", env: "SLACK_REMINDER_AFTER", doc: "when an unclaimed card gets its reminder (empty: policy.agent_sla_minutes)",
		set: func(e *env, v string) error {
			if v == "" {
				e.Slack.ReminderAfter = 0 // set from the policy once it is known
				return nil
			}
			return durInto(func(e *env) *time.Duration { return &e.Slack.ReminderAfter })(e, v)
		},
		show: func(e *env) string { return e.Slack.ReminderAfter.String() }},
}

func intInto(field func(e *env) *int) func(e *env, v string) error {
	return func(e *env, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil {
			return fmt.Errorf("%q is not a whole number", v)
		}
		*field(e) = n
		return nil
	}
}

func durInto(field func(e *env) *time.Duration) func(e *env, v string) error {
	return func(e *env, v string) error {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return fmt.Errorf("%q is not a positive duration such as 720h or 1s", v)
		}
		*field(e) = d
		return nil
	}
}

// name is how errors and the table call a setting.
func (s setting) name() string {
	if s.env == "" {
		return s.key + " (file only)"
	}
	return s.key + " (" + s.env + ")"
}

// value is the setting's effective value for printing, secrets redacted.
func (s setting) value(e *env, raw string) string {
	switch {
	case s.show != nil:
		return s.show(e)
	case s.secret && raw == "":
		return "(not set)"
	case s.secret:
		return "[redacted]"
	}
	return raw
}
