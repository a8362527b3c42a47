package locale

import (
	"strconv"
	"strings"
	"time"
)

// Negotiate is the language an Accept-Language header asks for: the
// supported one with the highest weight ("sw", "sw-KE", "sw-TZ" are SW;
// "en", "en-KE" are EN), EN when it names neither. It reads the header in
// place, without allocating.
func Negotiate(header string) Lang {
	best, bestQ := EN, -1.0
	for header != "" {
		var part string
		part, header, _ = strings.Cut(header, ",")
		tag, params, _ := strings.Cut(part, ";")
		tag = strings.TrimSpace(tag)
		primary, _, _ := strings.Cut(tag, "-")
		var l Lang
		switch {
		case strings.EqualFold(primary, "sw"):
			l = SW
		case strings.EqualFold(primary, "en"):
			l = EN
		default:
			continue
		}
		q := 1.0
		if p := strings.TrimSpace(params); p != "" {
			if v, ok := strings.CutPrefix(p, "q="); ok {
				f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
				if err != nil {
					continue
				}
				q = f
			}
		}
		if q > bestQ && q > 0 {
			best, bestQ = l, q
		}
	}
	return best
}

// CookieName is the preference cookie the page's language switch sets.
const CookieName = "checkout_lang"

// FromCookieHeader is the language the preference cookie in a Cookie
// header names, read in place without allocating; false when there is
// none or it names no language.
func FromCookieHeader(header string) (Lang, bool) {
	for header != "" {
		var c string
		c, header, _ = strings.Cut(header, ";")
		name, value, ok := strings.Cut(strings.TrimSpace(c), "=")
		if ok && name == CookieName {
			return Parse(strings.Trim(value, `"`))
		}
	}
	return "", false
}

// Nairobi is East Africa Time (UTC+3, no daylight saving), the customers'
// clock; a fixed zone needs no tzdata on the server.
var Nairobi = time.FixedZone("EAT", 3*60*60)

// DateTime writes t for a customer in l, in Nairobi time, with the day of
// the week: "Saturday, 5 Dec 2026, 14:05 EAT" in English, "Jumamosi, 5
// Desemba 2026, 14:05 EAT" in Swahili (the 24-hour clock: Swahili's own
// hours, counted from 7 in the morning, are not what receipts use in
// Kenya).
func DateTime(l Lang, t time.Time) string {
	t = t.In(Nairobi)
	month := Text(l, "month_"+strconv.Itoa(int(t.Month())))
	return Weekday(l, t) + ", " + strconv.Itoa(t.Day()) + " " + month + " " + strconv.Itoa(t.Year()) + ", " +
		t.Format("15:04") + " EAT"
}

// Weekday names t's day of the week in l (Nairobi time).
func Weekday(l Lang, t time.Time) string {
	return Text(l, "weekday_"+strconv.Itoa(int(t.In(Nairobi).Weekday())))
}
