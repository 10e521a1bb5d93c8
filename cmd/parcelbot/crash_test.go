package main

import (
	"context"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"

	"github.com/parcelbot/parcelbot/adapters/telegram/telegramtest"
	"github.com/parcelbot/parcelbot/domain"
)

// TestCrashSafety runs the real binary under scripted load and kills it
// with SIGKILL several times. Afterwards every customer message got an
// answer, no compensation was granted twice (across the three chats asking
// about each order), and repeated answers are bounded: a turn carried out
// but not yet marked done, or not yet acknowledged to Telegram, repeats its
// replies when its update comes again (Telegram offers no idempotent send;
// see docs/security.md), so a chat sees at most one repeat per kill.
func TestCrashSafety(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills the real binary; skipped with -short")
	}
	mr := miniredis.RunT(t)
	crashSafety(t, "redis://"+mr.Addr(), "parcelbot:", mr.Exists)
}

// TestCrashSafetyOnRedisCluster is the crash test on a Redis Cluster
// (.ci/with-redis-cluster sets PARCELBOT_TEST_REDIS).
func TestCrashSafetyOnRedisCluster(t *testing.T) {
	url, rdb, prefix := testCluster(t, "crash")
	crashSafety(t, url, prefix, func(k string) bool {
		n, err := rdb.Exists(context.Background(), k).Result()
		return err == nil && n == 1
	})
}

func crashSafety(t *testing.T, redisURL, prefix string, exists func(key string) bool) {
	bin := filepath.Join(t.TempDir(), "parcelbot")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	fake := telegramtest.New(testToken)
	defer fake.Close()
	env := append(os.Environ(), "TELEGRAM_BOT_TOKEN="+testToken, "TELEGRAM_API_URL="+fake.URL, "PARCELBOT_ADDR=127.0.0.1:0", "PARCELBOT_OPS_ADDR=127.0.0.1:0",
		"REDIS_URL="+redisURL, "REDIS_PREFIX="+prefix, "LINK_TOKEN_SECRET="+testLinkSecret, "TELEGRAM_CHAT_INTERVAL=2ms", "TELEGRAM_RATE=2000", "LOG_LEVEL=warn")
	var logs strings.Builder
	start := func() *exec.Cmd {
		cmd := exec.Command(bin, "serve")
		cmd.Env = env
		cmd.Stdout, cmd.Stderr = &logs, &logs
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd
	}

	// the script: 12 chats of 4 linked customers (3 chats each, so the same
	// order is asked about from several chats): link, ask about the late
	// order, accept the free month, ask again, say hello, list cases
	type chatScript struct {
		chat  int64
		order string
		msgs  []string
	}
	late := map[string]string{"C-1001": "302-1004444-4031108", "C-1004": "403-1004444-4031108", "C-1007": "405-1004444-4031108", "C-1010": "206-1004444-4031108"}
	var scripts []chatScript
	now := time.Now()
	for i, cust := range []string{"C-1001", "C-1004", "C-1007", "C-1010"} {
		for k := 0; k < 3; k++ {
			tok, err := domain.NewLinkToken([]byte(testLinkSecret), cust, now)
			if err != nil {
				t.Fatal(err)
			}
			c := chatScript{chat: int64(9000 + 10*i + k), order: late[cust]}
			c.msgs = []string{"/start " + tok, "where is " + c.order, "yes", "where is " + c.order, "hello", "/cases", "thanks"}
			scripts = append(scripts, c)
		}
	}
	sent := map[int64]int{}
	cmd := start()
	kills := 0
	for step := 0; step < 7; step++ {
		for _, s := range scripts {
			fake.Text(s.chat, "en", s.msgs[step])
			sent[s.chat]++
		}
		time.Sleep(time.Duration(20+rand.IntN(60)) * time.Millisecond)
		if step%2 == 1 && kills < 4 {
			_ = cmd.Process.Signal(syscall.SIGKILL)
			_ = cmd.Wait()
			kills++
			cmd = start()
		}
	}
	// let the last instance finish everything
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		done := true
		for _, s := range scripts {
			if len(fake.Sent(s.chat)) < sent[s.chat] {
				done = false
			}
		}
		if done {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond)
	_ = cmd.Process.Signal(syscall.SIGKILL)
	_ = cmd.Wait()

	duplicates := 0
	grants := map[string]map[string]bool{} // order → distinct "granted" messages
	for _, s := range scripts {
		got := fake.Sent(s.chat)
		if len(got) < sent[s.chat] {
			var texts []string
			for _, c := range got {
				texts = append(texts, c.Params["text"][:min(40, len(c.Params["text"]))])
			}
			t.Errorf("chat %d: %d answers to %d messages: %q", s.chat, len(got), sent[s.chat], texts)
		}
		if extra := len(got) - sent[s.chat]; extra > kills {
			t.Errorf("chat %d: %d repeated answers after %d kills", s.chat, extra, kills)
		} else if extra > 0 {
			duplicates += extra
		}
		for _, c := range got {
			if text := c.Params["text"]; strings.Contains(text, "one free month has been added") {
				if grants[s.order] == nil {
					grants[s.order] = map[string]bool{}
				}
				grants[s.order][text] = true
			}
		}
	}
	// a second grant would name a renewal date a month later; a repeated
	// message (at least once) names the same
	for order, texts := range grants {
		if len(texts) > 1 {
			t.Errorf("order %s: granted more than once: %v", order, texts)
		}
	}
	for order := range map[string]bool{late["C-1001"]: true, late["C-1004"]: true} {
		if !exists(prefix + "once:comp:" + order) {
			t.Errorf("no grant record for %s", order)
		}
	}
	t.Logf("%d kills; %d duplicate answers; every message answered", kills, duplicates)
	if strings.Contains(logs.String(), testToken) {
		t.Error("the token appears in the logs")
	}
}
