package slack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"github.com/slack-go/slack"

	"github.com/parcelbot/parcelbot/bot"
	"github.com/parcelbot/parcelbot/domain"
)

// The App Home tab is the agents' queue: the open cases, oldest first,
// with who claimed each and how long it has waited against the SLA, and
// buttons to open its thread and to claim it. Each agent sees it in their
// own Slack language. It is published when an agent opens the tab and
// again, for everyone who has opened it, whenever a case changes.
//
// Redis (one key a command): <prefix>slack:open (sorted set: open case →
// escalation time), <prefix>slack:home (set: agents who opened the tab).

// homeMax is how many cases the tab lists (Slack allows 100 blocks).
const homeMax = 30

// markOpen puts a case in the queue and refreshes the tabs.
func (d *Desk) markOpen(ctx context.Context, caseID string, at time.Time) error {
	if err := d.rdb.ZAddNX(ctx, d.key("open"), goredis.Z{Score: float64(at.Unix()), Member: caseID}).Err(); err != nil {
		return err
	}
	return d.out.add(ctx, "home", "", "")
}

// markClosed takes a case out of the queue and refreshes the tabs.
func (d *Desk) markClosed(ctx context.Context, caseID string) error {
	n, err := d.rdb.ZRem(ctx, d.key("open"), caseID).Result()
	if err != nil || n == 0 {
		return err
	}
	return d.out.add(ctx, "home", "", "")
}

// homeOpened remembers an agent who opened the tab, for later refreshes,
// and has the tab published for them. Every publish goes through the
// outbox, in order, and renders the queue when it is sent: published from
// here, a view rendered before a case opened could reach Slack after the
// refresh that showed the case, and stay (seen in
// TestAppHomeQueueInTheAgentsLanguage on a busy machine).
func (d *Desk) homeOpened(ctx context.Context, user string) error {
	if err := d.rdb.SAdd(ctx, d.key("home"), user).Err(); err != nil {
		return err
	}
	return d.out.add(ctx, "home", "", user)
}

// refreshHomes publishes the tab again for every agent who opened it; the
// queue is read and rendered once per language and kind of reader, not
// once per agent.
func (d *Desk) refreshHomes(ctx context.Context) error {
	users, err := d.rdb.SMembers(ctx, d.key("home")).Result()
	if err != nil {
		return err
	}
	type reader struct {
		lang   string
		member bool
	}
	rendered := map[reader][]slack.Block{}
	for _, u := range users {
		member, err := d.isAgent(ctx, u)
		if err != nil {
			return err
		}
		r := reader{d.langOf(ctx, u), member}
		if rendered[r] == nil {
			if rendered[r], err = d.homeBlocks(ctx, r.lang, r.member); err != nil {
				return err
			}
		}
		if err := d.publishView(ctx, u, rendered[r]); err != nil {
			return err
		}
	}
	return nil
}

// publishHome renders the queue for one agent, in their language.
func (d *Desk) publishHome(ctx context.Context, user string) error {
	member, err := d.isAgent(ctx, user)
	if err != nil {
		return err
	}
	blocks, err := d.homeBlocks(ctx, d.langOf(ctx, user), member)
	if err != nil {
		return err
	}
	return d.publishView(ctx, user, blocks)
}

func (d *Desk) publishView(ctx context.Context, user string, blocks []slack.Block) error {
	_, err := d.api.PublishViewContext(ctx, slack.PublishViewContextRequest{UserID: user, View: slack.HomeTabViewRequest{Type: slack.VTHomeTab, Blocks: slack.Blocks{BlockSet: blocks}}})
	if err != nil {
		return fmt.Errorf("publish app home for %s: %w", user, err)
	}
	return nil
}

func (d *Desk) homeBlocks(ctx context.Context, lang string, member bool) ([]slack.Block, error) {
	now := d.cfg.Now()
	text := func(s string) *slack.TextBlockObject {
		return slack.NewTextBlockObject(slack.MarkdownType, s, false, false)
	}
	blocks := []slack.Block{
		slack.NewHeaderBlock(slack.NewTextBlockObject(slack.PlainTextType, d.t(lang, "home.title"), false, false)),
		slack.NewContextBlock("", text(d.t(lang, "home.intro", "sla", strconv.Itoa(int(d.cfg.SLA/time.Minute))))),
	}
	open, err := d.rdb.ZRangeWithScores(ctx, d.key("open"), 0, homeMax-1).Result()
	if err != nil {
		return nil, err
	}
	if len(open) == 0 {
		blocks = append(blocks, slack.NewSectionBlock(text(d.t(lang, "home.empty")), nil, nil))
	}
	for _, z := range open {
		caseID, _ := z.Member.(string)
		cs, err := d.records.Case(ctx, caseID)
		if domain.ErrorCode(err) == domain.ENOTFOUND {
			continue
		}
		if err != nil {
			return nil, err
		}
		ref, ok, err := d.card(ctx, caseID)
		if err != nil {
			return nil, err
		}
		var e bot.Escalation
		if ok {
			_ = json.Unmarshal([]byte(ref.Esc), &e)
		}
		since := time.Unix(int64(z.Score), 0)
		mins := strconv.Itoa(int(now.Sub(since) / time.Minute))
		line := d.t(lang, "home.line_no_order", "case", caseID, "journey", e.Journey, "lang", e.Lang)
		if e.Order != "" {
			line = d.t(lang, "home.line", "case", caseID, "journey", e.Journey, "lang", e.Lang, "order", e.Order)
		}
		var state string
		claimed := cs.Status == domain.CaseWithAgent
		if claimed {
			state = d.t(lang, "home.claimed", "who", d.lastWho(cs, "claim"), "minutes", mins)
		} else {
			state = d.t(lang, "home.waiting", "minutes", mins)
			if now.Sub(since) > d.cfg.SLA {
				state += " · " + d.t(lang, "home.over_sla")
			}
		}
		blocks = append(blocks, slack.NewDividerBlock(), slack.NewSectionBlock(text(line+"\n"+state), nil, nil))
		var acts []slack.BlockElement
		if ref.Link != "" {
			b := slack.NewButtonBlockElement("open_thread", caseID, slack.NewTextBlockObject(slack.PlainTextType, d.t(lang, "button.open_thread"), false, false))
			b.URL = ref.Link
			acts = append(acts, b)
		}
		if !claimed && member {
			b := slack.NewButtonBlockElement(actClaim, caseID, slack.NewTextBlockObject(slack.PlainTextType, d.t(lang, "button.claim"), false, false))
			b.Style = slack.StylePrimary
			acts = append(acts, b)
		}
		if len(acts) > 0 {
			blocks = append(blocks, slack.NewActionBlock("home_"+caseID, acts...))
		}
	}
	blocks = append(blocks, slack.NewContextBlock("", text(d.t(lang, "home.updated", "time", now.UTC().Format("15:04")))))
	return blocks, nil
}

// permalink keeps a link to the card for the tab's "Open thread".
func (d *Desk) permalink(ctx context.Context, caseID string, ref cardRef) {
	link, err := d.api.GetPermalinkContext(ctx, &slack.PermalinkParameters{Channel: ref.Channel, Ts: ref.TS})
	if err != nil || link == "" {
		d.log.Warn("no permalink for a card", "case", caseID, "err", err)
		return
	}
	if err := d.rdb.HSet(ctx, d.key("card", caseID), "link", link).Err(); err != nil && !errors.Is(err, context.Canceled) {
		d.log.Warn("permalink not kept", "case", caseID, "err", err)
	}
}
