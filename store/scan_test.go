package store

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"gorm.io/gorm"
)

// TestScannedModelsNullableColumnsArePointers: the models read by
// modelColumns (scanned straight into their fields) have a pointer field
// for every column that may hold NULL, so that no stored row fails to scan;
// and every field of theirs is a column of the table.
func TestScannedModelsNullableColumnsArePointers(t *testing.T) {
	s, _ := newTestEnv(t)
	columns := `SELECT name, "notnull", pk FROM pragma_table_info(?)`
	if isPostgres(s.w) {
		columns = `SELECT column_name AS name, CASE is_nullable WHEN 'NO' THEN 1 ELSE 0 END AS "notnull", 0 AS pk
			FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = ?`
	}
	for table, model := range map[string]any{"attempts": &Attempt{}, "checkouts": &Checkout{}} {
		var cols []struct {
			Name    string
			Notnull int
			Pk      int
		}
		if err := s.w.Raw(columns, table).Scan(&cols).Error; err != nil {
			t.Fatal(err)
		}
		notNull := map[string]bool{}
		for _, c := range cols {
			// SQLite lets a TEXT PRIMARY KEY hold NULL, but the query finds
			// rows by their id (attempts.id = ?, checkouts.id = checkout_id).
			notNull[c.Name] = c.Notnull == 1 || c.Pk > 0
		}
		mc, err := newModelColumns(model)
		if err != nil {
			t.Fatal(err)
		}
		rt := reflect.TypeOf(model).Elem()
		for i, name := range mc.names {
			nn, ok := notNull[name]
			if !ok {
				t.Errorf("%s: the model's column %s is not in the table", table, name)
				continue
			}
			if f := rt.FieldByIndex(mc.index[i]); !nn && f.Type.Kind() != reflect.Pointer {
				t.Errorf("%s.%s may be NULL but the model's field %s is a %s, not a pointer", table, name, f.Name, f.Type)
			}
		}
	}
}

// TestScannedReadsAreGORMsReads: Checkout, AttemptByProviderReference and
// lockAttempt (scanned straight into the models) give, field by field, what
// GORM's own First gives: a pending attempt (next check set, paid_at NULL)
// and, once paid, every field set. Unknown ids are ErrNotFound.
func TestScannedReadsAreGORMsReads(t *testing.T) {
	ctx := context.Background()
	s, clk := newTestEnv(t)
	s = s.WithWebhookPayload(recordingPayload)
	co := newCheckout(t, s, func(co *Checkout) {
		co.CustomerName, co.CustomerEmail, co.CustomerPhone = "Wanjiru Kamau", "wanjiru@example.com", "254712345678"
		co.SuccessURL, co.CancelURL, co.Metadata, co.Methods = "https://shop.example/ok", "https://shop.example/back", `{"order":"7"}`, "mpesa,card"
	})
	a := startAttempt(t, s, co.ID, "pesapal", "pesapal", time.Minute)
	if err := s.AttemptStarted(ctx, a.ID, "track-1", "https://pay.example/1", "{}"); err != nil {
		t.Fatal(err)
	}
	check := func(t *testing.T) {
		var wantCo Checkout
		var wantA Attempt
		if err := s.r.First(&wantCo, "id = ?", co.ID).Error; err != nil {
			t.Fatal(err)
		}
		if err := s.r.First(&wantA, "id = ?", a.ID).Error; err != nil {
			t.Fatal(err)
		}
		gotCo, err := s.Checkout(ctx, co.ID)
		if err != nil {
			t.Fatalf("Checkout: %v", err)
		}
		assertFields(t, "Checkout", *gotCo, wantCo)
		gotA, err := s.AttemptByProviderReference(ctx, "pesapal", wantA.ProviderReference)
		if err != nil {
			t.Fatalf("AttemptByProviderReference: %v", err)
		}
		assertFields(t, "AttemptByProviderReference", *gotA, wantA)
		var lockedCo *Checkout
		var lockedA *Attempt
		if err := s.tx(ctx, func(tx *gorm.DB) (err error) {
			lockedCo, lockedA, err = lockAttempt(tx, a.ID)
			return err
		}); err != nil {
			t.Fatalf("lockAttempt: %v", err)
		}
		assertFields(t, "lockAttempt's checkout", *lockedCo, wantCo)
		assertFields(t, "lockAttempt's attempt", *lockedA, wantA)
	}
	t.Run("pending", check)
	clk.Advance(time.Second)
	applyResult(t, s, a.ID, succeeded(a, "QK1"))
	t.Run("paid", check)

	if _, err := s.Checkout(ctx, "chk_unknown"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Checkout(unknown): err = %v, want ErrNotFound", err)
	}
	if _, err := s.AttemptByProviderReference(ctx, "pesapal", "track-unknown"); !errors.Is(err, ErrNotFound) {
		t.Errorf("AttemptByProviderReference(unknown): err = %v, want ErrNotFound", err)
	}
}

