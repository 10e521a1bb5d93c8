package bot

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/parcelbot/parcelbot/dialog"
	"github.com/parcelbot/parcelbot/domain"
)

// The journey "change the delivery address or redeliver"
// (dialog/flows/change.yaml): before dispatch the account's owner may give
// a new address; once the parcel is on its way, anyone who identified the
// order picks a redelivery day; after delivery nothing changes.

// redeliveryChoices is how many days a customer chooses from.
const redeliveryChoices = 3

// changeCheck says what can be changed about the identified order.
func (j *journeys) changeCheck(ctx context.Context, c *dialog.Call) (dialog.Outcome, error) {
	o, err := j.order(ctx, c)
	if err != nil {
		return "", err
	}
	c.Var("order", o.Number)
	switch domain.ChangeFor(o) {
	case domain.ChangeAddress:
		if !full(c) {
			// a new address is the account owner's decision
			return outNotLinked, nil
		}
		return outAddress, nil
	case domain.ChangeDay:
		for _, d := range domain.RedeliveryDays(o, c.Now, redeliveryChoices) {
			c.Choice(c.TWith("change.day_option", "day", dialog.DateValue(d)), d.Format(time.DateOnly))
		}
		return outDay, nil
	}
	return outDone, nil
}

// changeAddress asks the shop to deliver to the new address the customer
// confirmed; the same address for the same order is asked for once.
func (j *journeys) changeAddress(ctx context.Context, c *dialog.Call) (dialog.Outcome, error) {
	o, err := j.order(ctx, c)
	if err != nil {
		return "", err
	}
	addr := c.Slot("address")
	c.Var("order", o.Number)
	c.Var("address", addr)
	if !full(c) || domain.ChangeFor(o) != domain.ChangeAddress {
		return outTooLate, nil
	}
	sum := sha256.Sum256([]byte(addr))
	key := "address:" + o.Number + ":" + hex.EncodeToString(sum[:8])
	switch err := j.Writer.ChangeDelivery(ctx, o.Number, domain.DeliveryChange{Address: addr}, key); {
	case domain.ErrorCode(err) == domain.ECONFLICT:
		return outTooLate, nil
	case err != nil:
		return "", fmt.Errorf("change address: %w", err)
	}
	return outOk, nil
}

// redeliver asks the shop to deliver on the day the customer picked.
func (j *journeys) redeliver(ctx context.Context, c *dialog.Call) (dialog.Outcome, error) {
	o, err := j.order(ctx, c)
	if err != nil {
		return "", err
	}
	c.Var("order", o.Number)
	day, err := time.ParseInLocation(time.DateOnly, c.Slot("day"), o.Address.Location())
	if err != nil || domain.ChangeFor(o) != domain.ChangeDay {
		return outTooLate, nil
	}
	c.Var("day", dialog.DateValue(day))
	key := "redeliver:" + o.Number + ":" + c.Slot("day")
	switch err := j.Writer.ChangeDelivery(ctx, o.Number, domain.DeliveryChange{Day: day}, key); {
	case domain.ErrorCode(err) == domain.ECONFLICT:
		return outTooLate, nil
	case err != nil:
		return "", fmt.Errorf("redeliver: %w", err)
	}
	return outOk, nil
}
