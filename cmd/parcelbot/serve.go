package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"sync"
	"time"

	"github.com/parcelbot/parcelbot/adapters/console"
	"github.com/parcelbot/parcelbot/adapters/metrics"
	"github.com/parcelbot/parcelbot/adapters/redis"
	"github.com/parcelbot/parcelbot/adapters/shopapi"
	slackdesk "github.com/parcelbot/parcelbot/adapters/slack"
	"github.com/parcelbot/parcelbot/adapters/telegram"
	"github.com/parcelbot/parcelbot/bot"
)

// serve runs the bot with the channels the configuration enables and the
// HTTP server (webhooks, /healthz, /readyz, /metrics) on PARCELBOT_ADDR,
// until ctx ends; then it shuts down gracefully within SHUTDOWN_TIMEOUT:
// it stops taking updates, finishes the turns in flight, lets the Slack
// outbox drain, writes the last done-marks and closes Redis.
func (a *app) serve(ctx context.Context, args []string) int {
	fl := flag.NewFlagSet("serve", flag.ContinueOnError)
	fl.SetOutput(a.stderr)
	addr := fl.String("addr", a.env.Addr, "HTTP address (PARCELBOT_ADDR)")
	redisURL := fl.String("redis", a.env.RedisURL, "Redis URL (REDIS_URL)")
	demo := fl.Bool("demo", false, "allow the public demo link secret (demo data only, never with the shop API)")
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
	if err := a.env.serveSecrets(*demo); err != nil {
		fmt.Fprintf(a.stderr, "parcelbot serve: %v\n", err)
		return 2
	}
	log := a.jsonLogger()
	met := metrics.New()
	rdb, closeRedis, err := redis.Connect(*redisURL)
	if err != nil {
		fmt.Fprintf(a.stderr, "parcelbot serve: %v\n", err)
		return 1
	}
	defer closeRedis()
	rdb.AddHook(met.Redis())
	if *redisURL == "" {
		log.Warn("REDIS_URL is empty: conversations live in an in-process Redis and are lost at exit")
	}
	be, err := a.backendsFor(rdb, met)
	if err != nil {
		fmt.Fprintf(a.stderr, "parcelbot serve: %v\n", err)
		return 2
	}
	// the report's day counters, passing every observation on to /metrics
	stats := bot.NewStats(redis.NewStats(rdb, a.env.RedisPrefix), met, log)
	be.Observer = stats
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
			SigningSecret: a.env.Slack.SigningSecret, APIURL: a.env.Slack.APIURL, UserGroup: a.env.Slack.UserGroup, Lang: a.env.Slack.Lang,
			Prefix: a.env.RedisPrefix, SLA: a.env.Slack.ReminderAfter, Logger: log,
			HTTPClient: &http.Client{Timeout: 30 * time.Second, Transport: met.Transport("slack", slackdesk.NewTransport())},
		}, rdb, be.Records)
		if err != nil {
			fmt.Fprintf(a.stderr, "parcelbot serve: %v\n", err)
			return 2
		}
		desk = sdesk
	}
	store := a.store(rdb)
	svc := bot.NewService(bot.Options{Engine: eng, Store: store, Desk: desk, Backends: be, Logger: log, Observer: stats})
	typingAfter := a.env.Telegram.TypingAfter
	if typingAfter == 0 {
		typingAfter = -1 // at once
	}
	tgCfg := telegram.Config{
		Token: a.env.Telegram.Token, APIURL: a.env.Telegram.APIURL,
		WebhookURL: a.env.Telegram.WebhookURL, WebhookSecret: a.env.Telegram.WebhookSecret, WebhookConnections: a.env.Telegram.WebhookConnections, WebhookReplies: a.env.Telegram.WebhookReplies,
		GlobalRate: a.env.Telegram.Rate, ChatEvery: a.env.Telegram.ChatInterval, FloodMessages: a.env.Telegram.FloodMessages, TypingAfter: typingAfter,
		Catalog: eng.Catalog(), Commands: eng.Menu(), Logger: log,
		Spool: redis.NewTelegramSpool(rdb, a.env.RedisPrefix), Count: met.Channel("telegram"),
	}
	tgCfg.Transport = met.Transport("telegram", telegram.NewTransport(max(64, tgCfg.WebhookConnections)))
	tg, err := telegram.New(tgCfg)
	if err != nil {
		fmt.Fprintf(a.stderr, "parcelbot serve: %v\n", err)
		return 2
	}
	svc.AddChannel(tg)

	// readiness: Redis reachable, channels connected
	checks := map[string]func(context.Context) error{
		"redis":    store.Ping,
		"telegram": func(context.Context) error { return tg.Ready() },
	}
	if sdesk != nil {
		checks["slack"] = func(context.Context) error { return sdesk.Ready() }
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	// the ops listener (loopback by default): metrics and readiness, whose
	// answer names each dependency and its state only; the reason, which
	// may carry internal addresses, goes to the log
	ops := http.NewServeMux()
	ops.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	ops.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		cctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		status, code := map[string]string{}, http.StatusOK
		for name, check := range checks {
			if err := check(cctx); err != nil {
				status[name], code = "unavailable", http.StatusServiceUnavailable
				log.Warn("not ready", "dependency", name, "err", err)
			} else {
				status[name] = "ok"
			}
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		_ = json.NewEncoder(w).Encode(status)
	})
	ops.Handle("GET /metrics", met.Handler())
	if a.env.Telegram.WebhookURL != "" {
		u, _ := url.Parse(a.env.Telegram.WebhookURL)
		path := u.Path
		if path == "" {
			path = "/"
		}
		mux.Handle(path, tg.WebhookHandler())
		tg.SetHandler(svc)
	}
	var events *bot.Events
	if secret := a.env.eventsSecret(*demo); secret != nil {
		host, _ := os.Hostname()
		events = bot.NewEvents(svc, redis.NewEventQueue(rdb, a.env.RedisPrefix), fmt.Sprintf("%s-%d", host, os.Getpid()))
		events.Quiet = a.env.QuietHours
		mux.Handle(shopapi.EventsPath, shopapi.EventHandler(secret, events, nil, log))
	}
	if sdesk != nil {
		sdesk.SetAgent(svc)
		sdesk.SetFiles(svc)
		if a.env.Slack.SigningSecret != "" {
			mux.Handle("POST /slack/events", sdesk.EventsHandler())
			mux.Handle("POST /slack/interactivity", sdesk.InteractivityHandler())
		}
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintf(a.stderr, "parcelbot serve: listen on %s (PARCELBOT_ADDR): %v\n", *addr, err)
		return 1
	}
	opsLn, err := net.Listen("tcp", a.env.OpsAddr)
	if err != nil {
		ln.Close()
		fmt.Fprintf(a.stderr, "parcelbot serve: listen on %s (PARCELBOT_OPS_ADDR): %v\n", a.env.OpsAddr, err)
		return 1
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	opsSrv := &http.Server{Handler: ops, ReadHeaderTimeout: 10 * time.Second}
	mode := "long polling"
	if a.env.Telegram.WebhookURL != "" {
		mode = "webhook"
	}
	deskName := "console"
	if sdesk != nil {
		deskName = "Slack"
	}
	fmt.Fprintf(a.stdout, "parcelbot: serving Telegram (%s), agent desk %s; HTTP on %s\n", mode, deskName, ln.Addr())
	fmt.Fprintf(a.stdout, "parcelbot: metrics and readiness on %s\n", opsLn.Addr())
	if events != nil {
		fmt.Fprintf(a.stdout, "parcelbot: order events on %s%s\n", ln.Addr(), shopapi.EventsPath)
	}

	// intake stops at ctx; background work (outbox, done-marks) at the end
	intake, stopIntake := context.WithCancel(ctx)
	defer stopIntake()
	background, stopBackground := context.WithCancel(context.WithoutCancel(ctx))
	defer stopBackground()
	var intakeWG, bgWG sync.WaitGroup
	var runErr error
	bgWG.Add(1)
	go func() {
		defer bgWG.Done()
		stats.Run(background, 5*time.Second)
	}()
	if events != nil {
		intakeWG.Add(1)
		go func() {
			defer intakeWG.Done()
			events.Run(intake)
		}()
	}
	if sdesk != nil {
		bgWG.Add(1)
		go func() {
			defer bgWG.Done()
			_ = sdesk.Run(background)
		}()
		if a.env.Slack.AppToken != "" {
			intakeWG.Add(1)
			go func() {
				defer intakeWG.Done()
				_ = sdesk.RunSocketMode(intake)
			}()
		}
	}
	intakeWG.Add(2)
	go func() {
		defer intakeWG.Done()
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("http server", "err", err)
			stopIntake()
		}
	}()
	bgWG.Add(1)
	go func() {
		defer bgWG.Done()
		if err := opsSrv.Serve(opsLn); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("ops http server", "err", err)
		}
	}()
	go func() {
		defer intakeWG.Done()
		if err := tg.Run(intake, svc); err != nil {
			runErr = err
			stopIntake()
		}
	}()
	<-intake.Done()

	// graceful shutdown within the deadline
	log.Info("shutting down", "deadline", a.env.Shutdown)
	deadline, cancelDeadline := context.WithTimeout(context.WithoutCancel(ctx), a.env.Shutdown)
	defer cancelDeadline()
	_ = srv.Shutdown(deadline) // webhook requests in flight finish
	waitOrDeadline(deadline, &intakeWG)
	if sdesk != nil { // let the outbox drain while Slack answers
		for deadline.Err() == nil && !sdesk.Failing() {
			if n, err := sdesk.Pending(deadline); err != nil || n == 0 {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	if err := store.Flush(deadline); err != nil { // the last done marks
		log.Warn("done marks not written; redeliveries of those turns would repeat their replies", "err", err)
	}
	stopBackground()
	_ = opsSrv.Shutdown(deadline)
	waitOrDeadline(deadline, &bgWG)
	if runErr != nil {
		fmt.Fprintf(a.stderr, "parcelbot serve: %v\n", runErr)
		return 1
	}
	return 0
}

func waitOrDeadline(ctx context.Context, wg *sync.WaitGroup) {
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
	}
}

// health asks a running serve's /healthz on PARCELBOT_ADDR (or /readyz on
// PARCELBOT_OPS_ADDR with -ready) and exits 0 when it answers 200.
func (a *app) health(args []string) int {
	fl := flag.NewFlagSet("health", flag.ContinueOnError)
	fl.SetOutput(a.stderr)
	ready := fl.Bool("ready", false, "ask /readyz instead of /healthz")
	if err := fl.Parse(args); err != nil {
		return 2
	}
	addr := a.env.Addr
	if *ready {
		addr = a.env.OpsAddr
	}
	if host, port, err := net.SplitHostPort(addr); err == nil && (host == "" || host == "0.0.0.0" || host == "::") {
		addr = net.JoinHostPort("127.0.0.1", port)
	}
	path := "/healthz"
	if *ready {
		path = "/readyz"
	}
	c := &http.Client{Timeout: 3 * time.Second}
	resp, err := c.Get("http://" + addr + path)
	if err != nil {
		fmt.Fprintf(a.stderr, "parcelbot health: %v\n", err)
		return 1
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		fmt.Fprintf(a.stderr, "parcelbot health: %s answered %d\n", path, resp.StatusCode)
		return 1
	}
	return 0
}
