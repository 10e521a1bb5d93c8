package telegram

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"

	tgbot "github.com/go-telegram/bot"
	"github.com/go-telegram/bot/models"

	"github.com/parcelbot/parcelbot/bot"
	"github.com/parcelbot/parcelbot/dialog"
)

// allowedUpdates are the update kinds parcelbot asks for.
var allowedUpdates = []string{"message", "edited_message", "callback_query"}

// Run receives updates until ctx ends: it registers the command menu, then
// long-polls, or registers the webhook (whose handler is WebhookHandler,
// served by the caller). It returns an error only for a configuration
// Telegram refuses (a bad token).
func (c *Channel) Run(ctx context.Context, h Handler) error {
	c.handler = h
	if err := c.SetCommands(ctx); err != nil {
		if errors.Is(err, tgbot.ErrorUnauthorized) || errors.Is(err, tgbot.ErrorNotFound) {
			return fmt.Errorf("telegram: the Bot API refuses the token: %w", err)
		}
		c.log.Warn("could not set the command menu", "err", err)
	} else {
		c.contact.Store(time.Now().UnixNano())
	}
	if c.cfg.WebhookURL != "" {
		_, err := c.api.SetWebhook(ctx, &tgbot.SetWebhookParams{URL: c.cfg.WebhookURL, SecretToken: c.cfg.WebhookSecret, AllowedUpdates: allowedUpdates,
			MaxConnections: c.cfg.WebhookConnections})
		if err != nil {
			return fmt.Errorf("telegram setWebhook: %w", err)
		}
		c.contact.Store(time.Now().UnixNano())
		c.log.Info("webhook registered")
		<-ctx.Done()
		return nil
	}
	if _, err := c.api.DeleteWebhook(ctx, &tgbot.DeleteWebhookParams{}); err != nil && ctx.Err() == nil {
		c.log.Warn("deleteWebhook failed", "err", err)
	} else if err == nil {
		c.contact.Store(time.Now().UnixNano())
	}
	return c.poll(ctx)
}

// SetHandler sets the handler for webhook mode without Run (tests).
func (c *Channel) SetHandler(h Handler) { c.handler = h }

// poll long-polls getUpdates until ctx ends. Each update is spooled (or
// dropped by the flood limit) before the next getUpdates offset passes it,
// and handled in its chat's queue; see the package comment. When ctx ends
// no new turn starts; turns in flight finish, and spooled updates not yet
// handled are resumed by the next start.
func (c *Channel) poll(ctx context.Context) error {
	stop := make(chan struct{})
	in := newIntake(c, stop)
	defer func() {
		close(stop)
		in.wg.Wait()
	}()
	if err := in.recover(ctx); err != nil {
		c.log.Warn("could not read the spool; its updates wait for the next start", "err", err)
	}
	var offset int64
	wait := time.Duration(0)
	for ctx.Err() == nil {
		if wait > 0 {
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(wait):
			}
		}
		for in.queued() >= maxQueued {
			select {
			case <-ctx.Done():
				return nil
			case <-in.space:
			}
		}
		ups, err := c.getUpdates(ctx, offset)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			var fatal *fatalError
			if errors.As(err, &fatal) {
				return err
			}
			wait = nextWait(wait)
			c.log.Warn("getUpdates failed", "err", err, "retry_in", wait)
			continue
		}
		c.contact.Store(time.Now().UnixNano())
		wait = 0
		for i := range ups {
			u := ups[i]
			if u.ID < offset {
				continue
			}
			if in.seen(u.ID) {
				offset = u.ID + 1 // already spooled (redelivered)
				continue
			}
			// an update fetched again because spooling it failed is not
			// counted twice by the flood limit (it remembers update ids)
			if !c.admit(ctx, &u) {
				offset = u.ID + 1 // dropped
				continue
			}
			if err := in.take(ctx, u); err != nil {
				// Redis is down: this update and the rest of the batch come
				// again with the next getUpdates
				wait = nextWait(wait)
				c.log.Warn("could not spool an update; it will be fetched again", "update", u.ID, "err", err, "retry_in", wait)
				break
			}
			offset = u.ID + 1
		}
	}
	return nil
}

