package locale

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	goi18n "github.com/nicksnyder/go-i18n/v2/i18n"
)

// formsOf are a message's forms by plural category, the empty ones left out.
func formsOf(l Lang, id string) map[string]string {
	out := map[string]string{}
	for _, msg := range loadedMessages(l) {
		if msg.ID != id {
			continue
		}
		for cat, s := range map[string]string{"zero": msg.Zero, "one": msg.One, "two": msg.Two, "few": msg.Few, "many": msg.Many, "other": msg.Other} {
			if s != "" {
				out[cat] = s
			}
		}
	}
	return out
}

func TestEveryMessageIsInEveryLanguage(t *testing.T) {
	for _, l := range Langs {
		for _, id := range IDs() {
			if s, ok := cat.text[l][id]; !ok || strings.TrimSpace(s) == "" {
				t.Errorf("%s lacks message %q", l, id)
			}
		}
		for id := range cat.text[l] {
			if !Has(id) {
				t.Errorf("%s has message %q, which English lacks", l, id)
			}
		}
	}
}

func TestTranslationsUseTheSamePlaceholders(t *testing.T) {
	for _, id := range IDs() {
		want := placeholdersIn(formsOf(EN, id))
		for _, l := range Langs[1:] {
			if got := placeholdersIn(formsOf(l, id)); !slices.Equal(got, want) {
				t.Errorf("%s %q uses placeholders %v, English %v", l, id, got, want)
			}
		}
	}
}

func placeholdersIn(forms map[string]string) []string {
	var names []string
	for _, s := range forms {
		for _, m := range placeholderRE.FindAllStringSubmatch(s, -1) {
			if !slices.Contains(names, m[1]) {
				names = append(names, m[1])
			}
		}
	}
	slices.Sort(names)
	return names
}

// TestCountedMessagesHaveEveryPluralForm asks go-i18n for every counted
// message in every language for counts that reach each plural category of
// English and Swahili (one, other): a missing form is an error there.
func TestCountedMessagesHaveEveryPluralForm(t *testing.T) {
	counted := 0
	for _, id := range IDs() {
		if formsOf(EN, id)["one"] == "" {
			continue
		}
		counted++
		for _, l := range Langs {
			if _, ok := formsOf(l, id)["other"]; !ok {
				t.Errorf("%s %q has no form other", l, id)
			}
			for _, n := range []int{0, 1, 2, 5, 11, 21, 100} {
				data := map[string]any{}
				for _, p := range cat.placeholders[id] {
					data[p] = "x"
				}
				data["Count"] = n
				if _, err := localize(l, id, data, n); err != nil {
					t.Errorf("%s %q for %d: %v", l, id, n, err)
				}
			}
		}
	}
	if counted == 0 {
		t.Fatal("no counted message found: the test looks at nothing")
	}
}

// TestFormatIsGoI18nTemplateExecution holds Format's plain replacement to
// what go-i18n's own template execution writes, for every message.
func TestFormatIsGoI18nTemplateExecution(t *testing.T) {
	for _, id := range IDs() {
		if formsOf(EN, id)["one"] != "" {
			continue // counted: Plural
		}
		for _, l := range Langs {
			var args []string
			data := map[string]any{}
			for _, p := range cat.placeholders[id] {
				args = append(args, p, "<"+p+" & value>")
				data[p] = "<" + p + " & value>"
			}
			want, err := localize(l, id, data, nil)
			if err != nil {
				t.Fatalf("%s %q: %v", l, id, err)
			}
			if got := Format(l, id, args...); got != want {
				t.Errorf("%s %q: Format %q, go-i18n %q", l, id, got, want)
			}
		}
	}
}

func TestPluralPicksTheFormAndFillsIt(t *testing.T) {
	cases := []struct {
		l    Lang
		n    int
		want string
	}{
		{EN, 1, "You have asked for 1 M-Pesa prompt on 0712 345 678 in the last 10 minutes. Wait a few minutes, or use another number."},
		{EN, 3, "You have asked for 3 M-Pesa prompts on 0712 345 678 in the last 10 minutes. Wait a few minutes, or use another number."},
		{SW, 1, "Umeomba ombi 1 la M-Pesa kwenye 0712 345 678 katika dakika 10 zilizopita. Subiri dakika chache, au tumia nambari nyingine."},
		{SW, 3, "Umeomba maombi 3 ya M-Pesa kwenye 0712 345 678 katika dakika 10 zilizopita. Subiri dakika chache, au tumia nambari nyingine."},
	}
	for _, tc := range cases {
		if got := Plural(tc.l, "msg_stk_too_many", tc.n, "Phone", "0712 345 678"); got != tc.want {
			t.Errorf("%s %d: %q, want %q", tc.l, tc.n, got, tc.want)
		}
	}
	if got := PluralForm(SW, "stk_countdown", 60); got != "Ombi litakaa kwenye simu yako kwa takriban sekunde {{.Count}}." {
		t.Errorf("PluralForm kept no placeholder: %q", got)
	}
}

