package bot

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/parcelbot/parcelbot/dialog"
	"github.com/parcelbot/parcelbot/domain"
	"github.com/parcelbot/parcelbot/locales"
)

// Effects the journeys emit for the service.
const (
	effectEscalate = "escalate"
	effectForget   = "forget"
)

// Config is the shop's configuration of the journeys.
type Config struct {
	ShopName     string
	OrderFormat  string // e.g. "NNN-NNNNNNN-NNNNNNN"
	Policy       domain.Policy
	LinkSecret   []byte                         // shared with the shop's website, signs deep-link tokens
	SupportHours map[string]domain.SupportHours // per language market; missing: always open
	RecentOrders int                            // how many recent orders a linked chat picks from
	SearchKM     float64                        // radius of a locker search
	// Strict: a turn fails when an action uses a slot the manifest does not
	// declare for it (tests).
	Strict bool
}

// DefaultConfig returns the documented defaults.
func DefaultConfig() Config {
	return Config{ShopName: "Parcel Shop", OrderFormat: "NNN-NNNNNNN-NNNNNNN", Policy: domain.DefaultPolicy(),
		RecentOrders: 5, SearchKM: 15}
}

// Backends are what the journeys read and write.
type Backends struct {
	Shop    Shop
	Writer  ShopWriter
	Records Records
	// Observer is told about grants (optional).
	Observer Observer
}

// NewEngine builds the dialog engine with parcelbot's journeys.
func NewEngine(cfg Config, b Backends) (*dialog.Engine, error) {
	return NewEngineFrom(cfg, b, dialog.Flows(), locales.FS)
}

// NewEngineFrom is NewEngine with other flow and locale files (a CX team's
// working copy); `parcelbot validate` uses it.
func NewEngineFrom(cfg Config, b Backends, flows, locs fs.FS) (*dialog.Engine, error) {
	if err := cfg.Policy.Validate(); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	if b.Shop == nil || b.Writer == nil || b.Records == nil {
		return nil, errors.New("journeys need a shop, a shop writer and records")
	}
	of, err := ParseOrderFormat(cfg.OrderFormat)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	cat, err := dialog.LoadCatalog(locs)
	if err != nil {
		return nil, err
	}
	if cfg.RecentOrders <= 0 {
		cfg.RecentOrders = 5
	}
	if cfg.SearchKM <= 0 {
		cfg.SearchKM = 15
	}
	if b.Observer == nil {
		b.Observer = nopObserver{}
	}
	j := &journeys{cfg: cfg, Backends: b}
	return dialog.New(dialog.Config{
		Flows:      flows,
		Catalog:    cat,
		Types:      slotTypes(of),
		Globals:    map[string]string{"shop": cfg.ShopName, "minutes": strconv.Itoa(cfg.Policy.AgentSLAMinutes)},
		Menu:       "menu.start",
		Again:      "menu.again",
		Closing:    "feedback.ask",
		Clarify:    "clarify.ask",
		Resume:     "menu.resume",
		OfferHuman: "human.offer",
		Strict:     cfg.Strict,
		Actions:    j.actions(),
	})
}

// slotTypes are the business's slot types that flows name: an order
// number in the shop's format, a delivery postcode, and a place to search
// lockers near (a postcode, a city name or a shared location).
func slotTypes(of OrderFormat) map[string]dialog.SlotType {
	find := func(f func(string) string) func(string) (string, bool) {
		return func(text string) (string, bool) {
			v := f(text)
			return v, v != ""
		}
	}
	postcode := func(text string) string { return FindPostcode(text, of) }
	return map[string]dialog.SlotType{
		// a police report or other reference: it has a digit, and is short
		// a new delivery address, as the customer writes it
		"address": {Accept: func(text string) (string, bool) {
			return text, domain.ValidDeliveryAddress(text)
		}},
		"reference": {Accept: func(text string) (string, bool) {
			return text, len(text) <= 60 && strings.ContainsAny(text, "0123456789")
		}},
		// a language named in a sentence ("can we do this in German",
		// "auf Englisch bitte", "en anglais ?", "in inglese")
		"language_name":  {Find: FindLanguage, Accept: find(FindLanguage)},
		"other_language": {Find: FindOtherLanguage, Accept: find(FindOtherLanguage)},
		// a rating from 1 to 5 as customers type it: "4", "4/5", "4 out of
		// 5", "5 stars"; loose, so that "where are my 2 other parcels?" is a
		// change of topic, not a 2
		"rating": {Accept: func(text string) (string, bool) {
			m := ratingRE.FindStringSubmatch(text)
			if m == nil {
				return "", false
			}
			return m[1], true
		}, Loose: true},
		"order_number": {Find: of.Find, Accept: find(of.Find)},
		"postcode":     {Find: postcode, Accept: find(postcode)},
		"place": {
			Find: postcode,
			Accept: func(text string) (string, bool) {
				if v := postcode(text); v != "" {
					return v, true
				}
				// a city name: the search decides whether it knows it
				return text, len(text) >= 2 && len(text) <= 60
			},
			Loose:    true,
			Location: true,
		},
	}
}

// journeys holds the actions of parcelbot's flows. Actions that change
// anything outside the conversation do it idempotently, keyed by the order
// or the case: a turn re-run after a concurrent save, or a message
// delivered twice, never grants, refunds or reports twice.
type journeys struct {
	Backends
	cfg Config
}