func nextWait(w time.Duration) time.Duration {
	if w == 0 {
		return 200 * time.Millisecond
	}
	return min(2*w, 30*time.Second)
}

type fatalError struct{ err error }

func (f *fatalError) Error() string { return f.err.Error() }

// getUpdates calls the Bot API directly: the library's poller acknowledges
// updates before they are handled. The token is never part of an error.
func (c *Channel) getUpdates(ctx context.Context, offset int64) ([]models.Update, error) {
	body, _ := json.Marshal(map[string]any{"offset": offset, "timeout": int(c.cfg.PollTimeout.Seconds()), "allowed_updates": allowedUpdates})
	r, err := c.post(ctx, "getUpdates", body, 64<<20)
	if err != nil {
		return nil, err
	}
	if !r.OK {
		err := fmt.Errorf("getUpdates: %d %s", r.ErrorCode, r.Description)
		switch r.ErrorCode {
		case http.StatusUnauthorized, http.StatusNotFound:
			return nil, &fatalError{fmt.Errorf("telegram: the Bot API refuses the token: %w", err)}
		case http.StatusTooManyRequests:
			time.Sleep(time.Duration(r.Parameters.RetryAfter) * time.Second)
		}
		return nil, err
	}
	var ups []models.Update
	if err := json.Unmarshal(r.Result, &ups); err != nil {
		return nil, fmt.Errorf("getUpdates: bad result: %w", err)
	}
	return ups, nil
}

// chatOf returns the chat an update belongs to (0 for none).
func chatOf(u *models.Update) int64 {
	switch {
	case u.Message != nil:
		return u.Message.Chat.ID
	case u.EditedMessage != nil:
		return u.EditedMessage.Chat.ID
	case u.CallbackQuery != nil:
		if m := u.CallbackQuery.Message.Message; m != nil {
			return m.Chat.ID
		}
		if m := u.CallbackQuery.Message.InaccessibleMessage; m != nil {
			return m.Chat.ID
		}
		return u.CallbackQuery.From.ID
	}
	return 0
}

// handleUpdate turns one update into a message for the service. It returns
// an error only when the update must be delivered again.
func (c *Channel) handleUpdate(ctx context.Context, u *models.Update) (err error) {
	chat := chatOf(u)
	if chat == 0 || c.handler == nil {
		return nil // nothing parcelbot handles: acknowledge
	}
	lang := ""
	defer func() {
		if p := recover(); p != nil {
			c.log.Error("update handling panicked", "chat", chat, "panic", p, "stack", string(debug.Stack()))
			_ = c.Send(ctx, strconv.FormatInt(chat, 10), lang, []dialog.Reply{{Text: c.cfg.Catalog.Text(dialog.NormalizeLang(lang), "error.turn_failed", nil)}})
			err = nil // the apology is sent; redelivering would panic again
		}
	}()
	m := bot.Message{Conversation: conversationPrefix + ":" + strconv.FormatInt(chat, 10), ID: "u" + strconv.FormatInt(u.ID, 10), Durable: isDurable(ctx)}
	var pressed *models.CallbackQuery
	switch {
	case u.EditedMessage != nil:
		if u.EditedMessage.Chat.Type == models.ChatTypePrivate || u.EditedMessage.Chat.Type == "" {
			c.count(EventUnsupported)
			return c.answerOnly(ctx, chat, langOf(u), "channel.edited")
		}
		return nil
	case u.Message != nil:
		msg := u.Message
		if msg.From != nil {
			lang = msg.From.LanguageCode
		}
		if msg.Chat.Type != "" && msg.Chat.Type != models.ChatTypePrivate {
			// parcelbot talks to customers in private chats only: a group
			// is told so once (a channel post has no one to tell)
			c.count(EventGroup)
			if msg.Chat.Type != models.ChatTypeChannel && c.firstInGroup(chat) {
				return c.answerOnly(ctx, chat, lang, "channel.private_only")
			}
			return nil
		}
		m.Input = dialog.Input{Text: msg.Text, LangHint: lang}
		if l := msg.Location; l != nil {
			m.Input.Location = &dialog.Location{Lat: l.Latitude, Lon: l.Longitude}
		}
		m.Input.Files = filesOf(msg)
		if strings.TrimSpace(msg.Text) == "" && msg.Location == nil && len(m.Input.Files) == 0 {
			// a sticker, photo, voice message, file, contact...
			c.count(EventUnsupported)
			return c.answerOnly(ctx, chat, lang, "channel.unsupported")
		}
	case u.CallbackQuery != nil:
		pressed = u.CallbackQuery
		lang = pressed.From.LanguageCode
		m.Input = dialog.Input{Button: pressed.Data, LangHint: lang}
		if pressed.Data == "" {
			m.Input.Button = "-" // a button without data is a stale one
		}
		// every callback query is answered, whatever happens next
		go func() {
			actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			defer cancel()
			body, _ := json.Marshal(struct {
				ID string `json:"callback_query_id"`
			}{pressed.ID})
			if err := c.callJSON(actx, "answerCallbackQuery", body); err != nil {
				c.log.Warn("answerCallbackQuery failed", "chat", chat, "err", err)
			}
		}()
	}
	c.unblock(chat) // a blocked user who writes again has unblocked the bot
	var typing *time.Timer
	if c.cfg.TypingAfter < 0 {
		go c.typing(ctx, chat)
	} else {
		typing = time.AfterFunc(c.cfg.TypingAfter, func() { c.typing(ctx, chat) })
	}
	if ack := bot.AckFrom(ctx); ack != nil {
		*ack = bot.Ack{} // a reply of an earlier attempt is not the one to carry
	}
	err = c.handler.Handle(ctx, m)
	if typing != nil {
		typing.Stop()
	}
	if err != nil {
		c.log.Warn("update not handled; it will be delivered again", "chat", chat, "update", u.ID, "err", err)
		return err
	}
	if pressed != nil {
		c.removeKeyboard(ctx, chat, pressed)
	}
	return nil
}

