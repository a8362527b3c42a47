package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"checkout/store"
)

// seedUsage is the first line of `checkout seed -h`.
const seedUsage = `usage: checkout seed [-orders N] [-db PATH] [-merchant ID] [-seed N]

Fills a test-mode database with made-up orders (checkouts, payment attempts,
timeline events) for benchmarks and demos. A new database becomes a test-mode
one; a live-mode database, or one whose mode is not recorded, is refused.
`

// runSeed is `checkout seed`: it parses args (what follows "seed"), opens
// the database (running the migrations), and writes the orders, printing
// progress and the time taken to out.
func runSeed(ctx context.Context, args []string, getenv func(string) string, out, errOut io.Writer) error {
	fs := flag.NewFlagSet("checkout seed", flag.ContinueOnError)
	fs.SetOutput(errOut)
	fs.Usage = func() {
		fmt.Fprint(errOut, seedUsage)
		fs.PrintDefaults()
	}
	defDB := strings.TrimSpace(getenv("CHECKOUT_DB"))
	if defDB == "" {
		defDB = "checkout.db"
	}
	orders := fs.Int("orders", 10_000, "how many orders to write")
	dsn := fs.String("db", defDB, "the database (default: CHECKOUT_DB, else checkout.db)")
	merchant := fs.String("merchant", "default", "the merchant that owns the orders (created if missing)")
	seed := fs.Uint64("seed", 1, "the random source: the same seed gives the same orders, their times apart")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("seed: unexpected argument %q", fs.Arg(0))
	}
	if *orders < 1 {
		return fmt.Errorf("seed: -orders must be at least 1")
	}
	if strings.TrimSpace(*merchant) == "" {
		return fmt.Errorf("seed: -merchant must name a merchant")
	}

	began := time.Now()
	// Looked at as it is first: a database that may be live is refused
	// before the migrations of this build touch it.
	if err := lookBeforeSeeding(ctx, *dsn); err != nil {
		return err
	}
	st, err := store.Open(ctx, *dsn, store.Options{})
	if err != nil {
		return err
	}
	defer st.Close()
	if err := claimSeedMode(ctx, st, *dsn); err != nil {
		return err
	}
	has, err := st.HasMerchant(ctx, *merchant)
	if err != nil {
		return err
	}
	if !has {
		key := "sk_sandbox_" + randomHex(16)
		if _, err := st.EnsureMerchant(ctx, *merchant, "Demo Shop", key); err != nil {
			return err
		}
		fmt.Fprintf(out, "created merchant %s, API key %s (shown once)\n", *merchant, key)
	}

	fmt.Fprintf(out, "seeding %d orders into %s\n", *orders, dbName(*dsn))
	last := time.Now()
	res, err := st.Seed(ctx, store.SeedOptions{Orders: *orders, MerchantID: *merchant, Seed: *seed,
		Progress: func(done int) {
			if done == *orders || time.Since(last) >= 2*time.Second {
				last = time.Now()
				fmt.Fprintf(out, "  %d/%d orders (%.0f%%), %s\n", done, *orders, 100*float64(done)/float64(*orders),
					time.Since(began).Round(100*time.Millisecond))
			}
		}})
	if err != nil {
		return err
	}
	took := time.Since(began)
	fmt.Fprintf(out, "seeded %d orders, %d payment attempts, %d events in %s (%.0f orders/s)\n",
		res.Orders, res.Attempts, res.Events, took.Round(10*time.Millisecond), float64(res.Orders)/took.Seconds())
	return nil
}

// claimSeedMode lets made-up orders into a test-mode database only. A new
// database becomes one, as a first `make run` would make it; a database in
// live mode, or holding data of a mode never recorded, is refused.
func claimSeedMode(ctx context.Context, st *store.Store, dsn string) error {
	got, err := st.Setting(ctx, settingMode)
	switch {
	case errors.Is(err, store.ErrNotFound):
		has, err := st.HasData(ctx)
		if err != nil {
			return err
		}
		if has {
			return errModeNotRecorded(dsn)
		}
		if got, err = st.ClaimSetting(ctx, settingMode, modeTest); err != nil {
			return err
		}
	case err != nil:
		return err
	}
	if got != modeTest {
		return errNotTestMode(dsn, got)
	}
	return nil
}

// lookBeforeSeeding refuses, without migrating it, a database whose
// recorded mode is not test, or that holds data and records no mode (one
// from before the mode was recorded). A database with no tables yet is
// new: claimSeedMode, after the migrations, makes it a test-mode one.
func lookBeforeSeeding(ctx context.Context, dsn string) error {
	st, err := store.Open(ctx, dsn, store.Options{SkipMigrations: true})
	if err != nil {
		return err
	}
	defer st.Close()
	hasSettings, err := st.HasTable(ctx, "settings")
	if err != nil {
		return err
	}
	if hasSettings {
		mode, err := st.Setting(ctx, settingMode)
		switch {
		case err == nil && mode != modeTest:
			return errNotTestMode(dsn, mode)
		case err == nil:
			return nil
		case !errors.Is(err, store.ErrNotFound):
			return err
		}
	}
	// No mode recorded (or a database from before the settings table): a
	// database with data is refused as claimSeedMode would; one without
	// tables is new.
	hasTables, err := st.HasTable(ctx, "merchants")
	if err != nil || !hasTables {
		return err
	}
	has, err := st.HasData(ctx)
	if err != nil {
		return err
	}
	if has {
		return errModeNotRecorded(dsn)
	}
	return nil
}

func errNotTestMode(dsn, mode string) error {
	return fmt.Errorf("seed: %s is a %s-mode database; made-up orders never go into one: seed a new database file instead", dbName(dsn), mode)
}

func errModeNotRecorded(dsn string) error {
	return fmt.Errorf("seed: %s holds merchants or checkouts and its mode (test or live) is not recorded; "+
		"made-up orders go only into a test-mode database: start the app on it once with CHECKOUT_SANDBOX=1 if it holds test data, "+
		"or seed a new database file", dbName(dsn))
}
