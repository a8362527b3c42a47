package store

import (
	"context"
	"database/sql"
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"checkout/money"
)

// SeedOptions describe the orders Seed writes.
type SeedOptions struct {
	// Orders is how many checkouts to write.
	Orders int
	// MerchantID owns them; the merchant must exist.
	MerchantID string
	// Seed chooses the random source: the same seed and End give the same
	// orders, ids included.
	Seed uint64
	// End is when the newest order was created; zero is the store's now.
	End time.Time
	// Span is how far back before End the oldest order was created; zero
	// is 90 days.
	Span time.Duration
	// Progress, when set, is called after each batch of seedBatchOrders
	// with the number of orders written so far (committed at the end, or
	// every seedTxOrders; see Seed).
	Progress func(done int)
}

// SeedResult counts what Seed wrote.
type SeedResult struct {
	Orders, Attempts, Events int
}

// seedBatchOrders is how many orders are made at a time, and
// seedTxOrders how many go in one transaction: few large transactions
// write each index page (the phone and receipt indexes take rows all over)
// once per transaction rather than once per batch.
const (
	seedBatchOrders = 10_000
	seedTxOrders    = 100_000
)

// Seed fills the database with made-up orders, for benchmarks and demos:
// checkouts spread over the Span before End with time-ordered ids, in the
// proportions of statuses, methods and attempts a busy shop sees, each with
// the attempts and timeline events the app would have written. It writes no
// webhook deliveries (nobody is waiting for them) and leaves no attempt for
// the reconciler to poll.
//
// Rows go in with multi-row INSERTs: into an empty SQLite database in one
// transaction (see below), else seedTxOrders orders per transaction. Ids
// are made in time order, so the primary key grows at its end. The caller decides whether the database may take made-up orders
// (test mode only).
func (s *Store) Seed(ctx context.Context, o SeedOptions) (SeedResult, error) {
	var res SeedResult
	if o.Orders <= 0 {
		return res, nil
	}
	if has, err := s.HasMerchant(ctx, o.MerchantID); err != nil {
		return res, err
	} else if !has {
		return res, fmt.Errorf("store: seed: merchant %q: %w", o.MerchantID, ErrNotFound)
	}
	if o.End.IsZero() {
		o.End = s.now()
	}
	if o.Span <= 0 {
		o.Span = 90 * 24 * time.Hour
	}
	// References continue the merchant's numbering, so a second run into
	// the same database adds orders rather than failing on a duplicate.
	var first int64
	if err := s.r.WithContext(ctx).Model(&Checkout{}).Where("merchant_id = ?", o.MerchantID).Count(&first).Error; err != nil {
		return res, fmt.Errorf("store: seed: count orders: %w", err)
	}

	db, err := s.w.DB()
	if err != nil {
		return res, fmt.Errorf("store: seed: %w", err)
	}
	ins := newBulkInserter(db, s.w.Dialector.Name())
	defer ins.close()
	sqlite := s.w.Dialector.Name() == "sqlite"
	if sqlite {
		// Index pages stay in memory between batches, and the sorts that
		// build indexes stay off the disk (256 MiB at most, for the seed
		// only).
		if _, err := db.ExecContext(ctx, "PRAGMA cache_size = -262144; PRAGMA temp_store = MEMORY"); err != nil {
			return res, fmt.Errorf("store: seed: %w", err)
		}
		defer db.ExecContext(context.WithoutCancel(ctx), "PRAGMA cache_size = -2000; PRAGMA temp_store = DEFAULT") //nolint:errcheck // back to SQLite's defaults
	}
	// Into a database with no orders yet, SQLite takes every row in one
	// transaction with the indexes of the three tables dropped, and builds
	// them again at the end (sorting once beats inserting a million times
	// at random places). DDL is transactional: stopped half way, the
	// database is as it was, indexes included.
	var hasOrders bool
	if err := s.r.WithContext(ctx).Raw("SELECT EXISTS (SELECT 1 FROM checkouts)").Scan(&hasOrders).Error; err != nil {
		return res, fmt.Errorf("store: seed: %w", err)
	}
	oneTx := sqlite && !hasOrders

	if err := ins.prepare(ctx, &seedTable{name: "checkouts", cols: seedCheckoutCols},
		&seedTable{name: "attempts", cols: seedAttemptCols}, &seedTable{name: "events", cols: seedEventCols}); err != nil {
		return res, fmt.Errorf("store: seed: %w", err)
	}

	// One goroutine makes the rows while this one writes the batch before.
	gen := newSeeder(o, first)
	batches := make(chan *seedBatch, 2)
	gctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		defer close(batches)
		for done := 0; done < o.Orders; done += seedBatchOrders {
			b := gen.batch(min(seedBatchOrders, o.Orders-done))
			select {
			case batches <- b:
			case <-gctx.Done():
				return
			}
		}
	}()
	var tx *sql.Tx
	defer func() {
		if tx != nil {
			_ = tx.Rollback()
		}
	}()
	var indexes []string
	if oneTx {
		if tx, err = db.BeginTx(ctx, nil); err != nil {
			return res, fmt.Errorf("store: seed: %w", err)
		}
		if indexes, err = dropSQLiteIndexes(ctx, tx, "checkouts", "attempts", "events"); err != nil {
			return res, fmt.Errorf("store: seed: %w", err)
		}
	}
	inTx := 0
	for b := range batches {
		if tx == nil {
			if tx, err = db.BeginTx(ctx, nil); err != nil {
				return res, fmt.Errorf("store: seed: %w", err)
			}
		}
		if err := ins.write(ctx, tx, b); err != nil {
			return res, fmt.Errorf("store: seed: %w", err)
		}
		inTx += b.orders
		res.Orders += b.orders
		res.Attempts += b.attempts.rows()
		res.Events += b.events.rows()
		if o.Progress != nil {
			o.Progress(res.Orders)
		}
		if !oneTx && (inTx >= seedTxOrders || res.Orders == o.Orders) {
			err := tx.Commit()
			tx = nil
			if err != nil {
				return res, fmt.Errorf("store: seed: commit: %w", err)
			}
			inTx = 0
		}
	}
	if err := ctx.Err(); err != nil {
		return res, err
	}
	if oneTx {
		for _, ddl := range indexes {
			if _, err := tx.ExecContext(ctx, ddl); err != nil {
				return res, fmt.Errorf("store: seed: %s: %w", ddl, err)
			}
		}
		err := tx.Commit()
		tx = nil
		if err != nil {
			return res, fmt.Errorf("store: seed: commit: %w", err)
		}
		// The write-ahead log grew to the size of the data: fold it into
		// the database and give the space back.
		if _, err := db.ExecContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
			return res, fmt.Errorf("store: seed: checkpoint: %w", err)
		}
	}
	return res, nil
}

