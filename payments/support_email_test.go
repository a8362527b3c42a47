package payments

import (
	"errors"
	"testing"
)

// TestSupportEmailCannotCarryMailtoFields: the support email is
// written into a mailto: link on every customer page of the merchant
// (templates.supportLine). An "address" whose domain carries ?, = and %
// (all legal atext for net/mail) turns that link into one that adds
// recipients or rewrites the message (mailto:help@shop.co.ke?bcc=...).
func TestSupportEmailCannotCarryMailtoFields(t *testing.T) {
	e := newWhEnv(t, nil)
	for _, email := range []string{
		"help@shop.co.ke?bcc=spy%40evil.example",
		"help@shop.co.ke?subject=Refund&body=Send%20your%20PIN",
	} {
		_, err := e.svc.CreateMerchant(e.ctx, MerchantForm{Name: "Shop", SupportEmail: email, Methods: AllMethods})
		var fe FieldErrors
		if !errors.As(err, &fe) || fe["support_email"] == "" {
			t.Errorf("support email %q: CreateMerchant = %v, want a field error on support_email", email, err)
		}
	}
}

// TestPlainEmailTakesOnlyAnAddressAMailtoLinkReadsAsIs: the support email
// is a plain local@host: nothing that a mailto: URL would read as fields,
// another recipient or an escape.
func TestPlainEmailTakesOnlyAnAddressAMailtoLinkReadsAsIs(t *testing.T) {
	for _, v := range []string{"help@shop.co.ke", "first.last+kenya@mail.example.com", "a-b_c@x-y.co", "Help@Shop.CO.KE"} {
		if !PlainEmail(v) {
			t.Errorf("PlainEmail(%q) = false, want true", v)
		}
	}
	for _, v := range []string{
		"", "help", "help@", "@shop.co.ke", "help@shop", "help@shop.co.ke?bcc=spy@evil.example",
		"help@shop.co.ke?subject=x", "help@shop.co.ke#x", "help%40shop@co.ke", "help@shop%2eco.ke",
		"help@shop.co.ke,spy@evil.example", "help me@shop.co.ke", "help@shop .co.ke", "help@shop.co.ke ",
		"a&b@shop.co.ke", "a=b@shop.co.ke", `"help"@shop.co.ke`, "help@-shop.co.ke", "help@shop-.co.ke",
		"help@shop..co.ke", ".help@shop.co.ke", "help.@shop.co.ke", "he..lp@shop.co.ke", "help@@shop.co.ke",
		"msaada@duka.co.ké", "help@[127.0.0.1]", "<help@shop.co.ke>",
	} {
		if PlainEmail(v) {
			t.Errorf("PlainEmail(%q) = true, want false", v)
		}
	}
}