func TestNegotiateAcceptLanguage(t *testing.T) {
	cases := map[string]Lang{
		"":                         EN,
		"sw":                       SW,
		"sw-KE":                    SW,
		"SW-ke,en;q=0.8":           SW,
		"sw-TZ;q=0.9, en;q=0.5":    SW,
		"en-KE,en;q=0.9,sw;q=0.8":  EN,
		"en;q=0.5, sw;q=0.7":       SW,
		"fr-FR, sw;q=0.4":          SW,
		"fr, de":                   EN,
		"sw;q=0":                   EN,
		"sw;q=abc, en":             EN,
		"*":                        EN,
		"swa":                      EN,
		" sw-KE ; q=1.0 , en;q=.1": SW,
	}
	for h, want := range cases {
		if got := Negotiate(h); got != want {
			t.Errorf("Negotiate(%q) = %q, want %q", h, got, want)
		}
	}
}

func TestFromCookieHeader(t *testing.T) {
	cases := []struct {
		h    string
		want Lang
		ok   bool
	}{
		{"", "", false},
		{"checkout_lang=sw", SW, true},
		{"a=b; checkout_lang=en; c=d", EN, true},
		{"checkout_lang=fr", "", false},
		{"xcheckout_lang=sw", "", false},
		{`checkout_lang="sw"`, SW, true},
	}
	for _, tc := range cases {
		got, ok := FromCookieHeader(tc.h)
		if got != tc.want || ok != tc.ok {
			t.Errorf("FromCookieHeader(%q) = %q %v, want %q %v", tc.h, got, ok, tc.want, tc.ok)
		}
	}
}

func TestDateTimeIsNairobiTimeInTheLanguage(t *testing.T) {
	at := time.Date(2026, 12, 5, 11, 5, 0, 0, time.UTC) // 14:05 in Nairobi, a Saturday
	cases := []struct {
		l             Lang
		want, weekday string
	}{
		{EN, "Saturday, 5 Dec 2026, 14:05 EAT", "Saturday"},
		{SW, "Jumamosi, 5 Desemba 2026, 14:05 EAT", "Jumamosi"},
	}
	for _, tc := range cases {
		if got := DateTime(tc.l, at); got != tc.want {
			t.Errorf("DateTime(%s) = %q, want %q", tc.l, got, tc.want)
		}
		if got := Weekday(tc.l, at); got != tc.weekday {
			t.Errorf("Weekday(%s) = %q, want %q", tc.l, got, tc.weekday)
		}
	}
	// Late evening UTC is the next day in Nairobi.
	if got := DateTime(SW, time.Date(2026, 1, 31, 22, 30, 0, 0, time.UTC)); got != "Jumapili, 1 Februari 2026, 01:30 EAT" {
		t.Errorf("across midnight: %q", got)
	}
}

func TestTranslateFindsPaymentsMessagesBack(t *testing.T) {
	cases := []struct {
		in, want string
		ok       bool
	}{
		{Text(EN, "msg_stk_1032"), Text(SW, "msg_stk_1032"), true},
		{Format(EN, "msg_stk_on_other_phone", "Phone", "0712 345 678"), Format(SW, "msg_stk_on_other_phone", "Phone", "0712 345 678"), true},
		{Plural(EN, "msg_stk_too_many", 3, "Phone", "0700 000 001"), Plural(SW, "msg_stk_too_many", 3, "Phone", "0700 000 001"), true},
		{Format(EN, "msg_amount_min", "Min", "KES 1,500.00"), "Kiasi kisipungue KES 1,500.00.", true},
		{"Insufficient funds in the card account", "Insufficient funds in the card account", false},
	}
	for _, tc := range cases {
		got, ok := Translate(SW, tc.in)
		if got != tc.want || ok != tc.ok {
			t.Errorf("Translate(sw, %q) = %q %v, want %q %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
	if got, ok := Translate(EN, Text(EN, "msg_stk_2001")); got != Text(EN, "msg_stk_2001") || !ok {
		t.Errorf("English stays English: %q %v", got, ok)
	}
}

func TestContextCarriesTheLanguage(t *testing.T) {
	ctx := context.Background()
	if From(ctx) != EN || T(ctx, "lang_switch") != "Language" {
		t.Errorf("no language in the context: %q", From(ctx))
	}
	ctx = With(ctx, SW)
	if From(ctx) != SW || T(ctx, "lang_switch") != "Lugha" {
		t.Errorf("Swahili in the context: %q %q", From(ctx), T(ctx, "lang_switch"))
	}
}

func TestParseTakesOnlyTheCatalogLanguages(t *testing.T) {
	for s, ok := range map[string]bool{"en": true, "sw": true, "": false, "SW": false, "sw-KE": false, "fr": false} {
		if _, got := Parse(s); got != ok {
			t.Errorf("Parse(%q) ok = %v, want %v", s, got, ok)
		}
	}
}

func loadedMessages(l Lang) []*goi18n.Message { return cat.all[l] }

func TestFormatFillsOnceAndLeavesUnknownPlaceholders(t *testing.T) {
	if got := Format(EN, "mail_subject", "Merchant", "{{.Amount}} Shop", "Amount", "KES 1.00"); got != "Receipt from {{.Amount}} Shop: KES 1.00" {
		t.Errorf("a value was read for placeholders: %q", got)
	}
	if got := Format(SW, "mail_subject", "Merchant", "Duka"); got != "Risiti kutoka Duka: {{.Amount}}" {
		t.Errorf("an unknown placeholder: %q", got)
	}
}