// TestInsertEventsStoresEveryColumnAndSetsIDs: events inserted together
// (the notification, the status query and the transition of a paid IPN)
// are stored column for column, in their order, and each gets its row's id;
// one alone too.
func TestInsertEventsStoresEveryColumnAndSetsIDs(t *testing.T) {
	ctx := context.Background()
	s, _ := newTestEnv(t)
	co := newCheckout(t, s, nil)
	at := s.Now().Add(-time.Minute)
	evs := []Event{
		{CheckoutID: co.ID, AttemptID: "att_1", Kind: EventNotification, Source: "ipn:pesapal", Message: "Pesapal ipnchange",
			Payload: `{"OrderTrackingId":"t-1"}`, CreatedAt: at},
		{CheckoutID: co.ID, AttemptID: "att_1", Kind: EventStatusQuery, Source: "ipn:pesapal", Message: "COMPLETED",
			Payload: `{"status_code":1}`, CreatedAt: at.Add(time.Millisecond)},
		{CheckoutID: co.ID, AttemptID: "att_1", Kind: EventTransition, Source: "ipn:pesapal", FromStatus: "pending",
			ToStatus: "paid", Message: "payment confirmed", CreatedAt: at.Add(2 * time.Millisecond)},
	}
	one := Event{CheckoutID: co.ID, Kind: EventAttempt, Source: "customer", Message: "alone", CreatedAt: at}
	if err := s.tx(ctx, func(tx *gorm.DB) error {
		if err := s.addEvents(tx, evs); err != nil {
			return err
		}
		return s.addEvent(tx, &one)
	}); err != nil {
		t.Fatal(err)
	}
	want := append(append([]Event(nil), evs...), one)
	for i, ev := range want {
		if ev.ID == 0 || (i > 0 && ev.ID <= want[i-1].ID) {
			t.Fatalf("ids %d: event %d has id %d, want set and ascending", len(want), i, ev.ID)
		}
	}
	var got []Event
	if err := s.r.Where("checkout_id = ? AND kind <> ?", co.ID, EventCreated).Order("id").Find(&got).Error; err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("stored %d events, want %d", len(got), len(want))
	}
	for i := range want {
		assertFields(t, "event "+want[i].Kind, got[i], want[i])
	}
}

// TestInsertDeliveryStoresEveryColumn: the outbox row written with a
// status change is stored column for column, times and NULLs included.
func TestInsertDeliveryStoresEveryColumn(t *testing.T) {
	ctx := context.Background()
	s, _ := newTestEnv(t)
	co := newCheckout(t, s, nil)
	now := s.Now()
	later := now.Add(time.Minute)
	for _, d := range []WebhookDelivery{
		{ID: NewID("msg", now), MerchantID: testMerchantID, CheckoutID: co.ID, EventType: "checkout.paid",
			Payload: `{"type":"checkout.paid"}`, Status: DeliveryPending, NextAttemptAt: &now, CreatedAt: now},
		{ID: NewID("msg", now), MerchantID: testMerchantID, CheckoutID: co.ID, EventType: "checkout.expired",
			Payload: `{}`, Status: DeliveryPending, Attempts: 2, NextAttemptAt: &later, ClaimedUntil: &later,
			LastStatusCode: 503, LastError: "HTTP 503", CreatedAt: now, DeliveredAt: &later},
	} {
		if err := s.tx(ctx, func(tx *gorm.DB) error { return insertDelivery(tx, &d) }); err != nil {
			t.Fatal(err)
		}
		var got WebhookDelivery
		if err := s.r.First(&got, "id = ?", d.ID).Error; err != nil {
			t.Fatal(err)
		}
		assertFields(t, "delivery "+d.EventType, got, d)
	}
}

// TestUpdateGuardedWritesOnlyOverTheStatusRead: the guarded update of a
// status change writes every field given (a time, NULL, a string) on the
// row whose status is the one read, and nothing, reporting 0 rows, when the
// status moved on; an expression is written too (GORM's path).
func TestUpdateGuardedWritesOnlyOverTheStatusRead(t *testing.T) {
	ctx := context.Background()
	s, clk := newTestEnv(t)
	co := newCheckout(t, s, nil)
	a := startAttempt(t, s, co.ID, "pesapal", "pesapal", time.Minute)
	clk.Advance(time.Second)
	now := s.Now()
	update := func(fields map[string]any, status AttemptStatus) int64 {
		t.Helper()
		var n int64
		if err := s.tx(ctx, func(tx *gorm.DB) (err error) {
			n, err = updateGuarded(tx, &Attempt{}, "attempts", fields, a.ID, status)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := update(map[string]any{"status": AttemptSucceeded, "receipt": "QK1", "next_check_at": nil, "updated_at": now},
		AttemptPending); n != 1 {
		t.Fatalf("update over the status read: %d rows, want 1", n)
	}
	want := loadAttempt(t, s, a.ID)
	if want.Status != AttemptSucceeded || want.Receipt != "QK1" || want.NextCheckAt != nil || !want.UpdatedAt.Equal(now) {
		t.Fatalf("after the update: %+v", want)
	}
	if n := update(map[string]any{"status": AttemptFailed, "message": "late"}, AttemptPending); n != 0 {
		t.Fatalf("update over a stale status: %d rows, want 0", n)
	}
	assertFields(t, "after a stale update", loadAttempt(t, s, a.ID), want)
	if n := update(map[string]any{"checks": gorm.Expr("checks + 1")}, AttemptSucceeded); n != 1 {
		t.Fatalf("update with an expression: %d rows, want 1", n)
	}
	if got := loadAttempt(t, s, a.ID); got.Checks != want.Checks+1 {
		t.Fatalf("checks = %d, want %d", got.Checks, want.Checks+1)
	}
}
