package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-telegram/bot/models"
	goredis "github.com/redis/go-redis/v9"

	"github.com/parcelbot/parcelbot/adapters/slack/slackfake"
	"github.com/parcelbot/parcelbot/adapters/telegram/telegramtest"
)

// TestThreeReplicasShareOneRedis runs three instances of the real serve
// wiring against one real redis-server, with webhook updates landing on
// any of them at random: each update is handled once and in order per chat,
// the Slack outbox is consumed once, and SLA reminders fire once.
func TestThreeReplicasShareOneRedis(t *testing.T) {
	port := startRedisServer(t).port
	redisURL := fmt.Sprintf("redis://127.0.0.1:%d/0", port)

	tg := telegramtest.New(testToken)
	defer tg.Close()
	sf := slackfake.New(agentID)
	defer sf.Stop()
	env := map[string]string{
		"TELEGRAM_BOT_TOKEN": testToken, "TELEGRAM_API_URL": tg.URL, "PARCELBOT_ADDR": "127.0.0.1:0", "PARCELBOT_OPS_ADDR": "127.0.0.1:0",
		"TELEGRAM_WEBHOOK_URL": "https://bot.example.com/hook", "TELEGRAM_WEBHOOK_SECRET": "hook-secret",
		"REDIS_URL": redisURL, "LINK_TOKEN_SECRET": testLinkSecret, "TELEGRAM_CHAT_INTERVAL": "2ms", "TELEGRAM_RATE": "2000",
		"SLACK_BOT_TOKEN": "xoxb-t", "SLACK_CHANNEL": deskChannel, "SLACK_SIGNING_SECRET": signing, "SLACK_API_URL": sf.APIURL(),
		"SLACK_REMINDER_AFTER": "2s",
	}
	var addrs []string
	var cancels []context.CancelFunc
	var dones []chan int
	for i := 0; i < 3; i++ {
		out := &syncBuffer{}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan int, 1)
		go func() {
			done <- run(ctx, []string{"serve"}, strings.NewReader(""), out, &syncBuffer{}, func(k string) string { return env[k] })
		}()
		deadline := time.Now().Add(5 * time.Second)
		for !strings.Contains(out.String(), "HTTP on ") {
			if time.Now().After(deadline) {
				t.Fatalf("instance %d did not start", i)
			}
			time.Sleep(5 * time.Millisecond)
		}
		o := out.String()
		addrs = append(addrs, strings.TrimSpace(strings.SplitN(o[strings.Index(o, "HTTP on ")+8:], "\n", 2)[0]))
		cancels, dones = append(cancels, cancel), append(dones, done)
	}
	defer func() {
		for i, c := range cancels {
			c()
			<-dones[i]
		}
	}()

	post := func(u models.Update) int {
		body, _ := json.Marshal(u)
		req, _ := http.NewRequest(http.MethodPost, "http://"+addrs[rand.IntN(3)]+"/hook", bytes.NewReader(body))
		req.Header.Set("X-Telegram-Bot-Api-Secret-Token", "hook-secret")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Error(err)
			return 0
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	msg := func(id int64, chat int64, text string) models.Update {
		return models.Update{ID: id, Message: &models.Message{ID: int(id), Chat: models.Chat{ID: chat, Type: models.ChatTypePrivate},
			From: &models.User{ID: chat, LanguageCode: "en"}, Text: text}}
	}
	// 12 chats, 10 messages each, each chat's updates one after another
	// (as Telegram sends them), chats at once, every update to a random
	// instance — and every third one delivered twice, to another instance
	const chats, each = 12, 10
	var wg sync.WaitGroup
	for c := int64(1); c <= chats; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 1; i <= each; i++ {
				u := msg(c*1000+int64(i), 500+c, fmt.Sprintf("message %02d", i))
				if code := post(u); code != 200 {
					t.Errorf("chat %d update %d: HTTP %d", c, i, code)
				}
				if i%3 == 0 {
					post(u) // a redelivery
				}
			}
		}()
	}
	wg.Wait()
	rdb := goredis.NewClient(&goredis.Options{Addr: fmt.Sprintf("127.0.0.1:%d", port)})
	defer rdb.Close()
	for c := int64(1); c <= chats; c++ {
		lines, err := rdb.LRange(context.Background(), fmt.Sprintf("parcelbot:t:{tg:%d}", 500+c), 0, -1).Result()
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, l := range lines {
			if s, ok := strings.CutPrefix(l, "customer: "); ok {
				got = append(got, s)
			}
		}
		if len(got) != each {
			t.Fatalf("chat %d: %d turns stored for %d updates: %q", 500+c, len(got), each, got)
		}
		for i, g := range got {
			if want := fmt.Sprintf("message %02d", i+1); g != want {
				t.Fatalf("chat %d turn %d: %q, want %q", 500+c, i+1, g, want)
			}
		}
		if n := len(tg.Sent(500 + c)); n != each {
			t.Fatalf("chat %d: %d answers to %d updates", 500+c, n, each)
		}
	}

	// escalations from random instances: one card each, one reminder each
	for c := int64(1); c <= 4; c++ {
		post(msg(90000+c, 500+c, "/human"))
	}
	if !slackfake.Wait(10*time.Second, func() bool {
		n := 0
		for _, p := range sf.Posts("chat.postMessage") {
			if strings.Contains(p.Text, "waited") {
				n++
			}
		}
		return n >= 4
	}) {
		t.Fatalf("reminders missing: %+v", sf.Posts("chat.postMessage"))
	}
	// that a reminder fires once however many instances tick is checked on
	// a fake clock (adapters/slack TestSLAReminderFiresOnceAcrossInstances);
	// here: every escalation got its card and its reminder
	cards, reminders := 0, 0
	for _, p := range sf.Posts("chat.postMessage") {
		switch {
		case p.ThreadTS == "" && strings.Contains(p.Blocks, `"claim"`):
			cards++
		case strings.Contains(p.Text, "waited"):
			reminders++
		}
	}
	if cards != 4 || reminders != 4 {
		t.Fatalf("%d cards and %d reminders for 4 escalations", cards, reminders)
	}
	for c := int64(1); c <= 4; c++ {
		told := func() int {
			n := 0
			for _, m := range tg.Sent(500 + c) {
				if strings.Contains(m.Params["text"], "busier than usual") {
					n++
				}
			}
			return n
		}
		// the customer is told just after the reminder note is queued
		slackfake.Wait(10*time.Second, func() bool { return told() >= 1 })
		if n := told(); n != 1 {
			t.Fatalf("chat %d told %d times about the wait", 500+c, n)
		}
	}
}