// dropSQLiteIndexes drops the indexes of the tables (not those that back
// a primary key) and returns the statements that make them again.
func dropSQLiteIndexes(ctx context.Context, tx *sql.Tx, tables ...string) ([]string, error) {
	rows, err := tx.QueryContext(ctx, `SELECT name, sql FROM sqlite_master
		WHERE type = 'index' AND sql IS NOT NULL AND tbl_name IN (?, ?, ?) ORDER BY name`, tables[0], tables[1], tables[2])
	if err != nil {
		return nil, err
	}
	var names, ddl []string
	for rows.Next() {
		var name, sql string
		if err := rows.Scan(&name, &sql); err != nil {
			rows.Close()
			return nil, err
		}
		names, ddl = append(names, name), append(ddl, sql)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for _, name := range names {
		if _, err := tx.ExecContext(ctx, `DROP INDEX "`+name+`"`); err != nil {
			return nil, err
		}
	}
	return ddl, nil
}

// seedTable is a table's columns and the values of the rows to insert,
// row after row.
type seedTable struct {
	name string
	cols []string
	vals []any
}

func (t *seedTable) rows() int { return len(t.vals) / len(t.cols) }

func (t *seedTable) add(vals ...any) {
	if len(vals) != len(t.cols) {
		panic(fmt.Sprintf("seed: %d values for the %d columns of %s", len(vals), len(t.cols), t.name))
	}
	t.vals = append(t.vals, vals...)
}

var (
	seedCheckoutCols = []string{"id", "merchant_id", "reference", "description", "amount", "currency", "status",
		"method", "provider", "provider_reference", "receipt", "message", "customer_name", "customer_email",
		"customer_phone", "success_url", "cancel_url", "methods", "metadata", "review", "created_at",
		"updated_at", "expires_at", "paid_at"}
	seedAttemptCols = []string{"id", "checkout_id", "provider", "method", "status", "amount", "currency",
		"provider_reference", "redirect_url", "receipt", "message", "phone", "review", "review_reason",
		"next_check_at", "checks", "created_at", "updated_at"}
	seedEventCols = []string{"checkout_id", "attempt_id", "kind", "source", "from_status", "to_status",
		"message", "payload", "created_at"}
)

// seedBatch is one transaction's rows.
type seedBatch struct {
	orders                      int
	checkouts, attempts, events seedTable
}

// bulkInserter writes batches with multi-row INSERT statements, prepared
// once per table and row count.
type bulkInserter struct {
	db      *sql.DB
	dialect string
	stmts   map[string]*sql.Stmt
}

func newBulkInserter(db *sql.DB, dialect string) *bulkInserter {
	return &bulkInserter{db: db, dialect: dialect, stmts: map[string]*sql.Stmt{}}
}

func (b *bulkInserter) close() {
	for _, st := range b.stmts {
		_ = st.Close()
	}
}

// seedRowsPerInsert keeps a statement's parameters under SQLite's limit
// (32,766) and PostgreSQL's (65,535).
const seedRowsPerInsert = 500

func (b *bulkInserter) write(ctx context.Context, tx *sql.Tx, batch *seedBatch) error {
	// Checkouts first: attempts refer to them.
	for _, t := range []*seedTable{&batch.checkouts, &batch.attempts, &batch.events} {
		n := len(t.cols)
		for start := 0; start < t.rows(); start += seedRowsPerInsert {
			rows := min(seedRowsPerInsert, t.rows()-start)
			var st *sql.Stmt
			if rows == seedRowsPerInsert {
				full, err := b.stmt(ctx, t, rows)
				if err != nil {
					return err
				}
				st = tx.StmtContext(ctx, full)
			} else {
				// The odd-sized last statement is prepared on the
				// transaction: on SQLite it holds the one writer
				// connection.
				var err error
				if st, err = tx.PrepareContext(ctx, insertSQL(t, rows, b.dialect)); err != nil {
					return fmt.Errorf("prepare insert into %s: %w", t.name, err)
				}
				defer st.Close()
			}
			if _, err := st.ExecContext(ctx, t.vals[start*n:(start+rows)*n]...); err != nil {
				return fmt.Errorf("insert into %s: %w", t.name, err)
			}
		}
	}
	return nil
}

// prepare readies the full-size statements, before any transaction takes
// the connection.
func (b *bulkInserter) prepare(ctx context.Context, tables ...*seedTable) error {
	for _, t := range tables {
		if _, err := b.stmt(ctx, t, seedRowsPerInsert); err != nil {
			return err
		}
	}
	return nil
}

func (b *bulkInserter) stmt(ctx context.Context, t *seedTable, rows int) (*sql.Stmt, error) {
	key := t.name + "/" + strconv.Itoa(rows)
	if st, ok := b.stmts[key]; ok {
		return st, nil
	}
	st, err := b.db.PrepareContext(ctx, insertSQL(t, rows, b.dialect))
	if err != nil {
		return nil, fmt.Errorf("prepare insert into %s: %w", t.name, err)
	}
	b.stmts[key] = st
	return st, nil
}

// insertSQL is a multi-row INSERT into t of rows rows, with the
// dialect's placeholders.
func insertSQL(t *seedTable, rows int, dialect string) string {
	var sb strings.Builder
	sb.WriteString("INSERT INTO " + t.name + " (" + strings.Join(t.cols, ", ") + ") VALUES ")
	p := 0
	for r := range rows {
		if r > 0 {
			sb.WriteString(", ")
		}
		sb.WriteByte('(')
		for c := range t.cols {
			if c > 0 {
				sb.WriteString(", ")
			}
			p++
			if dialect == "postgres" {
				sb.WriteString("$" + strconv.Itoa(p))
			} else {
				sb.WriteByte('?')
			}
		}
		sb.WriteByte(')')
	}
	return sb.String()
}

// seeder makes the rows of made-up orders, oldest first.
type seeder struct {
	o        SeedOptions
	rng      *rand.Rand
	start    time.Time
	step     time.Duration // between consecutive orders, on average
	next     int           // orders made so far
	firstRef int64
	// customers is how many different people buy: each comes back about
	// five times, with the same name, email and phone.
	customers int
}

func newSeeder(o SeedOptions, firstRef int64) *seeder {
	return &seeder{o: o, rng: rand.New(rand.NewPCG(o.Seed, o.Seed^0x9e3779b97f4a7c15)),
		start: o.End.Add(-o.Span).UTC(), step: o.Span / time.Duration(o.Orders), firstRef: firstRef,
		customers: max(o.Orders/5, 10)}
}

func (g *seeder) id(prefix string, at time.Time) string {
	var r [10]byte
	binary.BigEndian.PutUint64(r[:8], g.rng.Uint64())
	binary.BigEndian.PutUint16(r[8:], uint16(g.rng.Uint32()))
	return formatID(prefix, at, r)
}

// within returns a duration in [lo, hi).
func (g *seeder) within(lo, hi time.Duration) time.Duration {
	return lo + time.Duration(g.rng.Int64N(int64(hi-lo)))
}

func (g *seeder) batch(n int) *seedBatch {
	b := &seedBatch{orders: n,
		checkouts: seedTable{name: "checkouts", cols: seedCheckoutCols, vals: make([]any, 0, n*len(seedCheckoutCols))},
		attempts:  seedTable{name: "attempts", cols: seedAttemptCols, vals: make([]any, 0, n*len(seedAttemptCols)*6/5)},
		events:    seedTable{name: "events", cols: seedEventCols, vals: make([]any, 0, n*len(seedEventCols)*5)},
	}
	for range n {
		g.order(b)
	}
	return b
}

var (
	seedFirstNames = []string{"Wanjiru", "Otieno", "Akinyi", "Kamau", "Njeri", "Mwangi", "Achieng", "Kiprop",
		"Wambui", "Odhiambo", "Chebet", "Mutua", "Nyambura", "Omondi", "Jepkoech", "Kariuki", "Atieno", "Kibet",
		"Muthoni", "Barasa", "Wairimu", "Ochieng", "Nekesa", "Njoroge", "Amina", "Hassan", "Fatuma", "Juma"}
	seedLastNames = []string{"Kamau", "Otieno", "Mwangi", "Ochieng", "Kiprotich", "Wanjiku", "Mutiso", "Njoroge",
		"Omondi", "Cheruiyot", "Kimani", "Onyango", "Wafula", "Maina", "Kiptoo", "Mohamed", "Ndirangu", "Achieng",
		"Macharia", "Rotich", "Oduya", "Kilonzo", "Githinji", "Abdi"}
	seedItems = []string{"2 bags of Kenyan AA coffee", "School fees, Term 2", "Maize flour 2 kg x 3",
		"Delivery to Westlands", "Ticket: Nairobi Jazz Night", "Solar lamp", "Phone case and screen guard",
		"Kitenge fabric, 6 yards", "Monthly internet, 10 Mbps", "Water delivery, 20 litres x 4",
		"Event ticket: Safari Rally", "Hair salon booking", "Textbooks, Form 3", "Tea, Kericho gold 500 g",
		"Car wash, full", "Gas refill, 13 kg", "Shoes, size 42", "Baby formula x 2", "Online course: Excel basics",
		"Boda delivery to Kilimani", "Avocados, 5 kg", "Church contribution", "Chama monthly share"}
	seedFailures = []string{"Request cancelled by user.", "The balance is insufficient for the transaction.",
		"DS timeout user cannot be reached.", "The initiator information is invalid.", "The payment did not go through.",
		"Transaction declined by the issuer."}
)

const seedAlnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

// mpesaReceipt looks like an M-Pesa transaction code ("QK7AB12CDE"): a
// letter for the year, then nine letters and digits.
func (g *seeder) mpesaReceipt(at time.Time) string {
	var b [10]byte
	b[0] = byte('A' + (at.Year()-2006)%26) // 2022 is Q, 2025 is T
	for i := 1; i < 10; i++ {
		b[i] = seedAlnum[g.rng.IntN(len(seedAlnum))]
	}
	return string(b[:])
}

func (g *seeder) digits(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte('0' + g.rng.IntN(10))
	}
	return string(b)
}

