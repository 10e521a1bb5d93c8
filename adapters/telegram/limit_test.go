package telegram

import (
	"container/heap"
	"math/rand/v2"
	"sort"
	"testing"
	"time"
)

// attempt is a chat's next sending call in the simulation.
type attempt struct {
	at   time.Time
	chat int64
	left int
}

type attempts []attempt

func (a attempts) Len() int { return len(a) }
func (a attempts) Less(i, j int) bool {
	if a[i].at.Equal(a[j].at) {
		return a[i].chat < a[j].chat
	}
	return a[i].at.Before(a[j].at)
}
func (a attempts) Swap(i, j int) { a[i], a[j] = a[j], a[i] }
func (a *attempts) Push(x any)   { *a = append(*a, x.(attempt)) }
func (a *attempts) Pop() any {
	old := *a
	x := old[len(old)-1]
	*a = old[:len(old)-1]
	return x
}

// The limiter on a simulated clock: 1,000 chats send 5 messages each as
// fast as they may, every call goes out up to 40 ms after its slot (a busy
// machine), and a chat sends its next message when its previous one went
// out. No second holds more calls than the rate, no chat gets two calls
// closer than chatEvery, and the burst takes as long as the rate demands.
// The clock is simulated, so the figures are exact on any machine.
func TestLimiterKeepsTheLimitsOnASimulatedClock(t *testing.T) {
	const (
		chats = 1000
		each  = 5
		rate  = 30
	)
	chatEvery := time.Second
	l := newLimiter(rate, chatEvery)
	rnd := rand.New(rand.NewPCG(1, 2))
	start := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	q := &attempts{}
	for c := int64(1); c <= chats; c++ {
		heap.Push(q, attempt{at: start.Add(time.Duration(rnd.IntN(100)) * time.Microsecond), chat: c, left: each})
	}
	var out []time.Time
	last := map[int64]time.Time{}
	for q.Len() > 0 {
		a := heap.Pop(q).(attempt)
		slot := a.at.Add(l.reserve(a.chat, a.at))
		sent := slot.Add(time.Duration(rnd.IntN(40_000)) * time.Microsecond)
		l.sent(a.chat, sent)
		if prev, ok := last[a.chat]; ok && sent.Sub(prev) < chatEvery {
			t.Fatalf("chat %d: two calls %v apart", a.chat, sent.Sub(prev))
		}
		last[a.chat] = sent
		out = append(out, sent)
		if a.left > 1 {
			heap.Push(q, attempt{at: sent, chat: a.chat, left: a.left - 1})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Before(out[j]) })
	for i, j := 0, 0; i < len(out); i++ {
		for out[i].Sub(out[j]) >= time.Second {
			j++
		}
		if n := i - j + 1; n > int(rate) {
			t.Fatalf("%d calls within one second from %s", n, out[j].Sub(start))
		}
	}
	took := out[len(out)-1].Sub(start)
	n, r := float64(chats*each), float64(rate)
	if min := time.Duration((n - 1) / r * float64(time.Second)); took < min {
		t.Fatalf("%d calls in %s, faster than the rate allows (%s)", chats*each, took, min)
	}
	if max := time.Duration(n / (r * headroom * 0.97) * float64(time.Second)); took > max {
		t.Fatalf("%d calls in %s: slower than pacing at %.0f%% of the rate (%s)", chats*each, took, headroom*100, max)
	}
	t.Logf("%d calls in %s of simulated time", chats*each, took)
}

// A 429 holds back the chat (or everything, for chat 0) for its
// retry_after, on the same simulated clock.
func TestLimiterPauseHoldsBack(t *testing.T) {
	l := newLimiter(1000, 10*time.Millisecond)
	now := time.Now()
	l.pause(7, 2*time.Second)
	if d := l.reserve(7, now); d < 1900*time.Millisecond {
		t.Fatalf("paused chat may send after %v", d)
	}
	if d := l.reserve(8, now); d > 10*time.Millisecond {
		t.Fatalf("another chat waits %v", d)
	}
	l.pause(0, time.Second)
	if d := l.reserve(9, now); d < 900*time.Millisecond {
		t.Fatalf("after a global 429 a chat may send after %v", d)
	}
}
