package payments

import (
	"context"
	"testing"
	"time"

	"checkout/store"
)

// TestTwoInstancesNeverSendToOneEndpointAtOnce: two services on one
// database stand for two app processes. While the first sends to a hanging
// endpoint, the second leaves that endpoint's next delivery alone (not
// even claimed) and still delivers another merchant's webhook; once the
// first try ends, the next goes out, never beside it.
func TestTwoInstancesNeverSendToOneEndpointAtOnce(t *testing.T) {
	e := newHooksEnv(t, time.Second)
	_, other := e.instance(t, time.Second)
	first := e.queue(t, "slow")
	second := e.queue(t, "slow")

	run := func(svc *Service) {
		ctx, cancel := context.WithCancel(e.ctx)
		returned := make(chan struct{})
		go func() { defer close(returned); svc.RunWebhooks(ctx, time.Hour) }()
		t.Cleanup(func() { cancel(); <-returned })
	}
	run(e.svc)
	select {
	case id := <-e.slow.entered:
		if id != first.ID {
			t.Fatalf("first request to the hanging endpoint carries %s, want %s", id, first.ID)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the hanging endpoint was never called")
	}

	// The second instance starts with the endpoint's second delivery and
	// another merchant's due: its first scan looks at the second delivery
	// (queued earlier) before the other merchant's.
	fast := e.queue(t, "fast")
	run(other)
	select {
	case id := <-e.fast.entered:
		if id != fast.ID {
			t.Fatalf("other merchant received %s, want %s", id, fast.ID)
		}
	case id := <-e.slow.entered:
		t.Fatalf("%s went to the hanging endpoint while %s was in flight there", id, first.ID)
	case <-time.After(10 * time.Second):
		t.Fatal("the other merchant's webhook was not delivered while one endpoint hangs")
	}
	if got, err := e.st.WebhookDelivery(e.ctx, second.ID); err != nil || got.ClaimedUntil != nil || got.Attempts != 0 {
		t.Fatalf("second delivery to the hanging endpoint = %+v, %v; want unclaimed and untried", got, err)
	}

	e.slow.let()
	select {
	case id := <-e.slow.entered:
		if id != second.ID {
			t.Fatalf("second request carries %s, want %s", id, second.ID)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the second delivery never went out after the first ended")
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		d, err := e.st.WebhookDelivery(e.ctx, second.ID)
		if err != nil {
			t.Fatal(err)
		}
		if d.Status == store.DeliveryDelivered {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("second delivery is %s, want delivered", d.Status)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if _, most, ids := e.slow.stats(); most != 1 || len(ids) != 2 {
		t.Fatalf("hanging endpoint: most %d at once, requests %v; want 1 at once, 2 in all", most, ids)
	}
}
