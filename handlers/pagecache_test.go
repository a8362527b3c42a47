package handlers

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"testing"

	"github.com/gin-gonic/gin"

	"checkout/templates"
)

func init() { gin.SetMode(gin.TestMode) }

// samplePage is a checkout page with something in every part: methods (one
// disabled), the M-Pesa form, a pending status with its poll URL and note,
// a message and names with characters HTML escapes.
func samplePage() templates.CheckoutPage {
	return templates.CheckoutPage{
		Page:    templates.Page{Title: "Pay Mama <Mboga> & Sons", TestMode: true},
		Summary: templates.Summary{ID: "chk_1", MerchantName: "Mama <Mboga> & Sons", Description: `Two "bags" of maize`, Reference: "ord-1", Amount: "KES 1,500.00"},
		Methods: []templates.MethodOption{
			{Key: "pesapal", Label: "Pay with Pesapal", Hint: "Card, M-Pesa, Airtel Money and more"},
			{Key: "pokeapay", Label: "Pay with PokeaPay", Hint: "M-Pesa or card", Disabled: true, DisabledReason: "Not for USD"},
		},
		Message: "The M-Pesa PIN was wrong & nothing was charged.",
		Pending: true,
		Status: templates.StatusView{ID: "chk_1", Status: "pending", Method: "stk", PollURL: "/c/chk_1/status?while=pending",
			ReceiptURL: "/c/chk_1", Note: "Still waiting for M-Pesa"},
		CancelAction: "/c/chk_1/cancel", PayAction: "/c/chk_1/pay", NeedsContact: true,
		STK: &templates.STKForm{Phone: "0712345678"},
	}
}

// answer gives v this answer's values, as the middleware makes them: a
// base64 nonce, a base64 masked token, a hex request id.
func answer(t testing.TB, v templates.CheckoutPage) templates.CheckoutPage {
	t.Helper()
	var n [18]byte
	var m [64]byte
	var id [8]byte
	rand.Read(n[:])
	rand.Read(m[:])
	rand.Read(id[:])
	v.Nonce, v.CSRF, v.RequestID = base64.StdEncoding.EncodeToString(n[:]), base64.RawURLEncoding.EncodeToString(m[:]), hex.EncodeToString(id[:])
	return v
}

// serve answers v through the cache as the checkout page of id.
func serve(t testing.TB, pc *pageCache, id string, v templates.CheckoutPage) []byte {
	t.Helper()
	w := httptest.NewRecorder()
	c, _ := gin.CreateTestContext(w)
	c.Request = httptest.NewRequest(http.MethodGet, "/c/"+id, nil)
	pc.render(&Handlers{log: slog.New(slog.DiscardHandler)}, c, http.StatusOK, id, v)
	if w.Code != http.StatusOK {
		t.Fatalf("status %d", w.Code)
	}
	return w.Body.Bytes()
}

