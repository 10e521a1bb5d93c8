package shopapi

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/parcelbot/parcelbot/bot"
	"github.com/parcelbot/parcelbot/domain"
)

// The shop's outgoing webhook (docs/shop-api.yaml, x-webhooks orderEvent).
const (
	EventsPath      = "/shop/events"
	TimestampHeader = "X-Shop-Timestamp"
	SignatureHeader = "X-Shop-Signature"
	// ReplayWindow is how far a request's timestamp may be from parcelbot's
	// clock; older (or future) requests are refused as replays.
	ReplayWindow = 5 * time.Minute
	// maxEventBody bounds what is read of a request.
	maxEventBody = 64 << 10
)

// Sign returns the X-Shop-Signature value of body sent at ts.
func Sign(secret []byte, ts time.Time, body []byte) string {
	return "v1=" + hex.EncodeToString(mac(secret, strconv.FormatInt(ts.Unix(), 10), body))
}

func mac(secret []byte, ts string, body []byte) []byte {
	h := hmac.New(sha256.New, secret)
	h.Write([]byte(ts))
	h.Write([]byte{'.'})
	h.Write(body)
	return h.Sum(nil)
}

// EventReceiver takes a checked event (bot.Events).
type EventReceiver interface {
	Receive(ctx context.Context, ev domain.ShopEvent) (bot.EventStatus, error)
}

// EventHandler serves the shop's order events: it checks the signature
// and the timestamp, then hands the event to r. Answers follow the spec:
// 202 queued; 200 duplicate, not_linked or opted_out; 400, 401, 404 are
// final; 503 asks the shop to retry.
func EventHandler(secret []byte, r EventReceiver, now func() time.Time, log *slog.Logger) http.Handler {
	if now == nil {
		now = time.Now
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			http.Error(w, "POST only", http.StatusMethodNotAllowed)
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, req.Body, maxEventBody))
		if err != nil {
			http.Error(w, "body too large or unreadable", http.StatusRequestEntityTooLarge)
			return
		}
		if reason := verify(secret, req.Header, body, now()); reason != "" {
			log.Warn("shop event refused", "reason", reason, "remote", req.RemoteAddr)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		var in OrderEvent
		if err := json.Unmarshal(body, &in); err != nil {
			http.Error(w, "not an order event", http.StatusBadRequest)
			return
		}
		ev := domain.ShopEvent{ID: in.ID, Type: domain.EventType(in.Type), Order: in.Order, At: in.At, Expected: in.Expected.Time}
		status, err := r.Receive(req.Context(), ev)
		switch code := domain.ErrorCode(err); {
		case err == nil:
		case code == domain.EINVALID:
			http.Error(w, "invalid event: "+err.Error(), http.StatusBadRequest)
			return
		case code == domain.ENOTFOUND:
			http.Error(w, "unknown order", http.StatusNotFound)
			return
		default:
			log.Error("shop event not stored", "event", ev.ID, "err", err)
			http.Error(w, "try again", http.StatusServiceUnavailable)
			return
		}
		log.Info("shop event", "event", ev.ID, "type", ev.Type, "status", status)
		w.Header().Set("Content-Type", "application/json")
		if status == bot.EventQueued {
			w.WriteHeader(http.StatusAccepted)
		}
		_ = json.NewEncoder(w).Encode(OrderEventAnswer{Status: OrderEventAnswerStatus(status)})
	})
}

// verify returns why a request is refused, or "".
func verify(secret []byte, h http.Header, body []byte, now time.Time) string {
	ts := h.Get(TimestampHeader)
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return "no timestamp"
	}
	if d := now.Sub(time.Unix(sec, 0)); d > ReplayWindow || d < -ReplayWindow {
		return "timestamp outside the replay window"
	}
	sig, ok := strings.CutPrefix(h.Get(SignatureHeader), "v1=")
	got, err := hex.DecodeString(sig)
	if !ok || err != nil || !hmac.Equal(got, mac(secret, ts, body)) {
		return "bad signature"
	}
	return ""
}

// PostEvent sends one event to a parcelbot's endpoint as the shop would
// (`parcelbot event`), signed with secret, and returns the answer's status.
func PostEvent(ctx context.Context, client *http.Client, url string, secret []byte, ev domain.ShopEvent, now time.Time) (string, int, error) {
	in := OrderEvent{ID: ev.ID, Type: OrderEventType(ev.Type), Order: ev.Order, At: ev.At}
	if !ev.Expected.IsZero() {
		in.Expected.Time = ev.Expected
	}
	body, err := json.Marshal(in)
	if err != nil {
		return "", 0, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return "", 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(TimestampHeader, strconv.FormatInt(now.Unix(), 10))
	req.Header.Set(SignatureHeader, Sign(secret, now, body))
	resp, err := client.Do(req)
	if err != nil {
		return "", 0, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	var ans OrderEventAnswer
	if json.Unmarshal(b, &ans) == nil && ans.Status != "" {
		return string(ans.Status), resp.StatusCode, nil
	}
	if resp.StatusCode >= 300 {
		return "", resp.StatusCode, errors.New(strings.TrimSpace(string(b)))
	}
	return "", resp.StatusCode, nil
}
