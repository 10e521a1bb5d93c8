package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/parcelbot/parcelbot/adapters/telegram/telegramtest"
)

// webhookConnections is Telegram's most connections to one webhook.
const webhookConnections = 100

// webhookLoadOptions shape a webhook load test.
type webhookLoadOptions struct {
	Chats   int
	Dur     time.Duration // measured
	Warmup  time.Duration // run first, not measured (sessions created, connections open)
	Rate    float64       // updates a second offered over all chats (open loop); 0: each chat's next update as soon as its reply came (closed loop)
	Replies bool          // TELEGRAM_WEBHOOK_REPLIES in the child
	Log     io.Writer     // the first failures are told here (nil: not told)
}

// webhookResult is what the webhook load test measured.
type webhookResult struct {
	Updates int
	Took    time.Duration
	Lat     []time.Duration // POST (open loop: the update's scheduled time) to the reply's sendMessage at the fake
	Sent    []time.Duration // the update written on its connection to the reply's sendMessage (without waiting for one of the connections)
	Errors  int
}

// webhookLoad drives a separate `parcelbot serve --demo` process in
// webhook mode end to end: this process is the customers and a fake Bot
// API; each of chats customers posts an update to the webhook and waits
// for the bot's sendMessage to its chat before sending the next, for dur
// after a warm-up. With a rate, each chat keeps its own schedule instead (an
// update a chat is late for goes as soon as its previous one is answered,
// as Telegram sends a chat's updates one at a time), and latency counts from
// the scheduled time: a slow answer makes the next updates late rather than
// hiding (no coordinated omission).
// Telegram's own rate limits and the per-chat flood limit are lifted in
// the child (they would measure Telegram, or a person's typing speed, not
// parcelbot); the updates go over at most 100 connections, as Telegram
// sends them (setWebhook max_connections). With replies, the child puts a
// one-message reply in the webhook's answer (TELEGRAM_WEBHOOK_REPLIES).
func webhookLoad(ctx context.Context, exe, redisURL string, o webhookLoadOptions) (webhookResult, error) {
	var res webhookResult
	chats, replies := o.Chats, o.Replies
	const token = "424242:LOADTEST-token"
	fake := telegramtest.New(token)
	fake.SetLight()
	defer fake.Close()
	waiters := make([]chan struct{}, chats)
	for i := range waiters {
		waiters[i] = make(chan struct{}, 8)
	}
	fake.OnSend = func(chat int64) {
		if i := int(chat - loadChatBase); i >= 0 && i < chats {
			select {
			case waiters[i] <- struct{}{}:
			default:
			}
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return res, err
	}
	addr := ln.Addr().String()
	ln.Close()
	secret := "loadtest-webhook-secret"
	cmd := exec.CommandContext(ctx, exe, "serve", "--demo")
	cmd.Env = append(os.Environ(), "TELEGRAM_BOT_TOKEN="+token, "TELEGRAM_API_URL="+fake.URL,
		"TELEGRAM_WEBHOOK_URL=http://"+addr+"/telegram", "TELEGRAM_WEBHOOK_SECRET="+secret,
		"PARCELBOT_ADDR="+addr, "PARCELBOT_OPS_ADDR=127.0.0.1:0", "REDIS_URL="+redisURL, // "" : serve's in-process Redis
		"TELEGRAM_RATE=1000000", "TELEGRAM_CHAT_INTERVAL=1ms", "TELEGRAM_FLOOD_MESSAGES=-1", "TELEGRAM_WEBHOOK_CONNECTIONS="+strconv.Itoa(webhookConnections), "TELEGRAM_WEBHOOK_REPLIES="+strconv.FormatBool(replies), "LOG_LEVEL=error", "PARCELBOT_CONFIG=")
	cmd.Stdout, cmd.Stderr = nil, os.Stderr
	if err := cmd.Start(); err != nil {
		return res, fmt.Errorf("start serve: %w", err)
	}
	defer func() {
		_ = cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
		}
	}()
	client := &http.Client{Timeout: 10 * time.Second} // for /healthz
	deadline := time.Now().Add(15 * time.Second)
	for {
		if resp, err := client.Get("http://" + addr + "/healthz"); err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			return res, fmt.Errorf("serve did not start on %s", addr)
		}
		time.Sleep(20 * time.Millisecond)
	}
	// like Telegram, which sends a bot's updates over at most
	// max_connections (at most 100) connections at once, whatever the
	// number of chats, the updates go over webhookConnections keep-alive
	// connections, each writing a request and reading its answer in turn;
	// a small HTTP/1.1 client, because net/http's, with its two goroutines
	// a connection, cost the generator more CPU than serve spent on the
	// update, on the same two cores
	posts := make(chan *webhookPost)
	defer close(posts)
	for range webhookConnections {
		go postUpdates(addr, secret, posts)
	}
	var nextID atomic.Int64
	nextID.Store(loadFirstUpdate)
	var mu sync.Mutex
	var errs atomic.Int64
	// a load test that hides its failures measures nothing: the first few
	// are told
	fail := func(what string) {
		if errs.Add(1) <= 5 && o.Log != nil {
			fmt.Fprintf(o.Log, "webhook: %s\n", what)
		}
	}
	msgs := []string{"where is my parcel 302-1001111-4007777", "10115", "thanks", "hello"}
	start := time.Now().Add(o.Warmup) // measured from here
	stop := start.Add(o.Dur)
	var wg sync.WaitGroup
	for i := range chats {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			chat := int64(loadChatBase + i)
			done := make(chan struct{}, 1)
			var lat, sent []time.Duration
			pace := newPacer(i, chats, o.Rate)
			for n := 0; time.Now().Before(stop) && ctx.Err() == nil; n++ {
				sched := pace.wait()
				if !sched.IsZero() && !sched.Before(stop) {
					break
				}
				body := updateJSON(nil, nextID.Add(1), n+1, chat, msgs[n%len(msgs)])
				t0 := time.Now()
				if !sched.IsZero() {
					t0 = sched
				}
				measured := !t0.Before(start)
				p := &webhookPost{body: body, done: done}
				posts <- p
				<-done
				if p.err != nil || p.status != http.StatusOK {
					fail(fmt.Sprintf("chat %d: update answered %d, %v: %.200s", chat, p.status, p.err, p.answer))
					continue
				}
				// the reply came in the webhook's answer, or comes as a
				// sendMessage to the fake
				if !bytes.Contains(p.answer, []byte(`"method":"sendMessage"`)) {
					select {
					case <-waiters[i]:
					case <-time.After(10 * time.Second):
						fail(fmt.Sprintf("chat %d: no reply within 10 s", chat))
						continue
					}
				}
				if measured {
					lat = append(lat, time.Since(t0))
					sent = append(sent, time.Since(p.wrote))
				}
			}
			mu.Lock()
			res.Lat = append(res.Lat, lat...)
			res.Sent = append(res.Sent, sent...)
			mu.Unlock()
		}(i)
	}
	wg.Wait()
	res.Took = min(time.Since(start), o.Dur)
	res.Updates = len(res.Lat)
	res.Errors = int(errs.Load())
	slices.Sort(res.Lat)
	slices.Sort(res.Sent)
	return res, nil
}