func (j *journeys) actions() map[string]dialog.Action {
	return map[string]dialog.Action{
		"link_account":        j.linkAccount,
		"identify_order":      j.identifyOrder,
		"track_order":         j.trackOrder,
		"check_compensation":  j.checkCompensation,
		"grant_compensation":  j.grantCompensation,
		"late_options":        j.lateOptions,
		"route_option":        j.routeOption,
		"missing_check":       j.missingCheck,
		"theft_check":         j.theftCheck,
		"create_claim":        j.createClaim,
		"claim_options":       j.claimOptions,
		"claim_confirm":       j.claimConfirm,
		"resolve_claim":       j.resolveClaim,
		"escalate_claim":      j.escalateClaim,
		"password_check":      j.passwordCheck,
		"password_forward":    j.passwordForward,
		"locker_status":       j.lockerStatus,
		"locker_alternatives": j.lockerAlternatives,
		"locker_redirect":     j.lockerRedirect,
		"locker_stuck":        j.lockerStuck,
		"locker_find":         j.lockerFind,
		"escalate":            j.escalate,
		"list_cases":          j.listCases,
		"change_check":        j.changeCheck,
		"change_address":      j.changeAddress,
		"redeliver":           j.redeliver,
		"forget":              j.forget,
		"feedback_due":        j.feedbackDue,
		"save_feedback":       j.saveFeedback,
		"event_facts":         j.eventFacts,
		"damaged_check":       j.damagedCheck,
		"damage_route":        j.damageRoute,
		"report_damage":       j.reportDamage,
		"notify_status":       j.notifyStatus,
		"set_notify":          j.setNotify,
	}
}

// --- account linking ---

// linkAccount handles /start <token>: a valid, unused token from the shop's
// website links the chat to the customer.
func (j *journeys) linkAccount(ctx context.Context, c *dialog.Call) (dialog.Outcome, error) {
	arg := c.Arg("arg")
	if arg == "" {
		return outNone, nil
	}
	if len(j.cfg.LinkSecret) == 0 {
		return outInvalid, nil
	}
	key := "link:" + c.Conversation()
	if n, err := j.Records.Failures(ctx, key); err != nil {
		return "", err
	} else if n >= j.cfg.Policy.LinkFailures {
		c.Var("minutes", strconv.Itoa(j.cfg.Policy.LookupWindowMinutes))
		return outLimited, nil // no token is accepted now, not even a valid one
	}
	fail := func(out dialog.Outcome) (dialog.Outcome, error) {
		if _, err := j.Records.Fail(ctx, key, j.window()); err != nil {
			return "", err
		}
		return out, nil
	}
	lt, err := domain.ParseLinkToken(j.cfg.LinkSecret, arg, c.Now)
	switch {
	case errors.Is(err, domain.ErrTokenExpired):
		return fail(outExpired)
	case err != nil:
		return fail(outInvalid)
	}
	cust, err := j.Shop.Customer(ctx, lt.Customer)
	if domain.ErrorCode(err) == domain.ENOTFOUND {
		return fail(outInvalid)
	}
	if err != nil {
		return "", fmt.Errorf("link: %w", err)
	}
	first, err := j.Records.UseToken(ctx, lt.Nonce, domain.LinkTokenTTL+time.Hour)
	if err != nil {
		return "", err
	}
	if !first && c.State.Customer != cust.ID {
		return fail(outInvalid) // used before (by this chat it is fine: a re-run)
	}
	if prev := c.State.Customer; prev != "" && prev != cust.ID {
		// the chat now belongs to another account: the old one's news stop here
		if err := j.Records.Unlink(ctx, prev, c.Conversation()); err != nil {
			return "", err
		}
	}
	c.State.Customer = cust.ID
	// order news reach the customer in this chat from now on
	if err := j.Records.SetContact(ctx, cust.ID, Contact{Conv: c.Conversation()}); err != nil {
		return "", err
	}
	// the shop knows the customer's country: "de-CH" (or "fr-CH") writes Swiss texts
	if _, region := dialog.SplitLocale(cust.Lang); region != "" {
		c.State.Region = region
	}
	name, _, _ := strings.Cut(cust.Name, " ")
	c.Var("name", name)
	return outLinked, nil
}

// --- order identification ---

// samePostcode compares postcodes ignoring case and spaces.
func samePostcode(a, b string) bool {
	norm := func(s string) string { return strings.ToUpper(strings.ReplaceAll(s, " ", "")) }
	return a != "" && norm(a) == norm(b)
}

// pickFrom is how many of a linked customer's newest orders are read to
// choose the ones offered (the shop API's most).
const pickFrom = 20

// concernOf is what a journey asks about its order, for choosing the orders
// a linked customer picks from.
func concernOf(journey string) domain.OrderConcern {
	switch journey {
	case "track", "change":
		return domain.ConcernOnItsWay
	case "password":
		return domain.ConcernPassword
	case "damaged":
		return domain.ConcernArrived
	case "missing":
		return domain.ConcernNeverCame
	}
	return domain.ConcernAny
}

// identifyOrder decides who may see which order. A linked chat sees its own
// orders in full; for any other order, and for every unlinked chat, the
// delivery postcode is asked before anything is said, so an unknown number
// and a wrong postcode look the same and nobody learns whether an order
// exists. The calling journey is remembered for the agent.
func (j *journeys) identifyOrder(ctx context.Context, c *dialog.Call) (dialog.Outcome, error) {
	st := c.State
	if st.Journey != "" && st.Journey != "identify" {
		c.SetSlot("journey", st.Journey)
	}
	number := c.Slot("order")
	if number == "" {
		if st.Customer != "" {
			// more orders than are shown, so that the ones the question is
			// about are among them (a late order placed before five others)
			orders, err := j.Shop.RecentOrders(ctx, st.Customer, max(j.cfg.RecentOrders, pickFrom))
			if err != nil {
				return "", fmt.Errorf("recent orders: %w", err)
			}
			orders = domain.OrdersToOffer(orders, concernOf(c.Slot("journey")), c.Now, j.cfg.RecentOrders)
			for _, o := range orders {
				c.Choice(c.TWith("order.pick_item", "order", o.Number, "status", c.T("status."+string(o.Shipment.Status))), o.Number)
			}
			if len(orders) > 0 {
				return outPick, nil
			}
		}
		return outAsk, nil
	}
	o, err := j.loadOrder(ctx, c, number)
	if err != nil && domain.ErrorCode(err) != domain.ENOTFOUND {
		return "", fmt.Errorf("identify order: %w", err)
	}
	if o != nil && st.Customer != "" && o.CustomerID == st.Customer {
		c.SetSlot("access", "full")
		return outFound, nil
	}
	pc := c.Slot("postcode")
	if pc == "" {
		return outNeedPostcode, nil
	}
	// guessing order numbers and postcodes is limited per chat: the count
	// is in Redis; the session remembers what it last learnt of it, so the
	// counter is read only when the chat has failed lookups in the window
	// or the session does not know (a new one, after /forget)
	key := "lookup:" + c.Conversation()
	n, until, known := lookupsOf(c.Slot("lookups"))
	if !known || (n > 0 && c.Now.Unix() < until) {
		var err error
		if n, err = j.Records.Failures(ctx, key); err != nil {
			return "", err
		}
		if n == 0 {
			c.SetSlot("lookups", "0 0")
		}
	}
	if n >= j.cfg.Policy.LookupFailures {
		c.SetSlot("order", "")
		c.SetSlot("postcode", "")
		c.Var("minutes", strconv.Itoa(j.cfg.Policy.LookupWindowMinutes))
		return outLimited, nil
	}
	if o == nil || !samePostcode(pc, o.Address.Postcode) {
		c.SetSlot("order", "")
		c.SetSlot("postcode", "")
		failed, err := j.Records.Fail(ctx, key, j.window())
		if err != nil {
			return "", err
		}
		if failed == 1 || until <= c.Now.Unix() {
			// the window starts with the first failure (or it is not known:
			// a later end only means reading the counter a while longer)
			until = c.Now.Add(j.window()).Unix()
		}
		c.SetSlot("lookups", strconv.Itoa(failed)+" "+strconv.FormatInt(until, 10))
		return outNotFound, nil
	}
	c.SetSlot("access", "tracking")
	return outFound, nil
}

