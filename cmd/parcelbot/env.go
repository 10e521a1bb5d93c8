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
	Data        string // PARCELBOT_DATA: data file; empty = embedded demo
	Flows       string // PARCELBOT_FLOWS: flow directory; empty = embedded
	Locales     string // PARCELBOT_LOCALES: locale directory; empty = embedded
	RedisURL    string // REDIS_URL: empty = in-process miniredis
	RedisPrefix string // REDIS_PREFIX
	SessionTTL  time.Duration
	LogLevel    slog.Level
	Bot         bot.Config
}

func loadEnv(getenv func(string) string) (env, error) {
	e := env{
		Data:        getenv("PARCELBOT_DATA"),
		Flows:       getenv("PARCELBOT_FLOWS"),
		Locales:     getenv("PARCELBOT_LOCALES"),
		RedisURL:    getenv("REDIS_URL"),
		RedisPrefix: getenv("REDIS_PREFIX"),
		SessionTTL:  30 * 24 * time.Hour,
		LogLevel:    slog.LevelWarn,
		Bot:         bot.DefaultConfig(),
	}
	if v := getenv("PARCELBOT_SHOP_NAME"); v != "" {
		e.Bot.ShopName = v
	}
	if v := getenv("PARCELBOT_ORDER_FORMAT"); v != "" {
		e.Bot.OrderFormat = v
	}
	if v := getenv("SESSION_TTL"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return e, fmt.Errorf("SESSION_TTL: %q is not a positive duration such as 720h", v)
		}
		e.SessionTTL = d
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
