package domain

import (
	"fmt"
	"strings"
	"time"
)

// SupportHours are when agents work for one language market, in its zone.
type SupportHours struct {
	TZ          *time.Location
	Days        [7]bool // Sunday first
	Open, Close int     // minutes after midnight; Close > Open
}

var dayNames = []string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}

// ParseSupportHours reads "mon-fri 08:00-20:00" (also "mon-sat", "daily",
// "mon,wed,fri 09:00-17:00", "24/7") in the zone tz.
func ParseSupportHours(spec, tz string) (SupportHours, error) {
	loc, err := time.LoadLocation(tz)
	if err != nil {
		return SupportHours{}, fmt.Errorf("support hours: unknown time zone %q", tz)
	}
	h := SupportHours{TZ: loc}
	spec = strings.ToLower(strings.TrimSpace(spec))
	if spec == "24/7" {
		h.Days = [7]bool{true, true, true, true, true, true, true}
		h.Close = 24 * 60
		return h, nil
	}
	days, clock, ok := strings.Cut(spec, " ")
	if !ok {
		return h, fmt.Errorf("support hours %q: want e.g. \"mon-fri 08:00-20:00\" or \"24/7\"", spec)
	}
	if h.Days, err = parseDays(days); err != nil {
		return h, fmt.Errorf("support hours %q: %w", spec, err)
	}
	o, c, ok := strings.Cut(strings.TrimSpace(clock), "-")
	ot, err1 := time.Parse("15:04", o)
	ct, err2 := time.Parse("15:04", c)
	if !ok || err1 != nil || (err2 != nil && c != "24:00") {
		return h, fmt.Errorf("support hours %q: bad times %q", spec, clock)
	}
	h.Open = ot.Hour()*60 + ot.Minute()
	h.Close = 24 * 60
	if c != "24:00" {
		h.Close = ct.Hour()*60 + ct.Minute()
	}
	if h.Close <= h.Open {
		return h, fmt.Errorf("support hours %q: closing is not after opening", spec)
	}
	return h, nil
}

// ParseDays reads "mon-fri", "sat,sun" or "daily" into a Sunday-first week.
func parseDays(s string) ([7]bool, error) {
	var d [7]bool
	if s == "daily" {
		return [7]bool{true, true, true, true, true, true, true}, nil
	}
	idx := func(n string) int {
		for i, x := range dayNames {
			if x == n {
				return i
			}
		}
		return -1
	}
	for _, part := range strings.Split(s, ",") {
		a, b, isRange := strings.Cut(part, "-")
		ia, ib := idx(a), idx(b)
		if !isRange {
			ib = ia
		}
		if ia < 0 || ib < 0 {
			return d, fmt.Errorf("unknown day in %q", part)
		}
		for i := ia; ; i = (i + 1) % 7 {
			d[i] = true
			if i == ib {
				break
			}
		}
	}
	return d, nil
}

// IsOpen reports whether agents work at t.
func (h SupportHours) IsOpen(t time.Time) bool {
	if h.TZ == nil {
		return true
	}
	lt := t.In(h.TZ)
	m := lt.Hour()*60 + lt.Minute()
	return h.Days[lt.Weekday()] && m >= h.Open && m < h.Close
}

// NextOpen returns when agents are next at work, at or after t.
func (h SupportHours) NextOpen(t time.Time) time.Time {
	if h.IsOpen(t) || h.TZ == nil {
		return t
	}
	lt := t.In(h.TZ)
	for i := 0; i < 8; i++ {
		y, mo, d := lt.Date()
		day := time.Date(y, mo, d+i, 0, 0, 0, 0, h.TZ)
		open := time.Date(y, mo, d+i, h.Open/60, h.Open%60, 0, 0, h.TZ)
		if h.Days[day.Weekday()] && open.After(t) {
			return open
		}
	}
	return t
}