// customer returns the name, email and phone (254 and nine digits) of one
// of the shop's customers.
func (g *seeder) customer(c int) (name, email, phone string) {
	first := seedFirstNames[c%len(seedFirstNames)]
	last := seedLastNames[(c/len(seedFirstNames))%len(seedLastNames)]
	name = first + " " + last
	email = strings.ToLower(first+"."+last) + strconv.Itoa(c) + "@example.com"
	// 7919 is prime to 10^8, so customers below 10^8 get different numbers.
	n := (int64(c)*7919 + 12_345_678) % 100_000_000
	prefix := "2547"
	if c%8 == 0 {
		prefix = "2541"
	}
	return name, email, prefix + fmt.Sprintf("%08d", n)
}

// amount in cents: mostly a few hundred to a few thousand shillings, now
// and then much more, whole shillings.
func (g *seeder) amount() int64 {
	kes := math.Round(math.Exp(g.rng.NormFloat64()*1.1 + 7.2))
	return int64(min(max(kes, 10), 150_000)) * 100
}

// seedStatus picks what became of an order: recent ones (still before
// their deadline) can be open or pending.
func (g *seeder) seedStatus(recent bool) (st Status, review bool) {
	p := g.rng.IntN(1000)
	if recent {
		switch {
		case p < 650:
			return StatusPaid, false
		case p < 900:
			return StatusOpen, false
		case p < 950:
			return StatusPending, false
		case p < 995:
			return StatusCancelled, false
		}
		return StatusPending, true
	}
	switch {
	case p < 760:
		return StatusPaid, false
	case p < 910:
		return StatusExpired, false
	case p < 985:
		return StatusCancelled, false
	case p < 995:
		return StatusReversed, false
	}
	// Amount or reference disagreed: flagged for review, the attempt left
	// pending for a person, the checkout expired at its deadline.
	return StatusExpired, true
}

