package store

import (
	"context"
	"database/sql"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
	"gorm.io/gorm/schema"
)

// modelColumns is what a query needs to read a model's row without GORM's
// Scan: the model's columns, in the order of its schema, and the index of
// each one's struct field. Made once per model from its GORM schema, so a
// column added to the model is read too.
//
// Rows are scanned straight into the struct's fields (database/sql
// conversions, no reflection per column by name, no value allocated per
// column): every column must be NOT NULL unless its field is a pointer.
// TestScannedModelsNullableColumnsArePointers holds the schema to that.
type modelColumns struct {
	names   []string
	index   [][]int
	queries sync.Map // query's texts
}

func newModelColumns(model any) (*modelColumns, error) {
	sch, err := schema.Parse(model, &schemas, schema.NamingStrategy{})
	if err != nil {
		return nil, fmt.Errorf("store: %T model: %w", model, err)
	}
	c := &modelColumns{}
	for _, name := range sch.DBNames {
		f := sch.FieldsByDBName[name]
		c.names = append(c.names, name)
		c.index = append(c.index, f.StructField.Index)
	}
	return c, nil
}

// list writes the columns as table.column, separated by commas.
func (c *modelColumns) list(b *strings.Builder, table string) {
	for i, name := range c.names {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(table + "." + name)
	}
}

// dests appends the addresses of v's fields (v: a pointer to the model), in
// the order of the columns.
func (c *modelColumns) dests(into []any, v any) []any {
	rv := reflect.ValueOf(v).Elem()
	for _, idx := range c.index {
		into = append(into, rv.FieldByIndex(idx).Addr().Interface())
	}
	return into
}

// Columns of the models read by scanFirst, listed once.
var (
	checkoutColumns = sync.OnceValues(func() (*modelColumns, error) { return newModelColumns(&Checkout{}) })
	attemptColumns  = sync.OnceValues(func() (*modelColumns, error) { return newModelColumns(&Attempt{}) })
)

// scanFirst reads the first row of `SELECT <the model's columns> FROM table
// <rest>` into dst (a pointer to the model), scanned as attemptAndCheckout
// does. It reports false when there is no row.
func scanFirst(db *gorm.DB, cols func() (*modelColumns, error), dst any, table, rest string, args ...any) (bool, error) {
	mc, err := cols()
	if err != nil {
		return false, err
	}
	return rawFirst(db, mc.dests(make([]any, 0, len(mc.names)), dst), mc.query(table, rest), args...)
}

// rawFirst scans the first row of q (see rawRows) into dests. It reports
// false when there is no row.
func rawFirst(db *gorm.DB, dests []any, q string, args ...any) (bool, error) {
	rows, err := rawRows(db, q, args...)
	if err != nil {
		return false, err
	}
	defer rows.Close()
	if !rows.Next() {
		return false, rows.Err()
	}
	if err := rows.Scan(dests...); err != nil {
		return false, err
	}
	return true, rows.Close()
}

// rawRows runs a query written with one ? per argument, the arguments
// plain driver values (no GORM expansion of slices, named arguments or
// expressions). On SQLite it goes
// straight to the connection (or transaction) db holds: GORM's Raw copies
// the text byte by byte to rewrite placeholders, which for a SELECT of some
// forty columns cost more CPU than SQLite's work. PostgreSQL needs that
// rewrite ($1, $2...), so there it goes through GORM.
func rawRows(db *gorm.DB, q string, args ...any) (*sql.Rows, error) {
	if isPostgres(db) {
		return db.Raw(q, args...).Rows()
	}
	ctx := db.Statement.Context
	if ctx == nil {
		ctx = context.Background()
	}
	return db.Statement.ConnPool.QueryContext(ctx, q, args...)
}

// query is `SELECT <columns> FROM table <rest>`, made once per table and
// rest (a few constant texts).
func (c *modelColumns) query(table, rest string) string {
	key := table + "\x00" + rest
	if q, ok := c.queries.Load(key); ok {
		return q.(string)
	}
	var b strings.Builder
	b.WriteString("SELECT ")
	c.list(&b, table)
	b.WriteString(" FROM " + table + " " + rest)
	q := b.String()
	c.queries.Store(key, q)
	return q
}

