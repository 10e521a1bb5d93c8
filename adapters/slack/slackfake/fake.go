// Package slackfake is an in-process fake Slack for tests: slacktest's
// server (Web API and the Socket Mode websocket) plus handlers it lacks —
// chat.update, conversations.members, usergroups.users.list — a
// chat.postMessage that records thread_ts and gives every message its own
// ts, failure injection (HTTP 500, 429 with Retry-After), and helpers that
// build signed event and interactivity requests.
package slackfake

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slacktest"
)

// Post is one recorded call that carries a message.
type Post struct {
	Method   string // chat.postMessage, chat.update, chat.postEphemeral
	Channel  string
	TS       string // the message's ts (given, or updated)
	ThreadTS string
	User     string // postEphemeral's user
	Text     string
	Blocks   string
	Raw      string // the whole request body
}

// Fake is a fake Slack.
type Fake struct {
	*slacktest.Server
	mu      sync.Mutex
	posts   []Post
	members []string
	fail    map[string][]int // method → HTTP codes to answer next
	seq     int
	uploads map[string]*Upload  // file id → upload
	order   []string            // file ids in upload order
	locales map[string]string   // user → Slack locale (users.info)
	views   map[string][]string // user → published App Home views (JSON), in order
}

// Upload is a file uploaded with files.getUploadURLExternal, the upload
// URL and files.completeUploadExternal.
type Upload struct {
	ID, Name, Title    string
	Content            []byte
	Channel, ThreadTS  string
	Completed, Deleted bool
	URL                string // the upload URL the client posted to
}

// New starts a fake Slack whose escalation channel has members.
func New(members ...string) *Fake {
	f := &Fake{members: members, fail: map[string][]int{}, uploads: map[string]*Upload{}, locales: map[string]string{}, views: map[string][]string{}}
	f.Server = slacktest.NewTestServer(func(c slacktest.Customize) {
		c.Handle("/chat.postMessage", f.record("chat.postMessage"))
		c.Handle("/chat.update", f.record("chat.update"))
		c.Handle("/chat.postEphemeral", f.record("chat.postEphemeral"))
		c.Handle("/conversations.members", f.conversationMembers)
		c.Handle("/usergroups.users.list", f.groupMembers)
		c.Handle("/files.getUploadURLExternal", f.uploadURL)
		c.Handle("/upload/", f.upload)
		c.Handle("/files.completeUploadExternal", f.completeUpload)
		c.Handle("/files.delete", f.deleteFile)
		c.Handle("/users.info", f.userInfo)
		c.Handle("/views.publish", f.publishView)
		c.Handle("/chat.getPermalink", func(w http.ResponseWriter, r *http.Request) {
			_ = r.ParseForm()
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(map[string]any{"ok": true, "channel": r.Form.Get("channel"),
				"permalink": "https://example.slack.com/archives/" + r.Form.Get("channel") + "/p" + strings.ReplaceAll(r.Form.Get("message_ts"), ".", "")})
		})
		c.Handle("/auth.test", func(w http.ResponseWriter, _ *http.Request) {
			_, _ = io.WriteString(w, `{"ok":true,"user_id":"UBOT","bot_id":"BBOT","team":"T","user":"parcelbot"}`)
		})
	})
	f.Start()
	return f
}

// APIURL is what SLACK_API_URL must be.
func (f *Fake) APIURL() string { return f.GetAPIURL() }

// Fail makes the next n calls of method answer HTTP code (500, or 429 with
// Retry-After: 1).
func (f *Fake) Fail(method string, code, n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := 0; i < n; i++ {
		f.fail[method] = append(f.fail[method], code)
	}
}

// FailuresLeft returns how many injected failures of method are still to
// be answered.
func (f *Fake) FailuresLeft(method string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.fail[method])
}

