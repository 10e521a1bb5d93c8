package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/alicebob/miniredis/v2"
	goredis "github.com/redis/go-redis/v9"

	"github.com/parcelbot/parcelbot/adapters/console"
	"github.com/parcelbot/parcelbot/adapters/demo"
	"github.com/parcelbot/parcelbot/adapters/shopapi"
	"github.com/parcelbot/parcelbot/adapters/shopapi/shopapitest"
	"github.com/parcelbot/parcelbot/bot"
	"github.com/parcelbot/parcelbot/dialog"
	"github.com/parcelbot/parcelbot/domain"
)

// test runs conversation tests: every *.convo.txt under the given paths.
func (a *app) test(ctx context.Context, args []string) int {
	fl := flag.NewFlagSet("test", flag.ContinueOnError)
	fl.SetOutput(a.stderr)
	verbose := fl.Bool("v", false, "print every test, not only failures")
	record := fl.Bool("record", false, "run each file's #me and #agent sections and rewrite its #bot sections with what the bot answered")
	if err := fl.Parse(args); err != nil {
		return 2
	}
	paths := fl.Args()
	if len(paths) == 0 {
		fmt.Fprintln(a.stderr, "usage: parcelbot test [-v] [-record] PATH... (convo files or directories)")
		return 2
	}
	files, err := findConvos(paths)
	if err != nil {
		fmt.Fprintf(a.stderr, "parcelbot test: %v\n", err)
		return 2
	}
	if *record {
		for _, f := range files {
			if err := a.recordConvoFile(ctx, f); err != nil {
				fmt.Fprintf(a.stderr, "parcelbot test -record: %v\n", err)
				return 1
			}
			fmt.Fprintf(a.stdout, "recorded %s\n", f)
		}
		return 0
	}
	passed, failed := 0, 0
	for _, f := range files {
		name, err := a.runConvoFile(ctx, f)
		switch {
		case err == nil:
			passed++
			if *verbose {
				fmt.Fprintf(a.stdout, "PASS %s (%s)\n", f, name)
			}
		default:
			failed++
			fmt.Fprintf(a.stdout, "FAIL %s (%s)\n%v\n", f, name, err)
		}
	}
	fmt.Fprintf(a.stdout, "convo: %d passed, %d failed\n", passed, failed)
	if failed > 0 {
		return 1
	}
	return 0
}

// findConvos expands files and directories into *.convo.txt files, sorted.
func findConvos(paths []string) ([]string, error) {
	var out []string
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			return nil, err
		}
		if !st.IsDir() {
			out = append(out, p)
			continue
		}
		err = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if !d.IsDir() && strings.HasSuffix(path, ".convo.txt") {
				out = append(out, path)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	if len(out) == 0 {
		return nil, dialog.ErrNoConvos
	}
	sort.Strings(out)
	return out, nil
}

// recordConvoFile rewrites a convo file's #bot sections from a run.
func (a *app) recordConvoFile(ctx context.Context, path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	c, err := dialog.ParseConvoBytes(path, b)
	if err != nil {
		return err
	}
	out, err := dialog.RecordConvo(c, dialog.ConvoHeader(b), a.convoDriver(ctx))
	if err != nil {
		return err
	}
	return os.WriteFile(path, []byte(out), 0o644)
}

func (a *app) runConvoFile(ctx context.Context, path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	c, err := dialog.ParseConvoBytes(path, b)
	if err != nil {
		return "", err
	}
	return c.Name, dialog.RunConvo(c, a.convoDriver(ctx))
}

// convoDriver runs each convo through the real service: its own in-process
// Redis, the demo (or DATA) file anchored at NOW, a recording channel and a
// recording agent desk, and a clock that moves a second per message.
func (a *app) convoDriver(ctx context.Context) dialog.ConvoDriver {
	return func(c *dialog.Convo) (dialog.ConvoSession, error) {
		now := c.Settings.Now
		if now.IsZero() {
			now = time.Now()
		}
		dataPath := ""
		if c.Settings.Data != "" {
			dataPath = c.Settings.Data
			if !filepath.IsAbs(dataPath) {
				dataPath = filepath.Join(filepath.Dir(c.File), dataPath)
			}
		}
		data, err := a.loadData(dataPath, now)
		if err != nil {
			return nil, err
		}
		a := a
		var mr *miniredis.Miniredis
		var rdb goredis.UniversalClient
		if a.convoRedis != nil {
			// a shared real Redis (the cluster tests): a key prefix of the
			// convo's own keeps convos apart
			cp := *a
			cp.env.RedisPrefix = fmt.Sprintf("%sconvo:%d:", a.env.RedisPrefix, convoN.Add(1))
			a, rdb = &cp, a.convoRedis
		} else {
			mr = miniredis.NewMiniRedis()
			if err := mr.Start(); err != nil {
				return nil, err
			}
			rdb = goredis.NewClient(&goredis.Options{Addr: mr.Addr()})
		}
		be := a.backends(data, rdb)
		var closeShop func()
		if a.viaShopAPI {
			fake := shopapitest.New(data, "convo-token")
			c, err := shopapi.New(shopapi.Config{URL: fake.URL, Token: "convo-token"})
			if err != nil {
				fake.Close()
				s := &convoSession{mr: mr, rdb: rdb, shared: a.convoRedis != nil}
				s.Close()
				return nil, err
			}
			be.Shop, be.Writer, closeShop = c, c, fake.Close
		}
		// strict: an action that uses a slot the manifest does not declare
		// for it fails the test
		eng, err := a.strictEngine(be)
		if err != nil {
			(&convoSession{mr: mr, rdb: rdb, shared: a.convoRedis != nil}).Close()
			return nil, err
		}
		s := &convoSession{ctx: ctx, rec: console.NewRecorder("test"), mr: mr, rdb: rdb, shared: a.convoRedis != nil, now: now, customer: c.Settings.Customer, data: data, closeShop: closeShop}
		s.desk = &recordingDesk{}
		s.svc = bot.NewService(bot.Options{
			Engine:   eng,
			Store:    a.store(rdb),
			Desk:     s.desk,
			Backends: be,
			Logger:   a.logger(),
			Now:      s.clock,
		})
		s.svc.AddChannel(s.rec)
		return s, nil
	}
}

