package main

import (
	"context"
	"fmt"
	"net"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/parcelbot/parcelbot/adapters/console"
	"github.com/parcelbot/parcelbot/adapters/demo"
	"github.com/parcelbot/parcelbot/adapters/redis"
	"github.com/parcelbot/parcelbot/bot"
	"github.com/parcelbot/parcelbot/dialog"
)

// redisServer runs a real redis-server with an append-only file in dir.
type redisServer struct {
	t    *testing.T
	port int
	dir  string
	cmd  *exec.Cmd
}

func (r *redisServer) start() {
	r.t.Helper()
	r.cmd = exec.Command("redis-server", "--bind", "127.0.0.1", "--port", fmt.Sprint(r.port), "--dir", r.dir,
		"--appendonly", "yes", "--appendfsync", "always", "--save", "")
	if err := r.cmd.Start(); err != nil {
		r.t.Fatal(err)
	}
	for i := 0; i < 100; i++ {
		if c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", r.port)); err == nil {
			c.Close()
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	r.t.Fatal("redis-server did not start")
}

func (r *redisServer) stop() {
	_ = r.cmd.Process.Kill()
	_ = r.cmd.Wait()
}

// startRedisServer starts a real redis-server on a free loopback port (the
// test is skipped where none is installed; .ci/run installs one) and stops
// it when the test ends.
func startRedisServer(t *testing.T) *redisServer {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Skip("redis-server is not installed (.ci/run installs it)")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	rs := &redisServer{t: t, port: port, dir: t.TempDir()}
	rs.start()
	t.Cleanup(rs.stop)
	return rs
}

// TestRedisStoppedMidConversation stops a real redis-server in the middle of
// a conversation: the customer is told in their language, nothing half is
// written, and after the restart the conversation continues where it was.
func TestRedisStoppedMidConversation(t *testing.T) {
	rs := startRedisServer(t)
	rdb, closeFn, err := redis.Connect(fmt.Sprintf("redis://127.0.0.1:%d/0", rs.port))
	if err != nil {
		t.Fatal(err)
	}
	defer closeFn()
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	data, _ := demo.Default(now)
	be := bot.Backends{Shop: data, Writer: data, Records: redis.NewRecords(rdb, "", 0)}
	eng, err := bot.NewEngine(bot.DefaultConfig(), be)
	if err != nil {
		t.Fatal(err)
	}
	rec := console.NewRecorder("t")
	svc := bot.NewService(bot.Options{Engine: eng, Store: redis.NewStore(rdb, redis.Options{}), Backends: be, Now: func() time.Time { return now }})
	svc.AddChannel(rec)
	ctx := context.Background()
	say := func(id, text string) (string, error) {
		err := svc.Handle(ctx, bot.Message{Conversation: "t:1", ID: id, Input: dialog.Input{Text: text, LangHint: "fr"}})
		var b strings.Builder
		for _, r := range rec.Take("1") {
			b.WriteString(r.Text + "\n")
		}
		return b.String(), err
	}
	if got, err := say("u1", "où est mon colis 403-1001111-4007777"); err != nil || !strings.Contains(got, "code postal") {
		t.Fatalf("before the outage: %q %v", got, err)
	}
	rs.stop()
	got, err := say("u2", "75011")
	if err == nil || !strings.Contains(got, "Je n’arrive pas à joindre nos systèmes") {
		t.Fatalf("during the outage: %q %v", got, err)
	}
	rs.start()
	// the channel delivers the message again; the conversation goes on
	deadline := time.Now().Add(5 * time.Second)
	for {
		got, err = say("u2", "75011")
		if err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil || !strings.Contains(got, "Commande 403-1001111-4007777 : en route.") {
		t.Fatalf("after the restart: %q %v", got, err)
	}
}
