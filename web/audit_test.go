package web_test

import (
	"context"
	"strings"

	"checkout/payments"
)

// wantAudit finds the newest audit entry of action on objectID and checks
// who (actor's email and id), what (object type) and from where (the test
// client's loopback address). It returns the entry.
func (e *env) wantAudit(action, objectType, objectID, actor string) payments.AuditEntry {
	e.t.Helper()
	es, err := e.svc.AuditEntries(context.Background(), payments.AuditFilter{Action: action, ObjectID: objectID})
	if err != nil {
		e.t.Fatal(err)
	}
	if len(es) == 0 {
		all, _ := e.svc.AuditEntries(context.Background(), payments.AuditFilter{})
		e.t.Fatalf("no audit entry %s on %s; the log holds %+v", action, objectID, all)
	}
	got := es[0]
	if got.ActorEmail != actor || got.ObjectType != objectType || got.IP != "127.0.0.1" {
		e.t.Errorf("audit %s on %s = actor %q type %q ip %q, want %q %q 127.0.0.1", action, objectID,
			got.ActorEmail, got.ObjectType, got.IP, actor, objectType)
	}
	u, err := e.store.AdminByEmail(context.Background(), actor)
	if err != nil {
		e.t.Fatal(err)
	}
	if got.ActorID != u.ID {
		e.t.Errorf("audit %s actor id = %q, want %q", action, got.ActorID, u.ID)
	}
	if got.CreatedAt.IsZero() {
		e.t.Errorf("audit %s has no time", action)
	}
	return got
}

// noSecretIn fails when an audit entry's detail holds secret.
func (e *env) noSecretIn(secret string) {
	e.t.Helper()
	if secret == "" {
		e.t.Fatal("noSecretIn: empty secret")
	}
	es, err := e.svc.AuditEntries(context.Background(), payments.AuditFilter{Limit: 200})
	if err != nil {
		e.t.Fatal(err)
	}
	for _, en := range es {
		if strings.Contains(en.Detail, secret) || strings.Contains(en.ObjectID, secret) {
			e.t.Errorf("audit entry %s holds a secret: %+v", en.Action, en)
		}
	}
}
