package main

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"checkout/store"
	"checkout/store/storetest"
)

func envOf(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

// openSeeded opens the database a seed command wrote, for checking.
func openSeeded(t *testing.T, path string) *store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func countOrders(t *testing.T, st *store.Store) int {
	t.Helper()
	n := 0
	f := store.OrderFilter{Limit: 200}
	for {
		rows, more, err := st.ListCheckouts(context.Background(), f)
		if err != nil {
			t.Fatal(err)
		}
		n += len(rows)
		if !more {
			return n
		}
		f.After = rows[len(rows)-1].ID
	}
}

func TestSeedCommandMakesANewDatabaseATestModeOneWithOrders(t *testing.T) {
	path := filepath.Join(t.TempDir(), "seeded.db")
	var out, errOut bytes.Buffer
	err := runSeed(context.Background(), []string{"-db", path, "-orders", "120", "-merchant", "shop"}, envOf(nil), &out, &errOut)
	if err != nil {
		t.Fatalf("seed: %v\n%s", err, errOut.String())
	}
	if !strings.Contains(out.String(), "seeded 120 orders") {
		t.Errorf("output %q does not report the orders seeded", out.String())
	}
	st := openSeeded(t, path)
	if mode, err := st.Setting(context.Background(), settingMode); err != nil || mode != modeTest {
		t.Errorf("mode = %q, %v; want %q", mode, err, modeTest)
	}
	if has, err := st.HasMerchant(context.Background(), "shop"); err != nil || !has {
		t.Errorf("merchant shop: %v, %v", has, err)
	}
	if n := countOrders(t, st); n != 120 {
		t.Errorf("%d orders, want 120", n)
	}
}

func TestSeedCommandWritesToCHECKOUT_DBByDefault(t *testing.T) {
	path := filepath.Join(t.TempDir(), "env.db")
	var out, errOut bytes.Buffer
	if err := runSeed(context.Background(), []string{"-orders", "5"}, envOf(map[string]string{"CHECKOUT_DB": path}), &out, &errOut); err != nil {
		t.Fatalf("seed: %v", err)
	}
	st := openSeeded(t, path)
	if n := countOrders(t, st); n != 5 {
		t.Errorf("%d orders in CHECKOUT_DB, want 5", n)
	}
	if has, _ := st.HasMerchant(context.Background(), "default"); !has {
		t.Errorf("the default merchant was not created")
	}
}

// TestSeedCommandRefusesADatabaseThatMayBeLive: made-up orders never mix
// with real ones.
func TestSeedCommandRefusesADatabaseThatMayBeLive(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, st *store.Store)
		want  string
	}{
		{"live_mode", func(t *testing.T, st *store.Store) {
			if err := st.SetSetting(context.Background(), settingMode, modeLive); err != nil {
				t.Fatal(err)
			}
		}, "live-mode database"},
		{"mode_not_recorded_with_data", func(t *testing.T, st *store.Store) {
			if _, err := st.EnsureMerchant(context.Background(), "default", "Shop", "sk_live_0123456789abcdef"); err != nil {
				t.Fatal(err)
			}
		}, "is not recorded"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "prod.db")
			st, err := store.Open(context.Background(), path, store.Options{})
			if err != nil {
				t.Fatal(err)
			}
			tt.setup(t, st)
			st.Close()

			var out, errOut bytes.Buffer
			err = runSeed(context.Background(), []string{"-db", path, "-orders", "10"}, envOf(nil), &out, &errOut)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("seed = %v, want an error saying %q", err, tt.want)
			}
			st = openSeeded(t, path)
			if n := countOrders(t, st); n != 0 {
				t.Errorf("%d orders written into a refused database", n)
			}
			if tt.name == "mode_not_recorded_with_data" {
				if _, err := st.Setting(context.Background(), settingMode); !errors.Is(err, store.ErrNotFound) {
					t.Errorf("the refused database's mode was recorded: %v", err)
				}
			}
		})
	}
}

func TestSeedCommandRejectsBadFlags(t *testing.T) {
	for _, args := range [][]string{{"-orders", "0"}, {"-orders", "x"}, {"-merchant", " "}, {"extra"}} {
		var out, errOut bytes.Buffer
		db := filepath.Join(t.TempDir(), "x.db")
		if err := runSeed(context.Background(), append([]string{"-db", db}, args...), envOf(nil), &out, &errOut); err == nil {
			t.Errorf("seed %v succeeded", args)
		}
	}
}

// TestSeedCommandOnPostgreSQLNeverPrintsThePassword: the seed names its
// database in its output; a postgres:// URL is shown without its password.
func TestSeedCommandOnPostgreSQLNeverPrintsThePassword(t *testing.T) {
	dsn := storetest.PostgresDSN(t)
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	pw, ok := u.User.Password()
	if !ok || pw == "" {
		t.Skip("CHECKOUT_TEST_POSTGRES has no password to hide")
	}
	var out, errOut bytes.Buffer
	if err := runSeed(context.Background(), []string{"-db", dsn, "-orders", "50"}, envOf(nil), &out, &errOut); err != nil {
		t.Fatalf("seed: %v\n%s", err, errOut.String())
	}
	if !strings.Contains(out.String(), "seeded 50 orders") {
		t.Errorf("output %q does not report the orders seeded", out.String())
	}
	// As the URL writes it (the password may also be a word of the URL,
	// such as the user name "postgres").
	if strings.Contains(out.String()+errOut.String(), ":"+pw+"@") {
		t.Errorf("the output shows the database password:\n%s%s", out.String(), errOut.String())
	}
	st := openSeeded(t, dsn)
	if n := countOrders(t, st); n != 50 {
		t.Errorf("%d orders in the database, want 50", n)
	}
}

// TestSeedCommandRefusesALiveDatabaseBeforeMigratingIt: a live database
// whose schema is a step behind this build (as after a deploy that has not
// started yet) is refused as it is: the seed's migrations do not run on it.
func TestSeedCommandRefusesALiveDatabaseBeforeMigratingIt(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "prod.db")
	st, err := store.Open(ctx, path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.SetSetting(ctx, settingMode, modeLive); err != nil {
		t.Fatal(err)
	}
	st.Close()
	// One step behind: the newest migration not applied.
	db, err := sql.Open("sqlite3", path)
	if err != nil {
		t.Fatal(err)
	}
	var last int
	if err := db.QueryRow(`SELECT MAX(version) FROM schema_migrations`).Scan(&last); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`DELETE FROM schema_migrations WHERE version = ?`, last); err != nil {
		t.Fatal(err)
	}
	db.Close()

	var out, errOut bytes.Buffer
	err = runSeed(ctx, []string{"-db", path, "-orders", "10"}, envOf(nil), &out, &errOut)
	if err == nil || !strings.Contains(err.Error(), "live-mode database") {
		t.Fatalf("seed = %v, want the live-mode refusal", err)
	}
	db, err = sql.Open("sqlite3", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow(`SELECT COUNT(*) FROM schema_migrations WHERE version = ?`, last).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("migration %d was applied to the refused live database", last)
	}
}
