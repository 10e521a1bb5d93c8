// Package telegramtest is an in-process fake Telegram Bot API server for
// tests: long-polling getUpdates fed by the test, the sending methods
// recorded, and failures (429, 403, 500) injected on demand.
package telegramtest

import (
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-telegram/bot/models"
)

// Call is one recorded API call.
type Call struct {
	Method    string
	Params    map[string]string // form fields (JSON-encoded values as sent)
	At        time.Time
	MessageID int // the id the server gave a sent message
}

// ChatID returns the chat_id parameter as a number.
func (c Call) ChatID() int64 {
	n, _ := strconv.ParseInt(c.Params["chat_id"], 10, 64)
	return n
}

// Keyboard decodes the inline keyboard of a sendMessage call.
func (c Call) Keyboard() [][]models.InlineKeyboardButton {
	var m models.InlineKeyboardMarkup
	_ = json.Unmarshal([]byte(c.Params["reply_markup"]), &m)
	return m.InlineKeyboard
}

// Server is a fake Bot API.
type Server struct {
	*httptest.Server
	Token string
	// OnSend, when set before use, is called with each sendMessage's chat
	// after it is recorded (load generators wait on it per chat, instead of
	// every waiter waking for every message).
	OnSend func(chat int64)
	light  atomic.Bool // see SetLight

	mu       sync.Mutex
	cond     *sync.Cond
	updates  []models.Update
	nextID   int64
	acked    int64 // highest offset-1 acknowledged by getUpdates
	calls    []Call
	fail     map[string][]failure // method → queued failures
	blocked  map[int64]bool
	gone     map[int64]bool
	conns    atomic.Int64 // TCP connections accepted
	msgID    int
	closed   bool
	webhook  string
	whSecret string
	files    map[string][]byte // file_id → content (Photo, Document)

	// enforced limits (zero: none), and what broke them
	limitEvery time.Duration // between any two sends
	limitChat  time.Duration // between two sends to one chat
	window     []time.Time   // sends in the last second
	perSecond  float64
	lastChat   map[int64]time.Time
	tooMany    int
}

// SetLight makes sendMessage and sendChatAction with a JSON body cheap,
// for load tests: not recorded (Calls and Sent do not show them), no
// failures, limits or blocked chats; the answer carries the message id and
// chat only. Without it the fake's own JSON work cost more CPU than the
// bot it measured.
func (s *Server) SetLight() { s.light.Store(true) }

// EnforceLimits makes sendMessage answer 429 (retry_after 1) as Telegram
// does: more than perSecond sends in any second overall, or two sends to
// one chat less than a quarter of chatEvery apart (network jitter between
// two well-spaced sends is tolerated, as Telegram tolerates short bursts).
func (s *Server) EnforceLimits(perSecond float64, chatEvery time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.perSecond = perSecond
	s.limitEvery = time.Duration(float64(time.Second) / perSecond)
	s.limitChat = chatEvery
	s.lastChat = map[int64]time.Time{}
}

// TooMany returns how many sends broke the enforced limits.
func (s *Server) TooMany() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tooMany
}

type failure struct {
	code       int
	retryAfter int
}

// New starts a fake Bot API server for token.
func New(token string) *Server {
	s := &Server{Token: token, fail: map[string][]failure{}, blocked: map[int64]bool{}, gone: map[int64]bool{}, files: map[string][]byte{}, nextID: 1000}
	s.cond = sync.NewCond(&s.mu)
	s.Server = httptest.NewUnstartedServer(http.HandlerFunc(s.serve))
	s.Server.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			s.conns.Add(1)
		}
	}
	s.Server.Start()
	go s.tick()
	return s
}

// tick wakes long polls so that they honour deadlines and cancellation.
func (s *Server) tick() {
	for {
		time.Sleep(20 * time.Millisecond)
		s.mu.Lock()
		closed := s.closed
		s.cond.Broadcast()
		s.mu.Unlock()
		if closed {
			return
		}
	}
}

// Close stops the server and wakes pollers.
func (s *Server) Close() {
	s.mu.Lock()
	s.closed = true
	s.cond.Broadcast()
	s.mu.Unlock()
	s.Server.CloseClientConnections()
	s.Server.Close()
}

// Push queues an update (its ID is assigned when zero) and returns its ID.
func (s *Server) Push(u models.Update) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if u.ID == 0 {
		s.nextID++
		u.ID = s.nextID
	}
	s.updates = append(s.updates, u)
	s.cond.Broadcast()
	return u.ID
}

