package locale

import (
	"regexp"
	"strconv"
	"strings"
	"sync"
)

// The payments layer stores the messages customers read in English (the
// API and the admin show them as they are) and writes them from the
// English catalog (payments' msg_* ids). Translate finds the message back
// from its English text, so that a customer page shows it in the page's
// language without the message id being stored anywhere.

// pattern matches one English form of a message with placeholders.
type pattern struct {
	id    string
	re    *regexp.Regexp
	names []string
}

// reverse is the English catalog read backwards: exact texts, and the
// patterns of the payments messages with placeholders.
type reverse struct {
	exact    map[string]string
	patterns []pattern
}

var rev = buildReverse()

func buildReverse() *reverse {
	r := &reverse{exact: map[string]string{}}
	for _, msg := range cat.en {
		for _, form := range []string{msg.Zero, msg.One, msg.Two, msg.Few, msg.Many, msg.Other} {
			if form == "" {
				continue
			}
			if !strings.Contains(form, "{{") {
				r.exact[form] = msg.ID
				continue
			}
			if !strings.HasPrefix(msg.ID, "msg_") {
				continue
			}
			var names []string
			// The placeholders become NULs, the rest is quoted, the NULs
			// become groups.
			expr := "^" + regexp.QuoteMeta(placeholderRE.ReplaceAllString(form, "\x00")) + "$"
			for _, m := range placeholderRE.FindAllStringSubmatch(form, -1) {
				names = append(names, m[1])
			}
			expr = strings.ReplaceAll(expr, "\x00", "(.+?)")
			r.patterns = append(r.patterns, pattern{id: msg.ID, re: regexp.MustCompile(expr), names: names})
		}
	}
	return r
}

// translated remembers what Translate found for the texts customers see
// (a checkout's message is shown on every view of its page): bounded, and
// emptied when full.
var translated = struct {
	sync.RWMutex
	m map[[2]string]translation
}{m: map[[2]string]translation{}}

type translation struct {
	s  string
	ok bool
}

const translatedMax = 4096

// Translate is s, an English catalog message with its placeholders filled,
// in l; false (and s) when s is not one.
func Translate(l Lang, s string) (string, bool) {
	l = l.Or()
	if id, ok := rev.exact[s]; ok {
		return Text(l, id), true
	}
	if l == EN {
		return s, false
	}
	k := [2]string{string(l), s}
	translated.RLock()
	t, ok := translated.m[k]
	translated.RUnlock()
	if ok {
		return t.s, t.ok
	}
	t = translation{s: s}
	for _, p := range rev.patterns {
		m := p.re.FindStringSubmatch(s)
		if m == nil {
			continue
		}
		args := make([]string, 0, 2*len(p.names))
		count := -1
		for i, name := range p.names {
			args = append(args, name, m[i+1])
			if name == "Count" {
				if n, err := strconv.Atoi(m[i+1]); err == nil {
					count = n
				}
			}
		}
		if count >= 0 {
			t = translation{s: fill(PluralForm(l, p.id, count), args...), ok: true}
		} else {
			t = translation{s: Format(l, p.id, args...), ok: true}
		}
		break
	}
	translated.Lock()
	if len(translated.m) >= translatedMax {
		clear(translated.m)
	}
	translated.m[k] = t
	translated.Unlock()
	return t.s, t.ok
}