// quantileMS is the q-quantile of sorted latencies in milliseconds.
func quantileMS(sorted []time.Duration, q float64) string {
	if len(sorted) == 0 {
		return "0"
	}
	i := int(q * float64(len(sorted)-1))
	return strconv.FormatFloat(float64(sorted[i])/float64(time.Millisecond), 'f', 1, 64)
}

// webhookPost is one update for a connection to post, and its answer.
type webhookPost struct {
	body   []byte
	done   chan struct{} // signalled when answered (or failed)
	wrote  time.Time     // the request written on the connection
	status int
	answer []byte
	err    error
}

// postUpdates posts each update from posts to serve's webhook over one
// keep-alive connection (dialled again after a failure) until posts is
// closed.
func postUpdates(addr, secret string, posts <-chan *webhookPost) {
	var conn net.Conn
	var br *bufio.Reader
	head := []byte("POST /telegram HTTP/1.1\r\nHost: " + addr + "\r\nContent-Type: application/json\r\nX-Telegram-Bot-Api-Secret-Token: " + secret + "\r\nContent-Length: ")
	var req []byte
	for p := range posts {
		if conn == nil {
			c, err := net.DialTimeout("tcp", addr, 5*time.Second)
			if err != nil {
				p.err = err
				p.done <- struct{}{}
				continue
			}
			conn, br = c, bufio.NewReaderSize(c, 8<<10)
		}
		req = append(append(req[:0], head...), strconv.Itoa(len(p.body))...)
		req = append(append(req, "\r\n\r\n"...), p.body...)
		_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
		_, err := conn.Write(req)
		p.wrote = time.Now()
		var resp *http.Response
		if err == nil {
			resp, err = http.ReadResponse(br, nil)
		}
		if err == nil {
			p.status = resp.StatusCode
			p.answer, err = io.ReadAll(io.LimitReader(resp.Body, 1<<20))
			resp.Body.Close()
			if resp.Close {
				err = errors.Join(err, conn.Close())
				conn = nil
			}
		}
		if err != nil {
			p.err = err
			if conn != nil {
				conn.Close()
				conn = nil
			}
		}
		p.done <- struct{}{}
	}
	if conn != nil {
		conn.Close()
	}
}

// updateJSON appends a Bot API update of a private chat's text message
// (text a JSON-safe ASCII string) to b.
func updateJSON(b []byte, id int64, msgID int, chat int64, text string) []byte {
	b = strconv.AppendInt(append(b, `{"update_id":`...), id, 10)
	b = strconv.AppendInt(append(b, `,"message":{"message_id":`...), int64(msgID), 10)
	b = strconv.AppendInt(append(b, `,"date":`...), time.Now().Unix(), 10)
	b = strconv.AppendInt(append(b, `,"chat":{"id":`...), chat, 10)
	b = strconv.AppendInt(append(b, `,"type":"private"},"from":{"id":`...), chat, 10)
	b = append(b, `,"is_bot":false,"first_name":"","language_code":"en"},"text":`...)
	b = strconv.AppendQuote(b, text)
	return append(b, "}}"...)
}