// eventInsert lists the columns an event's INSERT writes: every column of
// the model but its id, which the database gives.
var eventInsert = sync.OnceValues(func() (*modelColumns, error) {
	mc, err := newModelColumns(&Event{})
	if err != nil {
		return nil, err
	}
	out := &modelColumns{}
	for i, name := range mc.names {
		if name != "id" {
			out.names = append(out.names, name)
			out.index = append(out.index, mc.index[i])
		}
	}
	return out, nil
})

// insertEvents inserts evs in one statement, in their order, and sets their
// ids. On SQLite it is a plain INSERT built from the model's columns (GORM's
// Create cost more than the insert in the writer's transaction of every
// notification); SQLite gives the rows of one INSERT consecutive ids, the
// last one reported. PostgreSQL keeps GORM's Create (RETURNING id).
func insertEvents(tx *gorm.DB, evs []Event) error {
	if isPostgres(tx) {
		return tx.Create(&evs).Error
	}
	mc, err := eventInsert()
	if err != nil {
		return err
	}
	q := mc.insert("events", len(evs))
	args := make([]any, 0, len(evs)*len(mc.names))
	for i := range evs {
		rv := reflect.ValueOf(&evs[i]).Elem()
		for _, idx := range mc.index {
			args = append(args, rv.FieldByIndex(idx).Interface())
		}
	}
	res, err := tx.Statement.ConnPool.ExecContext(tx.Statement.Context, q, args...)
	if err != nil {
		return err
	}
	id, err := res.LastInsertId()
	if err != nil {
		return err
	}
	for i := len(evs) - 1; i >= 0; i-- {
		evs[i].ID = id
		id--
	}
	return nil
}

// insert is `INSERT INTO table (<columns>) VALUES (?, ...), ...` for n rows,
// made once per table and n.
func (c *modelColumns) insert(table string, n int) string {
	key := "insert\x00" + table + "\x00" + strconv.Itoa(n)
	if q, ok := c.queries.Load(key); ok {
		return q.(string)
	}
	var b strings.Builder
	b.WriteString("INSERT INTO " + table + " (" + strings.Join(c.names, ", ") + ") VALUES ")
	row := "(" + strings.TrimSuffix(strings.Repeat("?, ", len(c.names)), ", ") + ")"
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(row)
	}
	q := b.String()
	c.queries.Store(key, q)
	return q
}

// deliveryColumns lists the columns of a webhook delivery's INSERT (all of
// the model's: its id is ours).
var deliveryColumns = sync.OnceValues(func() (*modelColumns, error) { return newModelColumns(&WebhookDelivery{}) })

// insertDelivery inserts a webhook delivery (the outbox row every paid
// notification writes): on SQLite a plain INSERT of the model's columns,
// as insertEvents; on PostgreSQL GORM's Create.
func insertDelivery(tx *gorm.DB, d *WebhookDelivery) error {
	if isPostgres(tx) {
		return tx.Create(d).Error
	}
	mc, err := deliveryColumns()
	if err != nil {
		return err
	}
	rv := reflect.ValueOf(d).Elem()
	args := make([]any, 0, len(mc.names))
	for _, idx := range mc.index {
		args = append(args, rv.FieldByIndex(idx).Interface())
	}
	_, err = tx.Statement.ConnPool.ExecContext(tx.Statement.Context, mc.insert("webhook_deliveries", 1), args...)
	return err
}

// updateGuarded writes fields (column name to value) on the row of table
// whose id and status are the ones given, and returns how many rows it
// changed (0: the status moved on). On SQLite it is a plain UPDATE with the
// columns in name order (the writer's cache keeps one statement per set of
// columns) instead of GORM's Updates; PostgreSQL, and fields holding an
// expression, take GORM's Updates on model.
func updateGuarded(tx *gorm.DB, model any, table string, fields map[string]any, id string, status any) (int64, error) {
	expr := false
	for _, v := range fields {
		if _, ok := v.(clause.Expression); ok {
			expr = true
		}
	}
	if isPostgres(tx) || expr {
		res := tx.Model(model).Where("id = ? AND status = ?", id, status).Updates(fields)
		return res.RowsAffected, res.Error
	}
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	b.WriteString("UPDATE " + table + " SET ")
	args := make([]any, 0, len(keys)+2)
	for i, k := range keys {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(k + " = ?")
		args = append(args, fields[k])
	}
	b.WriteString(" WHERE id = ? AND status = ?")
	args = append(args, id, status)
	res, err := tx.Statement.ConnPool.ExecContext(tx.Statement.Context, b.String(), args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}
