package slack

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"
	"github.com/slack-go/slack/socketmode"

	"github.com/parcelbot/parcelbot/bot"
	"github.com/parcelbot/parcelbot/dialog"
	"github.com/parcelbot/parcelbot/domain"
)

// once claims key for handling; done(true) marks it handled for a day,
// done(false) releases it so that Slack's retry is handled. A key being
// handled or handled already returns ok false.
func (d *Desk) once(ctx context.Context, key string) (done func(bool), ok bool, err error) {
	k := d.key("seen", key)
	ok, err = d.rdb.SetNX(ctx, k, "handling", time.Minute).Result()
	if err != nil || !ok {
		return nil, false, err
	}
	return func(success bool) {
		c := context.WithoutCancel(ctx)
		if success {
			d.rdb.Set(c, k, "done", 24*time.Hour)
		} else {
			d.rdb.Del(c, k)
		}
	}, true, nil
}

// isAgent reports whether user may act on cases: a member of the user group
// when one is configured, else of the escalation channel (cached a minute).
func (d *Desk) isAgent(ctx context.Context, user string) (bool, error) {
	d.memMu.Lock()
	defer d.memMu.Unlock()
	if d.members == nil || time.Since(d.membersAt) > time.Minute {
		members := map[string]bool{}
		if d.cfg.UserGroup != "" {
			ids, err := d.api.GetUserGroupMembersContext(ctx, d.cfg.UserGroup)
			if err != nil {
				return false, fmt.Errorf("user group members: %w", err)
			}
			for _, id := range ids {
				members[id] = true
			}
		} else {
			cursor := ""
			for {
				ids, next, err := d.api.GetUsersInConversationContext(ctx, &slack.GetUsersInConversationParameters{ChannelID: d.cfg.Channel, Cursor: cursor, Limit: 1000})
				if err != nil {
					return false, fmt.Errorf("channel members: %w", err)
				}
				for _, id := range ids {
					members[id] = true
				}
				if next == "" {
					break
				}
				cursor = next
			}
		}
		d.members, d.membersAt = members, time.Now()
	}
	return d.members[user], nil
}

// notice tells one agent something only they see, in their language.
func (d *Desk) notice(ctx context.Context, user, key string, kv ...string) {
	text := d.t(d.langOf(ctx, user), key, kv...)
	if _, err := d.api.PostEphemeralContext(ctx, d.cfg.Channel, user, slack.MsgOptionText(text, false)); err != nil {
		d.log.Warn("ephemeral message failed", "user", user, "err", err)
	}
}

// handleMessage relays an agent's reply in a case thread to the customer.
func (d *Desk) handleMessage(ctx context.Context, eventID string, ev *slackevents.MessageEvent) error {
	if ev.Channel != d.cfg.Channel || ev.SubType != "" || ev.BotID != "" || ev.User == "" ||
		(d.botUser != "" && ev.User == d.botUser) || ev.ThreadTimeStamp == "" || ev.ThreadTimeStamp == ev.TimeStamp {
		return nil // not an agent's reply in a thread
	}
	caseID, err := d.rdb.Get(ctx, d.key("thread", ev.ThreadTimeStamp)).Result()
	if errors.Is(err, goredis.Nil) {
		return nil // a thread that is not a case
	}
	if err != nil {
		return err
	}
	done, ok, err := d.once(ctx, "event:"+eventID)
	if err != nil || !ok {
		return err
	}
	err = d.reply(ctx, eventID, caseID, ev)
	done(err == nil)
	return err
}

