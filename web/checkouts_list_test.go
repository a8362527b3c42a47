package web_test

import (
	"encoding/json"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// TestListCheckoutsPagesTheMerchantsCheckoutsAsGetAnswersThem: GET
// /api/v1/checkouts pages through every checkout of the caller, newest
// first (by id, which sorts by creation time), each item exactly the
// object GET /api/v1/checkouts/{id} answers, has_more true until the last
// page; status and reference narrow it.
func TestListCheckoutsPagesTheMerchantsCheckoutsAsGetAnswersThem(t *testing.T) {
	e := transferEnv(t)
	var ids []string
	for i := range 5 {
		ids = append(ids, e.createCheckout("list-"+strconv.Itoa(i)))
	}
	e.payByIPN(ids[2])
	// Another merchant's checkout, created last: never in the list.
	if st, _, b := e.call(otherAPIKey, http.MethodPost, "/api/v1/checkouts",
		`{"amount":"50","currency":"KES","reference":"list-0","description":"B's"}`, nil); st != http.StatusCreated {
		t.Fatalf("B's checkout: %d %s", st, b)
	}
	newest := slices.Clone(ids)
	slices.Sort(newest)
	slices.Reverse(newest)

	type page struct {
		Data    []json.RawMessage `json:"data"`
		HasMore bool              `json:"has_more"`
	}
	list := func(query string) page {
		t.Helper()
		st, hdr, b := e.call(testAPIKey, http.MethodGet, "/api/v1/checkouts"+query, "", nil)
		if st != http.StatusOK {
			t.Fatalf("GET /api/v1/checkouts%s: %d %s", query, st, b)
		}
		if cc := hdr.Get("Cache-Control"); cc != "no-store" {
			t.Errorf("Cache-Control %q, want no-store", cc)
		}
		var p page
		if err := json.Unmarshal(b, &p); err != nil || p.Data == nil {
			t.Fatalf("not a list: %s", b)
		}
		return p
	}
	sameAsGet := func(item json.RawMessage) string {
		t.Helper()
		id := idOf(t, item)
		_, _, b := e.call(testAPIKey, http.MethodGet, "/api/v1/checkouts/"+id, "", nil)
		var got, want any
		if err := json.Unmarshal(item, &got); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, &want); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("list item %s differs from GET:\n list %s\n  get %s", id, item, b)
		}
		return id
	}

	var got []string
	var mores []bool
	query := "?limit=2"
	for range 5 {
		p := list(query)
		for _, item := range p.Data {
			got = append(got, sameAsGet(item))
		}
		mores = append(mores, p.HasMore)
		if !p.HasMore {
			break
		}
		query = "?limit=2&starting_after=" + got[len(got)-1]
	}
	if !slices.Equal(got, newest) {
		t.Errorf("pages hold %v, want every checkout newest first %v", got, newest)
	}
	if want := []bool{true, true, false}; !slices.Equal(mores, want) {
		t.Errorf("has_more over the pages %v, want %v", mores, want)
	}
	if p := list(""); len(p.Data) != 5 || p.HasMore {
		t.Errorf("default limit: %d items, has_more %v", len(p.Data), p.HasMore)
	}

	for _, tc := range []struct {
		query string
		want  []string
	}{
		{"?status=paid", []string{ids[2]}},
		{"?status=open&limit=100", without(newest, ids[2])},
		{"?status=expired", nil},
		{"?reference=list-3", []string{ids[3]}},
		{"?reference=list-3&status=paid", nil},
		{"?reference=list", nil},
		{"?status=open&starting_after=" + ids[2], without(newest[slices.Index(newest, ids[2])+1:], ids[2])},
	} {
		p := list(tc.query)
		var got []string
		for _, item := range p.Data {
			got = append(got, sameAsGet(item))
		}
		if !slices.Equal(got, tc.want) || p.HasMore {
			t.Errorf("%s: %v (has_more %v), want %v", tc.query, got, p.HasMore, tc.want)
		}
	}
}

func without(ids []string, id string) []string {
	return slices.DeleteFunc(slices.Clone(ids), func(x string) bool { return x == id })
}

// TestListCheckoutsRefusesBadParameters: limit out of range, a status that
// is none, an empty reference (422 naming the field), a starting_after that
// is no checkout of the caller's (404 naming it).
func TestListCheckoutsRefusesBadParameters(t *testing.T) {
	e := transferEnv(t)
	e.createCheckout("bad-params")
	for _, tc := range []struct {
		query  string
		status int
		field  string
	}{
		{"?limit=0", 422, "limit"},
		{"?limit=101", 422, "limit"},
		{"?limit=ten", 422, "limit"},
		{"?status=refunded", 422, "status"},
		{"?status=", 422, "status"},
		{"?status=PAID", 422, "status"},
		{"?reference=", 422, "reference"},
		{"?starting_after=chk_01jp9zz0000000000000000000", 404, "starting_after"},
		{"?starting_after=" + strings.Repeat("x", 40), 404, "starting_after"},
	} {
		st, _, b := e.call(testAPIKey, http.MethodGet, "/api/v1/checkouts"+tc.query, "", nil)
		code, field := errorOf(t, b)
		wantCode := "invalid"
		if tc.status == 404 {
			wantCode = "not_found"
		}
		if st != tc.status || field != tc.field || code != wantCode {
			t.Errorf("%s: %d %s, want %d %s field %s", tc.query, st, b, tc.status, wantCode, tc.field)
		}
	}
}