// method picks a payment method: M-Pesa STK push most often.
func (g *seeder) method() (provider, method string) {
	switch p := g.rng.IntN(100); {
	case p < 40:
		return "pokeapay", "stk"
	case p < 55:
		return "pochipay", "stk"
	case p < 85:
		return "pesapal", "pesapal"
	}
	return "pokeapay", "pokeapay"
}

func (g *seeder) providerRef(provider, method string, at time.Time) string {
	switch {
	case method == "stk":
		return "ws_CO_" + at.Format("020120061504") + g.digits(8)
	case provider == "pesapal":
		u := g.rng.Uint64()
		v := g.rng.Uint64()
		return fmt.Sprintf("%08x-%04x-%04x-%04x-%012x", u>>32, (u>>16)&0xffff, u&0xffff, v>>48, v&0xffffffffffff)
	}
	return "PKP" + g.digits(10)
}

func (g *seeder) receipt(provider, method string, at time.Time) string {
	if provider == "pesapal" && g.rng.IntN(10) < 4 {
		return g.digits(22) // a card payment's confirmation code
	}
	return g.mpesaReceipt(at)
}

// order adds one checkout with its attempts and events.
func (g *seeder) order(b *seedBatch) {
	i := g.next
	g.next++
	created := g.start.Add(time.Duration(i)*g.step + g.within(0, max(g.step, time.Millisecond))).Truncate(time.Millisecond)
	expires := created.Add(24 * time.Hour)
	recent := expires.After(g.o.End)
	status, review := g.seedStatus(recent)

	co := Checkout{ID: g.id("chk", created), MerchantID: g.o.MerchantID,
		Reference:   fmt.Sprintf("ORD-%07d", g.firstRef+int64(i)+1),
		Description: seedItems[g.rng.IntN(len(seedItems))], Amount: g.amount(), Currency: "KES",
		SuccessURL: "https://shop.example.com/orders/done", CancelURL: "https://shop.example.com/cart",
		Status: StatusOpen, CreatedAt: created, UpdatedAt: created, ExpiresAt: expires, Review: review}
	name, email, phone := g.customer(g.rng.IntN(g.customers))
	if g.rng.IntN(10) < 7 {
		co.CustomerName, co.CustomerEmail = name, email
	}
	if g.rng.IntN(10) < 8 {
		co.CustomerPhone = phone
	}
	if g.rng.IntN(4) == 0 {
		co.Metadata = `{"channel":"web","cart":"` + g.digits(6) + `"}`
	}
	g.event(b, &co, "", EventCreated, "api", "", StatusOpen,
		fmt.Sprintf("checkout created for %s %s", co.Currency, money.Amount(co.Amount)), created)

	at := created
	// Some orders see a failed try first.
	failedFirst := status != StatusPending && !review && g.rng.IntN(100) < map[Status]int{
		StatusPaid: 15, StatusReversed: 15, StatusOpen: 30, StatusExpired: 40, StatusCancelled: 30}[status]
	if failedFirst {
		at = at.Add(g.within(10*time.Second, 5*time.Minute))
		g.attempt(b, &co, phone, AttemptFailed, false, &at)
	}
	switch status {
	case StatusPaid, StatusReversed:
		at = at.Add(g.within(10*time.Second, 5*time.Minute))
		a := g.attempt(b, &co, phone, AttemptSucceeded, false, &at)
		if status == StatusReversed {
			at = at.Add(g.within(time.Hour, 72*time.Hour))
			g.event(b, &co, a, EventStatusQuery, "reconciler", "", "", "provider says: reversed", at)
			g.event(b, &co, a, EventTransition, "reconciler", StatusPaid, StatusReversed, "the provider reversed the payment", at)
			co.Status = StatusReversed
		}
	case StatusPending:
		at = at.Add(g.within(10*time.Second, 5*time.Minute))
		g.attempt(b, &co, phone, AttemptPending, review, &at)
	case StatusExpired:
		if review {
			at = at.Add(g.within(10*time.Second, 5*time.Minute))
			g.attempt(b, &co, phone, AttemptPending, true, &at)
		}
		at = expires
		g.event(b, &co, "", EventTransition, "reconciler", co.Status, StatusExpired, "the checkout expired", at)
		co.Status = StatusExpired
	case StatusCancelled:
		at = at.Add(g.within(5*time.Second, 10*time.Minute))
		g.event(b, &co, "", EventTransition, "customer", co.Status, StatusCancelled, "the customer cancelled and returned to the merchant", at)
		co.Status = StatusCancelled
	}
	co.UpdatedAt = at
	b.checkouts.add(co.ID, co.MerchantID, co.Reference, co.Description, co.Amount, co.Currency, string(co.Status),
		co.Method, co.Provider, co.ProviderReference, co.Receipt, co.Message, co.CustomerName, co.CustomerEmail,
		co.CustomerPhone, co.SuccessURL, co.CancelURL, co.Methods, co.Metadata, co.Review, co.CreatedAt,
		co.UpdatedAt, co.ExpiresAt, nullTime(co.PaidAt))
}