func (d *Desk) reply(ctx context.Context, eventID, caseID string, ev *slackevents.MessageEvent) error {
	member, err := d.isAgent(ctx, ev.User)
	if err != nil {
		return err
	}
	if !member {
		d.notice(ctx, ev.User, "notice.not_agent_reply")
		return nil
	}
	cs, err := d.records.Case(ctx, caseID)
	if err != nil {
		return err
	}
	if cs.Status == domain.CaseResolved || cs.Status == domain.CaseClosed {
		d.notice(ctx, ev.User, "notice.closed", "case", caseID)
		return nil
	}
	return d.agent.Agent(ctx, bot.AgentAction{ID: "slack:" + eventID, Case: caseID, Agent: ev.User, Kind: dialog.AgentReply, Text: ev.Text})
}

// handleAction applies a card button.
func (d *Desk) handleAction(ctx context.Context, cb *slack.InteractionCallback) error {
	if cb.Type != slack.InteractionTypeBlockActions {
		return nil
	}
	for _, a := range cb.ActionCallback.BlockActions {
		kind, how := "", domain.ResolveNone
		switch a.ActionID {
		case actClaim:
			kind = dialog.AgentClaim
		case actRefund:
			kind, how = dialog.AgentResolve, domain.ResolveRefund
		case actReplacement:
			kind, how = dialog.AgentResolve, domain.ResolveReplacement
		case actResolve:
			kind, how = dialog.AgentResolve, domain.ResolveAnswered
		case actHandBack:
			kind = dialog.AgentHandBack
		default:
			continue
		}
		done, ok, err := d.once(ctx, "action:"+cb.User.ID+":"+a.ActionTs+":"+a.ActionID)
		if err != nil {
			return err
		}
		if !ok {
			continue
		}
		err = d.act(ctx, cb.User.ID, cb.User.Name, a, kind, how)
		done(err == nil)
		if err != nil {
			return err
		}
	}
	return nil
}

func (d *Desk) act(ctx context.Context, user, name string, a *slack.BlockAction, kind string, how domain.Resolution) error {
	member, err := d.isAgent(ctx, user)
	if err != nil {
		return err
	}
	if !member {
		d.notice(ctx, user, "notice.not_agent_act")
		return nil
	}
	caseID := a.Value
	err = d.agent.Agent(ctx, bot.AgentAction{ID: "slack:" + a.ActionTs + ":" + a.ActionID, Case: caseID, Agent: user, Name: name, Kind: kind, How: how})
	switch domain.ErrorCode(err) {
	case domain.ENOTFOUND:
		d.notice(ctx, user, "notice.no_case")
		return nil
	case domain.EINVALID:
		d.notice(ctx, user, "notice.no_order")
		return nil
	}
	if err != nil {
		return err
	}
	who := "<@" + user + ">"
	note := map[string]string{
		dialog.AgentClaim: d.tt("note.claimed", "who", who), dialog.AgentHandBack: d.tt("note.handed_back", "who", who),
	}[kind]
	if kind == dialog.AgentResolve {
		note = d.tt("note.resolved", "who", who, "how", string(how))
	}
	if err := d.out.add(ctx, "note", caseID, note); err != nil {
		return err
	}
	return d.out.add(ctx, "update", caseID, "")
}

// EventsHandler serves /slack/events: signed requests only, the URL
// verification challenge answered, each event handled once.
func (d *Desk) EventsHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, ok := d.verified(w, r)
		if !ok {
			return
		}
		ev, err := slackevents.ParseEvent(json.RawMessage(body), slackevents.OptionNoVerifyToken())
		if err != nil {
			http.Error(w, "bad event", http.StatusBadRequest)
			return
		}
		switch ev.Type {
		case slackevents.URLVerification:
			var ch slackevents.ChallengeResponse
			if err := json.Unmarshal(body, &ch); err != nil {
				http.Error(w, "bad challenge", http.StatusBadRequest)
				return
			}
			w.Header().Set("Content-Type", "text/plain")
			_, _ = io.WriteString(w, ch.Challenge)
			return
		case slackevents.CallbackEvent:
			if err := d.dispatchEvent(r.Context(), &ev); err != nil {
				d.log.Warn("event not handled; Slack will retry", "err", err)
				http.Error(w, "try again", http.StatusInternalServerError)
				return
			}
		}
		w.WriteHeader(http.StatusOK)
	})
}