// lookupsOf parses the "lookups" slot: the chat's failed lookups as last
// counted and when their window ends (unix seconds); false when the
// session does not know.
func lookupsOf(v string) (n int, until int64, known bool) {
	a, b, ok := strings.Cut(v, " ")
	if !ok {
		return 0, 0, false
	}
	n, err1 := strconv.Atoi(a)
	until, err2 := strconv.ParseInt(b, 10, 64)
	if err1 != nil || err2 != nil {
		return 0, 0, false
	}
	return n, until, true
}

func full(c *dialog.Call) bool { return c.Slot("access") == "full" }

// verifiedBy tells the agent how the customer proved the order is theirs.
func verifiedBy(c *dialog.Call) string {
	if full(c) {
		return "linked account"
	}
	return "order number + postcode"
}

func (j *journeys) window() time.Duration {
	return time.Duration(j.cfg.Policy.LookupWindowMinutes) * time.Minute
}

// order loads the identified order.
func (j *journeys) order(ctx context.Context, c *dialog.Call) (*domain.Order, error) {
	o, err := j.loadOrder(ctx, c, c.Slot("order"))
	if err != nil {
		return nil, fmt.Errorf("load order: %w", err)
	}
	return o, nil
}

// loadOrder, loadCustomer and loadPlace read the shop once per turn: the
// actions of one turn share what an earlier one loaded (dialog.Call.Recall).
func (j *journeys) loadOrder(ctx context.Context, c *dialog.Call, number string) (*domain.Order, error) {
	return once(ctx, c, "order", number, j.Shop.Order)
}

func (j *journeys) loadCustomer(ctx context.Context, c *dialog.Call, id string) (*domain.Customer, error) {
	return once(ctx, c, "customer", id, j.Shop.Customer)
}

func (j *journeys) loadPlace(ctx context.Context, c *dialog.Call, id string) (*domain.Locker, error) {
	return once(ctx, c, "place", id, j.Shop.Place)
}

func once[T any](ctx context.Context, c *dialog.Call, kind, id string, load func(context.Context, string) (T, error)) (T, error) {
	if v, ok := c.Recall(kind, id); ok {
		return v.(T), nil
	}
	v, err := load(ctx, id)
	if err != nil {
		return v, err
	}
	c.Remember(kind, id, v)
	return v, nil
}

// --- journey 1: late parcel ---

// trackOrder puts the tracking facts into words: status, last event, the
// promised date and the carrier's estimate, judged in the delivery address's
// time zone.
func (j *journeys) trackOrder(ctx context.Context, c *dialog.Call) (dialog.Outcome, error) {
	o, err := j.order(ctx, c)
	if err != nil {
		return "", err
	}
	loc := o.Address.Location()
	s := &o.Shipment
	c.Var("status", c.T("status."+string(s.Status)))
	var details []string
	if ev, ok := s.LastEvent(); ok {
		key := "track.last_event"
		if ev.Place == "" {
			key = "track.last_event_noplace"
		}
		details = append(details, c.TWith(key, "event", c.T("event."+ev.Code), "place", ev.Place, "when", dialog.DateTimeValue(ev.At.In(loc))))
	}
	if s.Status != domain.Delivered && s.Status != domain.Returned {
		details = append(details, c.TWith("track.promised", "promised", dialog.DateValue(s.Promised.In(loc))))
		if !s.Estimate.IsZero() && !sameDay(s.Estimate, s.Promised, loc) {
			details = append(details, c.TWith("track.estimate", "estimate", dialog.DateValue(s.Estimate.In(loc))))
		}
	}
	c.Var("details", strings.Join(details, "\n"))
	switch s.Status {
	case domain.Delivered:
		if s.Delivery != nil {
			c.Var("delivered", dialog.DateTimeValue(s.Delivery.At.In(loc)))
		}
		return outDelivered, nil
	case domain.Returned:
		return outReturned, nil
	case domain.Exception:
		return outException, nil
	case domain.LabelCreated:
		return outNotShipped, nil
	}
	switch late := domain.DaysLate(o, c.Now); {
	case late > 0:
		c.Var("count", strconv.Itoa(late))
		return outLate, nil
	case late == 0:
		return outDueToday, nil
	}
	return outOnTime, nil
}

// sameDay reports whether a and b fall on the same day in loc.
func sameDay(a, b time.Time, loc *time.Location) bool {
	y1, m1, d1 := a.In(loc).Date()
	y2, m2, d2 := b.In(loc).Date()
	return y1 == y2 && m1 == m2 && d1 == d2
}

// compKey is the idempotency key of the compensation for an order.
func compKey(order string) string { return "comp:" + order }

