package main

import (
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/parcelbot/parcelbot/adapters/demo"
	"github.com/parcelbot/parcelbot/adapters/redis"
	"github.com/parcelbot/parcelbot/bot"
	"github.com/parcelbot/parcelbot/dialog"
	"github.com/parcelbot/parcelbot/locales"
)

type app struct {
	env            env
	stdin          interface{ Read([]byte) (int, error) }
	stdout, stderr interface{ Write([]byte) (int, error) }
}

func (a *app) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(a.stderr, &slog.HandlerOptions{Level: a.env.LogLevel}))
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

// backends are the demo data (shop and its writes) and parcelbot's records
// in Redis.
func (a *app) backends(data *demo.Data, rdb goredis.UniversalClient) bot.Backends {
	return bot.Backends{Shop: data, Writer: data, Records: redis.NewRecords(rdb, a.env.RedisPrefix, 0)}
}

func (a *app) store(rdb goredis.UniversalClient) *redis.Store {
	return redis.NewStore(rdb, redis.Options{Prefix: a.env.RedisPrefix, IdleTTL: a.env.SessionTTL, TranscriptTTL: a.env.TranscriptTTL})
}
