package main

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/parcelbot/parcelbot/adapters/telegram"
	"github.com/parcelbot/parcelbot/adapters/telegram/telegramtest"
	"github.com/parcelbot/parcelbot/dialog"
	"github.com/parcelbot/parcelbot/locales"
)

// burstResult is what a Telegram burst measured.
type burstResult struct {
	Replies, Chats int
	Took           time.Duration
	TooMany        int  // sends the fake refused with 429
	InOrder        bool // every chat got its replies in order
}

// telegramBurst sends replies to chats (replies each) through the real
// Telegram channel to a fake Bot API that enforces rate and per-chat limits.
func telegramBurst(ctx context.Context, chats, each int, rate float64, chatEvery time.Duration) (burstResult, error) {
	fake := telegramtest.New("1:BURST")
	defer fake.Close()
	fake.EnforceLimits(rate, chatEvery)
	cat, err := dialog.LoadCatalog(locales.FS)
	if err != nil {
		return burstResult{}, err
	}
	ch, err := telegram.New(telegram.Config{Token: "1:BURST", APIURL: fake.URL, GlobalRate: rate, ChatEvery: chatEvery, Catalog: cat})
	if err != nil {
		return burstResult{}, err
	}
	start := time.Now()
	var wg sync.WaitGroup
	sem := make(chan struct{}, 256)
	for c := 1; c <= chats; c++ {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			for i := 0; i < each; i++ {
				_ = ch.Send(ctx, strconv.Itoa(c), "en", []dialog.Reply{{Text: fmt.Sprintf("reply %d", i)}})
			}
		}()
	}
	wg.Wait()
	res := burstResult{Replies: chats * each, Chats: chats, Took: time.Since(start), TooMany: fake.TooMany(), InOrder: true}
	for c := 1; c <= chats; c++ {
		n := 0
		for _, call := range fake.Sent(int64(c)) {
			if call.Params["text"] == fmt.Sprintf("reply %d", n) {
				n++
			}
		}
		if n != each {
			res.InOrder = false
		}
	}
	return res, nil
}