// checkCompensation decides whether a late order earns a free month. Only a
// chat linked to the order's customer hears about memberships.
func (j *journeys) checkCompensation(ctx context.Context, c *dialog.Call) (dialog.Outcome, error) {
	if !full(c) {
		return outNone, nil
	}
	o, cust, err := j.orderAndCustomer(ctx, c)
	if err != nil {
		return "", err
	}
	// parcelbot's own record first: the shop may not show the grant yet
	if stored, ok, err := j.Records.Lookup(ctx, compKey(o.Number)); err != nil {
		return "", err
	} else if ok {
		c.Var("renewal", dialog.DateValue(grantedRenewal(stored, cust.Membership.Renewal).In(o.Address.Location())))
		return outAlready, nil
	}
	switch j.cfg.Policy.CompensationFor(o, cust.Membership, c.Now) {
	case domain.CompOK:
		return outOffer, nil
	case domain.CompAlreadyGranted:
		c.Var("renewal", dialog.DateValue(cust.Membership.Renewal.In(o.Address.Location())))
		return outAlready, nil
	case domain.CompTrialUsed:
		return outTrialUsed, nil
	case domain.CompYearLimit:
		return outYearLimit, nil
	}
	return outNone, nil
}

func (j *journeys) orderAndCustomer(ctx context.Context, c *dialog.Call) (*domain.Order, *domain.Customer, error) {
	o, err := j.order(ctx, c)
	if err != nil {
		return nil, nil, err
	}
	cust, err := j.loadCustomer(ctx, c, o.CustomerID)
	if err != nil {
		return nil, nil, fmt.Errorf("load customer: %w", err)
	}
	return o, cust, nil
}

// grantCompensation adds the free month once per order: the shop's
// extension is idempotent by order, and the first grant is recorded so that
// a re-run of this very turn still says "granted" with the same date.
func (j *journeys) grantCompensation(ctx context.Context, c *dialog.Call) (dialog.Outcome, error) {
	o, cust, err := j.orderAndCustomer(ctx, c)
	if err != nil {
		return "", err
	}
	mine := j.owner(c.Conversation()) + "|" + c.InputID()
	legacy := c.Conversation() + "|" + c.InputID() // a record written before pseudonyms
	decision := j.cfg.Policy.CompensationFor(o, cust.Membership, c.Now)
	stored, granted, err := j.Records.Lookup(ctx, compKey(o.Number))
	if err != nil {
		return "", err
	}
	switch {
	case granted && (strings.HasSuffix(stored, "|"+mine) || strings.HasSuffix(stored, "|"+legacy)):
		decision = domain.CompOK // granted by this very turn before a re-run
	case granted:
		decision = domain.CompAlreadyGranted
	}
	switch decision {
	case domain.CompOK:
	case domain.CompTrialUsed:
		return outTrialUsed, nil
	case domain.CompYearLimit:
		return outYearLimit, nil
	default:
		c.Var("renewal", dialog.DateValue(grantedRenewal(stored, cust.Membership.Renewal).In(o.Address.Location())))
		return outAlready, nil
	}
	renewal, err := j.Writer.ExtendMembership(ctx, cust.ID, o.Number, compKey(o.Number), c.Now)
	if err != nil {
		return "", fmt.Errorf("extend membership: %w", err)
	}
	stored, first, err := j.Records.Once(ctx, compKey(o.Number), strconv.FormatInt(renewal.Unix(), 10)+"|"+mine)
	if err != nil {
		return "", err
	}
	if first {
		j.Observer.Compensation()
	}
	c.SetSlot("comp", "granted")
	c.Var("renewal", dialog.DateValue(grantedRenewal(stored, renewal).In(o.Address.Location())))
	return outGranted, nil
}

// owner is the pseudonym of a conversation in the grant and claim records
// ("p:" and 16 bytes of HMAC-SHA256 under the link secret): the record
// can tell a re-run of the same turn from another chat without naming the
// chat, so erasing the conversation leaves nothing there that points to
// it.
func (j *journeys) owner(conv string) string {
	m := hmac.New(sha256.New, append([]byte("parcelbot owner\x00"), j.cfg.LinkSecret...))
	m.Write([]byte(conv))
	return "p:" + hex.EncodeToString(m.Sum(nil)[:16])
}

// grantedRenewal reads the renewal date from a grant record
// ("<unix>|<owner>|<input>"), or returns def.
func grantedRenewal(stored string, def time.Time) time.Time {
	if unix, _, ok := strings.Cut(stored, "|"); ok {
		if n, err := strconv.ParseInt(unix, 10, 64); err == nil {
			return time.Unix(n, 0)
		}
	}
	return def
}

// lateOptions offers, for a parcel late by the policy's days or held up by
// the carrier: wait, a replacement (every item in stock), a refund, or
// reporting it missing.
func (j *journeys) lateOptions(ctx context.Context, c *dialog.Call) (dialog.Outcome, error) {
	o, err := j.order(ctx, c)
	if err != nil {
		return "", err
	}
	if !j.cfg.Policy.RefundOrReplacementDue(o, c.Now) {
		return outWait, nil
	}
	c.ChoiceOf("late.opt_wait", "wait")
	if o.AllInStock() {
		c.ChoiceOf("late.opt_replacement", "replacement")
	}
	c.ChoiceOf("late.opt_refund", "refund")
	c.ChoiceOf("late.opt_missing", "missing")
	return outOptions, nil
}

func (j *journeys) routeOption(_ context.Context, c *dialog.Call) (dialog.Outcome, error) {
	switch opt := c.Slot("option"); opt {
	case "replacement", "refund":
		c.SetSlot("resolution", opt)
		return outResolve, nil
	case "missing":
		return outMissing, nil
	}
	return outWait, nil
}

// --- journey 2: missing or stolen parcel ---

