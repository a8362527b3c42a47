package sandbox

import (
	"net/url"
	"strings"
	"testing"

	"checkout/gateway"
)

func TestPokeaPayVerificationSucceedsForAPaidOrderWithItsAmountAndType(t *testing.T) {
	e := newPokeaPayEnv(t, "", nil)
	e.openCheckout(ppParams())
	if err := e.sb.PokeaPayComplete(ppRef, "m", false); err != nil {
		t.Fatal(err)
	}
	for _, amount := range []string{"1500", "1500.0", "1500.00"} {
		if s := e.verifyStatus(ppRef, amount, "m"); s != PokeaPayVerifySuccess {
			t.Errorf("amount %s: status %s, want success %s", amount, s, PokeaPayVerifySuccess)
		}
	}
	// The hash of the OpenSSL vector, spelled out.
	resp, body := e.verifyQuery(url.Values{
		"amount": {"1500.00"}, "hash": {ppReturnHash}, "type": {"m"}, "bill_ref": {ppRef}, "oc": {ppOutlet},
	})
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		t.Errorf("HTTP %d Content-Type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	checkJSON(t, "verification", body, map[string]any{"status": PokeaPayVerifySuccess, "oref": ppRef})
}

func TestPokeaPayVerificationFailsWhenAmountOrTypeDiffer(t *testing.T) {
	e := newPokeaPayEnv(t, "", nil)
	e.openCheckout(ppParams())
	if err := e.sb.PokeaPayComplete(ppRef, "c", false); err != nil {
		t.Fatal(err)
	}
	cases := []struct{ name, amount, typ string }{
		{"wrong amount", "1400.00", "c"},
		{"cents differ", "1500.01", "c"},
		{"no amount", "", "c"},
		{"amount with separator", "1,500.00", "c"},
		{"wrong type", "1500.00", "m"},
		{"no type", "1500.00", ""},
	}
	for _, c := range cases {
		if s := e.verifyStatus(ppRef, c.amount, c.typ); s != PokeaPayVerifyFailed {
			t.Errorf("%s: status %s, want failed %s", c.name, s, PokeaPayVerifyFailed)
		}
	}
	if o, _ := e.sb.PokeaPayOrder(ppRef); o.Status != PokeaPayPaid {
		t.Errorf("verification changed the order: %+v", o)
	}
}

func TestPokeaPayVerificationComparesWithThePaidAmount(t *testing.T) {
	e := newPokeaPayEnv(t, "", nil)
	e.openCheckout(ppParams())
	if err := e.sb.PokeaPayCompleteAmount(ppRef, "m", gateway.Amount(100000), false); err != nil {
		t.Fatal(err)
	}
	if s := e.verifyStatus(ppRef, "1500.00", "m"); s != PokeaPayVerifyFailed {
		t.Errorf("order amount: status %s, want failed", s)
	}
	if s := e.verifyStatus(ppRef, "1000", "m"); s != PokeaPayVerifySuccess {
		t.Errorf("paid amount: status %s, want success", s)
	}
}

func TestPokeaPayVerificationIsPendingForUnknownAndPendingOrders(t *testing.T) {
	e := newPokeaPayEnv(t, "", nil)
	if s := e.verifyStatus("ORD-unknown", "1500.00", "m"); s != PokeaPayVerifyPending {
		t.Errorf("unknown order: status %s, want pending %s", s, PokeaPayVerifyPending)
	}
	e.openCheckout(ppParams())
	if s := e.verifyStatus(ppRef, "1500.00", "m"); s != PokeaPayVerifyPending {
		t.Errorf("pending order: status %s, want pending", s)
	}
	if err := e.sb.PokeaPayDecline(ppRef); err != nil {
		t.Fatal(err)
	}
	if s := e.verifyStatus(ppRef, "1500.00", "m"); s != PokeaPayVerifyFailed {
		t.Errorf("declined order: status %s, want failed", s)
	}
}

func TestPokeaPayVerificationRefusesABadHashOrOutlet(t *testing.T) {
	e := newPokeaPayEnv(t, "", nil)
	e.openCheckout(ppParams())
	if err := e.sb.PokeaPayComplete(ppRef, "m", false); err != nil {
		t.Fatal(err)
	}
	good := func() url.Values {
		return url.Values{"amount": {"1500.00"}, "hash": {ppReturnHash}, "type": {"m"}, "bill_ref": {ppRef}, "oc": {ppOutlet}}
	}
	cases := []struct {
		name, param, value string
		status             int
	}{
		{"wrong hash", "hash", ppHMAC("ORD-other", ppOutlet), 401},
		{"uppercase hash", "hash", strings.ToUpper(ppReturnHash), 401},
		{"checkout hash", "hash", ppCheckoutHash, 401},
		{"no hash", "hash", "", 401},
		{"other outlet", "oc", "OCT99999", 401},
		{"no outlet", "oc", "", 401},
		{"other bill_ref", "bill_ref", "ORD-other", 401}, // the hash is over bill_ref
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			q := good()
			q.Set(c.param, c.value)
			resp, body := e.verifyQuery(q)
			if resp.StatusCode != c.status {
				t.Errorf("HTTP %d, want %d", resp.StatusCode, c.status)
			}
			checkJSON(t, "refusal", body, map[string]any{"error": matches(`.`)})
		})
	}

	q := good()
	q.Set("bill_ref", "")
	q.Set("hash", ppHMAC("", ppOutlet))
	if resp, body := e.verifyQuery(q); resp.StatusCode != 400 || body["error"] != "bill_ref is required" {
		t.Errorf("no bill_ref: HTTP %d %v, want 400", resp.StatusCode, body)
	}
	if n := e.sb.PokeaPayVerifications(); n != len(cases)+1 {
		t.Errorf("PokeaPayVerifications() = %d, want %d (refusals count)", n, len(cases)+1)
	}
}

func TestFailPokeaPayVerificationsAnswers503ThenRecovers(t *testing.T) {
	e := newPokeaPayEnv(t, "", nil)
	e.openCheckout(ppParams())
	if err := e.sb.PokeaPayComplete(ppRef, "m", false); err != nil {
		t.Fatal(err)
	}
	e.sb.FailPokeaPayVerifications(2)
	for i := range 2 {
		resp, body := e.verify(ppRef, "1500.00", "m")
		if resp.StatusCode != 503 {
			t.Errorf("call %d: HTTP %d, want 503", i+1, resp.StatusCode)
		}
		checkJSON(t, "503 answer", body, map[string]any{"error": matches(`.`)})
	}
	if s := e.verifyStatus(ppRef, "1500.00", "m"); s != PokeaPayVerifySuccess {
		t.Errorf("after the failures: status %s, want success", s)
	}
	// The 503 comes before the hash check.
	e.sb.FailPokeaPayVerifications(1)
	if resp, _ := e.verifyQuery(url.Values{"bill_ref": {ppRef}}); resp.StatusCode != 503 {
		t.Errorf("unsigned call while failing: HTTP %d, want 503", resp.StatusCode)
	}
	if n := e.sb.PokeaPayVerifications(); n != 4 {
		t.Errorf("PokeaPayVerifications() = %d, want 4", n)
	}
	if n := e.sb.StatusQueries(); n != 0 {
		t.Errorf("Pesapal StatusQueries() = %d, want 0", n)
	}
}
