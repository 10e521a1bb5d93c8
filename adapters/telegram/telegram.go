// Package telegram is parcelbot's Telegram channel, on
// github.com/go-telegram/bot (imported as tgbot) for every Bot API call.
//
// Receiving: long polling by default, a webhook when configured. Updates of
// one chat are handled one at a time, in order; chats run in parallel, at
// most Workers turns at once, and one chat's backlog never delays another.
// In polling mode an update is put in the Spool (Redis) before the
// getUpdates offset passes it, so the poller keeps fetching while turns run;
// a failed update is retried in its own chat's queue with back-off, and
// whatever is spooled but not done when the process stops is handled on
// the next start. In webhook mode the HTTP answer waits for the turn (a
// transient failure answers 500 and Telegram retries). An update Telegram
// will always refuse to answer (400 chat not found, message too long) is
// given up after a bounded number of tries, written to the dead-letter
// record with the reason and counted; webhook mode answers it 200. A chat
// that sends faster than a person can (Config.FloodMessages) gets one
// notice and its extra messages are dropped and counted. Stickers, photos,
// voice messages and edits get a short answer in the sender's language;
// group chats one notice that parcelbot works in private chats. A
// redelivered update is dropped by the session store's input-id check, so
// it is handled once.
//
// Sending: the replies of one turn become one message (split when longer
// than Telegram's 4,096 characters), HTML-escaped, with an inline keyboard
// for the buttons, within Telegram's limits (30 messages a second overall,
// one a second per chat). A 429 waits for retry_after and retries; a 403
// marks the chat as blocked and drops its messages until the user writes
// again; other failures are retried with backoff. The token never appears
// in logs or errors.
package telegram

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	tgbot "github.com/go-telegram/bot"
	"github.com/go-telegram/bot/models"

	"github.com/parcelbot/parcelbot/bot"
	"github.com/parcelbot/parcelbot/dialog"
)

// Handler processes one customer message (bot.Service.Handle).
type Handler interface {
	Handle(ctx context.Context, m bot.Message) error
}

// Config configures the channel.
type Config struct {
	Token         string // TELEGRAM_BOT_TOKEN
	APIURL        string // TELEGRAM_API_URL, default https://api.telegram.org
	WebhookURL    string // TELEGRAM_WEBHOOK_URL: webhook mode when set
	WebhookSecret string // TELEGRAM_WEBHOOK_SECRET: required in webhook mode
	// WebhookConnections is the most connections Telegram opens to the
	// webhook at once (setWebhook max_connections, 1–100), default 40.
	WebhookConnections int
	// WebhookReplies puts a turn's reply in the webhook's answer when it
	// is one message (Telegram then sends it: one Bot API call fewer per
	// update), instead of calling sendMessage. Telegram does not say
	// whether such a call succeeded: a reply it refuses (a chat that
	// blocked the bot, a 429) is lost, not retried. The rate limits are
	// kept here all the same.
	WebhookReplies bool
	// TypingAfter is how long a turn runs before the chat shows "typing…"
	// (a fast answer needs none, and it costs a Bot API call), default
	// 300 ms; negative: at once.
	TypingAfter time.Duration
	PollTimeout time.Duration
	// Rate limits; zero means Telegram's: 30 messages a second overall, one
	// a second per chat.
	GlobalRate float64
	ChatEvery  time.Duration
	Workers    int // chats handled in parallel, default 64
	Catalog    *dialog.Catalog
	// Commands are the command menu in order, without the slash (the
	// engine's Menu, from dialog/flows/manifest.yaml); each is described by
	// the locale key commands.<name>.
	Commands  []string
	Logger    *slog.Logger
	Transport http.RoundTripper // nil: NewTransport(Workers); wrap it for metrics
	// Spool keeps polled updates until they are handled (adapters/redis);
	// nil: in memory.
	Spool Spool
	// Count is told about dropped, answered-only and given-up updates (the
	// Event… names), for /metrics; nil: not counted.
	Count func(event string)
	// A chat that sends more than FloodMessages in FloodWindow (default 20
	// in 10 s, faster than a person types) gets one notice a window and
	// its extra messages are dropped. FloodMessages < 0 turns it off.
	FloodMessages int
	FloodWindow   time.Duration
	// RetryBase is the first back-off of a failed update (default 200 ms;
	// it doubles up to 30 s).
	RetryBase time.Duration
	// Now is the clock of the flood limit (default time.Now).
	Now func() time.Time
}

