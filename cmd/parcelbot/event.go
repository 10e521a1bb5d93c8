package main

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/parcelbot/parcelbot/adapters/shopapi"
	"github.com/parcelbot/parcelbot/domain"
)

// event posts one order event to a running serve, signed as the shop
// signs it (SHOP_EVENTS_SECRET, or the demo's secret for `serve --demo`).
func (a *app) event(ctx context.Context, args []string) int {
	fl := flag.NewFlagSet("event", flag.ContinueOnError)
	fl.SetOutput(a.stderr)
	order := fl.String("order", "", "the order number (required)")
	kind := fl.String("type", "", "one of "+eventTypeList())
	id := fl.String("id", "", "the event id (default: a new one; send the same to try a retry)")
	expected := fl.String("expected", "", "delayed: the new expected day, 2026-12-08")
	target := fl.String("url", "", "the endpoint (default: http://127.0.0.1:<PARCELBOT_ADDR port>"+shopapi.EventsPath+")")
	if err := fl.Parse(args); err != nil {
		return 2
	}
	ev := domain.ShopEvent{ID: *id, Type: domain.EventType(*kind), Order: strings.TrimSpace(*order), At: time.Now()}
	if ev.ID == "" {
		ev.ID = "cli-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	}
	if *expected != "" {
		d, err := time.Parse(time.DateOnly, *expected)
		if err != nil {
			fmt.Fprintf(a.stderr, "parcelbot event: --expected %q: want a day such as 2026-12-08\n", *expected)
			return 2
		}
		ev.Expected = d
	}
	if err := ev.Check(); err != nil {
		fmt.Fprintf(a.stderr, "parcelbot event: %v (--type is one of %s)\n", err, eventTypeList())
		return 2
	}
	url := *target
	if url == "" {
		port := a.env.Addr
		if i := strings.LastIndexByte(port, ':'); i >= 0 {
			port = port[i+1:]
		}
		url = "http://127.0.0.1:" + port + shopapi.EventsPath
	}
	secret := a.env.eventsSecret(true)
	status, code, err := shopapi.PostEvent(ctx, &http.Client{Timeout: 10 * time.Second}, url, secret, ev, time.Now())
	if err != nil {
		fmt.Fprintf(a.stderr, "parcelbot event: %s: HTTP %d: %v\n", url, code, err)
		return 1
	}
	fmt.Fprintf(a.stdout, "%s %s: HTTP %d %s\n", ev.ID, ev.Type, code, status)
	return 0
}

func eventTypeList() string {
	names := make([]string, len(domain.EventTypes))
	for i, t := range domain.EventTypes {
		names[i] = string(t)
	}
	return strings.Join(names, ", ")
}
