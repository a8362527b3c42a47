package sandbox

import (
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestPhonePageShowsTheMoneyEachPhoneReceived(t *testing.T) {
	e := newSTKEnv(t, nil)
	// 09:26:53 UTC is 12:26:53 in Nairobi.
	b2c := b2cBody(t, "130000", stkPhone, "https://shop.example/cb")
	b2c["transfer"].(map[string]any)["description"] = `Refund <ORD-1> & "more"`
	if resp, raw := e.b2cSendBody(e.stkLogin(), b2c); resp.StatusCode != 200 {
		t.Fatalf("B2C: HTTP %d %s", resp.StatusCode, raw)
	}
	e.clock.Add(time.Minute)
	e.pochiSendOK(e.pochiToken(), pochiSendBody(t, "130000000001", "130000000001", stkPhone2, 2500, "https://shop.example/cb"))
	e.sb.PayoutNext(stkPhone, PayoutFault{Fail: true})
	if resp, raw := e.b2cSendBody(e.stkLogin(), b2cBody(t, "130001", stkPhone, "https://shop.example/cb")); resp.StatusCode != 200 {
		t.Fatalf("failing B2C: HTTP %d %s", resp.StatusCode, raw)
	}

	resp, page := e.getPhone()
	if resp.StatusCode != 200 {
		t.Fatalf("HTTP %d", resp.StatusCode)
	}
	checkPhoneHeaders(t, resp, page)
	pochi, _ := e.sb.PayoutByReference(PayoutPochipay, "130000000001")
	poke, _ := e.sb.PayoutByReference(PayoutPokeaPay, "130000")
	for _, want := range []string{
		"<h2>Money received</h2>",
		`<p class="from">` + stkPhone2 + `</p>`,
		"<strong>KES 2,500</strong> from Pochipay, receipt " + pochi.Receipt + ", 14 Mar 12:27:53 EAT: Refund ORDER-1001",
		`<p class="from">` + stkPhone + `</p>`,
		"<strong>KES 100</strong> from PokeaPay B2C, receipt " + poke.Receipt + ", 14 Mar 12:26:53 EAT: Refund &lt;ORD-1&gt; &amp; &#34;more&#34;",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q:\n%s", want, page)
		}
	}
	// The phone with the latest money comes first; the failed send is not
	// money received.
	if strings.Index(page, stkPhone2) > strings.Index(page, `<p class="from">`+stkPhone+`</p>`) {
		t.Error("the phone with the latest money is not first")
	}
	if n := len(regexp.MustCompile(`receipt SBX`).FindAllString(page, -1)); n != 2 {
		t.Errorf("%d payouts listed, want 2 (the failed one is not money received)", n)
	}
}