func (f *Fake) record(method string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		if q := f.fail[method]; len(q) > 0 {
			code := q[0]
			f.fail[method] = q[1:]
			f.mu.Unlock()
			if code == http.StatusTooManyRequests {
				w.Header().Set("Retry-After", "1")
			}
			w.WriteHeader(code)
			return
		}
		v, _ := url.ParseQuery(string(body))
		f.seq++
		ts := v.Get("ts")
		if method == "chat.postMessage" || method == "chat.postEphemeral" {
			ts = fmt.Sprintf("%d.%06d", time.Now().Unix(), f.seq)
		}
		f.posts = append(f.posts, Post{Method: method, Channel: v.Get("channel"), TS: ts, ThreadTS: v.Get("thread_ts"),
			User: v.Get("user"), Text: v.Get("text"), Blocks: v.Get("blocks"), Raw: string(body)})
		f.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"ok": true, "channel": v.Get("channel"), "ts": ts, "message_ts": ts})
	}
}

func (f *Fake) uploadURL(w http.ResponseWriter, r *http.Request) {
	_ = r.ParseForm()
	f.mu.Lock()
	if q := f.fail["files.getUploadURLExternal"]; len(q) > 0 {
		f.fail["files.getUploadURLExternal"] = q[1:]
		f.mu.Unlock()
		w.WriteHeader(q[0])
		return
	}
	f.seq++
	id := fmt.Sprintf("F%06d", f.seq)
	u := &Upload{ID: id, Name: r.Form.Get("filename"), URL: strings.TrimSuffix(f.GetAPIURL(), "/") + "/upload/" + id}
	f.uploads[id] = u
	f.order = append(f.order, id)
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"ok": true, "upload_url": u.URL, "file_id": id})
}

func (f *Fake) upload(w http.ResponseWriter, r *http.Request) {
	id := strings.TrimPrefix(r.URL.Path, "/upload/")
	file, _, err := r.FormFile("file")
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	content, _ := io.ReadAll(file)
	f.mu.Lock()
	defer f.mu.Unlock()
	if u := f.uploads[id]; u != nil {
		u.Content = content
	}
	_, _ = io.WriteString(w, "OK")
}

func (f *Fake) completeUpload(w http.ResponseWriter, r *http.Request) {
	_ = r.ParseForm()
	var files []struct{ ID, Title string }
	_ = json.Unmarshal([]byte(r.Form.Get("files")), &files)
	f.mu.Lock()
	var out []map[string]string
	for _, x := range files {
		if u := f.uploads[x.ID]; u != nil {
			u.Completed, u.Title, u.Channel, u.ThreadTS = true, x.Title, r.Form.Get("channel_id"), r.Form.Get("thread_ts")
			out = append(out, map[string]string{"id": x.ID, "title": x.Title})
		}
	}
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"ok": true, "files": out})
}

func (f *Fake) deleteFile(w http.ResponseWriter, r *http.Request) {
	_ = r.ParseForm()
	f.mu.Lock()
	if u := f.uploads[r.Form.Get("file")]; u != nil {
		u.Deleted = true
	}
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_, _ = io.WriteString(w, `{"ok":true}`)
}

// SetLocale makes users.info report user's Slack locale ("de-DE").
func (f *Fake) SetLocale(user, locale string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.locales[user] = locale
}

func (f *Fake) userInfo(w http.ResponseWriter, r *http.Request) {
	_ = r.ParseForm()
	user := r.Form.Get("user")
	f.mu.Lock()
	loc := f.locales[user]
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"ok": true, "user": map[string]any{"id": user, "name": user, "locale": loc}})
}

func (f *Fake) publishView(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	var req struct {
		UserID string          `json:"user_id"`
		View   json.RawMessage `json:"view"`
	}
	_ = json.Unmarshal(body, &req)
	f.mu.Lock()
	f.views[req.UserID] = append(f.views[req.UserID], string(req.View))
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_, _ = io.WriteString(w, `{"ok":true,"view":{"id":"V1","type":"home"}}`)
}

// HomeViews returns the App Home views published for user, in order.
func (f *Fake) HomeViews(user string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.views[user]...)
}