// missingCheck shows the delivery details of a delivered parcel; anything
// not delivered yet is journey 1.
func (j *journeys) missingCheck(ctx context.Context, c *dialog.Call) (dialog.Outcome, error) {
	o, err := j.order(ctx, c)
	if err != nil {
		return "", err
	}
	d := o.Shipment.Delivery
	if o.Shipment.Status != domain.Delivered || d == nil {
		return outNotDelivered, nil
	}
	loc := o.Address.Location()
	c.Var("delivered", dialog.DateTimeValue(d.At.In(loc)))
	place := "missing.place." + string(d.Place)
	if d.Place == domain.Neighbour && !full(c) {
		place = "missing.place.neighbour_anon" // a neighbour's name is for the customer only
	}
	c.Var("place", c.TWith(place, "neighbour", d.NeighbourName, "house", d.NeighbourHouse))
	if d.Photo {
		c.Var("photo", c.T("missing.photo_yes"))
	} else {
		c.Var("photo", c.T("missing.photo_no"))
	}
	if j.cfg.Policy.DeliveredRecently(o, c.Now) {
		c.Var("hours", strconv.Itoa(j.cfg.Policy.WaitHoursAfterDelivered))
		return outRecent, nil
	}
	return outDelivered, nil
}

func (j *journeys) theftCheck(_ context.Context, c *dialog.Call) (dialog.Outcome, error) {
	if c.Slot("theft") == "yes" {
		return outTheft, nil
	}
	return outPlain, nil
}

// claimCaseID is the one case id per order's claim.
func claimCaseID(order string) string { return domain.CaseID(order + "|claim") }

// createClaim opens the case for a missing or very late parcel: one per
// order. Auto-approval only within the order-total limit and the customer's
// claims in the last 12 months; otherwise an agent approves.
func (j *journeys) createClaim(ctx context.Context, c *dialog.Call) (dialog.Outcome, error) {
	o, err := j.order(ctx, c)
	if err != nil {
		return "", err
	}
	id := claimCaseID(o.Number)
	c.Var("case", id)
	c.SetSlot("case", id)
	mine := j.owner(c.Conversation()) + "|" + c.InputID()
	legacy := c.Conversation() + "|" + c.InputID() // a record written before pseudonyms
	past, err := j.Shop.PastClaims(ctx, o.CustomerID)
	if err != nil {
		return "", fmt.Errorf("past claims: %w", err)
	}
	since := c.Now.AddDate(-1, 0, 0)
	recorded, err := j.Records.Claims(ctx, o.CustomerID, since)
	if err != nil {
		return "", err
	}
	// money moves without an agent only for a chat linked to the account,
	// and within the shop's limits
	decision := string(outAgent)
	if full(c) && j.cfg.Policy.AutoApprove(o.Total, domain.ClaimsWithin(past, since)+recorded) {
		decision = string(outApproved)
	}
	stored, first, err := j.Records.Once(ctx, "claim:"+o.Number, mine+"|"+decision)
	if err != nil {
		return "", err
	}
	if !first {
		owner, dec, _ := strings.Cut(stored[strings.Index(stored, "|")+1:], "|")
		if who := stored[:strings.Index(stored, "|")] + "|" + owner; who != mine && who != legacy {
			if cs, err := j.Records.Case(ctx, id); err == nil {
				c.Var("status", c.T("cases.status."+string(cs.Status)))
			} else {
				c.Var("status", c.T("cases.status.open"))
			}
			return outExists, nil
		}
		decision = dec
	}
	kind := domain.CaseMissing
	switch c.Slot("journey") {
	case "track":
		kind = domain.CaseLate
	case "damaged":
		kind = domain.CaseDamaged
	}
	status := domain.CaseInvestigating
	if decision == string(outAgent) {
		status = domain.CaseAwaitingAgent
	}
	cs := &domain.Case{ID: id, Kind: kind, Status: status, Order: o.Number, CustomerID: o.CustomerID,
		Conversation: c.Conversation(), Lang: c.Lang(), Theft: c.Slot("theft") == "yes", Created: c.Now, Updated: c.Now,
		Notes: []domain.CaseEvent{{At: c.Now, Who: "bot", What: "claim opened (" + decision + ")"}}}
	if p := c.Slot("police"); p != "" && p != "-" {
		cs.PoliceReport = p
	}
	if kind == domain.CaseDamaged {
		damageDetails(c, cs)
	}
	// created once: a re-run of this turn finds it stored and keeps it
	if _, err := UpdateCase(ctx, j.Records, id, func(old *domain.Case) (*domain.Case, error) {
		if old != nil {
			return nil, nil
		}
		return cs, nil
	}); err != nil {
		return "", err
	}
	if err := j.Records.AddClaim(ctx, o.CustomerID, id, c.Now); err != nil {
		return "", err
	}
	c.Var("investigation", "")
	if kind == domain.CaseMissing {
		if err := j.Writer.OpenInvestigation(ctx, o.Number, id, "investigate:"+id); err != nil {
			return "", fmt.Errorf("open investigation: %w", err)
		}
		c.Var("investigation", c.T("claim.investigation"))
	}
	if decision == string(outAgent) && !full(c) {
		return outAgentUnlinked, nil
	}
	return dialog.Outcome(decision), nil // outApproved or outAgent
}

// claimConfirm states what resolving the claim will do, for the customer
// to confirm before anything is refunded or sent.
func (j *journeys) claimConfirm(ctx context.Context, c *dialog.Call) (dialog.Outcome, error) {
	o, err := j.order(ctx, c)
	if err != nil {
		return "", err
	}
	c.Var("case", c.Slot("case"))
	c.Var("order", o.Number)
	if domain.Resolution(c.Slot("resolution")) == domain.ResolveReplacement && o.AllInStock() {
		return outReplacement, nil
	}
	c.SetSlot("resolution", string(domain.ResolveRefund))
	c.Var("amount", dialog.MoneyValue(o.Total.Minor, o.Total.Currency))
	return outRefund, nil
}

// claimOptions: replacement only when every item is in stock; when both are
// possible and the customer has not chosen yet, they choose.
func (j *journeys) claimOptions(ctx context.Context, c *dialog.Call) (dialog.Outcome, error) {
	o, err := j.order(ctx, c)
	if err != nil {
		return "", err
	}
	switch {
	case !o.AllInStock():
		c.SetSlot("resolution", "refund")
	case c.Slot("resolution") == "":
		return outAsk, nil
	}
	return outResolve, nil
}

