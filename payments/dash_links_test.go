package payments

import (
	"context"
	"testing"
	"time"

	"checkout/store"
)

// Every dashboard figure links to the orders behind it. The failure
// reasons count the checkouts whose attempts failed in the period, by when
// the payment was tried: a checkout created just before Nairobi midnight
// whose prompt failed just after it is today's, and the list the figure
// links to (failure=, failed_from, failed_to: the period's days) shows it,
// once however often it failed.
func TestDashboardFailureFigureMatchesTheListItLinksTo(t *testing.T) {
	e := newDashEnv(t)
	e.at(9, 23, 55, 0) // 9 March 23:55 EAT: the customer opens the checkout
	co := e.order(10_000)
	e.at(10, 0, 5, 0) // 10 March 00:05 EAT: tries STK, cancels the prompt
	a := e.try(co, "stk", "pokeapay")
	e.result(a, store.Result{Status: store.AttemptFailed, Message: dashCancelled}, store.OutcomeFailed)
	e.at(10, 0, 6, 0) // and again
	a = e.try(co, "stk", "pokeapay")
	e.result(a, store.Result{Status: store.AttemptFailed, Message: dashCancelled}, store.OutcomeFailed)
	e.at(10, 10, 0, 0)

	ctx := context.Background()
	d, err := e.svc.Dashboard(ctx, PeriodToday)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Failures) != 1 || d.Failures[0].Count != 1 {
		t.Fatalf("dashboard failures today: %+v, want one checkout", d.Failures)
	}
	// What /admin/orders?failure=...&failed_from=FirstDay&failed_to=LastDay
	// selects (handlers.parseOrderFilter: Nairobi days, the last inclusive).
	first, err := time.ParseInLocation(time.DateOnly, d.FirstDay, eat)
	if err != nil {
		t.Fatal(err)
	}
	last, err := time.ParseInLocation(time.DateOnly, d.LastDay, eat)
	if err != nil {
		t.Fatal(err)
	}
	pg, err := e.svc.OrdersPage(ctx, OrderFilter{Failure: d.Failures[0].Message, FailedFrom: first,
		FailedTo: last.AddDate(0, 0, 1), Limit: 50})
	if err != nil {
		t.Fatal(err)
	}
	if int64(len(pg.Rows)) != d.Failures[0].Count {
		t.Fatalf("the failure figure says %d and links to a list of %d orders", d.Failures[0].Count, len(pg.Rows))
	}
	// Yesterday's list, by when the payment failed, does not show it.
	pg, err = e.svc.OrdersPage(ctx, OrderFilter{Failure: d.Failures[0].Message, FailedFrom: first.AddDate(0, 0, -1),
		FailedTo: first, Limit: 50})
	if err != nil {
		t.Fatal(err)
	}
	if len(pg.Rows) != 0 {
		t.Fatalf("yesterday's failures list %d orders, want none", len(pg.Rows))
	}
}