// HomeOpenedEvent is the body of an event_callback for app_home_opened.
func HomeOpenedEvent(eventID, user string) []byte {
	b, _ := json.Marshal(map[string]any{
		"type": "event_callback", "team_id": "T", "api_app_id": "A", "event_id": eventID, "event_time": time.Now().Unix(),
		"event": map[string]any{"type": "app_home_opened", "user": user, "channel": "D" + user, "tab": "home"},
	})
	return b
}

// Uploads returns the completed uploads in order.
func (f *Fake) Uploads() []Upload {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []Upload
	for _, id := range f.order {
		if u := f.uploads[id]; u.Completed {
			out = append(out, *u)
		}
	}
	return out
}

func (f *Fake) conversationMembers(w http.ResponseWriter, _ *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"ok": true, "members": f.members, "response_metadata": map[string]string{"next_cursor": ""}})
}

func (f *Fake) groupMembers(w http.ResponseWriter, _ *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"ok": true, "users": f.members})
}

// Posts returns the recorded calls of method ("" for all).
func (f *Fake) Posts(method string) []Post {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []Post
	for _, p := range f.posts {
		if method == "" || p.Method == method {
			out = append(out, p)
		}
	}
	return out
}

// Card returns the first top-level message mentioning caseID ("" for the
// first card of all).
func (f *Fake) Card(caseID string) (Post, bool) {
	for _, p := range f.Posts("chat.postMessage") {
		if p.ThreadTS == "" && strings.Contains(p.Blocks, caseID) && strings.Contains(p.Blocks, `"claim"`) {
			return p, true
		}
	}
	return Post{}, false
}

// Current returns a message's text as it reads now: the last chat.update
// of ts, or what was posted.
func (f *Fake) Current(ts string) string {
	text := ""
	for _, p := range f.Posts("") {
		if p.TS == ts && (p.Method == "chat.postMessage" || p.Method == "chat.update") {
			text = p.Text
		}
	}
	return text
}

// Thread returns the texts posted in the thread of ts, as posted.
func (f *Fake) Thread(ts string) []string {
	var out []string
	for _, p := range f.Posts("chat.postMessage") {
		if p.ThreadTS == ts {
			out = append(out, p.Text)
		}
	}
	return out
}

// ThreadNow returns the thread of ts as it reads now (edits applied).
func (f *Fake) ThreadNow(ts string) []string {
	var out []string
	for _, p := range f.Posts("chat.postMessage") {
		if p.ThreadTS == ts {
			out = append(out, f.Current(p.TS))
		}
	}
	return out
}

// Wait polls cond until it holds or timeout passes.
func Wait(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
	return true
}

// Sign adds Slack's signature headers for body, signed with secret at t.
func Sign(r *http.Request, secret string, body []byte, t time.Time) {
	ts := strconv.FormatInt(t.Unix(), 10)
	m := hmac.New(sha256.New, []byte(secret))
	fmt.Fprintf(m, "v0:%s:%s", ts, body)
	r.Header.Set("X-Slack-Request-Timestamp", ts)
	r.Header.Set("X-Slack-Signature", "v0="+hex.EncodeToString(m.Sum(nil)))
}

// MessageEvent is the body of an event_callback for a thread reply.
func MessageEvent(eventID, channel, user, threadTS, text string) []byte {
	b, _ := json.Marshal(map[string]any{
		"type": "event_callback", "team_id": "T", "api_app_id": "A", "event_id": eventID, "event_time": time.Now().Unix(),
		"event": map[string]any{"type": "message", "channel": channel, "user": user, "text": text,
			"ts": fmt.Sprintf("%d.%06d", time.Now().Unix(), time.Now().Nanosecond()/1000), "thread_ts": threadTS},
	})
	return b
}

// ActionPayload is the interactivity form body for a card button press.
func ActionPayload(user, actionID, caseID, actionTS string) []byte {
	cb := slack.InteractionCallback{Type: slack.InteractionTypeBlockActions, User: slack.User{ID: user, Name: user},
		ActionCallback: slack.ActionCallbacks{BlockActions: []*slack.BlockAction{{ActionID: actionID, Value: caseID, ActionTs: actionTS}}}}
	b, _ := json.Marshal(cb)
	return []byte("payload=" + url.QueryEscape(string(b)))
}