func (j *journeys) resolveClaim(ctx context.Context, c *dialog.Call) (dialog.Outcome, error) {
	o, err := j.order(ctx, c)
	if err != nil {
		return "", err
	}
	how, err := resolveCase(ctx, j.Writer, j.Records, c.Slot("case"), o, domain.Resolution(c.Slot("resolution")), "bot", c.Now)
	if err != nil {
		return "", err
	}
	c.Var("case", c.Slot("case"))
	c.Var("amount", dialog.MoneyValue(o.Total.Minor, o.Total.Currency))
	return dialog.Outcome(how), nil // outRefund or outReplacement, as the resolution
}

// resolveCase refunds or replaces an order for a case through the same
// policy whoever decides (the bot or an agent): a replacement only when
// every item is in stock, otherwise a refund. It is idempotent by case.
func resolveCase(ctx context.Context, w ShopWriter, rec Records, caseID string, o *domain.Order, how domain.Resolution, who string, now time.Time) (domain.Resolution, error) {
	if how != domain.ResolveRefund && how != domain.ResolveReplacement {
		return "", domain.Errorf(domain.EINVALID, "", "resolution %q is neither refund nor replacement", how)
	}
	if how == domain.ResolveReplacement && !o.AllInStock() {
		how = domain.ResolveRefund
	}
	if err := w.Resolve(ctx, o.Number, how, "resolve:"+caseID); err != nil {
		return "", fmt.Errorf("resolve %s: %w", caseID, err)
	}
	cs, err := UpdateCase(ctx, rec, caseID, func(cs *domain.Case) (*domain.Case, error) {
		if cs == nil {
			return nil, &domain.Error{Code: domain.ENOTFOUND, Key: "cases.unknown", Op: "resolve case " + caseID}
		}
		if cs.Resolution == "" {
			cs.Resolution = how
		}
		cs.Status = domain.CaseResolved
		cs.Updated = now
		cs.Notes = append(cs.Notes, domain.CaseEvent{At: now, Who: who, What: "resolved: " + string(how)})
		return cs, nil
	})
	if err != nil {
		return "", err
	}
	return cs.Resolution, nil
}

// escalateClaim hands the claim's case to an agent for approval.
func (j *journeys) escalateClaim(ctx context.Context, c *dialog.Call) (dialog.Outcome, error) {
	return j.handToAgent(ctx, c, c.Slot("case"), "approval")
}

// --- journey 3: delivery password ---

// passwordCheck shows the one-time password only to a chat linked to the
// order's customer.
func (j *journeys) passwordCheck(ctx context.Context, c *dialog.Call) (dialog.Outcome, error) {
	o, err := j.order(ctx, c)
	if err != nil {
		return "", err
	}
	if !full(c) {
		return outNotLinked, nil
	}
	return j.password(c, o), nil
}

func (j *journeys) password(c *dialog.Call, o *domain.Order) dialog.Outcome {
	st := domain.PasswordStatus(o, c.Now)
	switch st {
	case domain.PasswordValid:
	case domain.PasswordNotRequired:
		return outNotRequired
	case domain.PasswordNotShipped:
		return outNotShipped
	case domain.PasswordDelivered:
		return outDelivered
	default:
		return outExpired
	}
	pw := o.Shipment.Password
	c.Secret("password", pw.Code.Reveal())
	c.Var("day", dialog.DateValue(pw.Day.In(o.Address.Location())))
	for _, ev := range o.Shipment.Events {
		if ev.Code == "delivery_failed" {
			return outRescheduled
		}
	}
	return outValid
}

func (j *journeys) passwordForward(ctx context.Context, c *dialog.Call) (dialog.Outcome, error) {
	o, err := j.order(ctx, c)
	if err != nil {
		return "", err
	}
	if !full(c) {
		return outGone, nil
	}
	if out := j.password(c, o); out != outValid && out != outRescheduled {
		return outGone, nil
	}
	return outOk, nil
}

// --- journey 4: lockers ---

func (j *journeys) orderLocker(ctx context.Context, c *dialog.Call) (*domain.Order, *domain.Locker, error) {
	o, err := j.order(ctx, c)
	if err != nil {
		return nil, nil, err
	}
	if o.Shipment.LockerID == "" {
		return o, nil, nil
	}
	l, err := j.loadPlace(ctx, c, o.Shipment.LockerID)
	if err != nil {
		return nil, nil, fmt.Errorf("load locker: %w", err)
	}
	c.Var("locker", l.Name)
	return o, l, nil
}

func (j *journeys) lockerStatus(ctx context.Context, c *dialog.Call) (dialog.Outcome, error) {
	_, l, err := j.orderLocker(ctx, c)
	if err != nil {
		return "", err
	}
	switch {
	case l == nil:
		return outNoLocker, nil
	case l.Status != domain.Operational:
		c.Var("why", c.T("locker.status."+string(l.Status)))
		return outBlocked, nil
	}
	return outWorks, nil
}

// lockerAlternatives offers the nearest operational lockers with a free
// compartment (up to 3), pickup points (up to 2) and home delivery.
func (j *journeys) lockerAlternatives(ctx context.Context, c *dialog.Call) (dialog.Outcome, error) {
	_, l, err := j.orderLocker(ctx, c)
	if err != nil {
		return "", err
	}
	if l == nil {
		return "", domain.Errorf(domain.ECONFLICT, "locker.no_locker", "order has no locker")
	}
	c.Var("why", c.T("locker.status."+string(l.Status)))
	places, err := j.Shop.Places(ctx, l.Lat, l.Lon, j.cfg.SearchKM)
	if err != nil {
		return "", fmt.Errorf("places: %w", err)
	}
	list := j.appendNearby(c, nil, places, l.Lat, l.Lon, l.ID, true)
	c.Choice(c.T("locker.choice_home"), "home")
	c.Var("list", string(list))
	return outOk, nil
}

// appendNearby lists the nearest places that take a parcel now: up to 3
// lockers, then up to 2 pickup points; with choices each becomes a button.
func (j *journeys) appendNearby(c *dialog.Call, list []byte, places []domain.Locker, lat, lon float64, exclude string, choices bool) []byte {
	for _, k := range []struct {
		kind domain.PlaceKind
		max  int
	}{{domain.KindLocker, 3}, {domain.KindPickup, 2}} {
		for _, r := range domain.RankLockers(places, k.kind, lat, lon, exclude, k.max) {
			list = j.appendPlace(c, list, r)
			if choices {
				c.Choice(c.TWith("locker.choice", "name", r.Name, "km", km(r.KM)), r.ID)
			}
		}
	}
	return list
}