// Channel is the Telegram channel.
type Channel struct {
	cfg     Config
	api     *tgbot.Bot
	client  *http.Client
	log     *slog.Logger
	limit   *limiter
	queues  *queues
	mu      sync.Mutex
	blocked map[int64]bool
	handler Handler
	flood   *flood
	groups  map[int64]bool // group chats already told to write privately
	contact atomic.Int64   // unix nanos of the last successful getUpdates or setWebhook
}

// Ready reports whether the channel is connected: a webhook registered, or
// a getUpdates answered within the last two poll timeouts.
func (c *Channel) Ready() error {
	last := c.contact.Load()
	if last == 0 {
		return errors.New("telegram: not connected yet")
	}
	if c.cfg.WebhookURL == "" && time.Since(time.Unix(0, last)) > 2*c.cfg.PollTimeout+10*time.Second {
		return errors.New("telegram: no answer from the Bot API lately")
	}
	return nil
}

const (
	conversationPrefix = "tg"
	maxMessage         = 4096
)

// New checks the configuration and connects the Bot API client (no request
// is made).
func New(cfg Config) (*Channel, error) {
	if cfg.Token == "" {
		return nil, errors.New("telegram: TELEGRAM_BOT_TOKEN is empty")
	}
	if cfg.WebhookURL != "" && cfg.WebhookSecret == "" {
		return nil, errors.New("telegram: TELEGRAM_WEBHOOK_SECRET is required with TELEGRAM_WEBHOOK_URL")
	}
	if cfg.Catalog == nil {
		return nil, errors.New("telegram: a locale catalog is required")
	}
	if cfg.APIURL == "" {
		cfg.APIURL = "https://api.telegram.org"
	}
	cfg.APIURL = strings.TrimRight(cfg.APIURL, "/")
	if cfg.PollTimeout <= 0 {
		cfg.PollTimeout = 50 * time.Second
	}
	if cfg.GlobalRate <= 0 {
		cfg.GlobalRate = 30
	}
	if cfg.ChatEvery <= 0 {
		cfg.ChatEvery = time.Second
	}
	if cfg.Workers <= 0 {
		cfg.Workers = 64
	}
	if cfg.WebhookConnections <= 0 {
		cfg.WebhookConnections = 40
	}
	cfg.WebhookConnections = min(cfg.WebhookConnections, 100)
	if cfg.TypingAfter == 0 {
		cfg.TypingAfter = 300 * time.Millisecond
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Spool == nil {
		cfg.Spool = newMemSpool()
	}
	if cfg.FloodMessages == 0 {
		cfg.FloodMessages = 20
	}
	if cfg.FloodWindow <= 0 {
		cfg.FloodWindow = 10 * time.Second
	}
	if cfg.RetryBase <= 0 {
		cfg.RetryBase = 200 * time.Millisecond
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Transport == nil {
		cfg.Transport = NewTransport(cfg.Concurrency())
	}
	client := &http.Client{Timeout: cfg.PollTimeout + 10*time.Second, Transport: cfg.Transport}
	api, err := tgbot.New(cfg.Token, tgbot.WithServerURL(cfg.APIURL), tgbot.WithSkipGetMe(),
		tgbot.WithHTTPClient(cfg.PollTimeout, client), tgbot.WithErrorsHandler(func(error) {}))
	if err != nil {
		return nil, fmt.Errorf("telegram: %w", err)
	}
	return &Channel{cfg: cfg, api: api, client: client, log: cfg.Logger.With("channel", "telegram"),
		limit: newLimiter(cfg.GlobalRate, cfg.ChatEvery), queues: newQueues(), blocked: map[int64]bool{},
		flood: newFlood(cfg.FloodMessages, cfg.FloodWindow), groups: map[int64]bool{}}, nil
}

// Concurrency is how many turns may run at once: the polling workers, or
// in webhook mode Telegram's connections, whichever is more (after New's
// defaults).
func (cfg Config) Concurrency() int {
	return max(cfg.Workers, cfg.WebhookConnections)
}

// NewTransport is the HTTP transport for every Bot API call: keep-alive
// connections, as many kept idle per host as calls can be in flight (two
// per turn running at once: its reply and a keyboard removal, a callback
// answer or "typing…", plus the poller), so a burst of replies reuses
// connections instead of dialing one per message (http.DefaultTransport
// keeps 2).
func NewTransport(turns int) *http.Transport {
	if turns <= 0 {
		turns = 64
	}
	return &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          2*turns + 16,
		MaxIdleConnsPerHost:   2*turns + 16,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
}

// Name implements bot.Channel.
func (c *Channel) Name() string { return conversationPrefix }

// Send implements bot.Channel: the replies become one message per 4,096
// characters, the buttons go with the last one.
func (c *Channel) Send(ctx context.Context, chat string, _ string, replies []dialog.Reply) error {
	id, err := strconv.ParseInt(chat, 10, 64)
	if err != nil {
		return fmt.Errorf("telegram send: bad chat id %q", chat)
	}
	if c.isBlocked(id) {
		return nil
	}
	groups := group(replies)
	if ack := bot.AckFrom(ctx); ack != nil && !ack.Carried && len(groups) == 1 && len(split(groups[0].text, maxMessage)) == 1 {
		// one message: in the webhook's answer, after its rate-limit slot
		body, err := json.Marshal(webhookReply{Method: "sendMessage", sendMessage: c.message(id, groups[0].text, groups[0].buttons)})
		if err != nil {
			return fmt.Errorf("telegram send to chat %d: %w", id, err)
		}
		if err := c.limit.wait(ctx, id); err != nil {
			return fmt.Errorf("telegram send to chat %d: %w", id, err)
		}
		ack.Carried, ack.Body = true, body
		return nil
	}
	for _, g := range groups {
		parts := split(g.text, maxMessage)
		for i, p := range parts {
			var buttons []dialog.Button
			if i == len(parts)-1 {
				buttons = g.buttons
			}
			body, err := json.Marshal(c.message(id, p, buttons))
			if err != nil {
				return fmt.Errorf("telegram send to chat %d: %w", id, err)
			}
			if err := c.send(ctx, id, func(ctx context.Context) error {
				return c.callJSON(ctx, "sendMessage", body)
			}); err != nil {
				return fmt.Errorf("telegram send to chat %d: %w", id, err)
			}
		}
	}
	return nil
}

// message is the sendMessage call of one message.
func (c *Channel) message(chat int64, text string, buttons []dialog.Button) sendMessage {
	msg := sendMessage{ChatID: chat, Text: html.EscapeString(text), ParseMode: string(models.ParseModeHTML),
		LinkPreviewOptions: &models.LinkPreviewOptions{IsDisabled: tgbot.True()}}
	if len(buttons) > 0 {
		msg.ReplyMarkup = keyboard(buttons)
	}
	return msg
}

// webhookReply is a Bot API call in a webhook's answer.
type webhookReply struct {
	Method string `json:"method"`
	sendMessage
}

// sendMessage is the body of a sendMessage call, sent as JSON (the
// library sends multipart forms, which cost more to build and parse).
type sendMessage struct {
	ChatID             int64                        `json:"chat_id"`
	Text               string                       `json:"text"`
	ParseMode          string                       `json:"parse_mode,omitempty"`
	LinkPreviewOptions *models.LinkPreviewOptions   `json:"link_preview_options,omitempty"`
	ReplyMarkup        *models.InlineKeyboardMarkup `json:"reply_markup,omitempty"`
}

// apiAnswer is the Bot API's answer envelope.
type apiAnswer struct {
	OK          bool            `json:"ok"`
	Result      json.RawMessage `json:"result"`
	ErrorCode   int             `json:"error_code"`
	Description string          `json:"description"`
	Parameters  struct {
		RetryAfter int `json:"retry_after"`
	} `json:"parameters"`
}

// post sends a JSON body to a Bot API method and decodes the answer (at
// most limit bytes). An error is a transport failure or an unreadable
// answer; the token is never part of it.
func (c *Channel) post(ctx context.Context, method string, body []byte, limit int64) (apiAnswer, error) {
	var r apiAnswer
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.cfg.APIURL+"/bot"+c.cfg.Token+"/"+method, bytes.NewReader(body))
	if err != nil {
		return r, errors.New(method + ": bad API URL")
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.client.Do(req)
	if err != nil {
		return r, fmt.Errorf("%s: %s", method, strings.ReplaceAll(err.Error(), c.cfg.Token, "***"))
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(io.LimitReader(resp.Body, limit)).Decode(&r); err != nil {
		return r, fmt.Errorf("%s: bad answer (HTTP %d)", method, resp.StatusCode)
	}
	return r, nil
}

// callJSON posts a JSON body to a Bot API method and maps its error answer
// to the library's errors (429 with its retry_after, 403, 400, 401, 404),
// which send's retry policy knows.
func (c *Channel) callJSON(ctx context.Context, method string, body []byte) error {
	r, err := c.post(ctx, method, body, 1<<20)
	if err != nil || r.OK {
		return err
	}
	switch r.ErrorCode {
	case http.StatusTooManyRequests:
		return &tgbot.TooManyRequestsError{Message: r.Description, RetryAfter: r.Parameters.RetryAfter}
	case http.StatusForbidden:
		return fmt.Errorf("%w, %s", tgbot.ErrorForbidden, r.Description)
	case http.StatusBadRequest:
		return fmt.Errorf("%w, %s", tgbot.ErrorBadRequest, r.Description)
	case http.StatusUnauthorized:
		return fmt.Errorf("%w, %s", tgbot.ErrorUnauthorized, r.Description)
	case http.StatusNotFound:
		return fmt.Errorf("%w, %s", tgbot.ErrorNotFound, r.Description)
	}
	return fmt.Errorf("%s: error %d, %s", method, r.ErrorCode, r.Description)
}

type message struct {
	text    string
	buttons []dialog.Button
}

// group merges a turn's replies into as few messages as possible (each
// costs a second of the chat's rate limit): a reply marked Separate stands
// alone, and buttons end a message.
func group(replies []dialog.Reply) []message {
	var out []message
	open := false
	for _, r := range replies {
		if r.Separate || !open {
			out = append(out, message{text: r.Text, buttons: r.Buttons})
		} else {
			last := &out[len(out)-1]
			last.text += "\n\n" + r.Text
			last.buttons = r.Buttons
		}
		open = !r.Separate && len(r.Buttons) == 0
	}
	return out
}

// keyboard puts each button on a row of its own, as labels are sentences;
// consecutive short labels (a rating's 1 to 5) share one row.
func keyboard(bs []dialog.Button) *models.InlineKeyboardMarkup {
	var rows [][]models.InlineKeyboardButton
	short := false
	for _, b := range bs {
		btn := models.InlineKeyboardButton{Text: b.Label, CallbackData: b.Data}
		s := utf8.RuneCountInString(b.Label) <= 3
		if s && short && len(rows[len(rows)-1]) < 8 {
			rows[len(rows)-1] = append(rows[len(rows)-1], btn)
		} else {
			rows = append(rows, []models.InlineKeyboardButton{btn})
		}
		short = s
	}
	return &models.InlineKeyboardMarkup{InlineKeyboard: rows}
}

// split cuts text into parts of at most max characters, at a line break or
// a space in the second half of a part where there is one.
func split(text string, max int) []string {
	var parts []string
	for utf8.RuneCountInString(text) > max {
		end := 0
		for n := 0; n < max; n++ {
			_, size := utf8.DecodeRuneInString(text[end:])
			end += size
		}
		chunk := text[:end]
		if nl := strings.LastIndexByte(chunk, '\n'); nl > end/2 {
			end = nl + 1
		} else if sp := strings.LastIndexByte(chunk, ' '); sp > end/2 {
			end = sp + 1
		}
		parts = append(parts, strings.TrimRight(text[:end], " \n"))
		text = text[end:]
	}
	if text = strings.TrimRight(text, " \n"); text != "" || len(parts) == 0 {
		parts = append(parts, text)
	}
	return parts
}

// send runs one rate-limited sending call with the retry policy: 429 waits
// retry_after, 403 marks the chat blocked, other failures back off.
func (c *Channel) send(ctx context.Context, chat int64, call func(context.Context) error) error {
	backoff := 200 * time.Millisecond
	for attempt := 0; ; attempt++ {
		if err := c.limit.wait(ctx, chat); err != nil {
			return err
		}
		err := call(ctx)
		if err == nil {
			return nil
		}
		var tooMany *tgbot.TooManyRequestsError
		switch {
		case errors.As(err, &tooMany):
			wait := time.Duration(max(tooMany.RetryAfter, 1)) * time.Second
			c.log.Warn("rate limited by Telegram", "chat", chat, "retry_after_s", tooMany.RetryAfter)
			c.limit.pause(chat, wait)
			if attempt >= 5 {
				return err
			}
			continue
		case errors.Is(err, tgbot.ErrorForbidden):
			c.markBlocked(chat)
			c.log.Info("chat blocked the bot; its messages are dropped until it writes again", "chat", chat)
			return nil
		case errors.Is(err, tgbot.ErrorBadRequest):
			return &undeliverable{err} // chat not found, message too long: retrying will not help
		case errors.Is(err, tgbot.ErrorUnauthorized), errors.Is(err, tgbot.ErrorNotFound):
			return err // the token: a configuration error
		case ctx.Err() != nil:
			return ctx.Err()
		}
		if attempt >= 4 {
			return err
		}
		c.log.Warn("telegram call failed, retrying", "chat", chat, "attempt", attempt+1, "err", err)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(backoff):
		}
		backoff *= 2
	}
}

func (c *Channel) isBlocked(chat int64) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.blocked[chat]
}

func (c *Channel) markBlocked(chat int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.blocked[chat] = true
}

func (c *Channel) unblock(chat int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.blocked, chat)
}

