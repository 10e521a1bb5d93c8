package bot

import (
	"context"
	"fmt"
	"strconv"

	"github.com/parcelbot/parcelbot/dialog"
	"github.com/parcelbot/parcelbot/domain"
)

// eventFacts prepares the message of a shop event (dialog/flows/notify.yaml)
// for the linked owner of the order: the chat has full access to it, and the
// outcome picks the next step. An order that is no longer this chat's
// customer's (unlinked since the event was queued) says nothing.
func (j *journeys) eventFacts(ctx context.Context, c *dialog.Call) (dialog.Outcome, error) {
	o, err := j.loadOrder(ctx, c, c.Slot("order"))
	if domain.ErrorCode(err) == domain.ENOTFOUND {
		return outGone, nil
	}
	if err != nil {
		return "", fmt.Errorf("event: load order: %w", err)
	}
	if c.State.Customer == "" || o.CustomerID != c.State.Customer {
		return outGone, nil
	}
	ev := domain.EventType(c.Arg("event"))
	c.SetSlot("access", "full")
	c.SetSlot("event", string(ev))
	c.Var("order", o.Number)
	journey := "track"
	defer func() { c.SetSlot("journey", journey) }()
	switch ev {
	case domain.EventDelayed:
		return outDelayed, nil
	case domain.EventException:
		return outException, nil
	case domain.EventDelivered:
		return outDelivered, nil
	case domain.EventOutForDelivery:
		if domain.PasswordStatus(o, c.Now) == domain.PasswordValid {
			journey = "password"
			return outOutPassword, nil
		}
		return outOut, nil
	case domain.EventReadyInLocker, domain.EventLockerDefect:
		journey = "locker"
		if _, l, err := j.orderLocker(ctx, c); err != nil {
			return "", err
		} else if l == nil {
			c.Var("locker", "")
		}
		c.Var("days", strconv.Itoa(domain.LockerHoldDays))
		if ev == domain.EventLockerDefect {
			return outDefect, nil
		}
		return outReady, nil
	}
	return outGone, nil
}

// notifyStatus tells whether the linked customer gets order news.
func (j *journeys) notifyStatus(ctx context.Context, c *dialog.Call) (dialog.Outcome, error) {
	if c.State.Customer == "" {
		return outNotLinked, nil
	}
	ct, err := j.Records.Contact(ctx, c.State.Customer)
	if err != nil {
		return "", err
	}
	switch ct.Notify {
	case NotifyOn:
		return outOn, nil
	case NotifyOff:
		return outOff, nil
	}
	return outUnset, nil
}

// setNotify stores the customer's choice about order news.
func (j *journeys) setNotify(ctx context.Context, c *dialog.Call) (dialog.Outcome, error) {
	if c.State.Customer == "" {
		return outNotLinked, nil
	}
	v := NotifyOn
	if c.Slot("notify") == NotifyOff {
		v = NotifyOff
	}
	if err := j.Records.SetContact(ctx, c.State.Customer, Contact{Notify: v}); err != nil {
		return "", err
	}
	return dialog.Outcome(v), nil
}