// templWrites is v rendered by templ.
func templWrites(t *testing.T, v templates.CheckoutPage) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := templates.CheckoutView(v).Render(context.Background(), &b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestRememberedCheckoutPageIsWhatTemplWrites: views after the first, with
// their own nonce, token and request id, are answered from the remembered
// page, byte for byte what templ writes for them.
func TestRememberedCheckoutPageIsWhatTemplWrites(t *testing.T) {
	pc := newPageCache()
	base := samplePage()
	for i := range 5 {
		v := answer(t, base)
		got := serve(t, pc, "chk_1", v)
		if want := templWrites(t, v); !bytes.Equal(got, want) {
			t.Fatalf("view %d differs from templ's page:\n got %s\nwant %s", i, got, want)
		}
		if !bytes.Contains(got, []byte(v.Nonce)) || !bytes.Contains(got, []byte(v.CSRF)) {
			t.Fatalf("view %d lacks its nonce or token", i)
		}
	}
	if pc.pages.Len() != 1 {
		t.Fatalf("%d pages remembered, want 1", pc.pages.Len())
	}
}

// TestRememberedCheckoutPageFollowsEveryField: a view that differs from the
// remembered one in any field (each leaf of CheckoutPage in turn, found by
// reflection, so a field added later is covered) is not the same view and
// gets templ's page for it, never the remembered one.
func TestRememberedCheckoutPageFollowsEveryField(t *testing.T) {
	pc := newPageCache()
	base := samplePage()
	serve(t, pc, "chk_1", answer(t, base))
	n := 0
	eachLeaf(reflect.ValueOf(&base).Elem(), "", func(path string, change func() (undo func())) {
		if path == ".Page.Nonce" || path == ".Page.CSRF" || path == ".Page.RequestID" {
			return
		}
		n++
		before := deepCopy(reflect.ValueOf(base)).Interface().(templates.CheckoutPage)
		undo := change()
		if sameView(&before, &base) {
			t.Errorf("%s changed: still the same view", path)
		}
		v := answer(t, base)
		if got, want := serve(t, pc, "chk_1", v), templWrites(t, v); !bytes.Equal(got, want) {
			t.Errorf("%s changed: the page is not templ's", path)
		}
		undo()
		// And back: the page of the original view again.
		v = answer(t, base)
		if got, want := serve(t, pc, "chk_1", v), templWrites(t, v); !bytes.Equal(got, want) {
			t.Errorf("%s changed back: the page is not templ's", path)
		}
	})
	if n < 30 {
		t.Fatalf("only %d fields changed: the walk misses some", n)
	}
}

// eachLeaf calls f for every string, bool and int reachable in v (structs,
// pointers to structs, the first element of slices, maps), with a change
// that alters it (allocating a nil pointer, a missing element or key) and
// the undo of that change.
func eachLeaf(v reflect.Value, path string, f func(path string, change func() (undo func()))) {
	switch v.Kind() {
	case reflect.Struct:
		for i := range v.NumField() {
			eachLeaf(v.Field(i), path+"."+v.Type().Field(i).Name, f)
		}
	case reflect.Pointer:
		if v.IsNil() {
			f(path, func() func() {
				v.Set(reflect.New(v.Type().Elem()))
				return func() { v.SetZero() }
			})
			return
		}
		eachLeaf(v.Elem(), path, f)
	case reflect.Slice:
		if v.Len() == 0 {
			f(path, func() func() {
				v.Set(reflect.Append(v, reflect.Zero(v.Type().Elem())))
				return func() { v.SetZero() }
			})
			return
		}
		eachLeaf(v.Index(0), path+"[0]", f)
	case reflect.Map:
		f(path, func() func() {
			old := v.Interface()
			m := reflect.MakeMap(v.Type())
			m.SetMapIndex(reflect.ValueOf("method"), reflect.ValueOf("Choose a way to pay <now>"))
			v.Set(m)
			return func() { v.Set(reflect.ValueOf(old)) }
		})
	case reflect.String:
		f(path, func() func() {
			old := v.String()
			v.SetString(old + " changed")
			return func() { v.SetString(old) }
		})
	case reflect.Bool:
		f(path, func() func() {
			v.SetBool(!v.Bool())
			return func() { v.SetBool(!v.Bool()) }
		})
	case reflect.Int, reflect.Int64:
		f(path, func() func() {
			v.SetInt(v.Int() + 1)
			return func() { v.SetInt(v.Int() - 1) }
		})
	}
}

// TestCheckoutPageHoldingAMarkIsNotRemembered: a page whose own text holds
// one of the marks the cache cuts at (it cannot know them, but if it did) is
// answered as templ writes it and never remembered.
func TestCheckoutPageHoldingAMarkIsNotRemembered(t *testing.T) {
	pc := newPageCache()
	base := samplePage()
	base.Message = "look: " + pc.marks[1]
	for range 2 {
		v := answer(t, base)
		if got, want := serve(t, pc, "chk_1", v), templWrites(t, v); !bytes.Equal(got, want) {
			t.Fatal("a page holding a mark is not templ's")
		}
	}
	if pc.pages.Len() != 0 {
		t.Fatal("a page holding a mark was remembered")
	}
}

// TestCheckoutPageWithAnEscapedAnswerValueIsNotRemembered: an answer value
// that HTML escaping changes (never made by the middleware) is rendered by
// templ, not spliced.
func TestCheckoutPageWithAnEscapedAnswerValueIsNotRemembered(t *testing.T) {
	pc := newPageCache()
	v := answer(t, samplePage())
	v.CSRF = `a"b<c`
	if got, want := serve(t, pc, "chk_1", v), templWrites(t, v); !bytes.Equal(got, want) {
		t.Fatal("the page is not templ's")
	}
	if pc.pages.Len() != 0 {
		t.Fatal("a page with an escaped answer value was remembered")
	}
}

// TestRememberedCheckoutPagesAreBounded: at most pageCacheSize pages.
func TestRememberedCheckoutPagesAreBounded(t *testing.T) {
	pc := newPageCache()
	base := samplePage()
	for i := range pageCacheSize + 10 {
		v := answer(t, base)
		v.ID = "chk_" + hex.EncodeToString([]byte{byte(i >> 8), byte(i)})
		serve(t, pc, v.ID, v)
	}
	if n := pc.pages.Len(); n != pageCacheSize {
		t.Fatalf("%d pages remembered, want %d", n, pageCacheSize)
	}
}
