package main

import (
	"context"
	"flag"
	"fmt"
	"strings"

	"github.com/parcelbot/parcelbot/adapters/console"
	"github.com/parcelbot/parcelbot/adapters/redis"
	slackdesk "github.com/parcelbot/parcelbot/adapters/slack"
	"github.com/parcelbot/parcelbot/bot"
)

// forget erases one conversation for a data-protection request, as the
// customer's /forget does: session and transcript deleted, cases
// pseudonymised, and (with Slack configured) the customer's words replaced
// in the case threads by the running serve's outbox.
func (a *app) forget(ctx context.Context, args []string) int {
	fl := flag.NewFlagSet("forget", flag.ContinueOnError)
	fl.SetOutput(a.stderr)
	conv := fl.String("conversation", "", "the conversation to erase, as in the logs and on the case card (tg:<chat id>)")
	if err := fl.Parse(args); err != nil {
		return 2
	}
	if *conv == "" || !strings.Contains(*conv, ":") {
		fmt.Fprintln(a.stderr, "parcelbot forget: --conversation tg:<chat id> is required")
		return 2
	}
	if a.env.RedisURL == "" {
		fmt.Fprintln(a.stderr, "parcelbot forget: REDIS_URL is empty: there is nothing stored to erase (set it to the Redis of the running serve)")
		return 2
	}
	rdb, closeRedis, err := redis.Connect(a.env.RedisURL)
	if err != nil {
		fmt.Fprintf(a.stderr, "parcelbot forget: %v\n", err)
		return 1
	}
	defer closeRedis()
	be, err := a.backendsFor(rdb, nil)
	if err != nil {
		fmt.Fprintf(a.stderr, "parcelbot forget: %v\n", err)
		return 2
	}
	eng, err := a.engine(be, "", "")
	if err != nil {
		fmt.Fprintf(a.stderr, "parcelbot forget: %v\n", err)
		return 1
	}
	var desk bot.Desk = console.NewDesk(a.stdout)
	slackNote := ""
	if a.env.Slack.BotToken != "" {
		sd, err := slackdesk.New(slackdesk.Config{
			BotToken: a.env.Slack.BotToken, Channel: a.env.Slack.Channel, AppToken: a.env.Slack.AppToken,
			SigningSecret: a.env.Slack.SigningSecret, APIURL: a.env.Slack.APIURL, UserGroup: a.env.Slack.UserGroup, Lang: a.env.Slack.Lang,
			Prefix: a.env.RedisPrefix, Logger: a.logger(),
		}, rdb, be.Records)
		if err != nil {
			fmt.Fprintf(a.stderr, "parcelbot forget: %v\n", err)
			return 2
		}
		desk, slackNote = sd, "; their Slack threads are redacted by the running serve"
	}
	svc := bot.NewService(bot.Options{Engine: eng, Store: a.store(rdb), Desk: desk, Backends: be, Logger: a.logger()})
	done, err := svc.Erase(ctx, *conv)
	if err != nil {
		fmt.Fprintf(a.stderr, "parcelbot forget: %v\n", err)
		return 1
	}
	fmt.Fprintf(a.stdout, "erased %s: session and transcript deleted; %d case(s) pseudonymised%s\n", *conv, len(done.Cases), slackNote)
	for _, c := range done.Cases {
		fmt.Fprintf(a.stdout, "  %s\n", c)
	}
	return 0
}