func (d *Desk) dispatchEvent(ctx context.Context, ev *slackevents.EventsAPIEvent) error {
	cb, _ := ev.Data.(*slackevents.EventsAPICallbackEvent)
	if home, ok := ev.InnerEvent.Data.(*slackevents.AppHomeOpenedEvent); ok {
		if home.Tab != "" && home.Tab != "home" {
			return nil
		}
		return d.homeOpened(ctx, home.User)
	}
	msg, ok := ev.InnerEvent.Data.(*slackevents.MessageEvent)
	if cb == nil || !ok || d.agent == nil {
		return nil
	}
	return d.handleMessage(ctx, cb.EventID, msg)
}

// InteractivityHandler serves /slack/interactivity (button presses).
func (d *Desk) InteractivityHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, ok := d.verified(w, r)
		if !ok {
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		if err := r.ParseForm(); err != nil {
			http.Error(w, "bad form", http.StatusBadRequest)
			return
		}
		var cb slack.InteractionCallback
		if err := json.Unmarshal([]byte(r.PostForm.Get("payload")), &cb); err != nil {
			http.Error(w, "bad payload", http.StatusBadRequest)
			return
		}
		if d.agent == nil {
			http.Error(w, "not ready", http.StatusServiceUnavailable)
			return
		}
		if err := d.handleAction(r.Context(), &cb); err != nil {
			d.log.Warn("action not handled", "err", err)
			http.Error(w, "try again", http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusOK)
	})
}

// verified reads the body and checks Slack's signature and timestamp
// (5-minute window); it answers 401 itself when they are wrong.
func (d *Desk) verified(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	if r.Method != http.MethodPost {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return nil, false
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		http.Error(w, "bad body", http.StatusBadRequest)
		return nil, false
	}
	if d.cfg.SigningSecret == "" {
		http.Error(w, "HTTP events are off (no signing secret)", http.StatusUnauthorized)
		return nil, false
	}
	sv, err := slack.NewSecretsVerifier(r.Header, d.cfg.SigningSecret)
	if err == nil {
		_, _ = sv.Write(body)
		err = sv.Ensure()
	}
	if err != nil {
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return nil, false
	}
	return body, true
}

// RunSocketMode receives events and actions over Socket Mode until ctx
// ends; each is acknowledged after it is handled.
func (d *Desk) RunSocketMode(ctx context.Context) error {
	client := socketmode.New(d.api)
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case evt, ok := <-client.Events:
				if !ok {
					return
				}
				d.socketEvent(ctx, client, evt)
			}
		}
	}()
	for ctx.Err() == nil {
		err := client.RunContext(ctx) // returns only when the connection ends
		if ctx.Err() != nil {
			break
		}
		d.log.Warn("socket mode connection ended; reconnecting", "err", err)
		sleep(ctx, 2*time.Second)
	}
	return nil
}

func (d *Desk) socketEvent(ctx context.Context, client *socketmode.Client, evt socketmode.Event) {
	var err error
	switch evt.Type {
	case socketmode.EventTypeEventsAPI:
		if ev, ok := evt.Data.(slackevents.EventsAPIEvent); ok {
			err = d.dispatchEvent(ctx, &ev)
		}
	case socketmode.EventTypeInteractive:
		if cb, ok := evt.Data.(slack.InteractionCallback); ok && d.agent != nil {
			err = d.handleAction(ctx, &cb)
		}
	default:
		return
	}
	if err != nil {
		d.log.Warn("socket mode event not handled; not acknowledged, Slack will retry", "err", err)
		return
	}
	if evt.Request != nil {
		if aerr := client.Ack(*evt.Request); aerr != nil {
			d.log.Warn("socket mode ack failed", "err", aerr)
		}
	}
}