// Blocked reports whether a chat blocked the bot (for tests and health).
func (c *Channel) Blocked(chat int64) bool { return c.isBlocked(chat) }

// SetCommands registers the localized command menu: English as the default
// and one per language.
func (c *Channel) SetCommands(ctx context.Context) error {
	for _, lang := range append([]string{""}, dialog.Languages...) {
		l := lang
		if l == "" {
			l = "en"
		}
		var cmds []models.BotCommand
		for _, name := range c.cfg.Commands {
			cmds = append(cmds, models.BotCommand{Command: name, Description: c.cfg.Catalog.Text(l, "commands."+name, nil)})
		}
		p := &tgbot.SetMyCommandsParams{Commands: cmds, LanguageCode: lang}
		if err := c.send(ctx, 0, func(ctx context.Context) error {
			_, err := c.api.SetMyCommands(ctx, p)
			return err
		}); err != nil {
			return fmt.Errorf("telegram setMyCommands %q: %w", lang, err)
		}
	}
	return nil
}

// OpenFile downloads a file a customer sent (getFile, then the file URL),
// at most max bytes. The download URL carries the bot token: it is used
// here only and appears in no error, log or message.
func (c *Channel) OpenFile(ctx context.Context, fileID string, max int64) ([]byte, string, error) {
	body, err := json.Marshal(map[string]string{"file_id": fileID})
	if err != nil {
		return nil, "", err
	}
	r, err := c.post(ctx, "getFile", body, 1<<16)
	if err != nil {
		return nil, "", err
	}
	if !r.OK {
		return nil, "", fmt.Errorf("getFile: %s (%d)", r.Description, r.ErrorCode)
	}
	var f models.File
	if err := json.Unmarshal(r.Result, &f); err != nil || f.FilePath == "" || strings.Contains(f.FilePath, "..") {
		return nil, "", errors.New("getFile: no file path")
	}
	if f.FileSize > max {
		return nil, "", fmt.Errorf("getFile: %d bytes, more than %d", f.FileSize, max)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.cfg.APIURL+"/file/bot"+c.cfg.Token+"/"+f.FilePath, nil)
	if err != nil {
		return nil, "", errors.New("file download: bad API URL")
	}
	resp, err := c.client.Do(req)
	if err != nil {
		return nil, "", fmt.Errorf("file download: %s", strings.ReplaceAll(err.Error(), c.cfg.Token, "***"))
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, "", fmt.Errorf("file download: HTTP %d", resp.StatusCode)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, max+1))
	if err != nil {
		return nil, "", fmt.Errorf("file download: %s", strings.ReplaceAll(err.Error(), c.cfg.Token, "***"))
	}
	if int64(len(data)) > max {
		return nil, "", fmt.Errorf("file download: more than %d bytes", max)
	}
	name := f.FilePath
	if i := strings.LastIndexByte(name, '/'); i >= 0 {
		name = name[i+1:]
	}
	return data, name, nil
}
