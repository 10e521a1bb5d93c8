package main

import (
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/parcelbot/parcelbot/adapters/demo"
	"github.com/parcelbot/parcelbot/adapters/metrics"
	"github.com/parcelbot/parcelbot/adapters/redis"
	"github.com/parcelbot/parcelbot/adapters/shopapi"
	"github.com/parcelbot/parcelbot/bot"
	"github.com/parcelbot/parcelbot/dialog"
	"github.com/parcelbot/parcelbot/domain"
	"github.com/parcelbot/parcelbot/locales"
)

type app struct {
	env            env
	stdin          interface{ Read([]byte) (int, error) }
	stdout, stderr interface{ Write([]byte) (int, error) }
	// viaShopAPI runs conversation tests through the shop API adapter
	// against a fake serving the same data (the adapter's journey test).
	viaShopAPI bool
	// convoRedis, when set, is the Redis conversation tests run on (each
	// under its own key prefix) instead of an in-process one each.
	convoRedis goredis.UniversalClient
}

func (a *app) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(a.stderr, &slog.HandlerOptions{Level: a.env.LogLevel, ReplaceAttr: maskAttr}))
}

// jsonLogger is serve's logger: JSON lines, personal data masked.
func (a *app) jsonLogger() *slog.Logger {
	return slog.New(slog.NewJSONHandler(a.stderr, &slog.HandlerOptions{Level: a.env.LogLevel, ReplaceAttr: maskAttr}))
}

// maskAttr masks personal data and secrets by attribute key, wherever a
// log line carries them: secrets entirely, names, e-mails, phone numbers
// and addresses down to a hint. (Secret values also redact themselves: see
// domain.Secret.)
func maskAttr(_ []string, a slog.Attr) slog.Attr {
	k := strings.ToLower(a.Key)
	switch {
	case strings.Contains(k, "password") || strings.Contains(k, "token") || strings.Contains(k, "secret"):
		return slog.String(a.Key, "[redacted]")
	case k == "name" || k == "customer_name" || k == "email" || k == "phone" || k == "street" || k == "address" || k == "text":
		return slog.String(a.Key, maskValue(a.Value.String()))
	}
	return a
}

// maskValue keeps the first character of each word: "Anna Schmidt" →
// "A*** S***", "anna@example.com" → "a***@e***".
func maskValue(s string) string {
	var b strings.Builder
	start := true
	for _, r := range s {
		switch {
		case r == ' ' || r == '@' || r == '.' || r == '-' || r == '+':
			b.WriteRune(r)
			start = true
		case start:
			b.WriteRune(r)
			b.WriteString("***")
			start = false
		}
	}
	return b.String()
}

// loadData loads the data file (path, or the env's, or the embedded demo)
// with relative times anchored at now.
func (a *app) loadData(path string, now time.Time) (*demo.Data, error) {
	if path == "" {
		path = a.env.Data
	}
	if path == "" {
		return demo.Default(now)
	}
	return demo.Load(path, now)
}

// sources returns the flow and locale file systems: directories from the
// environment (or flags) or the embedded ones.
func (a *app) sources(flows, locs string) (fs.FS, fs.FS) {
	if flows == "" {
		flows = a.env.Flows
	}
	if locs == "" {
		locs = a.env.Locales
	}
	ffs, lfs := dialog.Flows(), fs.FS(locales.FS)
	if flows != "" {
		ffs = os.DirFS(flows)
	}
	if locs != "" {
		lfs = os.DirFS(locs)
	}
	return ffs, lfs
}

func (a *app) engine(b bot.Backends, flows, locs string) (*dialog.Engine, error) {
	ffs, lfs := a.sources(flows, locs)
	e, err := bot.NewEngineFrom(a.env.Bot, b, ffs, lfs)
	if err != nil {
		return nil, fmt.Errorf("load journeys: %w", err)
	}
	return e, nil
}

// strictEngine is engine with the manifest's slot declarations enforced,
// for conversation tests.
func (a *app) strictEngine(b bot.Backends) (*dialog.Engine, error) {
	ffs, lfs := a.sources("", "")
	cfg := a.env.Bot
	cfg.Strict = true
	e, err := bot.NewEngineFrom(cfg, b, ffs, lfs)
	if err != nil {
		return nil, fmt.Errorf("load journeys: %w", err)
	}
	return e, nil
}

// backendsFor returns the configured shop backend (the demo data, or the
// shop's API) with parcelbot's records in Redis.
func (a *app) backendsFor(rdb goredis.UniversalClient, met *metrics.Metrics) (bot.Backends, error) {
	if a.env.Backend == "shopapi" {
		var tr http.RoundTripper
		if met != nil {
			tr = met.Transport("shop", nil)
		}
		c, err := shopapi.New(shopapi.Config{URL: a.env.ShopURL, Token: domain.Secret(a.env.ShopToken), Transport: tr})
		if err != nil {
			return bot.Backends{}, err
		}
		return bot.Backends{Shop: c, Writer: c, Records: redis.NewRecords(rdb, a.env.RedisPrefix, 0)}, nil
	}
	data, err := a.loadData("", time.Now())
	if err != nil {
		return bot.Backends{}, err
	}
	return a.backends(data, rdb), nil
}

// backends are the demo data (shop and its writes) and parcelbot's records
// in Redis.
func (a *app) backends(data *demo.Data, rdb goredis.UniversalClient) bot.Backends {
	return bot.Backends{Shop: data, Writer: data, Records: redis.NewRecords(rdb, a.env.RedisPrefix, 0)}
}

func (a *app) store(rdb goredis.UniversalClient) *redis.Store {
	return redis.NewStore(rdb, redis.Options{Prefix: a.env.RedisPrefix, IdleTTL: a.env.SessionTTL, TranscriptTTL: a.env.TranscriptTTL})
}
