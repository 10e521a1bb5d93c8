package bot

import (
	"cmp"
	"context"
	"fmt"
	"strings"

	"github.com/parcelbot/parcelbot/dialog"
	"github.com/parcelbot/parcelbot/domain"
)

// damagedCheck: only a delivered parcel can have arrived damaged.
func (j *journeys) damagedCheck(ctx context.Context, c *dialog.Call) (dialog.Outcome, error) {
	o, err := j.order(ctx, c)
	if err != nil {
		return "", err
	}
	c.Var("order", o.Number)
	if o.Shipment.Status != domain.Delivered {
		return outNotDelivered, nil
	}
	return outDelivered, nil
}

// damageRoute decides between a claim (refund or replacement under the
// missing-parcel policy) and a record for the carrier: only the box hurt
// or the parcel wet, with a content the customer can still use, needs no
// claim. Opened parcels (something may be missing) and broken content are
// claims.
func (j *journeys) damageRoute(_ context.Context, c *dialog.Call) (dialog.Outcome, error) {
	switch d := c.Slot("damage"); {
	case c.Slot("usable") == "yes" && (d == "box" || d == "wet"):
		return outNoted, nil
	}
	return outClaim, nil
}

// damageDetails puts what the customer told about the damage on a case.
func damageDetails(c *dialog.Call, cs *domain.Case) {
	cs.Damage = c.Slot("damage")
	cs.Photos = strings.Fields(c.Slot("photos"))
	usable := "content usable: " + c.Slot("usable")
	cs.Notes = append(cs.Notes, domain.CaseEvent{At: c.Now, Who: "customer",
		What: fmt.Sprintf("damage: %s; %s; %d photos", cmp.Or(cs.Damage, "not said"), usable, len(cs.Photos))})
}

// reportDamage records damage that needs no claim: a case for the
// carrier with the photos, resolved at once (the journey resolved it, so
// the closing question follows).
func (j *journeys) reportDamage(ctx context.Context, c *dialog.Call) (dialog.Outcome, error) {
	o, err := j.order(ctx, c)
	if err != nil {
		return "", err
	}
	id := domain.CaseID(o.Number + "|damage")
	c.Var("case", id)
	c.Var("order", o.Number)
	c.SetSlot("case", id)
	_, err = UpdateCase(ctx, j.Records, id, func(old *domain.Case) (*domain.Case, error) {
		if old != nil {
			return nil, nil // a re-run of this turn, or reported before
		}
		cs := &domain.Case{ID: id, Kind: domain.CaseDamaged, Status: domain.CaseResolved, Resolution: domain.ResolveAnswered,
			Order: o.Number, CustomerID: o.CustomerID, Conversation: c.Conversation(), Lang: c.Lang(), Created: c.Now, Updated: c.Now}
		damageDetails(c, cs)
		cs.Notes = append(cs.Notes, domain.CaseEvent{At: c.Now, Who: "bot", What: "damage recorded for the carrier; content usable, no claim"})
		return cs, nil
	})
	if err != nil {
		return "", fmt.Errorf("report damage %s: %w", id, err)
	}
	return outOk, nil
}