// Text pushes a text message from a user in a private chat.
func (s *Server) Text(chat int64, lang, text string) int64 {
	return s.Push(models.Update{Message: &models.Message{
		ID: int(s.nextMsgID()), Chat: models.Chat{ID: chat, Type: models.ChatTypePrivate},
		From: &models.User{ID: chat, FirstName: "Test", LanguageCode: lang}, Text: text, Date: int(time.Now().Unix()),
	}})
}

// Press pushes a callback query for a button of message msgID.
func (s *Server) Press(chat int64, lang string, msgID int, data string) int64 {
	return s.Push(models.Update{CallbackQuery: &models.CallbackQuery{
		ID: "cb" + strconv.Itoa(int(s.nextMsgID())), From: models.User{ID: chat, LanguageCode: lang}, Data: data,
		Message: models.MaybeInaccessibleMessage{Type: models.MaybeInaccessibleMessageTypeMessage,
			Message: &models.Message{ID: msgID, Date: int(time.Now().Unix()), Chat: models.Chat{ID: chat, Type: models.ChatTypePrivate}}},
	}})
}

// Photo pushes a photo message (two sizes, as Telegram sends them) whose
// largest size is content; getFile and the file URL serve it.
func (s *Server) Photo(chat int64, lang string, id string, content []byte) int64 {
	s.mu.Lock()
	s.files[id] = content
	s.files[id+"-small"] = content[:min(len(content), 16)]
	s.mu.Unlock()
	return s.Push(models.Update{Message: &models.Message{
		ID: int(s.nextMsgID()), Chat: models.Chat{ID: chat, Type: models.ChatTypePrivate},
		From: &models.User{ID: chat, LanguageCode: lang}, Date: int(time.Now().Unix()),
		Photo: []models.PhotoSize{
			{FileID: id + "-small", FileUniqueID: id + "-s", Width: 90, Height: 60, FileSize: min(len(content), 16)},
			{FileID: id, FileUniqueID: id + "-u", Width: 1280, Height: 960, FileSize: len(content)},
		},
	}})
}

// Document pushes a file sent as a document, of the given media type.
func (s *Server) Document(chat int64, lang, id, mime string, content []byte) int64 {
	s.mu.Lock()
	s.files[id] = content
	s.mu.Unlock()
	return s.Push(models.Update{Message: &models.Message{
		ID: int(s.nextMsgID()), Chat: models.Chat{ID: chat, Type: models.ChatTypePrivate},
		From: &models.User{ID: chat, LanguageCode: lang}, Date: int(time.Now().Unix()),
		Document: &models.Document{FileID: id, FileUniqueID: id + "-u", FileName: id + ".bin", MimeType: mime, FileSize: int64(len(content))},
	}})
}

// Location pushes a shared location.
func (s *Server) Location(chat int64, lang string, lat, lon float64) int64 {
	return s.Push(models.Update{Message: &models.Message{
		ID: int(s.nextMsgID()), Chat: models.Chat{ID: chat, Type: models.ChatTypePrivate},
		From: &models.User{ID: chat, LanguageCode: lang}, Location: &models.Location{Latitude: lat, Longitude: lon},
	}})
}

func (s *Server) nextMsgID() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.msgID++
	return s.msgID
}

// Fail makes the next n calls of method fail with an HTTP-style error code
// (429 with retry_after seconds, 403, 500).
func (s *Server) Fail(method string, code, retryAfter, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := 0; i < n; i++ {
		s.fail[method] = append(s.fail[method], failure{code, retryAfter})
	}
}

// Block makes every send to chat fail with 403 (the user blocked the bot).
func (s *Server) Block(chat int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.blocked[chat] = true
}

// Conns returns how many TCP connections the fake accepted.
func (s *Server) Conns() int64 { return s.conns.Load() }

// Gone makes every send to chat fail with 400 "chat not found", as for a
// chat that no longer exists.
func (s *Server) Gone(chat int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.gone[chat] = true
}

// Calls returns the recorded calls of method ("" for all).
func (s *Server) Calls(method string) []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Call
	for _, c := range s.calls {
		if method == "" || c.Method == method {
			out = append(out, c)
		}
	}
	return out
}

// Sent returns the texts sent to chat, in order.
func (s *Server) Sent(chat int64) []Call {
	var out []Call
	for _, c := range s.Calls("sendMessage") {
		if c.ChatID() == chat {
			out = append(out, c)
		}
	}
	return out
}

