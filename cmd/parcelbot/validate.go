package main

import (
	"bufio"
	"flag"
	"fmt"
	"time"

	"github.com/parcelbot/parcelbot/adapters/redis"
	"github.com/parcelbot/parcelbot/dialog"
	"github.com/parcelbot/parcelbot/domain"
)

// validate checks flows, locales and the data file exactly as a start would.
func (a *app) validate(args []string) int {
	fl := flag.NewFlagSet("validate", flag.ContinueOnError)
	fl.SetOutput(a.stderr)
	flows := fl.String("flows", "", "flow directory (default: PARCELBOT_FLOWS or the embedded flows)")
	locs := fl.String("locales", "", "locale directory (default: PARCELBOT_LOCALES or the embedded locales)")
	data := fl.String("data", "", "data file (default: PARCELBOT_DATA or the embedded demo)")
	if err := fl.Parse(args); err != nil {
		return 2
	}
	d, err := a.loadData(*data, time.Now())
	if err != nil {
		fmt.Fprintf(a.stderr, "parcelbot validate: %v\n", err)
		return 1
	}
	rdb, closeRedis, err := redis.Connect("")
	if err != nil {
		fmt.Fprintf(a.stderr, "parcelbot validate: %v\n", err)
		return 1
	}
	defer closeRedis()
	eng, err := a.engine(a.backends(d, rdb), *flows, *locs)
	if err != nil {
		fmt.Fprintf(a.stderr, "parcelbot validate: %v\n", err)
		return 1
	}
	orders, customers, places := d.Counts()
	nf, ns := eng.Size()
	fmt.Fprintf(a.stdout, "ok: %d flows with %d steps, %d locale keys in %v (regional variants %v), data with %d orders, %d customers, %d lockers and pickup points\n",
		nf, ns, len(eng.Catalog().Keys()), dialog.Languages, eng.Catalog().Variants(), orders, customers, places)
	return 0
}

// intent prints the intent of each line read from stdin.
func (a *app) intent(args []string) int {
	fl := flag.NewFlagSet("intent", flag.ContinueOnError)
	fl.SetOutput(a.stderr)
	lang := fl.String("lang", "en", "the customer's language (en, de, fr, it): all four are understood, typos are forgiven in this one")
	top := fl.Int("top", 1, "print the N likeliest intents per message, each with its confidence")
	if err := fl.Parse(args); err != nil {
		return 2
	}
	if *top < 1 {
		*top = 1
	}
	if dialog.NormalizeLang(*lang) != *lang {
		fmt.Fprintf(a.stderr, "parcelbot intent: --lang %q: want one of %v\n", *lang, dialog.Languages)
		return 2
	}
	mf, err := dialog.LoadManifest(dialog.Flows())
	if err != nil {
		fmt.Fprintf(a.stderr, "parcelbot intent: %v\n", err)
		return 1
	}
	m, err := dialog.NewMatcher(mf)
	if err != nil {
		fmt.Fprintf(a.stderr, "parcelbot intent: %v\n", err)
		return 1
	}
	u, err := dialog.NewUnderstander(m, nil)
	if err != nil {
		fmt.Fprintf(a.stderr, "parcelbot intent: %v\n", err)
		return 1
	}
	sc := bufio.NewScanner(a.stdin)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	w := bufio.NewWriter(a.stdout)
	defer w.Flush()
	var preds []dialog.Scored
	for sc.Scan() {
		preds = u.Understand(*lang, sc.Text(), preds[:0])
		for i, p := range preds[:min(*top, len(preds))] {
			if i > 0 {
				w.WriteString("  ")
			}
			fmt.Fprintf(w, "%s %.2f", p.Intent, p.Confidence)
		}
		w.WriteByte('\n')
	}
	if err := sc.Err(); err != nil {
		fmt.Fprintf(a.stderr, "parcelbot intent: %v\n", err)
		return 1
	}
	return 0
}

// link mints a deep-link token for a customer, as the shop's website does.
func (a *app) link(args []string) int {
	fl := flag.NewFlagSet("link", flag.ContinueOnError)
	fl.SetOutput(a.stderr)
	customer := fl.String("customer", "", "the customer id to link (required)")
	botName := fl.String("bot", "", "the bot's Telegram username, to print a t.me link")
	if err := fl.Parse(args); err != nil {
		return 2
	}
	if *customer == "" {
		fmt.Fprintln(a.stderr, "usage: parcelbot link --customer C-1001 [--bot my_parcel_bot]")
		return 2
	}
	tok, err := domain.NewLinkToken(a.env.Bot.LinkSecret, *customer, time.Now())
	if err != nil {
		fmt.Fprintf(a.stderr, "parcelbot link: %v\n", err)
		return 1
	}
	fmt.Fprintf(a.stdout, "/start %s\n", tok)
	if *botName != "" {
		fmt.Fprintf(a.stdout, "https://t.me/%s?start=%s\n", *botName, tok)
	}
	fmt.Fprintf(a.stderr, "valid for %s, once\n", domain.LinkTokenTTL)
	return 0
}