func km(x float64) string { return dialog.NumberValue(int64(x*10 + 0.5)) }

// appendPlace appends one locker or pickup point in words, on a line of its
// own.
func (j *journeys) appendPlace(c *dialog.Call, list []byte, r domain.RankedLocker) []byte {
	key := "locker.item_locker"
	if r.Kind == domain.KindPickup {
		key = "locker.item_pickup"
	}
	if len(list) > 0 {
		list = append(list, '\n')
	}
	return c.AppendT(list, key, "name", r.Name, "street", r.Street, "postcode", r.Postcode, "city", r.City,
		"km", km(r.KM), "hours", hoursText(c, r.Hours), "free", strconv.Itoa(r.Free))
}

// hoursText renders "24/7" or "mon-sat 07:00-22:00" with the language's day
// abbreviations; anything else is shown as written.
func hoursText(c *dialog.Call, spec string) string {
	if spec == "24/7" || spec == "" {
		return c.T("locker.hours_always")
	}
	days, clock, ok := strings.Cut(spec, " ")
	if !ok {
		return spec
	}
	short := c.Engine().Catalog().List(c.Locale(), "format.days_short")
	day := func(n string) (string, bool) {
		for k, name := range dayNames {
			if name == n && k < len(short) {
				return short[k], true
			}
		}
		return "", false
	}
	from, to, isRange := strings.Cut(days, "-")
	a, ok1 := day(from)
	b, ok2 := a, true
	if isRange {
		b, ok2 = day(to)
	}
	open, shut, ok3 := strings.Cut(clock, "-")
	if !ok1 || !ok2 || !ok3 {
		return spec
	}
	if isRange {
		return a + "–" + b + " " + open + "–" + shut
	}
	return a + " " + open + "–" + shut
}

var dayNames = [...]string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}

// lockerRedirect records the customer's choice as a redirect of the order.
func (j *journeys) lockerRedirect(ctx context.Context, c *dialog.Call) (dialog.Outcome, error) {
	o, err := j.order(ctx, c)
	if err != nil {
		return "", err
	}
	pick := c.Slot("pick")
	target := ""
	if pick == "home" {
		c.Var("target", c.T("locker.home"))
	} else {
		p, err := j.Shop.Place(ctx, pick)
		if err != nil {
			return "", fmt.Errorf("redirect target: %w", err)
		}
		target = p.ID
		c.Var("target", p.Name+", "+p.Street+", "+p.Postcode+" "+p.City)
	}
	if err := j.Writer.Redirect(ctx, o.Number, target, "redirect:"+o.Number+":"+pick); err != nil {
		return "", fmt.Errorf("redirect: %w", err)
	}
	return outOk, nil
}

// lockerStuck records a defect report and, with the customer's parcel
// inside, hands the case to an agent.
func (j *journeys) lockerStuck(ctx context.Context, c *dialog.Call) (dialog.Outcome, error) {
	o, l, err := j.orderLocker(ctx, c)
	if err != nil {
		return "", err
	}
	if l == nil {
		return outNoLocker, nil
	}
	key := "defect:" + c.Conversation() + "|" + c.InputID()
	if err := j.Writer.ReportLockerDefect(ctx, l.ID, o.Number, "compartment will not open", key); err != nil {
		return "", fmt.Errorf("defect report: %w", err)
	}
	inside := o.Shipment.Status == domain.Delivered && o.Shipment.Delivery != nil && o.Shipment.Delivery.Place == domain.InLocker
	if !inside {
		return outReported, nil
	}
	id := domain.CaseID(o.Number + "|locker|" + l.ID)
	cs := &domain.Case{ID: id, Kind: domain.CaseLocker, Status: domain.CaseAwaitingAgent, Order: o.Number, CustomerID: o.CustomerID,
		Conversation: c.Conversation(), Lang: c.Lang(), Created: c.Now, Updated: c.Now,
		Notes: []domain.CaseEvent{{At: c.Now, Who: "bot", What: "parcel stuck in " + l.ID + "; defect reported"}}}
	if _, err := UpdateCase(ctx, j.Records, id, func(old *domain.Case) (*domain.Case, error) {
		if old != nil {
			return nil, nil
		}
		return cs, nil
	}); err != nil {
		return "", err
	}
	out, err := j.handToAgent(ctx, c, id, "stuck_parcel")
	if out == outClosed {
		return outInsideClosed, err
	}
	return outInside, err
}

// lockerFind lists the lockers and pickup points near a postcode, a city or
// a shared location, operational ones with free compartments only.
func (j *journeys) lockerFind(ctx context.Context, c *dialog.Call) (dialog.Outcome, error) {
	place := c.Slot("place")
	c.SetSlot("place", "")
	var lat, lon float64
	if a, b, ok := strings.Cut(place, ","); ok {
		la, err1 := strconv.ParseFloat(a, 64)
		lo, err2 := strconv.ParseFloat(b, 64)
		if err1 == nil && err2 == nil && domain.ValidCoordinates(la, lo) {
			lat, lon = la, lo
			ok = true
		}
		if !ok {
			return outUnknown, nil
		}
	} else {
		la, lo, err := j.Shop.Locate(ctx, place)
		if domain.ErrorCode(err) == domain.ENOTFOUND {
			return outUnknown, nil
		}
		if err != nil {
			return "", fmt.Errorf("locate: %w", err)
		}
		lat, lon = la, lo
	}
	places, err := j.Shop.Places(ctx, lat, lon, j.cfg.SearchKM)
	if err != nil {
		return "", fmt.Errorf("places: %w", err)
	}
	list := j.appendNearby(c, nil, places, lat, lon, "", false)
	if len(list) == 0 {
		return outNone, nil
	}
	c.Var("list", string(list))
	return outFound, nil
}

// --- journey 5: a person ---

// escalate hands the conversation to the agent desk at the customer's wish.
func (j *journeys) escalate(ctx context.Context, c *dialog.Call) (dialog.Outcome, error) {
	id := domain.CaseID(c.Conversation() + "|" + c.InputID())
	return j.handToAgent(ctx, c, id, "customer_asked")
}