// WaitSent waits until chat received at least n messages or timeout.
func (s *Server) WaitSent(chat int64, n int, timeout time.Duration) []Call {
	deadline := time.Now().Add(timeout)
	for {
		got := s.Sent(chat)
		if len(got) >= n || time.Now().After(deadline) {
			return got
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Button returns the callback data of the button labelled label in a
// sendMessage call, and whether there is one.
func (c Call) Button(label string) (string, bool) {
	for _, row := range c.Keyboard() {
		for _, b := range row {
			if b.Text == label || strings.HasPrefix(b.Text, label) {
				return b.CallbackData, true
			}
		}
	}
	return "", false
}

// Acked returns the highest update id acknowledged by an offset.
func (s *Server) Acked() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.acked
}

// Webhook returns the registered webhook URL and secret.
func (s *Server) Webhook() (string, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.webhook, s.whSecret
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	if path, ok := strings.CutPrefix(r.URL.Path, "/file/bot"+s.Token+"/"); ok {
		s.mu.Lock()
		content, found := s.files[strings.TrimPrefix(path, "photos/")]
		s.mu.Unlock()
		if !found {
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write(content)
		return
	}
	prefix := "/bot" + s.Token + "/"
	if !strings.HasPrefix(r.URL.Path, prefix) {
		reply(w, http.StatusUnauthorized, nil, "Unauthorized", 0)
		return
	}
	method := strings.TrimPrefix(r.URL.Path, prefix)
	if s.light.Load() && (method == "sendMessage" || method == "sendChatAction") && strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		s.answerLight(w, r, method)
		return
	}
	params, err := readParams(r)
	if err != nil {
		reply(w, http.StatusBadRequest, nil, err.Error(), 0)
		return
	}
	if method == "getUpdates" {
		s.getUpdates(w, r, params)
		return
	}
	s.mu.Lock()
	s.calls = append(s.calls, Call{Method: method, Params: params, At: time.Now()})
	if q := s.fail[method]; len(q) > 0 {
		f := q[0]
		s.fail[method] = q[1:]
		s.mu.Unlock()
		reply(w, f.code, nil, http.StatusText(f.code), f.retryAfter)
		return
	}
	chat, _ := strconv.ParseInt(params["chat_id"], 10, 64)
	if method == "sendMessage" && s.limitEvery > 0 {
		now := time.Now()
		i := 0
		for i < len(s.window) && now.Sub(s.window[i]) >= time.Second {
			i++
		}
		s.window = s.window[i:]
		tooSoon := float64(len(s.window)) >= s.perSecond+1
		if last, ok := s.lastChat[chat]; ok && now.Sub(last) < s.limitChat/4 {
			tooSoon = true
		}
		if tooSoon {
			s.tooMany++
			s.mu.Unlock()
			reply(w, http.StatusTooManyRequests, nil, "Too Many Requests: retry after 1", 1)
			return
		}
		s.window = append(s.window, now)
		s.lastChat[chat] = now
	}
	if s.blocked[chat] && (method == "sendMessage" || method == "sendChatAction") {
		s.mu.Unlock()
		reply(w, http.StatusForbidden, nil, "Forbidden: bot was blocked by the user", 0)
		return
	}
	if s.gone[chat] && (method == "sendMessage" || method == "sendChatAction") {
		s.mu.Unlock()
		reply(w, http.StatusBadRequest, nil, "Bad Request: chat not found", 0)
		return
	}
	switch method {
	case "setWebhook":
		s.webhook, s.whSecret = params["url"], params["secret_token"]
	case "deleteWebhook":
		s.webhook, s.whSecret = "", ""
	}
	s.msgID++
	id := s.msgID
	s.calls[len(s.calls)-1].MessageID = id
	s.mu.Unlock()
	switch method {
	case "getMe":
		reply(w, http.StatusOK, models.User{ID: 42, IsBot: true, FirstName: "parcelbot", Username: "parcel_test_bot"}, "", 0)
	case "getFile":
		id := params["file_id"]
		s.mu.Lock()
		content, found := s.files[id]
		s.mu.Unlock()
		if !found {
			reply(w, http.StatusBadRequest, nil, "Bad Request: invalid file_id", 0)
			return
		}
		reply(w, http.StatusOK, models.File{FileID: id, FileUniqueID: id + "-u", FileSize: int64(len(content)), FilePath: "photos/" + id}, "", 0)
	case "sendMessage", "editMessageText", "editMessageReplyMarkup":
		reply(w, http.StatusOK, models.Message{ID: id, Chat: models.Chat{ID: chat}, Text: params["text"]}, "", 0)
		if method == "sendMessage" && s.OnSend != nil {
			s.OnSend(chat)
		}
	case "answerCallbackQuery", "sendChatAction", "setMyCommands", "setWebhook", "deleteWebhook":
		reply(w, http.StatusOK, true, "", 0)
	default:
		reply(w, http.StatusNotFound, nil, "Not Found: method "+method, 0)
	}
}

// answerLight answers a sendMessage or sendChatAction in light mode (SetLight).
func (s *Server) answerLight(w http.ResponseWriter, r *http.Request, method string) {
	var p struct {
		ChatID json.RawMessage `json:"chat_id"`
	}
	if err := json.NewDecoder(r.Body).Decode(&p); err != nil {
		reply(w, http.StatusBadRequest, nil, err.Error(), 0)
		return
	}
	chat, err := strconv.ParseInt(strings.Trim(string(p.ChatID), `"`), 10, 64)
	if err != nil {
		reply(w, http.StatusBadRequest, nil, "Bad Request: chat not found", 0)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	if method == "sendChatAction" {
		_, _ = w.Write([]byte(`{"ok":true,"result":true}`))
		return
	}
	s.mu.Lock()
	s.msgID++
	id := s.msgID
	s.mu.Unlock()
	b := make([]byte, 0, 96)
	b = append(b, `{"ok":true,"result":{"message_id":`...)
	b = strconv.AppendInt(b, int64(id), 10)
	b = append(b, `,"date":0,"chat":{"id":`...)
	b = strconv.AppendInt(b, chat, 10)
	b = append(b, `,"type":"private"}}}`...)
	_, _ = w.Write(b)
	if s.OnSend != nil {
		s.OnSend(chat)
	}
}

func (s *Server) getUpdates(w http.ResponseWriter, r *http.Request, p map[string]string) {
	offset, _ := strconv.ParseInt(p["offset"], 10, 64)
	timeout, _ := strconv.Atoi(p["timeout"])
	deadline := time.Now().Add(time.Duration(timeout) * time.Second)
	s.mu.Lock()
	if offset > 0 && offset-1 > s.acked {
		s.acked = offset - 1
		kept := s.updates[:0]
		for _, u := range s.updates {
			if u.ID >= offset {
				kept = append(kept, u)
			}
		}
		s.updates = kept
	}
	for len(s.updates) == 0 && !s.closed && time.Now().Before(deadline) && r.Context().Err() == nil {
		s.cond.Wait()
	}
	out := append([]models.Update(nil), s.updates...)
	if len(out) > 100 {
		out = out[:100]
	}
	s.mu.Unlock()
	reply(w, http.StatusOK, out, "", 0)
}

func reply(w http.ResponseWriter, code int, result any, desc string, retryAfter int) {
	w.Header().Set("Content-Type", "application/json")
	resp := map[string]any{"ok": code == http.StatusOK}
	if code == http.StatusOK {
		resp["result"] = result
	} else {
		resp["error_code"] = code
		resp["description"] = desc
		if retryAfter > 0 {
			resp["parameters"] = map[string]int{"retry_after": retryAfter}
		}
	}
	w.WriteHeader(http.StatusOK) // the Bot API answers errors in the body
	_ = json.NewEncoder(w).Encode(resp)
}

// readParams reads multipart, urlencoded or JSON parameters into strings.
func readParams(r *http.Request) (map[string]string, error) {
	out := map[string]string{}
	ct, params, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch ct {
	case "multipart/form-data":
		mr := multipart.NewReader(r.Body, params["boundary"])
		for {
			part, err := mr.NextPart()
			if err == io.EOF {
				return out, nil
			}
			if err != nil {
				return nil, err
			}
			b, _ := io.ReadAll(part)
			out[part.FormName()] = string(b)
		}
	case "application/json":
		var m map[string]any
		if err := json.NewDecoder(r.Body).Decode(&m); err != nil && err != io.EOF {
			return nil, err
		}
		for k, v := range m {
			switch v := v.(type) {
			case string:
				out[k] = v
			default:
				b, _ := json.Marshal(v)
				out[k] = string(b)
			}
		}
	default:
		if err := r.ParseForm(); err != nil {
			return nil, err
		}
		for k := range r.Form {
			out[k] = r.Form.Get(k)
		}
	}
	return out, nil
}

// String describes a call for test failures.
func (c Call) String() string { return fmt.Sprintf("%s %v", c.Method, c.Params) }