// answerOnly answers an update parcelbot does not handle with a short
// notice in the sender's language; the update goes no further.
func (c *Channel) answerOnly(ctx context.Context, chat int64, lang, key string) error {
	if c.isBlocked(chat) {
		return nil
	}
	return c.sendText(ctx, chat, c.cfg.Catalog.Text(dialog.NormalizeLang(lang), key, nil))
}

// firstInGroup reports whether a group chat has not been told yet to write
// privately (remembered for up to 10,000 groups).
func (c *Channel) firstInGroup(chat int64) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.groups[chat] {
		return false
	}
	if len(c.groups) >= 10000 {
		clear(c.groups)
	}
	c.groups[chat] = true
	return true
}

// typing shows "typing…" in the chat (a JSON body, like every reply).
func (c *Channel) typing(ctx context.Context, chat int64) {
	tctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	body := strconv.AppendInt([]byte(`{"action":"typing","chat_id":`), chat, 10)
	_ = c.callJSON(tctx, "sendChatAction", append(body, '}'))
}

// removeKeyboard takes the buttons off the message whose button was
// pressed, so that one choice cannot be pressed twice.
func (c *Channel) removeKeyboard(ctx context.Context, chat int64, q *models.CallbackQuery) {
	msgID := 0
	if m := q.Message.Message; m != nil {
		msgID = m.ID
	} else if m := q.Message.InaccessibleMessage; m != nil {
		msgID = m.MessageID
	}
	if msgID == 0 {
		return
	}
	body := strconv.AppendInt([]byte(`{"chat_id":`), chat, 10)
	body = strconv.AppendInt(append(body, `,"message_id":`...), int64(msgID), 10)
	body = append(body, `,"reply_markup":{"inline_keyboard":[]}}`...)
	err := c.send(ctx, 0, func(ctx context.Context) error {
		return c.callJSON(ctx, "editMessageReplyMarkup", body)
	})
	if err != nil {
		c.log.Debug("could not remove a keyboard", "chat", chat, "err", err)
	}
}