// handToAgent puts the conversation in agent mode for case id and asks the
// service to escalate with what the bot learned. It returns "open" or,
// outside the language market's support hours, "closed" (and when agents
// are back).
func (j *journeys) handToAgent(ctx context.Context, c *dialog.Call, id, reason string) (dialog.Outcome, error) {
	st := c.State
	journey := c.Slot("journey")
	if journey == "" {
		journey = "human"
	}
	args := []dialog.Slot{{Name: "case", Value: id}, {Name: "journey", Value: journey}, {Name: "reason", Value: reason}}
	if on := c.Slot("order"); on != "" {
		args = append(args, dialog.Slot{Name: "order", Value: on})
		if o, err := j.loadOrder(ctx, c, on); err == nil {
			args = append(args,
				dialog.Slot{Name: "fact.order value", Value: fmt.Sprintf("%d.%02d %s", o.Total.Minor/100, o.Total.Minor%100, o.Total.Currency)},
				dialog.Slot{Name: "fact.shipment", Value: string(o.Shipment.Status)},
				dialog.Slot{Name: "fact.delivery area", Value: o.Address.Postcode + " " + o.Address.City + " " + o.Address.Country},
				dialog.Slot{Name: "fact.customer verified", Value: verifiedBy(c)},
			)
			if days := domain.DaysLate(o, c.Now); days > 0 && domain.IsLate(o, c.Now) {
				args = append(args, dialog.Slot{Name: "fact.days late", Value: strconv.Itoa(days)})
			}
		}
	}
	for _, s := range []struct{ slot, label string }{
		{"comp", "membership month"}, {"resolution", "resolution asked"}, {"theft", "reported stolen"}, {"option", "late option chosen"},
		{"damage", "damage"}, {"usable", "content usable"},
	} {
		if v := c.Slot(s.slot); v != "" {
			args = append(args, dialog.Slot{Name: "fact." + s.label, Value: v})
		}
	}
	if p := c.Slot("police"); p != "" && p != "-" {
		args = append(args, dialog.Slot{Name: "fact.police report", Value: p})
	}
	c.Effect(effectEscalate, args...)
	st.Mode = dialog.ModeAgent
	st.Case = id
	c.Var("case", id)
	if h, ok := j.cfg.SupportHours[c.Lang()]; ok && !h.IsOpen(c.Now) {
		c.Var("back", dialog.DateTimeValue(h.NextOpen(c.Now)))
		return outClosed, nil
	}
	return outOpen, nil
}

// --- always available ---

func (j *journeys) listCases(ctx context.Context, c *dialog.Call) (dialog.Outcome, error) {
	cases, err := j.Records.Cases(ctx, c.State.Customer, c.Conversation())
	if err != nil {
		return "", err
	}
	if len(cases) == 0 {
		return outNone, nil
	}
	var lines []string
	for _, cs := range cases {
		key := "cases.item"
		if cs.Order == "" {
			key = "cases.item_no_order"
		}
		lines = append(lines, c.TWith(key, "case", cs.ID, "kind", c.T("cases.kind."+string(cs.Kind)),
			"status", c.T("cases.status."+string(cs.Status)), "date", dialog.DateValue(cs.Created), "order", cs.Order))
	}
	c.Var("list", strings.Join(lines, "\n"))
	c.Var("count", strconv.Itoa(len(cases)))
	return outSome, nil
}

func (j *journeys) forget(_ context.Context, c *dialog.Call) (dialog.Outcome, error) {
	c.Effect(effectForget)
	return outOk, nil
}

// --- the closing question ---

// ratingRE finds the first figure from 1 to 5 that stands alone.
var ratingRE = regexp.MustCompile(`(?:^|[^0-9])([1-5])(?:$|[^0-9])`)

// feedbackNote and commentNote begin the notes a rating and its comment
// leave on the case; the comment is the customer's own words and goes at
// erasure.
const (
	feedbackNote = "rated "
	commentNote  = "feedback: "
)

// feedbackDue asks for a rating once per case: not for a case rated
// before, nor for one that cannot be read.
func (j *journeys) feedbackDue(ctx context.Context, c *dialog.Call) (dialog.Outcome, error) {
	id := c.Slot("case")
	if id == "" {
		return outSkip, nil
	}
	cs, err := j.Records.Case(ctx, id)
	if err != nil || rated(cs) {
		return outSkip, nil // no question is better than a failed turn
	}
	return outAsk, nil
}

// rated reports whether a case has its customer's rating.
func rated(cs *domain.Case) bool {
	for _, n := range cs.Notes {
		if strings.HasPrefix(n.What, feedbackNote) {
			return true
		}
	}
	return false
}

// saveFeedback stores the rating (1-5) and the optional comment with the
// case, once, and counts the rating by case kind and language.
func (j *journeys) saveFeedback(ctx context.Context, c *dialog.Call) (dialog.Outcome, error) {
	id := c.Slot("case")
	rating, err := strconv.Atoi(c.Slot("rating"))
	if id == "" || err != nil || rating < 1 || rating > 5 {
		return outOk, nil
	}
	comment := strings.TrimSpace(c.Slot("comment"))
	kind := "" // set when this turn stored the rating
	_, err = UpdateCase(ctx, j.Records, id, func(cs *domain.Case) (*domain.Case, error) {
		kind = ""                   // this may run again after a conflict
		if cs == nil || rated(cs) { // rated already: a re-run of this turn
			return nil, nil
		}
		kind = string(cs.Kind)
		if kind == "" {
			kind = "case"
		}
		cs.Notes = append(cs.Notes, domain.CaseEvent{At: c.Now, Who: "customer", What: fmt.Sprintf("%s%d/5", feedbackNote, rating)})
		if comment != "" {
			cs.Notes = append(cs.Notes, domain.CaseEvent{At: c.Now, Who: "customer", What: commentNote + comment})
		}
		cs.Updated = c.Now
		return cs, nil
	})
	if err != nil {
		return "", fmt.Errorf("save feedback %s: %w", id, err)
	}
	if kind != "" {
		j.Observer.Satisfaction(kind, c.Lang(), rating)
	}
	return outOk, nil
}
