package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/parcelbot/parcelbot/adapters/console"
	"github.com/parcelbot/parcelbot/adapters/redis"
	"github.com/parcelbot/parcelbot/bot"
)

func (a *app) chat(ctx context.Context, args []string) int {
	fl := flag.NewFlagSet("chat", flag.ContinueOnError)
	fl.SetOutput(a.stderr)
	lang := fl.String("lang", "", "the language your 'Telegram client' reports (en, de, fr, it, de-CH, ...)")
	customer := fl.String("customer", "", "link the chat to this demo customer (e.g. C-1001)")
	if err := fl.Parse(args); err != nil {
		return 2
	}
	data, err := a.loadData("", time.Now())
	if err != nil {
		fmt.Fprintf(a.stderr, "parcelbot: %v\n", err)
		return 1
	}
	if *customer != "" {
		if _, err := data.Customer(ctx, *customer); err != nil {
			fmt.Fprintf(a.stderr, "parcelbot: --customer %s: no such customer in the data\n", *customer)
			return 2
		}
	}
	rdb, closeRedis, err := redis.Connect(a.env.RedisURL)
	if err != nil {
		fmt.Fprintf(a.stderr, "parcelbot: %v\n", err)
		return 1
	}
	defer closeRedis()
	be := a.backends(data, rdb)
	eng, err := a.engine(be, "", "")
	if err != nil {
		fmt.Fprintf(a.stderr, "parcelbot: %v\n", err)
		return 1
	}
	desk := console.NewDesk(a.stdout)
	svc := bot.NewService(bot.Options{
		Engine:   eng,
		Store:    a.store(rdb),
		Desk:     desk,
		Backends: be,
		Logger:   a.logger(),
	})
	echo := !isTerminal(a.stdin)
	c := console.New(a.stdin, a.stdout, console.Options{Lang: *lang, Customer: *customer, Echo: echo, Agent: svc, Desk: desk, Simulator: svc})
	svc.AddChannel(c)
	if !echo {
		fmt.Fprintf(a.stdout, "parcelbot console — type a message, a button's number or label; Ctrl-D quits.\n")
		fmt.Fprintf(a.stdout, "(/simulate delayed 302-1004444-4031108 shows the order news the shop's event would send)\n")
		if *customer == "" {
			fmt.Fprintf(a.stdout, "(not linked to a customer: try --customer C-1001, or give an order number and postcode)\n")
		}
	}
	if err := c.Run(ctx, svc, !echo); err != nil {
		fmt.Fprintf(a.stderr, "parcelbot: %v\n", err)
		return 1
	}
	return 0
}

// isTerminal reports whether r is an interactive terminal.
func isTerminal(r any) bool {
	f, ok := r.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