// attempt adds one payment attempt started at *at, and the events it
// caused, moving *at to its end and updating co as the app would.
func (g *seeder) attempt(b *seedBatch, co *Checkout, phone string, st AttemptStatus, review bool, at *time.Time) string {
	provider, method := g.method()
	started := *at
	a := Attempt{ID: g.id("pay", started), CheckoutID: co.ID, Provider: provider, Method: method,
		Status: st, Amount: co.Amount, Currency: co.Currency, CreatedAt: started, Checks: 1}
	a.ProviderReference = g.providerRef(provider, method, started)
	switch {
	case method == "stk":
		a.Phone = phone
	case provider == "pesapal":
		a.RedirectURL = "https://pay.pesapal.com/iframe/PesapalIframe3/Index?OrderTrackingId=" + a.ProviderReference
	default:
		a.RedirectURL = "https://checkout.pokeapay.com/pay/" + a.ProviderReference
	}
	co.Method, co.Provider, co.ProviderReference, co.Message = method, provider, a.ProviderReference, ""
	g.event(b, co, a.ID, EventTransition, "customer", co.Status, StatusPending, provider+" payment started", started)
	co.Status = StatusPending

	done := started.Add(g.within(5*time.Second, 90*time.Second))
	source := "ipn:" + provider
	if method == "stk" {
		source = "callback:" + provider
	}
	switch st {
	case AttemptSucceeded:
		a.Receipt = g.receipt(provider, method, done)
		g.event(b, co, a.ID, EventStatusQuery, source, "", "", "provider says: paid, receipt "+a.Receipt, done)
		g.event(b, co, a.ID, EventTransition, source, StatusPending, StatusPaid, "payment confirmed by the provider", done)
		co.Status, co.Receipt, co.PaidAt = StatusPaid, a.Receipt, &done
	case AttemptFailed:
		a.Message = seedFailures[g.rng.IntN(len(seedFailures))]
		g.event(b, co, a.ID, EventStatusQuery, source, "", "", "provider says: failed: "+a.Message, done)
		g.event(b, co, a.ID, EventTransition, source, StatusPending, StatusOpen, a.Message, done)
		co.Status, co.Message = StatusOpen, a.Message
	case AttemptPending:
		// Left pending with no further check planned, as after PollFor.
		a.Checks = 0
		if review {
			paid := a.Amount / 2
			a.Receipt = g.mpesaReceipt(done)
			a.Review, a.ReviewReason = true,
				fmt.Sprintf("the provider reports %s paid, the order is for %s", money.Amount(paid), money.Amount(a.Amount))
			a.Checks = 1
			g.event(b, co, a.ID, EventStatusQuery, source, "", "", "provider says: paid, receipt "+a.Receipt, done)
			g.event(b, co, a.ID, EventReview, source, "", "", a.ReviewReason, done)
		} else {
			done = started
		}
	}
	a.UpdatedAt = done
	*at = done
	b.attempts.add(a.ID, a.CheckoutID, a.Provider, a.Method, string(a.Status), a.Amount, a.Currency,
		a.ProviderReference, a.RedirectURL, a.Receipt, a.Message, a.Phone, a.Review, a.ReviewReason,
		nullTime(a.NextCheckAt), a.Checks, a.CreatedAt, a.UpdatedAt)
	return a.ID
}

func (g *seeder) event(b *seedBatch, co *Checkout, attemptID, kind, source string, from, to Status, msg string, at time.Time) {
	b.events.add(co.ID, attemptID, kind, source, string(from), string(to), msg, "", at)
}

// nullTime is a nullable time as the driver takes it.
func nullTime(t *time.Time) any {
	if t == nil {
		return nil
	}
	return *t
}
