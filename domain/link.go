package domain

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"errors"
	"strconv"
	"strings"
	"time"
)

// LinkTokenTTL is how long a deep-link token is valid.
const LinkTokenTTL = 15 * time.Minute

// LinkToken links a chat to a customer account. The shop's website mints it
// with a secret it shares with parcelbot and hands it to the customer as a
// Telegram deep link (t.me/<bot>?start=<token>); it is valid 15 minutes and
// used once (the nonce is recorded when used).
//
// Encoded as base32(customer) "_" expiry (base 36 unix seconds) "_"
// base32(nonce) "_" base32(mac), unpadded: only characters Telegram allows
// in a /start payload, at most 61 of them for customer ids up to 16 bytes.
type LinkToken struct {
	Customer string
	Expires  time.Time
	Nonce    string
}

var b64 = base32.StdEncoding.WithPadding(base32.NoPadding)

// NewLinkToken mints a token for customerID valid from now.
func NewLinkToken(secret []byte, customerID string, now time.Time) (string, error) {
	if len(customerID) == 0 || len(customerID) > 16 {
		return "", Errorf(EINVALID, "", "customer id must be 1 to 16 bytes")
	}
	var n [6]byte
	if _, err := rand.Read(n[:]); err != nil {
		return "", err
	}
	body := b64.EncodeToString([]byte(customerID)) + "_" + strconv.FormatInt(now.Add(LinkTokenTTL).Unix(), 36) + "_" + b64.EncodeToString(n[:])
	return body + "_" + mac(secret, body), nil
}

func mac(secret []byte, body string) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(body))
	return b64.EncodeToString(m.Sum(nil)[:10])
}

// Link token errors; their locale keys explain to the customer.
var (
	ErrTokenInvalid = &Error{Code: EINVALID, Key: "link.invalid", Op: "link token"}
	ErrTokenExpired = &Error{Code: EINVALID, Key: "link.expired", Op: "link token"}
)

// ParseLinkToken checks a token's form, signature and expiry. It does not
// know whether the token was used: the caller records the nonce.
func ParseLinkToken(secret []byte, s string, now time.Time) (LinkToken, error) {
	if len(s) > 64 || len(secret) == 0 {
		return LinkToken{}, ErrTokenInvalid
	}
	parts := strings.Split(s, "_")
	if len(parts) != 4 {
		return LinkToken{}, ErrTokenInvalid
	}
	body := parts[0] + "_" + parts[1] + "_" + parts[2]
	if !hmac.Equal([]byte(mac(secret, body)), []byte(parts[3])) {
		return LinkToken{}, ErrTokenInvalid
	}
	cust, err := b64.DecodeString(parts[0])
	exp, err2 := strconv.ParseInt(parts[1], 36, 64)
	if err != nil || err2 != nil || len(cust) == 0 {
		return LinkToken{}, ErrTokenInvalid
	}
	t := LinkToken{Customer: string(cust), Expires: time.Unix(exp, 0), Nonce: parts[2]}
	if !now.Before(t.Expires) {
		return t, ErrTokenExpired
	}
	if t.Expires.Sub(now) > LinkTokenTTL+time.Minute {
		return LinkToken{}, errors.Join(ErrTokenInvalid, errors.New("expiry too far ahead"))
	}
	return t, nil
}
