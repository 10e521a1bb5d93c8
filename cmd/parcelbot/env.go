package main

import (
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/parcelbot/parcelbot/bot"
)

// env is the configuration read from environment variables.
type env struct {
	Data          string // PARCELBOT_DATA: data file; empty = embedded demo
	Flows         string // PARCELBOT_FLOWS: flow directory; empty = embedded
	Locales       string // PARCELBOT_LOCALES: locale directory; empty = embedded
	RedisURL      string // REDIS_URL: empty = in-process miniredis
	RedisPrefix   string // REDIS_PREFIX
	SessionTTL    time.Duration
	TranscriptTTL time.Duration
	LogLevel      slog.Level
	Bot           bot.Config
}

func loadEnv(getenv func(string) string) (env, error) {
	e := env{
		Data:          getenv("PARCELBOT_DATA"),
		Flows:         getenv("PARCELBOT_FLOWS"),
		Locales:       getenv("PARCELBOT_LOCALES"),
		RedisURL:      getenv("REDIS_URL"),
		RedisPrefix:   getenv("REDIS_PREFIX"),
		SessionTTL:    30 * 24 * time.Hour,
		TranscriptTTL: 90 * 24 * time.Hour,
		LogLevel:      slog.LevelWarn,
		Bot:           bot.DefaultConfig(),
	}
	if v := getenv("PARCELBOT_SHOP_NAME"); v != "" {
		e.Bot.ShopName = v
	}
	if v := getenv("PARCELBOT_ORDER_FORMAT"); v != "" {
		e.Bot.OrderFormat = v
	}
	for _, d := range []struct {
		name string
		dst  *time.Duration
	}{{"SESSION_TTL", &e.SessionTTL}, {"TRANSCRIPT_RETENTION", &e.TranscriptTTL}} {
		if v := getenv(d.name); v != "" {
			x, err := time.ParseDuration(v)
			if err != nil || x <= 0 {
				return e, fmt.Errorf("%s: %q is not a positive duration such as 720h", d.name, v)
			}
			*d.dst = x
		}
	}
	e.Bot.LinkSecret = []byte(getenv("LINK_TOKEN_SECRET"))
	if len(e.Bot.LinkSecret) == 0 {
		// The demo's secret: fine for trying deep links, never for production.
		e.Bot.LinkSecret = []byte("parcelbot-demo-link-secret")
	}
	if v := getenv("LOG_LEVEL"); v != "" {
		if err := e.LogLevel.UnmarshalText([]byte(v)); err != nil {
			return e, fmt.Errorf("LOG_LEVEL: %q is not debug, info, warn or error", v)
		}
	}
	ints := []struct {
		name string
		dst  *int
	}{
		{"LATE_REFUND_AFTER_DAYS", &e.Bot.Policy.LateRefundAfterDays},
		{"WAIT_HOURS_AFTER_DELIVERED", &e.Bot.Policy.WaitHoursAfterDelivered},
		{"MAX_CLAIMS_12M", &e.Bot.Policy.MaxClaims12m},
		{"AGENT_SLA_MINUTES", &e.Bot.Policy.AgentSLAMinutes},
	}
	for _, i := range ints {
		if v := getenv(i.name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil {
				return e, fmt.Errorf("%s: %q is not a whole number", i.name, v)
			}
			*i.dst = n
		}
	}
	if v := getenv("AUTO_APPROVE_LIMIT"); v != "" {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || f < 0 {
			return e, fmt.Errorf("AUTO_APPROVE_LIMIT: %q is not an amount such as 250.00", v)
		}
		e.Bot.Policy.AutoApproveLimit = int64(f*100 + 0.5)
	}
	if err := e.Bot.Policy.Validate(); err != nil {
		return e, err
	}
	return e, nil
}
