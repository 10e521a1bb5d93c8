package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/parcelbot/parcelbot/adapters/console"
	"github.com/parcelbot/parcelbot/adapters/redis"
	slackdesk "github.com/parcelbot/parcelbot/adapters/slack"
	"github.com/parcelbot/parcelbot/adapters/telegram"
	"github.com/parcelbot/parcelbot/bot"
)

// serve runs the bot with the channels the configuration enables, and the
// HTTP server (webhooks, health) on PARCELBOT_ADDR, until ctx ends.
func (a *app) serve(ctx context.Context, args []string) int {
	fl := flag.NewFlagSet("serve", flag.ContinueOnError)
	fl.SetOutput(a.stderr)
	if err := fl.Parse(args); err != nil {
		return 2
	}
	if a.env.Telegram.Token == "" {
		fmt.Fprintln(a.stderr, `parcelbot serve: no channel is configured.
Set TELEGRAM_BOT_TOKEN (from @BotFather) to serve customers on Telegram,
optionally TELEGRAM_WEBHOOK_URL and TELEGRAM_WEBHOOK_SECRET for webhook mode.
To try the bot without Telegram, run: parcelbot chat`)
		return 2
	}
	log := a.jsonLogger()
	data, err := a.loadData("", time.Now())
	if err != nil {
		fmt.Fprintf(a.stderr, "parcelbot serve: %v\n", err)
		return 1
	}
	rdb, closeRedis, err := redis.Connect(a.env.RedisURL)
	if err != nil {
		fmt.Fprintf(a.stderr, "parcelbot serve: %v\n", err)
		return 1
	}
	defer closeRedis()
	if a.env.RedisURL == "" {
		log.Warn("REDIS_URL is empty: conversations live in an in-process Redis and are lost at exit")
	}
	be := a.backends(data, rdb)
	eng, err := a.engine(be, "", "")
	if err != nil {
		fmt.Fprintf(a.stderr, "parcelbot serve: %v\n", err)
		return 1
	}
	var desk bot.Desk = console.NewDesk(a.stdout)
	var sdesk *slackdesk.Desk
	if a.env.Slack.BotToken != "" {
		sdesk, err = slackdesk.New(slackdesk.Config{
			BotToken: a.env.Slack.BotToken, Channel: a.env.Slack.Channel, AppToken: a.env.Slack.AppToken,
			SigningSecret: a.env.Slack.SigningSecret, APIURL: a.env.Slack.APIURL, UserGroup: a.env.Slack.UserGroup,
			Prefix: a.env.RedisPrefix, SLA: time.Duration(a.env.Bot.Policy.AgentSLAMinutes) * time.Minute, Logger: log,
		}, rdb, be.Records)
		if err != nil {
			fmt.Fprintf(a.stderr, "parcelbot serve: %v\n", err)
			return 2
		}
		desk = sdesk
	}
	svc := bot.NewService(bot.Options{Engine: eng, Store: a.store(rdb), Desk: desk, Backends: be, Logger: log})
	tg, err := telegram.New(telegram.Config{
		Token: a.env.Telegram.Token, APIURL: a.env.Telegram.APIURL,
		WebhookURL: a.env.Telegram.WebhookURL, WebhookSecret: a.env.Telegram.WebhookSecret,
		GlobalRate: a.env.Telegram.Rate, ChatEvery: a.env.Telegram.ChatInterval,
		Catalog: eng.Catalog(), Logger: log,
	})
	if err != nil {
		fmt.Fprintf(a.stderr, "parcelbot serve: %v\n", err)
		return 2
	}
	svc.AddChannel(tg)

	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	if a.env.Telegram.WebhookURL != "" {
		u, _ := url.Parse(a.env.Telegram.WebhookURL)
		path := u.Path
		if path == "" {
			path = "/"
		}
		mux.Handle(path, tg.WebhookHandler())
		tg.SetHandler(svc)
	}
	if sdesk != nil {
		sdesk.SetAgent(svc)
		if a.env.Slack.SigningSecret != "" {
			mux.Handle("POST /slack/events", sdesk.EventsHandler())
			mux.Handle("POST /slack/interactivity", sdesk.InteractivityHandler())
		}
	}
	ln, err := net.Listen("tcp", a.env.Addr)
	if err != nil {
		fmt.Fprintf(a.stderr, "parcelbot serve: listen on %s (PARCELBOT_ADDR): %v\n", a.env.Addr, err)
		return 1
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	mode := "long polling"
	if a.env.Telegram.WebhookURL != "" {
		mode = "webhook"
	}
	deskName := "console"
	if sdesk != nil {
		deskName = "Slack"
	}
	fmt.Fprintf(a.stdout, "parcelbot: serving Telegram (%s), agent desk %s; HTTP on %s\n", mode, deskName, ln.Addr())

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	var runErr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		svc.Run(ctx)
	}()
	if sdesk != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = sdesk.Run(ctx)
		}()
		if a.env.Slack.AppToken != "" {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_ = sdesk.RunSocketMode(ctx)
			}()
		}
	}
	wg.Add(2)
	go func() {
		defer wg.Done()
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("http server", "err", err)
			cancel()
		}
	}()
	go func() {
		defer wg.Done()
		if err := tg.Run(ctx, svc); err != nil {
			runErr = err
			cancel()
		}
	}()
	<-ctx.Done()
	shutdown, done := context.WithTimeout(context.Background(), 10*time.Second)
	defer done()
	_ = srv.Shutdown(shutdown)
	wg.Wait()
	if runErr != nil {
		fmt.Fprintf(a.stderr, "parcelbot serve: %v\n", runErr)
		return 1
	}
	return 0
}
