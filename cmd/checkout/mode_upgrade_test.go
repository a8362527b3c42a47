package main

import (
	"context"
	"database/sql"
	"errors"
	"io"
	"maps"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	_ "github.com/mattn/go-sqlite3"

	"checkout/store"
)

// asWrittenByThePreviousRelease turns a database into one written by the
// release before the settings table (migration 7): no "mode" row and no
// webhook_env.* rows, with every merchant and checkout left in place.
func asWrittenByThePreviousRelease(t *testing.T, path string) {
	t.Helper()
	db, err := sql.Open("sqlite3", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, q := range []string{`DROP TABLE settings`, `DELETE FROM schema_migrations WHERE version = 7`} {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

// withEnv returns env with the changes applied ("" unsets), leaving env as it
// is.
func withEnv(env map[string]string, changes map[string]string) map[string]string {
	out := maps.Clone(env)
	for k, v := range changes {
		if v == "" {
			delete(out, k)
		} else {
			out[k] = v
		}
	}
	return out
}

// refusedStart runs the app and returns the configuration error that
// stopped it; an app that starts instead is stopped and the test fails.
func refusedStart(t *testing.T, env map[string]string) *configError {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	started := false
	err := run(ctx, func(k string) string { return env[k] }, io.Discard, runOptions{Ready: func(*app) { started = true; cancel() }})
	if started {
		t.Fatal("the app started, want a refusal")
	}
	var ce *configError
	if !errors.As(err, &ce) {
		t.Fatalf("run: %v, want a configuration error", err)
	}
	if strings.Contains(ce.Error(), "\n") {
		t.Fatalf("%q is not one line", ce.Error())
	}
	return ce
}

// storedMode is the mode the database at path remembers ("" when none).
func storedMode(t *testing.T, path string) string {
	t.Helper()
	st, err := store.Open(context.Background(), path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	v, err := st.Setting(context.Background(), settingMode)
	if errors.Is(err, store.ErrNotFound) {
		return ""
	}
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestADatabaseFromBeforeTheModeRecordIsNotClaimedByAnInferredStart: a
// database that holds checkouts but no record of its mode (written by the
// previous release) is refused by a start whose mode was inferred, in
// either mode, with one line naming CHECKOUT_SANDBOX that says how to
// record the mode; the refusal records nothing. A start with
// CHECKOUT_SANDBOX set records that mode, and from then on the other mode
// is refused as on any database, and the recorded mode starts again
// without CHECKOUT_SANDBOX.
func TestADatabaseFromBeforeTheModeRecordIsNotClaimedByAnInferredStart(t *testing.T) {
	for _, tc := range []struct {
		name         string
		held, other  func(*testing.T, string) map[string]string // inferred starts: the mode of the data, and the other
		explicit     string                                     // CHECKOUT_SANDBOX saying the data's mode
		livemode     bool                                       // of the explicit start
		refusedLater string                                     // the refusal of the other mode once recorded
	}{
		// The case: a deployment that ran in test mode (its
		// secrets failed to mount) is started live after the upgrade.
		{"test data", sandboxEnv, liveEnv, "1", false, "was created in test mode and this start is in live mode"},
		{"live data", liveEnv, sandboxEnv, "0", true, "was created in live mode and this start is in test mode"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db := filepath.Join(t.TempDir(), "checkout.db")
			a, stop := runWith(t, tc.held(t, db), runOptions{})
			if status, _, body := call(t, http.MethodPost, a.URL+"/api/v1/checkouts", startupCheckout, true); status != http.StatusCreated {
				t.Fatalf("create a checkout: %d %s", status, body)
			}
			if err := stop(); err != nil {
				t.Fatal(err)
			}
			asWrittenByThePreviousRelease(t, db)

			for _, start := range []struct {
				name string
				env  func(*testing.T, string) map[string]string
			}{{"the other mode", tc.other}, {"the data's own mode", tc.held}} {
				ce := refusedStart(t, start.env(t, db))
				if ce.name != "CHECKOUT_SANDBOX" {
					t.Fatalf("inferred start in %s: %v, want a refusal naming CHECKOUT_SANDBOX", start.name, ce)
				}
				for _, want := range []string{db, "predates the record of a database's mode", "CHECKOUT_SANDBOX=1 if it holds test data",
					"CHECKOUT_SANDBOX=0 if it holds live data"} {
					if !strings.Contains(ce.Error(), want) {
						t.Errorf("inferred start in %s: %q does not say %q", start.name, ce.Error(), want)
					}
				}
				if got := storedMode(t, db); got != "" {
					t.Fatalf("the refused start in %s recorded mode %q", start.name, got)
				}
			}

			// The operator says which mode the data is.
			a, stop = runWith(t, withEnv(tc.held(t, db), map[string]string{"CHECKOUT_SANDBOX": tc.explicit}), runOptions{})
			if a.Service.Livemode() != tc.livemode {
				t.Errorf("CHECKOUT_SANDBOX=%s start: livemode %v, want %v", tc.explicit, a.Service.Livemode(), tc.livemode)
			}
			if err := stop(); err != nil {
				t.Fatal(err)
			}
			if got, want := storedMode(t, db), modeName(!tc.livemode); got != want {
				t.Fatalf("recorded mode %q, want %q", got, want)
			}

			ce := refusedStart(t, tc.other(t, db))
			if ce.name != "CHECKOUT_DB" || !strings.Contains(ce.Error(), tc.refusedLater) {
				t.Errorf("the other mode once recorded: %v, want a refusal naming CHECKOUT_DB saying %q", ce, tc.refusedLater)
			}
			// The recorded mode needs CHECKOUT_SANDBOX no more.
			_, stop = runWith(t, tc.held(t, db), runOptions{})
			if err := stop(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestANewDatabaseTakesTheModeOfItsFirstStart: an empty database, inferred
// or told its mode, records the mode of its first start without asking.
func TestANewDatabaseTakesTheModeOfItsFirstStart(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  func(*testing.T, string) map[string]string
		mode string
	}{
		{"inferred test mode", sandboxEnv, modeTest},
		{"inferred live mode", liveEnv, modeLive},
		{"CHECKOUT_SANDBOX=1", func(t *testing.T, db string) map[string]string {
			return withEnv(sandboxEnv(t, db), map[string]string{"CHECKOUT_SANDBOX": "1"})
		}, modeTest},
		{"CHECKOUT_SANDBOX=0", func(t *testing.T, db string) map[string]string {
			return withEnv(liveEnv(t, db), map[string]string{"CHECKOUT_SANDBOX": "0"})
		}, modeLive},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db := filepath.Join(t.TempDir(), "checkout.db")
			_, stop := runWith(t, tc.env(t, db), runOptions{})
			if err := stop(); err != nil {
				t.Fatal(err)
			}
			if got := storedMode(t, db); got != tc.mode {
				t.Fatalf("recorded mode %q, want %q", got, tc.mode)
			}
		})
	}
}