// WebhookHandler serves Telegram's webhook requests: a request without the
// right X-Telegram-Bot-Api-Secret-Token gets 401 and changes nothing; the
// answer waits until the update is handled (500 when it must be retried,
// 200 for an update dropped by the flood limit or given up as
// undeliverable).
func (c *Channel) WebhookHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		got := r.Header.Get("X-Telegram-Bot-Api-Secret-Token")
		if c.cfg.WebhookSecret == "" || subtle.ConstantTimeCompare([]byte(got), []byte(c.cfg.WebhookSecret)) != 1 {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		var u models.Update
		if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&u); err != nil {
			http.Error(w, "bad update", http.StatusBadRequest)
			return
		}
		chat := chatOf(&u)
		if !c.admit(r.Context(), &u) {
			w.WriteHeader(http.StatusOK) // dropped by the flood limit
			return
		}
		var ack *bot.Ack
		ctx := withDurable(r.Context())
		if c.cfg.WebhookReplies {
			ack = &bot.Ack{}
			ctx = bot.WithAck(ctx, ack)
		}
		err := c.queues.do(r.Context(), chat, func() error {
			// a transient failure goes back to Telegram (500), which delivers
			// it again; an undeliverable one is dead-lettered and answered 200
			return c.handleWithRetry(ctx, &u, 1, func(d time.Duration) bool {
				select {
				case <-ctx.Done():
					return false
				case <-time.After(d):
					return true
				}
			})
		})
		if err != nil {
			http.Error(w, "try again", http.StatusInternalServerError)
			return
		}
		if ack != nil && ack.Carried {
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Content-Length", strconv.Itoa(len(ack.Body)))
			w.WriteHeader(http.StatusOK)
			_, _ = w.Write(ack.Body)
			return
		}
		w.WriteHeader(http.StatusOK)
	})
}

type durableKey struct{}

// withDurable marks a webhook request: its 200 must mean the turn is done.
func withDurable(ctx context.Context) context.Context {
	return context.WithValue(ctx, durableKey{}, true)
}

func isDurable(ctx context.Context) bool { v, _ := ctx.Value(durableKey{}).(bool); return v }

// queues runs work per chat one at a time, in arrival order. The work of
// a chat with nothing queued runs in the caller's goroutine (a webhook
// request's, whose stack has grown to a turn's depth already: a goroutine
// started per update grew its stack anew each time, 5% of serve's CPU
// under load); work that arrives for the chat meanwhile queues, and a
// worker goroutine takes it once the caller's is done.
type queues struct {
	mu    sync.Mutex
	chats map[int64]*chatQueue
}

type chatQueue struct {
	jobs []func()
}

func newQueues() *queues { return &queues{chats: map[int64]*chatQueue{}} }

// do runs fn in chat's queue and returns its error.
func (q *queues) do(ctx context.Context, chat int64, fn func() error) error {
	q.mu.Lock()
	cq, running := q.chats[chat]
	if !running {
		cq = &chatQueue{}
		q.chats[chat] = cq
		q.mu.Unlock()
		defer q.handOn(chat, cq) // also when fn panics (net/http recovers a handler's panic)
		return fn()
	}
	done := make(chan error, 1)
	cq.jobs = append(cq.jobs, func() { done <- fn() })
	q.mu.Unlock()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// handOn ends the caller's turn at chat's queue: what queued meanwhile goes
// to a worker.
func (q *queues) handOn(chat int64, cq *chatQueue) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(cq.jobs) == 0 {
		delete(q.chats, chat)
		return
	}
	go q.drain(chat, cq)
}

func (q *queues) drain(chat int64, cq *chatQueue) {
	for {
		q.mu.Lock()
		if len(cq.jobs) == 0 {
			delete(q.chats, chat)
			q.mu.Unlock()
			return
		}
		job := cq.jobs[0]
		cq.jobs = cq.jobs[1:]
		q.mu.Unlock()
		job()
	}
}

// filesOf returns the photo (its largest size) or document of a message;
// the engine decides whether the step takes it.
func filesOf(msg *models.Message) []dialog.File {
	if n := len(msg.Photo); n > 0 {
		best := msg.Photo[0]
		for _, p := range msg.Photo[1:] {
			if p.Width*p.Height > best.Width*best.Height {
				best = p
			}
		}
		return []dialog.File{{ID: best.FileID, Kind: "photo", Size: int64(best.FileSize), MIME: "image/jpeg"}}
	}
	if d := msg.Document; d != nil {
		return []dialog.File{{ID: d.FileID, Kind: "document", Size: d.FileSize, MIME: d.MimeType}}
	}
	return nil
}