// convoN numbers convos run on a shared Redis, for their key prefixes.
var convoN atomic.Int64

type convoSession struct {
	ctx       context.Context
	svc       *bot.Service
	rec       *console.Recorder
	desk      *recordingDesk
	mr        *miniredis.Miniredis
	rdb       goredis.UniversalClient
	shared    bool // rdb is the app's, not the convo's own
	mu        sync.Mutex
	now       time.Time
	n         int
	customer  string
	data      *demo.Data
	closeShop func()
}

const convoChat = "1"

func (s *convoSession) clock() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.now
}

func (s *convoSession) Send(in dialog.Input) ([]dialog.Reply, error) {
	s.mu.Lock()
	s.n++
	s.now = s.now.Add(time.Second)
	id := "m" + strconv.Itoa(s.n)
	s.mu.Unlock()
	err := s.svc.Handle(s.ctx, bot.Message{Conversation: "test:" + convoChat, ID: id, Input: in, LinkCustomer: s.customer})
	return s.rec.Take(convoChat), err
}

// Agent plays the agent of the conversation's latest escalated case.
func (s *convoSession) Agent(command, arg string) ([]dialog.Reply, error) {
	caseID := s.desk.lastCase()
	if caseID == "" {
		return nil, errors.New("no case has been escalated to an agent")
	}
	s.mu.Lock()
	s.n++
	s.now = s.now.Add(time.Second)
	id := "a" + strconv.Itoa(s.n)
	s.mu.Unlock()
	act := bot.AgentAction{ID: id, Case: caseID, Agent: "U-AGENT", Name: "Alex"}
	switch command {
	case "CLAIM":
		act.Kind = dialog.AgentClaim
	case "REPLY":
		act.Kind, act.Text = dialog.AgentReply, arg
	case "HANDBACK":
		act.Kind = dialog.AgentHandBack
	case "RESOLVE":
		act.Kind, act.How = dialog.AgentResolve, domain.Resolution(strings.ToLower(arg))
	}
	err := s.svc.Agent(s.ctx, act)
	return s.rec.Take(convoChat), err
}

// Event tells a shop event ("delayed 302-… [2026-12-08]") in the
// conversation as the order's customer gets it (bot.Service.Simulate).
func (s *convoSession) Event(name, arg string) ([]dialog.Reply, error) {
	order, expected, _ := strings.Cut(arg, " ")
	s.mu.Lock()
	s.n++
	s.now = s.now.Add(time.Second)
	ev := domain.ShopEvent{ID: "e" + strconv.Itoa(s.n), Type: domain.EventType(name), Order: order, At: s.now}
	s.mu.Unlock()
	if expected = strings.TrimSpace(expected); expected != "" {
		d, err := time.Parse(time.DateOnly, expected)
		if err != nil {
			return nil, fmt.Errorf("event %s: the expected day %q is not 2026-12-08", name, expected)
		}
		ev.Expected = d
	}
	err := s.svc.Simulate(s.ctx, "test:"+convoChat, ev)
	return s.rec.Take(convoChat), err
}

func (s *convoSession) Close() {
	if !s.shared {
		s.rdb.Close()
	}
	if s.mr != nil {
		s.mr.Close()
	}
	if s.closeShop != nil {
		s.closeShop()
	}
}

// recordingDesk keeps escalations and relayed messages.
type recordingDesk struct {
	mu          sync.Mutex
	escalations []bot.Escalation
	relayed     []string
}

func (d *recordingDesk) Escalate(_ context.Context, e bot.Escalation) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.escalations = append(d.escalations, e)
	return nil
}

func (d *recordingDesk) lastCase() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.escalations) == 0 {
		return ""
	}
	return d.escalations[len(d.escalations)-1].Case
}

func (d *recordingDesk) Relay(_ context.Context, caseID, text string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.relayed = append(d.relayed, caseID+": "+text)
	return nil
}
